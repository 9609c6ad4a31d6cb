"""Estimates from a batch: metrics over replicates and paired impacts against a baseline.

A batch (:mod:`sim.batch`) writes Hive-partitioned Parquet under an output folder::

    OUT/ledger/scenario=S/replicate=R/part-K.parquet     # ledger rows of a shard of claimants
    OUT/providers/scenario=S/replicate=R/part-K.parquet  # provider rows (may be empty or missing)
    OUT/manifest.json                                    # {"scenarios": {S: {"parked_gap_days"}}}

and the estimates here go beside them (:func:`write_estimates`, :func:`compare`)::

    OUT/compare/baseline=B/impacts.parquet, .csv         # paired impacts against baseline B
    OUT/impacts.parquet, OUT/impacts.csv                 # ... against the primary baseline
    OUT/summary.parquet, OUT/summary.csv                 # metrics over replicates

Replicate ``r`` of every scenario uses the same random keys, so claimant ``i`` in
replicate ``r`` is the same person in every scenario (common random numbers).
Impacts are therefore computed per replicate as *paired* differences on the same
claimants and only then summarised over replicates; the unpaired (Welch)
interval from the same runs is reported beside the paired one so that the gain
from pairing is visible.

The ledgers are read one part (one task's shard of areas) at a time, with only the
columns an estimate needs, so memory follows the largest shard, not the run or the
number of replicates: the per-run quantiles (of the provider's signal, of distance) come
first from two columns of the whole run, then each shard adds its sums.

Every frame returned or written is sorted by its key columns, and every sum this
module takes is a numpy ``bincount`` in claimant order within a shard, the shards'
sums added in shard order (never a multi-threaded polars ``group_by``, whose float
means can differ in the last bit from call to call); so two runs over the same
partitions give byte-identical Parquet and CSV files.
:data:`EFFECTS` documents every effect of :func:`paired_impacts`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special  # type: ignore[import-untyped]

from sim import store
from sim.contract import DAYS_PER_MONTH
from sim.metrics import (
    SUMMARY_COLUMNS,
    Sums,
    add_sums,
    finish_summary,
    float_column,
    provider_metrics,
    signal_quintiles,
    summary_from_sums,
    summary_sums,
)
from sim.schema import Table, parquet_writer
from sim.store import BatchStore, Part

__all__ = [
    "COST_EFFECTS",
    "DEFAULT_PARKED_GAP_DAYS",
    "EFFECTS",
    "Bound",
    "compare",
    "comparison_dir",
    "fieller_interval",
    "over_replicates",
    "paired_impacts",
    "replicate_impacts",
    "replicate_summaries",
    "summary_over_replicates",
    "t_interval",
    "write_estimates",
]

DEFAULT_PARKED_GAP_DAYS = 56.0
"""``records.parked_gap_days`` assumed for a scenario the manifest says nothing about."""

HORIZONS_MONTHS = (12, 24)
"""Horizons (months since referral) of the job outcome rate effects."""

RATIO_HORIZON = 24
"""Horizon (months) of the outcome-based ratio effects."""

EFFECTS: dict[str, str] = {
    "job_outcome_rate": "change in the share of claimants with a job outcome within the horizon "
    "of referral (outcome_at - referred_at <= horizon_months * 365.25 / 12)",
    "days_in_work": "change in mean days in work per claimant over the whole follow-up",
    "days_on_benefit": "change in mean days on benefit per claimant over the whole follow-up",
    "n_sanctions": "change in sanctions applied per claimant",
    "payments_gbp": "change in what the purchaser spends per claimant: provider payments plus "
    "the cost of Jobcentre-delivered interventions",
    "benefit_savings_gbp": "benefit paid per claimant in the baseline minus in the scenario "
    "(positive: the scenario pays less benefit)",
    "additional_outcomes_per_1000": "1000 x the change in the 24-month job outcome rate",
    "deadweight_share": "among claimants with a 24-month outcome in the scenario, the share who "
    "also have one in the baseline (pairing claimant by claimant)",
    "additionality": "(outcomes in the scenario - outcomes in the baseline) / outcomes in the "
    "scenario, at 24 months",
    "cost_per_additional_outcome_gbp": "the change in purchaser spending per claimant (scenario "
    "minus baseline) / the change in the 24-month outcome rate; against a baseline that spends "
    "nothing, the scenario's spending / the change. Over replicates: the ratio of the mean "
    "changes with a Fieller interval; null, with a note, unless the 95% interval of the change "
    "in outcomes lies above zero",
    "net_cost_per_additional_outcome_gbp": "(the change in purchaser spending - benefit savings) "
    "per claimant / the change in the 24-month outcome rate; summarised and withheld as "
    "cost_per_additional_outcome_gbp",
}
"""Effects of :func:`paired_impacts`; each is computed per replicate, scenario vs baseline."""

COST_EFFECTS = ("cost_per_additional_outcome_gbp", "net_cost_per_additional_outcome_gbp")
"""Ratio effects whose summary over replicates is a ratio of mean paired changes
(spending over outcomes), not a mean of per-replicate ratios; see :func:`paired_impacts`."""

NOTE_OUTCOMES_UNCLEAR = "no ratio: the 95% CI of the change in 24-month job outcomes includes zero"
NOTE_OUTCOMES_FELL = "no ratio: 24-month job outcomes fell (95% CI below zero)"
NOTE_TOO_FEW = "no ratio: fewer than 2 replications, so no interval for the change in outcomes"

_HIVE_SCHEMA: dict[str, pl.DataType] = {"scenario": pl.String(), "replicate": pl.Int64()}
_HIVE = list(_HIVE_SCHEMA)
_IMPACT_COLUMNS = [
    "claimant_id",
    "group",
    "distance",
    "referred_at",
    "outcome_at",
    "days_in_work",
    "days_on_benefit",
    "n_sanctions",
    "payments_gbp",
    "intervention_cost_gbp",
    "benefit_paid_gbp",
]
_VALUES = ["o12", "o24", "days_in_work", "days_on_benefit", "n_sanctions", "pay", "ben"]
_REPLICATE_IMPACT_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "baseline": pl.String(),
    "replicate": pl.Int64(),
    "effect": pl.String(),
    "group": pl.String(),
    "horizon_months": pl.Int64(),
    "value": pl.Float64(),
    "level_scenario": pl.Float64(),
    "level_baseline": pl.Float64(),
}
_IMPACT_KEYS = ["scenario", "baseline", "effect", "group", "horizon_months"]
_IMPACT_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "baseline": pl.String(),
    "effect": pl.String(),
    "group": pl.String(),
    "horizon_months": pl.Int64(),
    "n_replicates": pl.Int64(),
    "mean": pl.Float64(),
    "sd": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "unpaired_ci_low": pl.Float64(),
    "unpaired_ci_high": pl.Float64(),
    "note": pl.String(),
}
"""Columns of :func:`paired_impacts`."""
_SUMMARY_KEYS = ["scenario", "metric", "group", "horizon_months"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- intervals


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level(={level}) must be strictly between 0 and 1.")


def _t_quantile(p: float, df: FloatArray) -> FloatArray:
    """Student's t quantile (``scipy.stats.t.ppf``, bit for bit, without importing scipy.stats).

    ``scipy.stats`` takes about a second to import, on the critical path of every batch.
    """
    return np.asarray(special.stdtrit(df, p), dtype=np.float64)


def t_interval(
    mean: npt.ArrayLike, sd: npt.ArrayLike, n: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return Student t intervals ``mean -/+ t(n-1) * sd / sqrt(n)``, vectorised.

    Parameters
    ----------
    mean, sd, n : array_like
        Sample means, sample standard deviations (``ddof=1``) and sample sizes.
    level : float
        Confidence level, e.g. 0.95.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper limits; NaN where ``n < 2`` or an input is missing. A zero
        ``sd`` gives the degenerate interval ``[mean, mean]``.

    Raises
    ------
    ValueError
        If ``level`` is not strictly between 0 and 1 (no interval has that coverage).
    """
    _check_level(level)
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(sd, dtype=np.float64)
    k = np.asarray(n, dtype=np.float64)
    ok = (k >= 2) & np.isfinite(m) & np.isfinite(s)
    q = np.full(k.shape, np.nan)
    q[ok] = _t_quantile(0.5 + level / 2.0, k[ok] - 1.0)
    half = np.full(k.shape, np.nan)
    half[ok] = q[ok] * s[ok] / np.sqrt(k[ok])
    return m - half, m + half


