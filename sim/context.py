"""What a claimant's journey reads: per-run constants and per-claimant columns.

Kept in its own module so that it is compiled with the journey (see ``setup.py``):
compiled code then reads its fields directly instead of through attribute lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.attendance import AttendanceParams
from sim.behaviour_config import BenefitDynamics
from sim.config import ContractGroup, Intervention, Ladder
from sim.hazards import EntryHazard, StepHazard
from sim.records import EventLog, JourneyRecords

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """Everything a journey reads: per-run constants and per-claimant columns (lists)."""

    claimant_id: list[int]
    """Each row's claimant id (the key of its draws): the row itself in a whole run, the
    id in the whole run's population in a shard of areas."""
    referred_at: list[float]
    attach_at: list[float]
    attaches: list[bool]
    programme_end_at: list[float]
    horizon_at: list[float]
    claim_start_at: list[float]
    rate_per_day: list[float]
    k_entry: list[float]
    k_loss: list[float]
    p_ill: list[float]
    esa: list[bool]
    groups: list[ContractGroup]
    contract: Any
    start_month: str
    entry: EntryHazard
    loss: StepHazard
    k_off: float
    effect_per_hour: float
    entry_mult_off_benefit: float
    entry_mult_sanctioned: float
    off_mult_sanctioned: float
    sanctions_enabled: bool
    p_refer: float
    p_adverse: float
    p_good_reason_rejected: float
    decision_days: float
    p_overturn_wrong: float
    p_overturn_right: float
    overturn_days: float
    escalation_window_days: float
    no_escalation_days: float
    ladder_jsa: Ladder
    ladder_esa: Ladder
    base_entry: int
    base_off: int
    base_loss: int
    base_attend_jcp: int
    base_attend_provider: int
    base_refer: int
    base_reason: int
    base_decision: int
    base_overturn: int
    records: JourneyRecords
    events: EventLog | None
    monthly: list[list[int]]
    """Event counts by code and calendar month (see sim.records.monthly_frame)."""
    arm: list[int]
    jcp_by_arm: list[tuple[float, float, float, int | None, float, int | None]]
    """Per arm: first interview days, interval, minutes, n_interviews, interval after,
    n mandatory."""
    interventions: list[Intervention]
    iv_take: list[tuple[int, ...]]
    """Per claimant: the interventions (indices) they are eligible for and take up."""
    loss_distance_coef: float
    regimes: list[tuple[float, Ladder, Ladder, Ladder]]
    """(from day, JSA ladder, ESA ladder, JSA higher-level ladder), in time order."""
    p_higher_level: float
    base_higher: int
    p_hardship: float
    hardship_after_days: float
    hardship_fraction: float
    base_hardship: int
    # services
    jcp_effect_per_hour: float
    effect_gain: list[float]
    """Per claimant: exp((1 - gradient) * distance), how the service effect varies with
    distance from work (``employment.effect_distance_gradient``)."""
    # attendance
    attendance: AttendanceParams
    miss_logit_shift: list[float]
    """Per claimant: the shift in the log-odds of missing a contact (condition, age)."""
    attendance_certain: bool
    # obligations and requirement routes (sim.conditionality.ROUTES)
    benefit_state: list[int]
    """Per claimant: the benefit state at referral (``sim.benefit_states.BenefitState``)."""
    volunteer: list[bool]
    """Per claimant: joined the programme voluntarily (an ESA volunteer is never sanctioned)."""
    wca_at: list[float]
    """Per claimant: the day of the Work Capability Assessment outcome (inf: none to come)."""
    benefit_dynamics: BenefitDynamics
    base_wca: int
    signing_interval_days: float
    signing_minutes: float
    p_close_on_failure_to_sign: float
    base_close: int
    job_search_doubt_per_day: float
    base_job_search: int
    p_left_voluntarily: float
    base_left_job: int
    route_p_refer: list[float]
    route_p_adverse: list[float]
    route_higher: list[bool]
    reengage_rate_per_day: float
    base_compliance: int
    # repeat claims
    reclaim_after_offflow: StepHazard
    reclaim_after_job: StepHazard
    base_reclaim: int
    # in-work support (provider-delivered, on jobs that start on the programme)
    support_days: float
    support_loss_multiplier: float
    support_cost_gbp_per_week: float

    def ladder_for(self, esa: bool, higher: bool, failed_at: float) -> Ladder:
        """Return the ladder in force for a failure on day ``failed_at``."""
        regime = self.regimes[0]
        for r in self.regimes:
            if r[0] <= failed_at:
                regime = r
        return regime[2] if esa else (regime[3] if higher else regime[1])
