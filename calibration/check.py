"""Check the model against a file of published figures it was not fitted to.

A figures file has the targets format (:mod:`calibration.targets`). Each row's
``scenario`` names a scenario file: ``scenarios/calibrated/NAME.toml`` if there is one,
else ``scenarios/NAME.toml`` (under ``scenarios_dir``). Every named scenario is run for
``replicates`` replications of ``claimants`` referrals through the batch executors (local
workers or Dask), each replication with the same keys for every scenario; each row's
measure is computed per replication exactly as calibration computes it
(:func:`calibration.mapping.measure`), and compared with the published value and the
row's stated tolerance (:meth:`calibration.targets.Target.published_band`: the range, or
the value +- 1.645 sd of its rounding or approximation).

A row agrees when the simulation interval (95%, t over replications; on the logit scale
for a share, so it stays in [0, 1]) overlaps the published band. Nothing is run or
written before the whole file validates.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import polars as pl

from calibration.mapping import measure
from calibration.targets import SHARE_UNITS, Target, load_targets
from sim.config import Scenario
from sim.estimates import t_interval
from sim.executors import Outcome
from sim.scenario import Problem, ScenarioError, load_scenario
from sim.store import BatchStore, StoreError, read_parquet
from sim.tasks import Task

__all__ = [
    "CHECK_COLUMNS",
    "CheckInput",
    "CheckSummary",
    "find_scenario",
    "prepare",
    "prepare_from_batch",
    "read_check",
    "run_check",
    "summarise",
]

Executor = Callable[[Sequence[Task]], Iterator[Outcome]]

CHECK_COLUMNS: dict[str, str] = {
    "target_id": "the figure's row id",
    "label": "what it measures",
    "programme": "the programme",
    "scenario": "the scenario it was computed from",
    "measure": "the model measure",
    "unit": "the unit of the published and simulated values",
    "published": "the published value",
    "published_low": "lower end of the published band (its range, or value - 1.645 sd)",
    "published_high": "upper end of the published band",
    "simulated": "mean over replications",
    "simulated_low": "lower end of the simulation's 95% interval",
    "simulated_high": "upper end of the simulation's 95% interval",
    "difference": "simulated - published, in the unit (percentage points for percent)",
    "agrees": "the simulation interval overlaps the published band",
    "replicates": "replications run",
    "source": "where the figure was published",
}
"""Columns of the check table, with their descriptions."""


@dataclass(frozen=True)
class CheckInput:
    """A validated figures file: its targets and the scenarios they name."""

    path: Path
    targets: list[Target]
    scenarios: dict[str, Scenario]
    scenario_paths: dict[str, Path]


def find_scenario(name: str, scenarios_dir: Path) -> Path | None:
    """Return the file of scenario ``name``: the calibrated one if shipped, else the plain one."""
    for path in (scenarios_dir / "calibrated" / f"{name}.toml", scenarios_dir / f"{name}.toml"):
        if path.is_file():
            return path
    return None


def _named_scenarios(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return sorted({(row.get("scenario") or "").strip() for row in csv.DictReader(handle)})
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ScenarioError([Problem(str(path), "", None, f"cannot read: {err}")]) from None


def prepare(path: Path, scenarios_dir: Path) -> CheckInput:
    """Read and validate a figures file and load the scenarios its rows name.

    Raises
    ------
    sim.scenario.ScenarioError
        If the file is missing or unreadable, or any row is malformed (a missing column,
        a value that is not a number, an unknown measure or population, a scenario that
        does not exist ...): every problem names the file, row and column. A named
        scenario file that does not load reports its own problems.
    """
    scenarios: dict[str, Scenario] = {}
    paths: dict[str, Path] = {}
    for name in _named_scenarios(path):
        found = find_scenario(name, scenarios_dir) if name else None
        if found is not None:
            scenarios[name] = load_scenario(found)
            paths[name] = found
    targets = load_targets(path, scenarios)
    used = {t.scenario for t in targets}
    return CheckInput(
        path,
        targets,
        {n: s for n, s in scenarios.items() if n in used},
        {n: p for n, p in paths.items() if n in used},
    )


def _tasks(check: CheckInput, replicates: int, claimants: int, seed: int) -> list[Task]:
    tasks = []
    for name, sc in check.scenarios.items():
        data = sc.model_dump_json()
        areas = tuple(range(len(sc.providers.primes_per_area)))
        for r in range(replicates):
            tasks.append(Task(name, r, 0, areas, data, claimants, seed))
    return tasks


def _interval(values: list[float], share: bool) -> tuple[float, float, float]:
    """Mean and 95% t interval over replications; on the logit scale for a share."""
    finite = np.array([v for v in values if math.isfinite(v)], dtype=np.float64)
    if len(finite) == 0:
        return math.nan, math.nan, math.nan
    mean = float(finite.mean())
    if len(finite) < 2:
        return mean, math.nan, math.nan
    if not share:
        lo, hi = t_interval([mean], [float(finite.std(ddof=1))], [len(finite)])
        return mean, float(lo[0]), float(hi[0])
    p = np.clip(finite, 1e-6, 1.0 - 1e-6)
    logit = np.log(p / (1.0 - p))
    lo, hi = t_interval([float(logit.mean())], [float(logit.std(ddof=1))], [len(logit)])
    return mean, float(1.0 / (1.0 + np.exp(-lo[0]))), float(1.0 / (1.0 + np.exp(-hi[0])))


def _row(target: Target, values: list[float], replicates: int) -> dict[str, object]:
    mean, lo, hi = _interval(values, target.unit in SHARE_UNITS)
    f = target.factor
    low, high = target.published_band()
    sim_lo, sim_hi = lo / f, hi / f
    agrees = (
        math.isfinite(sim_lo)
        and (high is None or sim_lo <= high)
        and (low is None or sim_hi >= low)
    )
    return {
        "target_id": target.target_id,
        "label": target.label,
        "programme": target.programme,
        "scenario": target.scenario,
        "measure": target.measure,
        "unit": target.unit,
        "published": target.value,
        "published_low": low,
        "published_high": high,
        "simulated": mean / f,
        "simulated_low": sim_lo,
        "simulated_high": sim_hi,
        "difference": mean / f - target.value,
        "agrees": bool(agrees),
        "replicates": replicates,
        "source": target.source,
    }


def run_check(
    check: CheckInput, executor: Executor, *, replicates: int, claimants: int, seed: int
) -> pl.DataFrame:
    """Run every named scenario and return the check table (:data:`CHECK_COLUMNS`).

    Raises
    ------
    RuntimeError
        If a simulation task fails (its message names the task).
    """
    parts: dict[tuple[str, int], bytes] = {}
    failures = []
    for task, output, err in executor(_tasks(check, replicates, claimants, seed)):
        if output is None:
            failures.append(f"{task.part}: {type(err).__name__}: {err}")
        else:
            parts[(task.scenario, task.replicate)] = output.ledger
    if failures:
        raise RuntimeError("simulation failed:\n" + "\n".join(failures))
    ledgers = (
        (name, pl.read_parquet(io.BytesIO(ledger_bytes)))
        for (name, _r), ledger_bytes in sorted(parts.items())
    )
    return _table(check, ledgers)


def _table(check: CheckInput, ledgers: Iterable[tuple[str, pl.DataFrame]]) -> pl.DataFrame:
    """The check table from each run's ledger (scenario name, ledger), one run at a time."""
    values: dict[str, list[float]] = defaultdict(list)
    for name, ledger in ledgers:
        for target in check.targets:
            if target.scenario == name:
                m = measure(target, ledger, check.scenarios[name])
                values[target.target_id].append(m.value)
    rows = [_row(t, values[t.target_id], len(values[t.target_id])) for t in check.targets]
    return pl.DataFrame(
        rows, schema_overrides={"published_low": pl.Float64, "published_high": pl.Float64}
    )


