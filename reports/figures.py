"""The report's figures: pure functions from a tidy polars frame to an Altair chart.

Every function here takes one tidy :class:`polars.DataFrame` (built by
:mod:`reports.data` from a batch output folder, or by hand) and returns an Altair
chart; none reads or writes a file. Each docstring lists the columns it needs.
Colours, fonts and default sizes come from :mod:`reports.theme`, which importing
this module enables.

Units: rates are shares in [0, 1] (axes show percentages); money is pounds;
months are calendar months of 365.25 / 12 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import altair as alt
import polars as pl

from calibration.report import FIT_COLUMNS
from reports import theme
from reports.labels import label, label_series, labels
from sim.estimates import NOTE_OUTCOMES_FELL, NOTE_OUTCOMES_UNCLEAR, NOTE_TOO_FEW

__all__ = [
    "CREAMING_MEASURES",
    "calibration_fit",
    "creaming_parking",
    "impact_forest",
    "outcome_curves",
    "payments_vs_savings",
    "provider_economics",
    "provider_finances",
    "sanctions_over_time",
]

theme.enable()

MINUTES = "adviser_minutes_per_caseload_week"
OUTCOME_24 = "job_outcome_rate_24m"
CREAMING_MEASURES = (MINUTES, OUTCOME_24)
"""Values of ``measure`` in :func:`creaming_parking`'s frame."""

_BAND_OPACITY = 0.25
_MONEY_AXIS = alt.Axis(format="~s", labelExpr="datum.value == 0 ? '0' : datum.label")
"""Pounds in SI units (20k, 1.5M), zero as plain 0 rather than 0k."""


def _order(df: pl.DataFrame, column: str) -> list[str]:
    """Distinct values of ``column`` in order of first appearance."""
    if df.height == 0 or column not in df.columns:
        return []
    return [str(v) for v in df[column].unique(maintain_order=True).to_list()]


