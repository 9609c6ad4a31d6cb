"""Conditionality: attendance at mandatory contacts, failures, referrals and sanctions.

Where a failure to attend is decided (:func:`draw_next_fta`: attendance is Bernoulli
with a probability that changes only at a failure, so one keyed draw per failure gives
the geometric number of contacts attended before the next), whether it is referred to a
decision maker and with what outcome (:func:`on_failure_to_attend`), how long a sanction
runs under the ladder in force (:func:`on_decision`, with the pure rules of
:mod:`sim.sanctions`), an ESA open-ended sanction ending on compliance, overturns with
back pay, and hardship payments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sim.clocks import update_hazards
from sim.events import Event
from sim.fmath import log, neg_log1m, sigmoid
from sim.hazards import INF
from sim.rng import uniform_from_base
from sim.sanctions import ladder_level, spell_days

if TYPE_CHECKING:
    from sim.journey import Journey

__all__ = [
    "NEVER",
    "clear_sanctions",
    "draw_next_fta",
    "on_compliance",
    "on_decision",
    "on_failure_to_attend",
    "on_sanction_end",
]

NEVER: Final = 1 << 62
"""An interview count that is never reached (attendance is certain)."""


def draw_next_fta(j: Journey) -> None:
    """Draw how many interviews are attended before the next failure to attend."""
    p = j.p_attend
    if p >= 1.0:
        j.fta_k = NEVER
        return
    u = uniform_from_base(j.ctx.base_attend, j.i, j.n_fta)
    j.fta_k = j.iv_k + int(-neg_log1m(u) / log(p)) if p > 0.0 else j.iv_k


def on_failure_to_attend(j: Journey, now: float) -> None:
    """A failure to attend at ``now``: persistence, then referral and a decision to come."""
    ctx, i = j.ctx, j.i
    occ = j.n_fta
    j.n_fta += 1
    j.log(now, Event.FTA)
    j.logit_attend += ctx.logit_per_prior_fta
    j.p_attend = sigmoid(j.logit_attend)
    draw_next_fta(j)
    if j.iv_k > j.mand_k_end:  # a voluntary interview: no sanction
        return
    if not ctx.sanctions_enabled or uniform_from_base(ctx.base_refer, i, occ) >= ctx.p_refer:
        return
    j.n_refs += 1
    j.log(now, Event.SANCTION_REFERRAL)
    ill = uniform_from_base(ctx.base_reason, i, occ) < ctx.p_ill[i]
    p = ctx.p_good_reason_rejected if ill else ctx.p_adverse
    if uniform_from_base(ctx.base_decision, i, occ) < p:
        higher = (
            ctx.p_higher_level > 0.0
            and not ctx.esa[i]
            and uniform_from_base(ctx.base_higher, i, occ) < ctx.p_higher_level
        )
        j.pending.append((now + ctx.decision_days, now, ill, higher))


def on_decision(j: Journey, now: float) -> None:
    """An adverse decision on the oldest pending referral takes effect at ``now``."""
    ctx, i = j.ctx, j.i
    _, failed_at, wrong, higher = j.pending.pop(0)
    ladder = ctx.ladder_for(ctx.esa[i], higher, failed_at)
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
    overturned = uniform_from_base(ctx.base_overturn, i, occ) < p_over
    start = j.sanc_until if j.sanctioned and j.sanc_until < INF else now
    end = INF if ladder.open_ended else start + spell_days(ladder, level)
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
    if ladder.open_ended:
        j.awaiting_compliance = True
        j.sanc_fixed_days = spell_days(ladder, level)
    j.sanc_until = end
    j.sanc_frac = ladder.fraction_of_benefit
    if not j.sanctioned:
        _start_sanction(j, now, occ, level)


def _start_sanction(j: Journey, now: float, occ: int, level: int) -> None:
    ctx = j.ctx
    j.sanctioned = True
    u_hard = uniform_from_base(ctx.base_hardship, j.i, occ) if ctx.p_hardship > 0 else 1.0
    if u_hard < ctx.p_hardship:
        j.hard_from = now + ctx.hardship_after_days
    j.log(now, Event.SANCTION_START, level)
    update_hazards(j, now)


def on_compliance(j: Journey, now: float) -> None:
    """An open-ended sanction runs on for its fixed part after the claimant complies."""
    j.awaiting_compliance = False
    j.sanc_until = min(j.sanc_until, now + j.sanc_fixed_days)
    if j.sanc_until <= now:
        on_sanction_end(j, now)


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
    j.awaiting_compliance = False
    j.sanc_until = INF
    j.log(now, Event.SANCTION_END)
    update_hazards(j, now)


def clear_sanctions(j: Journey, now: float) -> None:
    """Leaving benefit ends any sanction and drops pending decisions."""
    j.pending.clear()
    if j.sanctioned:
        _repay_overturned(j, now)
        j.hard_from = INF
        j.sanctioned = False
        j.awaiting_compliance = False
        j.sanc_until = INF
        j.log(now, Event.SANCTION_END)


def settle_at_end(j: Journey, now: float) -> None:
    """Back pay for overturned spells still running when follow-up ends."""
    if j.sanctioned:
        _repay_overturned(j, now)
