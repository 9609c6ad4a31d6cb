"""Batches: scenarios x replications, run as tasks on local processes or a Dask cluster.

A batch file (TOML) names its scenarios (one of them the baseline, or several
the baselines), the number of replications, claimants and the root seed.
Replicate ``r`` of every scenario uses the same random keys, so scenarios are
paired claimant by claimant. Each (scenario, replicate) is split into shards of contract package
areas, which are independent, so a task's output is exactly its slice of the
whole run whatever the worker, backend or order.

Workers return their tables as Parquet bytes and the runner alone writes them,
atomically, as Hive partitions::

    OUT/ledger/scenario=S/replicate=R/part-K.parquet
    OUT/providers/scenario=S/replicate=R/part-K.parquet
    OUT/monthly/scenario=S/replicate=R/part-K.parquet       # event counts by calendar month
    OUT/_tasks/scenario=S/replicate=R/part-K.json      # written last: the task is done

so nothing is held in memory for the whole batch, an interrupted batch can be
resumed, and a task killed half-way leaves no file that looks finished. A done
marker records the SHA-256 of each part its task wrote (:mod:`sim.store`):
``--resume`` skips a task only if its parts are still exactly those bytes and
redoes the rest, so a part lost or damaged after its task finished is written
again. A batch stopped by SIGTERM or SIGINT (:func:`stop_on_signals`) keeps its
finished tasks and says so in its manifest.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import platform
import signal
import time
import tomllib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim import store
from sim.config import Scenario
from sim.outputs import git_revision, write_data_dictionary
from sim.scenario import Problem, ScenarioError, load_scenario, scenario_files, scenario_hash
from sim.schema import parquet_bytes
from sim.store import BatchStore

__all__ = [
    "Adaptive",
    "BatchSpec",
    "BatchStopped",
    "Task",
    "TaskOutput",
    "expected_cost",
    "load_batch",
    "longest_first",
    "plan_tasks",
    "run_task",
    "start_local_cluster",
    "stop_on_signals",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Adaptive(_Model):
    """Add replications until a paired impact is estimated precisely enough."""

    effect: str = "job_outcome_rate"
    """Effect name in ``impacts.parquet`` (see :mod:`sim.estimates`)."""
    group: str = "all"
    horizon_months: int | None = 24
    """The effect's horizon; ignored for an effect that has none (days in work, payments)."""
    target_half_width: float = Field(gt=0.0)
    """Stop once the 95% CI half-width of the effect is at most this."""
    max_replications: int = Field(ge=2, le=10_000)
    step: int = Field(2, ge=1, le=1000)
    """Replications added per round."""


class BatchSpec(_Model):
    """A validated batch file."""

    name: Name
    description: str = ""
    scenarios: list[str] = Field(min_length=1)
    """Scenario files, relative to the batch file."""
    baseline: Name | None = None
    """Name of the baseline (counterfactual) scenario; default the last one listed."""
    baselines: list[Name] | None = Field(None, min_length=1)
    """Instead of ``baseline``: several baselines, each scenario's impacts are estimated
    against every one; the first is the primary (``OUT/impacts.*``, the report)."""
    replications: int = Field(ge=1, le=10_000)
    claimants: int = Field(ge=1, le=100_000_000)
    seed: int = Field(ge=0, lt=2**63)
    claimants_per_task: int = Field(25_000, ge=100)
    """Target claimants per task; each (scenario, replicate) is split into shards of areas."""
    adaptive: Adaptive | None = None
    calibration_fit: str | None = None
    """A calibration's fit table (CSV or Parquet, relative to the batch file) to show in the
    report: it is copied to ``OUT/calibration/fit.<ext>``."""

    @field_validator("baselines")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) < len(value):
            raise ValueError("names a scenario twice")
        return value

    @model_validator(mode="after")
    def _one_way_to_name_baselines(self) -> BatchSpec:
        if self.baseline is not None and self.baselines is not None:
            raise ValueError("give baseline (one name) or baselines (a list), not both")
        return self

    @model_validator(mode="after")
    def _adaptive_cap(self) -> BatchSpec:
        if self.adaptive is not None and self.adaptive.max_replications < self.replications:
            raise ValueError(
                f"adaptive.max_replications ({self.adaptive.max_replications}) must be at least "
                f"replications ({self.replications})"
            )
        return self


