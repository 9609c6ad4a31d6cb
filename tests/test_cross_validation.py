"""Leave-one-programme-out on emulators (calibration.cross_validation): a programme whose
targets share a parameter with the others is predicted well; one whose parameter only its
own targets inform is not, and the table says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_joint_calibration import START, _case

from calibration.cross_validation import (
    REFIT_COLUMNS,
    leave_one_programme_out,
    main,
    refit_leave_one_out,
    summarise,
    weighted_quantile,
)
from calibration.history_matching import Observations, _sobol
from calibration.spec import load_spec
from sim.rng import Streams

TRUTH_Z = np.array([0.3, 0.6])


def _simulate(z: np.ndarray) -> np.ndarray:
    """A: the shared parameter; B: the shared parameter again; C: the other one."""
    return np.column_stack([z[:, 0], 0.5 + 0.5 * z[:, 0], z[:, 1]])


def test_a_left_out_programme_is_predicted_from_the_shared_parameter(tmp_path: Path) -> None:
    cal = load_spec(_case(tmp_path, {}, START))
    z = _sobol(2, 64, Streams(1, 0), 0)
    truth = _simulate(TRUTH_Z[None, :])[0]
    obs = Observations(
        names=("A", "B", "C"),
        low=truth,
        high=truth,
        var=np.full(3, 0.02**2),
        weights=np.ones(3),
    )
    table = leave_one_programme_out(
        cal, z, _simulate(z), obs, ["a", "b", "b"], Streams(2, 0), restarts=0
    )
    error = dict(zip(table["target_id"], table["abs_error"], strict=True))
    assert table["left_out"].to_list() == ["a", "b", "b"]
    assert error["A"] < 0.05  # B pins the shared parameter
    assert error["C"] > 0.05  # nothing else informs C's parameter
    row = table.filter(table["target_id"] == "A").row(0, named=True)
    assert row["pred_low"] <= row["predicted"] <= row["pred_high"]


def test_weighted_quantile_by_hand() -> None:
    x = np.array([3.0, 1.0, 2.0, 4.0])
    w = np.array([0.1, 0.4, 0.4, 0.1])
    assert weighted_quantile(x, w, 0.3) == 1.0
    assert weighted_quantile(x, w, 0.5) == 2.0
    assert weighted_quantile(x, w, 0.95) == 4.0


REFIT_SETTINGS = """
[history_matching]
points_per_wave = 8
max_waves = 2
n_candidates = 500
posterior_draws = 500
predictive_draws = 4
emulator_restarts = 0
"""


def test_refit_leaves_each_programme_out_of_a_whole_fit(tmp_path: Path) -> None:
    """``--refit``: one history-matching fit per programme with its targets at weight 0,
    its targets then simulated at that fit's estimate and predictive draws; the fits
    share one cache, so the first wave (one design) is simulated once."""
    spec = _case(tmp_path / "case", {}, START)
    text = spec.read_text().replace('name = "joint"', 'name = "joint"\nmethod = "history_matching"')
    spec.write_text(text + REFIT_SETTINGS)
    fit_dir = tmp_path / "fit"
    table = refit_leave_one_out(spec, fit_dir, max_waves=1, workers=1)
    assert table.columns == ["left_out", *REFIT_COLUMNS]
    assert table["left_out"].to_list() == ["small_wp", "small_wp", "small_pw", "small_pw"]
    assert table["target_id"].to_list() == ["W12", "W24", "P12", "Q12"]
    assert table["abs_error"].is_finite().all() and (table["abs_error"] >= 0).all()
    lows, highs = table["simulated_low"].to_numpy(), table["simulated_high"].to_numpy()
    assert np.all(lows <= highs)
    for name in ("small_wp", "small_pw"):
        fit = (fit_dir / "leave_out" / name / "fit.csv").read_text()
        assert "W12" in fit and "P12" in fit  # every target is reported
    # 1 start + 8 design points are shared; each refit adds its estimate and 4 draws at most
    cached = list((fit_dir / "cache").glob("*/*.json"))
    assert 9 < len(cached) <= 9 + 2 * 5
    summary = summarise(table)
    assert summary["left_out"].to_list() == ["small_wp", "small_pw"]
    assert summary["n_targets"].to_list() == [2, 2]


def test_refit_refuses_an_unknown_programme(tmp_path: Path) -> None:
    spec = _case(tmp_path / "case", {}, START)
    with pytest.raises(ValueError, match="not a programme of the spec"):
        refit_leave_one_out(spec, tmp_path / "fit", programmes=["martians"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refit", "--programme", "martians"], "--leave-out martians: not a programme"),
        (["--refit", "--max-waves", "0"], "history_matching.max_waves = 0:"),
        ([], "history.csv"),  # not a fit folder
    ],
)
def test_the_command_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    spec = _case(tmp_path / "case", {}, START)
    fit_dir = tmp_path / "fit"
    fit_dir.mkdir()
    with pytest.raises(SystemExit) as stop:
        main([str(spec), str(fit_dir), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert list(fit_dir.iterdir()) == []  # nothing written
