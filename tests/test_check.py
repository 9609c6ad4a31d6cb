"""``pbrsim check``: published figures the model was not fitted to, against the model.

Malformed figures files are refused before anything runs or is written (one line per
problem naming file, row and column; exit 2); a good one runs its scenarios and each
row's simulated value is exactly what calibration's mapping computes on the same runs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import ROOT
from test_calibration import BASE_ROW, write_csv
from typer.testing import CliRunner

import sim
from calibration.check import _row, prepare, summarise
from calibration.mapping import measure
from pbrsim.cli import app
from sim.batch import run_batch
from sim.batch_spec import load_batch

runner = CliRunner()
SMALL = f'extends = "{ROOT / "scenarios" / "work_programme.toml"}"\nname = "tiny"\n'
SMALL += "[run]\ncohort_months = 3\n[providers]\nprimes_per_area = [2, 2]\n"


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "tiny.toml").write_text(SMALL)
    return folder


def _figures(tmp_path: Path, **changes: str) -> Path:
    row = BASE_ROW | {"scenario": "tiny", "horizon_months": "12"} | changes
    return write_csv(
        tmp_path / "figures.csv",
        [
            row,
            BASE_ROW
            | {
                "target_id": "T2",
                "scenario": "tiny",
                "measure": "job_entry_rate",
                "horizon_months": "6",
            },
        ],
    )


def _check(figures: Path, scenarios: Path, out: Path, *more: str) -> tuple[int, str, str]:
    args = ["check", str(figures), "--out", str(out), "--scenarios", str(scenarios)]
    result = runner.invoke(app, [*args, "--replications", "2", "--claimants", "300", *more])
    return result.exit_code, result.stdout, result.stderr


BAD = {
    "not a number": ({"value": "thirty"}, "value"),
    "unknown population": ({"population": "nobody"}, "population"),
    "unknown scenario": ({"scenario": "no_such_scenario"}, "scenario"),
    "unknown measure": ({"measure": "happiness"}, "measure"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=list(BAD))
def test_a_malformed_row_is_refused_before_anything_is_written(
    tmp_path: Path, scenarios: Path, case: tuple[dict[str, str], str]
) -> None:
    changes, column = case
    figures = _figures(tmp_path, **changes)
    out = tmp_path / "out"
    out.mkdir()
    (out / "check.csv").write_text("earlier results\n")
    code, _, stderr = _check(figures, scenarios, out)
    assert code == 2
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert str(figures) in lines[0] and column in lines[0] and "T1" in lines[0]
    assert "Traceback" not in stderr
    assert (out / "check.csv").read_text() == "earlier results\n"
    assert sorted(p.name for p in out.iterdir()) == ["check.csv"]


def test_a_missing_column_and_a_missing_file_are_one_line_each(
    tmp_path: Path, scenarios: Path
) -> None:
    figures = write_csv(
        tmp_path / "figures.csv",
        [BASE_ROW | {"scenario": "tiny"}],
        columns=[c for c in BASE_ROW if c != "unit"],
    )
    code, _, stderr = _check(figures, scenarios, tmp_path / "out")
    assert code == 2 and "unit" in stderr and str(figures) in stderr
    code, _, stderr = _check(tmp_path / "absent.csv", scenarios, tmp_path / "out")
    assert code == 2 and "file not found" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def _expected(figures: Path, scenarios: Path) -> dict[str, float]:
    """Each row computed by hand: the mean of its measure over two replicates of 300
    referrals of the tiny scenario at seed 5, in percent."""
    inputs = prepare(figures, scenarios)
    sc = inputs.scenarios["tiny"]
    ledgers = [sim.run(sc, n_claimants=300, seed=5, replicate=r).ledger for r in range(2)]
    return {
        t.target_id: 100.0 * float(np.mean([measure(t, led, sc).value for led in ledgers]))
        for t in inputs.targets
    }


def test_the_check_computes_each_row_as_calibration_does(tmp_path: Path, scenarios: Path) -> None:
    figures = _figures(tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr = _check(figures, scenarios, out, "--workers", "1", "--seed", "5")
    assert code == 0, stderr
    table = pl.read_parquet(out / "check.parquet")
    assert {"check.csv", "check.svg", "check.png"} <= {p.name for p in out.iterdir()}
    for target_id, expected in _expected(figures, scenarios).items():
        got = table.filter(pl.col("target_id") == target_id).row(0, named=True)
        assert got["simulated"] == pytest.approx(expected, rel=1e-12)
        assert got["simulated_low"] <= got["simulated"] <= got["simulated_high"]
        assert got["simulated_low"] >= 0.0 and got["simulated_high"] <= 100.0
    assert "figures agree" in stdout


def _tiny_batch(tmp_path: Path, scenarios: Path) -> Path:
    """A batch of the tiny scenario, 2 replications of 300 referrals in 2 shards each."""
    batch = tmp_path / "batch.toml"
    batch.write_text(
        f'name = "tiny_batch"\nscenarios = ["{scenarios / "tiny.toml"}"]\n'
        "replications = 2\nclaimants = 300\nseed = 5\nclaimants_per_task = 150\n"
    )
    out = tmp_path / "batch_out"
    run_batch(load_batch(batch), out, workers=1)
    return out


def test_check_from_a_batch_folder_reads_its_runs(tmp_path: Path, scenarios: Path) -> None:
    """``--from DIR`` runs nothing: each row is computed on the batch's own ledgers (every
    replicate, shards joined), written to DIR/check where the report finds it."""
    folder = _tiny_batch(tmp_path, scenarios)
    figures = _figures(tmp_path)
    result = runner.invoke(app, ["check", str(figures), "--from", str(folder)])
    assert result.exit_code == 0, result.stderr
    table = pl.read_parquet(folder / "check" / "check.parquet")
    for target_id, expected in _expected(figures, scenarios).items():
        got = table.filter(pl.col("target_id") == target_id).row(0, named=True)
        assert got["replicates"] == 2
        assert got["simulated"] == pytest.approx(expected, rel=1e-12)


def test_check_from_a_batch_refuses_a_scenario_it_did_not_run(
    tmp_path: Path, scenarios: Path
) -> None:
    folder = _tiny_batch(tmp_path, scenarios)
    figures = _figures(tmp_path, scenario="jcp_offer")
    result = runner.invoke(app, ["check", str(figures), "--from", str(folder)])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(figures) in lines[0] and "scenario" in lines[0]
    assert not (folder / "check").exists()


@pytest.mark.parametrize(
    ("values", "exactness", "value", "low", "high", "agrees"),
    [
        ([0.30, 0.31, 0.29], "rounded", "30.0", "", "", True),  # interval holds 30
        ([0.50, 0.51, 0.49], "rounded", "30.0", "", "", False),  # far above
        ([0.26, 0.27, 0.25], "range", "24", "20", "28", True),  # inside the range
        ([0.36, 0.37, 0.35], "range", "24", "20", "28", False),  # above the range
        ([0.50, 0.51, 0.49], "range", "40", "40", "", True),  # a one-sided bound ">40%"
    ],
)
def test_agreement_is_overlap_of_the_interval_and_the_band(
    tmp_path: Path, scenarios: Path, values, exactness, value, low, high, agrees
) -> None:
    figures = _figures(tmp_path, exactness=exactness, value=value, low=low, high=high)
    target = prepare(figures, scenarios).targets[0]
    row = _row(target, values, len(values))
    assert row["agrees"] is agrees
    assert row["simulated"] == pytest.approx(100.0 * sum(values) / len(values))
    assert math.isclose(row["difference"], row["simulated"] - float(value))


def test_the_summary_counts_agreement_and_finds_the_worst_row() -> None:
    table = pl.DataFrame(
        {
            "target_id": ["a", "b", "c"],
            "difference": [1.0, -4.0, 2.0],
            "agrees": [True, False, True],
        }
    )
    s = summarise(table)
    assert (s.n_rows, s.n_agree, s.worst_target, s.worst_difference) == (3, 2, "b", -4.0)
    assert s.median_abs_difference == 2.0
