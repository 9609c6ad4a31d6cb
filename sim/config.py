"""Typed, frozen scenario configuration.

A scenario file (TOML) is merged with the files it ``extends`` and validated
into :class:`Scenario` before anything is built. Every model forbids unknown
keys and every field carries its unit in its name (``_days``, ``_gbp``,
``p_``, ``n_``, ``_per_day``). Loading, merging and error reporting live in
:mod:`sim.scenario`; this module only says what a valid scenario is.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AGE_BANDS",
    "Arm",
    "Attendance",
    "Contract",
    "ContractGroup",
    "Employment",
    "Hardship",
    "HealthCondition",
    "Intervention",
    "Jcp",
    "LabourMarket",
    "Ladder",
    "Offflow",
    "Population",
    "PopulationGroup",
    "Provider",
    "Providers",
    "Records",
    "RegimeChange",
    "Run",
    "Sanctions",
    "Scenario",
    "Subcontracting",
    "month_index",
]

AGE_BANDS: tuple[str, ...] = ("18-24", "25-49", "50+")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def month_index(month: str) -> int:
    """Return ``12 * year + (month - 1)`` for a ``"YYYY-MM"`` string."""
    year, mon = month.split("-")
    return 12 * int(year) + int(mon) - 1


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
    )


def _check_names(names: list[str] | set[str], what: str) -> None:
    bad = sorted(n for n in names if not _NAME_RE.match(n))
    if bad:
        raise ValueError(f"{what} names must be lower_snake_case identifiers, got {bad}")


class Run(_Model):
    """Calendar and horizon of a run."""

    start_month: Month = "2011-06"
    """Calendar month in which day 0 of the simulation falls."""
    cohort_months: int = Field(12, ge=1, le=240)
    """Referrals are spread over this many monthly cohorts from ``start_month``."""
    referral_weights: list[NonNeg] | None = None
    """Relative referral volume per cohort month (length ``cohort_months``); None is flat."""
    programme_weeks: Positive = 104.0
    """Length of the programme attachment, from attachment."""
    follow_up_weeks: NonNeg = 52.0
    """Follow-up after programme end; each claimant is followed for programme + follow-up."""

    @model_validator(mode="after")
    def _weights_match(self) -> Run:
        w = self.referral_weights
        if w is not None:
            if len(w) != self.cohort_months:
                raise ValueError(
                    f"referral_weights has {len(w)} entries but cohort_months is "
                    f"{self.cohort_months}; give one weight per cohort month"
                )
            if sum(w) <= 0:
                raise ValueError("referral_weights must not all be zero")
        return self


class HealthCondition(_Model):
    """A health condition category and its effects."""

    share: Probability
    """Share of claimants with a condition who have this one."""
    distance_shift: float = 0.0
    """Added to latent distance from work."""
    attendance_logit_shift: float = 0.0
    """Added to the log-odds of attending an interview."""
    p_ill_health_fta: Probability = 0.3
    """Probability that a failure to attend is due to ill health (a good reason)."""


class PopulationGroup(_Model):
    """One payment group of referrals."""

    code: int = Field(ge=1, le=99)
    """Payment group number in the contract (WP groups 1-9)."""
    benefit: Literal["JSA", "ESA"]
    share: Probability
    """Share of referrals in this group."""
    referral_point_months: NonNeg
    """Months on benefit at referral (claim duration), for duration dependence."""
    age_mix: dict[str, Probability]
    """Probability of each age band (keys from AGE_BANDS); must sum to 1."""
    p_health_condition: Probability
    weekly_rate_gbp: NonNeg
    """Weekly benefit rate for claimants aged 25 or over."""
    weekly_rate_under_25_gbp: NonNeg | None = None
    """Weekly benefit rate under 25; None means the same as ``weekly_rate_gbp``."""
    distance_mean: float
    """Mean latent distance from work; job-entry hazard scales with exp(-distance)."""
    distance_sd: NonNeg
    p_attach: Probability = 0.95
    """Probability that a referral attaches to the provider."""
    attach_delay_days: NonNeg = 14.0
    volunteer: bool = False
    """ESA volunteers (e.g. ESA claimants in the support group who join the Work Programme,
    WP group 5) take part but can never be sanctioned (``sim.benefit_states.conditionality``)."""
    esa_phase_at_referral: Literal["assessment", "wrag", "support"] = "wrag"
    """For an ESA group, where the claim is at referral: in the assessment phase (the Work
    Capability Assessment then sends the claimant to JSA, the work-related activity group
    or the support group ``benefit_dynamics.esa_assessment_days`` after the claim began),
    already in the work-related activity group, or in the support group (no conditions).
    Ignored for JSA groups."""

    @field_validator("age_mix")
    @classmethod
    def _age_mix_valid(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(AGE_BANDS))
        if unknown:
            raise ValueError(f"unknown age band(s) {unknown}; valid bands are {list(AGE_BANDS)}")
        if abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"age_mix must sum to 1, got {sum(v.values()):.6g}")
        return v


class AgeBand(_Model):
    """Effects of an age band."""

    distance_shift: float = 0.0
    attendance_logit_shift: float = 0.0


class MixPeriod(_Model):
    """The payment-group mix of referrals from a calendar month on."""

    from_month: Month
    """First calendar month of the period."""
    shares: dict[str, NonNeg]
    """Relative referral volume of each payment group in the period (normalised; a group
    not named gets no referrals in it)."""


class Population(_Model):
    """Synthetic referrals: payment groups, conditions and age bands."""

    groups: dict[str, PopulationGroup]
    conditions: dict[str, HealthCondition]
    age_bands: dict[str, AgeBand] = Field(default_factory=dict)
    mix_by_period: list[MixPeriod] = Field(default_factory=list)
    """The group mix of referrals by calendar period, in month order; a referral's group
    is drawn from the mix in force in its referral month (before the first period, the
    groups' ``share``). Lets a whole-programme run follow published changes in its
    intake (e.g. the Work Programme's WP16 / WP17 mix and later ESA extensions)."""

    @model_validator(mode="after")
    def _consistent(self) -> Population:
        _check_names(set(self.groups), "group")
        _check_names(set(self.conditions), "condition")
        if not self.groups:
            raise ValueError("population.groups must name at least one payment group")
        total = sum(g.share for g in self.groups.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"group shares must sum to 1, got {total:.6g}")
        if self.conditions:
            ctotal = sum(c.share for c in self.conditions.values())
            if abs(ctotal - 1.0) > 1e-6:
                raise ValueError(f"condition shares must sum to 1, got {ctotal:.6g}")
        unknown = sorted(set(self.age_bands) - set(AGE_BANDS))
        if unknown:
            raise ValueError(f"unknown age band(s) {unknown}; valid bands are {list(AGE_BANDS)}")
        codes = [g.code for g in self.groups.values()]
        if len(set(codes)) != len(codes):
            raise ValueError(f"group codes must be distinct, got {sorted(codes)}")
        self._check_mix()
        return self

    def _check_mix(self) -> None:
        months = [month_index(p.from_month) for p in self.mix_by_period]
        if any(b <= a for a, b in pairwise(months)):
            raise ValueError(
                "mix_by_period: from_month must increase, got "
                f"{[p.from_month for p in self.mix_by_period]}"
            )
        for k, period in enumerate(self.mix_by_period):
            unknown = sorted(set(period.shares) - set(self.groups))
            if unknown:
                raise ValueError(
                    f"mix_by_period[{k}].shares: unknown group(s) {unknown}; "
                    f"groups: {sorted(self.groups)}"
                )
            if sum(period.shares.values()) <= 0.0:
                raise ValueError(f"mix_by_period[{k}].shares: must not all be zero")


class Band(_Model):
    """A piecewise-constant hazard multiplier starting at ``from_days``."""

    from_days: NonNeg
    multiplier: NonNeg


def _check_bands(bands: list[Band], what: str) -> list[Band]:
    if not bands:
        return bands
    starts = [b.from_days for b in bands]
    if starts[0] != 0.0:
        raise ValueError(f"the first {what} band must start at from_days = 0, got {starts[0]}")
    if any(b <= a for a, b in pairwise(starts)):
        raise ValueError(f"{what} bands must have strictly increasing from_days, got {starts}")
    return bands


class Employment(_Model):
    """Job entry and job loss as hazards."""

    entry_rate_per_day: Positive = 0.003
    """Job-entry hazard at distance 0, labour-market index 1, no adviser time."""
    entry_duration_bands: list[Band] = Field(default_factory=list)
    """Multiplier on entry by claim duration (days since the claim began)."""
    effect_per_adviser_hour_per_week: NonNeg = 0.5
    """Proportional rise in the entry hazard per provider adviser hour per week of contact
    (at distance 0; see ``effect_distance_gradient``)."""
    effect_distance_gradient: float = 1.0
    """How a service's effect varies with distance from work (eta, dimensionless): the
    absolute rise in the entry hazard scales with ``exp(-eta * distance)``. 1 makes it
    proportional to the claimant's own hazard (the effect is largest for the job-ready,
    so creaming is impact-efficient by construction); 0 gives every claimant the same
    absolute effect; above 1 the job-ready gain relatively more. A prior to be estimated
    by the joint calibration, not a finding."""
    entry_multiplier_sanctioned: NonNeg = 1.0
    entry_multiplier_off_benefit: NonNeg = 1.0
    job_loss_rate_per_day: NonNeg = 0.002
    """Job-loss hazard at distance 0 in the first tenure band."""
    job_loss_distance_coef: float = 0.0
    """Job-loss hazard scales with exp(coef * distance)."""
    job_loss_tenure_bands: list[Band] = Field(default_factory=list)
    """Multiplier on job loss by days since the job began."""

    @field_validator("entry_duration_bands")
    @classmethod
    def _entry_bands(cls, v: list[Band]) -> list[Band]:
        return _check_bands(v, "entry_duration")

    @field_validator("job_loss_tenure_bands")
    @classmethod
    def _loss_bands(cls, v: list[Band]) -> list[Band]:
        return _check_bands(v, "job_loss_tenure")


class Offflow(_Model):
    """Leaving benefit without a job."""

    rate_per_day: NonNeg = 0.0005
    multiplier_sanctioned: NonNeg = 3.0


class Attendance(_Model):
    """Attendance at contacts: by frequency, compulsion and sanction history.

    The log-odds of attending a contact are the claimant's own (``p_attend`` with the
    condition and age shifts) plus ``logit_per_prior_fta`` per earlier failure,
    ``logit_per_prior_sanction`` per earlier sanction, ``voluntary_logit_shift`` if the
    contact is voluntary, and ``-frequency_elasticity * log(interval / reference)``. With
    an elasticity between 0 and 1 each of many frequent contacts is less likely missed
    than one of a few, so failures per week grow less than proportionally with the
    number of contacts (a closed form in ``tests/test_attendance.py``).
    """

    p_attend: Probability = 0.9
    """Probability of attending a compulsory contact every ``reference_interval_days``,
    for a claimant with no condition and no history."""
    logit_per_prior_fta: float = -0.3
    """Change in the log-odds of attending per earlier failure to attend (persistence)."""
    logit_per_prior_sanction: float = 0.3
    """Change in the log-odds of attending per earlier sanction (deterrence: sanctions
    raise compliance; Lalive, van Ours & Zweimueller 2005, Econ. J. 115:1386; Arni,
    Lalive & van Ours 2013, J. Appl. Econometrics 28:1153). A prior to be calibrated."""
    frequency_elasticity: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """theta: the log-odds of missing a contact move by ``theta * log(interval /
    reference)``. 0 makes each contact equally likely missed at any frequency (failures
    per week proportional to contacts); 1 makes failures per week the same at any
    frequency. A prior to be calibrated (daily signing in Help to Work: HW rows)."""
    reference_interval_days: Positive = 14.0
    """The interval at which ``p_attend`` applies (fortnightly signing)."""
    voluntary_logit_shift: float = -0.5
    """Change in the log-odds of attending a voluntary contact (no sanction follows)."""
    p_ill_health_fta_no_condition: Probability = 0.1
    """Probability that a failure to attend by a claimant with no condition is due to ill health."""


class Ladder(_Model):
    """A sanction escalation ladder."""

    weeks: list[NonNeg] = Field(min_length=1)
    """Fixed spell length by level (1st, 2nd, 3rd+ failure within the window)."""
    open_ended: bool = False
    """If true, the spell lasts until the claimant re-engages (``sanctions.reengage_rate_per_day``)
    plus ``weeks`` (ESA from December 2012: SA04)."""
    fraction_of_benefit: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0


class RegimeChange(_Model):
    """Ladders in force for failures on or after ``from_month``."""

    from_month: Month
    ladder_jsa: Name
    ladder_esa: Name
    ladder_jsa_higher: Name | None = None


class Hardship(_Model):
    """Hardship payments during a sanction."""

    p_claim: Probability = 0.0
    """Probability that a sanctioned claimant claims hardship (one keyed draw per sanction)."""
    after_days: NonNeg = 14.0
    """Hardship is paid from this many days after the sanction starts."""
    fraction_of_sanction: Probability = 0.6
    """Share of the sanctioned amount paid back as hardship."""


class Requirement(_Model):
    """One route to a sanction referral, with its own referral and decision rates."""

    p_refer: Probability | None = None
    """Probability that a failure is referred to a decision maker; None: ``sanctions.p_refer``."""
    p_adverse: Probability | None = None
    """Probability of an adverse decision with no good reason; None: ``sanctions.p_adverse``."""
    higher_level: bool = False
    """If true, an adverse decision is a higher-level JSA sanction."""


class JobSearchRequirement(Requirement):
    """Actively seeking work (JSA): doubts arise as a hazard while a jobseeker is on benefit."""

    doubt_rate_per_day: NonNeg = 0.0008
    """Rate at which a doubt about job search arises, per day on JSA. Prior: about 2.4% of
    jobseekers a month, a third of the 6.3-8.9% referred each month in 2000-12 (SA05), the
    share "not actively seeking work" had among JSA sanction decisions 2010-13 (DWP
    sanction decision statistics by reason, summarised by Webster 2014: SA06's source).
    A prior to calibrate."""
    p_adverse: Probability | None = 0.5
    """Adverse share of job-search decisions. Prior: SA12 (adverse share of all decisions
    fell from 50% to 43%, 2013)."""


class LeavingJobRequirement(Requirement):
    """Leaving a job voluntarily or losing it through misconduct (a higher-level failure)."""

    higher_level: bool = True
    p_per_job_end: Probability = 0.1
    """Share of job ends that are voluntary quits or dismissals for misconduct (keyed draw
    per job), referred when the claimant claims again. A prior: leaving voluntarily and
    misconduct were about 1 in 10 JSA sanction decisions 2010-13 (Webster 2014)."""


class Requirements(_Model):
    """The requirements whose failure can be referred, each with its own rates."""

    fta_jcp: Requirement = Field(default_factory=Requirement)
    """Failing to attend a Jobcentre contact (signing or interview)."""
    fta_provider: Requirement = Field(default_factory=Requirement)
    """Failing to attend a provider's mandatory activity or meeting."""
    activity: Requirement = Field(default_factory=Requirement)
    """Not taking part in a placement or mandatory activity (an intervention's contacts)."""
    job_search: JobSearchRequirement = Field(default_factory=JobSearchRequirement)
    leaving_job: LeavingJobRequirement = Field(default_factory=LeavingJobRequirement)


class Sanctions(_Model):
    """Conditionality: referral by requirement, decision, spell and overturn."""

    enabled: bool = True
    p_refer: Probability = 0.6
    """Probability that a failure is referred to a decision maker (unless the requirement
    sets its own)."""
    decision_days: NonNeg = 14.0
    p_adverse: Probability = 0.75
    """Probability of an adverse decision when there was no good reason (unless the
    requirement sets its own)."""
    requirements: Requirements = Field(default_factory=Requirements)
    reengage_rate_per_day: NonNeg = 1.0 / 28.0
    """Rate at which a claimant under an open-ended (ESA) sanction re-engages, ending it
    after its fixed part; 0 never. A prior (Work and Pensions Committee 2015, HC 814
    paras 114-115, describes open-ended sanctions ended by compliance)."""
    p_good_reason_rejected: Probability = 0.3
    """Probability that ill health is NOT accepted as good reason (a wrong sanction)."""
    p_overturn_wrong: Probability = 0.5
    p_overturn_right: Probability = 0.1
    overturn_days: NonNeg = 42.0
    escalation_window_weeks: NonNeg = 52.0
    no_escalation_within_weeks: NonNeg = 2.0
    ladder_jsa: Name = "jsa_pre_2012"
    ladder_esa: Name = "esa_pre_2012"
    ladder_jsa_higher: Name | None = None
    """Ladder for higher-level JSA failures; None treats every failure as lower level."""
    p_higher_level: Probability = 0.0
    """Share of referred JSA failures that are higher-level (e.g. refusing a notified job)."""
    regime_changes: list[RegimeChange] = Field(default_factory=list)
    """Later regimes, by the month of the failure (e.g. October 2012 for JSA)."""
    hardship: Hardship = Field(default_factory=Hardship)
    ladders: dict[str, Ladder] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ladders_exist(self) -> Sanctions:
        named: list[tuple[str, str | None]] = [
            ("ladder_jsa", self.ladder_jsa),
            ("ladder_esa", self.ladder_esa),
            ("ladder_jsa_higher", self.ladder_jsa_higher),
        ]
        for k, change in enumerate(self.regime_changes):
            named += [
                (f"regime_changes[{k}].ladder_jsa", change.ladder_jsa),
                (f"regime_changes[{k}].ladder_esa", change.ladder_esa),
                (f"regime_changes[{k}].ladder_jsa_higher", change.ladder_jsa_higher),
            ]
        for key, name in named:
            if name is not None and name not in self.ladders:
                raise ValueError(
                    f"{key} = {name!r} is not a defined ladder; defined: {sorted(self.ladders)}"
                )
        months = [month_index(c.from_month) for c in self.regime_changes]
        if any(b <= a for a, b in pairwise(months)):
            raise ValueError("regime_changes must be in strictly increasing from_month order")
        if self.p_higher_level > 0 and self.ladder_jsa_higher is None:
            raise ValueError("p_higher_level > 0 needs ladder_jsa_higher")
        return self


class Jcp(_Model):
    """The Jobcentre Plus offer: before attachment, in the counterfactual, after the programme."""

    interview_interval_days: Positive = 14.0
    interview_minutes: NonNeg = 10.0
    cost_per_interview_gbp: NonNeg = 8.0
    first_interview_days: NonNeg | None = None
    """Days from referral (or programme end) to the first interview; None is one interval."""
    n_interviews: int | None = Field(None, ge=1)
    """After this many interviews the interval becomes ``interval_after_days``."""
    interval_after_days: Positive = 182.0
    """Interview interval after the first ``n_interviews`` (e.g. Pathways' six WFIs)."""
    n_mandatory_interviews: int | None = Field(None, ge=0)
    """Only the first this many interviews are mandatory (no sanction after); None: all."""
    effect_per_adviser_hour_per_week: NonNeg | None = None
    """Proportional rise in the entry hazard per Jobcentre adviser hour per week of contact;
    None: ``employment.effect_per_adviser_hour_per_week``."""
    signing_interval_days_on_programme: NonNeg = 14.0
    """Jobseekers keep signing at the Jobcentre this often while on a programme (the Work
    Programme kept fortnightly signing: DWP, Work Programme Provider Guidance ch. 2); 0 for
    none. ESA claimants never sign."""
    signing_minutes: NonNeg = 5.0
    """Jobcentre adviser minutes per signing on a programme."""


class Provider(_Model):
    """How each prime provider delivers, and what it costs."""

    policy: Literal["uniform", "needs_based", "payment_maximising", "mixed"] = "uniform"
    public_service_weight: Probability = 0.5
    """Weight on the needs-based allocation under the ``mixed`` policy."""
    public_service_value_gbp: NonNeg | None = None
    """If set, the ``mixed`` provider values a job outcome for its own sake at this amount,
    and its weight on the needs-based allocation is this over (this plus the mean payment an
    outcome brings in its caseload): the more a contract pays on outcomes, the more the
    provider follows the money. None: ``public_service_weight`` is fixed."""
    signal_noise_sd: NonNeg = 0.5
    """SD of the noise in the provider's signal of distance from work."""
    interview_minutes: Positive = 45.0
    first_interview_days: NonNeg = 7.0
    induction_interval_days: Positive = 14.0
    """Interview interval before the claimant's first review."""
    min_interval_days: Positive = 7.0
    """Most intensive service: an interview every this many days."""
    max_interval_days: Positive = 91.0
    """Least intensive ('bare minimum') service."""
    review_interval_days: Positive = 28.0
    """How often the provider re-triages its caseload."""
    caseload_per_adviser: Positive = 120.0
    """Planned caseload per adviser; sets headcount from expected caseload."""
    n_advisers: int | None = Field(None, ge=1)
    """Fixed headcount per provider; overrides ``caseload_per_adviser``."""
    adviser_minutes_per_week: Positive = 1350.0
    """Interview minutes one adviser can give per week."""
    adviser_cost_gbp_per_week: NonNeg = 550.0
    """Salary and on-costs of one adviser, paid whether or not the adviser is busy."""
    overhead_rate: NonNeg = 0.5
    """Premises, management and systems as a share of adviser costs."""
    cost_per_interview_gbp: NonNeg = 3.0
    """Variable cost of an attended interview (travel refunds, materials)."""
    working_capital_weeks: NonNeg = 26.0
    """Starting cash, in weeks of adviser and overhead costs."""
    expected_share_of_max_sustainment: Probability = 0.5
    """The provider's belief of the share of maximum sustainment payments an outcome earns."""
    n_mandatory_interviews: int | None = Field(None, ge=0)
    """Only the first this many programme interviews are mandatory; None: all are."""
    strain_cash_weeks: float | None = None
    """At a month end with cash below this many weeks of costs, cut advisers; None: never."""
    cut_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.25
    """Share of advisers cut at each month end under strain (at least one, keeping one)."""
    exit_cash_weeks: float | None = None
    """At a month end with cash below this many weeks of costs, leave the market and hand
    the caseload to another prime in the area; None: never."""

    @model_validator(mode="after")
    def _intervals(self) -> Provider:
        if self.min_interval_days > self.max_interval_days:
            raise ValueError(
                f"min_interval_days ({self.min_interval_days}) must not exceed "
                f"max_interval_days ({self.max_interval_days})"
            )
        if (
            self.strain_cash_weeks is not None
            and self.exit_cash_weeks is not None
            and self.exit_cash_weeks >= self.strain_cash_weeks
        ):
            raise ValueError(
                f"exit_cash_weeks ({self.exit_cash_weeks}) must be below "
                f"strain_cash_weeks ({self.strain_cash_weeks})"
            )
        return self


class Subcontracting(_Model):
    """Each prime's specialist subcontractor in its supply chain.

    A prime passes a claimant on by choice, at attachment: when the management fee it
    expects beats what it expects to keep by serving the claimant itself, and the
    specialist has room (:mod:`sim.subcontract`).
    """

    management_fee_share: Probability = 0.15
    """Share of the specialist's payments the prime keeps as a management fee."""
    condition_effect_multiplier: Positive = 1.0
    """The specialist's adviser effect for claimants with a health condition, relative
    to a prime's (its specialism; the prime knows it from the specialist's record)."""
    specialist: Provider = Field(default_factory=Provider)
    """How the specialist delivers, and what it costs (its caseload limit is its
    headcount times ``caseload_per_adviser``)."""
    planned_share: Probability | None = None
    """Share of each prime's referrals its bid promised the specialist: it sets the
    specialist's starting headcount and months open (members taken by their keyed
    allocation uniform), while the prime still chooses at each attachment, so a
    specialist can be starved of the referrals it staffed for. None: the referrals the
    prime would pass on at referral under its prior beliefs. Specialist subcontractors
    in Work Programme supply chains received far fewer referrals than bids implied
    (seed 002); the share itself is scenario data."""


class Providers(_Model):
    """Contract package areas and their prime providers."""

    primes_per_area: list[Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=lambda: [2], min_length=1
    )
    """Number of prime providers in each contract package area (one entry per area)."""
    provider: Provider = Field(default_factory=Provider)
    subcontracting: Subcontracting | None = None
    """A specialist subcontractor for each prime; None: primes deliver everything."""
    beliefs: Beliefs = Field(default_factory=lambda: Beliefs())
    """What providers believe of claimants' job chances and their service's effect, and
    whether they learn."""
    economics: Economics = Field(default_factory=lambda: Economics())
    """How providers set their adviser headcount."""
    primes: PrimeDraws = Field(default_factory=lambda: PrimeDraws())
    """How primes in an area differ (effectiveness, cost, optimism, mission)."""


class ContractGroup(_Model):
    """Prices for one payment group."""

    attachment_fee_gbp: NonNeg = 0.0
    outcome_fee_gbp: NonNeg = 0.0
    qualifying_days: NonNeg = 182.0
    """Days in work that trigger the job outcome payment (see ``cumulation``).

    0 pays the outcome at job entry (Pathways: "a job expected to last 13 weeks").
    """
    cumulation: Literal["cumulative", "continuous"] = "cumulative"
    """How days in work add up to ``qualifying_days``: ``cumulative`` over any number of
    jobs (the Work Programme: "a job outcome can be made up of a series of short jobs",
    WP06), or ``continuous``, in one job (the New Deal's sustained job: 13 weeks with no
    reclaim, ND01)."""
    cumulation_window_days: Positive | None = None
    """With ``cumulative``, only days in work within this many days before the outcome
    count (Provider-led Pathways: 13 of the previous 26 weeks, PW18); None: all since
    attachment."""
    sustainment_fee_gbp: NonNeg = 0.0
    """Paid for each ``sustainment_interval_days`` of continuous work after the outcome."""
    max_sustainment_payments: int = Field(0, ge=0)
    sustainment_interval_days: Positive = 28.0
    interview_fee_gbp: NonNeg = 0.0
    """Service fee paid to the provider for each attended programme interview, up to
    ``max_paid_interviews`` per claimant: a fee the contract ties to an activity.
    Provider-led Pathways paid a service fee for the core elements, the work-focused
    interviews and the Condition Management Programme (PW18); the level is scenario data."""
    max_paid_interviews: int = Field(0, ge=0)
    """Attended programme interviews per claimant that earn ``interview_fee_gbp`` (e.g. the
    six mandatory work-focused interviews of Pathways, PW19)."""


class Contract(_Model):
    """A payment-by-results contract, as data."""

    groups: dict[str, ContractGroup]
    attachment_fee_end_month: Month | None = None
    """No attachment fee for attachments in or after this month."""
    price_index_by_year: list[NonNeg] = Field(default_factory=lambda: [1.0])
    """Multiplier on outcome and sustainment fees by contract year (last value persists)."""
    minimum_performance_levels: list[Probability] = Field(default_factory=list)
    """MPL by contract year: job outcomes in the year / attachments in the year (last persists)."""
    market_share_shift: Probability = 0.0
    """At each contract-year end, this share of new referrals in an area moves from the
    lowest- to the highest-performing prime (performance as for the MPL)."""
    min_market_share: Probability = 0.1
    """No prime's share falls below this through market share shift."""
    below_mpl: BelowMpl = Field(default_factory=lambda: BelowMpl())
    """What a prime below the minimum performance level faces at a contract-year end."""


class Intervention(_Model):
    """A time-limited intervention: CMP, a New Deal option, a work placement, daily signing."""

    name: Name
    delivered_by: Literal["programme", "jcp"] = "programme"
    """``programme``: starts relative to attachment, for members of a provider's caseload,
    cost to the provider; ``jcp``: relative to referral, cost to the purchaser."""
    benefits: list[Literal["JSA", "ESA"]] | None = None
    """Benefits whose claimants are eligible (e.g. the Condition Management Programme for
    incapacity benefits); None: all. Eligibility never names a payment group: a service
    follows from who the claimant is and the contract's prices, not a group's label."""
    needs_condition: bool = False
    """Only claimants with a health condition are eligible."""
    arms: list[str] | None = None
    """Trial arms eligible; None: all."""
    p_take_up: Probability = 1.0
    """Probability that an eligible claimant starts (one keyed draw per intervention)."""
    start_after_days: NonNeg = 0.0
    duration_days: Positive = 91.0
    entry_multiplier_during: NonNeg = 1.0
    """Job-entry hazard multiplier while on the intervention (below 1: lock-in)."""
    distance_change: float = 0.0
    """Added to distance from work on completion (negative: closer to work)."""
    interview_interval_days: Positive | None = None
    """Interview interval while on the intervention (e.g. 1 for daily signing); None: unchanged."""
    interview_minutes: NonNeg | None = None
    """Minutes per interview while on the intervention; None: unchanged."""
    cost_gbp: NonNeg = 0.0
    """Cost per starter, booked at the start."""
    service_fee_gbp: NonNeg = 0.0
    """Service fee the contract pays the provider for each start of a programme-delivered
    intervention (Provider-led Pathways paid a service fee for its core elements, the
    work-focused interviews and the Condition Management Programme, PW18); a
    Jobcentre-delivered intervention earns no provider anything."""


class Arm(_Model):
    """One arm of a randomised trial inside a scenario."""

    share: Probability
    """Share of claimants randomised to this arm."""
    jcp: Jcp | None = None
    """This arm's Jobcentre Plus offer; None: the scenario's ``[jcp]``."""


class LabourMarket(_Model):
    """A labour-market index by calendar month multiplying every job-entry hazard."""

    index_by_month: list[Positive] = Field(default_factory=lambda: [1.0], min_length=1)
    """From ``run.start_month``; the last value persists."""
    series: str | None = None
    """A published monthly series shipped with pbrsim (``sim/data/labour_market/NAME.csv``,
    e.g. ``uk_unemployment_rate``) that multiplies the index by
    ``(reference_rate_percent / u) ** unemployment_elasticity`` (:mod:`sim.labour_market`);
    None: the index alone."""
    unemployment_elasticity: NonNeg = 0.0
    """Elasticity of the job-entry hazard with respect to the series (a behavioural
    parameter, shared by every programme's period; to be estimated)."""
    reference_rate_percent: Positive = 5.0
    """The series value at which it leaves the index unchanged."""

    @model_validator(mode="after")
    def _known_series(self) -> LabourMarket:
        from sim.labour_market import series_names  # imports this module: resolve late

        if self.series is not None and self.series not in (names := series_names()):
            raise ValueError(f"series: unknown series {self.series!r}; shipped series: {names}")
        return self


class Records(_Model):
    """What to record."""

    event_log: bool = False
    parked_gap_days: Positive = 56.0
    """A claimant is parked if this long passes without adviser contact on the programme."""


# the behaviour rules' models import this module's primitives, defined above
from sim.behaviour_config import BenefitDynamics, Retention  # noqa: E402
from sim.market_config import Beliefs, BelowMpl, Economics, PrimeDraws  # noqa: E402

# Providers and Contract name models defined in sim.market_config (imported above, as it
# imports this module's types): resolve their annotations now.
Providers.model_rebuild()
Contract.model_rebuild()


class Scenario(_Model):
    """A whole validated scenario."""

    name: Name
    description: str = ""
    extends: str | None = None
    regime: Literal["programme", "jcp"] = "programme"
    """``programme``: providers deliver; ``jcp``: the Jobcentre Plus offer alone."""
    run: Run = Field(default_factory=Run)
    population: Population
    employment: Employment = Field(default_factory=Employment)
    offflow: Offflow = Field(default_factory=Offflow)
    attendance: Attendance = Field(default_factory=Attendance)
    sanctions: Sanctions
    jcp: Jcp = Field(default_factory=Jcp)
    benefit_dynamics: BenefitDynamics = Field(default_factory=BenefitDynamics)
    """Repeat claims after leaving benefit (with or without a job) and claims closed
    after a missed signing."""
    retention: Retention = Field(default_factory=Retention)
    """Who keeps a job (job loss by benefit, health condition and age, on top of
    ``[employment]``'s base) and in-work support from the provider."""
    providers: Providers = Field(default_factory=Providers)
    contract: Contract
    labour_market: LabourMarket = Field(default_factory=LabourMarket)
    interventions: list[Intervention] = Field(default_factory=list)
    arms: dict[str, Arm] = Field(default_factory=dict)
    """Trial arms (randomised by a keyed draw); empty: no trial."""
    records: Records = Field(default_factory=Records)
    sources: dict[str, str] = Field(default_factory=dict)
    """Source note per dotted parameter key.

    For example ``"contract.groups.jsa_25_plus.outcome_fee_gbp" = "WP02: ..."``.
    """

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        missing = sorted(set(self.population.groups) - set(self.contract.groups))
        if missing:
            raise ValueError(
                f"contract.groups has no prices for population group(s) {missing}; "
                f"priced groups: {sorted(self.contract.groups)}"
            )
        # each message starts with the key it is about (sim.scenario points the error there)
        _check_names(set(self.arms), "arms: arm")
        if self.arms:
            total = sum(a.share for a in self.arms.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"arms: the shares must sum to 1, got {total:.6g}")
        names = [iv.name for iv in self.interventions]
        if len(set(names)) != len(names):
            raise ValueError(f"interventions: names must be distinct, got {names}")
        for iv in self.interventions:
            unknown = sorted(set(iv.arms or []) - set(self.arms))
            if unknown:
                raise ValueError(
                    f"interventions: {iv.name!r} names unknown arm(s) {unknown}; "
                    f"arms: {sorted(self.arms)}"
                )
        return self
