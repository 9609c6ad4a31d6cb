"""Conditionality: attendance at contacts, failures by requirement, referrals and sanctions.

Where it is decided whether a claimant attends a contact (:func:`refresh_attendance`:
the chance of missing one depends on how often contacts come, whether the contact is
compulsory, the claimant's own propensity and their history of failures and sanctions),
what a failure leads to (:func:`on_failure_to_attend`: failing to sign can close the
claim; a failure at a compulsory contact can be referred to a decision maker), doubts
about actively seeking work (:func:`on_job_search_doubt`) and leaving a job
(:func:`on_leaving_job`), each with its own referral and adverse-decision rates
(``RunContext.route_*``), and how long a sanction runs under the ladder in force
(:func:`on_decision`, with the pure rules of :mod:`sim.sanctions`). An ESA open-ended
sanction runs until the claimant re-engages (a keyed clock), then for its fixed part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sim.attendance import clock_per_contact, p_miss
from sim.clocks import update_hazards
from sim.events import Event
from sim.hazards import INF
from sim.obligation import JCP, NEVER, Obligation
from sim.rng import exponential_from_base, uniform_from_base
from sim.sanctions import ladder_level, spell_days

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = [
    "ACTIVITY",
    "FTA_JCP",
    "FTA_PROVIDER",
    "JOB_SEARCH",
    "LEAVING_JOB",
    "ROUTES",
    "clear_sanctions",
    "draw_job_search_doubt",
    "on_decision",
    "on_failure_to_attend",
    "on_job_search_doubt",
    "on_leaving_job",
    "on_sanction_end",
    "refresh_all_attendance",
    "refresh_attendance",
    "settle_at_end",
]

# requirement routes to a sanction referral (index into RunContext.route_* lists)
FTA_JCP: Final = 0
"""Failing to attend a Jobcentre contact (signing or interview)."""
FTA_PROVIDER: Final = 1
"""Failing to attend a provider's mandatory activity or meeting."""
ACTIVITY: Final = 2
"""Not taking part in a placement or mandatory activity (an intervention's schedule)."""
JOB_SEARCH: Final = 3
"""Not actively seeking work (JSA)."""
LEAVING_JOB: Final = 4
"""Leaving a job voluntarily or losing it through misconduct."""
ROUTES: tuple[str, ...] = ("fta_jcp", "fta_provider", "activity", "job_search", "leaving_job")
"""Route names, as in ``[sanctions.requirements]``."""

_ROUTE_STRIDE: Final = 1 << 32
"""Occurrence offset per route, so each route's draws are its own."""


# ---------------------------------------------------------------------- attendance
def _w_miss(j: Journey, o: Obligation, compulsory: bool) -> float:
    """Return the attendance clock one contact of ``o`` uses (0 if it is never missed)."""
    ctx = j.ctx
    p = p_miss(ctx.attendance, o.interval, compulsory, j.n_fta, j.n_sanctions, j.miss_shift)
    return clock_per_contact(p) if p < 1.0 else INF


def refresh_attendance(j: Journey, o: Obligation) -> None:
    """Recompute the chance of missing ``o``'s contacts; the attendance clock carries over.

    The weights are recomputed only when what they depend on (the interval, failures and
    sanctions so far) has changed, and the voluntary weight only if voluntary contacts
    can come.
    """
    if j.ctx.attendance_certain:
        o.set_attendance(o.clock_left(), 0.0, 0.0)
        return
    left = o.clock_left()  # at the weights in force so far
    wc, wv = o.w_compulsory, o.w_voluntary
    if o.w_interval != o.interval or o.w_n_fta != j.n_fta or o.w_n_sanctions != j.n_sanctions:
        o.w_interval, o.w_n_fta, o.w_n_sanctions = o.interval, j.n_fta, j.n_sanctions
        wc = _w_miss(j, o, True)
        wv = _w_miss(j, o, False) if o.mand_k_end < NEVER else 0.0
    elif o.mand_k_end < NEVER and wv == 0.0:
        wv = _w_miss(j, o, False)
    o.set_attendance(left, wc, wv)