def _labelled(df: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``df`` with a ``<column>_label`` column (:func:`reports.labels.label`) for each column.

    Charts encode the labels, so no identifier is drawn; the frame keeps both.
    """
    return df.with_columns(label_series(df[c]) for c in columns if c in df.columns)


def _colour(field: str, title: str, order: list[str], columns: int | None = None) -> alt.Color:
    """The colour of lines and points on a label column; its legend draws line strokes.

    ``columns`` wraps the legend (a wide legend under one panel of a row pushes the
    next panel away).
    """
    legend = (
        alt.Legend(symbolType="stroke", columns=columns)
        if columns
        else alt.Legend(symbolType="stroke")
    )
    return alt.Color(f"{field}:N", title=title, sort=order, legend=legend)


def _band_fill(field: str, order: list[str]) -> alt.Fill:
    """The fill of bands under lines: the same colours, from a scale without a legend.

    A band coloured on the lines' own colour scale would merge its (pale) symbol into
    their legend; a fill scale with the same domain order gives the same colours.
    """
    return alt.Fill(f"{field}:N", sort=order, legend=None)


def _band_stroke(field: str, order: list[str]) -> alt.Stroke:
    """The stroke of interval rules under lines and points: as :func:`_band_fill`."""
    return alt.Stroke(f"{field}:N", sort=order, legend=None)


def _check(df: pl.DataFrame, columns: Sequence[str], figure: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{figure}: the frame lacks columns {missing} (has {df.columns})")


_TOOLTIP_TITLES = {
    "scenario_label": "Scenario",
    "group_label": "Group",
    "event_label": "Event",
    "item_label": "Item",
    "measure_label": "Measure",
    "mean": "Mean",
    "ci_low": "95% CI from",
    "ci_high": "95% CI to",
}


def _tooltip(*fields: str) -> list[alt.Tooltip]:
    fmt = {"mean": ".4~g", "ci_low": ".4~g", "ci_high": ".4~g"}
    tips = []
    for f in fields:
        name = f.split(":")[0]
        title = _TOOLTIP_TITLES.get(name, name.replace("_", " ").capitalize())
        if f in fmt:
            tips.append(alt.Tooltip(f, format=fmt[f], title=title))
        else:
            tips.append(alt.Tooltip(f, title=title))
    return tips


def _zero_rule(df: pl.DataFrame, channel: str) -> alt.Chart:
    """A dashed reference rule at 0 across the whole plot (one per panel)."""
    position = alt.datum(0)
    chart = (
        alt.Chart(df)
        .transform_aggregate(n="count()")
        .mark_rule(color="#555555", strokeDash=[4, 3], strokeWidth=1)
    )
    rule = chart.encode(x=position) if channel == "x" else chart.encode(y=position)
    return cast(alt.Chart, rule)


# --------------------------------------------------------------------------- 1 outcomes


def outcome_curves(df: pl.DataFrame) -> alt.FacetChart:
    """Cumulative job outcome rate by months since referral, per payment group.

    Parameters
    ----------
    df : polars.DataFrame
        One row per ``(scenario, group, months)``:

        - ``scenario`` (str): scenario name (colour).
        - ``group`` (str): payment group or ``"all"`` (one panel each, in order of
          first appearance).
        - ``months`` (int): months since referral, 0 to 36.
        - ``mean``, ``ci_low``, ``ci_high`` (float): share of referrals with a job
          outcome within ``months`` of referral, mean over replicates and its 95%
          interval (nullable).

    Returns
    -------
    altair.FacetChart
        A line for the mean over a band for the interval, one panel per group.
    """
    _check(df, ["scenario", "group", "months", "mean", "ci_low", "ci_high"], "outcome_curves")
    scenarios = labels(_order(df, "scenario"))
    groups = labels(_order(df, "group"))
    df = _labelled(df, "scenario", "group")
    x = alt.X(
        "months:Q",
        title="Time since referral (months)",
        scale=alt.Scale(domain=[0, 36], nice=False),
        axis=alt.Axis(values=list(range(0, 37, 6))),
    )
    y_title = "Job outcomes (% of referrals)"
    base = alt.Chart(df).encode(x=x)
    band = base.mark_area(opacity=_BAND_OPACITY).encode(
        y=alt.Y("ci_low:Q", title=y_title, axis=alt.Axis(format="%")),
        y2="ci_high:Q",
        fill=_band_fill("scenario_label", scenarios),
    )
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title=y_title, axis=alt.Axis(format="%")),
        color=_colour("scenario_label", "Scenario", scenarios),
        tooltip=_tooltip(
            "scenario_label:N", "group_label:N", "months:Q", "mean", "ci_low", "ci_high"
        ),
    )
    return cast(
        alt.FacetChart,
        alt.layer(band, line)
        .properties(width=160, height=140)
        .facet(facet=alt.Facet("group_label:N", title=None, sort=groups), columns=3)
        .properties(
            title=alt.Title(
                "Cumulative job outcome rate by months since referral",
                subtitle="Lines: mean over replications; bands: 95% CI (on the logit scale)",
            )
        ),
    )


# --------------------------------------------------------------------------- 2 impacts


def impact_forest(df: pl.DataFrame) -> alt.HConcatChart:
    """Forest plot of paired impact estimates, one row per group and a panel per effect.

    Parameters
    ----------
    df : polars.DataFrame
        One row per ``(scenario, effect, group)``:

        - ``scenario`` (str): scenario compared with the baseline (colour).
        - ``effect`` (str): the effect shown (a :mod:`reports.labels` identifier, e.g.
          ``"job_outcome_rate_24m"``; one panel each, with its own x scale).
        - ``unit`` (str, optional): its unit, e.g. ``"percentage points"`` (in the
          panel's x-axis title).
        - ``group`` (str): payment group, ``"all"`` or a distance quintile (rows, in
          order of first appearance).
        - ``mean``, ``ci_low``, ``ci_high`` (float): paired impact (scenario minus
          baseline) and its 95% interval over replicates (nullable).
        - ``baseline`` (str, optional): the baseline, named in the title.

    Returns
    -------
    altair.HConcatChart
        A panel per effect: points at the mean, rules over the interval, a dashed rule
        at zero; the groups label the first panel's rows.
    """
    _check(df, ["scenario", "effect", "group", "mean", "ci_low", "ci_high"], "impact_forest")
    scenarios = labels(_order(df, "scenario"))
    groups = labels(_order(df, "group"))
    df = _labelled(df, "scenario", "group")
    rows = max(1, len(groups)) * max(1, len(scenarios))
    panels = []
    for k, effect in enumerate(_order(df, "effect") or [""]):
        part = df.filter(pl.col("effect") == effect)
        unit = _order(part, "unit")
        x_title = f"{label(effect)} ({unit[0]})" if unit else label(effect)
        y = alt.Y(
            "group_label:N",
            title=None,
            sort=groups,
            axis=alt.Axis(labelLimit=220) if k == 0 else None,
        )
        base = alt.Chart(part).encode(
            y=y,
            yOffset=alt.YOffset("scenario_label:N", sort=scenarios),
            color=_colour("scenario_label", "Scenario", scenarios),
        )
        interval = base.mark_rule(strokeWidth=2).encode(
            x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q"
        )
        point = base.mark_point(filled=True, size=45).encode(
            x=alt.X("mean:Q", title=x_title),
            tooltip=_tooltip("scenario_label:N", "group_label:N", "mean", "ci_low", "ci_high"),
        )
        panels.append(
            alt.layer(_zero_rule(part, "x"), interval, point).properties(
                width=150, height=12 * rows + 10
            )
        )
    baselines = labels(_order(df, "baseline"))
    against = f"against {' and '.join(baselines)}" if baselines else "against the baseline"
    return cast(
        alt.HConcatChart,
        alt.hconcat(*panels, spacing=14)
        .resolve_scale(x="independent", y="shared", color="shared")
        .properties(title=f"Paired impacts {against} (95% CI over replications)"),
    )


# --------------------------------------------------------------------------- 3 creaming


def _decile_panel(
    measure: str, title: str, axis_format: str, scenarios: list[str]
) -> alt.LayerChart:
    x = alt.X(
        "decile:O",
        title="Decile of distance from work (1 = nearest)",
        axis=alt.Axis(labelAngle=0),
    )
    base = alt.Chart().transform_filter(alt.datum.measure == measure).encode(x=x)
    y = alt.Y("mean:Q", title=title, axis=alt.Axis(format=axis_format))
    interval = base.mark_rule(strokeWidth=2, opacity=0.45).encode(
        y=alt.Y("ci_low:Q", title=title),
        y2="ci_high:Q",
        stroke=_band_stroke("scenario_label", scenarios),
    )
    line = base.mark_line(point=True).encode(
        y=y,
        color=_colour("scenario_label", "Scenario", scenarios),
        tooltip=_tooltip("scenario_label:N", "decile:O", "mean", "ci_low", "ci_high"),
    )
    layer = alt.layer(interval, line)
    return cast(alt.LayerChart, layer.properties(width=theme.WIDTH, height=170))


def creaming_parking(df: pl.DataFrame) -> alt.VConcatChart:
    """Adviser time and 24-month outcomes by decile of distance from work.

    Creaming and parking show as adviser minutes concentrated on the nearest
    deciles while the furthest get little contact.

    Parameters
    ----------
    df : polars.DataFrame
        One row per ``(scenario, measure, decile)``:

        - ``scenario`` (str): scenario name (colour).
        - ``measure`` (str): ``"adviser_minutes_per_caseload_week"`` (provider
          adviser minutes per week in the active caseload) or ``"job_outcome_rate_24m"``
          (share of referrals with a job outcome within 24 months).
        - ``decile`` (int): decile of the latent distance from work, 1 (nearest) to 10.
        - ``mean``, ``ci_low``, ``ci_high`` (float): mean over replicates and its 95%
          interval (nullable: no caseload time under the Jobcentre Plus regime).

    Returns
    -------
    altair.VConcatChart
        Two panels sharing the decile axis.
    """
    _check(df, ["scenario", "measure", "decile", "mean", "ci_low", "ci_high"], "creaming_parking")
    scenarios = labels(_order(df, "scenario"))
    df = _labelled(df, "scenario")
    minutes = f"{label(MINUTES)} (minutes per caseload week)"
    top = _decile_panel(MINUTES, minutes, ",.0f", scenarios)
    outcomes = f"{label(OUTCOME_24)} (% of referrals)"
    bottom = _decile_panel(OUTCOME_24, outcomes, "%", scenarios)
    return cast(
        alt.VConcatChart,
        alt.vconcat(top, bottom, data=df)
        .resolve_scale(x="shared", color="shared")
        .properties(
            title=alt.Title(
                "Creaming and parking: adviser time and outcomes by distance from work",
                subtitle="Points: mean over replications; bars: 95% CI",
            )
        ),
    )


# --------------------------------------------------------------------------- 4 finances


def _stacked(df: pl.DataFrame, kind: str, title: str) -> alt.Chart:
    x = alt.X("month:Q", title="Contract month (months since the first referrals)")
    part = df.filter(pl.col("kind") == kind)
    return cast(
        alt.Chart,
        alt.Chart(part)
        .mark_area(opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("mean:Q", title=title, stack="zero", axis=_MONEY_AXIS),
            color=alt.Color(
                "item_label:N", title=kind.capitalize(), sort=labels(_order(part, "item"))
            ),
            order=alt.Order("item_order:Q"),
            tooltip=_tooltip("month:Q", "item_label:N", "mean", "ci_low", "ci_high"),
        )
        .properties(width=theme.WIDTH, height=130),
    )


def _cash(df: pl.DataFrame) -> alt.LayerChart:
    x = alt.X("month:Q", title="Contract month (months since the first referrals)")
    title = "Cash balance (£, all providers)"
    cash = df.filter(pl.col("kind") == "cash")
    base = alt.Chart(cash).encode(x=x)
    band = base.mark_area(opacity=_BAND_OPACITY, color=theme.OKABE_ITO[0]).encode(
        y=alt.Y("ci_low:Q", title=title), y2="ci_high:Q"
    )
    line = base.mark_line(color=theme.OKABE_ITO[0]).encode(
        y=alt.Y("mean:Q", title=title, axis=_MONEY_AXIS),
        tooltip=_tooltip("month:Q", "mean", "ci_low", "ci_high"),
    )
    zero = _zero_rule(cash, "y")
    return cast(
        alt.LayerChart, alt.layer(band, line, zero).properties(width=theme.WIDTH, height=110)
    )


def provider_finances(df: pl.DataFrame) -> alt.VConcatChart:
    """Provider income by type, costs by type and cash balance by contract month.

    Parameters
    ----------
    df : polars.DataFrame
        One row per ``(scenario, kind, item, month)``, summed over providers:

        - ``scenario`` (str): scenario name (one block of panels each).
        - ``kind`` (str): ``"income"``, ``"cost"`` or ``"cash"``.
        - ``item`` (str): a provider ledger column, e.g. ``"income_outcome_gbp"``,
          ``"cost_advisers_gbp"``, ``"cash_balance_gbp"`` (shown by its label).
        - ``item_order`` (int): stacking order of ``item`` within its kind.
        - ``month`` (int): contract month, 0 = the month of the first referrals.
        - ``mean``, ``ci_low``, ``ci_high`` (float): pounds in the month (cash: at
          the month's end), mean over replicates and its 95% interval.

    Returns
    -------
    altair.VConcatChart
        For each scenario: stacked income, stacked costs and the cash balance.
    """
    cols = ["scenario", "kind", "item", "item_order", "month", "mean", "ci_low", "ci_high"]
    _check(df, cols, "provider_finances")
    df = _labelled(df, "item")
    blocks = []
    for scenario in _order(df, "scenario") or [""]:
        part = df.filter(pl.col("scenario") == scenario)
        block = alt.vconcat(
            _stacked(part, "income", "Income (£ per month)"),
            _stacked(part, "cost", "Costs (£ per month)"),
            _cash(part),
        ).resolve_scale(color="independent")
        blocks.append(block.properties(title=f"{label(scenario)}: all providers"))
    return alt.vconcat(*blocks).properties(
        title="Provider finances by contract month (means over replicates; cash with 95% CI)"
    )


def provider_economics(df: pl.DataFrame) -> alt.VConcatChart:
    """Providers' spending per participant-year by contract year and payment group, and
    their belief of their caseload's job-entry hazard by contract month.

    Parameters
    ----------
    df : polars.DataFrame
        :func:`reports.data.economics_frame`: ``scenario, panel, series, x, mean, ci_low,
        ci_high``; ``panel`` is ``"spend"`` (``series`` a payment group or ``all``, ``x``
        the contract year) or ``"belief"`` (``x`` the contract month).

    Returns
    -------
    altair.VConcatChart
        One row per scenario: spending lines by group (points with interval rules) and
        the belief path with its band.
    """
    _check(
        df, ["scenario", "panel", "series", "x", "mean", "ci_low", "ci_high"], "provider_economics"
    )
    df = _labelled(df, "series")
    rows = []
    for scenario in _order(df, "scenario") or [""]:
        part = df.filter(pl.col("scenario") == scenario)
        panels = []
        spend = part.filter(pl.col("panel") == "spend")
        if spend.height:
            order = _order(spend, "series_label")
            base = alt.Chart(spend).encode(x=alt.X("x:O", title="Contract year"))
            y_title = "Spending per participant-year (£)"
            rules = base.mark_rule().encode(
                y=alt.Y("ci_low:Q", title=y_title),
                y2="ci_high:Q",
                stroke=_band_stroke("series_label", order),
            )
            lines = base.mark_line(point=True).encode(
                y=alt.Y("mean:Q", title=y_title, axis=_MONEY_AXIS),
                color=_colour("series_label", "Payment group", order, columns=3),
                tooltip=_tooltip("series_label", "x:O", "mean", "ci_low", "ci_high"),
            )
            panels.append(alt.layer(rules, lines).properties(width=theme.WIDTH // 2, height=180))
        belief = part.filter(pl.col("panel") == "belief")
        if belief.height:
            base = alt.Chart(belief).encode(x=alt.X("x:Q", title="Contract month"))
            y_title = "Believed job-entry hazard (per day)"
            band = base.mark_area(opacity=_BAND_OPACITY, color=theme.OKABE_ITO[0]).encode(
                y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q"
            )
            line = base.mark_line(color=theme.OKABE_ITO[0]).encode(
                y=alt.Y("mean:Q", title=y_title, axis=alt.Axis(format=".2~e")),
                tooltip=_tooltip("x:Q", "mean", "ci_low", "ci_high"),
            )
            panels.append(alt.layer(band, line).properties(width=theme.WIDTH // 2, height=180))
        if panels:
            rows.append(
                alt.hconcat(*panels)
                .resolve_scale(color="independent")
                .properties(title=f"{label(scenario)}: spending and beliefs")
            )
    return alt.vconcat(*rows).properties(
        title="Provider spending per participant-year by payment group, and beliefs (means "
        "over replicates with 95% CI)"
    )


# --------------------------------------------------------------------------- 5 sanctions


def sanctions_over_time(df: pl.DataFrame) -> alt.FacetChart:
    """Sanction referrals, decisions, starts and wrong decisions by calendar month.

    Parameters
    ----------
    df : polars.DataFrame
        One row per ``(scenario, event, month_start)``:

        - ``scenario`` (str): scenario name (one panel each).
        - ``event`` (str): event name (colour, shown by its label), e.g.
          ``"sanction_decision"``.
        - ``month_start`` (str): first day of the calendar month, ``"YYYY-MM-01"``.
        - ``mean``, ``ci_low``, ``ci_high`` (float): events in the month in the
          simulated cohort, mean over replicates and its 95% interval.

    Returns
    -------
    altair.FacetChart
        Lines over interval bands, one panel per scenario.
    """
    _check(df, ["scenario", "event", "month_start", "mean", "ci_low", "ci_high"], "sanctions")
    events = labels(_order(df, "event"))
    scenarios = labels(_order(df, "scenario"))
    df = _labelled(df, "scenario", "event")
    x = alt.X("utcyearmonth(month_start):T", title="Calendar month", axis=alt.Axis(format="%Y"))
    y_title = "Events per month (count)"
    base = alt.Chart(df).encode(x=x)
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("ci_low:Q", title=y_title),
        y2="ci_high:Q",
        fill=_band_fill("event_label", events),
    )
    line = base.mark_line(strokeWidth=1.5).encode(
        y=alt.Y("mean:Q", title=y_title),
        color=alt.Color(
            "event_label:N",
            title="Event",
            sort=events,
            legend=alt.Legend(columns=2, symbolType="stroke"),
        ),
        tooltip=_tooltip(
            "scenario_label:N", "event_label:N", "month_start:N", "mean", "ci_low", "ci_high"
        ),
    )
    return cast(
        alt.FacetChart,
        alt.layer(band, line)
        .properties(width=245, height=200)
        .facet(facet=alt.Facet("scenario_label:N", title=None, sort=scenarios), columns=2)
        .properties(
            title=alt.Title(
                "Sanctions by calendar month",
                subtitle="Lines: mean over replications; bands: 95% CI (cut at zero)",
            )
        ),
    )


# --------------------------------------------------------------------------- 6 payments


_NO_RATIO = {
    NOTE_OUTCOMES_UNCLEAR: "n/a: outcome change unclear",
    NOTE_OUTCOMES_FELL: "n/a: outcomes fell",
    NOTE_TOO_FEW: "n/a: too few replications",
}
"""Short labels of the reasons :mod:`sim.estimates` gives for withholding a cost ratio."""


def _money(value: float | None, note: str | None = None) -> str:
    if value is None:
        return _NO_RATIO.get(note or "", "n/a: no extra outcomes")
    return f"£{value:,.0f}"


def _payments_block(part: pl.DataFrame, groups: list[str], measures: list[str]) -> alt.HConcatChart:
    x_title = "Per referral, paired against the baseline (£)"
    y = alt.Y("group_label:N", title=None, sort=groups, axis=alt.Axis(labelLimit=220))
    base = alt.Chart(part).encode(y=y, yOffset=alt.YOffset("measure_label:N", sort=measures))
    colour = alt.Color("measure_label:N", title=None, sort=measures)
    bars = base.mark_bar(opacity=0.9).encode(
        x=alt.X("mean:Q", title=x_title, axis=alt.Axis(format=",.0f")),
        color=colour,
        tooltip=_tooltip("group_label:N", "measure_label:N", "mean", "ci_low", "ci_high"),
    )
    interval = base.mark_rule(color="#222222").encode(x="ci_low:Q", x2="ci_high:Q")
    height = 26 * max(1, len(groups))
    left = alt.layer(_zero_rule(part, "x"), bars, interval).properties(width=330, height=height)
    labels = part.unique(["group"], keep="first", maintain_order=True)
    costs = labels["cost_per_additional_outcome"].to_list()
    notes = labels["cost_note"].to_list() if "cost_note" in labels.columns else [None] * len(costs)
    text = [_money(v, n) for v, n in zip(costs, notes, strict=True)]
    labels = labels.with_columns(label=pl.Series(text, dtype=pl.String))
    right = (
        alt.Chart(labels)
        .mark_text(align="left", fontSize=11)
        .encode(y=alt.Y("group_label:N", sort=groups, axis=None), text="label:N", x=alt.value(4))
        .properties(
            width=130,
            height=height,
            title=alt.Title(
                "Cost per additional", subtitle="job outcome (£)", fontSize=12, subtitleFontSize=12
            ),
        )
    )
    return alt.hconcat(left, right, spacing=4)


def payments_vs_savings(df: pl.DataFrame) -> alt.VConcatChart:
    """The change in purchaser spending against benefit savings per referral, by group.

    Parameters
    ----------
    df : polars.DataFrame
        One row per ``(scenario, group, measure)``:

        - ``scenario`` (str): scenario compared with the baseline (one block each).
        - ``group`` (str): payment group or ``"all"`` (rows, in order of first appearance).
        - ``measure`` (str): ``"payments_gbp"`` (the change in purchaser spending) or
          ``"benefit_savings_gbp"`` (benefit paid in the baseline minus in the scenario),
          colour, shown by their labels.
        - ``baseline`` (str, optional): the baseline, named in each block's title.
        - ``mean``, ``ci_low``, ``ci_high`` (float): pounds per referral, mean over
          replicates and its 95% interval.
        - ``cost_per_additional_outcome`` (float, nullable): the change in purchaser
          spending over the change in job outcomes at 24 months (null unless that
          change is clearly positive), and optionally ``cost_note`` (str, nullable):
          why it is null (see :mod:`sim.estimates`).

    Returns
    -------
    altair.VConcatChart
        For each scenario, grouped bars with intervals beside a column of costs per
        additional job outcome (the change in spending over the change in outcomes).
    """
    cols = ["scenario", "group", "measure", "mean", "ci_low", "ci_high"]
    _check(df, [*cols, "cost_per_additional_outcome"], "payments_vs_savings")
    groups, measures = labels(_order(df, "group")), labels(_order(df, "measure"))
    df = _labelled(df, "group", "measure")
    baselines = labels(_order(df, "baseline"))
    against = " and ".join(baselines) or "the baseline"
    blocks = [
        _payments_block(df.filter(pl.col("scenario") == s), groups, measures).properties(
            title=f"{label(s)} against {against}"
        )
        for s in _order(df, "scenario") or [""]
    ]
    return alt.vconcat(*blocks).properties(
        title="Change in purchaser spending and benefit savings per referral (95% CI)"
    )


# --------------------------------------------------------------------------- 7 calibration


def published_check(df: pl.DataFrame) -> alt.FacetChart:
    """Each held-out published figure against the simulated value (``pbrsim check``).

    Parameters
    ----------
    df : polars.DataFrame
        As :func:`calibration_fit`; the simulated interval is the 95% interval over
        replications, the published range the row's stated tolerance.

    Returns
    -------
    altair.FacetChart
    """
    return _dumbbells(df, "published_check", "Out of sample: published figures not fitted")


def calibration_fit(df: pl.DataFrame) -> alt.FacetChart:
    """Each calibration target's published value against the simulated value.

    Parameters
    ----------
    df : polars.DataFrame
        One row per target:

        - ``target_id`` (str): target identifier.
        - ``label`` (str): what the target measures, with its unit (one row of the
          figure each, with its own x scale).
        - ``published``, ``published_low``, ``published_high`` (float): the published
          value and its range (bounds nullable).
        - ``simulated``, ``simulated_low``, ``simulated_high`` (float): the simulated
          value and its interval, e.g. the posterior 5% to 95% (bounds nullable).

    Returns
    -------
    altair.FacetChart
        A dumbbell per target: published and simulated points with their ranges.
    """
    return _dumbbells(
        df, "calibration_fit", "Calibration: published targets against simulated values"
    )


def _dumbbells(df: pl.DataFrame, figure: str, title: str) -> alt.FacetChart:
    cols = list(FIT_COLUMNS)
    _check(df, cols, figure)
    long = pl.concat(
        [
            df.select(
                "target_id",
                "label",
                source=pl.lit(name),
                value=pl.col(prefix).cast(pl.Float64),
                low=pl.col(f"{prefix}_low").cast(pl.Float64),
                high=pl.col(f"{prefix}_high").cast(pl.Float64),
            )
            for prefix, name in (("published", "Published"), ("simulated", "Simulated"))
        ]
    )
    x_title = "Target value (unit in row label)"
    sources = ["Published", "Simulated"]
    base = alt.Chart(long).encode(
        y=alt.Y("source:N", title=None, axis=None, sort=sources),
        color=alt.Color("source:N", title="Source", sort=sources),
    )
    rng = base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title=x_title), x2="high:Q")
    point = base.mark_point(filled=True, size=60).encode(
        x=alt.X("value:Q", title=x_title, scale=alt.Scale(zero=False, padding=12)),
        tooltip=_tooltip("target_id:N", "label:N", "source:N", "value:Q", "low:Q", "high:Q"),
    )
    return cast(
        alt.FacetChart,
        alt.layer(rng, point)
        .properties(width=360, height=alt.Step(12))
        .facet(
            row=alt.Row(
                "label:N",
                title=None,
                sort=_order(df, "label"),
                header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=300),
            )
        )
        .resolve_scale(x="independent")
        .properties(title=title),
    )