OVERRIDABLE = ("replications", "claimants", "seed")
"""Batch keys a run may override from the command line (``pbrsim batch --claimants N``)."""


@dataclass(frozen=True)
class Batch:
    """A batch file with its scenarios loaded."""

    path: Path
    spec: BatchSpec
    scenarios: dict[str, Scenario]
    baseline: str
    """The primary baseline."""
    overrides: dict[str, int] = field(default_factory=dict)
    """Keys of the file replaced for this run (they are part of the spec and its hash)."""
    baselines: tuple[str, ...] = ()
    """Every baseline, the primary first (empty: only ``baseline``)."""

    @property
    def comparisons(self) -> tuple[str, ...]:
        """The baselines impacts are estimated against, the primary first."""
        return self.baselines or (self.baseline,)

    files: dict[str, Path] = field(default_factory=dict)
    """Each scenario's file, by scenario name."""
    inputs: dict[str, str] = field(default_factory=dict)
    """SHA-256 of the batch file and of every scenario file and base it extends, by the
    file's absolute path: which file changed, when a resume finds a different batch."""

    @property
    def hash(self) -> str:
        """Hash of the spec and every resolved scenario: same hash, same results."""
        # a file without `baselines` hashes as it did before the key existed
        unset = set() if self.spec.baselines is not None else {"baselines"}
        payload = {
            "spec": self.spec.model_dump(mode="json", exclude={"description", "adaptive", *unset}),
            "scenarios": {n: scenario_hash(s) for n, s in sorted(self.scenarios.items())},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _problems_from_validation(
    path: Path, err: ValidationError, overrides: dict[str, int]
) -> list[Problem]:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown key; valid keys here: {', '.join(BatchSpec.model_fields)}"
        where = f"{path} (--{key} on the command line)" if key in overrides else str(path)
        # an error of the file as a whole has no key: its input is the whole table
        problems.append(Problem(where, key, e.get("input") if key else None, msg))
    return problems


def load_batch(path: str | Path, overrides: dict[str, int] | None = None) -> Batch:
    """Read and validate a batch file and the scenarios it names.

    Parameters
    ----------
    path : str or Path
    overrides : dict, optional
        Values replacing the file's ``replications``, ``claimants`` or ``seed`` for
        this run, validated like the file's own.

    Raises
    ------
    sim.scenario.ScenarioError
        With every problem found: a missing or malformed batch file, a bad key or
        value (including an override), a scenario file that is missing or invalid,
        two scenarios with the same name, or a baseline that is not one of them.
    ValueError
        If ``overrides`` names a key outside :data:`OVERRIDABLE`.
    """
    overrides = dict(overrides or {})
    bad = sorted(set(overrides) - set(OVERRIDABLE))
    if bad:
        raise ValueError(f"overrides {bad} not in {list(OVERRIDABLE)}")
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(str(path), "", None, f"cannot read: {err}")]) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([Problem(str(path), "", None, f"invalid TOML: {err}")]) from None
    try:
        spec = BatchSpec.model_validate({**raw, **overrides}, strict=True)
    except ValidationError as err:
        raise ScenarioError(_problems_from_validation(path, err, overrides)) from None
    problems: list[Problem] = []
    scenarios: dict[str, Scenario] = {}
    files: dict[str, Path] = {}
    inputs = {str(path.resolve()): hashlib.sha256(path.read_bytes()).hexdigest()}
    for j, rel in enumerate(spec.scenarios):
        try:
            sc = load_scenario(path.parent / rel)
            inputs.update(_input_hashes(path.parent / rel))
        except ScenarioError as err:
            problems.extend(err.problems)
            continue
        if sc.name in scenarios:
            problems.append(
                Problem(str(path), f"scenarios[{j}]", rel, f"a second scenario named {sc.name!r}")
            )
        scenarios[sc.name] = sc
        files[sc.name] = path.parent / rel
    if spec.calibration_fit is not None and not (path.parent / spec.calibration_fit).is_file():
        problems.append(
            Problem(str(path), "calibration_fit", spec.calibration_fit, "file not found")
        )
    if spec.baselines is not None:
        named = [(f"baselines[{j}]", b) for j, b in enumerate(spec.baselines)]
    else:
        named = [("baseline", spec.baseline or (list(scenarios)[-1] if scenarios else ""))]
    for key, name in named if not problems else []:
        if name not in scenarios:
            problems.append(
                Problem(str(path), key, name, f"is none of the scenarios {sorted(scenarios)}")
            )
    if problems:
        raise ScenarioError(problems)
    baselines = tuple(name for _, name in named)
    return Batch(
        path, spec, scenarios, baselines[0], overrides, baselines, files=files, inputs=inputs
    )