def refresh_all_attendance(j: Journey) -> None:
    """Recompute attendance at every active obligation (history or deterrence changed)."""
    if j.jcp.active:
        refresh_attendance(j, j.jcp)
    if j.prov.active:
        refresh_attendance(j, j.prov)


def _new_clock(j: Journey, o: Obligation) -> None:
    base = j.ctx.base_attend_jcp if o.actor == JCP else j.ctx.base_attend_provider
    o.e_att = exponential_from_base(base, j.claimant_id, o.n_fail)
    o.k_ref = o.k


def start_clock(j: Journey, o: Obligation) -> None:
    """Draw ``o``'s first attendance clock (at the claimant's start)."""
    _new_clock(j, o)


# ---------------------------------------------------------------------- failures
def on_failure_to_attend(j: Journey, o: Obligation, now: float) -> bool:
    """The contact before ``o.k`` was missed at ``now``; return True if the claim closes.

    A missed Jobcentre signing can close the claim (the claimant is taken to have left);
    otherwise a missed compulsory contact can be referred to a decision maker.
    """
    ctx = j.ctx
    compulsory = o.k <= o.mand_k_end
    j.n_fta += 1
    o.n_fail += 1
    j.log(now, Event.FTA)
    _new_clock(j, o)
    refresh_all_attendance(j)
    if o.actor == JCP and j.signs and ctx.p_close_on_failure_to_sign > 0.0:
        u = uniform_from_base(ctx.base_close, j.claimant_id, j.n_fta)
        if u < ctx.p_close_on_failure_to_sign:
            return True
    if compulsory:
        route = ACTIVITY if o.override else (FTA_JCP if o.actor == JCP else FTA_PROVIDER)
        _refer(j, now, route, o.n_fail - 1)
    return False


def draw_job_search_doubt(j: Journey, now: float) -> None:
    """Draw when the next doubt about actively seeking work arises (jobseekers on benefit)."""
    rate = j.ctx.job_search_doubt_per_day
    if rate <= 0.0 or not j.job_search:
        j.job_search_at = INF
        return
    e = exponential_from_base(j.ctx.base_job_search, j.claimant_id, j.n_job_search)
    j.job_search_at = now + e / rate


def on_job_search_doubt(j: Journey, now: float) -> None:
    """A doubt about actively seeking work arises at ``now``: it may be referred."""
    occ = j.n_job_search
    j.n_job_search += 1
    _refer(j, now, JOB_SEARCH, occ)
    draw_job_search_doubt(j, now)


def on_leaving_job(j: Journey, now: float) -> None:
    """A claimant who left their last job voluntarily claims at ``now``: it may be referred."""
    _refer(j, now, LEAVING_JOB, j.n_jobs)


def _refer(j: Journey, now: float, route: int, occ: int) -> None:
    """Refer a failure by ``route`` to a decision maker; queue an adverse decision."""
    ctx, i, cid = j.ctx, j.i, j.claimant_id
    if not ctx.sanctions_enabled or not j.sanctionable:
        return
    key = route * _ROUTE_STRIDE + occ
    if uniform_from_base(ctx.base_refer, cid, key) >= ctx.route_p_refer[route]:
        return
    j.n_refs += 1
    j.log(now, Event.SANCTION_REFERRAL, float(route))
    ill = route <= ACTIVITY and uniform_from_base(ctx.base_reason, cid, key) < ctx.p_ill[i]
    p = ctx.p_good_reason_rejected if ill else ctx.route_p_adverse[route]
    if uniform_from_base(ctx.base_decision, cid, key) >= p:
        return
    if ctx.route_higher[route]:
        higher = not j.esa
    else:
        higher = (
            route <= ACTIVITY
            and ctx.p_higher_level > 0.0
            and not j.esa
            and uniform_from_base(ctx.base_higher, cid, key) < ctx.p_higher_level
        )
    j.pending.append((now + ctx.decision_days, now, ill, higher))


