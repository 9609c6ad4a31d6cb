"""The programme: attachment to a provider, the active caseload, and the programme's end.

At attachment the area allocates a provider and the provider's schedule starts beside
Jobcentre signing (which goes on for jobseekers in place of the Jobcentre's interviews),
the attachment fee in force is paid, and programme-delivered interventions are planned.
A claimant leaves the provider's active caseload on entering work or leaving benefit,
and returns to the Jobcentre offer when the programme ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.contract import attachment_fee_gbp
from sim.events import ON_BENEFIT, Event
from sim.hazards import INF
from sim.interviews import (
    jcp_schedule,
    set_schedule,
    settle_all,
    signing_on_programme,
    stop_schedule,
)
from sim.obligation import NEVER
from sim.services import plan_interventions

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = ["attach", "end_programme", "leave_caseload", "rejoin"]


def attach(j: Journey, now: float) -> None:
    """Attach the claimant to the provider the area allocates, at ``now``."""
    ctx, area = j.ctx, j.area
    assert area is not None
    prov = j.provider = area.assign(j.local, now)
    j.prov_gain = prov.effect_gain(j.local)
    j.attach_at = INF
    j.on_prog = True
    j.attached_at = now
    j.last_contact = now
    interval = prov.attach(j.local, now)
    cfg = prov.config
    o = j.prov
    n_mand = cfg.n_mandatory_interviews
    o.mand_k_end = NEVER if n_mand is None else o.k + n_mand
    signing_on_programme(j, now)
    set_schedule(j, o, now + cfg.first_interview_days, interval, cfg.interview_minutes, now)
    if ctx.iv_take[j.i]:
        plan_interventions(j, now, programme=True)
    fee = attachment_fee_gbp(ctx.contract, ctx.groups[j.i], now, ctx.start_month)
    if fee > 0.0:
        j.paid_attach += fee
        prov.pay("attachment", now, fee)
    j.log(now, Event.ATTACH, fee)


def rejoin(j: Journey, now: float) -> None:
    """A participant claims again inside the attachment period: back to the provider."""
    assert j.provider is not None
    interval = j.provider.join(j.local, now)
    j.last_contact = now
    cfg = j.provider.config
    signing_on_programme(j, now)
    set_schedule(j, j.prov, now + interval, interval, cfg.interview_minutes, now)


def leave_caseload(j: Journey, now: float, job: bool = False) -> None:
    """Leave the provider's active caseload (``job``: for work; or leaving benefit, or the end)."""
    if j.on_prog and j.status == ON_BENEFIT and j.provider is not None:
        j.provider.leave(j.local, now, job)
        gap = now - j.last_contact
        if gap > j.max_gap:
            j.max_gap = gap


def end_programme(j: Journey, now: float) -> None:
    """The attachment period is over: back to the Jobcentre Plus offer."""
    leave_caseload(j, now)
    j.on_prog = False
    j.log(now, Event.PROGRAMME_END)
    settle_all(j, now)
    stop_schedule(j, j.prov, now)
    jcp_schedule(j, now)