def _input_hashes(scenario_file: Path) -> dict[str, str]:
    """SHA-256 of a scenario file and each base it extends, by absolute path.

    Raises
    ------
    ScenarioError
        If a file of the chain cannot be read.
    """
    hashes = {}
    for file in scenario_files(scenario_file):
        try:
            hashes[str(file.resolve())] = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as err:
            raise ScenarioError([Problem(str(file), "", None, f"cannot read: {err}")]) from None
    return hashes


# --------------------------------------------------------------------------- tasks
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


def run_task(task: Task) -> TaskOutput:
    """Run one task (in a worker process) and return its tables as Parquet bytes."""
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
    return TaskOutput(
        ledger=parquet_bytes(result.ledger, "ledger"),
        providers=parquet_bytes(result.providers, "providers"),
        monthly=parquet_bytes(result.monthly, "monthly"),
        n_rows=result.ledger.height,
        n_sim_events=int(result.manifest["n_sim_events"]),
        wall_seconds=time.perf_counter() - t0,
    )


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


# --------------------------------------------------------------------------- executors
Outcome = tuple[Task, TaskOutput | None, BaseException | None]
Outcomes = Generator[Outcome, None, None]


class BatchStopped(BaseException):
    """A batch was stopped by a signal (see :func:`stop_on_signals`).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the
    way (a task's failure handler, say) takes it for a failed task. Its only argument
    is the signal number, so that a copy made from ``args`` is the same exception
    (SimPy re-raises an exception from inside a process as ``type(e)(*e.args)``).

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)
        self.signal_name = signal.Signals(self.signum).name

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}"


@contextlib.contextmanager
def stop_on_signals(
    signums: Sequence[int] = (signal.SIGTERM, signal.SIGINT),
) -> Iterator[None]:
    """Within the block, turn the first of ``signums`` into :class:`BatchStopped`.

    The exception is raised in the main thread wherever it is (running a task,
    waiting for one, writing files, which are written atomically), unwinds the
    executors (worker processes are shut down, a Dask client closed) and leaves
    every finished task's files and done marker in place. Later signals are
    ignored while the batch stops. The previous handlers are restored on exit.

    Raises
    ------
    ValueError
        If called outside the main thread (Python delivers signals only there).
    """

    stopping = False

    def handler(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise BatchStopped(signum)

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _ignore_interrupts() -> None:
    """Worker start-up: leave SIGINT (Ctrl-C reaches the whole process group) to the runner.

    The runner stops the batch and shuts the pool down; a worker interrupted on its
    own would only print a traceback from inside the pool.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_here(task: Task) -> Outcome:
    try:
        return task, run_task(task), None
    except Exception as err:  # a failed task is reported, the batch goes on
        return task, None, err


