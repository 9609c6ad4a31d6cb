"""Work: starting a job, its end, and the outcome and sustainment payments it earns.

Where entering and leaving a job is decided. A job's end is drawn when it starts (a
keyed unit-exponential clock on the job-loss hazard by tenure, scaled by the claimant's
multiplier by benefit, condition, age and distance, and lowered by the provider's
in-work support on a job that starts on the programme: :mod:`sim.retention`), so its
outcome and sustainment triggers are dated then (:func:`sim.contract.settle_job`)
instead of waking the process for each. When a job ends the claimant is off benefit
until a repeat claim (:func:`sim.benefit.claim_again`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.benefit_states import reclaim_at
from sim.clocks import start_spell, update_hazards
from sim.conditionality import clear_sanctions
from sim.contract import DAYS_PER_MONTH, price_index, settle_job
from sim.events import IN_WORK, OFF_BENEFIT, ON_BENEFIT, Event
from sim.hazards import INF
from sim.interviews import pause_all
from sim.programme import leave_caseload
from sim.retention import job_end_after_days, support_cost_gbp
from sim.rng import exponential_from_base, uniform_from_base
from sim.services import drop_interventions

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = ["end_job", "start_job"]


def start_job(j: Journey, now: float) -> None:
    """The job-entry clock fired: the claimant starts a job at ``now``."""
    ctx, i = j.ctx, j.i
    if j.status == ON_BENEFIT:
        leave_caseload(j, now, job=True)
        clear_sanctions(j, now)
        drop_interventions(j, now)
        pause_all(j)
        j.wca_at = INF  # a claim that ends before its assessment is not assessed
    if j.attach_at < INF:  # found work before attaching: never attaches
        j.attach_at = INF
    j.status = IN_WORK
    if j.n_jobs == 0:
        j.first_job_at = now
    e_loss = exponential_from_base(ctx.base_loss, j.claimant_id, j.n_jobs)
    j.n_jobs += 1
    supported = j.on_prog and j.provider is not None and ctx.support_days > 0.0
    support_days = ctx.support_days if supported else 0.0
    job_days = job_end_after_days(
        e_loss, j.k_loss, ctx.loss, support_days, ctx.support_loss_multiplier
    )
    j.job_end_at = now + job_days
    if supported and ctx.support_cost_gbp_per_week > 0.0 and j.provider is not None:
        days = min(job_days, ctx.horizon_at[i] - now)
        j.provider.book_cost(
            now, support_cost_gbp(days, support_days, ctx.support_cost_gbp_per_week)
        )
    j.log(now, Event.JOB_START)
    # the entry clock has fired and the off-flow clock dies with the spell
    j.t_entry = j.t_off = INF
    j.m_entry = j.rate_off = 0.0
    _settle_payments(j, now)


def _settle_payments(j: Journey, now: float) -> None:
    """Date the outcome and sustainment triggers of the job that starts at ``now``."""
    ctx, i = j.ctx, j.i
    group = ctx.groups[i]
    qualifies = now < ctx.programme_end_at[i]
    result = settle_job(
        j.progress, group, now, min(j.job_end_at, ctx.horizon_at[i]), qualifies=qualifies
    )
    prov = j.provider if (j.on_prog and qualifies) else None
    if result.outcome_at is not None:
        fee = group.outcome_fee_gbp * price_index(ctx.contract, result.outcome_at)
        j.log(result.outcome_at, Event.OUTCOME, fee if prov else 0.0)
        if prov is not None:
            j.paid_outcome += fee
            prov.pay("outcome", result.outcome_at, fee)
    if not result.sustainment_at:
        return
    fees = [group.sustainment_fee_gbp * price_index(ctx.contract, t) for t in result.sustainment_at]
    if ctx.events is None:  # count by month only, without a call per payment
        row = ctx.monthly[Event.SUSTAINMENT]
        for t in result.sustainment_at:
            month = int(t / DAYS_PER_MONTH)
            if month < len(row):
                row[month] += 1
    else:
        for t, fee in zip(result.sustainment_at, fees, strict=True):
            j.log(t, Event.SUSTAINMENT, fee if prov else 0.0)
    if prov is not None:
        j.paid_sustain += sum(fees)
        prov.pay_many("sustainment", result.sustainment_at, fees)


def end_job(j: Journey, now: float) -> None:
    """The job ends at ``now``: off benefit and out of work until the claimant claims again.

    The repeat claim is a keyed clock on ``benefit_dynamics.reclaim_after_job``
    (:func:`sim.benefit.claim_again`); whether the job was left voluntarily is drawn now
    and referred when the claimant claims.
    """
    ctx = j.ctx
    j.log(now, Event.JOB_END)
    if j.first_job_end_at != j.first_job_end_at:
        j.first_job_end_at = now
    j.job_end_at = INF
    j.status = OFF_BENEFIT
    if j.provider is not None:
        j.provider.record_work_days(j.local, j.progress.work_days)
    p_left = ctx.p_left_voluntarily
    j.left_voluntarily = (
        p_left > 0.0 and uniform_from_base(ctx.base_left_job, j.claimant_id, j.n_jobs) < p_left
    )
    start_spell(j, now)
    update_hazards(j, now)
    e = exponential_from_base(ctx.base_reclaim, j.claimant_id, j.n_left)
    j.n_left += 1
    j.reclaim_at = reclaim_at(now, e, ctx.reclaim_after_job)
