"""The Python API: run a scenario and get tidy frames back.

>>> import sim
>>> result = sim.run("scenarios/work_programme.toml", n_claimants=200, seed=1)
>>> sorted(result.ledger.columns)[:3]
['adviser_minutes', 'age_band', 'area']
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sim.config import Scenario
from sim.metrics import summarise
from sim.model import RunOutput, population_frame, simulate
from sim.records import monthly_frame
from sim.scenario import load_scenario, scenario_hash
from sim.schema import SCHEMAS

PROVIDER_SCHEMA = SCHEMAS["providers"]

__all__ = ["RunResult", "package_versions", "run"]

_PACKAGES = ("pbrsim", "simpy", "numpy", "scipy", "polars", "pyarrow", "pydantic")


def package_versions() -> dict[str, str]:
    """Return the Python version and the versions of pbrsim and its core dependencies."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class RunResult:
    """Frames from one run of one scenario and replicate.

    Attributes
    ----------
    ledger : polars.DataFrame
        One row per claimant (see :data:`sim.records.LEDGER_FIELDS`).
    summary : polars.DataFrame
        Tidy metrics ``(metric, group, horizon_months, value)`` (see :data:`sim.metrics.METRICS`).
    providers : polars.DataFrame
        Provider income, costs and cash balance by month (no rows, but every column, under
        the JCP regime; see :data:`sim.schema.PROVIDER_FIELDS`).
    monthly : polars.DataFrame
        Event counts by calendar month ``(month, month_start, event, n)``.
    events : polars.DataFrame or None
        The event log, if it was kept.
    manifest : dict
        How to reproduce the run: resolved scenario and hash, seed, versions, timings.
    """

    ledger: pl.DataFrame
    summary: pl.DataFrame
    providers: pl.DataFrame
    events: pl.DataFrame | None
    monthly: pl.DataFrame = field(default_factory=pl.DataFrame)
    manifest: dict[str, Any] = field(default_factory=dict)


def _providers_frame(out: RunOutput, scenario: Scenario) -> pl.DataFrame:
    """The providers' ledgers; with no providers (the JCP regime), no rows but every column."""
    frames = [p.ledger() for p in out.providers]
    return pl.concat(frames, rechunk=True) if frames else pl.DataFrame(schema=PROVIDER_SCHEMA)


def run(
    scenario: Scenario | str | Path,
    *,
    n_claimants: int,
    seed: int,
    replicate: int = 0,
    event_log: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    areas: Sequence[int] | None = None,
) -> RunResult:
    """Simulate a scenario and return its frames.

    Parameters
    ----------
    scenario : Scenario or path
        A validated scenario, or the path of a scenario TOML file.
    n_claimants : int
        Number of referrals (>= 1).
    seed : int
        Root seed (0 <= seed < 2**63).
    replicate : int
        Replicate number; replicate r of every scenario shares its random keys.
    event_log : bool, optional
        Keep the event log (default: the scenario's ``records.event_log``).
    progress : callable, optional
        Called as ``progress(n_done, n_total)`` as the run advances.
    areas : sequence of int, optional
        Simulate only these contract package areas; the ledger then holds only their
        claimants, with exactly the rows they have in the whole run.

    Returns
    -------
    RunResult

    Raises
    ------
    sim.scenario.ScenarioError
        If ``scenario`` is a path to a missing or invalid file.
    ValueError
        If ``n_claimants``, ``seed`` or ``replicate`` is out of range.
    """
    started = time.time()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    out = simulate(
        sc, n_claimants, seed, replicate, event_log=event_log, progress=progress, areas=areas
    )
    rows = np.flatnonzero(np.isin(out.population.area, out.areas))
    ledger = pl.concat(
        [population_frame(out.population, sc)[rows], out.records.frame(rows)], how="horizontal"
    )
    providers = _providers_frame(out, sc)
    summary = summarise(
        ledger,
        providers,
        parked_gap_days=sc.records.parked_gap_days,
        mpl=sc.contract.minimum_performance_levels,
    )
    manifest = {
        "scenario": sc.name,
        "scenario_hash": scenario_hash(sc),
        "scenario_resolved": sc.model_dump(mode="json"),
        "n_claimants": n_claimants,
        "areas": list(out.areas),
        "seed": seed,
        "replicate": replicate,
        "versions": package_versions(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 3),
        "simulation_seconds": round(out.wall_seconds, 3),
        "n_sim_events": out.n_sim_events,
        "n_providers": len(out.providers),
        "n_advisers": sum(p.n_advisers for p in out.providers),
    }
    events = out.events.frame() if out.events is not None else None
    monthly = monthly_frame(out.monthly, sc.run.start_month)
    return RunResult(ledger, summary, providers, events, monthly, manifest)
