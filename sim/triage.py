"""Triage policies: how a provider shares its adviser time across its caseload.

Each policy is a pure function from what the provider can see about its
active caseload (the signal of distance from work, the contract's prices, the
time left on the programme) and its capacity to adviser minutes per week for
each claimant. The provider never sees a claimant's true distance, and no
policy looks at the payment group except through the contract's prices:
creaming and parking are what a policy does with those, not a rule per group.

All minutes are adviser interview minutes per week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.fmath import exp_array, log_array

__all__ = [
    "CaseloadView",
    "allocate",
    "average_ranks",
    "interval_tiers",
    "marginal_minutes",
    "optimal_margin_gbp",
    "p_outcome",
    "quantise_intervals",
    "shadow_price_per_minute",
]

F = npt.NDArray[np.float64]


def average_ranks(x: F) -> F:
    """Return 1-based ranks of ``x``, ties sharing the mean of their ranks.

    The same as ``scipy.stats.rankdata(x, method="average")`` (tested), without importing
    scipy.stats (about 1.4 s in every worker process).
    """
    n = len(x)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    new = np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    mean_rank = (starts + 1 + ends) / 2.0  # ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


@dataclass(frozen=True)
class CaseloadView:
    """What the provider knows about its active caseload at a review.

    Attributes
    ----------
    signal : float array
        Noisy signal of distance from work (higher = further).
    value_gbp : float array
        Expected payment if the claimant reaches a job outcome (outcome fee plus the
        expected sustainment payments at current prices).
    days_left : float array
        Days until the claimant's programme ends.
    qualifying_days_left : float array
        Days in work still needed for the outcome.
    entry_rate_per_day : float
        Job-entry hazard at signal 0 today, used when ``hazard_per_day`` is None.
    effect_per_adviser_hour_per_week : float
        What the provider believes one adviser hour a week adds to the job-entry hazard,
        proportionally.
    hazard_per_day : float array, optional
        The provider's belief of each claimant's job-entry hazard today without its
        service (:mod:`sim.beliefs`); None: ``entry_rate_per_day * exp(-signal)``.
    """

    signal: F
    value_gbp: F
    days_left: F
    qualifying_days_left: F
    entry_rate_per_day: float
    effect_per_adviser_hour_per_week: float
    hazard_per_day: F | None = None

    def hazard(self) -> F:
        """Return each claimant's believed job-entry hazard per day without service."""
        if self.hazard_per_day is not None:
            return self.hazard_per_day
        return np.asarray(self.entry_rate_per_day * exp_array(-self.signal), dtype=np.float64)

    def window_days(self) -> F:
        """Return the days in which a job start can still reach the outcome in time."""
        return np.asarray(np.maximum(self.days_left - self.qualifying_days_left, 0.0))


def _uniform(view: CaseloadView, capacity: float, x_min: float, x_max: float) -> F:
    n = len(view.signal)
    if n == 0:
        return np.zeros(0)
    share = capacity / n
    # an equal share, within [x_min, x_max]; below x_min only if even that does not fit
    x = min(x_max, max(x_min, share)) if share >= x_min else share
    return np.full(n, x)


def _needs_based(view: CaseloadView, capacity: float, x_min: float, x_max: float) -> F:
    n = len(view.signal)
    if n == 0:
        return np.zeros(0)
    # need = percentile rank of the signal (ties share a rank): the furthest get the most
    rank = average_ranks(view.signal)
    need = rank / rank.max()
    spare = capacity - n * x_min
    if spare <= 0:
        return np.full(n, min(x_min, capacity / n))
    scale = min(x_max - x_min, spare / need.sum())
    return np.asarray(x_min + scale * need, dtype=np.float64)


def p_outcome(h: F, b_per_minute: float, x: F, window_days: F) -> F:
    """Return the chance of a job start within the window, at ``x`` minutes a week.

    ``P(x) = 1 - exp(-h (1 + b x) W)``: the hazard ``h`` per day raised in proportion
    to the service by ``b`` per adviser minute a week, over ``W`` days.
    """
    return np.asarray(1.0 - exp_array(-h * (1.0 + b_per_minute * x) * window_days))


