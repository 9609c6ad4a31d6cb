"""How primes differ, and what the minimum performance level is worth to one below it.

Pure rules: per-prime draws keyed by the prime's global index (so a prime keeps its
draws whatever else changes in the scenario: common random numbers by prime), and
the premium a prime below the MPL puts on an extra job outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.fmath import exp_array
from sim.market_config import BelowMpl, PrimeDraws
from sim.rng import Streams

__all__ = ["PrimeTraits", "draw_traits", "mpl_premium_gbp"]

F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PrimeTraits:
    """One prime's draws.

    Attributes
    ----------
    efficiency : float
        Multiplies the true effect of the prime's adviser hours.
    cost_multiplier : float
        Multiplies its cost per adviser.
    optimism : float
        Multiplies its prior job-entry hazards.
    mission_weight : float or None
        Its weight on need under the ``mixed`` policy; None: the scenario's.
    """

    efficiency: float = 1.0
    cost_multiplier: float = 1.0
    optimism: float = 1.0
    mission_weight: float | None = None


def draw_traits(
    draws: PrimeDraws, streams: Streams, prime_ids: npt.NDArray[np.int64], positions: list[int]
) -> list[PrimeTraits]:
    """Return each prime's traits: lognormal efficiency, cost and optimism, uniform mission.

    Parameters
    ----------
    draws : PrimeDraws
    streams : Streams
        The run's keyed streams; each quantity has its own stream, keyed by prime id.
    prime_ids : int array
        Global prime indices.
    positions : list of int
        Each prime's position in its area (for ``efficiency_multipliers``).
    """
    ids = np.asarray(prime_ids, dtype=np.int64)

    def lognormal(stream: str, sd: float) -> F:
        if sd == 0.0:
            return np.ones(len(ids))
        z = streams.normals(stream, ids)
        return np.asarray(exp_array(sd * z - 0.5 * sd * sd))  # mean 1

    eff = lognormal("providers.primes.efficiency", draws.efficiency_sd_log)
    if draws.efficiency_multipliers is not None:
        fixed = draws.efficiency_multipliers
        eff = eff * np.array([fixed[min(k, len(fixed) - 1)] for k in positions])
    cost = lognormal("providers.primes.cost", draws.cost_sd_log)
    optimism = lognormal("providers.primes.optimism", draws.belief_bias_sd_log)
    mission: list[float | None] = [None] * len(ids)
    if draws.mission_weight_range is not None:
        lo, hi = draws.mission_weight_range
        u = streams.uniforms("providers.primes.mission", ids)
        mission = [lo + (hi - lo) * float(v) for v in u]
    return [
        PrimeTraits(float(e), float(c), float(o), m)
        for e, c, o, m in zip(eff, cost, optimism, mission, strict=True)
    ]


def mpl_premium_gbp(
    rule: BelowMpl, mpl: float, n_attached_year: int, n_outcomes_year: int, income_year_gbp: float
) -> float:
    """Return what one more job outcome is worth to a prime, on top of its payment.

    A prime expects to lose ``share_penalty`` (or, with probability ``p_termination``,
    all) of a year's income if it ends the contract year below the MPL. The outcomes it
    is short, ``mpl * attached - outcomes`` (at least one), share that expected loss:

    ``premium = loss / max(1, mpl * attached - outcomes)``, and 0 at or above the MPL.

    Parameters
    ----------
    rule : BelowMpl
    mpl : float
        This year's minimum performance level (outcomes over attachments).
    n_attached_year, n_outcomes_year : int
        The prime's attachments and job outcomes so far this contract year.
    income_year_gbp : float
        The prime's income over the last twelve months.
    """
    if rule.consequence == "none" or n_attached_year == 0:
        return 0.0
    short = mpl * n_attached_year - n_outcomes_year
    if short <= 0.0:
        return 0.0
    size = rule.share_penalty if rule.consequence == "share_penalty" else rule.p_termination
    return size * max(income_year_gbp, 0.0) / max(1.0, short)
