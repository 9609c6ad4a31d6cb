"""Executors: run tasks in local processes or on a Dask cluster, and stop on a signal.

:func:`run_local` and :func:`run_dask` take the same tasks and yield the same
:data:`Outcome` for each, a task's output or its failure, in the order they finish;
what a task outputs does not depend on where it ran. They write nothing: the caller
writes each output as it comes (:func:`sim.tasks.write_task`). Within
:func:`stop_on_signals`, SIGTERM or SIGINT raises :class:`BatchStopped` wherever the
batch is, and the executors shut their workers down on the way out.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from sim.tasks import Task, TaskOutput, longest_first, run_task

__all__ = [
    "QUIET_DASK_CONFIG",
    "BatchStopped",
    "Outcome",
    "Outcomes",
    "run_dask",
    "run_local",
    "start_local_cluster",
    "stop_on_signals",
]

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


def _run_here(task: Task, out: str | None = None) -> Outcome:
    try:
        return task, run_task(task, out), None
    except Exception as err:  # a failed task is reported, the batch goes on
        return task, None, err


def run_local(tasks: Sequence[Task], workers: int, write_to: Path | None = None) -> Outcomes:
    """Run tasks in this process and ``workers - 1`` spawned worker processes.

    With ``write_to`` (a batch output folder) each worker writes its task's parts and
    marker there itself (:func:`sim.tasks.run_task`) and sends back only numbers.

    This process is one of the workers: it starts on the longest task at once, while
    the spawned workers start up and import the simulation (about a second each),
    so no core waits for them. All workers take the next task, longest first, from
    one shared queue as they free up, and the spawned ones are never handed more
    than they are running, so the batch ends evenly. Outputs do not depend on
    which process ran a task.
    """
    out = None if write_to is None else str(write_to)
    if workers <= 1:
        for task in tasks:
            yield _run_here(task, out)
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
                future = pool.submit(run_task, task, out)
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
            yield finished.get() if here is None else _run_here(here, out)


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


def run_dask(
    tasks: Sequence[Task],
    scheduler: str | None,
    n_local: int | None,
    write_to: Path | None = None,
) -> Outcomes:
    """Run tasks on a Dask cluster: an existing one at ``scheduler`` or a LocalCluster.

    With ``write_to`` (a batch output folder at the same path on every worker: a local
    cluster's, or a shared file system) each worker writes its task's parts there itself.
    """
    from distributed import Client, as_completed

    cluster = start_local_cluster(n_local or 1) if scheduler is None else None
    client = Client(cluster if cluster is not None else scheduler)
    try:
        # submitted longest first; Dask runs a client's tasks in submission order
        out = None if write_to is None else str(write_to)
        futures = {client.submit(run_task, t, out, pure=False): t for t in longest_first(tasks)}
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
