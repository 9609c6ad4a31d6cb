"""Batch benchmark: speed-up of 2 local workers and a 2-worker Dask LocalCluster over 1 worker.

Runs the same batch (the Work Programme and its counterfactual) three ways per round,
for several interleaved rounds, and reports median wall times, speed-ups and whether
the outputs of every run are bit-identical. Target (issue 4): >= 1.7x on a 2-core machine.

What is timed:

* ``1 worker``: ``run_batch(workers=1)``, tasks in this process.
* ``2 local workers``: ``run_batch(workers=2)``: this process and one spawned worker
  process, including starting it and its imports (this process works meanwhile).
* ``2-worker Dask, batch``: ``run_batch(scheduler=...)`` on a LocalCluster started just
  before, as for a user who points ``--scheduler`` at a running cluster. The workers
  are fresh, so this still includes their first import of the simulation code.
* ``2-worker Dask, cluster start-up``: starting that LocalCluster until both workers
  are connected, timed separately. ``--dask-local 2`` pays start-up plus batch.

The speed-up target applies to the batch times. Before each run the script waits (up to
``--max-wait`` seconds) while the 1-minute load average is above ``--max-load`` and records
the load it started at; it also records the CPU seconds each run used (this process, its
reaped children and, for Dask, the workers), so that a slow run on a busy machine can be
told from a run that did more work.

Usage::

    python benchmarks/bench_batch.py [--claimants 20000] [--replications 4] [--repeats 3]
                                     [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SERIAL = "1 worker"
LOCAL = "2 local workers"
DASK = "2-worker Dask LocalCluster, batch on the started cluster"
DASK_START = "2-worker Dask LocalCluster, cluster start-up"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.parquet")):
        h.update(str(p.relative_to(folder)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _load_1min() -> float:
    return round(os.getloadavg()[0], 2)


def _wait_for_quiet(max_load: float, max_wait_seconds: float) -> float:
    """Wait while the 1-minute load is above ``max_load`` (at most ``max_wait_seconds``)."""
    deadline = time.monotonic() + max_wait_seconds
    while _load_1min() > max_load and time.monotonic() < deadline:
        time.sleep(5.0)
    return _load_1min()


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished (reaped) children."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _worker_cpu_seconds(client: Any) -> float:
    """Total CPU time of a Dask cluster's worker processes so far."""
    return float(sum(client.run(time.process_time).values()))


def main() -> None:
    """Run the batch three ways per round and print the figures."""
    from distributed import Client

    from sim.batch import run_batch
    from sim.batch_spec import load_batch
    from sim.executors import start_local_cluster
    from sim.tasks import plan_tasks

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claimants", type=int, default=20000)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--per-task", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--max-load", type=float, default=0.7, help="wait before each run while load is higher"
    )
    ap.add_argument("--max-wait", type=float, default=120.0, help="seconds, per run")
    args = ap.parse_args()
    walls: dict[str, list[float]] = {SERIAL: [], LOCAL: [], DASK: [], DASK_START: []}
    loads: dict[str, list[float]] = {k: [] for k in walls}
    cpus: dict[str, list[float]] = {SERIAL: [], LOCAL: [], DASK: []}
    digests: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        batch_file = tmp / "batch.toml"
        batch_file.write_text(
            'name = "bench"\n'
            f'scenarios = ["{ROOT / "scenarios/work_programme.toml"}", '
            f'"{ROOT / "scenarios/jcp_offer.toml"}"]\n'
            'baseline = "jcp_offer"\n'
            f"replications = {args.replications}\nclaimants = {args.claimants}\n"
            f"seed = 1\nclaimants_per_task = {args.per_task}\n"
        )
        batch = load_batch(batch_file)
        n_tasks = len(plan_tasks(batch, range(args.replications)))
        for i in range(args.repeats):
            for label, kwargs in ((SERIAL, {"workers": 1}), (LOCAL, {"workers": 2})):
                out = tmp / f"{label.replace(' ', '_')}_{i}"
                loads[label].append(_wait_for_quiet(args.max_load, args.max_wait))
                c0, t0 = _cpu_seconds(), time.perf_counter()
                run_batch(batch, out, **kwargs)
                walls[label].append(time.perf_counter() - t0)
                cpus[label].append(_cpu_seconds() - c0)
                digests.add(_digest(out))
            loads[DASK_START].append(_wait_for_quiet(args.max_load, args.max_wait))
            t0 = time.perf_counter()
            cluster = start_local_cluster(2)
            client = Client(cluster)
            try:
                client.wait_for_workers(2)
                walls[DASK_START].append(time.perf_counter() - t0)
                out = tmp / f"dask_{i}"
                loads[DASK].append(_load_1min())
                c0, w0, t0 = _cpu_seconds(), _worker_cpu_seconds(client), time.perf_counter()
                run_batch(batch, out, scheduler=cluster.scheduler_address)
                walls[DASK].append(time.perf_counter() - t0)
                cpus[DASK].append(_cpu_seconds() - c0 + _worker_cpu_seconds(client) - w0)
                digests.add(_digest(out))
            finally:
                client.close()
                cluster.close()
            print(
                f"round {i + 1}: "
                + ", ".join(f"{k.split(',')[-1].strip()} {v[-1]:.2f} s" for k, v in walls.items()),
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in walls.items()}
    result: dict[str, Any] = {
        "claimants": args.claimants,
        "replications": args.replications,
        "tasks": n_tasks,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "median_wall_seconds": {k: round(v, 2) for k, v in med.items()},
        "speedup_2_local_workers": round(med[SERIAL] / med[LOCAL], 2),
        "speedup_2_worker_dask_batch": round(med[SERIAL] / med[DASK], 2),
        "speedup_2_worker_dask_including_start_up": round(
            med[SERIAL] / (med[DASK] + med[DASK_START]), 2
        ),
        "outputs_bit_identical": len(digests) == 1,
        "target_speedup": 1.7,
        "wall_seconds_per_round": {k: [round(x, 2) for x in v] for k, v in walls.items()},
        "cpu_seconds_per_round": {k: [round(x, 2) for x in v] for k, v in cpus.items()},
        "load_1min_before_each_run": loads,
    }
    for k, v in result.items():
        print(f"{k:42s} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
