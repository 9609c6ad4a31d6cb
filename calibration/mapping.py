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
    "first_job_loss_share",
    "job_entry_rate",
    "job_outcome_rate",
    "job_outcome_share_to_date",
    "measure",
    "sanctions_per_claimant_month",
    "select",
    "sustained_share",
]

MAPPING_VERSION = "3"
"""Part of every cache key: bump it when a measure's definition changes."""

LOSS_WINDOW_DAYS = 91.0
MIN_SUSTAINMENT_PAYMENTS = 5


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
    ledger: pl.DataFrame, groups: Sequence[str], cohort_days: tuple[float, float] | None
) -> pl.DataFrame:
    """Return the referrals of ``groups`` referred within ``cohort_days`` (``[start, end)``)."""
    keep = pl.col("group").is_in(list(groups))
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


def sanctions_per_claimant_month(ledger: pl.DataFrame) -> Moment:
    """Sanctions applied per claimant-month on benefit.

    The se is the linearised (ratio-estimator) one with claimants as clusters, since
    sanctions repeat within claimants (at least the Poisson se of the count).
    """
    months_i = ledger["days_on_benefit"].cast(pl.Float64) / DAYS_PER_MONTH
    count_i = ledger["n_sanctions"].cast(pl.Float64)
    months, count = float(months_i.sum()), float(count_i.sum())
    if months <= 0.0:
        return Moment(math.nan, math.nan, 0.0)
    rate = count / months
    resid = count_i - rate * months_i
    cluster_var = float((resid * resid).sum())
    se = math.sqrt(max(cluster_var, count, 1.0)) / months
    return Moment(rate, se, months)


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


MEASURES: dict[str, Callable[[Target, pl.DataFrame, Scenario], Moment]] = {
    "job_outcome_rate": _outcome,
    "job_outcome_share_to_date": _to_date,
    "job_entry_rate": _entry,
    "attachment_rate": _attach,
    "sustained_5plus_share": _sustained,
    "first_job_loss_13w_share": _loss,
    "sanctions_per_claimant_month": _sanctions,
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
    selected = select(ledger, target.groups, target.cohort_days)
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
