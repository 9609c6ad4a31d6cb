"""Batch benchmark: speed-up of 2 local workers and a 2-worker Dask LocalCluster over 1 worker.

Runs the same batch (the Work Programme and its counterfactual) three ways in one
run and reports wall times, speed-ups and whether the outputs are bit-identical.
Target (issue 4): >= 1.7x on a 2-core machine.

Usage::

    python benchmarks/bench_batch.py [--claimants 20000] [--replications 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.parquet")):
        h.update(str(p.relative_to(folder)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main() -> None:
    """Run the batch three ways and print the figures."""
    from sim.batch import load_batch, run_batch

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claimants", type=int, default=20000)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--per-task", type=int, default=5000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
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
        walls, digests = {}, {}
        for label, kwargs in (
            ("1 worker", {"workers": 1}),
            ("2 local workers", {"workers": 2}),
            ("2-worker Dask LocalCluster", {"dask_local": 2}),
        ):
            out = tmp / label.replace(" ", "_")
            t0 = time.perf_counter()
            run_batch(batch, out, **kwargs)  # type: ignore[arg-type]
            walls[label] = time.perf_counter() - t0
            digests[label] = _digest(out)
    base = walls["1 worker"]
    result = {
        "claimants": args.claimants,
        "replications": args.replications,
        "tasks": len(batch.scenarios) * args.replications * -(-args.claimants // args.per_task),
        "wall_seconds": {k: round(v, 2) for k, v in walls.items()},
        "speedup_2_local_workers": round(base / walls["2 local workers"], 2),
        "speedup_2_worker_dask_local_cluster": round(base / walls["2-worker Dask LocalCluster"], 2),
        "outputs_bit_identical": len(set(digests.values())) == 1,
        "target_speedup": 1.7,
    }
    for k, v in result.items():
        print(f"{k:38s} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
