"""Why and when a journey wakes: the kinds of wake-up, the next one, and where each goes.

A journey sleeps until the earliest of the days its state can change (:func:`next_wake`);
:func:`dispatch` sends each kind to the module where that change is decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sim.benefit import CEASED, FAILED_TO_SIGN, claim_again, leave_without_job, on_wca
from sim.conditionality import on_decision, on_job_search_doubt, on_sanction_end
from sim.employment import end_job, start_job
from sim.events import IN_WORK, OFF_BENEFIT
from sim.interviews import on_interview, switch_phase
from sim.obligation import JCP, PROVIDER
from sim.programme import attach, end_programme
from sim.services import end_intervention, start_intervention

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = ["HORIZON", "dispatch", "next_wake"]

# why the process wakes, in order of priority when two fall on the same day
HORIZON: Final = 0
JOB_END: Final = 1
ENTRY: Final = 2
OFFFLOW: Final = 3
DECISION: Final = 4
SANCTION_END: Final = 5
PROG_END: Final = 6
ATTACH: Final = 7
IV_END: Final = 8
IV_START: Final = 9
INTERVIEW: Final = 10
SWITCH: Final = 11
JOB_SEARCH: Final = 12
RECLAIM: Final = 13
WCA: Final = 14


def dispatch(j: Journey, kind: int, now: float) -> None:
    """Apply the wake-up of ``kind`` at ``now``: the one place each kind is routed."""
    if kind == INTERVIEW:
        if on_interview(j, now):
            leave_without_job(j, now, FAILED_TO_SIGN)
    elif kind == ENTRY:
        start_job(j, now)
    elif kind == JOB_END:
        end_job(j, now)
    elif kind == DECISION:
        on_decision(j, now)
    elif kind == SANCTION_END:
        on_sanction_end(j, now)
    elif kind == OFFFLOW:
        leave_without_job(j, now, CEASED)
    elif kind == PROG_END:
        end_programme(j, now)
    elif kind == ATTACH:
        attach(j, now)
    elif kind == IV_START:
        start_intervention(j, now)
    elif kind == IV_END:
        end_intervention(j, now, completed=True)
    elif kind == SWITCH:
        switch_phase(j, now)
    elif kind == JOB_SEARCH:
        on_job_search_doubt(j, now)
    elif kind == RECLAIM:
        claim_again(j, now)
    elif kind == WCA:
        on_wca(j, now)


def next_wake(j: Journey) -> tuple[float, int]:
    """Return the day and kind of the journey's next wake-up (the earliest; ties by kind)."""
    best, kind = j.horizon_at, HORIZON
    if j.status == IN_WORK:
        if j.job_end_at < best:
            best, kind = j.job_end_at, JOB_END
        return best, kind
    if j.t_entry < best:
        best, kind = j.t_entry, ENTRY
    if j.status == OFF_BENEFIT:
        if j.reclaim_at < best:
            best, kind = j.reclaim_at, RECLAIM
        return best, kind
    if j.t_off < best:
        best, kind = j.t_off, OFFFLOW
    if j.pending and j.pending[0][0] < best:
        best, kind = j.pending[0][0], DECISION
    if j.sanctioned and j.sanc_until < best:
        best, kind = j.sanc_until, SANCTION_END
    if j.on_prog and j.programme_end_at < best:
        best, kind = j.programme_end_at, PROG_END
    if j.attach_at < best:
        best, kind = j.attach_at, ATTACH
    if j.iv_end_at < best:
        best, kind = j.iv_end_at, IV_END
    if j.iv_queue and j.iv_queue[0][0] < best:
        best, kind = j.iv_queue[0][0], IV_START
    if j.wca_at < best:
        best, kind = j.wca_at, WCA
    if j.jcp.switch_at < best:
        best, kind = j.jcp.switch_at, SWITCH
    if j.job_search_at < best:
        best, kind = j.job_search_at, JOB_SEARCH
    t_iv = j.jcp.next_failure_at()
    if t_iv < best:
        best, kind = t_iv, INTERVIEW
        j.wake_actor = JCP
    t_iv = j.prov.next_failure_at()
    if t_iv < best:
        best, kind = t_iv, INTERVIEW
        j.wake_actor = PROVIDER
    return best, kind
