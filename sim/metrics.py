"""Summary metrics from a run's ledger, as one tidy frame.

Every row is ``(metric, group, horizon_months, value)``: ``group`` is a payment
group name, ``"all"``, for breakdowns by the provider's signal a quintile
label ``"signal_q1"`` (most job-ready by the signal) to ``"signal_q5"``, or in a
scenario with trial arms ``"arm=NAME"``;
``horizon_months`` is null for whole-horizon metrics. :data:`METRICS`
documents each metric.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from sim.contract import DAYS_PER_MONTH

__all__ = [
    "METRICS",
    "SUMMARY_COLUMNS",
    "SUM_STATS",
    "Sums",
    "add_sums",
    "finish_summary",
    "float_column",
    "provider_metrics",
    "signal_quintiles",
    "summarise",
    "summary_from_sums",
    "summary_sums",
]

METRICS: dict[str, str] = {
    "n_referrals": "referrals simulated",
    "attachment_rate": "share of referrals that attached to a provider",
    "job_outcome_rate": "share of referrals with a job outcome within the horizon of referral",
    "job_entry_rate": "share of referrals who started a job within the horizon of referral",
    "days_in_work": "mean days in work per referral over the whole follow-up",
    "days_on_benefit": "mean days on benefit per referral over the whole follow-up",
    "benefit_paid_gbp": "mean benefit paid per referral over the whole follow-up",
    "sanctions_per_claimant_month": "sanctions per claimant-month on benefit",
    "share_ever_sanctioned": "share of referrals sanctioned at least once",
    "sanction_referrals_per_claimant": "failures to attend referred for a decision, per referral",
    "wrong_sanction_share": "share of sanctions applied although ill health was the reason",
    "overturned_share": "share of sanctions overturned",
    "adviser_minutes_per_claimant": "provider adviser minutes per referral",
    "adviser_minutes_per_caseload_week": "provider adviser minutes per week in the active caseload",
    "parked_share": "share of attached claimants with a spell of at least parked_gap_days "
    "without provider contact while on the programme out of work",
    "payments_per_referral_gbp": "provider payments per referral",
    "cost_per_job_outcome_gbp": "provider payments per job outcome (whole horizon)",
    "provider_income_attachment_gbp": "provider income from attachment fees",
    "provider_income_outcome_gbp": "provider income from job outcome fees",
    "provider_income_sustainment_gbp": "provider income from sustainment fees",
    "provider_income_service_gbp": "provider income from service fees tied to activities",
    "provider_cost_gbp": "provider costs: advisers, overheads and interviews",
    "provider_margin_gbp": "provider income minus costs",
    "provider_min_cash_balance_gbp": "lowest month-end cash balance of any provider",
    "interventions_per_referral": "interventions started per referral",
    "intervention_cost_per_referral_gbp": "purchaser's cost of Jobcentre-delivered interventions "
    "per referral",
    "hardship_paid_per_referral_gbp": "hardship payments during sanctions per referral",
    "provider_income_management_fee_gbp": "primes' income from their specialists' management fees",
    "provider_cost_interventions_gbp": "providers' cost of programme-delivered interventions",
    "provider_adviser_cuts": "times a provider under financial strain cut advisers",
    "provider_exits": "providers that left the market",
    "spend_per_participant_year_gbp": "providers' spending (advisers, overheads, interviews, "
    "interventions) per participant-year on the active caseload in a contract year "
    "(horizon_months: the year's last month, 12, 24, ...); by payment group, each month's "
    "spending is shared out in proportion to the adviser minutes the group was given; "
    "years with under 5% of the group's busiest year's caseload days are left out",
    "prime_years_below_mpl_share": "share of (prime, contract year) pairs with attachments whose "
    "job outcomes / attachments fell below that year's minimum performance level",
}


SUMMARY_COLUMNS = (
    "claimant_id",
    "group",
    "signal",
    "arm",
    "referred_at",
    "outcome_at",
    "first_job_at",
    "attached_at",
    "days_in_work",
    "days_on_benefit",
    "benefit_paid_gbp",
    "n_sanctions",
    "n_sanction_referrals",
    "n_wrong_sanctions",
    "n_overturned",
    "adviser_minutes",
    "caseload_days",
    "max_contact_gap_days",
    "payments_gbp",
    "n_interventions",
    "intervention_cost_gbp",
    "hardship_paid_gbp",
)
"""The ledger columns :func:`summary_sums` reads (a reader need load no others)."""

_MEANS = {
    "days_in_work": "days_in_work",
    "days_on_benefit": "days_on_benefit",
    "benefit_paid_gbp": "benefit_paid_gbp",
    "sanction_referrals_per_claimant": "n_sanction_referrals",
    "adviser_minutes_per_claimant": "adviser_minutes",
    "payments_per_referral_gbp": "payments_gbp",
    "interventions_per_referral": "n_interventions",
    "intervention_cost_per_referral_gbp": "intervention_cost_gbp",
    "hardship_paid_per_referral_gbp": "hardship_paid_gbp",
}
"""Metrics that are a column's mean over the rows where it is not null."""

