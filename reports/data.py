"""Read a batch output folder into the tidy frames that :mod:`reports.figures` draws.

All file reading of the report happens here. A batch folder ``OUT`` (see
:mod:`sim.batch` and :mod:`sim.estimates`) holds::

    OUT/manifest.json
    OUT/impacts.parquet                                   # paired impacts over replicates
    OUT/ledger/scenario=S/replicate=R/part-K.parquet      # one row per claimant
    OUT/providers/scenario=S/replicate=R/part-K.parquet   # provider x month (may be empty)
    OUT/monthly/scenario=S/replicate=R/part-K.parquet     # event counts by calendar month
    OUT/calibration_fit.parquet                           # optional, see below

Curves, deciles, finances and sanction counts are computed per replicate from the
partitions, then summarised over replicates as a mean with a 95% Student t
interval (``n - 1`` degrees of freedom, :func:`sim.estimates.t_interval`). Every
frame returned is sorted deterministically.

Calibration fit (optional)
--------------------------
When ``OUT/calibration_fit.parquet`` exists (or ``OUT/calibration_fit.csv``, or the
calibration's own ``OUT/calibration/fit.parquet`` or ``.csv``) the report adds a
calibration figure. One row per target, columns:

============== ======= =====================================================
target_id      str     target identifier, e.g. a published_figures.csv id
label          str     what is measured, with its unit, e.g. "Job outcome
                       rate at 24 months, JSA 18-24 (% of referrals)"
published      float   the published value
published_low  float   lower end of the published range (nullable; null
                       with published_high set: open below)
published_high float   upper end of the published range (nullable; null
                       with published_low set: open above, e.g. "60% or
                       more")
simulated      float   the simulated value (mean over replicates)
simulated_low  float   lower end of its interval, e.g. posterior 5%
                       quantile (nullable)
simulated_high float   upper end of its interval (nullable)
unit           str     optional: appended to the label as "label (unit)"
============== ======= =====================================================

Values of one row share one unit; rows may differ in unit. NaN counts as missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from reports.figures import MINUTES, OUTCOME_24
from sim.contract import DAYS_PER_MONTH
from sim.estimates import over_replicates, t_interval
from sim.metrics import spend_by_year
from sim.store import BatchStore, Manifest, read_parquet

__all__ = [
    "CALIBRATION_COLUMNS",
    "CALIBRATION_FILES",
    "CHECK_FILES",
    "SANCTION_EVENTS",
    "calibration_frame",
    "calibration_frame_of",
    "check_frame",
    "creaming_frame",
    "creaming_over_replicates",
    "creaming_per_replicate",
    "group_order",
    "impact_baseline",
    "impact_forest_frame",
    "impacts",
    "ledger_runs",
    "outcome_curves_frame",
    "outcome_curves_over_replicates",
    "outcome_curves_per_replicate",
    "over_replicates",
    "payments_frame",
    "provider_frame",
    "read_manifest",
    "sanctions_frame",
    "t_multiplier",
]

_HIVE: dict[str, pl.DataType] = {"scenario": pl.String(), "replicate": pl.Int64()}
_STATS = ["n_replicates", "mean", "sd", "ci_low", "ci_high"]

CALIBRATION_COLUMNS: dict[str, pl.DataType] = {
    "target_id": pl.String(),
    "label": pl.String(),
    "published": pl.Float64(),
    "published_low": pl.Float64(),
    "published_high": pl.Float64(),
    "simulated": pl.Float64(),
    "simulated_low": pl.Float64(),
    "simulated_high": pl.Float64(),
}
"""Schema of ``OUT/calibration_fit.parquet``."""

SANCTION_EVENTS: tuple[str, ...] = (
    "sanction_referral",
    "sanction_decision",
    "sanction_start",
    "wrong_sanction_decision",
)
"""Monthly events drawn in the sanctions figure, in order (labels: :mod:`reports.labels`)."""

FINANCE_ITEMS: dict[str, str] = {
    "income_attachment_gbp": "income",
    "income_outcome_gbp": "income",
    "income_sustainment_gbp": "income",
    "income_service_gbp": "income",
    "cost_advisers_gbp": "cost",
    "cost_overhead_gbp": "cost",
    "cost_interviews_gbp": "cost",
    "cash_balance_gbp": "cash",
}
"""Provider ledger columns in the finances figure, in order, with their kind."""

IMPACT_EFFECTS: dict[tuple[str, int | None], tuple[str, str, float]] = {
    ("job_outcome_rate", 24): ("job_outcome_rate_24m", "percentage points", 100.0),
    ("days_in_work", None): ("days_in_work", "days per referral", 1.0),
    ("n_sanctions", None): ("n_sanctions", "per 100 referrals", 100.0),
}
"""Effects in the forest plot: (effect, horizon) -> (name shown, unit, scale)."""


# --------------------------------------------------------------------------- basics


def read_manifest(out: Path) -> Manifest:
    """Return ``OUT/manifest.json``, validated (an empty manifest if the file is missing).

    Raises
    ------
    sim.store.StoreError
        If the manifest is not valid JSON or a field has the wrong type (the message
        names the file and the field).
    """
    return BatchStore(Path(out)).read_manifest() or Manifest()


def group_order(manifest: Manifest) -> list[str]:
    """Payment group names ordered by their contract code, ``"all"`` first.

    Parameters
    ----------
    manifest : sim.store.Manifest
        A batch manifest (see :func:`read_manifest`).

    Returns
    -------
    list of str
        ``["all", <groups by code>..., "distance_q1", ..., "distance_q5"]``.
    """
    codes: dict[str, float] = {}
    for record in manifest.scenarios.values():
        groups = record.resolved.get("population", {}).get("groups", {})
        for name, g in groups.items():
            codes.setdefault(name, float(g.get("code", len(codes) + 1)))
    ordered = sorted(codes, key=lambda n: (codes[n], n))
    return ["all", *ordered, *(f"distance_q{q}" for q in range(1, 6))]


def _rank(order: Sequence[str], column: str = "group") -> pl.Expr:
    """Position of ``column`` in ``order`` (unknown values after, alphabetically)."""
    mapping = {name: i for i, name in enumerate(order)}
    return pl.col(column).replace_strict(mapping, default=len(order), return_dtype=pl.Int64)


def t_multiplier(n_replicates: int, level: float = 0.95) -> float:
    """The Student t quantile a ``level`` interval over ``n_replicates`` multiplies the SE by.

    NaN for fewer than 2 replicates (no interval). E.g. 12.71 for 2, 3.18 for 4.
    """
    _, hi = t_interval([0.0], [np.sqrt(max(n_replicates, 1))], [n_replicates], level)
    return float(hi[0])


def _parts(out: Path, table: str) -> list[tuple[str, int, Path]]:
    """(scenario, replicate, path) of every partition file of ``table``, sorted."""
    return [(p.scenario, p.replicate, p.path) for p in BatchStore(out).parts(table)]


def _read_table(out: Path, table: str) -> pl.DataFrame:
    """Every non-empty partition of ``table`` with ``scenario`` and ``replicate`` columns."""
    frames = []
    for scenario, replicate, path in _parts(out, table):
        df = read_parquet(path)
        if df.height == 0 or df.width == 0:
            continue
        frames.append(
            df.drop(list(_HIVE), strict=False).with_columns(
                scenario=pl.lit(scenario, dtype=pl.String),
                replicate=pl.lit(replicate, dtype=pl.Int64),
            )
        )
    if not frames:
        return pl.DataFrame(schema=_HIVE)
    return pl.concat(frames, how="diagonal_relaxed")


def ledger_runs(out: Path, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """Each (scenario, replicate)'s ledger columns in turn, sorted by claimant.

    Each frame holds ``scenario, replicate, claimant_id`` then ``columns``.

    Only one run's columns are in memory at a time, so a figure built run by run needs
    memory for one replicate of one scenario, whatever the number of replicates.
    """
    cols = list(dict.fromkeys(["claimant_id", *columns]))
    runs: dict[tuple[str, int], list[Path]] = {}
    for s, r, path in _parts(out, "ledger"):
        runs.setdefault((s, r), []).append(path)
    for (s, r), paths in sorted(runs.items()):
        frames = [read_parquet(path, columns=cols) for path in paths]
        frames = [f for f in frames if f.height > 0]
        if frames:
            yield (
                pl.concat(frames, how="vertical_relaxed")
                .select(
                    pl.lit(s, dtype=pl.String).alias("scenario"),
                    pl.lit(r, dtype=pl.Int64).alias("replicate"),
                    *[pl.col(c) for c in cols],
                )
                .sort("claimant_id")
            )


def impacts(out: Path) -> pl.DataFrame:
    """``OUT/impacts.parquet``, or an empty frame with its key columns if it is missing."""
    path = Path(out) / "impacts.parquet"
    if not path.exists():
        return pl.DataFrame(
            schema={
                "scenario": pl.String(),
                "baseline": pl.String(),
                "effect": pl.String(),
                "group": pl.String(),
                "horizon_months": pl.Int64(),
                **{c: pl.Int64() if c == "n_replicates" else pl.Float64() for c in _STATS},
                "note": pl.String(),
            }
        )
    return read_parquet(path)


def impact_baseline(imp: pl.DataFrame, manifest: Manifest) -> tuple[pl.DataFrame, str]:
    """The impacts against one baseline, and its name, taken from the impacts themselves.

    The report names the baseline the numbers were computed against, which is the
    ``baseline`` column of ``impacts.parquet``, not what the manifest says (an older
    ``pbrsim compare`` overwrote the file with another baseline's impacts). If the
    frame holds several baselines, the manifest's is kept.

    Returns
    -------
    (polars.DataFrame, str)
        The rows against that baseline and its name (the manifest's when there are no
        rows).
    """
    named = manifest.baseline or ""
    found = sorted(set(imp["baseline"].drop_nulls().to_list())) if imp.height else []
    if not found:
        return imp, named
    chosen = named if named in found else found[0]
    return imp.filter(pl.col("baseline") == chosen), chosen


# --------------------------------------------------------------------------- 1 outcomes


def _months_to_outcome() -> pl.Expr:
    """Smallest whole month ``m`` with ``outcome_at - referred_at <= m * DAYS_PER_MONTH``."""
    since = pl.col("outcome_at") - pl.col("referred_at")
    k = (since / DAYS_PER_MONTH).ceil()
    k = pl.when((k - 1) * DAYS_PER_MONTH >= since).then(k - 1).otherwise(k)
    return k.clip(lower_bound=0).cast(pl.Int64)


def outcome_curves_per_replicate(ledger: pl.DataFrame, max_months: int = 36) -> pl.DataFrame:
    """Per (scenario, replicate, group) and month: referrals ``n``, outcomes by then ``hits``
    and their share ``value`` (the rows :func:`outcome_curves_over_replicates` summarises)."""
    keys = ["scenario", "replicate", "group"]
    both = pl.concat(
        [
            ledger.select(*keys, "referred_at", "outcome_at"),
            ledger.select(*keys[:2], pl.lit("all").alias("group"), "referred_at", "outcome_at"),
        ],
        how="vertical_relaxed",
    )
    sizes = both.group_by(keys).agg(n=pl.len())
    hits = (
        both.filter(pl.col("outcome_at").is_not_null())
        .with_columns(months=_months_to_outcome())
        .filter(pl.col("months") <= max_months)
        .group_by([*keys, "months"])
        .agg(hits=pl.len())
    )
    months = pl.DataFrame({"months": pl.int_range(0, max_months + 1, eager=True)})
    return (
        sizes.join(months, how="cross")
        .join(hits, on=[*keys, "months"], how="left")
        .with_columns(pl.col("hits").fill_null(0))
        .sort([*keys, "months"])
        .with_columns(value=pl.col("hits").cum_sum().over(keys) / pl.col("n"))
    )


def outcome_curves_frame(
    ledger: pl.DataFrame, order: Sequence[str] = (), max_months: int = 36
) -> pl.DataFrame:
    """Cumulative job outcome rate by months since referral, per group, over replicates.

    Parameters
    ----------
    ledger : polars.DataFrame
        :func:`ledger_runs` frames with ``group``, ``referred_at`` and ``outcome_at``.
    order : sequence of str
        Group order (see :func:`group_order`); ``"all"`` is added for every scenario.
    max_months : int
        Last month of the curve.

    Returns
    -------
    polars.DataFrame
        ``scenario, group, months`` (0..max_months) and the :func:`over_replicates`
        statistics of the share of referrals with an outcome within ``months`` (the
        interval inside [0, 1], see ``bound="rate"``); sorted by scenario, group order,
        months.
    """
    per_rep = outcome_curves_per_replicate(ledger, max_months)
    return outcome_curves_over_replicates(per_rep, order)


def outcome_curves_over_replicates(
    per_rep: pl.DataFrame, order: Sequence[str] = ()
) -> pl.DataFrame:
    """The curves of :func:`outcome_curves_frame` from its per-replicate rows (of any runs)."""
    out = over_replicates(per_rep, ["scenario", "group", "months"], bound="rate")
    return out.sort("scenario", _rank(order), "group", "months")


# --------------------------------------------------------------------------- 3 creaming


def creaming_frame(ledger: pl.DataFrame, n_bins: int = 10) -> pl.DataFrame:
    """Adviser minutes per caseload week and 24-month outcome rate by distance decile.

    Parameters
    ----------
    ledger : polars.DataFrame
        :func:`ledger_runs` frames with ``distance``, ``referred_at``, ``outcome_at``,
        ``adviser_minutes`` and ``caseload_days``, sorted by claimant within each
        (scenario, replicate).
    n_bins : int
        Number of quantile bins of ``distance`` (taken within each replicate).

    Returns
    -------
    polars.DataFrame
        ``scenario, measure, decile`` and the :func:`over_replicates` statistics;
        ``measure`` is ``"adviser_minutes_per_caseload_week"`` (null where no caseload
        time; interval cut at zero) or ``"job_outcome_rate_24m"`` (interval inside
        [0, 1], see ``bound="rate"``).
    """
    return creaming_over_replicates(creaming_per_replicate(ledger, n_bins))


def creaming_per_replicate(ledger: pl.DataFrame, n_bins: int = 10) -> pl.DataFrame:
    """Per (scenario, replicate, decile): the two measures of :func:`creaming_frame` and ``n``."""
    part = ["scenario", "replicate"]
    rank = pl.col("distance").rank("ordinal").over(part) - 1
    within = (pl.col("outcome_at") - pl.col("referred_at")) <= 24 * DAYS_PER_MONTH
    weeks = pl.col("caseload_days").sum() / 7.0
    return (
        ledger.with_columns(decile=(rank * n_bins // pl.len().over(part) + 1).cast(pl.Int64))
        .group_by([*part, "decile"])
        .agg(
            pl.when(weeks > 0).then(pl.col("adviser_minutes").sum() / weeks).alias(MINUTES),
            within.fill_null(False).mean().alias(OUTCOME_24),
            n=pl.len(),
        )
    )


def creaming_over_replicates(per_rep: pl.DataFrame) -> pl.DataFrame:
    """The frame of :func:`creaming_frame` from its per-replicate rows (of any runs)."""
    part = ["scenario", "replicate"]
    keys = ["scenario", "measure", "decile"]

    def measure(name: str) -> pl.DataFrame:
        return per_rep.select(*part, "decile", "n", measure=pl.lit(name), value=pl.col(name))

    minutes = over_replicates(measure(MINUTES), keys, bound="nonnegative")
    outcomes = over_replicates(measure(OUTCOME_24), keys, bound="rate")
    return pl.concat([minutes, outcomes]).sort(keys)


# --------------------------------------------------------------------------- 4 finances


def provider_frame(out: Path) -> pl.DataFrame:
    """Provider income, costs and cash balance by contract month, summed over providers.

    Parameters
    ----------
    out : Path
        Batch output folder; scenarios without provider rows (the Jobcentre Plus
        regime) are left out.

    Returns
    -------
    polars.DataFrame
        ``scenario, kind, item`` (a provider ledger column of :data:`FINANCE_ITEMS`),
        ``item_order, month`` and the :func:`over_replicates` statistics of pounds per
        month (cash: at the month's end); empty if no scenario has providers.
    """
    raw = _read_table(out, "providers")
    items = [c for c in FINANCE_ITEMS if c in raw.columns]
    if raw.height == 0 or "month" not in raw.columns or not items:
        return pl.DataFrame(
            schema={
                "scenario": pl.String(),
                "kind": pl.String(),
                "item": pl.String(),
                "item_order": pl.Int64(),
                "month": pl.Int64(),
                **{c: pl.Int64() if c == "n_replicates" else pl.Float64() for c in _STATS},
            }
        )
    keys = ["scenario", "replicate", "month"]
    per_rep = (
        raw.group_by(keys)
        .agg(pl.col(items).cast(pl.Float64).sum())
        .unpivot(index=keys, variable_name="column", value_name="value")
    )
    out_ = over_replicates(per_rep, ["scenario", "column", "month"])
    order = {c: i for i, c in enumerate(FINANCE_ITEMS)}
    return (
        out_.with_columns(
            kind=pl.col("column").replace_strict(FINANCE_ITEMS, return_dtype=pl.String),
            item=pl.col("column"),
            item_order=pl.col("column").replace_strict(order, return_dtype=pl.Int64),
        )
        .sort("scenario", "item_order", "month")
        .select("scenario", "kind", "item", "item_order", "month", *_STATS)
    )


# --------------------------------------------------------------------------- 5 sanctions


def economics_frame(out: Path) -> pl.DataFrame:
    """Providers' spending per participant-year and beliefs, over replicates.

    Parameters
    ----------
    out : Path
        Batch output folder; scenarios without provider rows are left out.

    Returns
    -------
    polars.DataFrame
        ``scenario, panel, series, x`` and the :func:`over_replicates` statistics:
        ``panel = "spend"``: £ per participant-year (:func:`sim.metrics.spend_by_year`),
        ``series`` the payment group or ``all``, ``x`` the contract year (1, 2, ...);
        ``panel = "belief"``: the primes' mean belief of their caseload's job-entry hazard
        per day without service, ``series = "belief"``, ``x`` the contract month. Empty
        if no scenario has providers.
    """
    raw = _read_table(out, "providers")
    schema = {
        "scenario": pl.String(),
        "panel": pl.String(),
        "series": pl.String(),
        "x": pl.Int64(),
        **{c: pl.Int64() if c == "n_replicates" else pl.Float64() for c in _STATS},
    }
    if raw.height == 0 or "by_group" not in raw.columns:
        return pl.DataFrame(schema=schema)
    spend = []
    for (scenario, replicate), part in raw.group_by("scenario", "replicate", maintain_order=True):
        rows = spend_by_year(part)
        spend.append(
            rows.select(
                scenario=pl.lit(scenario),
                replicate=pl.lit(replicate, dtype=pl.Int64),
                panel=pl.lit("spend"),
                series=pl.col("group"),
                x=pl.col("horizon_months") // 12,
                value=pl.col("value"),
            )
        )
    belief = (
        raw.filter((pl.col("role") == "prime") & pl.col("belief_entry_rate_per_day").is_not_nan())
        .group_by("scenario", "replicate", "month")
        .agg(value=pl.col("belief_entry_rate_per_day").mean())
        .select(
            "scenario",
            "replicate",
            panel=pl.lit("belief"),
            series=pl.lit("belief"),
            x=pl.col("month").cast(pl.Int64),
            value="value",
        )
    )
    per_rep = pl.concat([*spend, belief], how="diagonal_relaxed")
    if per_rep.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        over_replicates(per_rep, ["scenario", "panel", "series", "x"])
        .sort("scenario", "panel", "series", "x")
        .select(list(schema))
    )


def sanctions_frame(out: Path) -> pl.DataFrame:
    """Monthly sanction events per scenario, summed over shards, over replicates.

    Months in which an event did not occur count as zero.

    Parameters
    ----------
    out : Path
        Batch output folder.

    Returns
    -------
    polars.DataFrame
        ``scenario, event`` (one of :data:`SANCTION_EVENTS`), ``month_start``
        (``"YYYY-MM-01"``), ``month`` and the :func:`over_replicates` statistics of
        events per month (intervals cut at zero); empty if there are no monthly tables.
    """
    raw = _read_table(out, "monthly")
    if raw.height == 0 or "event" not in raw.columns:
        return pl.DataFrame(
            schema={
                "scenario": pl.String(),
                "event": pl.String(),
                "month_start": pl.String(),
                "month": pl.Int64(),
                **{c: pl.Int64() if c == "n_replicates" else pl.Float64() for c in _STATS},
            }
        )
    months = raw.select("scenario", "month", "month_start").unique()
    runs = raw.select("scenario", "replicate").unique()
    events = pl.DataFrame({"event": list(SANCTION_EVENTS)})
    grid = runs.join(months, on="scenario").join(events, how="cross")
    counts = (
        raw.filter(pl.col("event").is_in(list(SANCTION_EVENTS)))
        .group_by("scenario", "replicate", "month", "event")
        .agg(n=pl.col("n").sum())
    )
    per_rep = grid.join(counts, on=["scenario", "replicate", "month", "event"], how="left")
    per_rep = per_rep.with_columns(value=pl.col("n").fill_null(0).cast(pl.Float64))
    stats = over_replicates(
        per_rep, ["scenario", "event", "month", "month_start"], bound="nonnegative"
    )
    order = {e: i for i, e in enumerate(SANCTION_EVENTS)}
    return (
        stats.sort("scenario", pl.col("event").replace_strict(order), "month")
        .with_columns(month_start=pl.col("month_start") + "-01")
        .select("scenario", "event", "month_start", "month", *_STATS)
    )


# --------------------------------------------------------------------------- impacts


def impact_forest_frame(imp: pl.DataFrame, order: Sequence[str] = ()) -> pl.DataFrame:
    """Selected paired impacts in display units for the forest plot.

    Parameters
    ----------
    imp : polars.DataFrame
        ``OUT/impacts.parquet`` (see :func:`impacts`).
    order : sequence of str
        Group order (see :func:`group_order`).

    Returns
    -------
    polars.DataFrame
        ``scenario, baseline, effect`` (the name shown, :data:`IMPACT_EFFECTS`),
        ``unit``, ``group``, ``n_replicates, mean, ci_low, ci_high`` (scaled to the unit).
    """
    frames = []
    for i, ((effect, horizon), (name, unit, scale)) in enumerate(IMPACT_EFFECTS.items()):
        h = pl.col("horizon_months")
        sel = imp.filter(
            (pl.col("effect") == effect) & (h.is_null() if horizon is None else h == horizon)
        )
        frames.append(
            sel.select(
                "scenario",
                "baseline",
                effect=pl.lit(name),
                unit=pl.lit(unit),
                effect_order=pl.lit(i),
                group=pl.col("group"),
                n_replicates=pl.col("n_replicates"),
                **{c: pl.col(c) * scale for c in ("mean", "ci_low", "ci_high")},
            )
        )
    df = pl.concat(frames) if frames else pl.DataFrame()
    return df.sort("effect_order", _rank(order), "group", "scenario").drop("effect_order")


def payments_frame(imp: pl.DataFrame, order: Sequence[str] = ()) -> pl.DataFrame:
    """Paired provider payments and benefit savings per referral by payment group.

    Parameters
    ----------
    imp : polars.DataFrame
        ``OUT/impacts.parquet`` (see :func:`impacts`).
    order : sequence of str
        Group order (see :func:`group_order`); distance quintiles are left out.

    Returns
    -------
    polars.DataFrame
        ``scenario, baseline, group, measure`` (``"payments_gbp"``: the change in
        purchaser spending, or ``"benefit_savings_gbp"``), ``n_replicates, mean,
        ci_low, ci_high`` (£ per referral),
        ``cost_per_additional_outcome`` and ``net_cost_per_additional_outcome`` (£: the
        change in purchaser spending, before and after benefit savings, over the change
        in 24-month job outcomes; null unless that change is clearly positive) and
        ``cost_note`` (why the cost is null, else null).
    """
    groups = imp.filter(~pl.col("group").str.starts_with("distance_q"))
    measures = {"payments_gbp": 0, "benefit_savings_gbp": 1}
    levels = groups.filter(pl.col("effect").is_in(list(measures))).select(
        "scenario",
        "baseline",
        "group",
        measure=pl.col("effect"),
        measure_order=pl.col("effect").replace_strict(measures, return_dtype=pl.Int64),
        n_replicates="n_replicates",
        mean="mean",
        ci_low="ci_low",
        ci_high="ci_high",
    )
    keys = ["scenario", "group"]

    def ratio(effect: str, name: str) -> pl.DataFrame:
        rows = groups.filter((pl.col("effect") == effect) & (pl.col("horizon_months") == 24))
        note = pl.col("note") if "note" in rows.columns else pl.lit(None, dtype=pl.String)
        return rows.select(*keys, pl.col("mean").cast(pl.Float64).alias(name), note.alias("note"))

    costs = (
        ratio("cost_per_additional_outcome_gbp", "cost_per_additional_outcome")
        .rename({"note": "cost_note"})
        .join(
            ratio("net_cost_per_additional_outcome_gbp", "net_cost_per_additional_outcome").drop(
                "note"
            ),
            on=keys,
            how="left",
        )
    )
    return (
        levels.join(costs, on=["scenario", "group"], how="left")
        .sort("scenario", _rank(order), "group", "measure_order")
        .drop("measure_order")
    )


# --------------------------------------------------------------------------- calibration


CALIBRATION_FILES = (
    "calibration_fit.parquet",
    "calibration_fit.csv",
    "calibration/fit.parquet",
    "calibration/fit.csv",
)
"""Where :func:`calibration_frame` looks, relative to ``OUT``, first found wins."""


CHECK_FILES = ("check/check.parquet", "check/check.csv")
"""Where :func:`check_frame` looks, relative to ``OUT`` (``pbrsim check ... --out OUT/check``)."""


def check_frame(out: Path) -> pl.DataFrame | None:
    """The out-of-sample check of a batch folder (``pbrsim check``), or None.

    The check table has the calibration fit's columns; read as :func:`calibration_frame`.

    Raises
    ------
    ValueError
        If the file lacks one of :data:`CALIBRATION_COLUMNS`.
    """
    return calibration_frame(out, CHECK_FILES)


def calibration_frame_of(df: pl.DataFrame) -> pl.DataFrame:
    """A fit or check table in :data:`CALIBRATION_COLUMNS` (see :func:`calibration_frame`).

    Raises
    ------
    ValueError
        If the table lacks one of the columns.
    """
    missing = [c for c in CALIBRATION_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"the table lacks columns {missing}")
    if "unit" in df.columns:
        unit = pl.col("unit").cast(pl.String)
        df = df.with_columns(
            label=pl.when(unit.is_null() | (unit == ""))
            .then(pl.col("label"))
            .otherwise(pl.format("{} ({})", pl.col("label"), unit))
        )
    cols = [
        pl.col(c).cast(t).fill_nan(None) if t == pl.Float64() else pl.col(c).cast(t)
        for c, t in CALIBRATION_COLUMNS.items()
    ]
    return df.select(cols).sort("target_id")


def calibration_frame(out: Path, files: Sequence[str] = CALIBRATION_FILES) -> pl.DataFrame | None:
    """The calibration fit of a batch folder in :data:`CALIBRATION_COLUMNS`, or None.

    Reads the first of ``files`` (default :data:`CALIBRATION_FILES`) that exists (the
    calibration's own ``fit.parquet`` has these leading columns). NaN bounds become null;
    when the file has a ``unit`` column its value is appended to the label,
    ``"label (unit)"``.

    Raises
    ------
    ValueError
        If the file lacks one of the columns.
    """
    for name in files:
        path = Path(out) / name
        if not path.exists():
            continue
        df = read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        try:
            return calibration_frame_of(df)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    return None
