"""From a run's ledger to the model quantity each target measures.

Each measure is computed from the per-claimant ledger (polars) of one
replicate with the same denominator, cohort, horizon and outcome definition as
its published figure, and returns a :class:`Moment`: the value, its simulation
standard error and its denominator. Replicates are combined by
:func:`combine`. Times in the ledger are simulation days; a horizon of ``m``
months is ``m * 365.25 / 12`` days after referral.

Measures
--------
job_outcome_rate
    Share of the selected referrals whose job outcome (cumulative days in work
    reaching the group's qualifying days) came within the horizon of referral.
job_outcome_share_to_date
    Share of the selected referrals whose job outcome came by the end of their
    referral span (the last cohort month; all simulated months for ``all``): how the
    first statistical releases measured the Work Programme, outcomes to date over
    referrals to date (WP20, WP21), whatever each referral's time on the programme.
job_entry_rate
    Share of the selected referrals who started a job within the horizon.
attachment_rate
    Share of the selected referrals who attached to a provider (within the
    horizon of referral, if one is given).
sustained_5plus_share
    Among referrals with a job outcome and at least five sustainment intervals
    of follow-up after it, the share with five or more sustainment payments.
first_job_loss_13w_share
    Among referrals whose first job was entered from benefit (not after leaving
    benefit without a job), the share whose first job ended within 91 days.
    The realised end of the first job is not in the ledger (``n_jobs`` and
    ``days_in_work`` only bound it), so this is its exact conditional
    expectation: in the model the first job's length depends only on its own
    keyed clock and the claimant's distance, so it ends within 91 days with
    probability ``1 - exp(-k_i * L(91))``, ``k_i = job_loss_rate_per_day *
    exp(job_loss_distance_coef * distance_i)`` and ``L`` the integral of the
    tenure bands. The mean of these probabilities has the same expectation as
    the realised share and less simulation noise.
sanctions_per_claimant_month
    Sanctions applied per claimant-month on benefit (in or out of sanction).
sanction_referrals_per_claimant_month
    Failures referred to a decision maker per claimant-month on benefit, the same
    denominator as ``sanctions_per_claimant_month`` (NPI's and CESI's "referred each
    month": referrals in a month over the month's claimants, SA05, SA12).
referral_sanction_conversion
    Adverse decisions over referrals (Webster's referral-to-sanction conversion, SA11):
    every adverse decision counts, before any challenge or overturn, as published.
sanctions_per_sanctioned_claimant
    Sanctions per claimant sanctioned at least once, counted over each referral's whole
    window from referral to the end of follow-up (Webster's repeat sanctions, SA15).
leaver_sustained_job_share, leaver_sustained_job_share_gateway, leaver_sustained_job_share_option
    The New Deal leaver statistics (ND01, ND02): among participants who left benefit
    while on the programme (from attachment to ``programme_end_at``), by the stage they
    left from, the share whose immediate destination was a job they did not leave for a
    new claim within 13 weeks ("sustained = no JSA reclaim within 13 weeks"). A leaver's
    first exit from benefit is a job if the first job started before any spell off
    benefit without one (``offflow_at``); it is sustained if the first repeat claim
    (``first_reclaim_at``) did not come within 91 days of the job start. The Gateway is
    the time from attachment to the start of the scenario's first programme-delivered
    intervention (``start_after_days``), the option its ``duration_days`` after that; the
    unstaged measure counts every stage, follow-through included. Leavers are people,
    each counted at their first exit only (the published counts are leavings, so someone
    who left twice counts twice there).
leaver_sustained_job_share_to_date
    The same share among leavers who left by the end of the referral span (ND04's early
    leavers to Jan 1999: leavers to date over the programme's first months).
first_exit_to_work_share, first_exit_failed_to_sign_share
    Off-flow destinations (RT05): among referrals who left benefit, the share whose first
    exit was to a job, or a claim closed after a missed signing (``offflow_reason`` 2).
off_benefit_spell_rate
    Among referrals who attached (programme starters), the share with any spell off
    benefit (a job or an off-flow) within the horizon of referral (WP54, "had a break
    in claim").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from calibration.targets import Target
from sim.config import Scenario
from sim.contract import DAYS_PER_MONTH
from sim.hazards import StepHazard

__all__ = [
    "MAPPING_VERSION",
    "MEASURES",
    "Moment",
    "attachment_rate",
    "combine",
    "first_exit_share",
    "first_exits",
    "first_job_loss_share",
    "job_entry_rate",
    "job_outcome_rate",
    "job_outcome_share_to_date",
    "leaver_sustained_job_share",
    "measure",
    "off_benefit_spell_rate",
    "programme_stages",
    "referral_sanction_conversion",
    "sanction_referrals_per_claimant_month",
    "sanctions_per_claimant_month",
    "sanctions_per_sanctioned_claimant",
    "select",
    "sustained_share",
]

MAPPING_VERSION = "3"
"""Part of every cache key: bump it when a measure's definition changes."""