def prepare_from_batch(path: Path, out: Path) -> CheckInput:
    """Read and validate a figures file against the scenarios of a batch output folder.

    The scenarios are the batch's own, as its manifest resolved them, so a row must name
    one of them.

    Raises
    ------
    sim.scenario.ScenarioError
        As :func:`prepare`; a row naming a scenario the batch did not run is one problem
        naming the file, row and column.
    sim.store.StoreError
        If ``out`` has no readable batch manifest.
    """
    manifest = BatchStore(out).read_manifest()
    if manifest is None or not manifest.scenarios:
        raise StoreError(out / "manifest.json", "no batch manifest with scenarios here")
    scenarios = {
        name: Scenario.model_validate(record.resolved)
        for name, record in manifest.scenarios.items()
        if record.resolved
    }
    targets = load_targets(path, scenarios)
    used = {t.scenario for t in targets}
    paths = {n: out / "manifest.json" for n in used}
    return CheckInput(path, targets, {n: s for n, s in scenarios.items() if n in used}, paths)


def read_check(check: CheckInput, out: Path) -> pl.DataFrame:
    """The check table from a batch folder's ledgers (every replicate of each named scenario).

    The folder is verified first (:meth:`sim.store.BatchStore.verify`); each (scenario,
    replicate) ledger is read in turn.

    Raises
    ------
    sim.store.StoreError
        If a result file fails verification or cannot be read, or a named scenario has
        no ledger in the folder.
    """
    folder = BatchStore(out)
    folder.verify()
    runs: dict[tuple[str, int], list[Path]] = defaultdict(list)
    for part in folder.parts("ledger"):
        if part.scenario in check.scenarios:
            runs[(part.scenario, part.replicate)].append(part.path)
    missing = sorted(set(check.scenarios) - {name for name, _ in runs})
    if missing:
        raise StoreError(out / "ledger", f"no ledger of the scenarios {missing}")

    def ledgers() -> Iterator[tuple[str, pl.DataFrame]]:
        for (name, _r), paths in sorted(runs.items()):
            frames = [read_parquet(path) for path in sorted(paths)]
            yield name, pl.concat(frames, how="vertical_relaxed").sort("claimant_id")

    return _table(check, ledgers())


@dataclass(frozen=True)
class CheckSummary:
    """How a check went: rows that agree, the median |difference| and the worst row."""

    n_rows: int
    n_agree: int
    median_abs_difference: float
    worst_target: str
    worst_difference: float


def summarise(table: pl.DataFrame) -> CheckSummary:
    """Summarise a check table (differences in the rows' units, pp for percent)."""
    diffs = table["difference"].abs()
    worst = table.with_columns(abs_diff=diffs).sort("abs_diff", descending=True, nulls_last=True)
    top = worst.row(0, named=True)
    return CheckSummary(
        n_rows=table.height,
        n_agree=int(table["agrees"].sum()),
        median_abs_difference=float(cast(float, diffs.median())),
        worst_target=str(top["target_id"]),
        worst_difference=float(cast(float, top["difference"])),
    )
