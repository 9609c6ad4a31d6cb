"""Estimates from a batch folder: replicate summaries, paired impacts and their intervals.

One small batch (work_programme, jcp_offer and a null reform ``wp_copy``; 4
replicates of 1500 claimants, each run in two shards of areas) is built once per
session in the layout :mod:`sim.batch` writes.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import sim
from sim.contract import DAYS_PER_MONTH
from sim.estimates import (
    EFFECTS,
    NOTE_OUTCOMES_FELL,
    NOTE_OUTCOMES_UNCLEAR,
    NOTE_TOO_FEW,
    compare,
    comparison_dir,
    fieller_interval,
    paired_impacts,
    replicate_impacts,
    replicate_summaries,
    summary_over_replicates,
    t_interval,
    write_estimates,
)
from sim.metrics import summarise
from sim.scenario import load_scenario, override

ROOT = Path(__file__).resolve().parents[1]
N_CLAIMANTS = 1500
SEED = 11
REPLICATES = range(4)
SHARDS = (range(0, 9), range(9, 18))
BASE = "jcp_offer"
WP = "work_programme"
COPY = "wp_copy"
LEVEL_EFFECTS = [
    "job_outcome_rate",
    "days_in_work",
    "days_on_benefit",
    "n_sanctions",
    "payments_gbp",
    "benefit_savings_gbp",
    "additional_outcomes_per_1000",
]
RATIO_EFFECTS = [
    "deadweight_share",
    "additionality",
    "cost_per_additional_outcome_gbp",
    "net_cost_per_additional_outcome_gbp",
]


def _write(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, compression="zstd", statistics=False)


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch folder with two shards per (scenario, replicate) and a manifest."""
    out = tmp_path_factory.mktemp("batch")
    wp = load_scenario(ROOT / "scenarios" / "work_programme.toml")
    scenarios = [
        wp,
        load_scenario(ROOT / "scenarios" / "jcp_offer.toml"),
        override(wp, {"name": COPY}),
    ]
    for sc in scenarios:
        for r in REPLICATES:
            part = f"scenario={sc.name}/replicate={r}"
            for k, areas in enumerate(SHARDS):
                res = sim.run(sc, n_claimants=N_CLAIMANTS, seed=SEED, replicate=r, areas=areas)
                _write(res.ledger, out / "ledger" / part / f"part-{k:03d}.parquet")
                # the JCP regime has no providers: an empty frame, as sim.batch writes it
                _write(res.providers, out / "providers" / part / f"part-{k:03d}.parquet")
    manifest = {
        "baseline": BASE,
        "scenarios": {
            sc.name: {"hash": "x", "parked_gap_days": sc.records.parked_gap_days}
            for sc in scenarios
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.fixture(scope="session")
def impacts(batch: Path) -> pl.DataFrame:
    return paired_impacts(batch, BASE)


@pytest.fixture(scope="session")
def per_replicate(batch: Path) -> pl.DataFrame:
    return replicate_impacts(batch, BASE)


def _ledger(out: Path, scenario: str, replicate: int) -> pl.DataFrame:
    folder = out / "ledger" / f"scenario={scenario}" / f"replicate={replicate}"
    return pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))]).sort(
        "claimant_id"
    )


def _one(df: pl.DataFrame, column: str = "mean", **keys: object) -> float | None:
    for k, v in keys.items():
        df = df.filter(pl.col(k).is_null() if v is None else pl.col(k) == v)
    assert df.height == 1, (keys, df)
    value = df[column][0]
    return None if value is None else float(value)


def _num(df: pl.DataFrame, column: str = "mean", **keys: object) -> float:
    value = _one(df, column, **keys)
    assert value is not None, (column, keys)
    return value


# --------------------------------------------------------------------------- summaries