LOSS_WINDOW_DAYS = 91.0
MIN_SUSTAINMENT_PAYMENTS = 5
SUSTAINED_LEAVER_DAYS = 91.0
"""ND01: a leaver's job is sustained if there is no JSA reclaim within 13 weeks."""
FAILED_TO_SIGN = 2
"""``offflow_reason`` of a claim closed after a missed signing (sim.records)."""


@dataclass(frozen=True)
class Moment:
    """A simulated model quantity.

    Attributes
    ----------
    value : float
        The quantity in model units (a proportion, or events per claimant-month);
        NaN if its denominator is empty.
    se : float
        Simulation standard error (binomial, or Poisson for counts).
    n : float
        Denominator: claimants, or claimant-months for a rate.
    """

    value: float
    se: float
    n: float


def _share(hits: int, n: int) -> Moment:
    if n == 0:
        return Moment(math.nan, math.nan, 0.0)
    p = hits / n
    return Moment(p, math.sqrt(max(p * (1.0 - p), 0.25 / n) / n), float(n))


def _within(column: str, horizon_days: float | None) -> pl.Expr:
    """True where ``column`` is set and, if a horizon is given, within it of referral."""
    hit = pl.col(column).is_not_null()
    if horizon_days is not None:
        hit = hit & ((pl.col(column) - pl.col("referred_at")) <= horizon_days)
    return hit.fill_null(False)


def select(
    ledger: pl.DataFrame,
    groups: Sequence[str],
    cohort_days: tuple[float, float] | None,
    arms: Sequence[str] = (),
) -> pl.DataFrame:
    """Return the referrals of ``groups`` referred within ``cohort_days`` (``[start, end)``),
    in ``arms`` if any are given (the ledger's ``arm`` column)."""
    keep = pl.col("group").is_in(list(groups))
    if arms:
        keep = keep & pl.col("arm").is_in(list(arms))
    if cohort_days is not None:
        start, end = cohort_days
        keep = keep & (pl.col("referred_at") >= start) & (pl.col("referred_at") < end)
    return ledger.filter(keep)


def job_outcome_rate(ledger: pl.DataFrame, horizon_days: float) -> Moment:
    """Share of referrals with a job outcome within ``horizon_days`` of referral."""
    hits = int(ledger.select(_within("outcome_at", horizon_days).sum()).item())
    return _share(hits, ledger.height)


def job_outcome_share_to_date(ledger: pl.DataFrame, to_day: float) -> Moment:
    """Share of referrals with a job outcome before simulation day ``to_day``."""
    hits = int(ledger.select((pl.col("outcome_at") < to_day).fill_null(False).sum()).item())
    return _share(hits, ledger.height)


def job_entry_rate(ledger: pl.DataFrame, horizon_days: float) -> Moment:
    """Share of referrals who started a job within ``horizon_days`` of referral."""
    hits = int(ledger.select(_within("first_job_at", horizon_days).sum()).item())
    return _share(hits, ledger.height)


def attachment_rate(ledger: pl.DataFrame, horizon_days: float | None) -> Moment:
    """Share of referrals attached to a provider (within ``horizon_days`` if given)."""
    hits = int(ledger.select(_within("attached_at", horizon_days).sum()).item())
    return _share(hits, ledger.height)


