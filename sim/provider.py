"""A prime provider: its caseload, its periodic triage, its money.

Claimants interact only through their provider's adviser capacity, so a
provider (with the other primes of its contract package area) lives in one
SimPy Environment. Every ``review_interval_days`` the provider looks at its
active caseload through what it can see (signal, prices, time left), asks its
triage policy for adviser minutes per week within its capacity, turns those
into interview intervals in whole weeks, and interrupts only the claimants
whose interval changed; each claimant applies the change in its own process.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import simpy

from sim.config import Contract
from sim.config import Provider as ProviderConfig
from sim.contract import DAYS_PER_MONTH, price_index
from sim.triage import CaseloadView, allocate, quantise_intervals

__all__ = ["INCOME_KINDS", "Provider"]

INCOME_KINDS = ("attachment", "outcome", "sustainment")

F = npt.NDArray[np.float64]


class Provider:
    """One prime provider's caseload, triage and ledger.

    Parameters
    ----------
    index : int
        Global provider index.
    area : int
        Contract package area.
    config : ProviderConfig
    contract : Contract
    members : int array
        Global ids of the claimants referred to this provider.
    signal, value_gbp, qualifying_days : float arrays
        Per member: the provider's signal, the expected payment of an outcome at
        base prices, and the group's qualifying days.
    programme_end_at : float array
        Per member: day the member's programme ends.
    n_months : int
        Months of ledger to keep (covering every member's horizon).
    entry_rate_per_day, effect_per_adviser_hour_per_week : float
        What the provider knows of the job-entry hazard.
    lm : callable
        Labour-market index by day.

    Raises
    ------
    ValueError
        If ``members`` is empty.
    """

    def __init__(
        self,
        index: int,
        area: int,
        config: ProviderConfig,
        contract: Contract,
        members: npt.NDArray[np.int64],
        signal: F,
        value_gbp: F,
        qualifying_days: F,
        programme_end_at: F,
        n_months: int,
        entry_rate_per_day: float,
        effect_per_adviser_hour_per_week: float,
        lm: Any,
    ) -> None:
        if len(members) == 0:
            raise ValueError(f"provider {index} has no members.")
        self.index = index
        self.area = area
        self.config = config
        self.contract = contract
        self.members = members
        self.signal = signal
        self.value_gbp = value_gbp
        self.qualifying_days = qualifying_days
        self.work_days = np.zeros(len(members))
        self.programme_end_at = programme_end_at
        self.active = np.zeros(len(members), dtype=bool)
        self.interval_days = np.full(len(members), config.induction_interval_days)
        self.procs: list[Any] = [None] * len(members)
        self.entry_rate_per_day = entry_rate_per_day
        self.effect = effect_per_adviser_hour_per_week
        self.lm = lm
        self.n_months = n_months
        self.income = {k: np.zeros(n_months) for k in INCOME_KINDS}
        self.interview_cost = np.zeros(n_months)
        self.minutes = np.zeros(n_months)
        self.n_advisers = config.n_advisers or 1
        self.n_active = 0
        self.caseload_area = 0.0
        self._t_count = 0.0
        self.n_reviews = 0
        self.n_interrupts = 0
        self.first_day = 0.0

    # ------------------------------------------------------------------ capacity
    def plan_advisers(self, referred_at: F, programme_days: float) -> None:
        """Set headcount from the peak number of members on the programme.

        Unless ``n_advisers`` is fixed in the config, the provider employs
        ``ceil(peak / caseload_per_adviser)`` advisers, where ``peak`` is the largest
        number of its referrals whose programme period overlaps any one day.
        """
        self.first_day = float(np.min(referred_at))
        if self.config.n_advisers is not None:
            self.n_advisers = self.config.n_advisers
            return
        starts = np.sort(referred_at)
        ends = np.sort(referred_at + programme_days)
        on = np.arange(1, len(starts) + 1) - np.searchsorted(ends, starts, side="right")
        peak = int(on.max()) if len(on) else 0
        self.n_advisers = max(1, math.ceil(peak / self.config.caseload_per_adviser))

    @property
    def capacity_minutes_per_week(self) -> float:
        """Adviser interview minutes available per week."""
        return self.n_advisers * self.config.adviser_minutes_per_week

    # ------------------------------------------------------------------ caseload
    def _count(self, now: float, delta: int) -> None:
        self.caseload_area += self.n_active * (now - self._t_count)
        self._t_count = now
        self.n_active += delta

    def join(self, local: int, now: float) -> float:
        """Add member ``local`` to the active caseload; return its interview interval."""
        self.active[local] = True
        self._count(now, +1)
        return float(self.interval_days[local])

    def leave(self, local: int, now: float) -> None:
        """Remove member ``local`` from the active caseload."""
        self.active[local] = False
        self._count(now, -1)

    # ------------------------------------------------------------------ money
    def pay(self, kind: str, t: float, amount_gbp: float) -> None:
        """Book income of ``kind`` on day ``t`` (ignored beyond the ledger)."""
        m = int(t / DAYS_PER_MONTH)
        if m < self.n_months:
            self.income[kind][m] += amount_gbp

    def pay_many(self, kind: str, days: list[float], amounts_gbp: list[float]) -> None:
        """Book several payments of one kind."""
        book = self.income[kind]
        n = self.n_months
        for t, amount in zip(days, amounts_gbp, strict=True):
            m = int(t / DAYS_PER_MONTH)
            if m < n:
                book[m] += amount

    def book_interviews(self, t: float, n: int, minutes: float) -> None:
        """Book ``n`` attended interviews of ``minutes`` each on day ``t``."""
        m = int(t / DAYS_PER_MONTH)
        if m < self.n_months:
            self.interview_cost[m] += n * self.config.cost_per_interview_gbp
            self.minutes[m] += n * minutes

    # ------------------------------------------------------------------ triage
    def review(self, now: float) -> None:
        """Re-triage the active caseload and interrupt members whose interval changed."""
        self.n_reviews += 1
        idx = np.flatnonzero(self.active)
        if len(idx) == 0:
            return
        cfg = self.config
        view = CaseloadView(
            signal=self.signal[idx],
            value_gbp=self.value_gbp[idx] * price_index(self.contract, now),
            days_left=np.maximum(self.programme_end_at[idx] - now, 0.0),
            qualifying_days_left=np.maximum(self.qualifying_days[idx] - self.work_days[idx], 0.0),
            entry_rate_per_day=self.entry_rate_per_day * self.lm(now),
            effect_per_adviser_hour_per_week=self.effect,
        )
        x = allocate(
            cfg.policy,
            view,
            capacity_minutes_per_week=self.capacity_minutes_per_week,
            x_min=7.0 * cfg.interview_minutes / cfg.max_interval_days,
            x_max=7.0 * cfg.interview_minutes / cfg.min_interval_days,
            cost_per_hour_gbp=cfg.cost_per_interview_gbp * 60.0 / cfg.interview_minutes,
            public_service_weight=cfg.public_service_weight,
        )
        new = quantise_intervals(
            x, cfg.interview_minutes, cfg.min_interval_days, cfg.max_interval_days
        )
        changed = idx[new != self.interval_days[idx]]
        self.interval_days[idx] = new
        for local in changed.tolist():
            self.n_interrupts += 1
            self.procs[local].interrupt()

    def run_reviews(self, env: simpy.Environment, until: float) -> Generator[Any, Any, None]:
        """SimPy process: review every ``review_interval_days`` until day ``until``."""
        step = self.config.review_interval_days
        while env.now + step < until:
            yield env.timeout(step)
            self.review(env.now)

    # ------------------------------------------------------------------ ledger
    def ledger(self) -> pl.DataFrame:
        """Return income, costs and cash balance by contract month.

        Adviser costs (and overheads in proportion) are paid in every month from the
        provider's first referral month to the month its last member's programme ends;
        starting cash is ``working_capital_weeks`` of those costs.
        """
        months = np.arange(self.n_months)
        first = int(self.first_day / DAYS_PER_MONTH)
        last = int(np.max(self.programme_end_at) / DAYS_PER_MONTH)
        open_ = (months >= first) & (months <= last)
        cfg = self.config
        weekly = self.n_advisers * cfg.adviser_cost_gbp_per_week
        adviser_cost = np.where(open_, weekly * DAYS_PER_MONTH / 7.0, 0.0)
        overhead = cfg.overhead_rate * adviser_cost
        income = sum(self.income.values())
        costs = adviser_cost + overhead + self.interview_cost
        start_cash = cfg.working_capital_weeks * weekly * (1.0 + cfg.overhead_rate)
        cash = start_cash + np.cumsum(income - costs)
        return pl.DataFrame(
            {
                "provider": np.full(self.n_months, self.index),
                "area": np.full(self.n_months, self.area),
                "month": months,
                "income_attachment_gbp": self.income["attachment"],
                "income_outcome_gbp": self.income["outcome"],
                "income_sustainment_gbp": self.income["sustainment"],
                "cost_advisers_gbp": adviser_cost,
                "cost_overhead_gbp": overhead,
                "cost_interviews_gbp": self.interview_cost,
                "adviser_minutes": self.minutes,
                "n_advisers": np.full(self.n_months, self.n_advisers),
                "cash_balance_gbp": cash,
            }
        )
