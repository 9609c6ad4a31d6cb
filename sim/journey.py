"""A claimant's journey as one SimPy process.

The process wakes only where its state can change: attachment, a failure to
attend (or, awaiting compliance, any interview), a sanction decision or the
end of a spell, job entry, job loss, leaving benefit, programme end, and the
end of follow-up. A change of interview interval or provider is applied the day
the provider makes it (:meth:`Journey.reschedule`, no SimPy interrupt), and the
process is moved to a timeout for its new next wake-up. Everything between
wake-ups is settled arithmetically:

* interviews that are attended are counted in bulk at the next wake-up: attendance
  is Bernoulli with a probability that changes only at a failure, so one keyed
  draw per failure gives the (geometric) number of interviews attended before the
  next one;
* job entry, job loss and off-flow are hazard clocks (:mod:`sim.hazards`);
* the job outcome and sustainment payments of a job are dated when it starts,
  because its end is known then (:func:`sim.contract.settle_job`).

Every draw is keyed by (stream, claimant, occurrence), so the same claimant
under two regimes differs only where the regimes make it differ.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.contract import (
    DAYS_PER_MONTH,
    OutcomeProgress,
    attachment_fee_gbp,
    price_index,
    settle_job,
)
from sim.fmath import exp, log, neg_log1m, sigmoid
from sim.hazards import INF
from sim.rng import exponential_from_base, uniform_from_base
from sim.sanctions import ladder_level, spell_days

if TYPE_CHECKING:
    from sim.area import Area
    from sim.context import RunContext
    from sim.provider import Provider

__all__ = ["Journey"]

NAN = math.nan
NEVER = 1 << 62
"""An interview count that is never reached (attendance is certain)."""

# what a wake-up is for, in order of priority when two fall on the same day
(
    HORIZON,
    JOB_END,
    ENTRY,
    OFFFLOW,
    DECISION,
    SANCTION_END,
    PROG_END,
    ATTACH,
    IV_END,
    IV_START,
    INTERVIEW,
    SWITCH,
) = range(12)

NO_SAVED_SCHEDULE: tuple[float, float, float, float, float] = (0.0, 1.0, 0.0, INF, 0.0)
"""(anchor, interval, minutes, switch_at, switch_interval) before any intervention replaced it."""

# benefit and work status
ON_BENEFIT, IN_WORK, OFF_BENEFIT = 0, 1, 2

# event-log codes (index into sim.records.EVENT_CODES)
(
    EV_REFERRAL,
    EV_ATTACH,
    EV_INTERVIEW,
    EV_FTA,
    EV_SANCTION_REFERRAL,
    EV_SANCTION_START,
    EV_SANCTION_END,
    EV_OVERTURN,
    EV_JOB_START,
    EV_JOB_END,
    EV_OUTCOME,
    EV_SUSTAINMENT,
    EV_OFFFLOW,
    EV_PROG_END,
    EV_INTENSITY,
    EV_END,
    EV_DECISION,
    EV_WRONG_DECISION,
    EV_IV_START,
    EV_IV_END,
) = range(20)


class Journey:
    """One claimant's state and process.

    Parameters
    ----------
    ctx : RunContext
        Per-run constants and per-claimant columns.
    i : int
        Claimant id.
    area : Area or None
        The claimant's contract package area (None under the Jobcentre Plus regime);
        it allocates the provider at attachment.
    local : int
        The claimant's index in its area's arrays.
    """

    __slots__ = (
        "area",
        "attach_at",
        "attached_at",
        "awaiting_compliance",
        "band_levels",
        "band_offsets",
        "band_starts",
        "benefit_paid",
        "caseload_days",
        "ctx",
        "days_in_work",
        "days_off",
        "days_on_benefit",
        "days_sanctioned",
        "e_entry",
        "e_off",
        "env",
        "first_job_at",
        "fta_k",
        "hard_from",
        "hardship_paid",
        "history",
        "horizon_at",
        "i",
        "iv_active",
        "iv_anchor",
        "iv_cost",
        "iv_end_at",
        "iv_interval",
        "iv_j",
        "iv_k",
        "iv_minutes",
        "iv_override",
        "iv_provider",
        "iv_queue",
        "iv_saved",
        "job_end_at",
        "k_entry",
        "k_loss",
        "lam_ref",
        "last_contact",
        "local",
        "logit_attend",
        "m_during",
        "m_entry",
        "mand_k_end",
        "max_gap",
        "minutes_adviser",
        "minutes_jcp",
        "n_events",
        "n_fta",
        "n_interventions",
        "n_interviews",
        "n_jobs",
        "n_overturned",
        "n_refs",
        "n_sanctions",
        "n_spells",
        "n_wrong",
        "offflow_at",
        "on_prog",
        "p_attend",
        "paid_attach",
        "paid_outcome",
        "paid_sustain",
        "pending",
        "proc",
        "programme_end_at",
        "progress",
        "provider",
        "rate_off",
        "sanc_fixed_days",
        "sanc_frac",
        "sanc_segments",
        "sanc_until",
        "sanctioned",
        "status",
        "switch_at",
        "switch_interval",
        "t_entry",
        "t_last",
        "t_off",
        "t_off_ref",
        "wake_at",
        "wake_kind",
    )

    m_entry: float
    k_entry: float
    k_loss: float
    rate_off: float
    t_off_ref: float
    e_entry: float
    e_off: float
    t_entry: float
    t_off: float
    t_last: float
    iv_anchor: float
    iv_interval: float
    iv_j: int
    iv_minutes: float
    iv_provider: bool
    fta_k: int
    env: simpy.Environment
    wake_at: float
    wake_kind: int

    def __init__(self, ctx: RunContext, i: int, area: Area | None, local: int) -> None:
        self.ctx = ctx
        self.i = i
        self.horizon_at = ctx.horizon_at[i]
        self.programme_end_at = ctx.programme_end_at[i]
        self.area = area
        self.provider: Provider | None = None
        self.local = local
        self.status = ON_BENEFIT
        self.on_prog = False
        self.attach_at = ctx.attach_at[i] if (area is not None and ctx.attaches[i]) else INF
        self.attached_at = NAN
        self.first_job_at = NAN
        self.offflow_at = NAN
        self.job_end_at = INF
        self.progress = OutcomeProgress()
        self.history: list[tuple[float, int, bool]] = []
        self.pending: list[tuple[float, float, bool, bool]] = []
        self.sanctioned = False
        self.sanc_until = INF
        self.sanc_frac = 0.0
        self.awaiting_compliance = False
        self.logit_attend = ctx.logit_attend[i]
        self.p_attend = sigmoid(self.logit_attend)
        self.days_in_work = self.days_on_benefit = self.days_sanctioned = 0.0
        self.days_off = self.caseload_days = self.benefit_paid = 0.0
        self.minutes_adviser = self.minutes_jcp = self.max_gap = 0.0
        self.paid_attach = self.paid_outcome = self.paid_sustain = 0.0
        self.n_jobs = self.n_interviews = self.n_fta = self.n_refs = 0
        self.n_sanctions = self.n_wrong = self.n_overturned = self.n_spells = self.n_events = 0
        self.last_contact = NAN
        self.iv_k = 0
        self.sanc_fixed_days = 0.0
        self.sanc_segments: list[tuple[float, float, bool]] = []
        self.band_starts, self.band_offsets, self.band_levels = ctx.entry.claimant_bands(
            ctx.claim_start_at[i]
        )
        self.lam_ref = 0.0
        self.mand_k_end = NEVER
        self.switch_at = INF
        self.switch_interval = 0.0
        self.hard_from = INF
        self.hardship_paid = 0.0
        self.k_entry = ctx.k_entry[i]
        self.k_loss = ctx.k_loss[i]
        self.m_during = 1.0
        self.iv_queue: list[tuple[float, int]] = []
        self.iv_active = -1
        self.iv_end_at = INF
        self.iv_override = False
        self.iv_saved = NO_SAVED_SCHEDULE
        self.iv_cost = 0.0
        self.n_interventions = 0
        self.proc: Any = None
        """The SimPy process running :meth:`run` (set by whoever starts it)."""
        self.wake_at = INF
        self.wake_kind = HORIZON
        self._draw_next_fta()

    # ================================================================ process
    def run(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        """SimPy process: the claimant's whole journey from referral to end of follow-up."""
        ctx, i = self.ctx, self.i
        t = ctx.referred_at[i]
        self.env = env
        self.t_last = t
        self._log(t, EV_REFERRAL)
        self._start_spell(t)
        self._jcp_schedule(t)
        if ctx.iv_take[i]:
            self._plan_interventions(t, programme=False)
        now = 0.0
        while True:
            t_next, kind = self._next_wake()
            if kind == HORIZON and not (self.on_prog and self.status == ON_BENEFIT):
                # nothing can change before the horizon: settle it without waking.
                # (A claimant still in a caseload waits, so its provider's books stay in order.)
                self._catch_up(t_next)
                self._finish(t_next)
                return
            self.n_events += 1
            self.wake_at, self.wake_kind = t_next, kind
            yield env.timeout(t_next - now)
            now, kind = self.wake_at, self.wake_kind  # a reschedule may have changed them
            self._catch_up(now)
            if kind == HORIZON:
                self._finish(now)
                return
            self._dispatch(kind, now)

    def reschedule(self) -> None:
        """Apply a change of interview interval or provider made today by the provider.

        Called by :func:`sim.provider.periodic` instead of a SimPy interrupt (which
        costs an extra event and an exception), once the provider's or area's process
        has set its own next wake-up: the state is brought up to today, the change
        applied, and the process moved from the timeout it sleeps on to one for its
        new next wake-up. The old timeout stays in the queue with no callback. Events
        are created in the same order as an interrupt's handler created them, so
        results do not depend on the mechanism.
        """
        env, proc = self.env, self.proc
        now = env.now
        self._catch_up(now)
        self._on_interval_change(now)
        t_next, kind = self._next_wake()
        proc._target.callbacks.remove(proc._resume)
        wake = env.timeout(t_next - now)
        wake.callbacks.append(proc._resume)
        proc._target = wake
        self.n_events += 1
        self.wake_at, self.wake_kind = t_next, kind

    def _dispatch(self, kind: int, now: float) -> None:
        if kind == INTERVIEW:
            self._on_interview(now)
        elif kind == ENTRY:
            self._on_job_start(now)
        elif kind == JOB_END:
            self._on_job_end(now)
        elif kind == DECISION:
            self._on_decision(now)
        elif kind == SANCTION_END:
            self._on_sanction_end(now)
        elif kind == OFFFLOW:
            self._on_offflow(now)
        elif kind == PROG_END:
            self._on_programme_end(now)
        elif kind == ATTACH:
            self._on_attach(now)
        elif kind == IV_START:
            self._on_iv_start(now)
        elif kind == IV_END:
            self._on_iv_end(now, completed=True)
        elif kind == SWITCH:
            self._on_switch(now)

    def _next_wake(self) -> tuple[float, int]:
        best, kind = self.horizon_at, HORIZON
        if self.status == IN_WORK:
            if self.job_end_at < best:
                best, kind = self.job_end_at, JOB_END
            return best, kind
        if self.t_entry < best:
            best, kind = self.t_entry, ENTRY
        if self.status == OFF_BENEFIT:
            return best, kind
        if self.t_off < best:
            best, kind = self.t_off, OFFFLOW
        if self.pending and self.pending[0][0] < best:
            best, kind = self.pending[0][0], DECISION
        if self.sanctioned and self.sanc_until < best:
            best, kind = self.sanc_until, SANCTION_END
        if self.on_prog and self.programme_end_at < best:
            best, kind = self.programme_end_at, PROG_END
        if self.attach_at < best:
            best, kind = self.attach_at, ATTACH
        if self.iv_end_at < best:
            best, kind = self.iv_end_at, IV_END
        if self.iv_queue and self.iv_queue[0][0] < best:
            best, kind = self.iv_queue[0][0], IV_START
        if self.switch_at < best:
            best, kind = self.switch_at, SWITCH
        # the next interview that needs a wake-up: a failure or, awaiting compliance, any
        if self.awaiting_compliance:
            t_iv = self.iv_anchor + self.iv_j * self.iv_interval
        elif self.fta_k != NEVER:
            t_iv = self.iv_anchor + (self.iv_j + self.fta_k - self.iv_k) * self.iv_interval
        else:
            return best, kind
        if t_iv < best:
            best, kind = t_iv, INTERVIEW
        return best, kind

    # ================================================================ accrual
    def _catch_up(self, now: float) -> None:
        """Bring the state up to ``now``: time-in-state sums, then attended interviews.

        Every interview before ``now`` was attended, or the process would have woken
        at the failure, so they are settled here before any handler runs.
        """
        self._accrue(now)
        if self.status == ON_BENEFIT and self.iv_anchor + self.iv_j * self.iv_interval < now:
            self._settle_interviews(now)

    def _accrue(self, now: float) -> None:
        dt = now - self.t_last
        if dt <= 0.0:
            return
        if self.status == ON_BENEFIT:
            self.days_on_benefit += dt
            rate = self.ctx.rate_per_day[self.i]
            if self.sanctioned:
                self.days_sanctioned += dt
                self.benefit_paid += dt * rate * (1.0 - self.sanc_frac)
                if now > self.hard_from:
                    hard = (now - max(self.t_last, self.hard_from)) * rate * self.sanc_frac
                    hard *= self.ctx.hardship_fraction
                    self.benefit_paid += hard
                    self.hardship_paid += hard
            else:
                self.benefit_paid += dt * rate
            if self.on_prog:
                self.caseload_days += dt
        elif self.status == IN_WORK:
            self.days_in_work += dt
        else:
            self.days_off += dt
        self.t_last = now

    # ================================================================ hazards
    def _intensity(self) -> float:
        if self.status != ON_BENEFIT:
            return 0.0
        return self.iv_minutes * 7.0 / self.iv_interval / 60.0

    def _entry_multiplier(self) -> float:
        ctx = self.ctx
        if self.status == IN_WORK:
            return 0.0
        m = self.k_entry * self.m_during * (1.0 + ctx.effect_per_hour * self._intensity())
        if self.status == OFF_BENEFIT:
            return m * ctx.entry_mult_off_benefit
        if self.sanctioned:
            m *= ctx.entry_mult_sanctioned
        return m

    def _update_hazards(self, now: float) -> None:
        """Carry both clocks over a change of state (benefit status or sanction) at ``now``."""
        self._update_entry(now)
        self._update_off(now)

    def _update_entry(self, now: float) -> None:
        """Carry the job-entry clock over a change of its multiplier at ``now``."""
        entry = self.ctx.entry
        lam = entry.cumulative(now, self.band_starts, self.band_offsets)
        if self.m_entry > 0.0:
            self.e_entry -= self.m_entry * (lam - self.lam_ref)
        self.lam_ref = lam
        m = self.m_entry = self._entry_multiplier()
        if m > 0.0:
            e = self.e_entry
            target = lam + (e if e > 0.0 else 0.0) / m
            t = entry.inverse(target, self.band_starts, self.band_offsets, self.band_levels)
            self.t_entry = t if t > now else now
        else:
            self.t_entry = INF

    def _update_off(self, now: float) -> None:
        """Carry the off-flow clock over a change of its rate at ``now``."""
        ctx = self.ctx
        self.e_off -= self.rate_off * (now - self.t_off_ref)
        self.t_off_ref = now
        if self.status == ON_BENEFIT:
            self.rate_off = ctx.k_off * (ctx.off_mult_sanctioned if self.sanctioned else 1.0)
        else:
            self.rate_off = 0.0
        e = self.e_off
        self.t_off = now + (e if e > 0.0 else 0.0) / self.rate_off if self.rate_off > 0 else INF

    def _start_spell(self, now: float) -> None:
        """Start an out-of-work spell on benefit with fresh entry and off-flow clocks."""
        ctx, i, k = self.ctx, self.i, self.n_spells
        self.e_entry = exponential_from_base(ctx.base_entry, i, k)
        self.e_off = exponential_from_base(ctx.base_off, i, k)
        self.t_off_ref = now
        self.m_entry = 0.0
        self.rate_off = 0.0
        self.n_spells += 1

    # ================================================================ interviews
    # Interview j of the current schedule is on day ``iv_anchor + j * iv_interval``;
    # ``iv_j`` is the next one and ``iv_k`` counts every interview so far. Attendance
    # is Bernoulli(p_attend) with p changing only at a failure, so the number of
    # interviews attended before the next failure is geometric: one keyed draw per
    # failure gives ``fta_k``, the count at which the next failure falls.

    def _iv_time(self, j: int) -> float:
        return self.iv_anchor + j * self.iv_interval

    def _set_schedule(
        self, first_at: float, interval: float, minutes: float, provider: bool, now: float
    ) -> None:
        self.iv_anchor = first_at
        self.iv_interval = interval
        self.iv_j = 0
        self.iv_minutes = minutes
        self.iv_provider = provider
        self.switch_at = INF
        self.iv_override = False
        self._update_hazards(now)

    def _jcp_schedule(self, now: float) -> None:
        """Start the Jobcentre Plus offer of the claimant's arm at ``now``."""
        first, interval, minutes, n, after, n_mand = self.ctx.jcp_by_arm[self.ctx.arm[self.i]]
        self._set_schedule(now + first, interval, minutes, False, now)
        self.mand_k_end = NEVER if n_mand is None else self.iv_k + n_mand
        if n is not None:
            self.switch_at = now + first + (n - 1) * interval
            self.switch_interval = after

    def _on_switch(self, now: float) -> None:
        """The first phase of interviews is over: continue at ``switch_interval``."""
        self._settle_interviews(now, inclusive=True)
        self.iv_anchor = now + self.switch_interval
        self.iv_interval = self.switch_interval
        self.iv_j = 0
        self.switch_at = INF
        self._update_entry(now)

    def _draw_next_fta(self) -> None:
        """Draw how many interviews are attended before the next failure to attend."""
        p = self.p_attend
        if p >= 1.0:
            self.fta_k = NEVER
            return
        u = uniform_from_base(self.ctx.base_attend, self.i, self.n_fta)
        self.fta_k = self.iv_k + int(-neg_log1m(u) / log(p)) if p > 0.0 else self.iv_k

    def _n_before(self, now: float, inclusive: bool) -> int:
        """Return how many interviews from ``iv_j`` on fall before ``now`` (or at it)."""
        anchor, step, j0 = self.iv_anchor, self.iv_interval, self.iv_j
        j = max(j0, math.ceil((now - anchor) / step))
        # make the count agree exactly with _iv_time, whatever the rounding
        while j > j0 and (
            anchor + (j - 1) * step > now or (not inclusive and anchor + (j - 1) * step == now)
        ):
            j -= 1
        while anchor + j * step < now or (inclusive and anchor + j * step == now):
            j += 1
        return j - j0

    def _settle_interviews(self, now: float, *, inclusive: bool = False) -> None:
        """Count the interviews before ``now`` (or at it) as attended.

        Never counts past the next failure to attend: callers wake at that failure.
        """
        t_next = self.iv_anchor + self.iv_j * self.iv_interval
        if t_next > now or (t_next == now and not inclusive):
            return
        n = min(self._n_before(now, inclusive), self.fta_k - self.iv_k)
        if n <= 0:
            return
        j0 = self.iv_j
        last = self._iv_time(j0 + n - 1)
        if self.iv_provider and self.on_prog:
            gap = max(self._iv_time(j0) - self.last_contact, self.iv_interval if n > 1 else 0.0)
            if gap > self.max_gap:
                self.max_gap = gap
            self.last_contact = last
        if self.ctx.events is not None:
            for jj in range(j0, j0 + n):
                self._log(self._iv_time(jj), EV_INTERVIEW)
        self.iv_j = j0 + n
        self.iv_k += n
        self.n_interviews += n
        if self.iv_provider:
            self.minutes_adviser += n * self.iv_minutes
            if self.provider is not None:
                self.provider.book_interviews(last, n, self.iv_minutes)
        else:
            self.minutes_jcp += n * self.iv_minutes

    def _on_interview(self, now: float) -> None:
        """A failure to attend at ``now`` or, awaiting compliance, any interview."""
        if self.iv_k < self.fta_k:  # attended: only woken for it when awaiting compliance
            self._settle_interviews(now, inclusive=True)
            self._on_compliance(now)
        else:
            self.iv_j += 1
            self.iv_k += 1
            self._on_fta(now)

    def _on_interval_change(self, now: float) -> None:
        """The provider changed this claimant's interval: apply it from the last interview."""
        assert self.provider is not None
        if self.iv_override:  # an intervention sets the interval until it ends
            return
        new = float(self.provider.interval_days[self.local])
        last = self._iv_time(self.iv_j - 1)
        self.iv_anchor = max(now, last + new)
        self.iv_interval = new
        self.iv_j = 0
        self._update_entry(now)
        self._log(now, EV_INTENSITY, new)

    # ================================================================ sanctions
    def _on_fta(self, now: float) -> None:
        ctx, i = self.ctx, self.i
        occ = self.n_fta
        self.n_fta += 1
        self._log(now, EV_FTA)
        self.logit_attend += ctx.logit_per_prior_fta
        self.p_attend = sigmoid(self.logit_attend)
        self._draw_next_fta()
        if self.iv_k > self.mand_k_end:  # a voluntary interview: no sanction
            return
        if not ctx.sanctions_enabled or uniform_from_base(ctx.base_refer, i, occ) >= ctx.p_refer:
            return
        self.n_refs += 1
        self._log(now, EV_SANCTION_REFERRAL)
        ill = uniform_from_base(ctx.base_reason, i, occ) < ctx.p_ill[i]
        p = ctx.p_good_reason_rejected if ill else ctx.p_adverse
        if uniform_from_base(ctx.base_decision, i, occ) < p:
            higher = (
                ctx.p_higher_level > 0.0
                and not ctx.esa[i]
                and uniform_from_base(ctx.base_higher, i, occ) < ctx.p_higher_level
            )
            self.pending.append((now + ctx.decision_days, now, ill, higher))

    def _on_decision(self, now: float) -> None:
        ctx, i = self.ctx, self.i
        _, failed_at, wrong, higher = self.pending.pop(0)
        ladder = ctx.ladder_for(ctx.esa[i], higher, failed_at)
        level = ladder_level(
            [(t, lvl) for t, lvl, h in self.history if h == higher],
            failed_at,
            window_days=ctx.escalation_window_days,
            no_escalation_days=ctx.no_escalation_days,
            n_levels=len(ladder.weeks),
        )
        occ = self.n_sanctions
        self.n_sanctions += 1
        self.n_wrong += wrong
        self._log(now, EV_DECISION, float(wrong))
        if wrong:
            self._log(now, EV_WRONG_DECISION)
        p_over = ctx.p_overturn_wrong if wrong else ctx.p_overturn_right
        overturned = uniform_from_base(ctx.base_overturn, i, occ) < p_over
        start = self.sanc_until if self.sanctioned and self.sanc_until < INF else now
        end = INF if ladder.open_ended else start + spell_days(ladder, level)
        repay = False
        if overturned:
            self.n_overturned += 1
            over_at = now + ctx.overturn_days
            end = min(end, max(start, over_at))
            repay = over_at <= ctx.horizon_at[i]  # back pay inside the follow-up window
            self._log(over_at, EV_OVERTURN)
        else:
            self.history.append((failed_at, level, higher))
        if end <= start:
            return
        self.sanc_segments.append((start, end, repay))
        if ladder.open_ended:
            self.awaiting_compliance = True
            self.sanc_fixed_days = spell_days(ladder, level)
        self.sanc_until = end
        self.sanc_frac = ladder.fraction_of_benefit
        if not self.sanctioned:
            self.sanctioned = True
            u_hard = uniform_from_base(ctx.base_hardship, i, occ) if ctx.p_hardship > 0 else 1.0
            if u_hard < ctx.p_hardship:
                self.hard_from = now + ctx.hardship_after_days
            self._log(now, EV_SANCTION_START, level)
            self._update_hazards(now)

    def _on_compliance(self, now: float) -> None:
        """An open-ended sanction runs on for its fixed part after the claimant complies."""
        self.awaiting_compliance = False
        self.sanc_until = min(self.sanc_until, now + self.sanc_fixed_days)
        if self.sanc_until <= now:
            self._on_sanction_end(now)

    def _repay_overturned(self, now: float) -> None:
        """Pay back what overturned spells actually withheld, now that the sanction ends."""
        rate = self.ctx.rate_per_day[self.i] * self.sanc_frac
        h = self.ctx.hardship_fraction
        for start, end, repay in self.sanc_segments:
            if repay:
                stop = min(end, now)
                withheld = max(0.0, stop - start) - h * max(0.0, stop - max(start, self.hard_from))
                self.benefit_paid += withheld * rate
        self.sanc_segments.clear()
        self.hard_from = INF

    def _on_sanction_end(self, now: float) -> None:
        self._repay_overturned(now)
        self.hard_from = INF
        self.sanctioned = False
        self.awaiting_compliance = False
        self.sanc_until = INF
        self._log(now, EV_SANCTION_END)
        self._update_hazards(now)

    def _clear_sanctions(self, now: float) -> None:
        """Leaving benefit ends any sanction and drops pending decisions."""
        self.pending.clear()
        if self.sanctioned:
            self._repay_overturned(now)
            self.hard_from = INF
            self.sanctioned = False
            self.awaiting_compliance = False
            self.sanc_until = INF
            self._log(now, EV_SANCTION_END)

    # ================================================================ programme
    def _on_attach(self, now: float) -> None:
        ctx, area = self.ctx, self.area
        assert area is not None
        prov = self.provider = area.assign(self.local)
        self.attach_at = INF
        self.on_prog = True
        self.attached_at = now
        self.last_contact = now
        interval = prov.attach(self.local, now)
        cfg = prov.config
        self._set_schedule(
            now + cfg.first_interview_days, interval, cfg.interview_minutes, True, now
        )
        n_mand = cfg.n_mandatory_interviews
        self.mand_k_end = NEVER if n_mand is None else self.iv_k + n_mand
        if ctx.iv_take[self.i]:
            self._plan_interventions(now, programme=True)
        fee = attachment_fee_gbp(ctx.contract, ctx.groups[self.i], now, ctx.start_month)
        if fee > 0.0:
            self.paid_attach += fee
            prov.pay("attachment", now, fee)
        self._log(now, EV_ATTACH, fee)

    def _leave_caseload(self, now: float) -> None:
        if self.on_prog and self.status == ON_BENEFIT and self.provider is not None:
            self.provider.leave(self.local, now)
            gap = now - self.last_contact
            if gap > self.max_gap:
                self.max_gap = gap

    def _on_programme_end(self, now: float) -> None:
        self._leave_caseload(now)
        self.on_prog = False
        self._log(now, EV_PROG_END)
        self._jcp_schedule(now)

    # ================================================================ work and benefit
    def _on_job_start(self, now: float) -> None:
        ctx, i = self.ctx, self.i
        if self.status == ON_BENEFIT:
            self._leave_caseload(now)
            self._clear_sanctions(now)
            self._drop_interventions(now)
        if self.attach_at < INF:  # found work before attaching: never attaches
            self.attach_at = INF
        self.status = IN_WORK
        if self.n_jobs == 0:
            self.first_job_at = now
        e_loss = exponential_from_base(ctx.base_loss, i, self.n_jobs)
        self.n_jobs += 1
        k_loss = self.k_loss
        self.job_end_at = now + ctx.loss.solve(e_loss / k_loss) if k_loss > 0 else INF
        self._log(now, EV_JOB_START)
        # the entry clock has fired and the off-flow clock dies with the spell
        self.t_entry = self.t_off = INF
        self.m_entry = self.rate_off = 0.0
        self._settle_payments(now)

    def _settle_payments(self, now: float) -> None:
        """Date the outcome and sustainment triggers of the job that starts at ``now``."""
        ctx, i = self.ctx, self.i
        group = ctx.groups[i]
        qualifies = now < ctx.programme_end_at[i]
        result = settle_job(
            self.progress, group, now, min(self.job_end_at, ctx.horizon_at[i]), qualifies=qualifies
        )
        prov = self.provider if (self.on_prog and qualifies) else None
        if result.outcome_at is not None:
            fee = group.outcome_fee_gbp * price_index(ctx.contract, result.outcome_at)
            self._log(result.outcome_at, EV_OUTCOME, fee if prov else 0.0)
            if prov is not None:
                self.paid_outcome += fee
                prov.pay("outcome", result.outcome_at, fee)
        if not result.sustainment_at:
            return
        fees = [
            group.sustainment_fee_gbp * price_index(ctx.contract, t) for t in result.sustainment_at
        ]
        if ctx.events is None:  # count by month only, without a call per payment
            row = ctx.monthly[EV_SUSTAINMENT]
            for t in result.sustainment_at:
                month = int(t / DAYS_PER_MONTH)
                if month < len(row):
                    row[month] += 1
        else:
            for t, fee in zip(result.sustainment_at, fees, strict=True):
                self._log(t, EV_SUSTAINMENT, fee if prov else 0.0)
        if prov is not None:
            self.paid_sustain += sum(fees)
            prov.pay_many("sustainment", result.sustainment_at, fees)

    def _on_job_end(self, now: float) -> None:
        ctx, i = self.ctx, self.i
        self._log(now, EV_JOB_END)
        self.job_end_at = INF
        self.status = ON_BENEFIT
        if self.provider is not None:
            self.provider.work_days[self.local] = self.progress.work_days
        self._start_spell(now)
        if self.on_prog and now < ctx.programme_end_at[i] and self.provider is not None:
            interval = self.provider.join(self.local, now)
            self.last_contact = now
            cfg = self.provider.config
            self._set_schedule(now + interval, interval, cfg.interview_minutes, True, now)
        else:
            self.on_prog = False
            self._jcp_schedule(now)

    def _on_offflow(self, now: float) -> None:
        self._leave_caseload(now)
        self._clear_sanctions(now)
        self._drop_interventions(now)
        if self.offflow_at != self.offflow_at:
            self.offflow_at = now
        self.status = OFF_BENEFIT
        if self.attach_at < INF:
            self.attach_at = INF
        self._log(now, EV_OFFFLOW)
        self._update_hazards(now)

    # ================================================================ interventions
    # An intervention starts only for a claimant on benefit (and, if the programme
    # delivers it, on the programme); one runs at a time, later ones wait. While it
    # runs, the job-entry hazard is multiplied by its lock-in factor and its interview
    # interval replaces the schedule; on completion, distance from work changes.
    # Leaving benefit ends it without effect and drops any still to start.

    def _plan_interventions(self, now: float, *, programme: bool) -> None:
        ctx = self.ctx
        for k in ctx.iv_take[self.i]:
            spec = ctx.interventions[k]
            if (spec.delivered_by == "programme") == programme:
                self.iv_queue.append((now + spec.start_after_days, k))
        self.iv_queue.sort()

    def _on_iv_start(self, now: float) -> None:
        ctx = self.ctx
        _, k = self.iv_queue.pop(0)
        spec = ctx.interventions[k]
        if spec.delivered_by == "programme" and not self.on_prog:
            return
        if self.iv_active >= 0:  # one at a time: start when the current one ends
            self.iv_queue.insert(0, (self.iv_end_at, k))
            return
        self.iv_active = k
        self.iv_end_at = now + spec.duration_days
        self.m_during = spec.entry_multiplier_during
        self.n_interventions += 1
        if spec.delivered_by == "programme" and self.provider is not None:
            self.provider.book_cost(now, spec.cost_gbp)
        else:
            self.iv_cost += spec.cost_gbp
        self._log(now, EV_IV_START, float(k))
        if spec.interview_interval_days is not None:
            minutes = self.iv_minutes if spec.interview_minutes is None else spec.interview_minutes
            interval = spec.interview_interval_days
            self.iv_saved = (
                self.iv_anchor,
                self.iv_interval,
                self.iv_minutes,
                self.switch_at,
                self.switch_interval,
            )
            self._set_schedule(now + interval, interval, minutes, self.iv_provider, now)
            self.iv_override = True
        else:
            self._update_entry(now)

    def _on_iv_end(self, now: float, *, completed: bool) -> None:
        """End the running intervention; on completion its effect on distance applies.

        Not completed means the claimant is leaving benefit: the state that follows
        replaces the schedule and the hazards, so nothing else is reset here.
        """
        spec = self.ctx.interventions[self.iv_active]
        self.iv_active = -1
        self.iv_end_at = INF
        self.m_during = 1.0
        if not completed:
            self.iv_override = False
            return
        self.k_entry *= exp(-spec.distance_change)
        self.k_loss *= exp(self.ctx.loss_distance_coef * spec.distance_change)
        self._log(now, EV_IV_END, float(spec.distance_change))
        if self.iv_override:
            if self.on_prog and self.provider is not None:
                interval = float(self.provider.interval_days[self.local])
                minutes = self.provider.config.interview_minutes
                self._set_schedule(now + interval, interval, minutes, True, now)
            else:
                self._resume_jcp_schedule(now)
        else:
            self._update_entry(now)
        self.iv_override = False

    def _resume_jcp_schedule(self, now: float) -> None:
        """Go back to the Jobcentre schedule an intervention replaced, where it has got to.

        The schedule keeps its calendar: the next interview is its first one after
        ``now``, and a phase that ended meanwhile is followed by the later interval.
        """
        anchor, interval, minutes, switch_at, switch_interval = self.iv_saved
        if switch_at <= now:
            anchor, interval, switch_at = switch_at + switch_interval, switch_interval, INF
        j = max(0, math.ceil((now - anchor) / interval))
        while anchor + j * interval <= now:
            j += 1
        self._set_schedule(anchor + j * interval, interval, minutes, False, now)
        self.switch_at = switch_at
        self.switch_interval = switch_interval

    def _drop_interventions(self, now: float) -> None:
        self.iv_queue.clear()
        if self.iv_active >= 0:
            self._on_iv_end(now, completed=False)

    # ================================================================ end
    def _finish(self, now: float) -> None:
        if self.status == ON_BENEFIT:
            self._leave_caseload(now)
        if self.sanctioned:
            self._repay_overturned(now)
        self._log(now, EV_END)
        self.proc = None
        ctx, i = self.ctx, self.i
        payments = self.paid_attach + self.paid_outcome + self.paid_sustain
        outcome = self.progress.outcome_at
        ctx.records.data[i] = (
            self.attached_at,
            ctx.programme_end_at[i],
            ctx.horizon_at[i],
            self.first_job_at,
            NAN if outcome is None else outcome,
            self.progress.n_sustainment,
            self.n_jobs,
            self.days_in_work,
            self.days_on_benefit,
            self.days_sanctioned,
            self.days_off,
            self.caseload_days,
            self.offflow_at,
            self.n_interviews,
            self.n_fta,
            self.minutes_adviser,
            self.minutes_jcp,
            self.max_gap,
            self.n_refs,
            self.n_sanctions,
            self.n_wrong,
            self.n_overturned,
            self.paid_attach,
            self.paid_outcome,
            self.paid_sustain,
            payments,
            self.benefit_paid,
            self.n_interventions,
            self.iv_cost,
            self.hardship_paid,
            self.n_events,
        )

    def _log(self, t: float, code: int, value: float = 0.0) -> None:
        """Count the event in its calendar month and, if kept, add it to the event log."""
        ctx = self.ctx
        month = int(t / DAYS_PER_MONTH)
        row = ctx.monthly[code]
        if month < len(row):
            row[month] += 1
        if ctx.events is not None:
            ctx.events.add(self.i, t, code, value)
