"""Configuration of providers as economic agents.

What a provider believes and how it learns (:class:`Beliefs`, rules in
:mod:`sim.beliefs`), how it sets its headcount (:class:`Economics`, rules in
:mod:`sim.capacity`), how primes differ (:class:`PrimeDraws`, rules in
:mod:`sim.primes`), and what missing the minimum performance level costs
(:class:`BelowMpl`, applied by :mod:`sim.area`). The models live apart from
:mod:`sim.config` only to keep that module a readable size; ``Providers`` and
``Contract`` hold them.

Every default keeps a scenario that does not name these sections as it was: a provider
that knows the contract-wide hazard and its true effect, learns nothing it does not
already know, keeps its planned headcount, and primes that are alike.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.config import NonNeg, Positive, Probability, _Model

__all__ = ["Beliefs", "BelowMpl", "Economics", "PrimeDraws"]


class Beliefs(_Model):
    """What a provider believes of its claimants' job chances and its service's effect.

    The provider believes the job-entry hazard of a claimant in a cell (payment group by
    signal band) is the cell's hazard times ``1 + effect * adviser hours a week``; it
    starts from the expectations it bid on and updates them from its own caseload's job
    starts by a conjugate rule (:mod:`sim.beliefs`).
    """

    bid_outcome_rate: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    """Share of referrals the provider expected to bring to a job outcome when it bid;
    it sets the prior job-entry hazard (:func:`sim.beliefs.bid_entry_rate_per_day`).
    WP38: bidders' average 38% (DWP 36%; outturn for completers 27%, WP36). None: the
    prior is ``employment.entry_rate_per_day`` (a provider that knows the average)."""
    bid_effect_per_adviser_hour_per_week: NonNeg | None = None
    """The effect of an adviser hour a week the provider bid on; None: the true
    ``employment.effect_per_adviser_hour_per_week``."""
    prior_exposure_days: Positive = 3650.0
    """Weight of the prior hazard of each cell, in claimant-days on the caseload (3,650:
    ten claimant-years; assumed)."""
    effect_prior_shape: Positive = 4.0
    """Shape of the Gamma prior on the effect (its SD is half its mean at 4; assumed)."""
    n_signal_bands: int = Field(5, ge=1, le=20)
    """Bands of the signal of distance from work the provider distinguishes (quantiles
    of the referrals' signals)."""
    learn: bool = False
    """Update beliefs from the provider's own caseload at each review; False: keep the
    prior."""


class Economics(_Model):
    """How a provider sets its adviser headcount."""

    headcount: Literal["planned", "margin"] = "planned"
    """``planned``: ``ceil(peak planned caseload / caseload_per_adviser)`` for the whole
    contract (cut only under financial strain); ``margin``: start there (the bid), then at
    each headcount review hire or cut to the headcount at which an adviser minute's
    expected marginal payment under the provider's beliefs equals its full cost
    (:func:`sim.capacity.margin_headcount`)."""
    headcount_review_days: Positive = 91.0
    """Days between headcount reviews under ``margin`` (a quarter; assumed)."""
    hiring_lag_days: NonNeg = 56.0
    """Days from deciding to hire to the new advisers starting (recruitment and
    training; assumed). Cuts take effect from the next month."""


class PrimeDraws(_Model):
    """How primes in an area differ: one keyed draw per prime for each quantity."""

    efficiency_sd_log: NonNeg = 0.0
    """SD of the log of a prime's adviser effectiveness (multiplies the true effect of its
    adviser hours; mean 1 on the log scale). Job outcome rates by prime in one area
    differed by up to a third (WP performance tables); assumed."""
    efficiency_multipliers: list[Positive] | None = None
    """Fixed effectiveness of the primes of each area by position (multiplies the draw);
    None: 1 for all."""
    cost_sd_log: NonNeg = 0.0
    """SD of the log of a prime's cost per adviser (multiplies ``adviser_cost_gbp_per_week``)."""
    belief_bias_sd_log: NonNeg = 0.0
    """SD of the log of a prime's optimism (multiplies its prior hazards)."""
    mission_weight_range: Annotated[list[Probability], Field(min_length=2, max_length=2)] | None = (
        None
    )
    """A prime's weight on need under the ``mixed`` policy is drawn uniformly from this
    range; None: ``public_service_weight`` for all."""

    @model_validator(mode="after")
    def _range(self) -> PrimeDraws:
        r = self.mission_weight_range
        if r is not None and r[0] > r[1]:
            raise ValueError(f"mission_weight_range {list(r)} must be increasing")
        return self


class BelowMpl(_Model):
    """What a prime below the minimum performance level at a contract-year end faces."""

    consequence: Literal["none", "share_penalty", "termination"] = "none"
    """``share_penalty``: it loses ``share_penalty`` of its share of new referrals to the
    other primes (in proportion to their shares); ``termination``: its contract ends with
    probability ``p_termination`` (a keyed draw per prime and year), and its caseload
    and referrals move to the best-performing prime. DWP could end a contract for
    performance below the MPL (WP11; WPC 2013 para 18)."""
    share_penalty: Probability = 0.0
    p_termination: Probability = 0.0
