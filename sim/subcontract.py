"""Whether a prime passes a claimant to its specialist subcontractor.

The prime compares what it expects to keep either way, under its beliefs:

- serving the claimant itself: the attachment fee plus its best expected margin from
  the claimant (:func:`sim.triage.optimal_margin_gbp` at the full price of an adviser
  minute: expected payment and service fees less the cost of the minutes that maximise
  it);
- passing them on: the management fee, ``fee_share`` of what the purchaser pays the
  specialist (the attachment fee and the expected payment under the specialist's
  service, whose effect for claimants with a health condition is
  ``condition_effect_multiplier`` times the prime's, and the service fees its interviews
  earn where the contract pays them).

It passes the claimant on when the second is larger and the specialist has room.
Nothing here looks at the payment group except through the prices.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.triage import CaseloadView, optimal_margin_gbp, p_outcome

__all__ = ["keep_margin_gbp", "pass_margin_gbp", "passes_on"]

F = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def keep_margin_gbp(
    view: CaseloadView, attachment_fee_gbp: F, full_price_gbp: float, x_min: float, x_max: float
) -> F:
    """Return what the prime expects to keep by serving each claimant itself."""
    return np.asarray(
        attachment_fee_gbp + optimal_margin_gbp(view, full_price_gbp, x_min, x_max),
        dtype=np.float64,
    )


def pass_margin_gbp(
    view: CaseloadView,
    attachment_fee_gbp: F,
    fee_share: float,
    specialist_effect_multiplier: F,
    specialist_minutes_per_week: float,
    specialist_interview_minutes: float = 60.0,
) -> F:
    """Return the management fee the prime expects from passing each claimant on.

    The specialist is expected to give ``specialist_minutes_per_week`` in interviews of
    ``specialist_interview_minutes`` with its own effect (the prime's believed effect
    times ``specialist_effect_multiplier``); the fee is ``fee_share`` of the attachment
    fee, the expected payment and the interview fees those interviews earn.
    """
    b = view.effect_per_adviser_hour_per_week / 60.0 * specialist_effect_multiplier
    p = p_outcome_each(view, b, specialist_minutes_per_week)
    paid = attachment_fee_gbp + view.value_gbp * p
    if view.fees is not None:
        x = np.full(len(p), specialist_minutes_per_week)
        paid = paid + view.fees.income_gbp(x, view.days_left, specialist_interview_minutes)
    return np.asarray(fee_share * paid, dtype=np.float64)


def p_outcome_each(view: CaseloadView, b_per_minute: F, x: float) -> F:
    """Return the chance of an outcome at ``x`` minutes a week with per-claimant effects."""
    h = view.hazard()
    return p_outcome(h, 1.0, b_per_minute * x, view.window_days())


def passes_on(keep_gbp: F, pass_gbp: F, room: int) -> B:
    """Return which claimants (in order) are passed on: pass beats keep, while room lasts.

    Parameters
    ----------
    keep_gbp, pass_gbp : float arrays
        What the prime expects from keeping or passing each claimant.
    room : int
        Places left in the specialist's caseload; claimants are taken in the order given.
    """
    want = pass_gbp > keep_gbp
    if room <= 0:
        return np.zeros(len(want), dtype=bool)
    taken = np.cumsum(want) <= room
    return np.asarray(want & taken, dtype=bool)
