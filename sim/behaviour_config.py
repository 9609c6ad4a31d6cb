"""Configuration of the behaviour rules: benefit states and job retention.

The rules themselves are in :mod:`sim.benefit_states` and :mod:`sim.retention`, which
re-export these models. The models live apart because those rule modules are meant to be
compiled with mypyc with the rest of the hot path, and a pydantic model cannot be (mypyc
rejects its metaclass, and a non-native class loses the annotations pydantic reads),
just as :mod:`sim.sanctions` is compiled and the :class:`sim.config.Ladder` it reads is
not.

Every default is a prior for calibration, not a fitted value: each field names the
published figure (an id in ``published_figures.csv``) or the literature it comes from,
and how the number was derived.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from sim.config import AGE_BANDS, NonNeg, Positive, Probability, _Model
from sim.hazards import StepHazard

__all__ = [
    "BenefitDynamics",
    "InWorkSupport",
    "RateBand",
    "Retention",
    "rate_hazard",
]

OpenProbability = Annotated[float, Field(gt=0.0, lt=1.0)]
"""A probability strictly between 0 and 1 (its log-odds are finite)."""


class RateBand(_Model):
    """A piecewise-constant hazard: ``rate_per_day`` from ``from_days`` to the next band."""

    from_days: NonNeg
    """Start of the band, in days since the clock's origin (leaving benefit, job start)."""
    rate_per_day: NonNeg
    """Hazard in the band, events per day."""


def _check_rate_bands(bands: list[RateBand], what: str) -> list[RateBand]:
    if not bands:
        raise ValueError(f"{what} needs at least one band (the first at from_days = 0)")
    starts = [b.from_days for b in bands]
    if starts[0] != 0.0:
        raise ValueError(f"the first {what} band must start at from_days = 0, got {starts[0]}")
    if any(b <= a for a, b in pairwise(starts)):
        raise ValueError(f"{what} bands must have strictly increasing from_days, got {starts}")
    return bands


def rate_hazard(bands: Sequence[RateBand]) -> StepHazard:
    """Return the :class:`~sim.hazards.StepHazard` of validated rate bands (once per run).

    Raises
    ------
    ValueError
        If the bands do not start at 0 or do not increase (see :class:`StepHazard`).
    """
    return StepHazard([b.from_days for b in bands], [b.rate_per_day for b in bands])


# ------------------------------------------------------------------------------ benefit states
def _default_reclaim_after_offflow() -> list[RateBand]:
    return [
        RateBand(from_days=0.0, rate_per_day=0.01),
        RateBand(from_days=28.0, rate_per_day=0.004),
        RateBand(from_days=91.0, rate_per_day=0.0015),
        RateBand(from_days=365.0, rate_per_day=0.0005),
    ]


def _default_reclaim_after_job() -> list[RateBand]:
    return [
        RateBand(from_days=0.0, rate_per_day=0.04),
        RateBand(from_days=28.0, rate_per_day=0.01),
        RateBand(from_days=91.0, rate_per_day=0.003),
        RateBand(from_days=182.0, rate_per_day=0.001),
    ]


class BenefitDynamics(_Model):
    """Benefit states: the ESA assessment phase, the WCA outcome, repeat claims, closure.

    States and the conditionality of each are in :mod:`sim.benefit_states`.
    """

    esa_assessment_days: Positive = 91.0
    """Length of the ESA assessment phase, in days, after which the WCA outcome applies:
    13 weeks (Employment and Support Allowance Regulations 2008, SI 2008/794, reg. 4; in
    practice often longer while the WCA was awaited)."""
    p_fit_for_work: Probability = 0.48
    """Probability that the WCA at the end of the assessment phase finds the claimant fit
    for work (the claim moves to JSA). DWP 'ESA: outcomes of Work Capability Assessments',
    completed initial assessments of claims started June-August 2012: 48% fit for work, 23%
    WRAG, 29% support group (DWP press release 'Work Capability Assessment - fairer and more
    accurate', 2012, https://www.gov.uk/government/news/work-capability-assessment-fairer-and-more-accurate).
    Earlier cohorts differ (the same release: about 1 in 10 went to the support group three
    years before): override by regime. Claims closed before assessment are
    outside these shares."""
    p_support_group: Probability = 0.29
    """Probability that the WCA places the claimant in the support group (no conditions).
    Same source as ``p_fit_for_work``; the rest, ``1 - p_fit_for_work - p_support_group``,
    go to the work-related activity group (WRAG)."""
    reclaim_after_offflow: list[RateBand] = Field(default_factory=_default_reclaim_after_offflow)
    """Hazard of a new claim, per day, by days since leaving benefit WITHOUT work (failing to
    sign, ceasing to claim, a sanction that ends the claim). Prior shape: most repeat claims
    come soon after leaving (RT01: about two thirds of 2.4m new JSA claims a year are repeat
    claims, nearly half of claimants have 2+ spells in 5 years; RT05: 30.9% of off-flows are
    failures to sign, many of whom reclaim). The levels (24% back within 4 weeks, 41% within
    13, 61% within a year) are priors for calibration, not read from a figure."""
    reclaim_after_job: list[RateBand] = Field(default_factory=_default_reclaim_after_job)
    """Hazard of a new claim, per day, by days since a job ENDED. Prior chosen with
    :class:`Retention`'s job-loss bands so that together they give about RT01's returns
    after leaving for work (more than 25% back on JSA within 13 weeks, 40% back on benefits
    within 6 months; with the default priors the reference claimant returns 23% and 37%, a
    claimant with a job-loss multiplier of 1.3 returns 29% and 45%): most who lose a job
    reclaim within weeks (67% within 4 weeks, 83% within 13)."""
    p_close_on_failure_to_sign: Probability = 0.3
    """Probability that a failure to sign at the Jobcentre closes the claim (the claimant
    leaves benefit without work). Default 0.3, a prior read from SA12 (3 in 10 claimants
    referred for a sanction drop their claim, 2013), which counts a different thing; the
    joint calibration fits it (``calibration/joint.toml``) to RT05 (failures to sign are
    30.9% of JSA off-flows) and WP54 (breaks in claim), with ``attendance.p_attend``."""

    @field_validator("reclaim_after_offflow")
    @classmethod
    def _offflow_bands(cls, v: list[RateBand]) -> list[RateBand]:
        return _check_rate_bands(v, "reclaim_after_offflow")

    @field_validator("reclaim_after_job")
    @classmethod
    def _job_bands(cls, v: list[RateBand]) -> list[RateBand]:
        return _check_rate_bands(v, "reclaim_after_job")

    @model_validator(mode="after")
    def _wca_shares(self) -> BenefitDynamics:
        total = self.p_fit_for_work + self.p_support_group
        if total > 1.0:
            raise ValueError(
                f"p_fit_for_work ({self.p_fit_for_work}) + p_support_group "
                f"({self.p_support_group}) = {total:.6g} must not exceed 1 "
                f"(the rest go to the work-related activity group)"
            )
        return self

    @property
    def p_wrag(self) -> float:
        """Probability that the WCA places the claimant in the work-related activity group."""
        return max(0.0, 1.0 - self.p_fit_for_work - self.p_support_group)


