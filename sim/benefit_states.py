"""Benefit states as a multi-state process: pure rules.

A claimant is in one of six states (:class:`BenefitState`). A new ESA claim starts in the
assessment phase; at its end (``BenefitDynamics.esa_assessment_days``) the Work Capability
Assessment sends the claimant to JSA (fit for work), the work-related activity group or
the support group (:func:`wca_outcome`). Leaving benefit with or without work starts a
reclaim clock whose hazard is piecewise constant in the days since leaving
(:func:`reclaim_at`); a claimant who comes back while still inside the programme's
attachment period returns to the provider, otherwise to the Jobcentre offer
(:func:`returns_to_provider`).

What each state obliges a claimant to do is a table (:data:`CONDITIONALITY`,
:func:`conditionality`), from the legislation:

* **JSA** (Jobseekers Act 1995; Jobseeker's Allowance Regulations 1996): fortnightly
  signing at the Jobcentre, available for and actively seeking work, mandatory programme
  activities; every requirement sanctionable (higher-level sanctions from October 2012,
  Welfare Reform Act 2012 and SI 2012/2568).
* **ESA assessment phase** (Welfare Reform Act 2007 Part 1; Employment and Support Allowance
  Regulations 2008, SI 2008/794): no signing and no job search; the claimant takes part in
  a provider's activities only if the contract refers people in the assessment phase
  (``provider_activities`` says they can take part); not sanctionable, as a reduction
  falls on the work-related activity component, which is not paid until the phase ends.
* **ESA work-related activity group**: work-focused interviews and, from June 2011,
  work-related activity (ESA (Work-Related Activity) Regulations 2011, SI 2011/1349); a
  failure without good reason reduces benefit (ESA Regulations 2008; from 3 December 2012
  the open-ended ESA sanction under the Welfare Reform Act 2012, SA04): sanctionable on the
  ESA ladder; no signing, no job search.
* **ESA support group**: no conditions (ESA Regulations 2008, limited capability for
  work-related activity).
* **ESA volunteers** (Work Programme payment group 5): take part in provider activities
  but are never sanctionable. JSA conditionality is statutory and cannot be volunteered
  away, so a JSA "volunteer" has JSA's conditions.
* **Off benefit** and **in work**: no conditions.

Everything here is pure: no state, no randomness (uniforms and unit-exponential clocks are
passed in). The scalar rules compile with mypyc; :func:`stationary_shares` uses numpy and
is for analysis and tests, not the event loop.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from sim.behaviour_config import BenefitDynamics, RateBand, rate_hazard
from sim.hazards import INF, StepHazard

__all__ = [
    "CONDITIONALITY",
    "BenefitDynamics",
    "BenefitState",
    "Conditionality",
    "RateBand",
    "conditionality",
    "is_esa",
    "rate_hazard",
    "reclaim_at",
    "returns_to_provider",
    "stationary_shares",
    "wca_outcome",
]

FloatArray = npt.NDArray[np.float64]


class BenefitState(IntEnum):
    """A claimant's benefit and work status."""

    JSA = 0
    """Jobseeker's Allowance."""
    ESA_ASSESSMENT = 1
    """Employment and Support Allowance, assessment phase (before the WCA outcome)."""
    ESA_WRAG = 2
    """ESA, work-related activity group."""
    ESA_SUPPORT = 3
    """ESA, support group."""
    OFF_BENEFIT = 4
    """Off benefit without work."""
    IN_WORK = 5
    """In work (off benefit)."""


class Conditionality(NamedTuple):
    """What a claimant in a state must do, and whether a failure can be sanctioned."""

    jobcentre_signing: bool
    """Must sign at the Jobcentre (fortnightly)."""
    provider_activities: bool
    """Takes part in a provider's activities (interviews, work-related activity) if referred."""
    job_search: bool
    """Must be available for and actively seeking work."""
    sanctionable: bool
    """A failure without good reason can be sanctioned (JSA or ESA ladder by benefit)."""


_NONE: Final = Conditionality(False, False, False, False)
_VOLUNTEER: Final = Conditionality(False, True, False, False)

CONDITIONALITY: Final[dict[BenefitState, Conditionality]] = {
    BenefitState.JSA: Conditionality(True, True, True, True),
    BenefitState.ESA_ASSESSMENT: Conditionality(False, True, False, False),
    BenefitState.ESA_WRAG: Conditionality(False, True, False, True),
    BenefitState.ESA_SUPPORT: _NONE,
    BenefitState.OFF_BENEFIT: _NONE,
    BenefitState.IN_WORK: _NONE,
}
"""Conditionality of a mandatory claimant in each state (sources in the module docstring)."""


def is_esa(state: BenefitState) -> bool:
    """Return whether ``state`` is an ESA state (sanctions, if any, on the ESA ladder)."""
    return (
        state == BenefitState.ESA_ASSESSMENT
        or state == BenefitState.ESA_WRAG
        or state == BenefitState.ESA_SUPPORT
    )