def test_replicate_summaries_equal_the_unsharded_run(batch: Path) -> None:
    rep = replicate_summaries(batch)
    assert rep.columns == ["scenario", "replicate", "metric", "group", "horizon_months", "value"]
    assert set(rep["scenario"]) == {WP, BASE, COPY}
    assert set(rep["replicate"]) == set(REPLICATES)
    for scenario, path in ((WP, "work_programme.toml"), (BASE, "jcp_offer.toml")):
        whole = sim.run(ROOT / "scenarios" / path, n_claimants=N_CLAIMANTS, seed=SEED, replicate=2)
        got = rep.filter((pl.col("scenario") == scenario) & (pl.col("replicate") == 2)).drop(
            "scenario", "replicate"
        )
        # same rows; values equal up to the order of floating-point sums (polars sums
        # chunk by chunk, and the unsharded provider frame is a concat of 40 chunks)
        _assert_same_summary(got, whole.summary)
        direct = summarise(whole.ledger, whole.providers, parked_gap_days=56.0)
        _assert_same_summary(got, direct)


def _assert_same_summary(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    keys = ["metric", "group", "horizon_months"]
    assert got.select(keys).equals(expected.select(keys))
    a, b = got["value"].to_list(), expected["value"].to_list()
    for key, x, y in zip(got.select(keys).iter_rows(), a, b, strict=True):
        if x is None or y is None or math.isnan(x) or math.isnan(y):
            assert (x is None or math.isnan(x)) == (y is None or math.isnan(y)), key
        else:
            assert x == pytest.approx(y, rel=1e-12, abs=1e-12), key


def test_parked_gap_days_by_scenario(batch: Path) -> None:
    gaps = {WP: 28.0, BASE: 56.0, COPY: 56.0}
    rep = replicate_summaries(batch, gaps)
    parked = rep.filter((pl.col("metric") == "parked_share") & (pl.col("group") == "all"))
    wp_short = parked.filter(pl.col("scenario") == WP)["value"]
    wp_long = parked.filter(pl.col("scenario") == COPY)["value"]
    assert (wp_short >= wp_long).all() and (wp_short > wp_long).any()
    with pytest.raises(ValueError, match="wp_copy"):
        replicate_summaries(batch, {WP: 56.0, BASE: 56.0})


def test_summary_over_replicates(batch: Path) -> None:
    rep = replicate_summaries(batch)
    summ = summary_over_replicates(rep)
    assert summ.columns == [
        "scenario",
        "metric",
        "group",
        "horizon_months",
        "n_replicates",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
    ]
    vals = rep.filter(
        (pl.col("scenario") == WP)
        & (pl.col("metric") == "job_outcome_rate")
        & (pl.col("group") == "all")
        & (pl.col("horizon_months") == 24)
    )["value"].to_numpy()
    keys = {"scenario": WP, "metric": "job_outcome_rate", "group": "all", "horizon_months": 24}
    assert _one(summ, "n_replicates", **keys) == 4
    assert _one(summ, "mean", **keys) == pytest.approx(vals.mean(), rel=1e-12)
    assert _one(summ, "sd", **keys) == pytest.approx(vals.std(ddof=1), rel=1e-12)
    lo, hi = stats.t.interval(0.95, 3, loc=vals.mean(), scale=vals.std(ddof=1) / 2.0)
    assert _one(summ, "ci_low", **keys) == pytest.approx(lo, rel=1e-12)
    assert _one(summ, "ci_high", **keys) == pytest.approx(hi, rel=1e-12)
    # the JCP regime has no provider metrics; the programme has them for every replicate
    margin = summ.filter((pl.col("metric") == "provider_margin_gbp") & (pl.col("group") == "all"))
    assert set(margin["scenario"]) == {WP, COPY}
    assert (margin["n_replicates"] == 4).all()


# --------------------------------------------------------------------------- intervals


def test_t_interval_matches_scipy() -> None:
    rep = pl.DataFrame(
        {
            "scenario": ["a"] * 5 + ["b"] * 3 + ["c"] + ["d"] * 4,
            "replicate": [0, 1, 2, 3, 4, 0, 1, 2, 0, 0, 1, 2, 3],
            "metric": ["m"] * 13,
            "group": ["all"] * 13,
            "horizon_months": pl.Series([None] * 13, dtype=pl.Int64),
            "value": [1.0, 2.5, 0.3, 4.0, 2.2, 10.0, 10.5, 9.0, 7.0, 3.0, 3.0, 3.0, 3.0],
        }
    )
    summ = summary_over_replicates(rep, level=0.9)
    for name, n in (("a", 5), ("b", 3)):
        x = rep.filter(pl.col("scenario") == name)["value"].to_numpy()
        lo, hi = stats.t.interval(0.9, n - 1, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(n))
        assert _one(summ, "n_replicates", scenario=name) == n
        assert _one(summ, "ci_low", scenario=name) == pytest.approx(lo, rel=1e-12)
        assert _one(summ, "ci_high", scenario=name) == pytest.approx(hi, rel=1e-12)
    # one replicate: no sd, no interval
    assert _one(summ, "mean", scenario="c") == 7.0
    assert _one(summ, "sd", scenario="c") is None
    assert _one(summ, "ci_low", scenario="c") is None
    # no spread: a degenerate interval
    assert _one(summ, "ci_low", scenario="d") == 3.0
    assert _one(summ, "ci_high", scenario="d") == 3.0
    lo, hi = t_interval([1.0], [2.0], [10], 0.99)
    expected = stats.t.interval(0.99, 9, loc=1.0, scale=2.0 / math.sqrt(10))
    assert (lo[0], hi[0]) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="level"):
        summary_over_replicates(rep, level=1.0)
    with pytest.raises(ValueError, match="value"):
        summary_over_replicates(rep.drop("value"))


