"""Work: starting a job, its end, and the outcome and sustainment payments it earns.

Where entering and leaving a job is decided. A job's end is drawn when it starts (a
keyed unit-exponential clock on the job-loss hazard by tenure, scaled by the
claimant's multiplier), so its outcome and sustainment triggers are dated then
(:func:`sim.contract.settle_job`) instead of waking the process for each. When a job
ends the claimant claims again: back to the provider inside the attachment period,
otherwise to the Jobcentre offer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.clocks import start_spell
from sim.conditionality import clear_sanctions, draw_job_search_doubt, on_leaving_job
from sim.contract import DAYS_PER_MONTH, price_index, settle_job
from sim.events import IN_WORK, ON_BENEFIT, Event
from sim.hazards import INF
from sim.interviews import jcp_schedule, pause_all, set_schedule, signing_on_programme
from sim.programme import leave_caseload
from sim.rng import exponential_from_base
from sim.services import drop_interventions

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = ["end_job", "start_job"]


def start_job(j: Journey, now: float) -> None:
    """The job-entry clock fired: the claimant starts a job at ``now``."""
    ctx, i = j.ctx, j.i
    if j.status == ON_BENEFIT:
        leave_caseload(j, now)
        clear_sanctions(j, now)
        drop_interventions(j, now)
        pause_all(j)
    if j.attach_at < INF:  # found work before attaching: never attaches
        j.attach_at = INF
    j.status = IN_WORK
    if j.n_jobs == 0:
        j.first_job_at = now
    e_loss = exponential_from_base(ctx.base_loss, i, j.n_jobs)
    j.n_jobs += 1
    k_loss = j.k_loss
    j.job_end_at = now + ctx.loss.solve(e_loss / k_loss) if k_loss > 0 else INF
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
    """The job ends at ``now``: the claimant claims again."""
    ctx, i = j.ctx, j.i
    j.log(now, Event.JOB_END)
    j.job_end_at = INF
    j.status = ON_BENEFIT
    if j.provider is not None:
        j.provider.record_work_days(j.local, j.progress.work_days)
    start_spell(j, now)
    if j.on_prog and now < ctx.programme_end_at[i] and j.provider is not None:
        interval = j.provider.join(j.local, now)
        j.last_contact = now
        cfg = j.provider.config
        signing_on_programme(j, now)
        set_schedule(j, j.prov, now + interval, interval, cfg.interview_minutes, now)
    else:
        j.on_prog = False
        jcp_schedule(j, now)
    draw_job_search_doubt(j, now)
    on_leaving_job(j, now)
