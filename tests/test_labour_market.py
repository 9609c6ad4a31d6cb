"""The labour market as data (sim.labour_market): loading a published series, its monthly
values, the index it implies, and the run using it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
import sim.labour_market as lmod
from sim.config import LabourMarket, month_index
from sim.scenario import override

HEADER = "period_start,period_end,rate_percent,source_url,quote\n"


def _series(tmp_path: Path, rows: str, name: str = "test_rate") -> Path:
    (tmp_path / f"{name}.csv").write_text(HEADER + rows, encoding="utf-8")
    return tmp_path


ROWS = (
    "2011-03,2011-05,8.0,https://example.org/a,was 8.0%\n"
    "2012-03,2012-05,6.0,https://example.org/b,was 6.0%\n"
)


def test_points_sit_at_the_middle_of_their_period(tmp_path):
    mids, values = lmod.load_series("test_rate", _series(tmp_path, ROWS))
    np.testing.assert_array_equal(mids, [month_index("2011-04"), month_index("2012-04")])
    np.testing.assert_array_equal(values, [8.0, 6.0])


@pytest.mark.parametrize(
    ("month", "value"),
    [
        ("2010-01", 8.0),
        ("2011-04", 8.0),
        ("2011-07", 7.5),
        ("2011-10", 7.0),
        ("2012-04", 6.0),
        ("2015-01", 6.0),
    ],
)
def test_monthly_values_are_linear_between_points_and_flat_beyond(tmp_path, month, value):
    mids, values = lmod.load_series("test_rate", _series(tmp_path, ROWS))
    got = lmod.monthly_values(mids, values, np.array([month_index(month)]))
    assert got[0] == pytest.approx(value)


def test_the_index_is_the_given_index_times_the_elasticity_term(tmp_path, monkeypatch):
    monkeypatch.setattr(lmod, "SERIES_DIR", _series(tmp_path, ROWS))
    lm = LabourMarket(
        index_by_month=[1.0, 0.9],
        series="test_rate",
        unemployment_elasticity=1.5,
        reference_rate_percent=5.0,
    )
    got = lmod.index_by_month(lm, "2011-04", 13)
    u = 8.0 - 2.0 * np.arange(13) / 12.0
    expected = np.array([1.0] + [0.9] * 12) * (5.0 / u) ** 1.5
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_without_a_series_the_index_is_as_given():
    lm = LabourMarket(index_by_month=[1.0, 0.8, 0.7])
    assert lmod.index_by_month(lm, "2011-06", 30) == [1.0, 0.8, 0.7]


def test_an_unknown_series_is_refused_naming_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(lmod, "SERIES_DIR", _series(tmp_path, ROWS))
    with pytest.raises(ValueError, match=r"unknown series 'nope'; shipped series: \['test_rate'\]"):
        LabourMarket(series="nope")


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ("2011-03,2011-05,eight,u,q\n", "row 2"),
        ("2011-05,2011-03,8.0,u,q\n", "row 2: period or rate_percent out of range"),
        ("2011-03,2011-05,-1,u,q\n", "row 2: period or rate_percent out of range"),
        ("", "needs rows with columns"),
    ],
)
def test_a_damaged_series_names_its_file_and_row(tmp_path, rows, fragment):
    directory = _series(tmp_path, rows)
    with pytest.raises(ValueError, match=None) as info:
        lmod.load_series("test_rate", directory)
    assert str(directory / "test_rate.csv") in str(info.value)
    assert fragment in str(info.value)


def test_a_higher_unemployment_rate_means_fewer_job_starts(wp, tmp_path, monkeypatch):
    """Common random numbers: the same referrals under a series at twice the reference
    rate, with elasticity 1, find work less often than with elasticity 0."""
    monkeypatch.setattr(lmod, "SERIES_DIR", _series(tmp_path, "2000-01,2000-01,10.0,u,q\n"))
    lm = {"labour_market.series": "test_rate", "labour_market.reference_rate_percent": 5.0}
    flat = override(wp, {**lm, "labour_market.unemployment_elasticity": 0.0})
    high = override(wp, {**lm, "labour_market.unemployment_elasticity": 1.0})
    starts = [
        sim.run(sc, n_claimants=1500, seed=2).ledger["first_job_at"].is_not_null().sum()
        for sc in (flat, high)
    ]
    assert starts[1] < starts[0]