def sustained_share(
    ledger: pl.DataFrame,
    interval_days: dict[str, float],
    min_payments: int = MIN_SUSTAINMENT_PAYMENTS,
) -> Moment:
    """Share of outcome achievers with at least ``min_payments`` sustainment payments.

    Parameters
    ----------
    ledger : polars.DataFrame
        Selected referrals.
    interval_days : dict
        Sustainment interval (days) by payment group.
    min_payments : int
        Payments needed.

    Returns
    -------
    Moment
        Denominator: achievers whose follow-up after the outcome (to ``horizon_at``)
        is at least ``min_payments`` intervals, so that every one of them could have
        reached the threshold.
    """
    interval = pl.col("group").replace_strict(interval_days, default=28.0, return_dtype=pl.Float64)
    exposed = ledger.filter(
        pl.col("outcome_at").is_not_null()
        & (pl.col("horizon_at") - pl.col("outcome_at") >= min_payments * interval)
    )
    hits = int((exposed["n_sustainment_payments"] >= min_payments).sum())
    return _share(hits, exposed.height)


def first_job_loss_share(
    ledger: pl.DataFrame,
    job_loss_rate_per_day: float,
    distance_coef: float,
    tenure_bands: StepHazard,
    within_days: float = LOSS_WINDOW_DAYS,
) -> Moment:
    """Expected share of first jobs entered from benefit that end within ``within_days``.

    Parameters
    ----------
    ledger : polars.DataFrame
        Selected referrals.
    job_loss_rate_per_day, distance_coef : float
        ``employment.job_loss_rate_per_day`` and ``employment.job_loss_distance_coef``.
    tenure_bands : sim.hazards.StepHazard
        The job-loss multiplier by tenure.
    within_days : float
        Window after the job starts.

    Returns
    -------
    Moment
        The mean over starters of each one's probability of losing the first job
        within the window (see the module docstring); the se is binomial on the
        number of starters (conservative).
    """
    starters = ledger.filter(
        pl.col("first_job_at").is_not_null()
        & (pl.col("offflow_at").is_null() | (pl.col("offflow_at") > pl.col("first_job_at")))
    )
    if starters.height == 0:
        return Moment(math.nan, math.nan, 0.0)
    exposure = job_loss_rate_per_day * tenure_bands.cumulative(within_days)
    k = (distance_coef * pl.col("distance")).exp() * exposure
    p = float(starters.select((1.0 - (-k).exp()).mean()).item())
    n = starters.height
    return Moment(p, math.sqrt(max(p * (1.0 - p), 0.25 / n) / n), float(n))


def _per_claimant_month(ledger: pl.DataFrame, column: str) -> Moment:
    """Events of ``column`` per claimant-month on benefit (in or out of sanction).

    The se is the linearised (ratio-estimator) one with claimants as clusters, since
    the events repeat within claimants (at least the Poisson se of the count).
    """
    months_i = ledger["days_on_benefit"].cast(pl.Float64) / DAYS_PER_MONTH
    count_i = ledger[column].cast(pl.Float64)
    months, count = float(months_i.sum()), float(count_i.sum())
    if months <= 0.0:
        return Moment(math.nan, math.nan, 0.0)
    rate = count / months
    resid = count_i - rate * months_i
    cluster_var = float((resid * resid).sum())
    se = math.sqrt(max(cluster_var, count, 1.0)) / months
    return Moment(rate, se, months)


def sanctions_per_claimant_month(ledger: pl.DataFrame) -> Moment:
    """Sanctions applied per claimant-month on benefit.

    The se is the linearised (ratio-estimator) one with claimants as clusters, since
    sanctions repeat within claimants (at least the Poisson se of the count).
    """
    return _per_claimant_month(ledger, "n_sanctions")