# ---------------------------------------------------------------------- sanctions
def on_decision(j: Journey, now: float) -> None:
    """An adverse decision on the oldest pending referral takes effect at ``now``."""
    ctx, i = j.ctx, j.i
    _, failed_at, wrong, higher = j.pending.pop(0)
    ladder = ctx.ladder_for(j.esa, higher, failed_at)
    level = ladder_level(
        [(t, lvl) for t, lvl, h in j.history if h == higher],
        failed_at,
        window_days=ctx.escalation_window_days,
        no_escalation_days=ctx.no_escalation_days,
        n_levels=len(ladder.weeks),
    )
    occ = j.n_sanctions
    j.n_sanctions += 1
    j.n_wrong += wrong
    j.log(now, Event.SANCTION_DECISION, float(wrong))
    if wrong:
        j.log(now, Event.WRONG_SANCTION_DECISION)
    p_over = ctx.p_overturn_wrong if wrong else ctx.p_overturn_right
    overturned = uniform_from_base(ctx.base_overturn, j.claimant_id, occ) < p_over
    start = j.sanc_until if j.sanctioned and j.sanc_until < INF else now
    if ladder.open_ended:  # until the claimant re-engages, then the fixed part
        e = exponential_from_base(ctx.base_compliance, j.claimant_id, occ)
        comply_at = now + e / ctx.reengage_rate_per_day if ctx.reengage_rate_per_day > 0 else INF
        end = max(start, comply_at) + spell_days(ladder, level)
    else:
        end = start + spell_days(ladder, level)
    repay = False
    if overturned:
        j.n_overturned += 1
        over_at = now + ctx.overturn_days
        end = min(end, max(start, over_at))
        repay = over_at <= ctx.horizon_at[i]  # back pay inside the follow-up window
        j.log(over_at, Event.OVERTURN)
    else:
        j.history.append((failed_at, level, higher))
    if end <= start:
        return
    j.sanc_segments.append((start, end, repay))
    j.sanc_until = end
    j.sanc_frac = ladder.fraction_of_benefit
    if not j.sanctioned:
        _start_sanction(j, now, occ, level)
    refresh_all_attendance(j)  # deterrence


def _start_sanction(j: Journey, now: float, occ: int, level: int) -> None:
    ctx = j.ctx
    j.sanctioned = True
    u_hard = uniform_from_base(ctx.base_hardship, j.claimant_id, occ) if ctx.p_hardship > 0 else 1.0
    if u_hard < ctx.p_hardship:
        j.hard_from = now + ctx.hardship_after_days
    j.log(now, Event.SANCTION_START, level)
    update_hazards(j, now)


def _repay_overturned(j: Journey, now: float) -> None:
    """Pay back what overturned spells actually withheld, now that the sanction ends."""
    rate = j.ctx.rate_per_day[j.i] * j.sanc_frac
    h = j.ctx.hardship_fraction
    for start, end, repay in j.sanc_segments:
        if repay:
            stop = min(end, now)
            withheld = max(0.0, stop - start) - h * max(0.0, stop - max(start, j.hard_from))
            j.benefit_paid += withheld * rate
    j.sanc_segments.clear()
    j.hard_from = INF


def on_sanction_end(j: Journey, now: float) -> None:
    """The sanction's spell is over at ``now``: full benefit again."""
    _repay_overturned(j, now)
    j.hard_from = INF
    j.sanctioned = False
    j.sanc_until = INF
    j.log(now, Event.SANCTION_END)
    update_hazards(j, now)


def clear_sanctions(j: Journey, now: float) -> None:
    """Leaving benefit ends any sanction and drops pending decisions."""
    j.pending.clear()
    j.job_search_at = INF
    if j.sanctioned:
        _repay_overturned(j, now)
        j.hard_from = INF
        j.sanctioned = False
        j.sanc_until = INF
        j.log(now, Event.SANCTION_END)


def settle_at_end(j: Journey, now: float) -> None:
    """Back pay for overturned spells still running when follow-up ends."""
    if j.sanctioned:
        _repay_overturned(j, now)
