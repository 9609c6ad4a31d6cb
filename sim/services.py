"""Interventions: the Condition Management Programme, New Deal options, placements, daily
signing.

An intervention starts only for a claimant on benefit (and, if the programme delivers
it, on the programme); one runs at a time, later ones wait. While it runs, the job-entry
hazard is multiplied by its lock-in factor and its interview interval replaces its
deliverer's schedule (the provider's, or the Jobcentre's); on completion, distance from
work changes (the entry and job-loss multipliers move). Leaving benefit ends it without
effect and drops any still to start. Its cost is booked to whoever delivers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.clocks import update_entry
from sim.events import Event
from sim.fmath import exp
from sim.hazards import INF
from sim.interviews import resume_schedule, set_schedule, settle, stop_schedule
from sim.obligation import Obligation

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = ["drop_interventions", "end_intervention", "plan_interventions", "start_intervention"]


def plan_interventions(j: Journey, now: float, *, programme: bool) -> None:
    """Queue the claimant's interventions delivered by the programme (or not) from ``now``."""
    ctx = j.ctx
    for k in ctx.iv_take[j.i]:
        spec = ctx.interventions[k]
        if (spec.delivered_by == "programme") == programme:
            j.iv_queue.append((now + spec.start_after_days, k))
    j.iv_queue.sort()


def start_intervention(j: Journey, now: float) -> None:
    """Start the next queued intervention at ``now`` (or requeue it behind a running one)."""
    ctx = j.ctx
    _, k = j.iv_queue.pop(0)
    spec = ctx.interventions[k]
    if spec.delivered_by == "programme" and not j.on_prog:
        return
    if j.iv_active >= 0:  # one at a time: start when the current one ends
        j.iv_queue.insert(0, (j.iv_end_at, k))
        return
    j.iv_active = k
    j.iv_end_at = now + spec.duration_days
    j.m_during = spec.entry_multiplier_during
    j.n_interventions += 1
    if spec.delivered_by == "programme" and j.provider is not None:
        j.provider.book_cost(now, spec.cost_gbp)
        if spec.service_fee_gbp > 0.0:
            j.provider.pay("service", now, spec.service_fee_gbp)
            j.paid_service += spec.service_fee_gbp
    else:
        j.iv_cost += spec.cost_gbp
    j.log(now, Event.INTERVENTION_START, float(k))
    if spec.interview_interval_days is not None:
        o = _obligation(j, k)
        settle(j, o, now)
        minutes = o.minutes if spec.interview_minutes is None else spec.interview_minutes
        interval = spec.interview_interval_days
        o.saved = (o.anchor, o.interval, o.minutes, o.switch_at, o.switch_interval)
        set_schedule(j, o, now + interval, interval, minutes, now)
        o.override = True
    else:
        update_entry(j, now)


def _obligation(j: Journey, k: int) -> Obligation:
    """Return the obligation intervention ``k`` replaces: its deliverer's."""
    return j.prov if j.ctx.interventions[k].delivered_by == "programme" else j.jcp


def end_intervention(j: Journey, now: float, *, completed: bool) -> None:
    """End the running intervention; on completion its effect on distance applies.

    Not completed means the claimant is leaving benefit: the state that follows
    replaces the schedule and the hazards, so nothing else is reset here.
    """
    k = j.iv_active
    spec = j.ctx.interventions[k]
    o = _obligation(j, k)
    j.iv_active = -1
    j.iv_end_at = INF
    j.m_during = 1.0
    if not completed:
        o.override = False
        return
    j.k_entry *= exp(-spec.distance_change)
    j.k_loss *= exp(j.ctx.loss_distance_coef * spec.distance_change)
    j.log(now, Event.INTERVENTION_END, float(spec.distance_change))
    if not o.override:
        update_entry(j, now)
        return
    o.override = False
    if o is j.prov and j.on_prog and j.provider is not None:
        interval = j.provider.interval_for(j.local)
        minutes = j.provider.config.interview_minutes
        set_schedule(j, o, now + interval, interval, minutes, now)
    elif o is j.prov:
        stop_schedule(j, o, now)
    else:
        resume_schedule(j, o, now)


def drop_interventions(j: Journey, now: float) -> None:
    """Leaving benefit: drop queued interventions and end a running one without effect."""
    j.iv_queue.clear()
    if j.iv_active >= 0:
        end_intervention(j, now, completed=False)
