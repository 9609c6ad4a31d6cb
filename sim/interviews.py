"""A claimant's interview calendar: who sees them, how often, and settling attended ones.

Interview ``j`` of the current schedule is on day ``iv_anchor + j * iv_interval``;
``iv_j`` is the next one and ``iv_k`` counts every interview so far. The journey wakes
only at the next failure to attend (drawn by :func:`sim.conditionality.draw_next_fta`)
or, awaiting compliance, at the next interview; the interviews attended in between are
counted in bulk by :func:`settle_interviews` at the next wake-up. The Jobcentre Plus
offer (with its phases), a provider's schedule and an intervention's schedule are set
here; a provider's change of interval is applied from the last interview held.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.clocks import update_entry, update_hazards
from sim.conditionality import NEVER, on_compliance, on_failure_to_attend
from sim.events import Event
from sim.hazards import INF

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = [
    "change_interval",
    "interview_time",
    "jcp_schedule",
    "on_interview",
    "resume_jcp_schedule",
    "set_schedule",
    "settle_interviews",
    "switch_phase",
]


def interview_time(j: Journey, k: int) -> float:
    """Return the day of interview ``k`` of the current schedule."""
    return j.iv_anchor + k * j.iv_interval


def set_schedule(
    j: Journey, first_at: float, interval: float, minutes: float, provider: bool, now: float
) -> None:
    """Start a schedule: first interview on ``first_at``, then every ``interval`` days."""
    j.iv_anchor = first_at
    j.iv_interval = interval
    j.iv_j = 0
    j.iv_minutes = minutes
    j.iv_provider = provider
    j.switch_at = INF
    j.iv_override = False
    update_hazards(j, now)


def jcp_schedule(j: Journey, now: float) -> None:
    """Start the Jobcentre Plus offer of the claimant's arm at ``now``."""
    first, interval, minutes, n, after, n_mand = j.ctx.jcp_by_arm[j.ctx.arm[j.i]]
    set_schedule(j, now + first, interval, minutes, False, now)
    j.mand_k_end = NEVER if n_mand is None else j.iv_k + n_mand
    if n is not None:
        j.switch_at = now + first + (n - 1) * interval
        j.switch_interval = after


def switch_phase(j: Journey, now: float) -> None:
    """The first phase of Jobcentre interviews is over: continue at ``switch_interval``."""
    settle_interviews(j, now, inclusive=True)
    j.iv_anchor = now + j.switch_interval
    j.iv_interval = j.switch_interval
    j.iv_j = 0
    j.switch_at = INF
    update_entry(j, now)


def resume_jcp_schedule(j: Journey, now: float) -> None:
    """Go back to the Jobcentre schedule an intervention replaced, where it has got to.

    The schedule keeps its calendar: the next interview is its first one after
    ``now``, and a phase that ended meanwhile is followed by the later interval.
    """
    anchor, interval, minutes, switch_at, switch_interval = j.iv_saved
    if switch_at <= now:
        anchor, interval, switch_at = switch_at + switch_interval, switch_interval, INF
    k = max(0, math.ceil((now - anchor) / interval))
    while anchor + k * interval <= now:
        k += 1
    set_schedule(j, anchor + k * interval, interval, minutes, False, now)
    j.switch_at = switch_at
    j.switch_interval = switch_interval


def _n_before(j: Journey, now: float, inclusive: bool) -> int:
    """Return how many interviews from ``iv_j`` on fall before ``now`` (or at it)."""
    anchor, step, j0 = j.iv_anchor, j.iv_interval, j.iv_j
    k = max(j0, math.ceil((now - anchor) / step))
    # make the count agree exactly with interview_time, whatever the rounding
    while k > j0 and (
        anchor + (k - 1) * step > now or (not inclusive and anchor + (k - 1) * step == now)
    ):
        k -= 1
    while anchor + k * step < now or (inclusive and anchor + k * step == now):
        k += 1
    return k - j0


def settle_interviews(j: Journey, now: float, *, inclusive: bool = False) -> None:
    """Count the interviews before ``now`` (or at it) as attended.

    Never counts past the next failure to attend: callers wake at that failure.
    """
    t_next = j.iv_anchor + j.iv_j * j.iv_interval
    if t_next > now or (t_next == now and not inclusive):
        return
    n = min(_n_before(j, now, inclusive), j.fta_k - j.iv_k)
    if n <= 0:
        return
    j0 = j.iv_j
    last = interview_time(j, j0 + n - 1)
    if j.iv_provider and j.on_prog:
        gap = max(interview_time(j, j0) - j.last_contact, j.iv_interval if n > 1 else 0.0)
        if gap > j.max_gap:
            j.max_gap = gap
        j.last_contact = last
    if j.ctx.events is not None:
        for k in range(j0, j0 + n):
            j.log(interview_time(j, k), Event.INTERVIEW)
    j.iv_j = j0 + n
    j.iv_k += n
    j.n_interviews += n
    if j.iv_provider:
        j.minutes_adviser += n * j.iv_minutes
        if j.provider is not None:
            j.provider.book_interviews(last, n, j.iv_minutes)
    else:
        j.minutes_jcp += n * j.iv_minutes


def on_interview(j: Journey, now: float) -> None:
    """A failure to attend at ``now`` or, awaiting compliance, any interview."""
    if j.iv_k < j.fta_k:  # attended: only woken for it when awaiting compliance
        settle_interviews(j, now, inclusive=True)
        on_compliance(j, now)
    else:
        j.iv_j += 1
        j.iv_k += 1
        on_failure_to_attend(j, now)


def change_interval(j: Journey, now: float) -> None:
    """The provider changed this claimant's interval: apply it from the last interview."""
    assert j.provider is not None
    if j.iv_override:  # an intervention sets the interval until it ends
        return
    new = j.provider.interval_for(j.local)
    last = interview_time(j, j.iv_j - 1)
    j.iv_anchor = max(now, last + new)
    j.iv_interval = new
    j.iv_j = 0
    update_entry(j, now)
    j.log(now, Event.INTENSITY_CHANGE, new)
