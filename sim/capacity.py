"""How many advisers a provider employs: the headcount its expected margin supports.

A provider pays for adviser time whether or not it is used, so once employed an
adviser's minutes cost only their variable cost, and triage shares them out at the
capacity's shadow price (:func:`sim.triage.shadow_price_per_minute`). Choosing the
headcount is the long-run decision: hire while an adviser minute's expected marginal
payment exceeds its full cost (salary and overheads over the minutes an adviser gives,
plus the variable cost). At the optimum the shadow price equals that full cost, so the
headcount is the minutes the caseload's best allocation asks for at the full price,
in full-time equivalents (to a tenth, at least a tenth: a small caseload is served by
part of an adviser's week, so the rule gives the same service per claimant whatever the
number of claimants simulated).
"""

from __future__ import annotations

import math

from sim.triage import CaseloadView, marginal_minutes

__all__ = ["MIN_FTE", "full_price_per_minute_gbp", "margin_headcount"]

MIN_FTE = 0.1
"""The least headcount a provider keeps: a tenth of an adviser."""


def full_price_per_minute_gbp(
    adviser_cost_gbp_per_week: float,
    overhead_rate: float,
    adviser_minutes_per_week: float,
    variable_cost_per_minute_gbp: float,
) -> float:
    """Return the full cost of an adviser minute: salary and overheads per minute plus variable.

    Raises
    ------
    ValueError
        If ``adviser_minutes_per_week`` is not positive.
    """
    if adviser_minutes_per_week <= 0.0:
        raise ValueError(f"adviser_minutes_per_week(={adviser_minutes_per_week}) must be positive.")
    fixed = adviser_cost_gbp_per_week * (1.0 + overhead_rate) / adviser_minutes_per_week
    return fixed + variable_cost_per_minute_gbp


def margin_headcount(
    view: CaseloadView,
    full_price_gbp: float,
    x_min: float,
    x_max: float,
    adviser_minutes_per_week: float,
) -> float:
    """Return the FTE headcount at which a minute's marginal payment equals its full cost.

    ``ceil(10 sum_i x_i(full price) / minutes per adviser) / 10``, at least 0.1, where
    ``x_i`` is :func:`sim.triage.marginal_minutes` at the full price: with constant prices
    and caseload this is the headcount that maximises the expected margin (to a tenth of
    an adviser), since every minute beyond it earns less than it costs.
    """
    if len(view.signal) == 0:
        return MIN_FTE
    minutes = float(marginal_minutes(view, full_price_gbp, x_min, x_max).sum())
    return max(MIN_FTE, math.ceil(10.0 * minutes / adviser_minutes_per_week - 1e-9) / 10.0)
