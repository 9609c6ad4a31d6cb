"""Set up one contract package area's providers as economic agents.

For each area: the signal bands its providers distinguish (quantiles of the area's
referrals' signals), each member's cell (payment group by band), the prior beliefs a
provider bids on, each prime's keyed traits, and the pass rule of a prime with a
specialist. Everything is computed from the area's own members, so a shard of areas
sets up exactly as in the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.beliefs import Beliefs, band_edges, bid_entry_rate_per_day, signal_band
from sim.config import Provider as ProviderConfig
from sim.config import Scenario
from sim.context import RunContext
from sim.fmath import exp_array
from sim.population import Population
from sim.primes import PrimeTraits, draw_traits
from sim.provider import AreaBook
from sim.provider_mind import Mind, PassRule
from sim.rng import Streams
from sim.triage import interval_tiers

__all__ = ["MarketSetup"]

F = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class MarketSetup:
    """What one area's providers start from (see the module doc).

    Attributes
    ----------
    sc : Scenario
    book : AreaBook
    ctx : RunContext
    cell : int array
        Each book member's cell: ``group * n_bands + band``.
    prior_hazard_per_day : float array or None
        The bid's hazard by cell without service; None: providers read the
        contract-wide hazard off each signal and know their effect (no beliefs).
    traits : dict of int to PrimeTraits
        Each prime's draws, by global prime index.
    """

    sc: Scenario
    book: AreaBook
    ctx: RunContext
    cell: I64
    prior_hazard_per_day: F | None
    traits: dict[int, PrimeTraits]

    @classmethod
    def build(
        cls,
        sc: Scenario,
        pop: Population,
        book: AreaBook,
        members: I64,
        ctx: RunContext,
        streams: Streams,
    ) -> MarketSetup:
        """Set up the area whose members (global ids) are ``members``."""
        bel = sc.providers.beliefs
        n_bands = bel.n_signal_bands
        edges = band_edges(book.signal, n_bands)
        band = signal_band(book.signal, edges)
        cell = np.asarray(pop.group[members] * n_bands + band, dtype=np.int64)
        prior = None
        informed = bel.bid_outcome_rate is None and bel.bid_effect_per_adviser_hour_per_week is None
        if bel.learn or not informed:
            prior = _prior_by_cell(sc, book, band, n_bands, len(pop.group_names))
        primes = np.unique(pop.provider[members]).astype(np.int64)
        first = int(primes.min())
        traits = draw_traits(sc.providers.primes, streams, primes, [int(p) - first for p in primes])
        return cls(sc, book, ctx, cell, prior, dict(zip(primes.tolist(), traits, strict=True)))

    def mind(self, config: ProviderConfig, traits: PrimeTraits) -> Mind:
        """Return a provider's mind: its beliefs (scaled by its optimism) and rules."""
        beliefs = None
        bel = self.sc.providers.beliefs
        if self.prior_hazard_per_day is not None:
            true_effect = self.sc.employment.effect_per_adviser_hour_per_week
            effect = bel.bid_effect_per_adviser_hour_per_week
            tiers = interval_tiers(config.min_interval_days, config.max_interval_days)
            prior_effect = true_effect if effect is None else effect
            # the bid's rate holds with the planned service: take that service out
            planned_hours = config.adviser_minutes_per_week / config.caseload_per_adviser / 60.0
            beliefs = Beliefs(
                prior_hazard_per_day=self.prior_hazard_per_day
                * traits.optimism
                / (1.0 + prior_effect * planned_hours),
                prior_exposure_days=bel.prior_exposure_days,
                tier_hours_per_week=config.interview_minutes * 7.0 / tiers / 60.0,
                prior_effect=prior_effect,
                effect_prior_shape=bel.effect_prior_shape,
                learn=bel.learn,
            )
        return Mind(config, self.sc.providers.economics, traits, beliefs, self.cell)

    def pass_rule(self) -> PassRule | None:
        """Return what a prime knows of passing claimants on, or None without specialists."""
        sub = self.sc.providers.subcontracting
        if sub is None:
            return None
        spec = sub.specialist
        return PassRule(
            fee_share=sub.management_fee_share,
            condition_effect_multiplier=sub.condition_effect_multiplier,
            specialist_minutes_per_week=spec.adviser_minutes_per_week / spec.caseload_per_adviser,
            specialist_interview_minutes=spec.interview_minutes,
        )

    def planned_passes(
        self, mind: Mind, planned: npt.NDArray[np.bool_], rule: PassRule, n_primes: int
    ) -> npt.NDArray[np.bool_]:
        """Return the members whose referral the specialist plans for (sets its headcount).

        With ``subcontracting.planned_share`` the bid's share of the prime's planned
        members, taken by their allocation uniform: within the prime's interval of
        ``u_prime`` (width ``1 / n_primes`` at equal shares) the uniform's position is
        itself uniform and independent of everything else the member draws. Otherwise
        the members the prime would pass on under its prior beliefs (:meth:`would_pass`).
        """
        sub = self.sc.providers.subcontracting
        share = None if sub is None else sub.planned_share
        if share is None:
            return np.asarray(planned & self.would_pass(mind, planned, rule), dtype=bool)
        book = self.book
        within = book.u_prime * n_primes - book.initial_prime
        return np.asarray(planned & (within < share), dtype=bool)

    def would_pass(
        self, mind: Mind, planned: npt.NDArray[np.bool_], rule: PassRule
    ) -> npt.NDArray[np.bool_]:
        """Return which members the prime would pass on at referral under its prior beliefs.

        The view is the one at attachment with the whole programme ahead, at a
        labour-market index of 1; it plans the specialist's starting caseload only
        (the choice itself is made at each attachment).
        """
        book = self.book
        idx = np.flatnonzero(planned).astype(np.int64)
        programme_days = 7.0 * self.sc.run.programme_weeks
        view = mind.view(
            idx,
            signal=book.signal[idx],
            value_gbp=book.value_gbp[idx],
            days_left=np.full(len(idx), programme_days),
            qualifying_days_left=book.qualifying_days[idx],
            entry_rate_per_day=self.sc.employment.entry_rate_per_day,
            true_effect=self.sc.employment.effect_per_adviser_hour_per_week,
            lm_now=1.0,
            fees=book.activity_fees(idx, mind.config.interview_minutes),
        )
        fees = book.fees_gbp(idx, book.referred_at[idx])
        keeps = mind.keeps_rather_than_passes(view, fees, book.condition[idx], rule)
        out = np.zeros(len(book.members), dtype=bool)
        out[idx[~keeps]] = True
        return out


def _prior_by_cell(sc: Scenario, book: AreaBook, band: I64, n_bands: int, n_groups: int) -> F:
    """The bid's hazard without service by cell: the bid's base rate times the band's mean
    ``exp(-signal)`` (the same for every group: a bid does not know the groups differ)."""
    bel = sc.providers.beliefs
    rate = sc.employment.entry_rate_per_day
    if bel.bid_outcome_rate is not None:
        window = 7.0 * sc.run.programme_weeks - float(np.mean(book.qualifying_days))
        rate = bid_entry_rate_per_day(bel.bid_outcome_rate, book.signal, max(window, 1.0))
    lift = exp_array(-book.signal)
    by_band = np.array(
        [float(np.mean(lift[band == b])) if np.any(band == b) else 1.0 for b in range(n_bands)]
    )
    return np.asarray(np.tile(rate * by_band, n_groups), dtype=np.float64)
