"""A contract package area: its primes' market shares, supply chains and exits.

The purchaser allocates each referral to a prime by market share, using the
referral's keyed uniform, so the same claimant goes to the same prime whenever
the shares are the same. At each contract-year end, each prime's performance
(job outcomes in the year over attachments in the year, counting its
specialist's) is set against the minimum performance level, and
``market_share_shift`` of new referrals moves from the lowest- to the
highest-performing prime; the two primes' advisers follow their shares (their
total headcount is kept).

At each month end a provider under financial strain (cash below
``strain_cash_weeks`` of its costs) cuts advisers; one whose cash falls below
``exit_cash_weeks`` leaves the market and its caseload moves: a specialist's
to its prime, a prime's (with its share of referrals) to the remaining prime
with the largest share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from sim.config import Contract
from sim.contract import DAYS_PER_MONTH
from sim.provider import AreaBook, Provider, periodic

__all__ = ["Area"]

F = npt.NDArray[np.float64]
YEAR_DAYS = 12.0 * DAYS_PER_MONTH


class Area:
    """The providers of one contract package area and the rules between them.

    Parameters
    ----------
    index : int
        Area index.
    book : AreaBook
        The area's member arrays.
    primes : dict of int to Provider
        The area's primes by position (``book.initial_prime``), in order; a prime
        with no planned member does not exist. A prime's ``specialist`` is set if it
        has one.
    contract : Contract
    u_termination : callable, optional
        ``u(prime index, contract year)``: the keyed uniform a termination risk is
        drawn against (:class:`sim.market_config.BelowMpl`); default never terminates.
    """

    def __init__(
        self,
        index: int,
        book: AreaBook,
        primes: dict[int, Provider],
        contract: Contract,
        u_termination: Callable[[int, int], float] | None = None,
    ):
        self.index = index
        self.book = book
        self.by_position = primes
        self.primes = list(primes.values())
        self.contract = contract
        n = len(primes)
        self.shares = np.full(n, 1.0 / n)
        self.history: list[tuple[float, F]] = []
        """(from day, shares) after each change, in time order."""
        self.performance: list[F] = []
        """Per contract year: each prime's outcomes / attachments in that year."""
        self.met_mpl: list[npt.NDArray[np.bool_]] = []
        self.u_termination = u_termination or (lambda prime, year: 1.0)
        """Keyed uniform for a prime's termination draw in a contract year."""
        self._record_shares(0)

    @property
    def providers(self) -> list[Provider]:
        """Primes and their specialists."""
        out = []
        for p in self.primes:
            out.append(p)
            if p.specialist is not None:
                out.append(p.specialist)
        return out

    # ------------------------------------------------------------------ allocation
    def assign(self, local: int, now: float) -> Provider:
        """Return the provider that takes member ``local`` on at attachment on day ``now``.

        The prime is the one whose market-share interval holds the member's uniform,
        at the shares in force on its referral day (the equal-shares allocation until
        the first change); a prime that has left hands on to its successor. The prime
        then chooses whether to pass the member to its specialist
        (:meth:`sim.provider.Provider.passes_on`).
        """
        book = self.book
        referred = float(book.referred_at[local])
        if not self.history or referred < self.history[0][0]:
            prime = self.by_position[int(book.initial_prime[local])]
        else:
            shares = self.history[0][1]
            for t, s in self.history:
                if t <= referred:
                    shares = s
            k = int(np.searchsorted(np.cumsum(shares), book.u_prime[local], side="right"))
            prime = self.primes[min(k, len(self.primes) - 1)]
        while prime.successor is not None:
            prime = prime.successor
        if prime.specialist is not None and prime.passes_on(local, now):
            return prime.specialist
        return prime

    def _change_shares(self, now: float, shares: F) -> None:
        self.shares = shares
        self.history.append((now, shares.copy()))
        self._record_shares(int(now / DAYS_PER_MONTH))

    def _record_shares(self, month: int) -> None:
        for p, share in zip(self.primes, self.shares.tolist(), strict=True):
            p.market_share[month:] = share

    # ------------------------------------------------------------------ contract years
    def year_end(self, now: float, year: int) -> None:
        """Measure contract year ``year`` and shift market share (see the module doc)."""
        months = slice(12 * year, 12 * (year + 1))
        perf = np.full(len(self.primes), np.nan)
        for k, p in enumerate(self.primes):
            chain = [p] if p.specialist is None else [p, p.specialist]
            n_att = sum(int(q.n_attached[months].sum()) for q in chain)
            n_out = sum(int(q.n_outcomes[months].sum()) for q in chain)
            if n_att > 0 and p.live:
                perf[k] = n_out / n_att
        self.performance.append(perf)
        mpls = self.contract.minimum_performance_levels
        mpl = mpls[min(year, len(mpls) - 1)] if mpls else 0.0
        met = np.where(np.isnan(perf), False, perf >= mpl)
        self.met_mpl.append(met)
        if mpls:
            self._below_mpl(now, year, perf, met)
        shift = self.contract.market_share_shift
        ok = np.flatnonzero(~np.isnan(perf))
        if shift <= 0.0 or len(ok) < 2:
            return
        worst = int(ok[np.argmin(perf[ok])])
        best = int(ok[np.argmax(perf[ok])])
        if perf[best] == perf[worst]:
            return
        moved = min(shift, max(0.0, self.shares[worst] - self.contract.min_market_share))
        if moved <= 0.0:
            return
        shares = self.shares.copy()
        shares[worst] -= moved
        shares[best] += moved
        # the two primes' advisers follow their shares; together they keep their headcount
        pair = [self.primes[worst], self.primes[best]]
        if all(p.config.n_advisers is None for p in pair):
            total = pair[0].n_advisers + pair[1].n_advisers
            n_best = round(total * shares[best] / (shares[best] + shares[worst]))
            n_best = min(max(n_best, 1), total - 1) if total > 1 else total
            month = int(now / DAYS_PER_MONTH)
            pair[1].set_advisers(n_best, month)
            pair[0].set_advisers(total - n_best, month)
        self._change_shares(now, shares)

    def _below_mpl(self, now: float, year: int, perf: F, met: npt.NDArray[np.bool_]) -> None:
        """Apply the contract's consequence to each live prime below the MPL this year.

        ``share_penalty``: the prime loses that share of its share of new referrals to
        the live primes that met the MPL (or, if none did, to every other live prime),
        in proportion to their shares. ``termination``: with probability
        ``p_termination`` (the keyed uniform ``u_termination[prime, year]``) the prime's
        contract ends; it leaves the market as under financial exit.
        """
        rule = self.contract.below_mpl
        below = [
            k for k, p in enumerate(self.primes) if p.live and not np.isnan(perf[k]) and not met[k]
        ]
        if rule.consequence == "none" or not below:
            return
        if rule.consequence == "termination":
            month = int(now / DAYS_PER_MONTH)
            for k in below:
                p = self.primes[k]
                if self.u_termination(p.index, year) < rule.p_termination:
                    self._exit(p, now, month)
            return
        shares = self.shares.copy()
        for k in below:
            takers = [q for q, p in enumerate(self.primes) if p.live and q != k and met[q]]
            if not takers:
                takers = [q for q, p in enumerate(self.primes) if p.live and q != k]
            weight = shares[takers]
            if not takers or weight.sum() <= 0.0:
                continue
            moved = rule.share_penalty * shares[k]
            shares[k] -= moved
            shares[takers] += moved * weight / weight.sum()
        self._change_shares(now, shares)

    def run_years(self, env: simpy.Environment, until: float) -> Generator[Any, Any, None]:
        """SimPy process: a year end every twelve months until day ``until``."""
        return self._run_periods(env, until, YEAR_DAYS, self.year_end)

    # ------------------------------------------------------------------ finances
    def month_end(self, now: float, month: int) -> None:
        """Apply financial strain to every live provider at the end of ``month``."""
        for p in self.providers:
            if not p.live or month * DAYS_PER_MONTH < p.first_day:
                continue
            cfg = p.config
            cash = float(p.cash()[month])
            weekly = p.weekly_cost_gbp
            exiting = cfg.exit_cash_weeks is not None and cash < cfg.exit_cash_weeks * weekly
            if exiting and self._exit(p, now, month):
                continue
            if (
                cfg.strain_cash_weeks is not None
                and cash < cfg.strain_cash_weeks * weekly
                and p.n_advisers > 1
            ):
                cut = max(1, math.floor(p.n_advisers * cfg.cut_fraction))
                p.set_advisers(p.n_advisers - cut, month + 1)
                p.cut_months.append(month + 1)

    def run_months(self, env: simpy.Environment, until: float) -> Generator[Any, Any, None]:
        """SimPy process: a month end every month until day ``until``."""
        return self._run_periods(env, until, DAYS_PER_MONTH, self.month_end)

    def _run_periods(
        self,
        env: simpy.Environment,
        until: float,
        period_days: float,
        at_end: Callable[[float, int], None],
    ) -> Generator[Any, Any, None]:
        """Call ``at_end(now, k)`` at the end of each period ``k`` before day ``until``."""
        k = 0

        def next_delay() -> float | None:
            return (k + 1) * period_days - env.now if (k + 1) * period_days < until else None

        def action(now: float) -> None:
            nonlocal k
            at_end(now, k)
            k += 1

        return periodic(env, self.book, next_delay, action)

    def _exit(self, p: Provider, now: float, month: int) -> bool:
        """Take ``p`` out of the market and move its members; False if no one can take over."""
        if p.prime is not None:
            target = p.prime if p.prime.live else p.prime.successor
            if target is None:
                return False
        else:
            others = [k for k, q in enumerate(self.primes) if q is not p and q.live]
            if not others:
                return False
            k_target = max(others, key=lambda k: (self.shares[k], -k))
            target = self.primes[k_target]
            k_out = self.primes.index(p)
            shares = self.shares.copy()
            shares[k_target] += shares[k_out]
            shares[k_out] = 0.0
            self._change_shares(now, shares)
        p.exit_month = month
        p.successor = target
        book = self.book
        for local, journey in enumerate(book.journeys):
            if journey is None or journey.provider is not p:
                continue
            journey.move_to(target)
            if p.active[local]:
                p.leave(local, now)
                target.join(local, now)
                book.to_reschedule.append(journey)
        if p.specialist is not None and p.specialist.live:
            self._exit(p.specialist, now, month)
        return True
