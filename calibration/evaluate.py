"""Evaluate candidate parameter points: simulate through the batch runner, cache on disk.

A candidate is a point ``z`` of the unit cube. Its scenarios (the base and,
if a target needs it, the counterfactual) are the spec's scenarios with the
parameters' keys overridden. Every candidate is run with the same seed,
replicates and claimants, so replicate ``r`` of every candidate shares its
random keys (common random numbers): the objective is a deterministic function
of ``z`` that moves smoothly as event times move.

Each (scenario, replicate) is split into area shards run as
:class:`sim.tasks.Task` objects by :func:`sim.executors.run_local` or
:func:`sim.executors.run_dask`; all the tasks of a batch of candidates go to the
executor at once. Shard ledgers come back as Parquet bytes and are decoded
with polars; the target moments of each candidate are written to
``CACHE/<key[:2]>/<key>.json``, ``key`` the SHA-256 of the scenarios' hashes,
seed, replicates, claimants and :data:`calibration.mapping.MAPPING_VERSION`.
A rerun finds them there and replays them without simulating.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from calibration.mapping import MAPPING_VERSION, Moment, combine, measure
from calibration.spec import Calibration
from calibration.targets import Target
from sim.config import Scenario
from sim.executors import Outcome, run_dask, run_local
from sim.outputs import atomic_write
from sim.scenario import override, scenario_hash
from sim.tasks import Task

__all__ = [
    "CalibrationError",
    "Evaluation",
    "Evaluator",
    "Executor",
    "area_shards",
    "make_executor",
]

FloatArray = npt.NDArray[np.float64]
Executor = Callable[[Sequence[Task]], Iterator[Outcome]]


class CalibrationError(RuntimeError):
    """A simulation task failed, so a candidate could not be evaluated."""


@dataclass(frozen=True)
class Evaluation:
    """The simulated target moments of one candidate.

    Attributes
    ----------
    z : tuple of float
        The candidate in the unit cube.
    key : str
        Its cache key.
    moments : dict
        ``{target key: Moment}`` (see :attr:`calibration.targets.Target.key`).
    cached : bool
        True if it was replayed from the disk cache rather than simulated now.
    """

    z: tuple[float, ...]
    key: str
    moments: dict[str, Moment]
    cached: bool


def make_executor(
    workers: int, scheduler: str | None, dask_local: int | None
) -> tuple[Executor, int]:
    """Return the executor for the options and how many area shards to cut each run into.

    ``scheduler`` (a Dask address) or ``dask_local`` (a LocalCluster of that many
    workers) select Dask; otherwise ``workers`` local processes (1: this process).
    """
    if scheduler is not None or dask_local is not None:

        def dask(tasks: Sequence[Task]) -> Iterator[Outcome]:
            return run_dask(tasks, scheduler, dask_local)

        return dask, max(2, dask_local or 2)

    def local(tasks: Sequence[Task]) -> Iterator[Outcome]:
        return run_local(tasks, workers)

    return local, max(1, workers)


def area_shards(n_areas: int, n_shards: int) -> list[tuple[int, ...]]:
    """Split areas ``0..n_areas-1`` into ``n_shards`` contiguous, near-equal shards."""
    n = max(1, min(n_areas, n_shards))
    size, extra = divmod(n_areas, n)
    out, start = [], 0
    for k in range(n):
        stop = start + size + (1 if k < extra else 0)
        out.append(tuple(range(start, stop)))
        start = stop
    return out


@dataclass
class _Pending:
    """A candidate being simulated: its scenarios and the shard ledgers received."""

    z: tuple[float, ...]
    key: str
    scenarios: dict[str, Scenario]
    parts: dict[tuple[str, int], list[tuple[int, bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    expected: int = 0
    received: int = 0


class Evaluator:
    """Evaluate candidates in batches, with a memory and a disk cache.

    Parameters
    ----------
    cal : Calibration
        The loaded spec.
    cache_dir : Path
        Folder of the disk cache (created if needed).
    executor : Executor
        Runs tasks (see :func:`make_executor`).
    shards : int
        Area shards per (scenario, replicate) run.
    resume : bool
        Read the disk cache (it is always written).
    on_evaluation : callable, optional
        Called with each :class:`Evaluation` as it becomes available.

    Attributes
    ----------
    n_simulated, n_cached, n_calls : int
        Candidates simulated now, replayed from disk, and asked for (memory hits included).
    """

    def __init__(
        self,
        cal: Calibration,
        cache_dir: Path,
        executor: Executor,
        shards: int,
        *,
        resume: bool = True,
        on_evaluation: Callable[[Evaluation], None] | None = None,
    ) -> None:
        self.cal = cal
        self.cache_dir = cache_dir
        self.executor = executor
        self.shards = shards
        self.resume = resume
        self.on_evaluation = on_evaluation
        self.n_simulated = self.n_cached = self.n_calls = 0
        self._memory: dict[str, Evaluation] = {}
        self._targets: dict[str, Target] = {t.key: t for t in cal.targets}
        self._needed = {cal.scenario.name} | {t.scenario for t in cal.targets}
        """Scenarios a candidate runs: the first programme's and any a target names."""

    # ----------------------------------------------------------------- public
    def evaluate(self, zs: Sequence[FloatArray]) -> list[Evaluation]:
        """Return the evaluations of ``zs`` in order, simulating only what is not cached.

        Raises
        ------
        CalibrationError
            If a simulation task fails.
        sim.scenario.ScenarioError
            If a candidate's overrides make an invalid scenario (bounds are checked
            when the spec is loaded, so only a combination of values can do this).
        """
        self.n_calls += len(zs)
        found: dict[str, Evaluation] = {}
        pending: dict[str, _Pending] = {}
        keys = []
        for z in zs:
            zt = tuple(float(v) for v in z)
            scenarios = self._scenarios(np.asarray(zt))
            key = self._key(scenarios)
            keys.append(key)
            hit = found.get(key) or self._memory.get(key) or self._from_disk(key, zt)
            if hit is not None:
                found[key] = hit
            elif key not in pending:
                pending[key] = _Pending(zt, key, scenarios)
        if pending:
            for ev in self._simulate(list(pending.values())):
                found[ev.key] = ev
        return [found[key] for key in keys]

    def scenarios(self, z: FloatArray) -> dict[str, Scenario]:
        """The overridden scenarios of candidate ``z`` by name."""
        return self._scenarios(z)

    # ----------------------------------------------------------------- scenarios and keys
    def _scenarios(self, z: FloatArray) -> dict[str, Scenario]:
        """Every needed scenario of every programme, with that programme's keys set."""
        out = {}
        for k in range(len(self.cal.others) + 1):
            view = self.cal.for_programme(k)
            changes = view.changes(z)
            for sc in (view.scenario, view.counterfactual):
                if sc is not None and sc.name in self._needed:
                    out[sc.name] = override(sc, changes, source=str(self.cal.path))
        return out

    def _key(self, scenarios: dict[str, Scenario]) -> str:
        spec = self.cal.spec
        payload = {
            "scenarios": {name: scenario_hash(sc) for name, sc in sorted(scenarios.items())},
            "seed": spec.seed,
            "replicates": spec.replicates,
            "claimants": spec.claimants,
            "mapping_version": MAPPING_VERSION,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    # ----------------------------------------------------------------- disk cache
    def _path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _from_disk(self, key: str, z: tuple[float, ...]) -> Evaluation | None:
        if not self.resume:
            return None
        try:
            data = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        stored = data.get("moments", {})
        if not all(k in stored for k in self._targets):
            return None
        moments = {k: Moment(*stored[k]) for k in self._targets}
        ev = Evaluation(z, key, moments, cached=True)
        self._remember(ev)
        self.n_cached += 1
        return ev

    def _to_disk(self, ev: Evaluation) -> None:
        old: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(self._path(ev.key).read_text()).get("moments", {})
        moments = old | {k: [m.value, m.se, m.n] for k, m in ev.moments.items()}
        data = {
            "key": ev.key,
            "z": list(ev.z),
            "theta": self.cal.theta(np.asarray(ev.z)),
            "seed": self.cal.spec.seed,
            "replicates": self.cal.spec.replicates,
            "claimants": self.cal.spec.claimants,
            "moments": moments,
        }
        text = json.dumps(data, sort_keys=True) + "\n"
        atomic_write(self._path(ev.key), lambda p: p.write_text(text))

    def _remember(self, ev: Evaluation) -> None:
        self._memory[ev.key] = ev
        if self.on_evaluation is not None:
            self.on_evaluation(ev)

    # ----------------------------------------------------------------- simulation
    def _tasks(self, pend: _Pending) -> list[Task]:
        spec = self.cal.spec
        tasks = []
        for name, sc in pend.scenarios.items():
            data = sc.model_dump_json()
            shards = area_shards(len(sc.providers.primes_per_area), self.shards)
            for r in range(spec.replicates):
                for k, areas in enumerate(shards):
                    label = f"{pend.key[:20]}-{name}"
                    tasks.append(Task(label, r, k, areas, data, spec.claimants, spec.seed))
        return tasks

    def _simulate(self, pending: list[_Pending]) -> list[Evaluation]:
        """Run every pending candidate's tasks in one go; finish each as its last shard lands."""
        by_label = {f"{p.key[:20]}-{name}": (p, name) for p in pending for name in p.scenarios}
        tasks = []
        for pend in pending:
            mine = self._tasks(pend)
            pend.expected = len(mine)
            tasks += mine
        failures = []
        out = []
        for task, output, err in self.executor(tasks):
            if output is None:
                failures.append(f"{task.part}: {type(err).__name__}: {err}")
                continue
            pend, name = by_label[task.scenario]
            pend.parts[(name, task.replicate)].append((task.shard, output.ledger))
            pend.received += 1
            if pend.received == pend.expected and not failures:
                out.append(self._finish(pend))
        if failures:
            raise CalibrationError("simulation failed:\n" + "\n".join(failures))
        return out

    def _finish(self, pend: _Pending) -> Evaluation:
        ev = Evaluation(pend.z, pend.key, self._moments(pend), cached=False)
        pend.parts.clear()
        self._to_disk(ev)
        self.n_simulated += 1
        self._remember(ev)
        return ev

    def _ledger(self, parts: list[tuple[int, bytes]]) -> pl.DataFrame:
        frames = [pl.read_parquet(io.BytesIO(b)) for _, b in sorted(parts)]
        return pl.concat(frames, how="vertical_relaxed").sort("claimant_id")

    def _moments(self, pend: _Pending) -> dict[str, Moment]:
        reps = self.cal.spec.replicates
        ledgers = {
            (name, r): self._ledger(pend.parts[(name, r)])
            for name in pend.scenarios
            for r in range(reps)
        }
        out = {}
        for key, target in self._targets.items():
            sc = pend.scenarios[target.scenario]
            per_rep = [measure(target, ledgers[(target.scenario, r)], sc) for r in range(reps)]
            out[key] = combine(per_rep)
        return out
