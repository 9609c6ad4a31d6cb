"""A provider: its caseload, its periodic triage, its money.

Claimants interact only through their provider's adviser capacity, and
providers only within a contract package area (market share, exits), so an
area's providers live in one SimPy Environment and share the area's member
arrays (:class:`AreaBook`); each provider keeps its own ``active`` mask. Every
``review_interval_days`` the provider looks at its active caseload through what
it can see (signal, prices, time left), asks its triage policy for adviser
minutes per week within its capacity, turns those into interview intervals in
whole weeks, and tells only the claimants whose interval changed
(:meth:`sim.journey.Journey.reschedule`).

A specialist subcontractor is a provider with a ``prime``: it is paid what the
purchaser pays for its claimants less the prime's management fee.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl
import simpy

from sim import provider_books
from sim.capacity import MIN_FTE
from sim.config import Contract
from sim.config import Provider as ProviderConfig
from sim.contract import DAYS_PER_MONTH, contract_year, price_index
from sim.primes import mpl_premium_gbp
from sim.provider_mind import Mind, PassRule
from sim.provider_records import ProviderRecords
from sim.triage import ActivityFees, CaseloadView, allocate, quantise_intervals

__all__ = ["INCOME_KINDS", "AreaBook", "Provider"]

INCOME_KINDS = ("attachment", "outcome", "sustainment", "service", "management_fee")


F = npt.NDArray[np.float64]


class Member(Protocol):
    """What a provider and its area see of a member's journey (:class:`sim.journey.Journey`)."""

    @property
    def provider(self) -> Provider | None:
        """The member's provider (None before attachment)."""

    def reschedule(self) -> None:
        """Apply today's change of interview interval or provider."""

    def move_to(self, provider: Provider) -> None:
        """Continue with ``provider`` (the member's provider left the market)."""


@dataclass
class AreaBook:
    """Per-member arrays shared by every provider of one contract package area.

    Index ``local`` is a member's position in ``members``; a member belongs to at
    most one provider at a time (``owner``), so interval and work-day columns are
    shared.

    Attributes
    ----------
    members : int array
        Global claimant ids, in the order their processes are created.
    signal, value_gbp, qualifying_days, programme_end_at, referred_at : float arrays
        Per member: provider's signal, expected payment of an outcome at base prices,
        the group's qualifying days, programme end and referral days.
    u_prime : float array
        The member's keyed uniform for allocation to a prime by market share.
    to_specialist : bool array
        Whether the prime would pass the member on to its specialist under its prior
        beliefs (sets the specialist's planned caseload; the choice itself is made at
        attachment, :meth:`Provider.passes_on`).
    initial_prime : int array
        Position (in the area's primes) of the prime allocated at equal shares.
    condition : bool array
        Whether the member has a health condition (visible to providers).
    attachment_fee_gbp : float array
        The attachment fee the member brings while the contract pays one.
    attachment_fee_ends_at : float
        The day from which the contract pays no attachment fee (infinity: never).
    interview_fee_gbp : float array or None
        The service fee an attended programme interview earns, per member (its payment
        group's ``interview_fee_gbp``); None: the contract pays no such fee.
    paid_interviews_left : float array or None
        Attended interviews that still earn the fee, per member (from its group's
        ``max_paid_interviews``, counted down as they are paid).
    records_by : tuple of (int array, list of str)
        Each member's payment group index and the names: for the records only
        (:class:`sim.provider_records.ProviderRecords`); no decision reads them.
    """

    members: npt.NDArray[np.int64]
    signal: F
    value_gbp: F
    qualifying_days: F
    programme_end_at: F
    referred_at: F
    u_prime: F
    to_specialist: npt.NDArray[np.bool_]
    initial_prime: npt.NDArray[np.int64]
    condition: npt.NDArray[np.bool_]
    attachment_fee_gbp: F
    attachment_fee_ends_at: float = math.inf
    interview_fee_gbp: F | None = None
    paid_interviews_left: F | None = None
    records_by: tuple[npt.NDArray[np.int64], list[str]] | None = None
    interval_days: F = field(init=False)
    work_days: F = field(init=False)
    counted_to: F = field(init=False)
    """Day up to which each member's time on its provider's caseload has been counted."""
    journeys: list[Member | None] = field(init=False)
    to_reschedule: list[Member] = field(init=False)
    """Journeys whose interval or provider changed today, to be told by :func:`periodic`."""

    def fees_gbp(self, idx: npt.NDArray[np.int64], day: F) -> F:
        """Return the attachment fee members ``idx`` bring if attached on ``day``."""
        fee = self.attachment_fee_gbp[idx]
        return np.asarray(np.where(day < self.attachment_fee_ends_at, fee, 0.0), dtype=np.float64)

    def activity_fees(
        self, idx: npt.NDArray[np.int64], interview_minutes: float
    ) -> ActivityFees | None:
        """Return the interview fees members ``idx`` can still earn, or None without any."""
        if self.interview_fee_gbp is None or self.paid_interviews_left is None:
            return None
        return ActivityFees(
            fee_per_interview_gbp=self.interview_fee_gbp[idx],
            paid_interviews_left=self.paid_interviews_left[idx],
            interview_minutes=interview_minutes,
        )

    def __post_init__(self) -> None:
        n = len(self.members)
        self.interval_days = np.zeros(n)
        self.work_days = np.zeros(n)
        self.counted_to = np.zeros(n)
        self.journeys = [None] * n
        self.to_reschedule = []


