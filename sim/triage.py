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

from sim.fmath import exp, exp_array, log, log_array

__all__ = [
    "ActivityFees",
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
class ActivityFees:
    """Service fees the contract pays for a provider's interviews, for each claimant.

    Attributes
    ----------
    fee_per_interview_gbp : float array
        The fee for an attended interview.
    paid_interviews_left : float array
        Attended interviews that still earn the fee.
    interview_minutes : float
        The provider's minutes per interview.
    """

    fee_per_interview_gbp: F
    paid_interviews_left: F
    interview_minutes: float

    @property
    def per_minute_gbp(self) -> F:
        """Return the fee over the interview's minutes: what it takes off a minute's price."""
        return np.asarray(self.fee_per_interview_gbp / self.interview_minutes)

    def kink_minutes_per_week(self, days_left: F) -> F:
        """Return the minutes a week that use the paid interviews up by the programme's end."""
        minutes_left = self.paid_interviews_left * self.interview_minutes
        return np.asarray(7.0 * minutes_left / np.maximum(days_left, 1.0))

    def income_gbp(self, x: F, days_left: F, interview_minutes: float | None = None) -> F:
        """Return the fees ``x`` minutes a week earn until the programme ends, in interviews
        of ``interview_minutes`` (default the provider's own)."""
        m = self.interview_minutes if interview_minutes is None else interview_minutes
        interviews = x * np.maximum(days_left, 1.0) / 7.0 / m
        return np.asarray(
            self.fee_per_interview_gbp * np.minimum(interviews, self.paid_interviews_left)
        )


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
    fees : ActivityFees, optional
        Service fees the contract pays for the provider's interviews; None: none.
    """

    signal: F
    value_gbp: F
    days_left: F
    qualifying_days_left: F
    entry_rate_per_day: float
    effect_per_adviser_hour_per_week: float
    hazard_per_day: F | None = None
    fees: ActivityFees | None = None

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


@dataclass(frozen=True)
class _MarginalTerms:
    """The parts of :func:`marginal_minutes` that do not depend on the price.

    ``x = (log_gain_per_day_gbp - log(price)) / hbw`` for claimants with ``ok``; the
    logarithm is taken once here, so a search over prices is arithmetic only.
    """

    hbw: F
    log_gain_per_day_gbp: F
    ok: npt.NDArray[np.bool_]


def _marginal_terms(view: CaseloadView) -> _MarginalTerms:
    h = view.hazard()
    b = view.effect_per_adviser_hour_per_week / 60.0
    w = view.window_days()
    hbw = h * b * w
    gain_per_day = view.value_gbp * hbw * exp_array(-h * w) * 7.0 / np.maximum(view.days_left, 1.0)
    ok = (hbw > 0.0) & (gain_per_day > 0.0)
    log_gain = log_array(np.where(ok, gain_per_day, 1.0))
    return _MarginalTerms(hbw=hbw, log_gain_per_day_gbp=log_gain, ok=ok)


def _minutes_at(terms: _MarginalTerms, log_price: float, x_min: float, x_max: float) -> F:
    with np.errstate(over="ignore", divide="ignore"):  # a tiny h b W: a corner, clipped
        x_star = np.where(
            terms.ok,
            (terms.log_gain_per_day_gbp - log_price) / np.where(terms.ok, terms.hbw, 1.0),
            x_min,
        )
    return np.asarray(np.clip(x_star, x_min, x_max), dtype=np.float64)


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
    return _minutes_with_fees(view, _marginal_terms(view), price_per_minute_gbp, x_min, x_max)


def _minutes_with_fees(
    view: CaseloadView, terms: _MarginalTerms, price: float, x_min: float, x_max: float
) -> F:
    """Return the best minutes when interviews earn a fee up to a number of them.

    Below the kink ``k`` (the minutes a week that use the paid interviews up by the
    programme's end) a minute costs ``price - fee per minute``, above it ``price``; the
    margin is concave, so the best minutes are ``clip(k, x(price), x(price - fee))``.
    Without fees, ``x(price)``.
    """
    x = _minutes_at_price(terms, price, x_min, x_max)
    fees = view.fees
    if fees is None:
        return x
    lower = np.empty_like(x)
    for discount in np.unique(fees.per_minute_gbp).tolist():
        at = fees.per_minute_gbp == discount
        if price - discount <= 0.0:  # the fee pays for the minute: as many as it pays for
            lower[at] = x_max
        else:
            lower[at] = _minutes_at_price(terms, price - discount, x_min, x_max)[at]
    kink = fees.kink_minutes_per_week(view.days_left)
    return np.asarray(np.minimum(np.maximum(kink, x), lower), dtype=np.float64)


def shadow_price_per_minute(
    view: CaseloadView,
    capacity: float,
    price_per_minute_gbp: float,
    x_min: float,
    x_max: float,
) -> float:
    """Return the price of a minute at which the caseload's best minutes fit the capacity.

    If the best minutes at the variable ``price_per_minute_gbp`` fit, that price;
    otherwise the price at which they sum to the capacity (:func:`_shadow_log_price`).
    """
    terms = _marginal_terms(view)
    x = _minutes_with_fees(view, terms, price_per_minute_gbp, x_min, x_max)
    if x.sum() <= capacity:
        return price_per_minute_gbp
    if view.fees is not None:
        return _shadow_price_with_fees(view, terms, capacity, price_per_minute_gbp, x_min, x_max)
    floor = log(price_per_minute_gbp) if price_per_minute_gbp > 0.0 else -math.inf
    # never below the variable price: exp(log(p)) can come back one ulp under p
    return max(price_per_minute_gbp, exp(_shadow_log_price(terms, capacity, floor, x_min, x_max)))


def _shadow_price_with_fees(
    view: CaseloadView,
    terms: _MarginalTerms,
    capacity: float,
    floor: float,
    x_min: float,
    x_max: float,
) -> float:
    """Return the least price at or above ``floor`` whose best minutes (with interview fees)
    fit ``capacity``, by bisection (the minutes fall as the price rises); above the price
    at which everyone is at ``x_min`` whatever the fee, the total cannot fall further."""
    assert view.fees is not None
    ok = terms.ok
    gains = terms.log_gain_per_day_gbp[ok] - x_min * terms.hbw[ok]
    top = exp(float(np.max(gains))) if ok.any() else 0.0
    hi = top + float(np.max(view.fees.per_minute_gbp)) + 1.0
    lo = floor
    if _minutes_with_fees(view, terms, hi, x_min, x_max).sum() > capacity:
        return hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _minutes_with_fees(view, terms, mid, x_min, x_max).sum() > capacity:
            lo = mid
        else:
            hi = mid
    return hi


def _minutes_at_price(terms: _MarginalTerms, price: float, x_min: float, x_max: float) -> F:
    if price <= 0.0:
        return np.where(terms.ok, x_max, x_min).astype(np.float64)
    return _minutes_at(terms, log(price), x_min, x_max)


def _shadow_log_price(
    terms: _MarginalTerms, capacity: float, log_floor: float, x_min: float, x_max: float
) -> float:
    """Return the log price at which the best minutes sum to ``capacity`` (never more).

    Each claimant's minutes ``clip((a_i - L) / c_i, x_min, x_max)`` are piecewise linear
    in the log price ``L``, so their sum is too: the segment holding the capacity is
    found among the sorted breakpoints by bisection and ``L`` solved on it in closed
    form, then moved towards the segment's end if rounding left the sum above capacity
    (steps from one unit in the last place, doubling).
    """
    a = terms.log_gain_per_day_gbp[terms.ok]
    c = terms.hbw[terms.ok]
    fixed_minutes = x_min * float(np.count_nonzero(~terms.ok))
    if len(a) == 0:
        return log_floor

    def total(log_price: float) -> float:
        return fixed_minutes + float(np.clip((a - log_price) / c, x_min, x_max).sum())

    breaks = np.sort(np.concatenate([a - x_max * c, a - x_min * c]))
    top = float(np.nextafter(breaks[-1], math.inf))  # everyone at the minimum
    if capacity <= fixed_minutes + x_min * len(a):
        return max(log_floor, top)
    # total(breaks[0]) > capacity (all at x_max, or the floor lies beyond); total(top) fits
    lo, hi = 0, len(breaks) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if total(float(breaks[mid])) > capacity:
            lo = mid
        else:
            hi = mid
    end = float(breaks[hi]) if total(float(breaks[hi])) <= capacity else top
    # on (breaks[lo], breaks[hi]) the claimants strictly between the bounds move with L
    x = (a - 0.5 * (float(breaks[lo]) + float(breaks[hi]))) / c
    inner = (x > x_min) & (x < x_max)
    clipped = fixed_minutes + float(np.where(x >= x_max, x_max, x_min)[~inner].sum())
    slope = float((1.0 / c[inner]).sum())
    log_price = (float((a[inner] / c[inner]).sum()) + clipped - capacity) / slope if slope else end
    log_price = min(max(log_price, float(breaks[lo])), end)
    step = 2.0**-52 * max(abs(log_price), 1.0)
    while total(log_price) > capacity and log_price < end:  # rounding: growing steps
        log_price = min(log_price + step, end)
        step *= 2.0
    return max(log_floor, log_price)


def optimal_margin_gbp(
    view: CaseloadView, price_per_minute_gbp: float, x_min: float, x_max: float
) -> F:
    """Return each claimant's best expected margin: ``max_x V P(x) - price x D / 7`` plus
    the service fees its interviews earn (:class:`ActivityFees`)."""
    x = marginal_minutes(view, price_per_minute_gbp, x_min, x_max)
    b = view.effect_per_adviser_hour_per_week / 60.0
    paid = view.value_gbp * p_outcome(view.hazard(), b, x, view.window_days())
    if view.fees is not None:
        paid = paid + view.fees.income_gbp(x, view.days_left)
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
    terms = _marginal_terms(view)
    price = cost_per_hour_gbp / 60.0
    x = _minutes_with_fees(view, terms, price, x_min, x_max)
    if x.sum() <= capacity:
        return x
    if view.fees is not None:
        shadow = _shadow_price_with_fees(view, terms, capacity, price, x_min, x_max)
        return _minutes_with_fees(view, terms, shadow, x_min, x_max)
    floor = log(price) if price > 0.0 else -math.inf
    return _minutes_at(terms, _shadow_log_price(terms, capacity, floor, x_min, x_max), x_min, x_max)


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
