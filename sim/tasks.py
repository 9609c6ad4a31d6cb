"""Tasks: a batch cut into independent units of work, and what each one writes.

Replicate ``r`` of every scenario uses the same random keys, so scenarios are
paired claimant by claimant. Each (scenario, replicate) is split into shards of contract package
areas, which are independent, so a task's output is exactly its slice of the
whole run whatever the worker, backend or order.

:func:`run_task` runs in a worker (a spawned process or a Dask worker, which find it by
its module path, ``sim.tasks.run_task``) and returns the task's tables as Parquet bytes;
the runner alone writes them with :func:`write_task`, atomically, then the task's done
marker (:mod:`sim.store`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.batch_spec import Batch
from sim.config import Scenario
from sim.schema import parquet_bytes
from sim.store import BatchStore

__all__ = [
    "Task",
    "TaskOutput",
    "expected_cost",
    "longest_first",
    "marker_path",
    "plan_tasks",
    "run_task",
    "write_task",
]


@dataclass(frozen=True)
class Task:
    """One unit of work: a shard of areas of one scenario and replicate."""

    scenario: str
    replicate: int
    shard: int
    areas: tuple[int, ...]
    scenario_data: str
    """The resolved scenario as JSON, so that a remote worker needs no files."""
    n_claimants: int
    seed: int

    @property
    def part(self) -> str:
        """Partition path of this task, relative to a table's folder."""
        return f"scenario={self.scenario}/replicate={self.replicate}/part-{self.shard:03d}"


@dataclass(frozen=True)
class TaskOutput:
    """What a worker sends back: Parquet bytes and a few numbers."""

    ledger: bytes
    providers: bytes
    monthly: bytes
    n_rows: int
    n_sim_events: int
    wall_seconds: float
    written: bool = False
    """The worker wrote the parts and marker itself (the bytes are then empty)."""


def _shards(n_areas: int, n_claimants: int, per_task: int) -> list[tuple[int, ...]]:
    n = max(1, min(n_areas, math.ceil(n_claimants / per_task)))
    size, extra = divmod(n_areas, n)
    shards, start = [], 0
    for k in range(n):
        stop = start + size + (1 if k < extra else 0)
        shards.append(tuple(range(start, stop)))
        start = stop
    return shards


def plan_tasks(batch: Batch, replicates: Sequence[int]) -> list[Task]:
    """Return the tasks for ``replicates`` of every scenario, in a fixed order."""
    tasks = []
    spec = batch.spec
    for r in replicates:
        for name, sc in batch.scenarios.items():
            data = sc.model_dump_json()
            n_areas = len(sc.providers.primes_per_area)
            for k, areas in enumerate(_shards(n_areas, spec.claimants, spec.claimants_per_task)):
                tasks.append(Task(name, r, k, areas, data, spec.claimants, spec.seed))
    return tasks


# Relative cost of simulating one claimant under each regime, measured with
# benchmarks/bench_batch.py (20,000 claimants, shards of 4-5 areas): a Work Programme
# area took about 1.4 times as long as the same area under the JCP offer.
_REGIME_COST = {"programme": 1.4, "jcp": 1.0}


@functools.lru_cache(maxsize=64)
def _scenario_cost(scenario_data: str) -> tuple[float, int]:
    """Return (relative cost per claimant, number of areas) of a scenario given as JSON."""
    data = json.loads(scenario_data)
    return _REGIME_COST.get(data["regime"], 1.0), len(data["providers"]["primes_per_area"])


def expected_cost(task: Task) -> float:
    """Estimate a task's run time, in arbitrary units, from its claimants and regime.

    Areas hold about the same number of claimants, so a shard's claimants are
    ``n_claimants * len(areas) / n_areas``.
    """
    per_claimant, n_areas = _scenario_cost(task.scenario_data)
    return per_claimant * task.n_claimants * len(task.areas) / max(1, n_areas)


def longest_first(tasks: Sequence[Task]) -> list[Task]:
    """Order tasks by decreasing expected cost (ties keep their planned order).

    Handing the longest tasks out first (LPT scheduling) leaves only short tasks for
    the end of a batch, so workers finish at nearly the same time. The order in which
    tasks run changes no output: each task writes only its own partitions.
    """
    return sorted(tasks, key=expected_cost, reverse=True)


def run_task(task: Task, out: str | None = None) -> TaskOutput:
    """Run one task (in a worker process) and return its tables as Parquet bytes.

    Parameters
    ----------
    task : Task
    out : str, optional
        A batch output folder this process can write (a file system shared with the
        runner): the worker writes the task's parts and marker itself
        (:func:`write_task`) and returns only the numbers, with empty bytes and
        ``written=True``; the runner then never holds the tables.

    Raises
    ------
    sim.store.StoreError
        If ``out`` is given and a file cannot be written (e.g. no space left).
    """
    from sim.api import run

    t0 = time.perf_counter()
    scenario = Scenario.model_validate_json(task.scenario_data)
    result = run(
        scenario,
        n_claimants=task.n_claimants,
        seed=task.seed,
        replicate=task.replicate,
        areas=task.areas,
        event_log=False,
    )
    output = TaskOutput(
        ledger=parquet_bytes(result.ledger, "ledger"),
        providers=parquet_bytes(result.providers, "providers"),
        monthly=parquet_bytes(result.monthly, "monthly"),
        n_rows=result.ledger.height,
        n_sim_events=int(result.manifest["n_sim_events"]),
        wall_seconds=time.perf_counter() - t0,
    )
    if out is None:
        return output
    del result
    write_task(Path(out), task, output)
    return dataclasses.replace(output, ledger=b"", providers=b"", monthly=b"", written=True)


def marker_path(out: Path, task: Task) -> Path:
    """Path of the file whose presence says ``task`` is finished."""
    return BatchStore(out).marker_path(task.part)


def write_task(out: Path, task: Task, output: TaskOutput) -> None:
    """Write a task's partitions atomically, then its marker with their SHA-256.

    Raises
    ------
    sim.store.StoreError
        If a file cannot be written (e.g. no space left); files written before stay.
    """
    tables = {"ledger": output.ledger, "providers": output.providers, "monthly": output.monthly}
    meta = {
        "scenario": task.scenario,
        "replicate": task.replicate,
        "shard": task.shard,
        "areas": list(task.areas),
        "n_rows": output.n_rows,
        "n_sim_events": output.n_sim_events,
        "wall_seconds": round(output.wall_seconds, 3),
    }
    BatchStore(out).write_task(task.part, tables, meta)