_SUMMED = ("n_sanctions", "n_wrong_sanctions", "n_overturned", "caseload_days", "payments_gbp")
"""Columns whose totals enter ratio metrics."""

SUM_STATS: tuple[str, ...] = (
    "n",
    "attached",
    "outcome_12",
    "entry_12",
    "outcome_24",
    "entry_24",
    "ever_sanctioned",
    "with_outcome",
    "parked",
    "parked_of",
    *[f"sum_{c}" for c in sorted({*_MEANS.values(), *_SUMMED, "days_on_benefit"})],
    *[f"n_{c}" for c in sorted(set(_MEANS.values()))],
)
"""The sums one shard of a ledger contributes to each label (see :func:`summary_sums`)."""

_QUINTILE_METRICS = (
    "adviser_minutes_per_claimant",
    "adviser_minutes_per_caseload_week",
    "parked_share",
)
"""Metrics also given by quintile of the provider's signal (with the 24-month rates)."""

Sums = dict[str, npt.NDArray[np.float64]]
"""Label (``"all"``, a payment group, ``"signal_q1"``..., ``"arm=NAME"``) -> its
:data:`SUM_STATS`, in that order."""


def signal_quintiles(signal: pl.Series) -> pl.Series:
    """Return ``"signal_q1"`` (lowest signal: nearest to work) .. ``"signal_q5"`` per row.

    Ranks are ordinal, ties broken by row order, so give the rows in claimant order.
    """
    frame = signal.to_frame("signal")
    q = (pl.col("signal").rank("ordinal") - 1) * 5 // pl.len()
    return frame.select(("signal_q" + (q + 1).cast(pl.Utf8)).alias("signal_quintile")).to_series()


def float_column(frame: pl.DataFrame, column: str) -> npt.NDArray[np.float64]:
    """A column as float64 (null and NaN as NaN)."""
    return frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)


