"""Creaming, parking and spending under flat, actual and steep prices (issue 13).

Runs the calibrated Work Programme with each price list (scenarios/wp_flat_prices.toml,
calibrated/work_programme.toml, wp_steep_prices.toml), with the bid's planned headcount
and with headcount chosen from the margin, for a few paired replications, and prints:
the parked share, the gap in 24-month job outcome rates between the nearest and the
furthest signal quintile, adviser minutes per caseload week by quintile, and spending
per participant-year by contract year (means over replications, with 95% t intervals).

    python benchmarks/provider_prices.py --claimants 20000 --replications 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import polars as pl
from scipy import stats

import sim
from sim.scenario import load_scenario, override

ROOT = Path(__file__).resolve().parents[1]
PRICES = {
    "flat": ROOT / "scenarios" / "wp_flat_prices.toml",
    "actual": ROOT / "scenarios" / "calibrated" / "work_programme.toml",
    "steep": ROOT / "scenarios" / "wp_steep_prices.toml",
}
QUINTILES = [f"signal_q{q}" for q in range(1, 6)]


def _value(summary: pl.DataFrame, metric: str, group: str, horizon: int | None) -> float:
    sel = summary.filter((pl.col("metric") == metric) & (pl.col("group") == group))
    sel = sel.filter(
        pl.col("horizon_months").is_null()
        if horizon is None
        else pl.col("horizon_months") == horizon
    )
    return float(sel["value"][0]) if sel.height else math.nan


def _measures(summary: pl.DataFrame) -> dict[str, float]:
    out = {
        "parked_share": _value(summary, "parked_share", "all", None),
        "outcome_24m": _value(summary, "job_outcome_rate", "all", 24),
        "outcome_gap_q1_q5_pp": 100.0
        * (
            _value(summary, "job_outcome_rate", "signal_q1", 24)
            - _value(summary, "job_outcome_rate", "signal_q5", 24)
        ),
    }
    for q in QUINTILES:
        out[f"minutes_{q}"] = _value(summary, "adviser_minutes_per_caseload_week", q, None)
        out[f"parked_{q}"] = _value(summary, "parked_share", q, None)
    for year in (1, 2, 3):
        out[f"spend_year{year}_gbp"] = _value(
            summary, "spend_per_participant_year_gbp", "all", 12 * year
        )
    return out


def _mean_ci(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


def main() -> None:
    """Run every (prices, headcount) pair and print the measures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claimants", type=int, default=20_000)
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20110601)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--policy",
        default=None,
        help="providers.provider.policy for every run (default: the scenarios' own, mixed)",
    )
    args = parser.parse_args()
    rows = []
    for headcount in ("planned", "margin"):
        for prices, path in PRICES.items():
            changes: dict[str, object] = {"providers.economics.headcount": headcount}
            if args.policy is not None:
                changes["providers.provider.policy"] = args.policy
            sc = override(load_scenario(path), changes)
            per_rep = []
            t0 = time.perf_counter()
            for r in range(args.replications):
                res = sim.run(sc, n_claimants=args.claimants, seed=args.seed, replicate=r)
                per_rep.append(_measures(res.summary))
            row: dict[str, object] = {"headcount": headcount, "prices": prices}
            for key in per_rep[0]:
                mean, half = _mean_ci([m[key] for m in per_rep])
                row[key] = mean
                row[f"{key}_ci"] = half
            row["wall_seconds"] = time.perf_counter() - t0
            rows.append(row)
            print(
                f"{headcount:8s} {prices:7s} parked {row['parked_share']:.3f} "
                f"gap q1-q5 {row['outcome_gap_q1_q5_pp']:.1f} pp "
                f"(+/- {row['outcome_gap_q1_q5_pp_ci']:.1f}) outcome24 {row['outcome_24m']:.3f} "
                f"minutes q1..q5 "
                + " ".join(f"{row[f'minutes_{q}']:.1f}" for q in QUINTILES)
                + " spend/yr "
                + " ".join(f"{row[f'spend_year{y}_gbp']:.0f}" for y in (1, 2, 3)),
                flush=True,
            )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
