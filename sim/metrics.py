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

__all__ = ["METRICS", "summarise"]

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


def _quintiles(ledger: pl.DataFrame) -> pl.DataFrame:
    q = (pl.col("signal").rank("ordinal") - 1) * 5 // pl.len()
    return ledger.with_columns(("signal_q" + (q + 1).cast(pl.Utf8)).alias("signal_quintile"))


def _rates(df: pl.DataFrame, by: str) -> pl.DataFrame:
    rows = []
    for months in (12, 24):
        days = months * DAYS_PER_MONTH
        since = pl.col("referred_at")
        rows.append(
            df.group_by(by)
            .agg(
                job_outcome_rate=((pl.col("outcome_at") - since) <= days).fill_null(False).mean(),
                job_entry_rate=((pl.col("first_job_at") - since) <= days).fill_null(False).mean(),
            )
            .unpivot(index=by, variable_name="metric", value_name="value")
            .with_columns(horizon_months=pl.lit(months, dtype=pl.Int64))
        )
    return pl.concat(rows)


def _whole(df: pl.DataFrame, by: str, parked_gap_days: float) -> pl.DataFrame:
    attached = pl.col("attached_at").is_not_null()
    agg = df.group_by(by, maintain_order=True).agg(
        n_referrals=pl.len().cast(pl.Float64),
        attachment_rate=attached.mean(),
        days_in_work=pl.col("days_in_work").mean(),
        days_on_benefit=pl.col("days_on_benefit").mean(),
        benefit_paid_gbp=pl.col("benefit_paid_gbp").mean(),
        sanctions_per_claimant_month=pl.col("n_sanctions").sum()
        / (pl.col("days_on_benefit").sum() / DAYS_PER_MONTH),
        share_ever_sanctioned=(pl.col("n_sanctions") > 0).mean(),
        sanction_referrals_per_claimant=pl.col("n_sanction_referrals").mean(),
        wrong_sanction_share=pl.col("n_wrong_sanctions").sum() / pl.col("n_sanctions").sum(),
        overturned_share=pl.col("n_overturned").sum() / pl.col("n_sanctions").sum(),
        adviser_minutes_per_claimant=pl.col("adviser_minutes").mean(),
        adviser_minutes_per_caseload_week=pl.col("adviser_minutes").sum()
        / (pl.col("caseload_days").sum() / 7.0),
        parked_share=(pl.col("max_contact_gap_days") >= parked_gap_days).filter(attached).mean(),
        payments_per_referral_gbp=pl.col("payments_gbp").mean(),
        interventions_per_referral=pl.col("n_interventions").mean(),
        intervention_cost_per_referral_gbp=pl.col("intervention_cost_gbp").mean(),
        hardship_paid_per_referral_gbp=pl.col("hardship_paid_gbp").mean(),
        cost_per_job_outcome_gbp=pl.col("payments_gbp").sum()
        / pl.col("outcome_at").is_not_null().sum(),
    )
    return agg.unpivot(index=by, variable_name="metric", value_name="value").with_columns(
        horizon_months=pl.lit(None, dtype=pl.Int64)
    )


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


def _providers(providers: pl.DataFrame, mpl: list[float]) -> pl.DataFrame:
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


def _by_arm(ledger: pl.DataFrame, parked_gap_days: float) -> list[pl.DataFrame]:
    """Rates and whole-horizon metrics by trial arm (group ``arm=NAME``), if there are arms."""
    if "arm" not in ledger.columns or ledger["arm"].eq("none").all():
        return []
    arms = ledger.with_columns(group="arm=" + pl.col("arm"))
    return [_rates(arms, "group"), _whole(arms, "group", parked_gap_days)]


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
    all_ = ledger.with_columns(group=pl.lit("all"))
    by_group = pl.concat([ledger, all_], how="vertical_relaxed")
    quint = _quintiles(ledger).drop("group").rename({"signal_quintile": "group"})
    parts = [
        _rates(by_group, "group"),
        _whole(by_group, "group", parked_gap_days),
        _whole(quint, "group", parked_gap_days).filter(
            pl.col("metric").is_in(
                [
                    "adviser_minutes_per_claimant",
                    "adviser_minutes_per_caseload_week",
                    "parked_share",
                ]
            )
        ),
        _rates(quint, "group").filter(pl.col("horizon_months") == 24),
        _providers(providers, mpl or []),
        *_by_arm(ledger, parked_gap_days),
    ]
    cols = ["metric", "group", "horizon_months", "value"]
    return pl.concat(
        [p.select(cols).with_columns(pl.col("value").cast(pl.Float64)) for p in parts]
    ).sort(cols[:3], nulls_last=True)
