"""Scale benchmark: the Work Programme's whole referral volume with its counterfactual.

Runs ``batches/work_programme.toml`` at 1,950,000 referrals (WP18) per replication, the
programme and its Jobcentre Plus counterfactual paired, on 2 local workers, for 1 and for 3
replications, and records for each the wall time and the runner's peak resident memory
(this process: it plans, receives the workers' parts, writes them and computes the
estimates; the spawned workers are separate processes). Targets (issue 15): the runner
below 1.5 GB at 3 replications, and 1 replication in at most 5 minutes on 2 cores.

Each replication count runs in a fresh Python process, so the peak of one does not carry
into the next.

Usage::

    python benchmarks/bench_scale.py [--claimants 1950000] [--replications 1 3]
                                     [--workers 2] [--json benchmarks/bench_scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"runner_peak_rss_gb_at_3": 1.5, "wall_seconds_at_1": 300.0}


def _one(claimants: int, replications: int, workers: int) -> dict[str, Any]:
    """Run the batch in this process and return its wall time and this process's peak RSS."""
    from sim.batch import run_batch
    from sim.batch_spec import load_batch

    batch = load_batch(
        ROOT / "batches" / "work_programme.toml",
        {"claimants": claimants, "replications": replications},
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_batch(batch, Path(tmp) / "out", workers=workers)
        wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "claimants": claimants,
        "replications": replications,
        "workers": workers,
        "wall_seconds": round(wall, 1),
        "runner_peak_rss_gb": round(peak_kb / 1024**2, 3),
        "load_1min_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claimants", type=int, default=1_950_000)
    parser.add_argument("--replications", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # the child process: one replication count
        print(json.dumps(_one(args.claimants, args.one, args.workers)))
        return
    runs = []
    for r in args.replications:
        cmd = [sys.executable, __file__, "--claimants", str(args.claimants)]
        cmd += ["--workers", str(args.workers), "--one", str(r)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]))
    result = {"benchmark": "bench_scale", "targets": TARGETS, "runs": runs}
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