# --------------------------------------------------------------------------- impacts


def test_impact_frame_shape(impacts: pl.DataFrame) -> None:
    assert impacts.columns == [
        "scenario",
        "baseline",
        "effect",
        "group",
        "horizon_months",
        "n_replicates",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "unpaired_ci_low",
        "unpaired_ci_high",
        "note",
    ]
    assert set(impacts["scenario"]) == {WP, COPY}
    assert set(impacts["baseline"]) == {BASE}
    assert set(impacts["effect"]) == set(EFFECTS)
    groups = set(impacts["group"])
    quintiles = {f"distance_q{k}" for k in range(1, 6)}
    assert quintiles | {"all", "jsa_25_plus", "esa_ex_ib"} <= groups
    wp = impacts.filter(pl.col("scenario") == WP)
    assert wp.height == len(groups) * (len(EFFECTS) + 1)  # two horizons of the outcome rate
    horizons = wp.filter(pl.col("effect") == "job_outcome_rate")["horizon_months"]
    assert sorted(set(horizons)) == [12, 24]
    ratio = impacts.filter(pl.col("effect").is_in(RATIO_EFFECTS))
    assert ratio["unpaired_ci_low"].null_count() == ratio.height
    level = wp.filter(pl.col("effect").is_in(LEVEL_EFFECTS) & (pl.col("group") == "all"))
    assert level["unpaired_ci_low"].null_count() == 0


def test_paired_interval_is_narrower_than_unpaired(impacts: pl.DataFrame) -> None:
    """Acceptance test: impact CIs are paired, narrower than unpaired ones from the same runs."""
    keys = {"scenario": WP, "effect": "job_outcome_rate", "group": "all", "horizon_months": 24}
    paired = _num(impacts, "ci_high", **keys) - _num(impacts, "ci_low", **keys)
    unpaired = _num(impacts, "unpaired_ci_high", **keys) - _num(impacts, "unpaired_ci_low", **keys)
    assert 0.0 < paired < unpaired
    mean = _one(impacts, **keys)
    assert mean is not None and mean > 0.0  # the programme raises outcomes
    for col in ("ci_low", "unpaired_ci_low"):
        assert _num(impacts, col, **keys) < mean


def test_unpaired_interval_is_welch_on_levels(
    impacts: pl.DataFrame, per_replicate: pl.DataFrame
) -> None:
    sel = per_replicate.filter(
        (pl.col("scenario") == WP)
        & (pl.col("effect") == "days_in_work")
        & (pl.col("group") == "all")
    )
    xs = sel["level_scenario"].to_numpy()
    xb = sel["level_baseline"].to_numpy()
    a, b = xs.var(ddof=1) / 4, xb.var(ddof=1) / 4
    df = (a + b) ** 2 / (a**2 / 3 + b**2 / 3)
    d = sel["value"].to_numpy()
    half = stats.t.ppf(0.975, df) * math.sqrt(a + b)
    keys = {"scenario": WP, "effect": "days_in_work", "group": "all", "horizon_months": None}
    assert _one(impacts, **keys) == pytest.approx(d.mean(), rel=1e-12)
    assert _one(impacts, "unpaired_ci_low", **keys) == pytest.approx(d.mean() - half, rel=1e-9)
    assert _one(impacts, "unpaired_ci_high", **keys) == pytest.approx(d.mean() + half, rel=1e-9)


