"""Closing a journey at the end of follow-up: settling what is left and writing its record."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.conditionality import settle_at_end
from sim.events import ON_BENEFIT, Event
from sim.programme import leave_caseload

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = ["close_journey"]

NAN = math.nan


def close_journey(j: Journey, now: float) -> None:
    """Leave the caseload, settle back pay, and record the claimant's journey at ``now``."""
    if j.status == ON_BENEFIT:
        leave_caseload(j, now)
    settle_at_end(j, now)
    j.log(now, Event.END)
    j.proc = None
    ctx, i = j.ctx, j.i
    outcome = j.progress.outcome_at
    ctx.records.put(
        i,
        attached_at=j.attached_at,
        programme_end_at=ctx.programme_end_at[i],
        horizon_at=ctx.horizon_at[i],
        first_job_at=j.first_job_at,
        outcome_at=NAN if outcome is None else outcome,
        n_sustainment_payments=j.progress.n_sustainment,
        n_jobs=j.n_jobs,
        days_in_work=j.days_in_work,
        days_on_benefit=j.days_on_benefit,
        days_sanctioned=j.days_sanctioned,
        days_off_benefit_no_job=j.days_off,
        caseload_days=j.caseload_days,
        offflow_at=j.offflow_at,
        n_interviews=j.n_interviews,
        n_fta=j.n_fta,
        adviser_minutes=j.minutes_adviser,
        jcp_minutes=j.minutes_jcp,
        max_contact_gap_days=j.max_gap,
        n_sanction_referrals=j.n_refs,
        n_sanctions=j.n_sanctions,
        n_wrong_sanctions=j.n_wrong,
        n_overturned=j.n_overturned,
        attachment_fee_gbp=j.paid_attach,
        outcome_fee_gbp=j.paid_outcome,
        sustainment_fees_gbp=j.paid_sustain,
        service_fees_gbp=j.paid_service,
        payments_gbp=j.paid_attach + j.paid_outcome + j.paid_sustain + j.paid_service,
        benefit_paid_gbp=j.benefit_paid,
        n_interventions=j.n_interventions,
        intervention_cost_gbp=j.iv_cost,
        hardship_paid_gbp=j.hardship_paid,
        n_events=j.n_events,
        first_job_end_at=j.first_job_end_at,
        first_reclaim_at=j.first_reclaim_at,
        n_repeat_claims=j.n_repeat_claims,
        offflow_reason=j.offflow_reason,
        wca_outcome=j.wca_outcome,
    )
