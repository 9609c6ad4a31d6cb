"""A provider's month-end accounts: adviser costs and overheads, cash, the ledger frame.

What the provider booked as it went (income by kind, interview and intervention costs,
minutes, headcount changes, attachments and outcomes: :class:`sim.provider.Provider`) is
turned here into costs, a cash balance and one ledger row a contract month, after the run.
Nothing here is read by a decision during the run except the cash balance a review of
financial strain looks at (:mod:`sim.area`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from sim.contract import DAYS_PER_MONTH

if TYPE_CHECKING:
    from sim.provider import Provider

__all__ = ["cash", "costs", "ledger"]

F = npt.NDArray[np.float64]


def costs(p: Provider) -> tuple[F, F]:
    """Return (adviser costs, overheads) by month, for the months the provider is open."""
    months = np.arange(p.n_months)
    first = int(p.first_day / DAYS_PER_MONTH)
    last = int(p.last_day / DAYS_PER_MONTH)
    if p.exit_month is not None:
        last = min(last, p.exit_month)
    open_ = (months >= first) & (months <= last)
    cfg = p.config
    weekly = p.advisers_by_month() * p.mind.adviser_cost_gbp_per_week
    adviser_cost = np.where(open_, weekly * DAYS_PER_MONTH / 7.0, 0.0)
    return adviser_cost, cfg.overhead_rate * adviser_cost


def cash(p: Provider) -> F:
    """Return the cash balance at each month end (income booked for later months counts
    only in its month)."""
    cfg = p.config
    adviser_cost, overhead = costs(p)
    income = sum(p.income.values())
    start = (
        cfg.working_capital_weeks
        * p.planned_advisers
        * p.mind.adviser_cost_gbp_per_week
        * (1.0 + cfg.overhead_rate)
    )
    spent = adviser_cost + overhead + p.interview_cost + p.intervention_cost
    return np.asarray(start + np.cumsum(income - spent))


def ledger(p: Provider) -> pl.DataFrame:
    """Return income, costs, cash, headcount, attachments and outcomes by contract month.

    Adviser costs (and overheads in proportion) are paid in every month from the
    provider's first planned referral month to the month its last planned member's
    programme ends (or it leaves the market); starting cash is
    ``working_capital_weeks`` of the planned costs.
    """
    adviser_cost, overhead = costs(p)
    n = p.n_months
    income = sum(p.income.values())
    spent = adviser_cost + overhead + p.interview_cost + p.intervention_cost
    return pl.DataFrame(
        {
            "provider": np.full(n, p.index),
            "area": np.full(n, p.area),
            "role": np.full(n, "prime" if p.prime is None else "specialist"),
            "prime": np.full(n, p.index if p.prime is None else p.prime.index),
            "month": np.arange(n),
            "income_attachment_gbp": p.income["attachment"],
            "income_outcome_gbp": p.income["outcome"],
            "income_sustainment_gbp": p.income["sustainment"],
            "income_service_gbp": p.income["service"],
            "income_management_fee_gbp": p.income["management_fee"],
            "cost_advisers_gbp": adviser_cost,
            "cost_overhead_gbp": overhead,
            "cost_interviews_gbp": p.interview_cost,
            "cost_interventions_gbp": p.intervention_cost,
            "adviser_minutes": p.minutes,
            "n_advisers": p.advisers_by_month(),
            "cash_balance_gbp": cash(p),
            "n_attachments": p.n_attached,
            "n_job_outcomes": p.n_outcomes,
            "market_share": p.market_share,
            "exited": np.arange(n) > (n if p.exit_month is None else p.exit_month),
            "strain_cut": np.isin(np.arange(n), p.cut_months),
            "n_advisers_target": p.target_advisers,
            "n_passed_on": p.n_passed_on,
            "belief_effect_per_adviser_hour_per_week": p.belief_effect,
            "belief_entry_rate_per_day": p.belief_hazard,
            "expected_income_gbp": p.expected_income,
            "expected_margin_gbp": p.expected_income - spent,
            "margin_gbp": income - spent,
            "service_budget_gbp": p.service_budget,
            "efficiency": np.full(n, p.efficiency),
        }
    ).with_columns(p.records.column())