def test_null_reform_has_exactly_zero_effects(batch: Path, impacts: pl.DataFrame) -> None:
    """A copy of the programme under another name, against the programme, changes nothing."""
    null = paired_impacts(batch, WP).filter(pl.col("scenario") == COPY)
    assert set(null["baseline"]) == {WP}
    groups = set(null["group"])
    assert {"all", "distance_q1", "distance_q5", "jsa_18_24", "esa_ex_ib"} <= groups
    diffs = null.filter(pl.col("effect").is_in(LEVEL_EFFECTS))
    assert diffs.height == len(groups) * (len(LEVEL_EFFECTS) + 1)  # two outcome horizons
    assert (diffs["n_replicates"] == 4).all()
    assert (diffs["mean"] == 0.0).all() and (diffs["sd"] == 0.0).all()
    assert (diffs["ci_low"] == 0.0).all() and (diffs["ci_high"] == 0.0).all()
    # the unpaired interval is not degenerate: the levels vary between replicates
    level = diffs.filter(pl.col("group") == "all")
    assert (level["unpaired_ci_low"] < 0.0).all() and (level["unpaired_ci_high"] > 0.0).all()
    dead = null.filter(pl.col("effect") == "deadweight_share")
    add = null.filter(pl.col("effect") == "additionality")
    defined = dead.filter(pl.col("mean").is_not_null())
    assert defined.height >= len(groups) - 1  # a tiny group may have no outcome at all
    assert (defined["mean"] == 1.0).all() and (defined["sd"].fill_null(0.0) == 0.0).all()
    assert add.filter(pl.col("mean").is_not_null())["mean"].to_list() == [0.0] * defined.height
    # no change in outcomes at all: no cost per additional outcome, and the note says why
    cost = null.filter(pl.col("effect").str.contains("cost_per"))
    assert cost["mean"].null_count() == cost.height and cost["ci_low"].null_count() == cost.height
    assert set(cost["note"]) == {NOTE_OUTCOMES_UNCLEAR}
    # and against the JCP baseline the copy has exactly the programme's impacts
    wp_rows = impacts.filter(pl.col("scenario") == WP).drop("scenario")
    copy_rows = impacts.filter(pl.col("scenario") == COPY).drop("scenario")
    assert wp_rows.equals(copy_rows)


