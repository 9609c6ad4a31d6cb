"""Synthetic referrals, built once per run with vectorised keyed draws.

Each attribute of claimant ``i`` is a function of ``(seed, replicate, stream,
i)`` only, so adding a claimant changes no one else's attributes, and the same
claimant has the same attributes in every scenario that shares the population
section (the counterfactual among them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.config import AGE_BANDS, Scenario, month_index
from sim.contract import DAYS_PER_MONTH
from sim.rng import Streams

__all__ = ["Population", "build_population"]

F = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Population:
    """Column arrays, one entry per claimant (index = claimant id).

    Attributes
    ----------
    group : int array
        Index into ``group_names``.
    age_band : int array
        Index into ``sim.config.AGE_BANDS``.
    condition : int array
        Index into ``condition_names``; -1 for no health condition.
    benefit_esa : bool array
        True for ESA, False for JSA.
    weekly_rate_gbp : float array
    distance : float array
        Latent distance from work (higher = further); the job-entry hazard scales
        with ``exp(-distance)``.
    signal : float array
        The provider's noisy signal of ``distance``.
    referred_at : float array
        Day of referral.
    claim_start_at : float array
        Day the benefit claim began (``referred_at`` minus the referral point).
    attach_at : float array
        Day the claimant would attach (referral plus the group's delay).
    attaches : bool array
        Whether the claimant attaches if still out of work on benefit then.
    area, provider : int array
        Contract package area and global prime-provider index at equal market shares.
    u_prime : float array
        The keyed uniform that allocated the prime (reused when market shares change).
    arm_names : tuple of str
        Trial arms (empty if the scenario has none).
    arm : int array
        Index into ``arm_names`` (0 if there are none).
    ids : int array
        Each row's claimant id: ``0 .. n - 1`` for a whole run, the rows' ids in the
        whole run for a shard of areas (the key of every draw about the claimant).
    last_attach_at : float
        The latest ``attach_at`` of the whole run (a shard's too), which fixes the run's
        calendar of months.
    """

    group_names: tuple[str, ...]
    condition_names: tuple[str, ...]
    n_providers_by_area: tuple[int, ...]
    group: Ints
    age_band: Ints
    condition: Ints
    benefit_esa: npt.NDArray[np.bool_]
    weekly_rate_gbp: F
    distance: F
    signal: F
    referred_at: F
    claim_start_at: F
    attach_at: F
    attaches: npt.NDArray[np.bool_]
    area: Ints
    provider: Ints
    u_prime: F
    arm_names: tuple[str, ...]
    arm: Ints
    ids: Ints
    last_attach_at: float

    @property
    def n(self) -> int:
        """Number of claimants."""
        return len(self.group)


def _referral_months(scenario: Scenario, streams: Streams, ids: Ints) -> tuple[Ints, F]:
    """Each referral's cohort month (from ``run.start_month``) and its point in the month."""
    run = scenario.run
    weights = run.referral_weights or [1.0] * run.cohort_months
    month = streams.choices("run.referral_month", ids, weights)
    within = streams.uniforms("run.referral_day", ids)
    return month, within


def _groups(scenario: Scenario, streams: Streams, ids: Ints, month: Ints) -> Ints:
    """Each referral's payment group, from the mix in force in its referral month.

    One keyed uniform per referral (``population.group``) whatever the mix, so a run
    with one mix draws exactly what it drew before periods existed.
    """
    pop = scenario.population
    names = list(pop.groups)
    base = [pop.groups[g].share for g in names]
    if not pop.mix_by_period:
        return streams.choices("population.group", ids, base)
    table = np.array([base] + [[p.shares.get(g, 0.0) for g in names] for p in pop.mix_by_period])
    starts = [month_index(p.from_month) for p in pop.mix_by_period]
    calendar = month_index(scenario.run.start_month) + month
    period = np.searchsorted(np.asarray(starts), calendar, side="right")  # 0: before any
    return streams.choices("population.group", ids, table[period])


def _area_of(scenario: Scenario, streams: Streams, ids: Ints) -> Ints:
    """Each referral's contract package area (equal chances)."""
    return streams.choices("providers.area", ids, np.ones(len(scenario.providers.primes_per_area)))


def _attach_delay_days(scenario: Scenario, group: Ints) -> F:
    pop = scenario.population
    return np.array([g.attach_delay_days for g in pop.groups.values()])[group]


def _last_attach_at(scenario: Scenario, streams: Streams, ids: Ints) -> float:
    """The latest day any of ``ids`` would attach (referral plus the group's delay)."""
    month, within = _referral_months(scenario, streams, ids)
    group = _groups(scenario, streams, ids, month)
    referred_at = (month + within) * DAYS_PER_MONTH
    return float(np.max(referred_at + _attach_delay_days(scenario, group)))


def _providers(scenario: Scenario, streams: Streams, ids: Ints) -> tuple[Ints, Ints, F]:
    primes = scenario.providers.primes_per_area
    area = _area_of(scenario, streams, ids)
    n_primes = np.asarray(primes, dtype=np.int64)[area]
    u = streams.uniforms("providers.prime", ids)
    prime = np.minimum((u * n_primes).astype(np.int64), n_primes - 1)
    offsets = np.concatenate([[0], np.cumsum(primes)[:-1]]).astype(np.int64)
    return area, offsets[area] + prime, u


def build_population(
    scenario: Scenario,
    n_claimants: int,
    streams: Streams,
    areas: Sequence[int] | None = None,
) -> Population:
    """Draw ``n_claimants`` referrals for ``scenario``, or those of some areas only.

    Parameters
    ----------
    scenario : Scenario
    n_claimants : int
        Number of referrals in the whole run, >= 1.
    streams : Streams
        Keyed streams of the run.
    areas : sequence of int, optional
        Keep only the referrals to these contract package areas (a shard): their rows
        are exactly the whole run's rows of the same ids, and the rest is never drawn
        beyond what fixes each referral's area and the run's calendar (a few keyed
        draws per referral), so a shard costs memory in proportion to its own size.

    Returns
    -------
    Population

    Raises
    ------
    ValueError
        If ``n_claimants < 1``.
    """
    if n_claimants < 1:
        raise ValueError(f"n_claimants(={n_claimants}) must be >= 1.")
    pop = scenario.population
    names = tuple(pop.groups)
    groups = [pop.groups[g] for g in names]
    ids = np.arange(n_claimants, dtype=np.int64)
    last_attach_at = None
    if areas is not None:
        last_attach_at = _last_attach_at(scenario, streams, ids)
        ids = ids[np.isin(_area_of(scenario, streams, ids), np.asarray(areas, dtype=np.int64))]
    month, within = _referral_months(scenario, streams, ids)
    group = _groups(scenario, streams, ids, month)

    age_p = np.array([[g.age_mix.get(b, 0.0) for b in AGE_BANDS] for g in groups])
    age_band = streams.choices("population.age", ids, age_p[group])

    cond_names = tuple(pop.conditions)
    p_cond = np.array([g.p_health_condition for g in groups])[group]
    has_cond = streams.uniforms("population.condition_any", ids) < p_cond
    if cond_names:
        which = streams.choices(
            "population.condition", ids, [pop.conditions[c].share for c in cond_names]
        )
        condition = np.where(has_cond, which, -1)
    else:
        condition = np.full(len(ids), -1, dtype=np.int64)

    mean = np.array([g.distance_mean for g in groups])[group]
    sd = np.array([g.distance_sd for g in groups])[group]
    age_shift = np.array(
        [pop.age_bands[b].distance_shift if b in pop.age_bands else 0.0 for b in AGE_BANDS]
    )[age_band]
    cond_shift = np.array([pop.conditions[c].distance_shift for c in cond_names] + [0.0])[condition]
    distance = mean + sd * streams.normals("population.distance", ids) + age_shift + cond_shift
    noise_sd = scenario.providers.provider.signal_noise_sd
    signal = distance + noise_sd * streams.normals("providers.signal", ids)

    under_25 = age_band == AGE_BANDS.index("18-24")
    rate = np.array([g.weekly_rate_gbp for g in groups])[group]
    rate_u25 = np.array(
        [
            g.weekly_rate_gbp if g.weekly_rate_under_25_gbp is None else g.weekly_rate_under_25_gbp
            for g in groups
        ]
    )[group]
    referred_at = (month + within) * DAYS_PER_MONTH
    ref_point = np.array([g.referral_point_months for g in groups])[group] * DAYS_PER_MONTH
    attach_at = referred_at + _attach_delay_days(scenario, group)
    p_attach = np.array([g.p_attach for g in groups])[group]
    area, provider, u_prime = _providers(scenario, streams, ids)
    arm_names = tuple(scenario.arms)
    arm = (
        streams.choices("arms", ids, [a.share for a in scenario.arms.values()])
        if arm_names
        else np.zeros(len(ids), dtype=np.int64)
    )
    return Population(
        group_names=names,
        condition_names=cond_names,
        n_providers_by_area=tuple(scenario.providers.primes_per_area),
        group=group,
        age_band=age_band,
        condition=condition,
        benefit_esa=np.array([g.benefit == "ESA" for g in groups])[group],
        weekly_rate_gbp=np.where(under_25, rate_u25, rate),
        distance=distance,
        signal=signal,
        referred_at=referred_at,
        claim_start_at=referred_at - ref_point,
        attach_at=attach_at,
        attaches=streams.uniforms("population.attach", ids) < p_attach,
        area=area,
        provider=provider,
        u_prime=u_prime,
        arm_names=arm_names,
        arm=arm,
        ids=ids,
        last_attach_at=float(np.max(attach_at)) if last_attach_at is None else last_attach_at,
    )