def _welch_interval(
    mean: FloatArray,
    var_a: FloatArray,
    n_a: FloatArray,
    var_b: FloatArray,
    n_b: FloatArray,
    level: float,
) -> tuple[FloatArray, FloatArray]:
    """Welch intervals around ``mean`` for a difference of two independent sample means.

    NaN where either sample has fewer than 2 values; ``[mean, mean]`` where both
    variances are zero.
    """
    ok = (n_a >= 2) & (n_b >= 2) & np.isfinite(mean) & np.isfinite(var_a) & np.isfinite(var_b)
    half = np.full(mean.shape, np.nan)
    a = var_a[ok] / n_a[ok]
    b = var_b[ok] / n_b[ok]
    se2 = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        df = se2**2 / (a**2 / (n_a[ok] - 1.0) + b**2 / (n_b[ok] - 1.0))
    positive = se2 > 0
    h = np.zeros(se2.shape)
    h[positive] = _t_quantile(0.5 + level / 2.0, df[positive]) * np.sqrt(se2[positive])
    half[ok] = h
    return mean - half, mean + half


def _nullable(values: FloatArray, name: str) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


# --------------------------------------------------------------------------- reductions
# Polars' multi-threaded group_by can merge partial float means in whichever order its
# threads finish, so results may differ in the last bit from call to call. Every
# reduction here is a numpy bincount, which adds values in row order: deterministic.


def _runs(df: pl.DataFrame, keys: list[str], then: list[str]) -> tuple[pl.DataFrame, IntArray]:
    """Sort ``df`` by ``keys`` then ``then``; return it with the group number of each row."""
    out = df.sort([*keys, *then], nulls_last=True, maintain_order=True)
    ids = out.select(pl.struct(keys).rle_id()).to_series().to_numpy().astype(np.int64)
    return out, ids


def _first_rows(df: pl.DataFrame, ids: IntArray, keys: list[str]) -> pl.DataFrame:
    """The key columns of the first row of each group of a sorted frame."""
    first = np.flatnonzero(np.diff(ids, prepend=-1) != 0)
    return df.select(keys)[first]


def _sums(ids: IntArray, weights: FloatArray, k: int) -> FloatArray:
    """Per-group sums of ``weights``, added in row order."""
    return np.asarray(np.bincount(ids, weights=weights, minlength=k), dtype=np.float64)


