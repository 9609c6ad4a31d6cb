"""The one Altair theme of pbrsim's reports.

Colour-blind-safe categorical colours (Okabe & Ito 2008), a sans-serif font at
sizes that stay readable when a figure is printed on A4, and a default plot width
of :data:`WIDTH` pixels, which fits an A4 page's text block. Importing this module
registers the theme as :data:`NAME`; :func:`enable` makes it the active theme and
:func:`enabled` does so only inside a ``with`` block.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt

__all__ = ["FONT", "NAME", "OKABE_ITO", "WIDTH", "config", "enable", "enabled"]

NAME = "pbrsim"
"""Name of the theme in Altair's theme registry."""

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""The Okabe-Ito palette, ordered so that the first colours contrast most on white."""

WIDTH = 500
"""Default width in pixels of a single plot area: with its axes a figure is about 580 px,
the width of an A4 page's text block at 96 dpi."""

HEIGHT = 300
"""Default height in pixels of a single plot."""

FONT = "'Liberation Sans', Arial, Helvetica, 'DejaVu Sans', sans-serif"
"""Font stack: metric-compatible with Arial, available offline on Debian."""


def config() -> dict[str, Any]:
    """Return the theme as a Vega-Lite top-level ``config`` mapping.

    Returns
    -------
    dict
        ``{"config": {...}}`` with the Okabe-Ito category range, fonts, sizes and
        the default view size.
    """
    axis = {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "gridColor": "#e4e4e4",
        "domainColor": "#666666",
        "tickColor": "#666666",
    }
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "range": {"category": list(OKABE_ITO)},
            "axis": axis,
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom"},
            "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold"},
            "line": {"strokeWidth": 2},
            "point": {"size": 40, "filled": True},
            "area": {"opacity": 0.25},
            "text": {"fontSize": 11},
        }
    }


@alt.theme.register(NAME, enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return cast(alt.theme.ThemeConfig, config())


def enable() -> None:
    """Make the pbrsim theme Altair's active theme."""
    alt.theme.enable(NAME)


def enabled() -> Any:
    """Return a context manager inside which the pbrsim theme is active.

    Returns
    -------
    altair.utils.plugin_registry.PluginEnabler
        Use as ``with enabled(): spec = chart.to_dict()``; the previous theme is
        restored on exit.
    """
    return alt.theme.enable(NAME)
