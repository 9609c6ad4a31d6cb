"""Attendance at contacts as pure functions: frequency, compulsion and sanction history.

A claimant misses a contact with probability ``p_miss`` whose log-odds are (see
:class:`sim.config.Attendance`, whose shifts are stated for attending)::

    logit(p_ref) + θ * log(interval / ref_interval) + voluntary shift
    + per-failure * n_failures + per-sanction * n_sanctions + claimant shift

**Frequency.** With θ in (0, 1] a more frequent contact is each less likely to be missed,
and failures per week rise with frequency but less than in proportion: for small
``p_miss`` they grow like ``frequency ** (1 - θ)``, and for any ``p_miss`` the probability
of at least one failure in a week rises with frequency as long as θ <= 1. θ = 0 makes
failures per week (expected count) exactly proportional to frequency.

**Attendance as a clock.** The event loop does not flip a coin per contact. Each attended
contact uses up ``clock_per_contact(p_miss) = -log(1 - p_miss)`` of a unit-exponential
clock ``e``, and the contact at which the clock runs out is missed. With ``p_miss``
constant the number of contacts attended before the failure is geometric,
``P(K = k) = (1 - p)**k * p`` (:func:`n_attended_before_failure`), and when ``p_miss``
changes (a new interval, a sanction) the rest of the clock carries over
(:func:`contacts_on_clock`), so that two scenarios that differ only in contact frequency
move a claimant's failure earlier or later rather than redrawing it. One keyed uniform per
failure: ``e = neg_log1m(u)``.

Transcendental functions come from :mod:`sim.fmath` (bit-identical everywhere). The scalar
functions take floats, ints and the :class:`AttendanceParams` tuple, so they compile with
mypyc; the pydantic model is read once per run by :func:`attendance_params`.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

from sim.config import Attendance
from sim.fmath import exp, log, neg_log1m, sigmoid

__all__ = [
    "NEVER",
    "AttendanceParams",
    "attendance_params",
    "clock_per_contact",
    "contacts_on_clock",
    "expected_failures_per_week",
    "miss_logit",
    "n_attended_before_failure",
    "p_failure_per_week",
    "p_miss",
]

NEVER: Final = 1 << 62
"""A count of attended contacts that is never reached: the claimant never misses."""

DAYS_PER_WEEK: Final = 7.0


class AttendanceParams(NamedTuple):
    """The scalars of the scenario's ``[attendance]`` that :func:`p_miss` reads, per run."""

    logit_ref: float
    """Log-odds of a miss at the reference interval, ``logit(p_miss_fortnightly)``."""
    frequency_elasticity: float
    """θ: change in the log-odds per unit of ``log(interval_days / ref_interval_days)``."""
    voluntary_logit_shift: float
    """Added to the log-odds at a voluntary contact."""
    logit_per_prior_failure: float
    """Added to the log-odds per earlier failure to attend."""
    logit_per_prior_sanction: float
    """Added to the log-odds per earlier sanction (<= 0)."""
    ref_interval_days: float
    """Interval, in days, at which ``logit_ref`` holds."""


def attendance_params(cfg: Attendance) -> AttendanceParams:
    """Return the scenario's ``[attendance]`` as the miss-logit scalars of :func:`p_miss`.

    The scenario states attendance (``p_attend``, shifts in the log-odds of attending);
    the rules here work in the log-odds of a miss, so each shift changes sign. A
    ``p_attend`` of 1 gives a miss log-odds of ``-inf`` (never missed).
    """
    p = 1.0 - cfg.p_attend
    return AttendanceParams(
        logit_ref=log(p) - log(1.0 - p) if 0.0 < p < 1.0 else (-math.inf if p <= 0 else math.inf),
        frequency_elasticity=cfg.frequency_elasticity,
        voluntary_logit_shift=-cfg.voluntary_logit_shift,
        logit_per_prior_failure=-cfg.logit_per_prior_fta,
        logit_per_prior_sanction=-cfg.logit_per_prior_sanction,
        ref_interval_days=cfg.reference_interval_days,
    )


def miss_logit(
    params: AttendanceParams,
    interval_days: float,
    compulsory: bool,
    n_failures: int,
    n_sanctions: int,
    logit_shift: float,
) -> float:
    """Return the log-odds of missing a contact; see :func:`p_miss` for the parameters.

    Raises
    ------
    ValueError
        If ``interval_days`` is not positive or a count is negative.
    """
    if not interval_days > 0.0:
        raise ValueError(f"interval_days(={interval_days}) must be > 0.")
    if n_failures < 0 or n_sanctions < 0:
        raise ValueError(f"n_failures(={n_failures}) and n_sanctions(={n_sanctions}) must be >= 0.")
    x = params.logit_ref + logit_shift
    theta = params.frequency_elasticity
    if theta != 0.0:
        x += theta * log(interval_days / params.ref_interval_days)
    if not compulsory:
        x += params.voluntary_logit_shift
    x += params.logit_per_prior_failure * n_failures
    return x + params.logit_per_prior_sanction * n_sanctions