def marginal_minutes(
    view: CaseloadView, price_per_minute_gbp: float, x_min: float, x_max: float
) -> F:
    """Return the minutes a week that maximise each claimant's expected margin.

    The provider values claimant i's service ``x`` (adviser minutes a week until the
    programme ends, ``D`` days away) at ``V P(x) - price x D / 7``, with ``P`` from
    :func:`p_outcome` under its beliefs. The expected payment is concave in ``x``, so
    the best ``x`` sets the marginal expected payment equal to the price of the
    minutes, ``V h b W exp(-h (1 + b x) W) = price D / 7``, giving

    ``x = ln(V h b W exp(-h W) / (price D / 7)) / (h b W)``,

    clipped to ``[x_min, x_max]``. A claimant who will likely find work anyway (large
    ``h W``) or hardly can (small ``h``) gets little; those in between get most.

    Parameters
    ----------
    view : CaseloadView
    price_per_minute_gbp : float
        Cost to the provider of an adviser minute (variable cost plus, when capacity
        binds, its shadow price: :func:`shadow_price_per_minute`).
    x_min, x_max : float
        Least and most minutes a week.

    Returns
    -------
    numpy.ndarray
        Minutes per week per claimant.
    """
    h = view.hazard()
    b = view.effect_per_adviser_hour_per_week / 60.0
    w = view.window_days()
    hbw = h * b * w
    cost = price_per_minute_gbp * np.maximum(view.days_left, 1.0) / 7.0
    gain = view.value_gbp * hbw * exp_array(-h * w)
    x = np.full(len(h), x_min)
    ok = (hbw > 0.0) & (gain > 0.0)
    if price_per_minute_gbp <= 0.0:
        x[ok] = x_max
        return x
    with np.errstate(over="ignore"):
        ratio = np.minimum(np.where(ok, gain / cost, 1.0), 1e300)
    inner = np.where(ratio > 0.0, ratio, 1.0)
    with np.errstate(over="ignore", divide="ignore"):  # a tiny h b W: a corner, clipped
        x_star = np.where(ok, log_array(inner) / np.where(ok, hbw, 1.0), x_min)
    return np.asarray(np.clip(x_star, x_min, x_max), dtype=np.float64)


def shadow_price_per_minute(
    view: CaseloadView,
    capacity: float,
    price_per_minute_gbp: float,
    x_min: float,
    x_max: float,
    n_steps: int = 60,
) -> float:
    """Return the price of a minute at which the caseload's best minutes fit the capacity.

    If the best minutes at the variable ``price_per_minute_gbp`` fit, that price;
    otherwise the smallest price (found by bisection on its logarithm, a fixed number of
    steps so the result is deterministic) at which they do.
    """
    if marginal_minutes(view, price_per_minute_gbp, x_min, x_max).sum() <= capacity:
        return price_per_minute_gbp
    lo = max(price_per_minute_gbp, 1e-9)
    hi = max(lo, 1.0)
    while marginal_minutes(view, hi, x_min, x_max).sum() > capacity and hi < 1e12:
        hi *= 16.0
    for _ in range(n_steps):
        mid = math.sqrt(lo * hi)
        if marginal_minutes(view, mid, x_min, x_max).sum() > capacity:
            lo = mid
        else:
            hi = mid
    return hi


def optimal_margin_gbp(
    view: CaseloadView, price_per_minute_gbp: float, x_min: float, x_max: float
) -> F:
    """Return each claimant's best expected margin: ``max_x V P(x) - price x D / 7``."""
    x = marginal_minutes(view, price_per_minute_gbp, x_min, x_max)
    b = view.effect_per_adviser_hour_per_week / 60.0
    paid = view.value_gbp * p_outcome(view.hazard(), b, x, view.window_days())
    cost = price_per_minute_gbp * x * np.maximum(view.days_left, 1.0) / 7.0
    return np.asarray(paid - cost, dtype=np.float64)


