"""The one map from identifiers in the data to the words the report shows.

Frames and CSV files keep identifiers (``jsa_18_24``, ``distance_q2``,
``sanction_decision``); everything drawn or written in the report goes through
:func:`label`, so a figure, its legend and its paragraph name a thing the same
way. An identifier the map does not know (a user's own scenario, say) is shown
humanised: underscores become spaces, the first letter is capitalised and known
abbreviations are kept in capitals (``my_jcp_variant`` -> "My JCP variant").
"""

from __future__ import annotations

import re

import polars as pl

__all__ = ["LABELS", "label", "label_series", "labels"]

LABELS: dict[str, str] = {
    # scenarios
    "work_programme": "Work Programme",
    "jcp_offer": "Jobcentre Plus offer",
    "jcp_offer_2013": "Jobcentre Plus offer (2013 referrals)",
    "jcp_offer_36m": "Jobcentre Plus offer (36-month intake)",
    "jcp_whole_programme": "Jobcentre Plus offer (whole WP intake)",
    "fnd_2009": "Flexible New Deal (2009 design)",
    "fnd_2010": "Flexible New Deal (2010 design)",
    "help_to_work": "Help to Work",
    "htw_jcp_offer": "Jobcentre Plus offer (Help to Work claimants)",
    "nd25plus": "New Deal 25 plus",
    "nd25plus_jcp_offer": "Jobcentre Plus offer (ND25+ claimants)",
    "nd_2003_shift": "New Deal, 2003 shift to outcomes",
    "nd_front_loaded": "New Deal, front-loaded payments",
    "ndyp": "New Deal for Young People",
    "ndyp_jcp_offer": "Jobcentre Plus offer (NDYP claimants)",
    "pathways_jcp": "Jobcentre Plus-led Pathways",
    "pathways_ib_regime": "Incapacity benefit regime before Pathways",
    "jcp_sanctions_2012": "Jobcentre Plus offer, 2012 sanctions",
    "jcp_sanctions_pre_2012": "Jobcentre Plus offer, pre-2012 sanctions",
    "jcp_no_sanctions": "Jobcentre Plus offer, no sanctions",
    "pathways_provider": "Provider-led Pathways",
    "svltu": "SVLTU trailblazer",
    "svltu_jcp_offer": "Jobcentre Plus offer (SVLTU claimants)",
    "wp_attachment_fee_ends": "WP, attachment fee ends",
    "wp_attachment_fee_kept": "WP, attachment fee kept",
    "wp_financial_strain": "WP, providers under financial strain",
    "wp_margin_headcount": "WP, headcount chosen from the margin",
    "wp_flat_prices": "WP, flat prices",
    "wp_intake_36m": "WP, 36-month intake",
    "wp_whole_programme": "WP, whole intake 2011-17",
    "wp_market_share": "WP, market share shift",
    "wp_no_sanctions": "WP, no sanctions",
    "wp_sanctions_2012": "WP, 2012 sanction regimes",
    "wp_sanctions_pre_2012": "WP, pre-2012 sanction ladders",
    "wp_steep_prices": "WP, steeper prices",
    "wp_supply_chain": "WP, specialist supply chains",
    # groups of referrals
    "all": "All referrals",
    "belief": "Believed job-entry hazard",
    "jsa_18_24": "JSA 18-24",
    "jsa_25_plus": "JSA 25+",
    "jsa_early_access": "JSA early access",
    "jsa_ex_ib": "JSA ex-incapacity benefit",
    "esa_volunteers": "ESA volunteers",
    "esa_new": "New ESA claimants",
    "esa_ex_ib": "ESA ex-incapacity benefit",
    "jsa_completers": "JSA programme completers",
    "jsa_wp_completers": "JSA Work Programme completers",
    "new_claim_less_severe": "New claims, less severe conditions",
    "new_claim_more_severe": "New claims, more severe conditions",
    "existing_volunteers": "Existing claimants (volunteers)",
    "distance_q1": "Distance quintile 1 (nearest work)",
    "distance_q2": "Distance quintile 2",
    "distance_q3": "Distance quintile 3",
    "distance_q4": "Distance quintile 4",
    "distance_q5": "Distance quintile 5 (furthest)",
    # measures and effects
    "job_outcome_rate": "Job outcomes",
    "job_outcome_rate_24m": "Job outcome rate at 24 months",
    "adviser_minutes_per_caseload_week": "Adviser time",
    "days_in_work": "Days in work",
    "n_sanctions": "Sanctions",
    "payments_gbp": "Change in purchaser spending",
    "benefit_savings_gbp": "Benefit savings",
    "cost_per_additional_outcome_gbp": "Cost per additional job outcome",
    # monthly events
    "sanction_referral": "Referrals to a decision maker",
    "sanction_decision": "Adverse decisions",
    "sanction_start": "Sanctions starting",
    "wrong_sanction_decision": "Wrong decisions (ill health)",
    # provider ledger
    "income_attachment_gbp": "Attachment fees",
    "income_outcome_gbp": "Outcome fees",
    "income_sustainment_gbp": "Sustainment fees",
    "income_service_gbp": "Service fees (activities)",
    "cost_advisers_gbp": "Advisers",
    "cost_overhead_gbp": "Overheads",
    "cost_interviews_gbp": "Interviews",
    "cash_balance_gbp": "Cash balance",
    # calibration
    "published": "Published",
    "simulated": "Simulated",
}
"""Human label of every identifier the report shows."""

_CAPITALS = {
    "jcp": "JCP",
    "jsa": "JSA",
    "esa": "ESA",
    "ib": "IB",
    "wp": "WP",
    "nd": "ND",
    "ndyp": "NDYP",
    "fnd": "FND",
    "svltu": "SVLTU",
    "cmp": "CMP",
    "htw": "HtW",
    "mpl": "MPL",
}


def label(name: object) -> str:
    """The human label of an identifier: :data:`LABELS`, or the identifier humanised.

    Parameters
    ----------
    name : object
        An identifier (converted with ``str``); None gives ``""``.

    Returns
    -------
    str
        E.g. ``"JSA 18-24"`` for ``"jsa_18_24"``, ``"My JCP variant"`` for
        ``"my_jcp_variant"``.
    """
    if name is None:
        return ""
    key = str(name)
    if key in LABELS:
        return LABELS[key]
    words = [_CAPITALS.get(w.lower(), w) for w in re.split(r"[_\s]+", key) if w]
    if not words:
        return key
    first = words[0]
    words[0] = first if first in _CAPITALS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def labels(names: list[str]) -> list[str]:
    """:func:`label` of each name, in order."""
    return [label(n) for n in names]


def label_series(values: pl.Series, name: str | None = None) -> pl.Series:
    """The labels of a column's values, as a string series (nulls stay null).

    Parameters
    ----------
    values : polars.Series
        Identifiers.
    name : str, optional
        Name of the returned series (default: ``values.name + "_label"``).
    """
    mapping = {v: label(v) for v in values.drop_nulls().unique(maintain_order=True).to_list()}
    out = values.replace_strict(mapping, default=None, return_dtype=pl.String)
    return out.alias(name or f"{values.name}_label")