def p_miss(
    params: AttendanceParams,
    interval_days: float,
    compulsory: bool,
    n_failures: int,
    n_sanctions: int,
    logit_shift: float,
) -> float:
    """Return the probability of missing one contact.

    Parameters
    ----------
    params : AttendanceParams
        The run's attendance scalars (:func:`attendance_params`).
    interval_days : float
        Days between this claimant's contacts at the current schedule (> 0).
    compulsory : bool
        Whether a failure to attend can be sanctioned; False adds the voluntary shift.
    n_failures : int
        Earlier failures to attend (persistence).
    n_sanctions : int
        Earlier sanctions (deterrence).
    logit_shift : float
        The claimant's own shift in the log-odds of a miss (health condition, age band).

    Returns
    -------
    float
        ``p_miss`` in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``interval_days`` is not positive or a count is negative.
    """
    return sigmoid(
        miss_logit(params, interval_days, compulsory, n_failures, n_sanctions, logit_shift)
    )


def clock_per_contact(p_miss: float) -> float:
    """Return ``-log(1 - p_miss)``: the part of the unit-exponential clock one contact uses.

    ``0`` when ``p_miss == 0`` (never missed) and ``inf`` when ``p_miss == 1``.

    Raises
    ------
    ValueError
        If ``p_miss`` is not in ``[0, 1]``.
    """
    if not 0.0 <= p_miss <= 1.0:
        raise ValueError(f"p_miss(={p_miss}) must be in [0, 1].")
    return neg_log1m(p_miss)


def contacts_on_clock(e: float, p_miss: float) -> int:
    """Return how many contacts are attended before the one at which clock ``e`` runs out.

    Each attended contact uses :func:`clock_per_contact` of the clock, so the count is
    ``floor(e / -log(1 - p_miss))``. To carry a clock over a change of ``p_miss`` after
    ``n`` attended contacts, call again with ``e - n * clock_per_contact(p_old)`` and the
    new probability.

    Parameters
    ----------
    e : float
        What is left of the unit-exponential clock (``<= 0`` means the next contact is missed).
    p_miss : float
        Probability of missing each contact, in ``[0, 1]``.

    Returns
    -------
    int
        The count, ``NEVER`` if ``p_miss`` is so small that the clock never runs out.

    Raises
    ------
    ValueError
        If ``p_miss`` is not in ``[0, 1]`` or ``e`` is NaN.
    """
    if e != e:
        raise ValueError("e(=nan) must be a number.")
    c = clock_per_contact(p_miss)
    if e <= 0.0:
        return 0
    if c == 0.0:
        return NEVER
    q = e / c
    if q >= NEVER:
        return NEVER
    return int(q)


def n_attended_before_failure(u: float, p_miss: float) -> int:
    """Return the number of contacts attended before the next failure, by inversion.

    ``K = floor(-log(1 - u) / -log(1 - p_miss))`` is geometric,
    ``P(K = k) = (1 - p_miss)**k * p_miss``, mean ``(1 - p_miss) / p_miss``.

    Parameters
    ----------
    u : float
        A keyed uniform draw in ``[0, 1)``.
    p_miss : float
        Probability of missing each contact, in ``[0, 1]``.

    Returns
    -------
    int
        ``K >= 0``; ``NEVER`` if ``p_miss == 0``; ``0`` if ``p_miss == 1``.

    Raises
    ------
    ValueError
        If ``u`` is not in ``[0, 1)`` or ``p_miss`` not in ``[0, 1]``.
    """
    if not 0.0 <= u < 1.0:
        raise ValueError(f"u(={u}) must be in [0, 1).")
    return contacts_on_clock(neg_log1m(u), p_miss)


def p_failure_per_week(p_miss: float, interval_days: float) -> float:
    """Return the probability of at least one failure in a week: ``1 - (1 - p)**(7 / interval)``.

    Raises
    ------
    ValueError
        If ``p_miss`` is not in ``[0, 1]`` or ``interval_days`` is not positive.
    """
    if not interval_days > 0.0:
        raise ValueError(f"interval_days(={interval_days}) must be > 0.")
    return 1.0 - exp(-(DAYS_PER_WEEK / interval_days) * clock_per_contact(p_miss))


def expected_failures_per_week(p_miss: float, interval_days: float) -> float:
    """Return the expected number of failures per week: ``7 * p_miss / interval_days``.

    Raises
    ------
    ValueError
        If ``p_miss`` is not in ``[0, 1]`` or ``interval_days`` is not positive.
    """
    if not 0.0 <= p_miss <= 1.0:
        raise ValueError(f"p_miss(={p_miss}) must be in [0, 1].")
    if not interval_days > 0.0:
        raise ValueError(f"interval_days(={interval_days}) must be > 0.")
    return DAYS_PER_WEEK * p_miss / interval_days
