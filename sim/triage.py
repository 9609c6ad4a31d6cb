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

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.fmath import exp_array

__all__ = ["CaseloadView", "allocate", "average_ranks", "interval_tiers", "quantise_intervals"]

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
        The provider's estimate of the job-entry hazard at signal 0 today
        (contract-wide rate times the current labour-market index).
    effect_per_adviser_hour_per_week : float
    """

    signal: F
    value_gbp: F
    days_left: F
    qualifying_days_left: F
    entry_rate_per_day: float
    effect_per_adviser_hour_per_week: float


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


def expected_payment_per_hour(view: CaseloadView, x_full: float) -> F:
    """Return each claimant's expected payment per adviser hour under full service.

    The provider predicts the job-entry hazard from the signal (entry rate times
    ``exp(-signal)``, raised by the service), takes the chance of a job early enough
    to reach the outcome before the programme ends, values it at ``value_gbp``, and
    divides by the adviser hours that full service costs over the time left. This is
    the average return on the claimant, as providers rank caseloads in practice, not
    the marginal effect of the service.
    """
    h = view.entry_rate_per_day * exp_array(-view.signal)
    b = view.effect_per_adviser_hour_per_week / 60.0
    window = np.maximum(view.days_left - view.qualifying_days_left, 0.0)
    p_outcome = 1.0 - exp_array(-h * (1.0 + b * x_full) * window)
    hours = x_full / 60.0 * np.maximum(view.days_left, 1.0) / 7.0
    return np.asarray(view.value_gbp * p_outcome / hours, dtype=np.float64)


def _payment_maximising(
    view: CaseloadView,
    capacity: float,
    x_min: float,
    x_max: float,
    cost_per_hour_gbp: float,
) -> F:
    n = len(view.signal)
    x = np.full(n, x_min)
    if n == 0:
        return x
    spare = capacity - n * x_min
    if spare <= 0:
        return np.full(n, min(x_min, capacity / n))
    score = expected_payment_per_hour(view, x_max)
    order = np.argsort(-score, kind="stable")
    worth = score[order] > cost_per_hour_gbp
    n_full = min(int(worth.sum()), int(spare // (x_max - x_min)) if x_max > x_min else n)
    x[order[:n_full]] = x_max
    return x


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
        signal says are furthest from work; ``payment_maximising`` ranks claimants by
        expected payment per adviser hour (:func:`expected_payment_per_hour`) and serves
        them fully in that order while that exceeds the variable cost of an hour and
        capacity lasts, leaving the rest the bare minimum; ``mixed`` is the weighted sum
        of the last two.
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
