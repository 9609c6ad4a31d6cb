"""Engine benchmark: claimant-runs per second, events per claimant, memory per claimant.

Reports, in one run on this machine:

* claimant-runs per second for the Work Programme scenario (one claimant through
  104 weeks plus 52 weeks of follow-up under one regime), median of ``--repeats``;
* simulation events per claimant (events scheduled in the SimPy Environments);
* the bare SimPy kernel's events per second (processes yielding timeouts, with as
  many live processes as the largest contract package area has claimants);
* the model's events per second and its ratio to the kernel's;
* peak memory per claimant (peak traced allocation during one run, measured with
  tracemalloc in a fresh subprocess).

Targets: >= 6,000 claimant-runs/s on one core and <= 1.5 KB per claimant (issue 13;
issue 3 set 5,000 and 2 KB), model events/s >= 60% of the bare kernel's (issue 3).

Usage::

    python benchmarks/bench_engine.py [--claimants 100000] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "work_programme.toml"


def kernel_events_per_second(n_processes: int, n_steps: int = 50) -> float:
    """Events per second of processes that only yield unit timeouts."""

    def proc(env: simpy.Environment) -> object:
        for _ in range(n_steps):
            yield env.timeout(1.0)

    env = simpy.Environment()
    for _ in range(n_processes):
        env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return n_processes * n_steps / (time.perf_counter() - t0)


def model_run(n_claimants: int, seed: int) -> tuple[float, int]:
    """Return (wall seconds of the simulation, events scheduled) for one run."""
    from sim.model import simulate
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    out = simulate(scenario, n_claimants, seed=seed)
    return out.wall_seconds, out.n_sim_events


def _memory_child(n_claimants: int) -> None:
    import tracemalloc

    from sim.model import simulate
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    simulate(scenario, 200, seed=0)  # warm imports and caches
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    out = simulate(scenario, n_claimants, seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    print(json.dumps({"peak_bytes": peak - base}))


def memory_per_claimant_bytes(n_claimants: int) -> float:
    """Peak traced allocation (Python objects and numpy arrays) per claimant during one run.

    Measured with tracemalloc in a fresh interpreter; it includes the population
    columns, the per-claimant lists, the live journeys of the area being simulated and
    the records, i.e. everything the run holds at its peak.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(n_claimants)],
        check=True,
        capture_output=True,
        text=True,
    )
    peak = json.loads(out.stdout.strip().splitlines()[-1])["peak_bytes"]
    return float(peak) / n_claimants


def main() -> None:
    """Run the benchmark and print (and optionally save) the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claimants", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child is not None:
        _memory_child(args.memory_child)
        return

    n = args.claimants
    model_run(2000, seed=0)  # warm-up
    walls, events = [], 0
    for r in range(args.repeats):
        wall, events = model_run(n, seed=1 + r)
        walls.append(wall)
    wall = statistics.median(walls)
    rate = n / wall
    per_claimant = events / n
    model_eps = events / wall
    largest_area = n // 18 + 1
    kernel = statistics.median(kernel_events_per_second(largest_area) for _ in range(args.repeats))
    mem = memory_per_claimant_bytes(n)
    result = {
        "claimants": n,
        "repeats": args.repeats,
        "claimant_runs_per_second": round(rate),
        "events_per_claimant": round(per_claimant, 2),
        "model_events_per_second": round(model_eps),
        "kernel_events_per_second": round(kernel),
        "model_to_kernel_ratio": round(model_eps / kernel, 3),
        "peak_memory_per_claimant_bytes": round(mem),
        "targets": {
            "claimant_runs_per_second": 6000,
            "model_to_kernel_ratio": 0.6,
            "peak_memory_per_claimant_bytes": 1536,
        },
    }
    for k, v in result.items():
        print(f"{k:34s} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
