"""A claimant's journey as one SimPy process: a short dispatcher over the rooms of a journey.

The process wakes only where its state can change: attachment, a failure to
attend at any of its obligations, a doubt about job search, a sanction decision or
the end of a spell, job entry, job loss, leaving benefit, programme end, and the
end of follow-up. A change of interview interval or provider is applied the day
the provider makes it (:meth:`Journey.reschedule`, no SimPy interrupt), and the
process is moved to a timeout for its new next wake-up. Everything between
wake-ups is settled arithmetically.

The journey holds the claimant's state; what happens at each wake-up is decided in
the module of its concern, each a set of functions on the journey:

* :mod:`sim.clocks`: the job-entry and off-flow hazard clocks;
* :mod:`sim.interviews`: each actor's contact calendar (:mod:`sim.obligation`) and
  attended contacts;
* :mod:`sim.conditionality`: attendance, failures, referrals and sanctions;
* :mod:`sim.programme`: attachment, the provider's caseload, programme end;
* :mod:`sim.employment`: starting and leaving a job, outcome and sustainment payments;
* :mod:`sim.benefit`: time in each state, benefit paid, leaving benefit without a job;
* :mod:`sim.services`: interventions;
* :mod:`sim.wakes`: when the journey next wakes, and which module each wake-up goes to.

Every draw is keyed by (stream, claimant, occurrence), so the same claimant
under two regimes differs only where the regimes make it differ.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.benefit import (
    accrue,
    set_benefit_state,
)
from sim.clocks import start_spell
from sim.closing import close_journey
from sim.conditionality import (
    draw_job_search_doubt,
    start_clock,
)
from sim.contract import DAYS_PER_MONTH, OutcomeProgress
from sim.events import ON_BENEFIT, Event
from sim.hazards import INF
from sim.interviews import change_interval, jcp_schedule, settle_all
from sim.obligation import JCP, PROVIDER, Obligation
from sim.services import plan_interventions
from sim.simpy_compat import retarget
from sim.wakes import HORIZON, dispatch, next_wake

if TYPE_CHECKING:
    from sim.area import Area
    from sim.context import RunContext
    from sim.provider import Provider

__all__ = ["Journey"]

NAN = math.nan


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
        "band_levels",
        "band_offsets",
        "band_starts",
        "benefit_paid",
        "bstate",
        "caseload_days",
        "claimant_id",
        "ctx",
        "days_in_work",
        "days_off",
        "days_on_benefit",
        "days_sanctioned",
        "e_entry",
        "e_off",
        "env",
        "esa",
        "first_job_at",
        "first_job_end_at",
        "first_reclaim_at",
        "hard_from",
        "hardship_paid",
        "history",
        "horizon_at",
        "i",
        "iv_active",
        "iv_cost",
        "iv_end_at",
        "iv_queue",
        "jcp",
        "job_end_at",
        "job_search",
        "job_search_at",
        "k_entry",
        "k_loss",
        "lam_ref",
        "last_contact",
        "left_voluntarily",
        "local",
        "m_during",
        "m_entry",
        "max_gap",
        "minutes_adviser",
        "minutes_jcp",
        "miss_shift",
        "n_events",
        "n_fta",
        "n_interventions",
        "n_interviews",
        "n_job_search",
        "n_jobs",
        "n_left",
        "n_overturned",
        "n_refs",
        "n_repeat_claims",
        "n_sanctions",
        "n_spells",
        "n_wrong",
        "offflow_at",
        "offflow_reason",
        "on_prog",
        "paid_attach",
        "paid_outcome",
        "paid_service",
        "paid_sustain",
        "pending",
        "proc",
        "programme_end_at",
        "progress",
        "prov",
        "prov_gain",
        "provider",
        "rate_off",
        "reclaim_at",
        "sanc_frac",
        "sanc_segments",
        "sanc_until",
        "sanctionable",
        "sanctioned",
        "signs",
        "status",
        "t_entry",
        "t_last",
        "t_off",
        "t_off_ref",
        "wake_actor",
        "wake_at",
        "wake_kind",
        "wca_at",
        "wca_outcome",
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
    env: simpy.Environment
    bstate: int
    """The claimant's benefit state (``sim.benefit_states.BenefitState``)."""
    esa: bool
    signs: bool
    job_search: bool
    sanctionable: bool
    wake_at: float
    wake_kind: int

    def __init__(self, ctx: RunContext, i: int, area: Area | None, local: int) -> None:
        self.ctx = ctx
        self.i = i
        self.claimant_id = ctx.claimant_id[i]
        self.horizon_at = ctx.horizon_at[i]
        self.programme_end_at = ctx.programme_end_at[i]
        self.area = area
        self.provider: Provider | None = None
        self.prov_gain = 1.0
        """How much the provider's adviser hours do for this claimant (1: the scenario's)."""
        self.local = local
        self.status = ON_BENEFIT
        self.on_prog = False
        self.attach_at = ctx.attach_at[i] if (area is not None and ctx.attaches[i]) else INF
        self.attached_at = self.first_job_at = self.offflow_at = NAN
        self.first_job_end_at = self.first_reclaim_at = NAN
        self.offflow_reason = 0
        self.reclaim_at = INF
        self.n_left = self.n_repeat_claims = 0
        self.left_voluntarily = False
        self.job_end_at = INF
        self.progress = OutcomeProgress()
        self.band_starts, self.band_offsets, self.band_levels = ctx.entry.claimant_bands(
            ctx.claim_start_at[i]
        )
        self.lam_ref = 0.0
        self.k_entry = ctx.k_entry[i]
        self.k_loss = ctx.k_loss[i]
        self.m_during = 1.0
        self.proc: Any = None
        """The SimPy process running :meth:`run` (set by whoever starts it)."""
        self.wake_at = INF
        self.wake_kind = HORIZON
        self.wca_at = ctx.wca_at[i]
        self.wca_outcome = -1
        set_benefit_state(self, ctx.benefit_state[i])
        self._init_totals()
        self._init_conditionality()
        self._init_schedule()

    def _init_totals(self) -> None:
        self.days_in_work = self.days_on_benefit = self.days_sanctioned = 0.0
        self.days_off = self.caseload_days = self.benefit_paid = 0.0
        self.minutes_adviser = self.minutes_jcp = self.max_gap = 0.0
        self.paid_attach = self.paid_outcome = self.paid_sustain = self.paid_service = 0.0
        self.n_jobs = self.n_interviews = self.n_fta = self.n_refs = 0
        self.n_sanctions = self.n_wrong = self.n_overturned = self.n_spells = self.n_events = 0
        self.hardship_paid = self.iv_cost = 0.0
        self.n_interventions = 0

    def _init_conditionality(self) -> None:
        self.history: list[tuple[float, int, bool]] = []
        self.pending: list[tuple[float, float, bool, bool]] = []
        self.sanctioned = False
        self.sanc_until = INF
        self.sanc_frac = 0.0
        self.miss_shift = self.ctx.miss_logit_shift[self.i]
        """The claimant's own shift in the log-odds of missing a contact."""
        self.sanc_segments: list[tuple[float, float, bool]] = []
        self.hard_from = INF
        self.job_search_at = INF
        self.n_job_search = 0

    def _init_schedule(self) -> None:
        self.last_contact = NAN
        self.jcp = Obligation(JCP)
        self.prov = Obligation(PROVIDER)
        start_clock(self, self.jcp)
        start_clock(self, self.prov)
        self.wake_actor = JCP
        self.iv_queue: list[tuple[float, int]] = []
        self.iv_active = -1
        self.iv_end_at = INF

    # ================================================================ process
    def run(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        """SimPy process: the claimant's whole journey from referral to end of follow-up."""
        ctx, i = self.ctx, self.i
        t = ctx.referred_at[i]
        self.env = env
        self.t_last = t
        self.log(t, Event.REFERRAL)
        start_spell(self, t)
        jcp_schedule(self, t)
        draw_job_search_doubt(self, t)
        if ctx.iv_take[i]:
            plan_interventions(self, t, programme=False)
        now = 0.0
        while True:
            t_next, kind = next_wake(self)
            if kind == HORIZON and not (self.on_prog and self.status == ON_BENEFIT):
                # nothing can change before the horizon: settle it without waking.
                # (A claimant still in a caseload waits, so its provider's books stay in order.)
                self._catch_up(t_next)
                close_journey(self, t_next)
                return
            self.n_events += 1
            self.wake_at, self.wake_kind = t_next, kind
            yield env.timeout(t_next - now)
            now, kind = self.wake_at, self.wake_kind  # a reschedule may have changed them
            self._catch_up(now)
            if kind == HORIZON:
                close_journey(self, now)
                return
            dispatch(self, kind, now)

    def reschedule(self) -> None:
        """Apply a change of interview interval or provider made today by the provider.

        Called by :func:`sim.provider.periodic` instead of a SimPy interrupt (which
        costs an extra event and an exception), once the provider's or area's process
        has set its own next wake-up: the state is brought up to today, the change
        applied, and the process moved from the timeout it sleeps on to one for its
        new next wake-up (:func:`sim.simpy_compat.retarget`). Events are created in the
        same order as an interrupt's handler created them, so results do not depend on
        the mechanism.
        """
        env = self.env
        now = env.now
        self._catch_up(now)
        change_interval(self, now)
        t_next, kind = next_wake(self)
        retarget(self.proc, env.timeout(t_next - now))
        self.n_events += 1
        self.wake_at, self.wake_kind = t_next, kind

    def move_to(self, provider: Provider) -> None:
        """Continue with ``provider`` (the claimant's provider left the market)."""
        self.provider = provider
        self.prov_gain = provider.effect_gain(self.local)

    def _catch_up(self, now: float) -> None:
        """Bring the state up to ``now``: time-in-state sums, then attended interviews.

        Every interview before ``now`` was attended, or the process would have woken
        at the failure, so they are settled here before any handler runs.
        """
        accrue(self, now)
        if self.status == ON_BENEFIT:
            settle_all(self, now)

    def log(self, t: float, code: int, value: float = 0.0) -> None:
        """Count the event in its calendar month and, if kept, add it to the event log."""
        ctx = self.ctx
        month = int(t / DAYS_PER_MONTH)
        row = ctx.monthly[code]
        if month < len(row):
            row[month] += 1
        if ctx.events is not None:
            ctx.events.add(self.claimant_id, t, code, value)