def sanction_referrals_per_claimant_month(ledger: pl.DataFrame) -> Moment:
    """Sanction referrals per claimant-month on benefit (SA05, SA12).

    The numerator is ``n_sanction_referrals`` (failures referred to a decision maker),
    the denominator that of :func:`sanctions_per_claimant_month`: claimant-months on
    benefit, in or out of sanction (``days_on_benefit``), so the two rates share it as
    NPI's referral and sanction rates share the month's claimants. The se is the
    clustered ratio one of :func:`sanctions_per_claimant_month`.
    """
    return _per_claimant_month(ledger, "n_sanction_referrals")


def referral_sanction_conversion(ledger: pl.DataFrame) -> Moment:
    """Adverse decisions over sanction referrals (SA11).

    Every adverse decision applied counts, overturned later or not (the published
    conversion is before challenge). Referrals still awaiting a decision when the
    claimant's follow-up ends count in the denominator only (``decision_days`` of the
    last few weeks: a small downward bias). The se is the clustered ratio one with
    claimants as clusters, at least the binomial se on the referrals.
    """
    refs_i = ledger["n_sanction_referrals"].cast(pl.Float64)
    adverse_i = ledger["n_sanctions"].cast(pl.Float64)
    refs, adverse = float(refs_i.sum()), float(adverse_i.sum())
    if refs <= 0.0:
        return Moment(math.nan, math.nan, 0.0)
    p = adverse / refs
    resid = adverse_i - p * refs_i
    cluster_se = math.sqrt(float((resid * resid).sum())) / refs
    binom_se = math.sqrt(max(p * (1.0 - p), 0.25 / refs) / refs)
    return Moment(p, max(cluster_se, binom_se), refs)


def sanctions_per_sanctioned_claimant(ledger: pl.DataFrame) -> Moment:
    """Mean sanctions among referrals sanctioned at least once (SA15).

    The window is each referral's horizon in the ledger (referral to the end of
    follow-up, ``horizon_at``): ``n_sanctions`` counts the adverse decisions applied in
    it. The se is the sample sd over the sanctioned claimants / sqrt(n) (at least
    1 / sqrt(n)).
    """
    counts = ledger.filter(pl.col("n_sanctions") > 0)["n_sanctions"].to_numpy().astype(float)
    n = len(counts)
    if n == 0:
        return Moment(math.nan, math.nan, 0.0)
    mean = float(counts.mean())
    sd = float(counts.std(ddof=1)) if n > 1 else 0.0
    return Moment(mean, max(sd, 1.0) / math.sqrt(n), float(n))


def first_exits(ledger: pl.DataFrame) -> pl.DataFrame:
    """Add each referral's first exit from benefit to the ledger.

    Columns added: ``exit_at`` (the first job start if it came before any off-flow
    without a job, else ``offflow_at``; null if the claimant never left benefit),
    ``exit_to_job`` (the first exit was a job) and ``exit_sustained`` (it was a job
    and the first repeat claim, if any, came more than :data:`SUSTAINED_LEAVER_DAYS`
    after it).
    """
    job = pl.col("first_job_at")
    off = pl.col("offflow_at")
    to_job = (job.is_not_null() & (off.is_null() | (off > job))).fill_null(False)
    reclaim = pl.col("first_reclaim_at")
    sustained = to_job & (reclaim.is_null() | ((reclaim - job) > SUSTAINED_LEAVER_DAYS)).fill_null(
        False
    )
    return ledger.with_columns(
        exit_at=pl.when(to_job).then(job).otherwise(off),
        exit_to_job=to_job,
        exit_sustained=sustained,
    )