# ------------------------------------------------------------------------------ retention
def _default_age_multipliers() -> dict[str, float]:
    return {"18-24": 1.3, "25-49": 1.0, "50+": 0.9}


class InWorkSupport(_Model):
    """Support from the provider in the first weeks of a job."""

    duration_days: NonNeg = 182.0
    """Days from job start during which support is given: 26 weeks, the JSA job-outcome
    qualifying period (WP06), the period a provider is paid to secure. 0: no support."""
    loss_multiplier: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """Multiplier on the job-loss hazard while supported, in (0, 1]. Prior 1 (no effect):
    the UK Employment Retention and Advancement demonstration found little lasting retention
    effect for most of its groups (Hendra et al. 2011, DWP Research Report 765), and NAO
    (2007; RT01) found little evidence on what keeps people in work. Calibrate against
    WP44-WP46 before giving it an effect."""
    cost_gbp_per_week: NonNeg = 0.0
    """Provider's cost per supported worker per week, in pounds. No published unit cost is in
    the figures file; 0 until a scenario sets one."""


class Retention(_Model):
    """Who keeps a job: heterogeneity in job loss, and in-work support.

    The job-loss hazard at tenure ``s`` (days since the job began) is::

        h(s) = rate * tenure(s) * exp(coef * distance) * benefit * condition * age
               * (in_work_support.loss_multiplier while s < in_work_support.duration_days)

    with ``rate``, ``tenure`` and ``coef`` the base in ``[employment]``
    (``job_loss_rate_per_day``, ``job_loss_tenure_bands``, ``job_loss_distance_coef``: the
    calibration maps them) for the reference claimant: JSA, no health condition, aged 25-49.
    See :mod:`sim.retention`.
    """

    loss_multiplier_jsa: Positive = 1.0
    """Multiplier on job loss for JSA claimants: the reference (1)."""
    loss_multiplier_esa: Positive = 1.3
    """Multiplier on job loss for ESA claimants. Prior: jobs are held less long by people with
    health conditions and disabilities (Hasluck & Green 2007, DWP RR 407; NAO 2007, RT01);
    the size, 1.3, is a prior for calibration (WP33, WP35 outcome rates need 13 weeks in
    work)."""
    condition_multipliers: dict[str, Positive] = Field(default_factory=dict)
    """Multiplier on job loss by health condition name (``population.conditions``); a
    condition not listed, or none, has 1. Prior: empty, as there is no published figure by
    condition; the benefit multiplier carries the average effect of ill health."""
    age_multipliers: dict[str, Positive] = Field(default_factory=_default_age_multipliers)
    """Multiplier on job loss by age band (keys from ``AGE_BANDS``; a band not listed has 1).
    Prior: young people cycle between benefit and short jobs more, older workers less
    (NAO 2007, RT01; ND01's sustained-job definition, no JSA reclaim within 13 weeks, with
    lower rates for the young); 1.3 / 1 / 0.9 are priors for calibration."""
    in_work_support: InWorkSupport = Field(default_factory=InWorkSupport)
    """Support in work and its effect on job loss."""

    @field_validator("age_multipliers")
    @classmethod
    def _age_keys(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(AGE_BANDS))
        if unknown:
            raise ValueError(f"unknown age band(s) {unknown}; valid bands are {list(AGE_BANDS)}")
        return v
