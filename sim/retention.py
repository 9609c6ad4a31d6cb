"""Job retention as pure functions: duration dependence, heterogeneity, in-work support.

A job ends when its cumulative job-loss hazard reaches a keyed unit-exponential clock
``e``. The hazard at tenure ``s`` (days since the job began) is::

    h(s) = m * b(s) * (support_multiplier if s < support_days else 1)

with ``b`` the piecewise-constant base by tenure (``employment.job_loss_tenure_bands``,
high early and falling later, times ``employment.job_loss_rate_per_day``), ``m`` the
claimant's multiplier (:func:`loss_multiplier`: benefit x health condition x age band x
``exp(distance_coef * distance)``) and the in-work support multiplier
(``Retention.in_work_support``) applying for the first ``support_days`` of the job. The
cumulative hazard is

    Lambda(t) = m * sm * B(min(t, d)) + m * (B(t) - B(min(t, d)))

(``B`` the integral of ``b``, ``d`` the support days, ``sm`` its multiplier), the
survival is ``exp(-Lambda(t))`` (:func:`p_still_in_work`) and the job ends at
``Lambda^-1(e)`` (:func:`job_end_after_days`). A support multiplier of 1 takes the
unsupported path exactly, so switching support on with no effect changes no draw.

The base is a :class:`~sim.hazards.StepHazard` built once per run; the scalar functions
take floats and that object, so they compile with mypyc. Transcendental functions come
from :mod:`sim.fmath`.
"""

from __future__ import annotations

from typing import Final

from sim.behaviour_config import InWorkSupport, Retention
from sim.config import AGE_BANDS
from sim.fmath import exp
from sim.hazards import INF, StepHazard

__all__ = [
    "InWorkSupport",
    "Retention",
    "claimant_loss_multiplier",
    "cumulative_loss",
    "job_end_after_days",
    "loss_multiplier",
    "p_still_in_work",
    "support_cost_gbp",
]

DAYS_PER_WEEK: Final = 7.0


def loss_multiplier(
    benefit_multiplier: float,
    condition_multiplier: float,
    age_multiplier: float,
    distance_coef: float,
    distance: float,
) -> float:
    """Return a claimant's job-loss multiplier: the product of the factors.

    ``benefit_multiplier * condition_multiplier * age_multiplier *
    exp(distance_coef * distance)``.

    Raises
    ------
    ValueError
        If a multiplier is negative or NaN.
    """
    if not (benefit_multiplier >= 0.0 and condition_multiplier >= 0.0 and age_multiplier >= 0.0):
        raise ValueError(
            f"multipliers (benefit={benefit_multiplier}, condition={condition_multiplier}, "
            f"age={age_multiplier}) must be >= 0."
        )
    return (
        benefit_multiplier * condition_multiplier * age_multiplier * exp(distance_coef * distance)
    )


def claimant_loss_multiplier(
    cfg: Retention,
    esa: bool,
    condition: str | None,
    age_band: str,
    distance: float,
    distance_coef: float,
) -> float:
    """Return :func:`loss_multiplier` for a claimant described by name.

    Parameters
    ----------
    cfg : Retention
        The multipliers.
    esa : bool
        Whether the claimant's benefit is ESA (else JSA).
    condition : str or None
        The claimant's health condition; None, or a condition not in
        ``cfg.condition_multipliers``, has multiplier 1.
    age_band : str
        One of ``AGE_BANDS``; a band not in ``cfg.age_multipliers`` has multiplier 1.
    distance : float
        Latent distance from work.
    distance_coef : float
        ``employment.job_loss_distance_coef``: job loss scales with
        ``exp(distance_coef * distance)``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``age_band`` is not one of ``AGE_BANDS``.
    """
    if age_band not in AGE_BANDS:
        raise ValueError(f"age_band(={age_band!r}) must be one of {list(AGE_BANDS)}.")
    benefit = cfg.loss_multiplier_esa if esa else cfg.loss_multiplier_jsa
    cond = 1.0 if condition is None else cfg.condition_multipliers.get(condition, 1.0)
    age = cfg.age_multipliers.get(age_band, 1.0)
    return loss_multiplier(benefit, cond, age, distance_coef, distance)


