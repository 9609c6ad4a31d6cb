"""What a provider knows and decides: its beliefs about its caseload and the choices
that use them (triage view, headcount, passing a claimant to its specialist).

A :class:`Mind` belongs to one provider. It sees members through the area's book
only by what a provider can see: payment group (as a price), signal band, health
condition, time left, work done towards the outcome. Its decisions are pure functions
of those and of its beliefs (:mod:`sim.beliefs`, :mod:`sim.triage`,
:mod:`sim.capacity`, :mod:`sim.subcontract`, :mod:`sim.primes`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.beliefs import Beliefs
from sim.capacity import full_price_per_minute_gbp, margin_headcount
from sim.config import Provider as ProviderConfig
from sim.market_config import Economics
from sim.primes import PrimeTraits
from sim.subcontract import keep_margin_gbp, pass_margin_gbp
from sim.triage import ActivityFees, CaseloadView, interval_tiers

__all__ = ["Mind", "PassRule"]

F = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PassRule:
    """What a prime knows of passing claimants on to its specialist (:mod:`sim.subcontract`)."""

    fee_share: float
    condition_effect_multiplier: float
    specialist_minutes_per_week: float
    specialist_interview_minutes: float = 60.0


@dataclass
class Mind:
    """One provider's beliefs and the decisions it makes with them.

    Parameters
    ----------
    config : ProviderConfig
    economics : Economics
    traits : PrimeTraits
    beliefs : Beliefs or None
        None: the provider reads the contract-wide hazard off each signal and knows its
        true effect (no cells, nothing to learn).
    cell : int array
        Each book member's cell (payment group by signal band).
    """

    config: ProviderConfig
    economics: Economics
    traits: PrimeTraits
    beliefs: Beliefs | None
    cell: I64

    def __post_init__(self) -> None:
        cfg = self.config
        self.tiers = interval_tiers(cfg.min_interval_days, cfg.max_interval_days)
        self._tier_list = [float(t) for t in self.tiers]  # the scalar path of tier_of
        self._n_tiers = len(self._tier_list)
        self.x_min = 7.0 * cfg.interview_minutes / cfg.max_interval_days
        self.x_max = 7.0 * cfg.interview_minutes / cfg.min_interval_days
        self.variable_price = cfg.cost_per_interview_gbp / cfg.interview_minutes
        self.full_price = full_price_per_minute_gbp(
            self.adviser_cost_gbp_per_week,
            cfg.overhead_rate,
            cfg.adviser_minutes_per_week,
            self.variable_price,
        )

    @property
    def adviser_cost_gbp_per_week(self) -> float:
        """This provider's cost of one adviser a week (the scenario's times its draw)."""
        return self.config.adviser_cost_gbp_per_week * self.traits.cost_multiplier

    # ------------------------------------------------------------------ learning
    def tier_of(self, interval_days: F) -> I64:
        """Return the service tier index of each interview interval."""
        idx = np.searchsorted(self.tiers, interval_days * (1.0 - 1e-9), side="left")
        return np.asarray(np.minimum(idx, len(self.tiers) - 1), dtype=np.int64)

    def observe_spell(self, local: int, interval_days: float, days: float, job: bool) -> None:
        """Note a member's days on the caseload since last counted, and if a job ended them."""
        if self.beliefs is None or days < 0.0:
            return
        tier = min(bisect_left(self._tier_list, interval_days * (1.0 - 1e-9)), self._n_tiers - 1)
        self.beliefs.observe(int(self.cell[local]), tier, days, job)

    def observe_caseload(self, idx: I64, interval_days: F, days: F) -> None:
        """Note the days every active member has spent on the caseload since last counted."""
        if self.beliefs is None or len(idx) == 0:
            return
        self.beliefs.observe_many(self.cell[idx], self.tier_of(interval_days), days)

    def learn(self) -> None:
        """Update the beliefs from everything observed."""
        if self.beliefs is not None:
            self.beliefs.update()

    # ------------------------------------------------------------------ views
    def view(
        self,
        idx: I64,
        signal: F,
        value_gbp: F,
        days_left: F,
        qualifying_days_left: F,
        entry_rate_per_day: float,
        true_effect: float,
        lm_now: float,
        fees: ActivityFees | None = None,
    ) -> CaseloadView:
        """Return what the provider believes of members ``idx`` (arrays already sliced);
        ``fees``: the interview fees they can still earn."""
        if self.beliefs is None:
            return CaseloadView(
                signal=signal,
                value_gbp=value_gbp,
                days_left=days_left,
                qualifying_days_left=qualifying_days_left,
                entry_rate_per_day=entry_rate_per_day * lm_now,
                effect_per_adviser_hour_per_week=true_effect,
                fees=fees,
            )
        return CaseloadView(
            signal=signal,
            value_gbp=value_gbp,
            days_left=days_left,
            qualifying_days_left=qualifying_days_left,
            entry_rate_per_day=entry_rate_per_day * lm_now,
            effect_per_adviser_hour_per_week=self.beliefs.effect,
            hazard_per_day=self.beliefs.hazard_per_day[self.cell[idx]] * lm_now,
            fees=fees,
        )

    # ------------------------------------------------------------------ choices
    def headcount(self, view: CaseloadView) -> float:
        """Return the headcount the expected margin supports for this caseload."""
        return margin_headcount(
            view, self.full_price, self.x_min, self.x_max, self.config.adviser_minutes_per_week
        )

    def keeps_rather_than_passes(
        self,
        view: CaseloadView,
        attachment_fee_gbp: F,
        condition: npt.NDArray[np.bool_],
        rule: PassRule,
    ) -> npt.NDArray[np.bool_]:
        """Return True where serving a claimant itself is worth at least the management fee."""
        keep = keep_margin_gbp(view, attachment_fee_gbp, self.full_price, self.x_min, self.x_max)
        mult = np.where(condition, rule.condition_effect_multiplier, 1.0)
        passed = pass_margin_gbp(
            view,
            attachment_fee_gbp,
            rule.fee_share,
            mult,
            rule.specialist_minutes_per_week,
            rule.specialist_interview_minutes,
        )
        return np.asarray(keep >= passed, dtype=bool)