def leaver_sustained_job_share(
    ledger: pl.DataFrame,
    stage_days: tuple[float, float] = (0.0, math.inf),
    before_day: float = math.inf,
) -> Moment:
    """Share of programme leavers whose immediate destination was a sustained job.

    Parameters
    ----------
    ledger : polars.DataFrame
        Selected referrals (with ``first_reclaim_at``).
    stage_days : (float, float)
        ``[start, end)`` of the stage, in days after attachment, that the leaver left
        from; leavers also left before ``programme_end_at``.
    before_day : float
        Only leavers who left before this simulation day (leavers to date).

    Returns
    -------
    Moment
        Denominator: attached referrals whose first exit from benefit came in the stage
        (and before ``before_day``) with at least :data:`SUSTAINED_LEAVER_DAYS` of
        follow-up after it; numerator: those whose exit was a sustained job (see
        :func:`first_exits`). Binomial se.
    """
    start, end = stage_days
    since = pl.col("exit_at") - pl.col("attached_at")
    leavers = first_exits(ledger).filter(
        (
            pl.col("attached_at").is_not_null()
            & pl.col("exit_at").is_not_null()
            & (since >= start)
            & (since < end)
            & (pl.col("exit_at") < pl.col("programme_end_at"))
            & (pl.col("exit_at") < before_day)
            & (pl.col("exit_at") + SUSTAINED_LEAVER_DAYS <= pl.col("horizon_at"))
        ).fill_null(False)
    )
    return _share(int(leavers["exit_sustained"].sum()), leavers.height)


def first_exit_share(ledger: pl.DataFrame, destination: str) -> Moment:
    """Share of first exits from benefit by destination (RT05).

    Parameters
    ----------
    ledger : polars.DataFrame
        Selected referrals.
    destination : {"job", "failed_to_sign"}
        A job, or a claim closed after a missed signing (``offflow_reason`` 2).

    Returns
    -------
    Moment
        Denominator: referrals who left benefit at least once. Binomial se.

    Raises
    ------
    ValueError
        If ``destination`` is not one of the two.
    """
    exits = first_exits(ledger).filter(pl.col("exit_at").is_not_null())
    if destination == "job":
        hit = pl.col("exit_to_job")
    elif destination == "failed_to_sign":
        hit = ~pl.col("exit_to_job") & (pl.col("offflow_reason") == FAILED_TO_SIGN)
    else:
        raise ValueError(f"unknown destination {destination!r}; expected job or failed_to_sign")
    return _share(int(exits.select(hit.fill_null(False).sum()).item()), exits.height)


def off_benefit_spell_rate(ledger: pl.DataFrame, horizon_days: float) -> Moment:
    """Share of programme starters with any spell off benefit within ``horizon_days``.

    Starters are referrals who attached; a spell off benefit is the first exit of
    :func:`first_exits` (a job or an off-flow), counted from referral (WP54).
    """
    starters = first_exits(ledger).filter(pl.col("attached_at").is_not_null())
    hits = int(starters.select(_within("exit_at", horizon_days).sum()).item())
    return _share(hits, starters.height)


def _horizon_days(target: Target) -> float | None:
    return None if target.horizon_months is None else target.horizon_months * DAYS_PER_MONTH