def _as_float(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    return flags.astype(np.float64)


def _stat_columns(ledger: pl.DataFrame, parked_gap_days: float) -> npt.NDArray[np.float64]:
    """Each row's contribution to every stat of :data:`SUM_STATS` (rows x stats)."""
    n = ledger.height
    referred = float_column(ledger, "referred_at")
    outcome = float_column(ledger, "outcome_at")
    entry = float_column(ledger, "first_job_at")
    attached = ~np.isnan(float_column(ledger, "attached_at"))
    gap = float_column(ledger, "max_contact_gap_days")
    cols: dict[str, npt.NDArray[np.float64]] = {"n": np.ones(n), "attached": _as_float(attached)}
    with np.errstate(invalid="ignore"):  # NaN compares False: null is not within a horizon
        for months in (12, 24):
            days = months * DAYS_PER_MONTH
            cols[f"outcome_{months}"] = _as_float((outcome - referred) <= days)
            cols[f"entry_{months}"] = _as_float((entry - referred) <= days)
        cols["parked"] = _as_float(attached & (gap >= parked_gap_days))
    cols["ever_sanctioned"] = _as_float(float_column(ledger, "n_sanctions") > 0)
    cols["with_outcome"] = _as_float(~np.isnan(outcome))
    cols["parked_of"] = _as_float(attached & ~np.isnan(gap))
    for stat in SUM_STATS:
        if stat.startswith("sum_"):
            x = float_column(ledger, stat[4:])
            cols[stat] = np.where(np.isnan(x), 0.0, x)
        elif stat.startswith("n_") and stat != "n":
            cols[stat] = _as_float(~np.isnan(float_column(ledger, stat[2:])))
    return np.column_stack([cols[s] for s in SUM_STATS])


def summary_sums(
    ledger: pl.DataFrame, *, parked_gap_days: float, quintile: pl.Series | None = None
) -> Sums:
    """Return one ledger's (or one shard's) sums by label, from which metrics follow.

    Parameters
    ----------
    ledger : polars.DataFrame
        Rows of the ledger with at least :data:`SUMMARY_COLUMNS` (``arm`` optional).
    parked_gap_days : float
        Days without provider contact that make a claimant parked.
    quintile : polars.Series, optional
        Each row's signal quintile label; default :func:`signal_quintiles` of these
        rows (right for a whole run; a shard must pass its rows' quintiles in the whole
        run).

    Returns
    -------
    Sums
        Sums per label, added in row order (numpy), so they never depend on threads.
    """
    x = _stat_columns(ledger, parked_gap_days)
    quintile = signal_quintiles(ledger["signal"]) if quintile is None else quintile
    labelings = [ledger["group"], pl.Series(["all"] * ledger.height), quintile]
    if "arm" in ledger.columns and not ledger["arm"].eq("none").all():
        labelings.append("arm=" + ledger["arm"])
    out: Sums = {}
    for labels in labelings:
        names, inverse = np.unique(
            labels.cast(pl.String).to_numpy().astype(str), return_inverse=True
        )
        totals = np.zeros((len(names), x.shape[1]))
        np.add.at(totals, inverse, x)
        for k, name in enumerate(names.tolist()):
            out[name] = totals[k]
    return out


def add_sums(total: Sums, more: Sums) -> Sums:
    """Add ``more`` into ``total`` (in place) and return it; labels are united."""
    for label, values in more.items():
        if label in total:
            total[label] = total[label] + values
        else:
            total[label] = values.copy()
    return total


def _ratio(num: float, den: float) -> float:
    """``num / den`` with IEEE results for a zero denominator (inf, or NaN for 0/0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(num) / np.float64(den))


def _label_metrics(v: dict[str, float]) -> list[tuple[str, int | None, float | None]]:
    """Every ledger metric of one label, as ``(metric, horizon_months, value)``."""
    n = v["n"]
    rows: list[tuple[str, int | None, float | None]] = []
    for months in (12, 24):
        rows.append(("job_outcome_rate", months, v[f"outcome_{months}"] / n))
        rows.append(("job_entry_rate", months, v[f"entry_{months}"] / n))
    whole: dict[str, float | None] = {
        "n_referrals": n,
        "attachment_rate": v["attached"] / n,
        "sanctions_per_claimant_month": _ratio(
            v["sum_n_sanctions"], v["sum_days_on_benefit"] / DAYS_PER_MONTH
        ),
        "share_ever_sanctioned": v["ever_sanctioned"] / n,
        "wrong_sanction_share": _ratio(v["sum_n_wrong_sanctions"], v["sum_n_sanctions"]),
        "overturned_share": _ratio(v["sum_n_overturned"], v["sum_n_sanctions"]),
        "adviser_minutes_per_caseload_week": _ratio(
            v["sum_adviser_minutes"], v["sum_caseload_days"] / 7.0
        ),
        "parked_share": v["parked"] / v["parked_of"] if v["parked_of"] > 0 else None,
        "cost_per_job_outcome_gbp": _ratio(v["sum_payments_gbp"], v["with_outcome"]),
    }
    for metric, column in _MEANS.items():
        count = v[f"n_{column}"]
        whole[metric] = v[f"sum_{column}"] / count if count > 0 else None
    rows += [(m, None, value) for m, value in whole.items()]
    return rows


def summary_from_sums(sums: Sums) -> pl.DataFrame:
    """Return the ledger metrics ``(metric, group, horizon_months, value)`` of some sums.

    Signal quintiles get only :data:`_QUINTILE_METRICS` and the 24-month rates.
    """
    rows = []
    for label, values in sums.items():
        v = dict(zip(SUM_STATS, values.tolist(), strict=True))
        quint = label.startswith("signal_q")
        for metric, months, value in _label_metrics(v):
            if quint and metric not in _QUINTILE_METRICS and months != 24:
                continue
            rows.append((metric, label, months, value))
    return pl.DataFrame(rows, schema=_TIDY, orient="row")


_TIDY = {
    "metric": pl.String,
    "group": pl.String,
    "horizon_months": pl.Int64,
    "value": pl.Float64,
}
"""The schema of tidy metric rows."""

PROVIDER_COSTS = (
    "cost_advisers_gbp",
    "cost_overhead_gbp",
    "cost_interviews_gbp",
    "cost_interventions_gbp",
)
"""The provider ledger's cost columns."""


def provider_metrics(providers: pl.DataFrame, mpl: list[float]) -> pl.DataFrame:
    """Provider metrics of one run's provider ledger (empty frame under the Jobcentre regime)."""
    if providers.height == 0:
        return pl.DataFrame(
            schema={
                "metric": pl.Utf8,
                "group": pl.Utf8,
                "horizon_months": pl.Int64,
                "value": pl.Float64,
            }
        )
    income = [
        "income_attachment_gbp",
        "income_outcome_gbp",
        "income_sustainment_gbp",
        "income_service_gbp",
        "income_management_fee_gbp",
    ]
    costs = list(PROVIDER_COSTS)
    tot = providers.select(
        provider_income_attachment_gbp=pl.col("income_attachment_gbp").sum(),
        provider_income_outcome_gbp=pl.col("income_outcome_gbp").sum(),
        provider_income_sustainment_gbp=pl.col("income_sustainment_gbp").sum(),
        provider_income_service_gbp=pl.col("income_service_gbp").sum(),
        provider_cost_gbp=pl.sum_horizontal(costs).sum(),
        provider_margin_gbp=(pl.sum_horizontal(income) - pl.sum_horizontal(costs)).sum(),
        provider_min_cash_balance_gbp=pl.col("cash_balance_gbp").min(),
        provider_income_management_fee_gbp=pl.col("income_management_fee_gbp").sum(),
        provider_cost_interventions_gbp=pl.col("cost_interventions_gbp").sum(),
        provider_adviser_cuts=pl.col("strain_cut").sum().cast(pl.Float64),
        provider_exits=pl.col("exited").any().over("provider").filter(pl.col("month") == 0).sum(),
    ).with_columns(
        prime_years_below_mpl_share=pl.lit(_below_mpl(providers, mpl), dtype=pl.Float64),
    )
    totals = tot.unpivot(variable_name="metric", value_name="value").with_columns(
        group=pl.lit("all"), horizon_months=pl.lit(None, dtype=pl.Int64)
    )
    return pl.concat([totals, spend_by_year(providers, costs)], how="diagonal_relaxed")


def spend_by_year(providers: pl.DataFrame, costs: list[str] | None = None) -> pl.DataFrame:
    """Spending per participant-year by contract year, overall and by payment group.

    Returns tidy rows ``(metric, group, horizon_months, value)``: see
    ``spend_per_participant_year_gbp`` in :data:`METRICS`.
    """
    costs = costs or list(PROVIDER_COSTS)
    # sums in a fixed order (numpy, rows sorted), so the result never depends on threads
    monthly = providers.sort("provider", "month")
    spend = monthly.select(s=pl.sum_horizontal(costs))["s"].to_numpy() if monthly.height else None
    if spend is None or "by_group" not in monthly.columns:
        return pl.DataFrame(schema=_TIDY)
    names = [r["group"] for r in monthly["by_group"][0]]
    field = monthly["by_group"].list

    def matrix(name: str) -> npt.NDArray[np.float64]:
        values = field.eval(pl.element().struct.field(name)).to_list()
        return np.asarray(values, dtype=np.float64).reshape(len(monthly), len(names))

    minutes, days = matrix("adviser_minutes"), matrix("participant_days")
    m_tot, d_tot = minutes.sum(axis=1, keepdims=True), days.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(m_tot > 0, minutes / m_tot, np.where(d_tot > 0, days / d_tot, 0.0))
    spend_g = spend[:, None] * share
    year = monthly["month"].to_numpy() // 12
    n_years = int(year.max()) + 1
    by_spend = np.zeros((n_years, len(names)))
    by_days = np.zeros((n_years, len(names)))
    np.add.at(by_spend, year, spend_g)
    np.add.at(by_days, year, days)
    rows = []
    for k, name in enumerate([*names, "all"]):
        s_col = by_spend.sum(axis=1) if name == "all" else by_spend[:, k]
        d_col = by_days.sum(axis=1) if name == "all" else by_days[:, k]
        busiest = float(d_col.max())
        for y in range(n_years):
            if d_col[y] > 0 and d_col[y] >= 0.05 * busiest:
                rows.append((name, 12 * (y + 1), float(s_col[y] / (d_col[y] / 365.25))))
    frame = pl.DataFrame(
        rows,
        schema={"group": pl.String, "horizon_months": pl.Int64, "value": pl.Float64},
        orient="row",
    )
    return frame.select(
        metric=pl.lit("spend_per_participant_year_gbp"),
        group="group",
        horizon_months="horizon_months",
        value="value",
    ).sort("group", "horizon_months")


def _below_mpl(providers: pl.DataFrame, mpl: list[float]) -> float | None:
    """Share of (prime, contract year) pairs below the MPL (specialists count for their prime)."""
    if not mpl:
        return None
    years = (
        providers.group_by("prime", year=pl.col("month") // 12)
        .agg(pl.col("n_attachments").sum(), pl.col("n_job_outcomes").sum())
        .filter(pl.col("n_attachments") > 0)
    )
    if years.height == 0:
        return None
    level = pl.Series([mpl[min(y, len(mpl) - 1)] for y in years["year"].to_list()])
    below = (years["n_job_outcomes"] / years["n_attachments"]) < level
    return float(below.mean())  # type: ignore[arg-type]


def summarise(
    ledger: pl.DataFrame,
    providers: pl.DataFrame,
    *,
    parked_gap_days: float,
    mpl: list[float] | None = None,
) -> pl.DataFrame:
    """Return the tidy summary ``(metric, group, horizon_months, value)`` of one run.

    Parameters
    ----------
    ledger : polars.DataFrame
        The per-claimant ledger (see :data:`sim.records.LEDGER_FIELDS`).
    providers : polars.DataFrame
        The provider ledger by month (empty under the Jobcentre Plus regime).
    parked_gap_days : float
        Days without provider contact that make a claimant parked.
    mpl : list of float, optional
        Minimum performance levels by contract year (none: no MPL metric).

    Returns
    -------
    polars.DataFrame
        Sorted by metric, group and horizon.
    """
    parts = [
        summary_from_sums(summary_sums(ledger, parked_gap_days=parked_gap_days)),
        provider_metrics(providers, mpl or []),
    ]
    return finish_summary(parts)


def finish_summary(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate tidy metric frames, values as Float64, sorted by metric, group, horizon."""
    cols = ["metric", "group", "horizon_months", "value"]
    return pl.concat(
        [p.select(cols).with_columns(pl.col("value").cast(pl.Float64)) for p in parts]
    ).sort(cols[:3], nulls_last=True)