def run_local(tasks: Sequence[Task], workers: int) -> Outcomes:
    """Run tasks in this process and ``workers - 1`` spawned worker processes.

    This process is one of the workers: it starts on the longest task at once, while
    the spawned workers start up and import the simulation (about a second each),
    so no core waits for them. All workers take the next task, longest first, from
    one shared queue as they free up, and the spawned ones are never handed more
    than they are running, so the batch ends evenly. Outputs do not depend on
    which process ran a task.
    """
    if workers <= 1:
        for task in tasks:
            yield _run_here(task)
        return
    import multiprocessing as mp
    import queue
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    todo = deque(longest_first(tasks))
    finished: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
    # spawn, never fork: polars' thread pool is not fork-safe (PERFORMANCE.md)
    with ProcessPoolExecutor(
        max_workers=workers - 1,
        mp_context=mp.get_context("spawn"),
        initializer=_ignore_interrupts,
    ) as pool:

        def feed_pool() -> None:
            try:
                task = todo.popleft()
            except IndexError:
                return
            try:
                future = pool.submit(run_task, task)
            except Exception:  # a broken pool: this process runs what is left
                todo.appendleft(task)
                return
            future.add_done_callback(lambda f: collect(task, f))

        def collect(task: Task, future: Future[TaskOutput]) -> None:
            failure = future.exception()
            finished.put((task, None if failure else future.result(), failure))
            feed_pool()

        for _ in range(workers - 1):
            feed_pool()
        for _ in range(len(tasks)):  # one outcome each
            here: Task | None = None
            if finished.empty():
                with contextlib.suppress(IndexError):  # the pool's callbacks pop too
                    here = todo.popleft()
            # a finished task, one run here, or, with only the pool's left, the next to finish
            yield finished.get() if here is None else _run_here(here)


QUIET_DASK_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings for CPU-bound tasks of about a second: no statistical profiler sampling the
workers' threads, no work stealing (the scheduler queues tasks and hands them out as workers
free up), slower housekeeping ticks. On this 2-core machine they cut the 4 x 20,000 batch from
about 25 s to 20 s (interleaved pairs). Set them in the cluster's own config for ``--scheduler``."""


def start_local_cluster(n_workers: int) -> Any:
    """Start a Dask LocalCluster of ``n_workers`` single-threaded worker processes.

    One thread per worker: the simulation is pure Python and holds the GIL, so a
    second thread in a worker would only take turns with the first. The cluster runs
    with :data:`QUIET_DASK_CONFIG`.

    Returns
    -------
    distributed.LocalCluster
        Running, with all its workers up; close it with ``.close()``.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET_DASK_CONFIG):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )


def run_dask(tasks: Sequence[Task], scheduler: str | None, n_local: int | None) -> Outcomes:
    """Run tasks on a Dask cluster: an existing one at ``scheduler`` or a LocalCluster."""
    from distributed import Client, as_completed

    cluster = start_local_cluster(n_local or 1) if scheduler is None else None
    client = Client(cluster if cluster is not None else scheduler)
    try:
        # submitted longest first; Dask runs a client's tasks in submission order
        futures = {client.submit(run_task, t, pure=False): t for t in longest_first(tasks)}
        for fut in as_completed(list(futures)):
            task = futures[fut]
            if fut.status == "error":
                yield task, None, fut.exception()
            else:
                yield task, fut.result(), None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- runner
@dataclass
class BatchReport:
    """What a batch run did."""

    out: Path
    replications: int
    n_tasks: int
    n_skipped: int
    failed: list[tuple[Task, str]]
    wall_seconds: float
    n_redone: int = 0
    """Tasks marked done whose files failed verification on resume, and were redone."""


class OutputConflict(Exception):
    """The output folder holds results that this run must not touch."""


def _manifest(
    batch: Batch, out: Path, status: str, replications: int, extra: dict[str, Any]
) -> None:
    """Write ``OUT/manifest.json`` atomically.

    Raises
    ------
    sim.store.StoreError
        If it cannot be written.
    """
    from sim.api import package_versions

    data = {
        "batch": batch.spec.name,
        "batch_file": str(batch.path),
        "batch_text": batch.path.read_text(),
        "batch_hash": batch.hash,
        "overrides": batch.overrides,
        "input_files": batch.inputs,
        "baseline": batch.baseline,
        "baselines": list(batch.comparisons),
        "seed": batch.spec.seed,
        "claimants": batch.spec.claimants,
        "replications": replications,
        "scenarios": {
            name: {
                "hash": scenario_hash(sc),
                "regime": sc.regime,
                "parked_gap_days": sc.records.parked_gap_days,
                "resolved": sc.model_dump(mode="json"),
            }
            for name, sc in batch.scenarios.items()
        },
        "versions": package_versions(),
        "git_revision": git_revision(),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "status": status,
        **extra,
    }
    BatchStore(out).write_manifest(data)


def prepare_out(batch: Batch, out: Path, *, resume: bool, overwrite: bool) -> None:
    """Check and prepare the output folder.

    Raises
    ------
    OutputConflict
        If ``out`` holds results of another batch (whatever the flags), or results of
        this batch without ``--resume`` or ``--overwrite``, or a manifest that cannot
        be read.
    """
    folder = BatchStore(out)
    if out.exists() and not out.is_dir():
        raise OutputConflict(f"{out} exists and is not a folder")
    try:
        old = folder.read_manifest()
    except store.StoreError as err:
        raise OutputConflict(f"{err}; choose another folder") from None
    if old is None:
        return
    if resume:
        if old.batch_hash != batch.hash:
            raise OutputConflict(_why_different(batch, out, old))
        return
    if not overwrite:
        raise OutputConflict(
            f"{out} already holds batch results; pass --resume to continue them, "
            "--overwrite to replace them, or choose another folder"
        )
    folder.clear()


def _why_different(batch: Batch, out: Path, old: store.Manifest) -> str:
    """Say, on one line, why the results in ``out`` are not this batch's (naming a file)."""
    cannot = (
        f"cannot resume the results in {out}: restore it, or start again with --overwrite "
        "or another --out"
    )
    for file, sha in batch.inputs.items():
        if file in old.input_files and old.input_files[file] != sha:
            return f"{file} changed since these results were written; {cannot}"
    if "overrides" in old.model_fields_set and old.overrides != batch.overrides:
        return (
            f"the command-line overrides {batch.overrides} differ from those of the results "
            f"in {out} ({old.overrides}); cannot resume into them"
        )
    for name, top in batch.files.items():
        entry = old.scenarios.get(name)
        if entry is not None and entry.hash != scenario_hash(batch.scenarios[name]):
            return (
                f"{top}: scenario {name!r} resolves differently from the one whose results "
                f"are in {out} (changed, or read by another pbrsim version); {cannot}"
            )
    return (
        f"{out} holds results of a different batch or scenario version "
        f"(batch_hash {str(old.batch_hash)[:12]} vs {batch.hash[:12]}); "
        "cannot resume into it"
    )


