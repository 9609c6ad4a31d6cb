"""Every shipped scenario validates, is listed in scenarios/README.md, and every shipped batch
runs end to end (small) with its counterfactual, writing paired impacts for each scenario."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import polars as pl
import pytest

from sim.batch import run_batch
from sim.batch_spec import load_batch
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "scenarios").rglob("*.toml"))
BATCH_FILES = sorted((ROOT / "batches").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenario_validates_and_names_its_sources(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.description
    if path.parent.name == "scenarios":
        assert sc.sources, f"{path.name} has no [sources]"


def test_scenarios_readme_lists_every_scenario() -> None:
    text = (ROOT / "scenarios" / "README.md").read_text()
    missing = [str(p.relative_to(ROOT / "scenarios")) for p in SCENARIO_FILES if p.stem not in text]
    assert not missing, f"scenarios/README.md does not mention {missing}"


def _small(path: Path, tmp: Path) -> Path:
    """The batch with absolute scenario paths, 2 replications of 300 claimants."""
    raw = tomllib.loads(path.read_text())
    raw["scenarios"] = [str((path.parent / s).resolve()) for s in raw["scenarios"]]
    raw.pop("calibration_fit", None)
    raw.update(replications=2, claimants=300, claimants_per_task=300)
    out = tmp / path.name
    out.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in raw.items()))
    return out


@pytest.mark.parametrize("path", BATCH_FILES, ids=lambda p: p.stem)
def test_batch_runs_with_its_counterfactual(path: Path, tmp_path: Path) -> None:
    batch = load_batch(_small(path, tmp_path))
    report = run_batch(batch, tmp_path / "out", workers=1)
    assert not report.failed
    impacts = pl.read_parquet(tmp_path / "out" / "impacts.parquet")
    others = set(batch.scenarios) - {batch.baseline}
    assert others and set(impacts["scenario"].unique()) == others
    assert (impacts["baseline"] == batch.baseline).all()