def _moments(x: FloatArray, ids: IntArray, k: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-group count of finite values, their mean and sample variance (ddof=1).

    The mean is NaN for an empty group, the variance NaN for fewer than 2 values.
    """
    ok = np.isfinite(x)
    n = _sums(ids, ok.astype(np.float64), k)
    total = _sums(ids, np.where(ok, x, 0.0), k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        dev = np.where(ok, x - mean[ids], 0.0)
        ss = _sums(ids, dev * dev, k)
        var = np.where(n >= 2, ss / (n - 1.0), np.nan)
    return n, mean, var


# --------------------------------------------------------------------------- reading


def _ledger_scan(out: Path) -> pl.LazyFrame:
    """Lazy scan of every ledger partition, with the Hive columns scenario and replicate.

    The folder is verified first (:meth:`sim.store.BatchStore.verify`), so no part that
    is missing, damaged or not what its task wrote is ever read.

    Raises
    ------
    sim.store.StoreError
        Naming the first file that fails verification (a ValueError).
    ValueError
        If ``out`` holds no ledger partitions.
    """
    folder = BatchStore(out)
    folder.verify()
    parts = folder.parts("ledger")
    if not parts:
        raise ValueError(
            f"{out} holds no ledger partitions (expected "
            f"{out / 'ledger'}/scenario=<name>/replicate=<r>/part-<k>.parquet); "
            "is it a batch output folder?"
        )
    return pl.scan_parquet(
        [p.path for p in parts], hive_partitioning=True, hive_schema=_HIVE_SCHEMA
    )


def _partitions(scan: pl.LazyFrame) -> pl.DataFrame:
    """Sorted distinct (scenario, replicate) pairs of a ledger scan."""
    return scan.select(_HIVE).unique().collect().sort(_HIVE)


def _parts_by_run(out: Path) -> dict[tuple[str, int], list[Part]]:
    """Every verified ledger part, by (scenario, replicate), each list in shard order.

    Raises
    ------
    sim.store.StoreError
        Naming the first file that fails verification.
    ValueError
        If ``out`` holds no ledger partitions.
    """
    _ledger_scan(out)  # verifies the folder; raises if it holds no ledger
    runs: dict[tuple[str, int], list[Part]] = {}
    for part in BatchStore(out).parts("ledger"):
        runs.setdefault((part.scenario, part.replicate), []).append(part)
    return {key: sorted(parts, key=lambda p: p.shard) for key, parts in sorted(runs.items())}


def _read_part(part: Part, columns: Sequence[str]) -> pl.DataFrame:
    """The given columns of one ledger part (those it has), sorted by claimant id."""
    try:
        have = set(pl.read_parquet_schema(part.path))
    except (OSError, pl.exceptions.PolarsError) as err:
        raise store.StoreError(part.path, f"cannot be read ({err})") from None
    cols = [c for c in columns if c in have]
    return store.read_parquet(part.path, columns=cols).sort("claimant_id")


def _ranked_labels(
    parts: Sequence[Part], column: str, label: Callable[[pl.Series], pl.Series]
) -> tuple[IntArray, npt.NDArray[np.str_]]:
    """Claimant ids of a run (sorted) and each one's label from ``column`` over the whole run.

    Only ``claimant_id`` and ``column`` of every part are read (16 bytes a claimant).

    Raises
    ------
    ValueError
        If a claimant id occurs twice (overlapping shards of the same run).
    """
    both = pl.concat([_read_part(p, ["claimant_id", column]) for p in parts]).sort("claimant_id")
    ids = both["claimant_id"].to_numpy().astype(np.int64)
    if len(ids) > 1 and bool(np.any(np.diff(ids) == 0)):
        first = parts[0]
        raise ValueError(
            f"scenario {first.scenario!r} replicate {first.replicate}: a claimant id occurs in "
            "more than one ledger row (overlapping shards?)"
        )
    return ids, label(both[column]).to_numpy().astype(str)


def _labels_of(ids: IntArray, labels: npt.NDArray[np.str_], rows: pl.Series) -> pl.Series:
    """The labels of the claimants ``rows`` (ids, every one among ``ids``)."""
    return pl.Series(labels[np.searchsorted(ids, rows.to_numpy())])


def _check_baseline(partitions: pl.DataFrame, baseline: str) -> list[str]:
    """Return the scenarios found; raise if ``baseline`` is not among them."""
    found = sorted(set(partitions["scenario"].to_list()))
    if baseline not in found:
        raise ValueError(f"baseline {baseline!r} is not among the scenarios found: {found}")
    return found


def _providers(out: Path, scenario: str, replicate: int) -> pl.DataFrame:
    """Provider rows of one (scenario, replicate); an empty frame if there are none."""
    parts = BatchStore(out).parts("providers", scenario)
    frames = [store.read_parquet(p.path) for p in parts if p.replicate == replicate]
    frames = [f for f in frames if f.height > 0 and f.width > 0]
    if not frames:
        return pl.DataFrame()
    df = pl.concat(frames, how="vertical_relaxed", rechunk=True).drop(_HIVE, strict=False)
    keys = [c for c in ("provider", "month") if c in df.columns]
    return df.sort(keys) if keys else df


def _gap(parked_gap_days: float | Mapping[str, float], scenario: str) -> float:
    if isinstance(parked_gap_days, Mapping):
        if scenario not in parked_gap_days:
            raise ValueError(
                f"parked_gap_days gives no value for scenario {scenario!r} "
                f"(it has {sorted(parked_gap_days)})"
            )
        return float(parked_gap_days[scenario])
    return float(parked_gap_days)


def _manifest_gaps(out: Path, scenarios: list[str]) -> dict[str, float]:
    """``parked_gap_days`` by scenario from ``OUT/manifest.json`` (default where absent).

    Raises
    ------
    sim.store.StoreError
        If the manifest exists but cannot be read or is not a valid manifest.
    """
    manifest = BatchStore(out).read_manifest()
    records = manifest.scenarios if manifest is not None else {}
    gaps = {}
    for s in scenarios:
        record = records.get(s)
        value = record.parked_gap_days if record is not None else None
        gaps[s] = value if value is not None else DEFAULT_PARKED_GAP_DAYS
    return gaps


def _manifest_mpls(out: Path) -> dict[str, list[float]]:
    """Minimum performance levels by scenario from ``OUT/manifest.json`` (empty if unknown).

    Raises
    ------
    sim.store.StoreError
        If the manifest exists but cannot be read or is not a valid manifest.
    """
    manifest = BatchStore(out).read_manifest()
    out_: dict[str, list[float]] = {}
    for name, record in (manifest.scenarios if manifest is not None else {}).items():
        contract = record.resolved.get("contract")
        levels = contract.get("minimum_performance_levels") if isinstance(contract, dict) else None
        if isinstance(levels, list):
            out_[name] = [float(x) for x in levels]
    return out_


# --------------------------------------------------------------------------- summaries


def replicate_summaries(
    out: Path, parked_gap_days: float | Mapping[str, float] = DEFAULT_PARKED_GAP_DAYS
) -> pl.DataFrame:
    """Return :func:`sim.metrics.summarise` of every (scenario, replicate) in a batch folder.

    The ledger shards of a (scenario, replicate) are concatenated and sorted by
    claimant id (the row order of an unsharded run), and so are its provider rows
    (by provider and month).

    Parameters
    ----------
    out : Path
        Batch output folder.
    parked_gap_days : float or Mapping
        Days without provider contact that make a claimant parked: one value for
        every scenario, or one per scenario name.

    Returns
    -------
    polars.DataFrame
        Columns ``scenario, replicate, metric, group, horizon_months, value``, sorted
        by all but ``value`` (null horizons last).

    Raises
    ------
    ValueError
        If ``out`` holds no ledger partitions; if ``parked_gap_days`` is a mapping
        without a value for a scenario found; if a claimant occurs twice in one
        (scenario, replicate) (overlapping shards).
    """
    out = Path(out)
    runs = _parts_by_run(out)
    mpls = _manifest_mpls(out)
    frames = []
    for (scenario, replicate), parts in runs.items():
        gap = _gap(parked_gap_days, scenario)
        ids, quintiles = _ranked_labels(parts, "signal", signal_quintiles)
        sums: Sums = {}
        for part in parts:  # one shard at a time, added in shard order
            rows = _read_part(part, SUMMARY_COLUMNS)
            quintile = _labels_of(ids, quintiles, rows["claimant_id"])
            add_sums(sums, summary_sums(rows, parked_gap_days=gap, quintile=quintile))
        summary = finish_summary(
            [
                summary_from_sums(sums),
                provider_metrics(_providers(out, scenario, replicate), mpls.get(scenario) or []),
            ]
        )
        frames.append(
            summary.select(
                pl.lit(scenario, dtype=pl.String).alias("scenario"),
                pl.lit(replicate, dtype=pl.Int64).alias("replicate"),
                pl.all(),
            )
        )
    return pl.concat(frames).sort(
        ["scenario", "replicate", "metric", "group", "horizon_months"], nulls_last=True
    )


Bound = Literal["rate", "nonnegative"] | None
"""How :func:`over_replicates` bounds an interval: a share, a non-negative amount, or not."""


def _expit(x: FloatArray) -> FloatArray:
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def over_replicates(
    df: pl.DataFrame, keys: Sequence[str], level: float = 0.95, bound: Bound = None
) -> pl.DataFrame:
    """Summarise a per-replicate ``value`` over replicates with a t interval.

    The one summariser over replicates: the batch's metric summary
    (:func:`summary_over_replicates`) and every figure of the report use it.

    Parameters
    ----------
    df : polars.DataFrame
        Columns ``keys``, ``replicate`` (optional: the order values are added in) and
        ``value`` (float; null or NaN = missing); with ``bound="rate"`` also ``n``, the
        number of claimants the share is of.
    keys : sequence of str
        Columns identifying a quantity.
    level : float
        Confidence level.
    bound : {"rate", "nonnegative"}, optional
        ``"rate"``: ``value`` is a share ``k / n``; the interval is a t interval on the
        replicates' empirical logits ``log((k + 1/2) / (n - k + 1/2))``, transformed
        back, so it stays inside [0, 1] (however few the replicates), and it is widened
        where needed to contain the mean. ``"nonnegative"``: the t interval, cut at
        zero. None: the plain t interval. Whatever the bound, replicates that agree
        exactly give the interval ``[mean, mean]``.

    Returns
    -------
    polars.DataFrame
        ``keys`` then ``n_replicates`` (values present), ``mean``, ``sd`` (ddof=1),
        ``ci_low``, ``ci_high`` (null when fewer than 2 values), sorted by ``keys``
        (null keys last); sums are taken in replicate order (numpy), so the result never
        depends on threads.

    Raises
    ------
    ValueError
        If ``df`` lacks a column, if ``level`` is not strictly between 0 and 1, or if
        ``bound="rate"`` and ``df`` has no ``n`` column.
    """
    _check_level(level)
    keys = list(keys)
    missing = [c for c in [*keys, "value"] if c not in df.columns]
    if missing:
        raise ValueError(f"over_replicates: the frame lacks the columns {missing}")
    if bound == "rate" and "n" not in df.columns:
        raise ValueError("over_replicates(bound='rate') needs the column n (claimants)")
    then = ["replicate"] if "replicate" in df.columns else []
    rows, ids = _runs(df, keys, then)
    first = _first_rows(rows, ids, keys)
    x = float_column(rows, "value")
    n, mean, var = _moments(x, ids, first.height)
    sd = np.sqrt(var)
    lo, hi = t_interval(mean, sd, n, level)
    if bound == "rate":
        claimants = float_column(rows, "n")
        with np.errstate(invalid="ignore", divide="ignore"):
            k = x * claimants
            logit = np.log((k + 0.5) / (claimants - k + 0.5))
        _, l_mean, l_var = _moments(logit, ids, first.height)
        l_lo, l_hi = t_interval(l_mean, np.sqrt(l_var), n, level)
        with np.errstate(invalid="ignore"):
            lo = np.fmin(_expit(l_lo), mean)
            hi = np.fmax(_expit(l_hi), mean)
        lo[~np.isfinite(l_lo)] = np.nan
        hi[~np.isfinite(l_hi)] = np.nan
    elif bound == "nonnegative":
        lo = np.where(np.isfinite(lo), np.maximum(lo, 0.0), lo)
    agreed = sd == 0.0
    lo = np.where(agreed, mean, lo)
    hi = np.where(agreed, mean, hi)
    return first.with_columns(
        pl.Series("n_replicates", n.astype(np.int64), dtype=pl.Int64),
        _nullable(mean, "mean"),
        _nullable(sd, "sd"),
        _nullable(lo, "ci_low"),
        _nullable(hi, "ci_high"),
    )


def summary_over_replicates(rep: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Summarise per-replicate metrics over replicates, with t intervals.

    Parameters
    ----------
    rep : polars.DataFrame
        As returned by :func:`replicate_summaries`.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    polars.DataFrame
        One row per ``(scenario, metric, group, horizon_months)`` with
        ``n_replicates`` (replicates with a value; NaN values, e.g. a share of zero
        sanctions, count as missing), ``mean``, ``sd`` (``ddof=1``) and the t interval
        ``ci_low, ci_high`` (``n_replicates - 1`` degrees of freedom; null when
        ``n_replicates < 2``), sorted by the keys (null horizons last).

    Raises
    ------
    ValueError
        If ``rep`` lacks one of its columns, or ``level`` is not strictly between 0 and 1.
    """
    missing = [c for c in [*_SUMMARY_KEYS, "value"] if c not in rep.columns]
    if missing:
        raise ValueError(f"rep lacks columns {missing} (expected replicate_summaries' columns)")
    return over_replicates(rep, _SUMMARY_KEYS, level)


# --------------------------------------------------------------------------- impacts


def _claimant_values(ledger: pl.DataFrame) -> pl.DataFrame:
    """Per-claimant outcome indicators and amounts that the effects average."""
    since = pl.col("outcome_at") - pl.col("referred_at")
    outcome = {
        f"o{h}": (since <= h * DAYS_PER_MONTH).fill_null(False).cast(pl.Float64)
        for h in HORIZONS_MONTHS
    }
    return ledger.select(
        "claimant_id",
        **outcome,
        days_in_work=pl.col("days_in_work").cast(pl.Float64),
        days_on_benefit=pl.col("days_on_benefit").cast(pl.Float64),
        n_sanctions=pl.col("n_sanctions").cast(pl.Float64),
        pay=pl.col("payments_gbp").cast(pl.Float64)
        + pl.col("intervention_cost_gbp").cast(pl.Float64),
        ben=pl.col("benefit_paid_gbp").cast(pl.Float64),
    )


def distance_quintiles(distance: pl.Series) -> pl.Series:
    """``"distance_q1"`` (nearest to work) .. ``"distance_q5"`` per row, ranked over the rows
    given (in claimant order: ties are broken by it)."""
    q = (pl.col("d").rank("ordinal") - 1) * 5 // pl.len() + 1
    return distance.to_frame("d").select(pl.lit("distance_q") + q.cast(pl.String)).to_series()


_EFFECT_SUMS = (
    "n",
    *[f"{c}_{side}" for c in _VALUES for side in ("s", "b", "d")],
    "savings",
    "out_s",
    "out_both",
    "out_diff",
)
"""The sums one shard of paired claimants contributes to each group (see :func:`_effect_sums`)."""


def _effect_sums(paired: pl.DataFrame, dq: pl.Series) -> Sums:
    """Per-group sums of one shard of paired claimants, added in claimant order.

    Each claimant counts in three groups: their payment group, ``"all"`` and their
    distance quintile ``dq`` (taken over the whole replicate).
    """
    x: dict[str, FloatArray] = {"n": np.ones(paired.height)}
    for c in _VALUES:
        xs, xb = float_column(paired, f"{c}_s"), float_column(paired, f"{c}_b")
        x[f"{c}_s"], x[f"{c}_b"], x[f"{c}_d"] = xs, xb, xs - xb
    ben_s, ben_b = float_column(paired, "ben_s"), float_column(paired, "ben_b")
    o24_s, o24_b = float_column(paired, "o24_s"), float_column(paired, "o24_b")
    x["savings"], x["out_s"] = ben_b - ben_s, o24_s
    x["out_both"], x["out_diff"] = o24_s * o24_b, o24_s - o24_b
    matrix = np.column_stack([x[k] for k in _EFFECT_SUMS])
    out: Sums = {}
    for labels in (paired["group"], pl.Series(["all"] * paired.height), dq):
        names, inverse = np.unique(labels.to_numpy().astype(str), return_inverse=True)
        totals = np.column_stack(
            [_sums(inverse, matrix[:, j], len(names)) for j in range(matrix.shape[1])]
        )
        for k, name in enumerate(names.tolist()):
            out[name] = totals[k]
    return out


def _effects(sums: Sums) -> pl.DataFrame:
    """Per-group effects of one (scenario, replicate) from its :func:`_effect_sums`."""
    labels = sorted(sums)
    total = {k: np.array([sums[g][j] for g in labels]) for j, k in enumerate(_EFFECT_SUMS)}
    n = total["n"]
    cols: dict[str, FloatArray] = {}
    for c in _VALUES:
        cols[f"m_{c}_s"] = total[f"{c}_s"] / n
        cols[f"m_{c}_b"] = total[f"{c}_b"] / n
        cols[f"d_{c}"] = total[f"{c}_d"] / n
    cols["savings"] = total["savings"] / n
    cols["out_s"], cols["out_both"], cols["out_diff"] = (
        total["out_s"],
        total["out_both"],
        total["out_diff"],
    )
    agg = pl.DataFrame({"g": labels, **cols})
    d24 = pl.col("d_o24")

    def per_additional_outcome(amount: pl.Expr) -> pl.Expr:
        return pl.when(d24 > 0).then(amount / d24).otherwise(None)

    has_out = pl.col("out_s") > 0
    null = pl.lit(None, dtype=pl.Float64)

    def row(
        effect: str,
        horizon: int | None,
        value: pl.Expr,
        level_s: pl.Expr = null,
        level_b: pl.Expr = null,
    ) -> pl.DataFrame:
        return agg.select(
            effect=pl.lit(effect, dtype=pl.String),
            group=pl.col("g"),
            horizon_months=pl.lit(horizon, dtype=pl.Int64),
            value=value.cast(pl.Float64),
            level_scenario=level_s.cast(pl.Float64),
            level_baseline=level_b.cast(pl.Float64),
        )

    def diff(effect: str, c: str, horizon: int | None = None) -> pl.DataFrame:
        return row(effect, horizon, pl.col(f"d_{c}"), pl.col(f"m_{c}_s"), pl.col(f"m_{c}_b"))

    rows = [
        *[diff("job_outcome_rate", f"o{h}", h) for h in HORIZONS_MONTHS],
        diff("days_in_work", "days_in_work"),
        diff("days_on_benefit", "days_on_benefit"),
        diff("n_sanctions", "n_sanctions"),
        diff("payments_gbp", "pay"),
        row("benefit_savings_gbp", None, pl.col("savings"), pl.col("m_ben_s"), pl.col("m_ben_b")),
        row(
            "additional_outcomes_per_1000",
            RATIO_HORIZON,
            1000.0 * d24,
            1000.0 * pl.col("m_o24_s"),
            1000.0 * pl.col("m_o24_b"),
        ),
        row(
            "deadweight_share",
            RATIO_HORIZON,
            pl.when(has_out).then(pl.col("out_both") / pl.col("out_s")).otherwise(None),
        ),
        row(
            "additionality",
            RATIO_HORIZON,
            pl.when(has_out).then(pl.col("out_diff") / pl.col("out_s")).otherwise(None),
        ),
        row(
            "cost_per_additional_outcome_gbp",
            RATIO_HORIZON,
            per_additional_outcome(pl.col("d_pay")),
        ),
        row(
            "net_cost_per_additional_outcome_gbp",
            RATIO_HORIZON,
            per_additional_outcome(pl.col("d_pay") - pl.col("savings")),
        ),
    ]
    return pl.concat(rows)


def _paired_chunks(
    base: Sequence[Part], scen: Sequence[Part]
) -> list[tuple[list[Part], list[Part]]]:
    """Pairs of part lists holding the same claimants: shard by shard when both runs have
    the same shards (a batch's plan gives paired scenarios the same), else the whole run."""
    if [p.shard for p in base] == [p.shard for p in scen]:
        return [([b], [s]) for b, s in zip(base, scen, strict=True)]
    return [(list(base), list(scen))]


def _paired_sums(
    base: Sequence[Part],
    scen: Sequence[Part],
    ids: IntArray,
    dq: npt.NDArray[np.str_],
    scenario: str,
    baseline: str,
) -> Sums:
    """Effect sums of a scenario's run against the baseline's, one chunk of claimants at a time.

    Raises
    ------
    ValueError
        If a chunk's claimants differ between the two runs (not a paired run).
    """
    sums: Sums = {}
    for base_parts, scen_parts in _paired_chunks(base, scen):
        b = pl.concat([_read_part(p, _IMPACT_COLUMNS) for p in base_parts]).sort("claimant_id")
        v = pl.concat([_read_part(p, _IMPACT_COLUMNS) for p in scen_parts]).sort("claimant_id")
        if v.height != b.height or not v["claimant_id"].equals(b["claimant_id"]):
            raise ValueError(
                f"replicate {base[0].replicate}: the claimants of scenario {scenario!r} "
                f"({sum(_n_rows(p) for p in scen)}) are not those of the baseline "
                f"{baseline!r} ({len(ids)}); impacts need paired runs of the same claimants "
                "(same n_claimants and seed)"
            )
        values_b = _claimant_values(b).drop("claimant_id")
        values_s = _claimant_values(v).drop("claimant_id")
        paired = pl.concat(
            [
                b.select("group"),
                values_b.rename({c: f"{c}_b" for c in values_b.columns}),
                values_s.rename({c: f"{c}_s" for c in values_s.columns}),
            ],
            how="horizontal",
        )
        add_sums(sums, _effect_sums(paired, _labels_of(ids, dq, b["claimant_id"])))
    return sums


def _n_rows(part: Part) -> int:
    """Rows of one ledger part (from its footer)."""
    try:
        return int(pl.scan_parquet(part.path).select(pl.len()).collect().item())
    except (OSError, pl.exceptions.PolarsError) as err:
        raise store.StoreError(part.path, f"cannot be read ({err})") from None


def replicate_impacts(out: Path, baseline: str) -> pl.DataFrame:
    """Return every effect per replicate: scenario minus baseline on the same claimants.

    For every scenario other than ``baseline`` and every replicate both have, the
    scenario's ledger is paired claimant by claimant with the baseline's, and each
    effect of :data:`EFFECTS` is computed for every payment group, ``"all"``, and
    every quintile ``"distance_q1"`` .. ``"distance_q5"`` of the latent ``distance``
    (taken within the replicate on the baseline's claimants; quintile 1 is nearest to
    work). A claimant's payment group is the baseline's.

    Parameters
    ----------
    out : Path
        Batch output folder.
    baseline : str
        Name of the counterfactual scenario.

    Returns
    -------
    polars.DataFrame
        Columns ``scenario, baseline, replicate, effect, group, horizon_months, value,
        level_scenario, level_baseline``. ``value`` is the paired effect (null where
        undefined, e.g. a cost per additional outcome when the outcome rate did not
        rise). For effects that are differences of levels, ``level_scenario`` and
        ``level_baseline`` are the two levels (e.g. benefit paid per claimant for
        ``benefit_savings_gbp``, whose value is baseline minus scenario); they are
        null for ratio effects. Sorted by scenario, replicate, effect, group, horizon.

    Raises
    ------
    ValueError
        If ``out`` holds no ledger partitions; if ``baseline`` is not among its
        scenarios (the message lists them); if a scenario shares no replicate with
        the baseline; if a scenario's claimants in a replicate are not exactly the
        baseline's (not a paired run); if a claimant occurs twice in one
        (scenario, replicate).
    """
    out = Path(out)
    runs = _parts_by_run(out)
    scenarios = _check_baseline(pl.DataFrame(list(runs), schema=_HIVE, orient="row"), baseline)
    reps = {s: {r for (name, r) in runs if name == s} for s in scenarios}
    others = [s for s in scenarios if s != baseline]
    for s in others:
        if not reps[s] & reps[baseline]:
            raise ValueError(
                f"scenario {s!r} (replicates {sorted(reps[s])}) shares no replicate with "
                f"the baseline {baseline!r} (replicates {sorted(reps[baseline])})"
            )
    frames = []
    for r in sorted(reps[baseline]):
        users = [s for s in others if r in reps[s]]
        if not users:
            continue
        base_parts = runs[(baseline, r)]
        ids, dq = _ranked_labels(base_parts, "distance", distance_quintiles)
        for s in users:
            sums = _paired_sums(base_parts, runs[(s, r)], ids, dq, s, baseline)
            frames.append(
                _effects(sums).select(
                    pl.lit(s, dtype=pl.String).alias("scenario"),
                    pl.lit(baseline, dtype=pl.String).alias("baseline"),
                    pl.lit(r, dtype=pl.Int64).alias("replicate"),
                    pl.all(),
                )
            )
    if not frames:
        return pl.DataFrame(schema=_REPLICATE_IMPACT_SCHEMA)
    return pl.concat(frames).sort(
        ["scenario", "replicate", "effect", "group", "horizon_months"], nulls_last=True
    )


def fieller_interval(
    num: FloatArray, den: FloatArray, level: float = 0.95
) -> tuple[float, float, float, str | None]:
    """Ratio of means ``mean(num) / mean(den)`` of paired samples, with Fieller's interval.

    Fieller's interval is the set of ratios ``r`` for which ``mean(num) - r * mean(den)``
    is not significantly different from zero (a t test with ``n - 1`` degrees of
    freedom on the paired values ``num_i - r * den_i``). It is a bounded interval
    exactly when the t interval of ``mean(den)`` excludes zero; the ratio is reported
    only when that interval lies above zero.

    Parameters
    ----------
    num, den : numpy.ndarray
        Paired per-replicate numerators and denominators of the same length; pairs
        with a non-finite value are left out.
    level : float
        Confidence level.

    Returns
    -------
    (float, float, float, str or None)
        ``(ratio, low, high, note)``: NaN for all three, with a note saying why, when
        fewer than 2 pairs are finite or the interval of the denominator's mean
        includes zero or lies below it; ``note`` is None otherwise.

    Raises
    ------
    ValueError
        If ``level`` is not strictly between 0 and 1, or the arrays differ in length.
    """
    _check_level(level)
    if num.shape != den.shape:
        raise ValueError(f"num and den differ in shape: {num.shape} vs {den.shape}")
    ok = np.isfinite(num) & np.isfinite(den)
    x, y = num[ok], den[ok]
    n = x.size
    if n < 2:
        return math.nan, math.nan, math.nan, NOTE_TOO_FEW
    a, b = float(x.mean()), float(y.mean())
    dx, dy = x - a, y - b
    s_aa = float(np.dot(dx, dx)) / (n - 1) / n  # variance of the mean of num
    s_bb = float(np.dot(dy, dy)) / (n - 1) / n
    s_ab = float(np.dot(dx, dy)) / (n - 1) / n
    t = float(_t_quantile(0.5 + level / 2.0, np.array([n - 1.0]))[0])
    half_b = t * math.sqrt(s_bb)
    if b - half_b > 0.0:
        pass
    elif b + half_b < 0.0:
        return math.nan, math.nan, math.nan, NOTE_OUTCOMES_FELL
    else:
        return math.nan, math.nan, math.nan, NOTE_OUTCOMES_UNCLEAR
    t2 = t * t
    # (a - r b)^2 = t^2 (s_aa - 2 r s_ab + r^2 s_bb): a quadratic in r opening upwards
    qa = b * b - t2 * s_bb
    qb = a * b - t2 * s_ab
    qc = a * a - t2 * s_aa
    root = math.sqrt(max(0.0, qb * qb - qa * qc))
    return a / b, (qb - root) / qa, (qb + root) / qa, None


def _cost_ratios(per_rep: pl.DataFrame, level: float) -> pl.DataFrame:
    """Summary rows of :data:`COST_EFFECTS`: ratios of mean paired changes, with notes."""
    keys = ["scenario", "baseline", "group", "replicate"]
    h = pl.col("horizon_months")

    def values(effect: str, name: str, horizon: int | None) -> pl.DataFrame:
        sel = per_rep.filter(
            (pl.col("effect") == effect) & (h.is_null() if horizon is None else h == horizon)
        )
        return sel.select(*keys, pl.col("value").alias(name))

    both = (
        values("payments_gbp", "spend", None)
        .join(values("benefit_savings_gbp", "savings", None), on=keys, how="left")
        .join(values("job_outcome_rate", "outcomes", RATIO_HORIZON), on=keys, how="left")
        .sort(keys)
    )
    numerators = {
        "cost_per_additional_outcome_gbp": pl.col("spend"),
        "net_cost_per_additional_outcome_gbp": pl.col("spend") - pl.col("savings"),
    }
    rows: list[dict[str, object]] = []
    for (scenario, baseline, group), part in both.group_by(
        ["scenario", "baseline", "group"], maintain_order=True
    ):
        den = float_column(part, "outcomes")
        for effect, numerator in numerators.items():
            num = float_column(part.select(numerator.alias("num")), "num")
            ratio, lo, hi, note = fieller_interval(num, den, level)
            rows.append(
                {
                    "scenario": scenario,
                    "baseline": baseline,
                    "effect": effect,
                    "group": group,
                    "horizon_months": RATIO_HORIZON,
                    "n_replicates": int((np.isfinite(num) & np.isfinite(den)).sum()),
                    "mean": None if note else ratio,
                    "sd": None,
                    "ci_low": None if note else lo,
                    "ci_high": None if note else hi,
                    "unpaired_ci_low": None,
                    "unpaired_ci_high": None,
                    "note": note,
                }
            )
    return pl.DataFrame(rows, schema=_IMPACT_SCHEMA)


def _summarise_impacts(per_rep: pl.DataFrame, level: float) -> pl.DataFrame:
    """Paired t intervals and unpaired Welch intervals over replicates; cost ratios apart."""
    df, ids = _runs(per_rep, _IMPACT_KEYS, ["replicate"])
    keys = _first_rows(df, ids, _IMPACT_KEYS)
    k = keys.height
    n, mean, var = _moments(float_column(df, "value"), ids, k)
    n_s, _, var_s = _moments(float_column(df, "level_scenario"), ids, k)
    n_b, _, var_b = _moments(float_column(df, "level_baseline"), ids, k)
    sd = np.sqrt(var)
    lo, hi = t_interval(mean, sd, n, level)
    ulo, uhi = _welch_interval(mean, var_s, n_s, var_b, n_b, level)
    summary = keys.with_columns(
        pl.Series("n_replicates", n.astype(np.int64), dtype=pl.Int64),
        _nullable(mean, "mean"),
        _nullable(sd, "sd"),
        _nullable(lo, "ci_low"),
        _nullable(hi, "ci_high"),
        _nullable(ulo, "unpaired_ci_low"),
        _nullable(uhi, "unpaired_ci_high"),
        pl.lit(None, dtype=pl.String).alias("note"),
    )
    plain = summary.filter(~pl.col("effect").is_in(list(COST_EFFECTS)))
    return pl.concat([plain, _cost_ratios(per_rep, level)]).sort(_IMPACT_KEYS, nulls_last=True)


def paired_impacts(out: Path, baseline: str, level: float = 0.95) -> pl.DataFrame:
    """Return every scenario's paired impacts against ``baseline``, summarised over replicates.

    Each effect of :data:`EFFECTS` is computed per replicate as a paired difference
    on the same claimants (:func:`replicate_impacts`), then summarised over the
    replicates in which it is defined. The cost ratios of :data:`COST_EFFECTS` are
    summarised as the ratio of the mean paired changes (mean change in spending over
    mean change in the 24-month outcome rate) with Fieller's interval
    (:func:`fieller_interval`), and withheld (null, with a ``note``) unless the 95%
    interval of the change in outcomes lies above zero.

    Parameters
    ----------
    out : Path
        Batch output folder.
    baseline : str
        Name of the counterfactual scenario.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    polars.DataFrame
        Columns ``scenario, baseline, effect, group, horizon_months`` (null for
        whole-follow-up effects), ``n_replicates`` (replicates where the effect is
        defined), ``mean``, ``sd`` (``ddof=1``; null for the cost ratios), ``ci_low,
        ci_high`` (t interval on the per-replicate paired values, ``n_replicates - 1``
        degrees of freedom, null if fewer than 2; Fieller's interval for the cost
        ratios), ``unpaired_ci_low, unpaired_ci_high``: a Welch interval around the
        same mean from the two scenarios' per-replicate levels treated as independent
        samples (null for ratio effects), and ``note``: why a value is withheld (null
        otherwise). Sorted by the key columns (null horizons last).

    Raises
    ------
    ValueError
        As :func:`replicate_impacts`, and if ``level`` is not strictly between 0 and 1.
    """
    _check_level(level)
    return _summarise_impacts(replicate_impacts(out, baseline), level)


def comparison_dir(out: Path, baseline: str) -> Path:
    """Folder of the impacts of a batch against ``baseline``: ``OUT/compare/baseline=NAME``."""
    return Path(out) / "compare" / f"baseline={baseline}"


def _write_impacts(folder: Path, impacts: pl.DataFrame) -> None:
    _write(folder / "impacts.parquet", impacts, "impacts")
    _write(folder / "impacts.csv", impacts, "impacts")


def compare(out: Path, baseline: str, level: float = 0.95) -> pl.DataFrame:
    """Compute a batch's impacts against ``baseline`` and write them to their own folder.

    Writes ``impacts.parquet`` and ``impacts.csv`` (:func:`paired_impacts`) into
    :func:`comparison_dir` (``OUT/compare/baseline=NAME/``), each atomically. The
    batch's own estimates (``OUT/impacts.*``, ``OUT/summary.*``) and its manifest are
    never touched, so they keep naming the baseline they were computed against.

    Parameters
    ----------
    out : Path
        Batch output folder.
    baseline : str
        Name of the counterfactual scenario.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    polars.DataFrame
        The impacts written.

    Raises
    ------
    ValueError
        If ``out`` holds no ledger partitions (the message names the folder); if
        ``baseline`` is not among the scenarios found (the message lists them); if
        ``level`` is not strictly between 0 and 1; or as :func:`replicate_impacts`
        when the runs are not paired. Nothing is written then.
    sim.store.StoreError
        (a ValueError) naming the first result file that fails verification or cannot
        be read, or a file that cannot be written.
    """
    _check_level(level)
    out = Path(out)
    _check_baseline(_partitions(_ledger_scan(out)), baseline)
    impacts = paired_impacts(out, baseline, level)
    _write_impacts(comparison_dir(out, baseline), impacts)
    return impacts


def write_estimates(
    out: Path, baselines: Sequence[str], level: float = 0.95
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Write a batch's estimates: impacts against each baseline and metric summaries.

    For each baseline, ``impacts.parquet`` and ``impacts.csv`` go to its
    :func:`comparison_dir`; the impacts against the first (the batch's primary
    baseline) are also written as ``OUT/impacts.parquet`` and ``OUT/impacts.csv``.
    ``summary.parquet`` and ``summary.csv`` (:func:`summary_over_replicates` of
    :func:`replicate_summaries`) do not depend on a baseline. Every file is written
    atomically, and only after every estimate has been computed. ``parked_gap_days``
    of each scenario is read from ``OUT/manifest.json``
    (``scenarios.<name>.parked_gap_days``); a scenario it does not give (or a missing
    manifest) gets :data:`DEFAULT_PARKED_GAP_DAYS`.

    Parameters
    ----------
    out : Path
        Batch output folder.
    baselines : sequence of str
        Names of the counterfactual scenarios, the primary one first.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    (dict, polars.DataFrame)
        ``({baseline: impacts}, summary)``.

    Raises
    ------
    ValueError
        If ``baselines`` is empty; if ``out`` holds no ledger partitions (the message
        names the folder); if a baseline is not among the scenarios found (the message
        lists them); if ``level`` is not strictly between 0 and 1; if the manifest is
        not valid JSON; or as :func:`replicate_impacts` when the runs are not paired.
    """
    _check_level(level)
    if not baselines:
        raise ValueError("no baseline given")
    out = Path(out)
    parts = _partitions(_ledger_scan(out))
    for name in baselines:
        scenarios = _check_baseline(parts, name)
    impacts = {name: paired_impacts(out, name, level) for name in baselines}
    summary = summary_over_replicates(
        replicate_summaries(out, _manifest_gaps(out, scenarios)), level
    )
    for name, frame in impacts.items():
        _write_impacts(comparison_dir(out, name), frame)
    _write_impacts(out, impacts[baselines[0]])
    _write(out / "summary.parquet", summary, "summary")
    _write(out / "summary.csv", summary, "summary")
    return impacts, summary


def _write(path: Path, df: pl.DataFrame, table: Table) -> None:
    """Write ``df`` to ``path`` atomically: CSV for a ``.csv`` path, else described Parquet.

    A write that fails (no space left, say) is a :class:`sim.store.StoreError` naming the file.
    """
    if path.suffix == ".csv":
        frame = df.rechunk()  # the bytes must not depend on how the frame is chunked
        store.write_atomic(path, frame.write_csv)
    else:
        store.write_atomic(path, parquet_writer(df, table))
