"""Batches: scenarios x replications, run as tasks on local processes or a Dask cluster.

This module is the runner: :func:`run_batch` prepares the output folder, writes the
manifest, runs the tasks and adds replications until an adaptive batch is precise
enough. The batch file is read by :mod:`sim.batch_spec`, cut into tasks by
:mod:`sim.tasks` and run by :mod:`sim.executors`; each imports only those before it.

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
again. A batch stopped by SIGTERM or SIGINT (:func:`sim.executors.stop_on_signals`)
keeps its finished tasks and says so in its manifest.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sim import store
from sim.batch_spec import Adaptive, Batch, BatchSpec, load_batch
from sim.executors import (
    BatchStopped,
    Outcome,
    run_dask,
    run_local,
    start_local_cluster,
    stop_on_signals,
)
from sim.outputs import git_revision, write_data_dictionary
from sim.scenario import scenario_hash
from sim.store import BatchStore
from sim.tasks import (
    Task,
    TaskOutput,
    expected_cost,
    longest_first,
    marker_path,
    plan_tasks,
    run_task,
    write_task,
)

# Besides its own names, sim.batch re-exports the public names it held before it was split
# (sim.batch_spec, sim.tasks, sim.executors), so that ``from sim.batch import ...`` works.
__all__ = [
    "Adaptive",
    "Batch",
    "BatchReport",
    "BatchSpec",
    "BatchStopped",
    "Outcome",
    "OutputConflict",
    "Task",
    "TaskOutput",
    "expected_cost",
    "load_batch",
    "longest_first",
    "plan_tasks",
    "prepare_out",
    "run_batch",
    "run_dask",
    "run_local",
    "run_task",
    "start_local_cluster",
    "stop_on_signals",
]


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
    shared_fs: bool,
    on_done: Callable[[Task, bool], None],
) -> list[tuple[Task, str]]:
    """Run ``tasks``; a worker that shares ``out`` with this process writes its own parts.

    Local workers and a local Dask cluster always share it; a remote scheduler's workers
    only when ``shared_fs`` says so (otherwise they send their parts back to be written
    here).

    Raises
    ------
    sim.store.StoreError
        If a part cannot be written, here or by a worker (e.g. no space left).
    """
    write_to = out.resolve() if scheduler is None or shared_fs else None
    if scheduler is not None or dask_local is not None:
        outcomes = run_dask(tasks, scheduler, dask_local, write_to)
    else:
        outcomes = run_local(tasks, workers, write_to)
    failed = []
    # closed on the way out, whatever stops the loop: the workers go with it
    with contextlib.closing(outcomes):
        for task, output, err in outcomes:
            if isinstance(err, store.StoreError):  # a worker could not write: stop here
                raise err
            if output is not None:
                if not output.written:
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
    shared_fs: bool = False,
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
    shared_fs : bool
        The workers of ``scheduler`` see ``out`` at the same path, so each writes its
        own parts; without it they send their parts back to be written here. Local
        workers and a LocalCluster always write their own.
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
    sim.executors.BatchStopped
        If a signal stopped the batch inside :func:`sim.executors.stop_on_signals`;
        finished tasks are kept, to be finished with ``resume=True``, and the manifest
        has status ``stopped``.
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
                shared_fs=shared_fs,
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