def _execute(
    tasks: Sequence[Task],
    out: Path,
    *,
    workers: int,
    scheduler: str | None,
    dask_local: int | None,
    on_done: Callable[[Task, bool], None],
) -> list[tuple[Task, str]]:
    if scheduler is not None or dask_local is not None:
        outcomes = run_dask(tasks, scheduler, dask_local)
    else:
        outcomes = run_local(tasks, workers)
    failed = []
    # closed on the way out, whatever stops the loop: the workers go with it
    with contextlib.closing(outcomes):
        for task, output, err in outcomes:
            if output is not None:
                write_task(out, task, output)
                on_done(task, True)
            else:
                failed.append((task, f"{type(err).__name__}: {err}"))
                on_done(task, False)
    return failed


def _half_width(out: Path, batch: Batch, adaptive: Adaptive) -> float:
    from sim.estimates import paired_impacts

    impacts = paired_impacts(out, batch.baseline)
    row = impacts.filter(
        (pl.col("effect") == adaptive.effect)
        & (pl.col("group") == adaptive.group)
        & (pl.col("scenario") != batch.baseline)
    )
    if adaptive.horizon_months is not None and row["horizon_months"].is_not_null().any():
        # effects without a horizon (days in work, payments) ignore it
        row = row.filter(pl.col("horizon_months") == adaptive.horizon_months)
    if row.height == 0:
        raise ValueError(
            f"adaptive.effect {adaptive.effect!r} (group {adaptive.group!r}) not found"
        )
    widths = ((row["ci_high"] - row["ci_low"]) / 2.0).fill_null(math.inf)
    return float(widths.max())  # type: ignore[arg-type]


def _copy_calibration_fit(batch: Batch, out: Path) -> None:
    if batch.spec.calibration_fit is None:
        return
    src = batch.path.parent / batch.spec.calibration_fit
    try:
        data = src.read_bytes()
    except OSError as err:
        raise store.StoreError(src, f"cannot read: {err.strerror or err}") from None
    target = BatchStore(out).calibration_fit_path(src.suffix)
    store.write_atomic(target, lambda p: p.write_bytes(data))