def periodic(
    env: simpy.Environment,
    book: AreaBook,
    next_delay: Callable[[], float | None],
    action: Callable[[float], None],
) -> Generator[Any, Any, None]:
    """SimPy process: call ``action(now)`` after each delay ``next_delay()`` gives, until None.

    Journeys the action queues in ``book.to_reschedule`` are rescheduled after the
    process has set its next wake-up, so events are created in the order a SimPy
    interrupt would have created them (the interrupt's handler ran after the
    interrupting process yielded) and results do not depend on the mechanism.
    """
    delay = next_delay()
    if delay is None:
        return
    wake = env.timeout(delay)
    while True:
        yield wake
        action(env.now)
        delay = next_delay()
        if delay is not None:
            wake = env.timeout(delay)
        pending, book.to_reschedule = book.to_reschedule, []
        for journey in pending:
            journey.reschedule()
        if delay is None:
            return


class Provider:
    """One provider's caseload, triage and books.

    Parameters
    ----------
    index : int
        Global provider index.
    area : int
        Contract package area.
    config : ProviderConfig
    contract : Contract
    book : AreaBook
        The area's shared member arrays.
    planned : bool array
        Members allocated to this provider at the start (equal market shares); they
        set its headcount and the months it is open.
    n_months : int
        Months of ledger to keep (covering every member's horizon).
    entry_rate_per_day, effect_per_adviser_hour_per_week : float
        What the provider knows of the job-entry hazard.
    lm : callable
        Labour-market index by day.
    mind : Mind
        Its beliefs, traits and decision rules (:mod:`sim.provider_mind`).
    prime : Provider, optional
        For a specialist subcontractor, the prime that subcontracts to it.
    management_fee_share : float
        Share of a specialist's payments kept by its prime.
    pass_rule : PassRule, optional
        For a prime with a specialist: what it knows of passing claimants on.
    condition_effect_multiplier : float
        For a specialist: its effect for claimants with a health condition, relative to
        its effect for others.

    Raises
    ------
    ValueError
        If ``planned`` selects no member.
    """

    def __init__(
        self,
        index: int,
        area: int,
        config: ProviderConfig,
        contract: Contract,
        book: AreaBook,
        planned: npt.NDArray[np.bool_],
        n_months: int,
        entry_rate_per_day: float,
        effect_per_adviser_hour_per_week: float,
        lm: Any,
        mind: Mind,
        *,
        prime: Provider | None = None,
        management_fee_share: float = 0.0,
        pass_rule: PassRule | None = None,
        condition_effect_multiplier: float = 1.0,
    ) -> None:
        if not planned.any():
            raise ValueError(f"provider {index} has no planned members.")
        self.index = index
        self.area = area
        self.config = config
        self.contract = contract
        self.book = book
        self.planned = planned
        self.members = book.members[planned]
        self.programme_end_at = book.programme_end_at
        self.signal = book.signal
        self.value_gbp = book.value_gbp
        self.qualifying_days = book.qualifying_days
        self.work_days = book.work_days
        self.interval_days = book.interval_days
        self.active = np.zeros(len(book.members), dtype=bool)
        self.entry_rate_per_day = entry_rate_per_day
        self.effect = effect_per_adviser_hour_per_week
        self.lm = lm
        self.n_months = n_months
        self.income = {k: np.zeros(n_months) for k in INCOME_KINDS}
        self.interview_cost = np.zeros(n_months)
        self.intervention_cost = np.zeros(n_months)
        self.minutes = np.zeros(n_months)
        self.n_attached = np.zeros(n_months, dtype=np.int64)
        self.n_outcomes = np.zeros(n_months, dtype=np.int64)
        self.market_share = np.full(n_months, np.nan)
        self.n_advisers: float = float(config.n_advisers or 1)
        """Advisers employed now, in full-time equivalents."""
        self.planned_advisers = self.n_advisers
        self.advisers_from: list[tuple[int, float]] = []
        """(first month, headcount) at each change of headcount after planning."""
        self.exit_month: int | None = None
        self.successor: Provider | None = None
        self.prime = prime
        self.specialist: Provider | None = None
        self.fee_share = management_fee_share
        self.n_active = 0
        self.caseload_area = 0.0
        self._t_count = 0.0
        by = book.records_by or (np.zeros(len(book.members), dtype=np.int64), ["all"])
        self.records = ProviderRecords(by[0], by[1], n_months)
        self.cut_months: list[int] = []
        """Months from which a cut under financial strain took effect."""
        self.first_day = 0.0
        self.last_day = 0.0
        self.mind = mind
        self.efficiency = mind.traits.efficiency
        """Multiplies the true effect of this provider's adviser hours."""
        self.condition_multiplier = condition_effect_multiplier
        self.pass_rule = pass_rule
        self.pending_hire: tuple[float, float] | None = None
        """(day the new advisers start, headcount then) after a decision to hire."""
        self.next_headcount_at = mind.economics.headcount_review_days
        self.n_passed_on = np.zeros(n_months, dtype=np.int64)
        self.belief_effect = np.full(n_months, np.nan)
        self.belief_hazard = np.full(n_months, np.nan)
        self.expected_income = np.full(n_months, np.nan)
        self.target_advisers = np.full(n_months, np.nan)
        self.service_budget = np.full(n_months, np.nan)
        self.mpl_premium_gbp = 0.0

    def effect_gain(self, local: int) -> float:
        """Return what this provider's adviser hours do for member ``local`` (1: the scenario's)."""
        if self.book.condition[local]:
            return self.efficiency * self.condition_multiplier
        return self.efficiency

    @property
    def live(self) -> bool:
        """False once the provider has left the market."""
        return self.exit_month is None

    # ------------------------------------------------------------------ capacity
    def plan_advisers(self, programme_days: float) -> None:
        """Set headcount from the peak number of planned members on the programme.

        Unless ``n_advisers`` is fixed in the config, the provider employs
        ``ceil(peak / caseload_per_adviser)`` advisers, where ``peak`` is the largest
        number of its planned referrals whose programme period overlaps any one day.
        The provider is open from its first planned referral's month to the month its
        last planned member's programme ends.
        """
        referred_at = self.book.referred_at[self.planned]
        self.first_day = float(np.min(referred_at))
        self.last_day = float(np.max(self.book.programme_end_at[self.planned]))
        if self.config.n_advisers is not None:
            self.n_advisers = self.planned_advisers = float(self.config.n_advisers)
            return
        starts = np.sort(referred_at)
        ends = np.sort(referred_at + programme_days)
        on = np.arange(1, len(starts) + 1) - np.searchsorted(ends, starts, side="right")
        peak = int(on.max()) if len(on) else 0
        self.n_advisers = float(max(1, math.ceil(peak / self.config.caseload_per_adviser)))
        self.planned_advisers = self.n_advisers

    @property
    def capacity_minutes_per_week(self) -> float:
        """Adviser interview minutes available per week."""
        return self.n_advisers * self.config.adviser_minutes_per_week

    # ------------------------------------------------------------------ caseload
    def _count(self, now: float, delta: int, local: int) -> None:
        self.caseload_area += self.n_active * (now - self._t_count)
        self._t_count = now
        self.n_active += delta
        self.records.count(now, delta, local)

    def attach(self, local: int, now: float) -> float:
        """Take member ``local`` on at attachment; return its interview interval."""
        m = int(now / DAYS_PER_MONTH)
        if m < self.n_months:
            self.n_attached[m] += 1
        self.interval_days[local] = self.config.induction_interval_days
        return self.join(local, now)

    def join(self, local: int, now: float) -> float:
        """Add member ``local`` to the active caseload; return its interview interval."""
        self.active[local] = True
        self.book.counted_to[local] = now
        self._count(now, +1, local)
        return float(self.interval_days[local])

    def interval_for(self, local: int) -> float:
        """Return member ``local``'s current interview interval (days)."""
        return float(self.interval_days[local])

    def record_work_days(self, local: int, days: float) -> None:
        """Note the days in work member ``local`` has towards the outcome (for triage)."""
        self.work_days[local] = days

    def leave(self, local: int, now: float, job: bool = False) -> None:
        """Remove member ``local`` from the active caseload (``job``: it left for work).

        The provider counts the member's days since last counted, and whether a job
        ended them, towards its beliefs.
        """
        days = now - float(self.book.counted_to[local])
        self.mind.observe_spell(local, float(self.interval_days[local]), days * self.lm(now), job)
        self.active[local] = False
        self._count(now, -1, local)

    # ------------------------------------------------------------------ money
    def pay(self, kind: str, t: float, amount_gbp: float) -> None:
        """Book income of ``kind`` on day ``t`` (ignored beyond the ledger).

        A specialist passes its prime's management fee on; a job outcome also counts
        towards the provider's performance.
        """
        m = int(t / DAYS_PER_MONTH)
        if m < self.n_months:
            if kind == "outcome":
                self.n_outcomes[m] += 1
            if self.prime is not None:
                fee = self.fee_share * amount_gbp
                self.prime.income["management_fee"][m] += fee
                amount_gbp -= fee
            self.income[kind][m] += amount_gbp

    def pay_many(self, kind: str, days: list[float], amounts_gbp: list[float]) -> None:
        """Book several payments of one kind."""
        if self.prime is not None:
            for t, amount in zip(days, amounts_gbp, strict=True):
                self.pay(kind, t, amount)
            return
        book = self.income[kind]
        n = self.n_months
        for t, amount in zip(days, amounts_gbp, strict=True):
            m = int(t / DAYS_PER_MONTH)
            if m < n:
                book[m] += amount

    def book_interviews(self, t: float, n: int, minutes: float, local: int) -> float:
        """Book ``n`` attended interviews of ``minutes`` each on day ``t`` with member ``local``.

        Returns the service fee they earn: the member's interview fee for each of them
        while it has paid interviews left (paid to this provider as ``service`` income).
        """
        m = int(t / DAYS_PER_MONTH)
        if m < self.n_months:
            self.interview_cost[m] += n * self.config.cost_per_interview_gbp
            self.minutes[m] += n * minutes
            self.records.add_minutes(m, local, n * minutes)
        book = self.book
        if book.interview_fee_gbp is None or book.paid_interviews_left is None:
            return 0.0
        n_paid = min(n, int(book.paid_interviews_left[local]))
        if n_paid <= 0:
            return 0.0
        book.paid_interviews_left[local] -= n_paid
        fee = n_paid * float(book.interview_fee_gbp[local])
        self.pay("service", t, fee)
        return fee

    def book_cost(self, t: float, amount_gbp: float) -> None:
        """Book the cost of an intervention started on day ``t``."""
        m = int(t / DAYS_PER_MONTH)
        if m < self.n_months:
            self.intervention_cost[m] += amount_gbp

    # ------------------------------------------------------------------ triage
    def review(self, now: float) -> None:
        """Re-triage the active caseload and reschedule members whose interval changed.

        In order: advisers hired earlier start if their day has come; the caseload's
        days since last counted go into the beliefs, which are updated; the caseload is
        viewed through the beliefs (an outcome also worth the MPL premium); the policy
        shares the capacity; under the ``margin`` headcount rule, a headcount review if
        one is due; the month's beliefs and expected income are recorded.
        """
        if not self.live:
            return
        month = int(now / DAYS_PER_MONTH)
        self._start_hires(now, month)
        idx = np.flatnonzero(self.active)
        if len(idx) == 0:
            return
        lm_now = float(self.lm(now))
        self._count_caseload(idx, now, lm_now)
        self.mpl_premium_gbp = self._mpl_premium(now, month)
        view = self._view(idx, now, lm_now)
        cfg, mind = self.config, self.mind
        x = allocate(
            cfg.policy,
            view,
            capacity_minutes_per_week=self.capacity_minutes_per_week,
            x_min=mind.x_min,
            x_max=mind.x_max,
            cost_per_hour_gbp=60.0 * mind.variable_price,
            public_service_weight=self._public_service_weight(view),
        )
        new = quantise_intervals(
            x, cfg.interview_minutes, cfg.min_interval_days, cfg.max_interval_days
        )
        changed = idx[new != self.interval_days[idx]]
        self.interval_days[idx] = new
        journeys = self.book.journeys
        self.book.to_reschedule.extend(
            journey for local in changed.tolist() if (journey := journeys[local]) is not None
        )
        if mind.economics.headcount == "margin" and now >= self.next_headcount_at:
            self._review_headcount(view, now, month)
        self._record(idx, view, x, month)

    def _start_hires(self, now: float, month: int) -> None:
        if self.pending_hire is not None and now >= self.pending_hire[0]:
            self.set_advisers(self.pending_hire[1], month)
            self.pending_hire = None

    def _count_caseload(self, idx: npt.NDArray[np.int64], now: float, lm_now: float) -> None:
        days = now - self.book.counted_to[idx]
        self.mind.observe_caseload(idx, self.interval_days[idx], days * lm_now)
        self.book.counted_to[idx] = now
        self.mind.learn()

    def _view(self, idx: npt.NDArray[np.int64], now: float, lm_now: float) -> CaseloadView:
        value = self.value_gbp[idx] * price_index(self.contract, now) + self.mpl_premium_gbp
        return self.mind.view(
            idx,
            signal=self.signal[idx],
            value_gbp=value,
            days_left=np.maximum(self.programme_end_at[idx] - now, 0.0),
            qualifying_days_left=np.maximum(self.qualifying_days[idx] - self.work_days[idx], 0.0),
            entry_rate_per_day=self.entry_rate_per_day,
            true_effect=self.effect,
            lm_now=lm_now,
            fees=self.book.activity_fees(idx, self.config.interview_minutes),
        )

    def _review_headcount(self, view: CaseloadView, now: float, month: int) -> None:
        """Hire (after the lag) or cut (from next month) to the headcount the margin supports."""
        econ = self.mind.economics
        self.next_headcount_at = now + econ.headcount_review_days
        target = self.mind.headcount(view)
        if month < self.n_months:
            self.target_advisers[month] = target
        if target > self.n_advisers:
            self.pending_hire = (now + econ.hiring_lag_days, target)
        elif target < self.n_advisers:
            self.pending_hire = None
            self.set_advisers(target, month + 1)

    def _mpl_premium(self, now: float, month: int) -> float:
        """What one more outcome is worth to a prime now, beyond its payment (:mod:`sim.primes`)."""
        rule = self.contract.below_mpl
        mpls = self.contract.minimum_performance_levels
        if rule.consequence == "none" or not mpls or self.prime is not None:
            return 0.0
        year = contract_year(now)
        first, last = 12 * year, min(month + 1, self.n_months)
        income = sum(float(v[max(0, last - 12) : last].sum()) for v in self.income.values())
        return mpl_premium_gbp(
            rule,
            mpls[min(year, len(mpls) - 1)],
            int(self.n_attached[first:last].sum()),
            int(self.n_outcomes[first:last].sum()),
            income,
        )

    def _record(self, idx: npt.NDArray[np.int64], view: CaseloadView, x: F, month: int) -> None:
        """Record this month's beliefs, the income they lead the provider to expect and the
        delivery budget it set (staff at today's headcount and the allocated minutes)."""
        if month >= self.n_months:
            return
        h = view.hazard()
        b = view.effect_per_adviser_hour_per_week / 60.0
        can = view.window_days() > 0.0
        starts = h * (1.0 + b * x) * DAYS_PER_MONTH
        self.belief_effect[month] = view.effect_per_adviser_hour_per_week
        self.belief_hazard[month] = float(np.mean(h))
        self.records.note_beliefs(month, idx, h)
        self.expected_income[month] = float(np.sum(np.where(can, view.value_gbp * starts, 0.0)))
        weeks = DAYS_PER_MONTH / 7.0
        interviews = float(np.sum(x)) * self.mind.variable_price
        self.service_budget[month] = (self.weekly_cost_gbp + interviews) * weeks

    def _public_service_weight(self, view: CaseloadView) -> float:
        if self.mind.traits.mission_weight is not None:
            return self.mind.traits.mission_weight
        v = self.config.public_service_value_gbp
        if v is None:
            return self.config.public_service_weight
        mean_value = float(np.mean(view.value_gbp))
        return v / (v + mean_value) if v + mean_value > 0 else 1.0

    # ------------------------------------------------------------------ subcontracting
    def passes_on(self, local: int, now: float) -> bool:
        """Whether this prime passes member ``local`` to its specialist at attachment.

        It does when the management fee it expects beats what it expects to keep by
        serving the member itself (:mod:`sim.subcontract`), and the specialist is in
        the market with room in its caseload.
        """
        spec, rule = self.specialist, self.pass_rule
        if spec is None or rule is None or not spec.live:
            return False
        if spec.n_active >= spec.n_advisers * spec.config.caseload_per_adviser:
            return False
        idx = np.array([local], dtype=np.int64)
        view = self._view(idx, now, float(self.lm(now)))
        fee = self.book.fees_gbp(idx, np.array([now]))
        keeps = self.mind.keeps_rather_than_passes(view, fee, self.book.condition[idx], rule)
        if bool(keeps[0]):
            return False
        m = int(now / DAYS_PER_MONTH)
        if m < self.n_months:
            self.n_passed_on[m] += 1
        return True

    def run_reviews(self, env: simpy.Environment, until: float) -> Generator[Any, Any, None]:
        """SimPy process: review every ``review_interval_days`` until day ``until``."""
        step = self.config.review_interval_days

        def next_delay() -> float | None:
            return step if env.now + step < until and self.live else None

        return periodic(env, self.book, next_delay, self.review)

    # ------------------------------------------------------------------ money over time
    @property
    def weekly_cost_gbp(self) -> float:
        """Adviser and overhead costs per week at the current headcount."""
        cfg = self.config
        return self.n_advisers * self.mind.adviser_cost_gbp_per_week * (1.0 + cfg.overhead_rate)

    def set_advisers(self, n: float, month: int) -> None:
        """Set headcount to ``n`` FTE (at least :data:`sim.capacity.MIN_FTE`) from ``month`` on."""
        n = max(MIN_FTE, n)
        if n != self.n_advisers:
            self.n_advisers = n
            self.advisers_from.append((month, n))

    def advisers_by_month(self) -> F:
        """Return headcount (FTE) by month (planned, then as changed)."""
        out = np.full(self.n_months, self.planned_advisers, dtype=np.float64)
        for month, n in self.advisers_from:
            out[month:] = n
        return out

    def costs(self) -> tuple[F, F]:
        """Return (adviser costs, overheads) by month (:func:`sim.provider_books.costs`)."""
        return provider_books.costs(self)

    def cash(self) -> F:
        """Return the cash balance at each month end (:func:`sim.provider_books.cash`)."""
        return provider_books.cash(self)

    def ledger(self) -> pl.DataFrame:
        """Return the monthly books (:func:`sim.provider_books.ledger`)."""
        return provider_books.ledger(self)
