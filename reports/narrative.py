"""Short generated texts for the report's figures: numbers pulled from the tidy frames.

Every function is pure: it takes the frame a figure draws (and, where needed, the
batch's impacts) and returns plain text, never HTML. A frame without the rows a
sentence needs gives a sentence saying so rather than an error.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from reports.labels import label

__all__ = [
    "calibration_text",
    "creaming_text",
    "finances_text",
    "forest_text",
    "outcomes_text",
    "payments_text",
    "sanctions_text",
]


def _num(value: object, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, fmt)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{_num(100.0 * float(value), '.1f')}%"


def _pp(value: float | None) -> str:
    return "n/a" if value is None else _num(100.0 * float(value), "+.1f")


def _gbp(value: float | None) -> str:
    if value is None:
        return "n/a"
    v = float(value)
    return f"-£{_num(-v, ',.0f')}" if v < 0 else f"£{_num(v, ',.0f')}"


def _ci(lo: object, hi: object, fmt: object) -> str:
    if lo is None or hi is None:
        return "95% CI not available: fewer than 2 replicates"
    f = fmt if callable(fmt) else (lambda v: _num(v, str(fmt)))
    return f"95% CI {f(lo)} to {f(hi)}"


def _row(df: pl.DataFrame, **match: object) -> dict[str, Any] | None:
    sel = df
    for column, value in match.items():
        if column not in sel.columns:
            return None
        sel = sel.filter(pl.col(column).is_null() if value is None else pl.col(column) == value)
    return sel.row(0, named=True) if sel.height else None


def _scenarios(df: pl.DataFrame) -> list[str]:
    if "scenario" not in df.columns:
        return []
    return [str(s) for s in df["scenario"].unique(maintain_order=True).to_list()]


def outcomes_text(curves: pl.DataFrame, impacts: pl.DataFrame, baseline: str) -> str:
    """Describe 24-month outcome rates and the paired impact on them.

    Parameters
    ----------
    curves : polars.DataFrame
        The :func:`reports.figures.outcome_curves` frame.
    impacts : polars.DataFrame
        ``OUT/impacts.parquet``.
    baseline : str
        Name of the baseline scenario.
    """
    rates = []
    for s in _scenarios(curves):
        row = _row(curves, scenario=s, group="all", months=24)
        if row is not None:
            rates.append((label(s), _pct(row["mean"])))
    if rates:
        first, rest = rates[0], rates[1:]
        text = (
            f"Within 24 months of referral, {first[1]} of referrals under {first[0]} "
            "had a job outcome"
        )
        text += "".join(f", against {r} under {s}" for s, r in rest) + "."
    else:
        text = "No job outcome data were found."
    for s in _scenarios(impacts):
        imp = _row(impacts, scenario=s, effect="job_outcome_rate", group="all", horizon_months=24)
        if imp is None:
            continue
        text += (
            f" Under {label(s)}, 24-month outcomes were "
            f"{_num(abs(100.0 * (imp['mean'] or 0.0)), '.1f')} percentage points "
            f"{'higher' if (imp['mean'] or 0) >= 0 else 'lower'} than under {label(baseline)} "
            f"(paired, {_ci(imp['ci_low'], imp['ci_high'], _pp)})."
        )
    return text


def forest_text(impacts: pl.DataFrame) -> str:
    """Name the groups with the largest and smallest 24-month outcome impact.

    Parameters
    ----------
    impacts : polars.DataFrame
        ``OUT/impacts.parquet`` (effects as shares; reported here in percentage points).
    """
    sentences = []
    for s in _scenarios(impacts):
        rows = (
            impacts.filter(
                (pl.col("scenario") == s)
                & (pl.col("effect") == "job_outcome_rate")
                & (pl.col("horizon_months") == 24)
                & (pl.col("group") != "all")
                & pl.col("mean").is_not_null()
            )
            .with_columns(pl.col("mean", "ci_low", "ci_high") * 100.0)
            .sort("mean", "group")
        )
        if rows.height == 0:
            continue
        lo, hi = rows.row(0, named=True), rows.row(-1, named=True)
        with_ci = rows.filter(pl.col("ci_low").is_not_null())
        above = with_ci.filter(pl.col("ci_low") > 0).height
        tail = (
            f"; the interval lies above zero for {above} of {with_ci.height} groups"
            if with_ci.height
            else ""
        )
        sentences.append(
            f"Under {label(s)}, the 24-month outcome impact was largest for {label(hi['group'])} "
            f"({_num(hi['mean'], '+.1f')} pp, {_ci(hi['ci_low'], hi['ci_high'], '+.1f')}) and "
            f"smallest for {label(lo['group'])} ({_num(lo['mean'], '+.1f')} pp, "
            f"{_ci(lo['ci_low'], lo['ci_high'], '+.1f')}){tail}."
        )
    return " ".join(sentences) or "No paired impacts were found (a single scenario?)."


def creaming_text(creaming: pl.DataFrame) -> str:
    """Contrast the nearest and furthest deciles of distance from work.

    Parameters
    ----------
    creaming : polars.DataFrame
        The :func:`reports.figures.creaming_parking` frame.
    """
    sentences = []
    top = creaming["decile"].max() if creaming.height else None
    for s in _scenarios(creaming):
        m1 = _row(creaming, scenario=s, measure="adviser_minutes_per_caseload_week", decile=1)
        m10 = _row(creaming, scenario=s, measure="adviser_minutes_per_caseload_week", decile=top)
        o1 = _row(creaming, scenario=s, measure="job_outcome_rate_24m", decile=1)
        o10 = _row(creaming, scenario=s, measure="job_outcome_rate_24m", decile=top)
        minutes = ""
        if m1 and m10 and m1["mean"] is not None and m10["mean"] is not None:
            minutes = (
                f"claimants in the nearest decile received {_num(m1['mean'], '.1f')} adviser "
                f"minutes per caseload week against {_num(m10['mean'], '.1f')} in the furthest; "
            )
        if o1 and o10:
            sentences.append(
                f"Under {label(s)}, {minutes or 'no provider caseload time was recorded; '}"
                f"24-month outcome rates fell from {_pct(o1['mean'])} (nearest decile) to "
                f"{_pct(o10['mean'])} (furthest)."
            )
    return " ".join(sentences) or "No ledger rows were found."


def economics_text(frame: pl.DataFrame) -> str:
    """Spending per participant-year in the first and last contract year, and how far the
    providers' beliefs moved.

    Parameters
    ----------
    frame : polars.DataFrame
        The :func:`reports.figures.provider_economics` frame.
    """
    sentences = []
    for s in _scenarios(frame):
        part = frame.filter(pl.col("scenario") == s)
        spend = part.filter((pl.col("panel") == "spend") & (pl.col("series") == "all")).sort("x")
        if spend.height:
            first, last = spend.row(0, named=True), spend.row(-1, named=True)
            sentences.append(
                f"Under {label(s)}, providers spent {_gbp(first['mean'])} per participant-year "
                f"in contract year {first['x']} and {_gbp(last['mean'])} in year {last['x']}."
            )
        belief = part.filter(pl.col("panel") == "belief").sort("x")
        if belief.height >= 2:
            b0, b1 = float(belief["mean"][0]), float(belief["mean"][-1])
            change = 100.0 * (b1 / b0 - 1.0) if b0 else math.nan
            sentences.append(
                f"Their belief of their caseload's job-entry hazard without service went from "
                f"{_num(b0, '.2e')} to {_num(b1, '.2e')} a day ({_num(change, '+.0f')}%, with "
                f"the labour market) between contract months {belief['x'][0]} and "
                f"{belief['x'][-1]}."
            )
    return " ".join(sentences)


def finances_text(finances: pl.DataFrame) -> str:
    """Totals of provider income and costs, and the lowest aggregate cash balance.

    Parameters
    ----------
    finances : polars.DataFrame
        The :func:`reports.figures.provider_finances` frame.
    """
    sentences = []
    for s in _scenarios(finances):
        part = finances.filter(pl.col("scenario") == s)
        income = part.filter(pl.col("kind") == "income")
        total_in = float(income["mean"].sum())
        total_cost = float(part.filter(pl.col("kind") == "cost")["mean"].sum())
        shares = income.group_by("item", maintain_order=True).agg(pl.col("mean").sum())
        split = ", ".join(
            f"{label(item).lower()} {_num(100.0 * v / total_in if total_in else math.nan, '.0f')}%"
            for item, v in shares.iter_rows()
        )
        cash = part.filter(pl.col("kind") == "cash").sort("mean", "month")
        low = ""
        if cash.height:
            low = (
                f"; their combined cash balance was lowest, {_gbp(cash['mean'][0])}, "
                f"in contract month {cash['month'][0]}"
            )
        months = part["month"].n_unique()
        sentences.append(
            f"Over {months} contract months, providers under {label(s)} earned {_gbp(total_in)} "
            f"({split}) and spent {_gbp(total_cost)} (means over replicates){low}."
        )
    return " ".join(sentences) or "No scenario has providers."


def sanctions_text(sanctions: pl.DataFrame) -> str:
    """Totals of sanction referrals, adverse decisions and wrong decisions per scenario.

    Parameters
    ----------
    sanctions : polars.DataFrame
        The :func:`reports.figures.sanctions_over_time` frame.
    """
    sentences = []
    for s in _scenarios(sanctions):
        totals = dict(
            sanctions.filter(pl.col("scenario") == s)
            .group_by("event", maintain_order=True)
            .agg(pl.col("mean").sum())
            .iter_rows()
        )
        refs = totals.get("sanction_referral", 0.0)
        dec = totals.get("sanction_decision", 0.0)
        wrong = totals.get("wrong_sanction_decision", 0.0)
        share = _num(100.0 * wrong / dec, ".1f") + "%" if dec else "n/a"
        sentences.append(
            f"Under {label(s)}: {_num(refs, ',.0f')} referrals to a decision maker, "
            f"{_num(dec, ',.0f')} adverse decisions, of which {_num(wrong, ',.0f')} ({share}) "
            "wrongly rejected ill health as good reason."
        )
    if not sentences:
        return "No monthly event counts were found."
    return "Totals over the run per simulated cohort (means over replicates). " + " ".join(
        sentences
    )


def payments_text(payments: pl.DataFrame, baseline: str) -> str:
    """Payments, savings and cost per additional job outcome for all referrals.

    Parameters
    ----------
    payments : polars.DataFrame
        The :func:`reports.figures.payments_vs_savings` frame.
    baseline : str
        Name of the baseline scenario.
    """
    sentences = []
    for s in _scenarios(payments):
        pay = _row(payments, scenario=s, group="all", measure="payments_gbp")
        sav = _row(payments, scenario=s, group="all", measure="benefit_savings_gbp")
        if pay is None or sav is None:
            continue
        cost = pay["cost_per_additional_outcome"]
        net = pay.get("net_cost_per_additional_outcome")
        why = pay.get("cost_note") or "outcomes did not rise"
        per_outcome = (
            f"each additional job outcome at 24 months cost {_gbp(cost)} in additional "
            f"spending ({_gbp(net)} net of benefit savings)"
            if cost is not None
            else f"there is no cost per additional job outcome: {why.removeprefix('no ratio: ')}"
        )
        change = pay["mean"] or 0.0
        sentences.append(
            f"Under {label(s)}, the purchaser spent {_gbp(abs(change))} per referral "
            f"{'more' if change >= 0 else 'less'} than under {label(baseline)} "
            f"({_ci(pay['ci_low'], pay['ci_high'], _gbp)}) and benefit paid "
            f"{'fell' if (sav['mean'] or 0) >= 0 else 'rose'} by "
            f"{_gbp(abs(float(sav['mean'] or 0)))} per referral "
            f"(savings {_ci(sav['ci_low'], sav['ci_high'], _gbp)}); {per_outcome}."
        )
    return " ".join(sentences) or "No paired payments were found."


def check_text(check: pl.DataFrame) -> str:
    """Count held-out figures whose simulated interval meets the published tolerance.

    Parameters
    ----------
    check : polars.DataFrame
        The :func:`reports.figures.published_check` frame.
    """
    text = calibration_text(check)
    return text.replace("calibration targets", "published figures the model was not fitted to")


def calibration_text(fit: pl.DataFrame) -> str:
    """Count targets whose simulated interval meets the published range.

    Parameters
    ----------
    fit : polars.DataFrame
        The :func:`reports.figures.calibration_fit` frame.
    """
    low, high = pl.col("published_low"), pl.col("published_high")
    # one bound alone is a range open on the other side ("60% or more"); none, the point
    pub_lo = (
        pl.when(low.is_null() & high.is_not_null())
        .then(float("-inf"))
        .otherwise(pl.coalesce(low, "published"))
    )
    pub_hi = (
        pl.when(high.is_null() & low.is_not_null())
        .then(float("inf"))
        .otherwise(pl.coalesce(high, "published"))
    )
    sim_lo = pl.coalesce("simulated_low", "simulated")
    sim_hi = pl.coalesce("simulated_high", "simulated")
    ok = fit.filter((sim_lo <= pub_hi) & (sim_hi >= pub_lo))
    missed = fit.join(ok, on="target_id", how="anti")["target_id"].to_list()
    text = (
        f"For {ok.height} of {fit.height} calibration targets the simulated interval meets "
        "the published range."
    )
    if missed:
        text += " Outside: " + ", ".join(str(m) for m in missed) + "."
    return text