def _check(multiplier: float, support_days: float, support_multiplier: float) -> None:
    if not multiplier >= 0.0:
        raise ValueError(f"multiplier(={multiplier}) must be >= 0.")
    if not support_days >= 0.0:
        raise ValueError(f"support_days(={support_days}) must be >= 0.")
    if not support_multiplier > 0.0:
        raise ValueError(f"support_multiplier(={support_multiplier}) must be > 0.")


def cumulative_loss(
    t_days: float,
    multiplier: float,
    tenure: StepHazard,
    support_days: float,
    support_multiplier: float,
) -> float:
    """Return the cumulative job-loss hazard ``Lambda(t_days)`` of a job.

    Parameters
    ----------
    t_days : float
        Tenure, days since the job began (>= 0).
    multiplier : float
        The claimant's job-loss multiplier (>= 0; :func:`loss_multiplier`).
    tenure : StepHazard
        Base job-loss rate per day by tenure (:func:`tenure_hazard`).
    support_days : float
        In-work support lasts this many days from the job's start (>= 0; 0: none).
    support_multiplier : float
        Multiplier on the hazard while supported (> 0; 1: no effect).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``t_days`` or ``multiplier`` is negative, ``support_days`` negative or
        ``support_multiplier`` not positive.
    """
    if not t_days >= 0.0:
        raise ValueError(f"t_days(={t_days}) must be >= 0.")
    _check(multiplier, support_days, support_multiplier)
    if support_days <= 0.0 or support_multiplier == 1.0:
        return multiplier * tenure.cumulative(t_days)
    if t_days <= support_days:
        return multiplier * support_multiplier * tenure.cumulative(t_days)
    at_end = tenure.cumulative(support_days)
    return multiplier * (support_multiplier * at_end + (tenure.cumulative(t_days) - at_end))


def job_end_after_days(
    e: float,
    multiplier: float,
    tenure: StepHazard,
    support_days: float,
    support_multiplier: float,
) -> float:
    """Return the tenure, in days, at which a job ends: the inverse of :func:`cumulative_loss`.

    To carry the clock over a change of ``multiplier`` at tenure ``s`` (the remaining clock
    carries over), call with ``cumulative_loss(s, new...) + e - cumulative_loss(s, old...)``.

    Parameters
    ----------
    e : float
        A keyed unit-exponential clock (>= 0).
    multiplier, tenure, support_days, support_multiplier
        As for :func:`cumulative_loss`.

    Returns
    -------
    float
        Days from the job's start to its end; ``inf`` if it never ends (multiplier 0, or a
        last band of zero hazard not reached by ``e``).

    Raises
    ------
    ValueError
        If ``e`` is negative or NaN, or as for :func:`cumulative_loss`.
    """
    if not e >= 0.0:
        raise ValueError(f"e(={e}) must be >= 0.")
    _check(multiplier, support_days, support_multiplier)
    if multiplier == 0.0:
        return INF
    if support_days <= 0.0 or support_multiplier == 1.0:
        return tenure.solve(e / multiplier)
    at_end = tenure.cumulative(support_days)
    supported = multiplier * support_multiplier * at_end
    if e <= supported:
        return tenure.solve(e / (multiplier * support_multiplier))
    return tenure.solve(at_end + (e - supported) / multiplier)


def p_still_in_work(
    t_days: float,
    multiplier: float,
    tenure: StepHazard,
    support_days: float,
    support_multiplier: float,
) -> float:
    """Return the probability that a job lasts beyond ``t_days``: ``exp(-Lambda(t_days))``.

    Parameters and errors as for :func:`cumulative_loss`.
    """
    return exp(-cumulative_loss(t_days, multiplier, tenure, support_days, support_multiplier))


def support_cost_gbp(job_days: float, support_days: float, cost_gbp_per_week: float) -> float:
    """Return the provider's cost of in-work support for a job that lasted ``job_days``.

    ``cost_gbp_per_week`` (``InWorkSupport.cost_gbp_per_week``) for each week of the job
    within the first ``support_days`` (``InWorkSupport.duration_days``), pro rata.

    Raises
    ------
    ValueError
        If an argument is negative or NaN.
    """
    if not (job_days >= 0.0 and support_days >= 0.0 and cost_gbp_per_week >= 0.0):
        raise ValueError(
            f"job_days(={job_days}), support_days(={support_days}) and "
            f"cost_gbp_per_week(={cost_gbp_per_week}) must be >= 0."
        )
    return cost_gbp_per_week * min(job_days, support_days) / DAYS_PER_WEEK