def conditionality(state: BenefitState, volunteer: bool) -> Conditionality:
    """Return what a claimant in ``state`` must do.

    Parameters
    ----------
    state : BenefitState
        The claimant's state.
    volunteer : bool
        Whether the claimant joined the programme voluntarily. An ESA volunteer takes part
        in provider activities in any ESA state and is never sanctionable; for JSA, off
        benefit and in work it changes nothing.

    Returns
    -------
    Conditionality
    """
    if volunteer and is_esa(state):
        return _VOLUNTEER
    return CONDITIONALITY[state]


def wca_outcome(u: float, cfg: BenefitDynamics) -> BenefitState:
    """Return the state the Work Capability Assessment sends a claimant to.

    The unit interval is split in order of severity: ``[0, p_fit)`` fit for work (JSA),
    then the work-related activity group, then ``[1 - p_support, 1)`` the support group.
    A claimant's ``u`` thus acts as a rank of severity: raising ``p_support_group`` moves
    only the most severe WRAG claimants to the support group, raising ``p_fit_for_work``
    only the least severe WRAG claimants to JSA.

    Parameters
    ----------
    u : float
        A keyed uniform draw in ``[0, 1)``.
    cfg : BenefitDynamics
        WCA outcome probabilities.

    Returns
    -------
    BenefitState
        ``JSA``, ``ESA_WRAG`` or ``ESA_SUPPORT``.

    Raises
    ------
    ValueError
        If ``u`` is not in ``[0, 1)``.
    """
    if not 0.0 <= u < 1.0:
        raise ValueError(f"u(={u}) must be in [0, 1).")
    if u < cfg.p_fit_for_work:
        return BenefitState.JSA
    if u >= 1.0 - cfg.p_support_group:
        return BenefitState.ESA_SUPPORT
    return BenefitState.ESA_WRAG


def reclaim_at(left_at: float, e: float, hazard: StepHazard) -> float:
    """Return the day the reclaim clock fires, or ``inf`` if it never does.

    The claim comes back when the hazard integrated since leaving reaches ``e``:
    ``left_at + s`` with ``H(s) = e``, ``H`` the integral of the piecewise-constant reclaim
    hazard (``BenefitDynamics.reclaim_after_offflow`` or ``reclaim_after_job`` made into a
    :class:`~sim.hazards.StepHazard` once per run by :func:`rate_hazard`). The survival is
    ``P(no claim by left_at + s) = exp(-H(s))``.

    Parameters
    ----------
    left_at : float
        Day the claimant left benefit (or the job ended).
    e : float
        A keyed unit-exponential clock (>= 0).
    hazard : StepHazard
        Reclaim hazard per day by days since leaving.

    Returns
    -------
    float
        Day of the new claim; ``inf`` if the last band's hazard is 0 and ``e`` is beyond
        what the earlier bands accumulate.

    Raises
    ------
    ValueError
        If ``e`` is negative or NaN.
    """
    if not e >= 0.0:
        raise ValueError(f"e(={e}) must be >= 0.")
    s = hazard.solve(e)
    if s == INF:
        return INF
    return left_at + s


def returns_to_provider(now: float, attached_at: float, programme_end_at: float) -> bool:
    """Return whether a claimant who reclaims on day ``now`` goes back to the provider.

    Inside the attachment period (``attached_at <= now < programme_end_at``) the claimant
    is still the provider's participant; otherwise (never attached, ``attached_at`` NaN,
    or the programme over) the claim is handled by the Jobcentre offer.
    """
    return attached_at <= now < programme_end_at


def stationary_shares(rates: npt.ArrayLike) -> FloatArray:
    """Return the long-run shares of a constant-rate chain: ``pi Q = 0``, ``sum(pi) = 1``.

    Parameters
    ----------
    rates : array_like, shape (n, n)
        ``rates[i][j]``, ``i != j``: transition rate from state ``i`` to ``j``, per day
        (>= 0). The diagonal is ignored (``Q``'s diagonal is minus the row sums).

    Returns
    -------
    numpy.ndarray, shape (n,)
        The stationary distribution.

    Raises
    ------
    ValueError
        If ``rates`` is not square, has a negative or non-finite rate, has a state with no
        exit (all its rates 0), or the chain is not irreducible (some state cannot reach
        another), so that the long-run shares are not unique.
    """
    q = np.array(rates, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] != q.shape[1] or q.shape[0] < 1:
        raise ValueError(f"rates must be a square matrix, got shape {q.shape}.")
    n = q.shape[0]
    np.fill_diagonal(q, 0.0)
    if not np.all(np.isfinite(q)) or np.any(q < 0.0):
        raise ValueError("rates must be finite and >= 0.")
    if n == 1:
        return np.ones(1)
    exits = q.sum(axis=1)
    stuck = np.flatnonzero(exits == 0.0)
    if stuck.size:
        raise ValueError(f"state(s) {stuck.tolist()} have no exit: every state needs one.")
    reach = (q > 0.0) | np.eye(n, dtype=bool)
    for _ in range(n):  # transitive closure by repeated squaring of the reachability
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    if not reach.all():
        i, j = np.argwhere(~reach)[0]
        raise ValueError(f"the chain is not irreducible: state {i} cannot reach state {j}.")
    generator = q - np.diag(exits)
    a = generator.T.copy()
    a[-1, :] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    return np.asarray(np.linalg.solve(a, b), dtype=np.float64)
