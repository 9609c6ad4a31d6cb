"""Time on benefit, in work and off benefit, and leaving benefit without a job.

:func:`accrue` adds the days since the last event to the claimant's sums and the
benefit paid, net of a sanction and with hardship payments; it is called before any
state change. :func:`leave_without_job` is where leaving benefit without work (the
off-flow clock firing, or a claim closed after a missed signing) is applied, with its
reason recorded, and a repeat claim drawn; :func:`claim_again` is where a claimant who
left (with or without a job) claims again. :func:`set_benefit_state` takes a state's
conditionality from the table of :mod:`sim.benefit_states`, and :func:`on_wca` applies
the Work Capability Assessment's outcome at the end of the ESA assessment phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sim.benefit_states import (
    BenefitState,
    conditionality,
    is_esa,
    reclaim_at,
    returns_to_provider,
    wca_outcome,
)
from sim.clocks import restart_off_clock, update_hazards
from sim.conditionality import (
    clear_sanctions,
    draw_job_search_doubt,
    on_leaving_job,
    refresh_all_attendance,
)
from sim.events import IN_WORK, OFF_BENEFIT, ON_BENEFIT, Event
from sim.hazards import INF
from sim.interviews import jcp_schedule, pause_all, signing_on_programme
from sim.programme import leave_caseload, rejoin
from sim.rng import exponential_from_base, uniform_from_base
from sim.services import drop_interventions

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = [
    "CEASED",
    "FAILED_TO_SIGN",
    "accrue",
    "claim_again",
    "leave_without_job",
    "on_wca",
    "set_benefit_state",
]


def accrue(j: Journey, now: float) -> None:
    """Add the days from the last event to ``now`` to the sums of the current state."""
    dt = now - j.t_last
    if dt <= 0.0:
        return
    if j.status == ON_BENEFIT:
        j.days_on_benefit += dt
        rate = j.ctx.rate_per_day[j.i]
        if j.sanctioned:
            j.days_sanctioned += dt
            j.benefit_paid += dt * rate * (1.0 - j.sanc_frac)
            if now > j.hard_from:
                hard = (now - max(j.t_last, j.hard_from)) * rate * j.sanc_frac
                hard *= j.ctx.hardship_fraction
                j.benefit_paid += hard
                j.hardship_paid += hard
        else:
            j.benefit_paid += dt * rate
        if j.on_prog:
            j.caseload_days += dt
    elif j.status == IN_WORK:
        j.days_in_work += dt
    else:
        j.days_off += dt
    j.t_last = now


# why a claimant left benefit without a job (the ledger's ``offflow_reason``)
CEASED: Final = 1
"""The off-flow hazard: stopped claiming, moved onto another benefit, not known."""
FAILED_TO_SIGN: Final = 2
"""The claim was closed after a missed signing."""


def leave_without_job(j: Journey, now: float, reason: int) -> None:
    """The claimant leaves benefit without a job at ``now``, for ``reason``."""
    leave_caseload(j, now)
    clear_sanctions(j, now)
    drop_interventions(j, now)
    pause_all(j)
    j.wca_at = INF  # a claim that ends before its assessment is not assessed
    if j.offflow_at != j.offflow_at:
        j.offflow_at = now
        j.offflow_reason = reason
    j.status = OFF_BENEFIT
    if j.attach_at < INF:
        j.attach_at = INF
    j.log(now, Event.OFFFLOW)
    update_hazards(j, now)
    e = exponential_from_base(j.ctx.base_reclaim, j.claimant_id, j.n_left)
    j.n_left += 1
    j.reclaim_at = reclaim_at(now, e, j.ctx.reclaim_after_offflow)


def set_benefit_state(j: Journey, state: int) -> None:
    """Put the claimant in benefit ``state`` and take its conditionality from the table.

    Where the claimant must sign, look for work and can be sanctioned is decided by
    :func:`sim.benefit_states.conditionality` (JSA; ESA assessment phase, work-related
    activity group, support group; volunteers).
    """
    ctx = j.ctx
    rules = conditionality(BenefitState(state), ctx.volunteer[j.i])
    j.bstate = state
    j.esa = is_esa(BenefitState(state))
    j.signs = rules.jobcentre_signing
    j.job_search = rules.job_search
    j.sanctionable = rules.sanctionable


def on_wca(j: Journey, now: float) -> None:
    """The Work Capability Assessment's outcome at the end of the assessment phase.

    Found fit for work, the claimant moves to JSA: signing (on a programme too), job
    search and the JSA sanctions. In the support group nothing is required any more: every
    later contact is voluntary. In the work-related activity group, ESA conditions apply.
    """
    ctx = j.ctx
    j.wca_at = INF
    u = uniform_from_base(ctx.base_wca, j.claimant_id, 0)
    state = int(wca_outcome(u, ctx.benefit_dynamics))
    j.wca_outcome = state
    set_benefit_state(j, state)
    j.log(now, Event.WCA, float(state))
    if state == BenefitState.ESA_SUPPORT:
        j.jcp.mand_k_end = min(j.jcp.mand_k_end, j.jcp.k)
        j.prov.mand_k_end = min(j.prov.mand_k_end, j.prov.k)
        refresh_all_attendance(j)
    elif state == BenefitState.JSA:
        if j.on_prog:
            signing_on_programme(j, now)
        draw_job_search_doubt(j, now)


def claim_again(j: Journey, now: float) -> None:
    """The claimant claims benefit again at ``now`` (after a job ended or an off-flow).

    Inside the attachment period a programme participant goes back to the provider
    (:func:`sim.benefit_states.returns_to_provider`); otherwise to the Jobcentre offer.
    A job left voluntarily is referred on the new claim.
    """
    ctx = j.ctx
    j.status = ON_BENEFIT
    j.reclaim_at = INF
    restart_off_clock(j, now)
    j.n_repeat_claims += 1
    if j.first_reclaim_at != j.first_reclaim_at:
        j.first_reclaim_at = now
    j.log(now, Event.RECLAIM)
    back = j.on_prog and j.provider is not None
    if back and returns_to_provider(now, j.attached_at, ctx.programme_end_at[j.i]):
        rejoin(j, now)
    else:
        j.on_prog = False
        jcp_schedule(j, now)
    draw_job_search_doubt(j, now)
    if j.left_voluntarily:
        j.left_voluntarily = False
        on_leaving_job(j, now)