def test_deadweight_and_additionality_by_hand(batch: Path, per_replicate: pl.DataFrame) -> None:
    r = 1
    h = 24 * DAYS_PER_MONTH

    def outcomes(scenario: str) -> pl.DataFrame:
        df = _ledger(batch, scenario, r)
        hit = ((df["outcome_at"] - df["referred_at"]) <= h).fill_null(False)
        return df.select("claimant_id", "group", "distance").with_columns(hit=hit)

    s, b = outcomes(WP), outcomes(BASE)
    joined = s.join(b.select("claimant_id", hit_b="hit"), on="claimant_id")
    assert joined.height == N_CLAIMANTS
    n_s = int(joined["hit"].sum())
    n_b = int(joined["hit_b"].sum())
    n_both = int((joined["hit"] & joined["hit_b"]).sum())
    rep = per_replicate.filter((pl.col("scenario") == WP) & (pl.col("replicate") == r))
    assert _one(rep, "value", effect="deadweight_share", group="all") == pytest.approx(n_both / n_s)
    assert _one(rep, "value", effect="additionality", group="all") == pytest.approx(
        (n_s - n_b) / n_s
    )
    assert _one(rep, "value", effect="additional_outcomes_per_1000", group="all") == pytest.approx(
        1000.0 * (n_s - n_b) / N_CLAIMANTS
    )
    # one payment group and one distance quintile (quintiles of the baseline's distance)
    g = joined.filter(pl.col("group") == "jsa_25_plus")
    assert _one(rep, "value", effect="deadweight_share", group="jsa_25_plus") == pytest.approx(
        (g["hit"] & g["hit_b"]).sum() / g["hit"].sum()
    )
    nearest = joined.sort("distance").head(N_CLAIMANTS // 5)
    assert _one(rep, "value", effect="additionality", group="distance_q1") == pytest.approx(
        (nearest["hit"].sum() - nearest["hit_b"].sum()) / nearest["hit"].sum()
    )
    assert 0.0 < n_both / n_s < 1.0 and n_s > n_b


def test_costs_and_benefit_savings_by_hand(batch: Path, per_replicate: pl.DataFrame) -> None:
    r = 3
    h = 24 * DAYS_PER_MONTH
    s, b = _ledger(batch, WP, r), _ledger(batch, BASE, r)
    assert s["claimant_id"].equals(b["claimant_id"])

    def rate(df: pl.DataFrame) -> float:
        return float(
            ((df["outcome_at"] - df["referred_at"]) <= h).fill_null(False).to_numpy().mean()
        )

    pay = float(s["payments_gbp"].to_numpy().mean())
    benefit_b = float(b["benefit_paid_gbp"].to_numpy().mean())
    savings = benefit_b - float(s["benefit_paid_gbp"].to_numpy().mean())
    d = rate(s) - rate(b)
    rep = per_replicate.filter(
        (pl.col("scenario") == WP) & (pl.col("replicate") == r) & (pl.col("group") == "all")
    )
    assert d > 0
    assert _one(rep, "value", effect="payments_gbp") == pytest.approx(pay, rel=1e-9)
    assert _one(rep, "value", effect="cost_per_additional_outcome_gbp") == pytest.approx(
        pay / d, rel=1e-9
    )
    assert _one(rep, "value", effect="net_cost_per_additional_outcome_gbp") == pytest.approx(
        (pay - savings) / d, rel=1e-9
    )
    assert _one(rep, "value", effect="benefit_savings_gbp") == pytest.approx(savings, rel=1e-9)
    # more work means less benefit: the programme saves benefit when it raises employment
    assert _num(rep, "value", effect="days_in_work") > 0
    assert savings > 0
    assert _one(rep, "level_baseline", effect="benefit_savings_gbp") == pytest.approx(
        benefit_b, rel=1e-12
    )


def test_cost_is_null_when_outcomes_do_not_rise(per_replicate: pl.DataFrame) -> None:
    d = per_replicate.filter(
        (pl.col("scenario") == WP) & (pl.col("effect") == "additional_outcomes_per_1000")
    ).select("replicate", "group", d="value")
    cost = per_replicate.filter(
        (pl.col("scenario") == WP) & (pl.col("effect") == "cost_per_additional_outcome_gbp")
    ).join(d, on=["replicate", "group"])
    assert (cost.filter(pl.col("d") <= 0)["value"].null_count()) == cost.filter(
        pl.col("d") <= 0
    ).height
    assert cost.filter(pl.col("d") > 0)["value"].null_count() == 0


# --------------------------------------------------------------------------- compare


def test_estimates_are_written_deterministically(batch: Path, tmp_path: Path) -> None:
    names = ["impacts.parquet", "impacts.csv", "summary.parquet", "summary.csv"]
    per_baseline = [
        f"compare/baseline={b}/impacts.{ext}" for b in (BASE, WP) for ext in ("parquet", "csv")
    ]
    outputs = []
    for k in range(2):
        copy = tmp_path / f"copy{k}"
        shutil.copytree(batch, copy)
        by_baseline, summary = write_estimates(copy, [BASE, WP])
        impacts = by_baseline[BASE]
        for name in names + per_baseline:
            assert (copy / name).exists(), name
        assert not list(copy.rglob(".*tmp*"))
        assert pl.read_parquet(copy / "impacts.parquet").equals(impacts)
        assert pl.read_parquet(comparison_dir(copy, WP) / "impacts.parquet").equals(by_baseline[WP])
        assert set(by_baseline[WP]["baseline"]) == {WP}
        assert pl.read_parquet(copy / "summary.parquet").equals(summary)
        # the primary baseline's impacts, twice: same bytes in both places
        for ext in ("parquet", "csv"):
            assert (copy / f"impacts.{ext}").read_bytes() == (
                comparison_dir(copy, BASE) / f"impacts.{ext}"
            ).read_bytes()
        outputs.append({name: (copy / name).read_bytes() for name in names + per_baseline})
    assert outputs[0] == outputs[1]
    # sorted by the keys
    assert impacts.equals(
        impacts.sort(["scenario", "baseline", "effect", "group", "horizon_months"], nulls_last=True)
    )
    assert summary.equals(
        summary.sort(["scenario", "metric", "group", "horizon_months"], nulls_last=True)
    )


def test_impacts_are_identical_on_repeated_calls(batch: Path, impacts: pl.DataFrame) -> None:
    """Reductions run in row order, so no thread scheduling can change a last bit."""
    for _ in range(3):
        assert paired_impacts(batch, BASE).equals(impacts)


def test_compare_bad_baseline(batch: Path) -> None:
    with pytest.raises(ValueError, match="no_such_scenario") as err:
        compare(batch, "no_such_scenario")
    for name in (WP, BASE, COPY):
        assert name in str(err.value)
    assert not (batch / "impacts.parquet").exists()
    assert not (batch / "compare").exists()


def test_compare_leaves_the_batch_estimates_alone(batch: Path, tmp_path: Path) -> None:
    """Another baseline's impacts go to their own folder; the batch's files keep their bytes."""
    out = tmp_path / "out"
    shutil.copytree(batch, out)
    write_estimates(out, [BASE])
    own = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    impacts = compare(out, WP)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == own
    assert set(pl.read_parquet(out / "impacts.parquet")["baseline"]) == {BASE}
    written = pl.read_parquet(comparison_dir(out, WP) / "impacts.parquet")
    assert written.equals(impacts) and set(written["baseline"]) == {WP}
    assert comparison_dir(out, WP) == out / "compare" / f"baseline={WP}"


def test_compare_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no ledger partitions") as err:
        compare(tmp_path, BASE)
    assert str(tmp_path) in str(err.value)
    (tmp_path / "ledger").mkdir()
    with pytest.raises(ValueError, match=str(tmp_path)):
        paired_impacts(tmp_path, BASE)


def test_unpaired_runs_are_refused(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(batch, out)
    part = out / "ledger" / f"scenario={WP}" / "replicate=0" / "part-001.parquet"
    part.unlink()
    with pytest.raises(ValueError, match="not those of the baseline"):
        paired_impacts(out, BASE)


def test_runs_sharded_differently_are_paired_as_wholes(batch: Path, tmp_path: Path) -> None:
    """Shards are paired shard by shard when both runs have the same shards; a scenario whose
    run was sharded otherwise (here: in one part) is paired as a whole, with the same result."""
    out = tmp_path / "out"
    shutil.copytree(batch, out)
    for r in REPLICATES:
        folder = out / "ledger" / f"scenario={WP}" / f"replicate={r}"
        parts = sorted(folder.glob("part-*.parquet"))
        whole = pl.concat([pl.read_parquet(p) for p in parts])
        for p in parts:
            p.unlink()
        _write(whole, folder / "part-000.parquet")
    got = replicate_impacts(out, BASE).filter(pl.col("scenario") == WP)
    want = replicate_impacts(batch, BASE).filter(pl.col("scenario") == WP)
    assert got.height == want.height > 0
    for a, b in zip(got["value"].to_list(), want["value"].to_list(), strict=True):
        assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@given(
    df=st.floats(min_value=0.05, max_value=1e7, allow_nan=False),
    level=st.floats(min_value=0.01, max_value=0.999),
)
def test_t_quantile_is_scipy_stats_t_ppf_bit_for_bit(df, level):
    import numpy as np

    from sim.estimates import _t_quantile

    p = 0.5 + level / 2.0
    ours = _t_quantile(p, np.array([df]))
    assert np.array_equal(ours, np.asarray([stats.t.ppf(p, df)]))


# --------------------------------------------------------------------------- cost ratios
# A hand-built batch of 10 claimants and 3 replicates: the baseline is a programme that
# spends £1,000 per referral; a reform spends more and changes the number of claimants
# with a 24-month job outcome by a known count in each replicate.

HAND_N = 10
HAND_REPS = (0, 1, 2)


def hand_ledger(n_outcomes: int, pay_gbp: float, benefit_gbp: float) -> pl.DataFrame:
    """``HAND_N`` claimants; the first ``n_outcomes`` have a job outcome 100 days in."""
    ids = list(range(HAND_N))
    return pl.DataFrame(
        {
            "claimant_id": ids,
            "group": ["g"] * HAND_N,
            "distance": [i / 10 for i in ids],
            "referred_at": [0.0] * HAND_N,
            "outcome_at": [100.0 if i < n_outcomes else None for i in ids],
            "days_in_work": [0.0] * HAND_N,
            "days_on_benefit": [0.0] * HAND_N,
            "n_sanctions": [0] * HAND_N,
            "payments_gbp": [pay_gbp] * HAND_N,
            "intervention_cost_gbp": [0.0] * HAND_N,
            "benefit_paid_gbp": [benefit_gbp] * HAND_N,
        },
        schema_overrides={"outcome_at": pl.Float64},
    )


def hand_batch(out: Path, runs: dict[str, list[tuple[int, float, float]]]) -> Path:
    """Write ``runs[scenario][r] = (n_outcomes, pay_gbp, benefit_gbp)`` as a batch folder."""
    for scenario, per_rep in runs.items():
        for r, (k, pay, ben) in zip(HAND_REPS, per_rep, strict=True):
            part = out / "ledger" / f"scenario={scenario}" / f"replicate={r}" / "part-000.parquet"
            _write(hand_ledger(k, pay, ben), part)
    (out / "manifest.json").write_text(json.dumps({"baseline": "programme", "scenarios": {}}))
    return out


HAND_RUNS = {
    # (outcomes out of 10, purchaser spending per referral, benefit paid per referral)
    "programme": [(2, 1000.0, 5000.0)] * 3,
    "no_spend": [(2, 0.0, 5000.0)] * 3,
    # 107, 110 and 104 pounds more per referral; 2, 3 and 3 more outcomes; 50 less benefit
    "reform": [(4, 1107.0, 4950.0), (5, 1110.0, 4950.0), (5, 1104.0, 4950.0)],
    "unclear": [(3, 1100.0, 5000.0), (1, 1100.0, 5000.0), (4, 1100.0, 5000.0)],
    "worse": [(0, 1100.0, 5000.0), (0, 1100.0, 5000.0), (1, 1100.0, 5000.0)],
}


def _t_stat(num: np.ndarray, den: np.ndarray, ratio: float) -> float:
    """t statistic of the paired values ``num - ratio * den``."""
    d = num - ratio * den
    return float(d.mean() / (d.std(ddof=1) / math.sqrt(d.size)))


def test_cost_per_additional_outcome_is_the_change_in_spending_over_the_change_in_outcomes(
    tmp_path: Path,
) -> None:
    out = hand_batch(tmp_path / "hand", HAND_RUNS)
    spend = np.array([107.0, 110.0, 104.0])  # change in spending per referral
    gain = np.array([2.0, 3.0, 3.0]) / HAND_N  # change in the outcome rate
    savings = np.full(3, 50.0)
    imp = paired_impacts(out, "programme")
    keys = {"scenario": "reform", "group": "all", "horizon_months": 24}
    cost = _num(imp, effect="cost_per_additional_outcome_gbp", **keys)
    # £107 more per referral for 0.2667 more outcomes per referral: £401 per extra outcome,
    # not the reform's whole spending (£1,107) over the gain (£4,151)
    assert cost == pytest.approx(spend.mean() / gain.mean(), rel=1e-12)
    assert cost == pytest.approx(401.25, rel=1e-12)
    net = _num(imp, effect="net_cost_per_additional_outcome_gbp", **keys)
    assert net == pytest.approx((spend - savings).mean() / gain.mean(), rel=1e-12)
    # Fieller's interval: the ratios at which the paired t statistic of spend - r * gain
    # is exactly the 97.5% t quantile with 2 degrees of freedom
    t = stats.t.ppf(0.975, 2)
    lo = _num(imp, "ci_low", effect="cost_per_additional_outcome_gbp", **keys)
    hi = _num(imp, "ci_high", effect="cost_per_additional_outcome_gbp", **keys)
    assert lo < cost < hi
    assert _t_stat(spend, gain, lo) == pytest.approx(t, rel=1e-9)
    assert _t_stat(spend, gain, hi) == pytest.approx(-t, rel=1e-9)
    row = imp.filter(
        (pl.col("scenario") == "reform")
        & (pl.col("effect") == "cost_per_additional_outcome_gbp")
        & (pl.col("group") == "all")
    )
    assert row["note"][0] is None and row["n_replicates"][0] == 3 and row["sd"][0] is None
    # per replicate: the change in spending over the change in outcomes
    per_rep = replicate_impacts(out, "programme").filter(
        (pl.col("scenario") == "reform")
        & (pl.col("effect") == "cost_per_additional_outcome_gbp")
        & (pl.col("group") == "all")
    )
    assert per_rep["value"].to_list() == pytest.approx((spend / gain).tolist(), rel=1e-12)


def test_against_a_baseline_that_spends_nothing_the_two_ratios_coincide(tmp_path: Path) -> None:
    out = hand_batch(tmp_path / "hand", HAND_RUNS)
    imp = paired_impacts(out, "no_spend")
    keys = {"scenario": "reform", "group": "all", "horizon_months": 24}
    total = np.array([1107.0, 1110.0, 1104.0])
    gain = np.array([2.0, 3.0, 3.0]) / HAND_N
    spend = _num(imp, effect="payments_gbp", scenario="reform", group="all", horizon_months=None)
    assert spend == pytest.approx(total.mean(), rel=1e-12)
    assert _num(imp, effect="cost_per_additional_outcome_gbp", **keys) == pytest.approx(
        total.mean() / gain.mean(), rel=1e-12
    )


def test_no_ratio_when_the_change_in_outcomes_is_not_clear_of_zero(tmp_path: Path) -> None:
    out = hand_batch(tmp_path / "hand", HAND_RUNS)
    imp = paired_impacts(out, "programme")
    for scenario, note in (("unclear", NOTE_OUTCOMES_UNCLEAR), ("worse", NOTE_OUTCOMES_FELL)):
        rows = imp.filter(
            (pl.col("scenario") == scenario)
            & pl.col("effect").str.contains("cost_per_additional")
            & pl.col("group").is_in(["all", "g"])
        )
        assert rows.height == 2 * 2  # two effects, two groups
        assert rows["mean"].null_count() == rows.height
        assert rows["ci_low"].null_count() == rows["ci_high"].null_count() == rows.height
        assert set(rows["note"]) == {note}
    # the outcome change's own interval says the same
    unclear = imp.filter(
        (pl.col("scenario") == "unclear")
        & (pl.col("effect") == "job_outcome_rate")
        & (pl.col("horizon_months") == 24)
        & (pl.col("group") == "all")
    )
    assert unclear["ci_low"][0] < 0.0 < unclear["ci_high"][0]
    # every other row carries no note
    other = imp.filter(~pl.col("effect").str.contains("cost_per_additional"))
    assert other["note"].null_count() == other.height


def test_fieller_interval_edge_cases() -> None:
    nan = float("nan")
    assert fieller_interval(np.array([5.0]), np.array([0.1]))[3] == NOTE_TOO_FEW
    assert fieller_interval(np.array([5.0, nan]), np.array([0.1, 0.2]))[3] == NOTE_TOO_FEW
    # no spread at all: a degenerate interval at the ratio
    ratio, lo, hi, note = fieller_interval(np.array([4.0, 4.0]), np.array([0.5, 0.5]))
    assert (ratio, lo, hi, note) == (8.0, 8.0, 8.0, None)
    with pytest.raises(ValueError, match="shape"):
        fieller_interval(np.array([1.0, 2.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="level"):
        fieller_interval(np.array([1.0, 2.0]), np.array([1.0, 2.0]), level=1.5)
