"""Golden regression: the Work Programme summary for 2000 claimants, seed 7.

Any change to the engine that moves any summary value by more than 1e-9 (relative)
fails this test. When the change is intended, regenerate the file with
``PBRSIM_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` and commit it
with the change that explains it.
"""

from __future__ import annotations

import math
import os

import polars as pl
import pytest
from conftest import ROOT, WP_PATH

import sim

GOLDEN = ROOT / "tests" / "data" / "golden_summary.csv"
KEYS = ["metric", "group", "horizon_months"]
SCHEMA = {"metric": pl.Utf8, "group": pl.Utf8, "horizon_months": pl.Int64, "value": pl.Float64}
N, SEED = 2000, 7


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.fixture(scope="module")
def summary() -> pl.DataFrame:
    return sim.run(WP_PATH, n_claimants=N, seed=SEED).summary.select([*KEYS, "value"])


def test_golden_summary(summary):
    if not GOLDEN.exists() or os.environ.get("PBRSIM_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        summary.write_csv(GOLDEN)
    golden = pl.read_csv(GOLDEN, schema=SCHEMA)
    assert golden.height == summary.height > 100
    keyed = golden.join(summary, on=KEYS, how="full", nulls_equal=True, suffix="_now")
    missing = keyed.filter(pl.col("metric").is_null() | pl.col("metric_now").is_null())
    assert missing.height == 0, f"rows added or removed:\n{missing}"
    bad = [row for row in keyed.iter_rows(named=True) if not _same(row["value"], row["value_now"])]
    assert not bad, "summary moved from the golden file:\n" + "\n".join(
        f"  {r['metric']} / {r['group']} / {r['horizon_months']}: {r['value']!r} -> "
        f"{r['value_now']!r}"
        for r in bad[:30]
    )


def test_golden_file_round_trips_exactly(summary, tmp_path):
    """The CSV keeps every value bit for bit (so 1e-9 is a real tolerance, not rounding)."""
    path = tmp_path / "s.csv"
    summary.write_csv(path)
    back = pl.read_csv(path, schema=SCHEMA)
    assert back.equals(summary)