def run_batch(
    batch: Batch,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    on_plan: Callable[[int], None] | None = None,
    on_done: Callable[[Task, bool], None] | None = None,
) -> BatchReport:
    """Run a batch into ``out`` and write its estimates.

    Parameters
    ----------
    batch : Batch
    out : Path
        Output folder.
    workers : int
        Local worker processes (1 runs tasks in this process).
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    dask_local : int, optional
        Start a Dask LocalCluster with this many single-threaded worker processes.
    resume : bool
        Skip tasks already finished in ``out`` whose parts are exactly the bytes their
        done markers record (:meth:`sim.store.BatchStore.task_fault`); redo the rest, including
        finished tasks whose parts are missing or damaged (counted in
        ``BatchReport.n_redone`` and listed in the manifest's ``redone_tasks``).
    overwrite : bool
        Replace results of this or an earlier run of the batch in ``out``.
    on_plan, on_done : callable, optional
        Progress hooks: tasks planned (may be called again when adaptive replication
        adds work); each task finished (ok or failed).

    Returns
    -------
    BatchReport

    Raises
    ------
    OutputConflict
        See :func:`prepare_out`.
    sim.store.StoreError
        If a file cannot be written (e.g. no space left on the device) or a result
        read for the estimates fails verification; files written before are kept and
        the manifest (if it can still be written) has status ``failed``.
    BatchStopped
        If a signal stopped the batch inside :func:`stop_on_signals`; finished tasks
        are kept, to be finished with ``resume=True``, and the manifest has status
        ``stopped``.
    """
    from sim.estimates import write_estimates

    t0 = time.perf_counter()
    out = Path(out)
    prepare_out(batch, out, resume=resume, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    spec = batch.spec
    reps = spec.replications
    _manifest(batch, out, "running", reps, {})
    write_data_dictionary(out, "batch")
    done_reps = 0
    n_tasks = n_skipped = 0
    failed: list[tuple[Task, str]] = []
    redone: list[str] = []
    counts = {"written": 0}
    hook = on_done or (lambda _t, _ok: None)

    def done(task: Task, ok: bool) -> None:
        counts["written"] += ok
        hook(task, ok)

    def record(status: str, **more: Any) -> None:
        extra = {
            "wall_seconds": round(time.perf_counter() - t0, 3),
            "n_tasks": n_tasks,
            "n_tasks_skipped_on_resume": n_skipped,
            "n_tasks_redone_after_verification": len(redone),
            "redone_tasks": redone,
            "failed_tasks": [f"{t.part}: {msg}" for t, msg in failed],
            **more,
        }
        _manifest(batch, out, status, reps, extra)

    folder = BatchStore(out)
    try:
        while True:
            tasks = plan_tasks(batch, range(done_reps, reps))
            todo = []
            for t in tasks:
                if resume:
                    fault = folder.task_fault(t.part)
                    if fault is None:
                        continue
                    if marker_path(out, t).exists():  # marked done, but not what it wrote
                        redone.append(f"{t.part}: {fault}")
                        folder.forget_task(t.part)
                todo.append(t)
            n_tasks += len(tasks)
            n_skipped += len(tasks) - len(todo)
            if on_plan is not None:
                on_plan(len(tasks))
                for t in tasks:
                    if t not in todo and on_done is not None:
                        on_done(t, True)
            failed += _execute(
                todo,
                out,
                workers=workers,
                scheduler=scheduler,
                dask_local=dask_local,
                on_done=done,
            )
            done_reps = reps
            ad = spec.adaptive
            if failed or ad is None or reps >= ad.max_replications:
                break
            if _half_width(out, batch, ad) <= ad.target_half_width:
                break
            reps = min(ad.max_replications, reps + ad.step)
        if not failed:
            write_estimates(out, batch.comparisons)
            _copy_calibration_fit(batch, out)
    except BatchStopped as stop:
        with contextlib.suppress(store.StoreError):
            record("stopped", stopped_by=stop.signal_name, n_tasks_written=counts["written"])
        raise
    except store.StoreError as err:
        with contextlib.suppress(store.StoreError):  # the disk may still be full
            record("failed", error=str(err), n_tasks_written=counts["written"])
        raise
    record("failed" if failed else "complete")
    wall = time.perf_counter() - t0
    return BatchReport(out, reps, n_tasks, n_skipped, failed, wall, len(redone))