def _outcome(target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return job_outcome_rate(df, _horizon_days(target) or math.inf)


def _to_date(target: Target, df: pl.DataFrame, sc: Scenario) -> Moment:
    end = target.cohort_days[1] if target.cohort_days else sc.run.cohort_months * DAYS_PER_MONTH
    return job_outcome_share_to_date(df, end)


def _entry(target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return job_entry_rate(df, _horizon_days(target) or math.inf)


def _attach(target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return attachment_rate(df, _horizon_days(target))


def _sustained(_target: Target, df: pl.DataFrame, sc: Scenario) -> Moment:
    intervals = {g: c.sustainment_interval_days for g, c in sc.contract.groups.items()}
    return sustained_share(df, intervals)


def _loss(_target: Target, df: pl.DataFrame, sc: Scenario) -> Moment:
    emp = sc.employment
    bands = StepHazard(
        [b.from_days for b in emp.job_loss_tenure_bands],
        [b.multiplier for b in emp.job_loss_tenure_bands],
    )
    return first_job_loss_share(df, emp.job_loss_rate_per_day, emp.job_loss_distance_coef, bands)


def _sanctions(_target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return sanctions_per_claimant_month(df)


def _referrals(_target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return sanction_referrals_per_claimant_month(df)


def _conversion(_target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return referral_sanction_conversion(df)


def _repeat(_target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return sanctions_per_sanctioned_claimant(df)


def programme_stages(sc: Scenario) -> dict[str, tuple[float, float]]:
    """The stages of a New Deal, in days after attachment, from the scenario.

    ``gateway`` runs to the start of the first programme-delivered intervention (the
    option), ``option`` for its duration; ``all`` is every stage.

    Raises
    ------
    ValueError
        If the scenario has no programme-delivered intervention (target validation
        refuses stage measures on such scenarios first).
    """
    ivs = [iv for iv in sc.interventions if iv.delivered_by == "programme"]
    if not ivs:
        raise ValueError(f"scenario {sc.name!r} has no programme-delivered intervention")
    first = min(ivs, key=lambda iv: iv.start_after_days)
    start = first.start_after_days
    return {
        "gateway": (0.0, start),
        "option": (start, start + first.duration_days),
        "all": (0.0, math.inf),
    }


def _leavers(stage: str) -> Callable[[Target, pl.DataFrame, Scenario], Moment]:
    def compute(_target: Target, df: pl.DataFrame, sc: Scenario) -> Moment:
        bounds = (0.0, math.inf) if stage == "all" else programme_stages(sc)[stage]
        return leaver_sustained_job_share(df, bounds)

    return compute


def _leavers_to_date(target: Target, df: pl.DataFrame, sc: Scenario) -> Moment:
    end = target.cohort_days[1] if target.cohort_days else sc.run.cohort_months * DAYS_PER_MONTH
    return leaver_sustained_job_share(df, before_day=end)


def _exit_job(_target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return first_exit_share(df, "job")


def _exit_failed_to_sign(_target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return first_exit_share(df, "failed_to_sign")


def _spell(target: Target, df: pl.DataFrame, _sc: Scenario) -> Moment:
    return off_benefit_spell_rate(df, _horizon_days(target) or math.inf)


MEASURES: dict[str, Callable[[Target, pl.DataFrame, Scenario], Moment]] = {
    "job_outcome_rate": _outcome,
    "job_outcome_share_to_date": _to_date,
    "job_entry_rate": _entry,
    "attachment_rate": _attach,
    "sustained_5plus_share": _sustained,
    "first_job_loss_13w_share": _loss,
    "sanctions_per_claimant_month": _sanctions,
    "sanction_referrals_per_claimant_month": _referrals,
    "referral_sanction_conversion": _conversion,
    "sanctions_per_sanctioned_claimant": _repeat,
    "leaver_sustained_job_share": _leavers("all"),
    "leaver_sustained_job_share_gateway": _leavers("gateway"),
    "leaver_sustained_job_share_option": _leavers("option"),
    "leaver_sustained_job_share_to_date": _leavers_to_date,
    "first_exit_to_work_share": _exit_job,
    "first_exit_failed_to_sign_share": _exit_failed_to_sign,
    "off_benefit_spell_rate": _spell,
}
"""Measure name -> function of (target, selected ledger, scenario)."""


def measure(target: Target, ledger: pl.DataFrame, scenario: Scenario) -> Moment:
    """Compute ``target``'s model quantity from one replicate's whole ledger.

    Parameters
    ----------
    target : Target
        A validated target (its measure is one of :data:`MEASURES`).
    ledger : polars.DataFrame
        The ledger of one replicate of ``target.scenario``.
    scenario : Scenario
        The scenario that produced the ledger (for contract and job-loss settings).

    Returns
    -------
    Moment

    Raises
    ------
    KeyError
        If ``target.measure`` is not a known measure (validation prevents this).
    """
    selected = select(ledger, target.groups, target.cohort_days, target.arms)
    return MEASURES[target.measure](target, selected, scenario)


def combine(moments: Sequence[Moment]) -> Moment:
    """Average replicate moments: mean value, se of the mean, summed denominators.

    Replicates with an empty denominator are left out; all empty gives NaN.
    """
    ok = [m for m in moments if m.n > 0 and math.isfinite(m.value)]
    if not ok:
        return Moment(math.nan, math.nan, 0.0)
    r = len(ok)
    value = sum(m.value for m in ok) / r
    se = math.sqrt(sum(m.se**2 for m in ok)) / r
    return Moment(value, se, sum(m.n for m in ok))
