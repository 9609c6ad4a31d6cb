"""A claimant's contact calendars: who sees them, how often, and settling attended contacts.

A claimant has one :class:`~sim.obligation.Obligation` per actor: Jobcentre Plus (the
offer's interviews and, on the programme, fortnightly signing for jobseekers) and the
provider (on the programme). The journey wakes only at the next failure to attend of
any of them; the contacts attended in between are counted in bulk by :func:`settle` at
the next wake-up. The Jobcentre offer (with its phases), a provider's schedule and an
intervention's schedule are set here; a provider's change of interval is applied from
the last contact held.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.clocks import update_entry, update_hazards
from sim.conditionality import on_failure_to_attend, refresh_attendance
from sim.events import Event
from sim.hazards import INF
from sim.obligation import JCP, Obligation

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = [
    "change_interval",
    "jcp_schedule",
    "on_interview",
    "pause_all",
    "resume_schedule",
    "set_schedule",
    "settle",
    "settle_all",
    "signing_on_programme",
    "stop_schedule",
    "switch_phase",
]


def set_schedule(
    j: Journey, o: Obligation, first_at: float, interval: float, minutes: float, now: float
) -> None:
    """Start ``o``'s schedule: first contact on ``first_at``, then every ``interval`` days."""
    o.anchor = first_at
    o.interval = interval
    o.j = 0
    o.minutes = minutes
    o.active = True
    o.switch_at = INF
    o.override = False
    refresh_attendance(j, o)
    update_hazards(j, now)


def stop_schedule(j: Journey, o: Obligation, now: float) -> None:
    """End ``o``'s schedule at ``now`` (its contacts before ``now`` were settled)."""
    if o.active:
        o.active = False
        o.override = False
        update_entry(j, now)


def pause_all(j: Journey) -> None:
    """Leaving benefit: every schedule stops (the state that follows sets the hazards)."""
    j.jcp.active = j.jcp.override = False
    j.prov.active = j.prov.override = False


def jcp_schedule(j: Journey, now: float) -> None:
    """Start the Jobcentre Plus offer of the claimant's arm at ``now``."""
    first, interval, minutes, n, after, n_mand = j.ctx.jcp_by_arm[j.ctx.arm[j.i]]
    o = j.jcp
    o.mand_k_end = o.k + n_mand if n_mand is not None else (1 << 62)
    set_schedule(j, o, now + first, interval, minutes, now)
    if n is not None:
        o.switch_at = now + first + (n - 1) * interval
        o.switch_interval = after


def signing_on_programme(j: Journey, now: float) -> None:
    """On the programme, Jobcentre signing goes on for claimants whose benefit requires it.

    Jobseekers keep signing at ``ctx.signing_interval_days`` (fortnightly unless the
    scenario says otherwise); ESA claimants have no signing, so the Jobcentre schedule
    stops while the provider sees them.
    """
    o = j.jcp
    settle(j, o, now)
    interval = j.ctx.signing_interval_days
    if interval <= 0.0 or not j.signs:
        stop_schedule(j, o, now)
        return
    o.mand_k_end = 1 << 62
    set_schedule(j, o, now + interval, interval, j.ctx.signing_minutes, now)


def switch_phase(j: Journey, now: float) -> None:
    """The first phase of Jobcentre interviews is over: continue at ``switch_interval``."""
    o = j.jcp
    settle(j, o, now, inclusive=True)
    o.anchor = now + o.switch_interval
    o.interval = o.switch_interval
    o.j = 0
    o.switch_at = INF
    refresh_attendance(j, o)
    update_entry(j, now)


def resume_schedule(j: Journey, o: Obligation, now: float) -> None:
    """Go back to the schedule an intervention replaced, where its calendar has got to.

    The next contact is its first one after ``now``, and a phase that ended meanwhile
    is followed by the later interval.
    """
    anchor, interval, minutes, switch_at, switch_interval = o.saved
    if switch_at <= now:
        anchor, interval, switch_at = switch_at + switch_interval, switch_interval, INF
    k = max(0, math.ceil((now - anchor) / interval))
    while anchor + k * interval <= now:
        k += 1
    set_schedule(j, o, anchor + k * interval, interval, minutes, now)
    o.switch_at = switch_at
    o.switch_interval = switch_interval


def _n_before(o: Obligation, now: float, inclusive: bool) -> int:
    """Return how many contacts from ``o.j`` on fall before ``now`` (or at it)."""
    anchor, step, j0 = o.anchor, o.interval, o.j
    k = max(j0, math.ceil((now - anchor) / step))
    # make the count agree exactly with Obligation.time, whatever the rounding
    while k > j0 and (
        anchor + (k - 1) * step > now or (not inclusive and anchor + (k - 1) * step == now)
    ):
        k -= 1
    while anchor + k * step < now or (inclusive and anchor + k * step == now):
        k += 1
    return k - j0


def settle(j: Journey, o: Obligation, now: float, *, inclusive: bool = False) -> None:
    """Count ``o``'s contacts before ``now`` (or at it) as attended.

    Never counts past the next failure to attend: the journey wakes at that failure.
    """
    if not o.active:
        return
    t_next = o.anchor + o.j * o.interval
    if t_next > now or (t_next == now and not inclusive):
        return
    n = min(_n_before(o, now, inclusive), o.fta_k - o.k)
    if n <= 0:
        return
    j0 = o.j
    last = o.time(j0 + n - 1)
    if j.ctx.events is not None:
        for k in range(j0, j0 + n):
            j.log(o.time(k), Event.INTERVIEW)
    o.j = j0 + n
    o.k += n
    j.n_interviews += n
    if o.actor == JCP:
        j.minutes_jcp += n * o.minutes
        return
    if j.on_prog:
        gap = max(o.time(j0) - j.last_contact, o.interval if n > 1 else 0.0)
        if gap > j.max_gap:
            j.max_gap = gap
        j.last_contact = last
    j.minutes_adviser += n * o.minutes
    if j.provider is not None:
        j.paid_service += j.provider.book_interviews(last, n, o.minutes, j.local)


def settle_all(j: Journey, now: float) -> None:
    """Settle every obligation's attended contacts before ``now``."""
    settle(j, j.jcp, now)
    settle(j, j.prov, now)


def on_interview(j: Journey, now: float) -> bool:
    """A failure to attend at ``now`` at the obligation the journey woke for.

    Returns True if the failure closes the claim (see
    :func:`sim.conditionality.on_failure_to_attend`).
    """
    o = j.jcp if j.wake_actor == JCP else j.prov
    settle(j, o, now)
    o.j += 1
    o.k += 1
    return on_failure_to_attend(j, o, now)


def change_interval(j: Journey, now: float) -> None:
    """The provider changed this claimant's interval: apply it from the last contact."""
    assert j.provider is not None
    o = j.prov
    if o.override or not o.active:  # an intervention sets the interval until it ends
        return
    new = j.provider.interval_for(j.local)
    last = o.time(o.j - 1)
    o.anchor = max(now, last + new)
    o.interval = new
    o.j = 0
    refresh_attendance(j, o)
    update_entry(j, now)
    j.log(now, Event.INTENSITY_CHANGE, new)