def _payment_maximising(
    view: CaseloadView,
    capacity: float,
    x_min: float,
    x_max: float,
    cost_per_hour_gbp: float,
) -> F:
    n = len(view.signal)
    if n == 0:
        return np.zeros(0)
    if capacity - n * x_min <= 0:
        return np.full(n, min(x_min, capacity / n))
    price = shadow_price_per_minute(view, capacity, cost_per_hour_gbp / 60.0, x_min, x_max)
    return marginal_minutes(view, price, x_min, x_max)


def allocate(
    policy: str,
    view: CaseloadView,
    *,
    capacity_minutes_per_week: float,
    x_min: float,
    x_max: float,
    cost_per_hour_gbp: float,
    public_service_weight: float,
) -> F:
    """Return adviser minutes per week for each claimant in ``view``.

    Parameters
    ----------
    policy : {"uniform", "needs_based", "payment_maximising", "mixed"}
        ``uniform`` shares capacity equally; ``needs_based`` gives more to those the
        signal says are furthest from work; ``payment_maximising`` gives each claimant
        the minutes whose marginal expected payment under the provider's beliefs equals
        the price of a minute (:func:`marginal_minutes`): the variable cost of an
        hour, raised to the capacity's shadow price when the caseload's best minutes do
        not fit (:func:`shadow_price_per_minute`); ``mixed`` is the weighted sum of the
        last two.
    view : CaseloadView
    capacity_minutes_per_week : float
        Total adviser interview minutes per week.
    x_min, x_max : float
        Least and most minutes per week a claimant can be given.
    cost_per_hour_gbp : float
        Variable cost of an adviser hour of interviews (payment_maximising only).
    public_service_weight : float
        Weight on needs_based under ``mixed``.

    Returns
    -------
    numpy.ndarray
        Minutes per week; their sum does not exceed the capacity unless even
        ``x_min`` for everyone does, in which case everyone gets an equal share.

    Raises
    ------
    ValueError
        If ``policy`` is not one of the four.
    """
    if policy == "uniform":
        return _uniform(view, capacity_minutes_per_week, x_min, x_max)
    if policy == "needs_based":
        return _needs_based(view, capacity_minutes_per_week, x_min, x_max)
    if policy == "payment_maximising":
        return _payment_maximising(view, capacity_minutes_per_week, x_min, x_max, cost_per_hour_gbp)
    if policy == "mixed":
        w = public_service_weight
        pay = _payment_maximising(view, capacity_minutes_per_week, x_min, x_max, cost_per_hour_gbp)
        need = _needs_based(view, capacity_minutes_per_week, x_min, x_max)
        return np.asarray((1.0 - w) * pay + w * need, dtype=np.float64)
    raise ValueError(
        f"policy(={policy!r}) must be one of uniform, needs_based, payment_maximising, mixed."
    )


def interval_tiers(min_days: float, max_days: float) -> F:
    """Return the service tiers: ``min_days`` doubling while below ``max_days``, then it."""
    tiers = [min_days]
    while tiers[-1] * 2.0 < max_days:
        tiers.append(tiers[-1] * 2.0)
    if tiers[-1] < max_days:
        tiers.append(max_days)
    return np.asarray(tiers, dtype=np.float64)


def quantise_intervals(
    minutes_per_week: F, interview_minutes: float, min_days: float, max_days: float
) -> F:
    """Turn minutes per week into interview intervals from a ladder of service tiers.

    Each claimant gets the most intensive tier (see :func:`interval_tiers`) that does
    not exceed the minutes allocated, so rounding never breaks the capacity; a few
    tiers rather than any number of days keeps changes between reviews rare.
    """
    tiers = interval_tiers(min_days, max_days)
    with np.errstate(divide="ignore"):
        days = 7.0 * interview_minutes / np.maximum(minutes_per_week, 1e-12)
    idx = np.searchsorted(tiers, days * (1.0 - 1e-9), side="left")
    return tiers[np.minimum(idx, len(tiers) - 1)]
