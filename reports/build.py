"""Build the HTML report of a batch output folder.

:func:`build_report` reads ``OUT`` (:mod:`reports.data`), draws every figure
(:mod:`reports.figures`), describes it (:mod:`reports.narrative`) and writes::

    OUT/report/report.html      # one self-contained file: renders offline
    OUT/report/<name>.png       # each figure as an image (vl-convert) ...
    OUT/report/<name>.svg
    OUT/report/<name>.csv       # ... and the tidy frame behind it

``report.html`` inlines the Vega, Vega-Lite and vega-embed JavaScript (from
vl-convert-python's bundle) and every chart's data, so it needs no network. It
also carries the run's provenance from ``OUT/manifest.json`` and a reporting
checklist in the spirit of STRESS-DES (Monks et al. 2019), filled in from the
manifest.
"""

from __future__ import annotations

import functools
import html
import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from reports import data, figures, narrative, theme
from reports.checklist import checklist_rows, provenance_rows
from reports.labels import label
from sim import store
from sim.store import Manifest

__all__ = [
    "FIGURE_NAMES",
    "Figure",
    "build_report",
    "collect_figures",
    "javascript_bundle",
    "machine_info",
    "render_html",
    "vega_lite_version",
    "warnings",
]

FIGURE_NAMES = (
    "outcome_curves",
    "impact_forest",
    "creaming_parking",
    "provider_finances",
    "provider_economics",
    "sanctions_over_time",
    "payments_vs_savings",
    "calibration_fit",
    "published_check",
)
"""Figures in report order (each is also the stem of its PNG, SVG and CSV files)."""

_LEDGER_COLUMNS = [
    "group",
    "referred_at",
    "outcome_at",
    "distance",
    "adviser_minutes",
    "caseload_days",
]


_WHY = {
    "outcome_curves": "no ledger partitions",
    "creaming_parking": "no ledger partitions",
    "impact_forest": "no impacts.parquet or only one scenario",
    "payments_vs_savings": "no impacts.parquet or only one scenario",
    "provider_finances": "no scenario has providers",
    "provider_economics": "no scenario has providers",
    "sanctions_over_time": "no monthly event tables",
    "calibration_fit": "no calibration fit; name one with calibration_fit in the batch file",
    "published_check": "no check/check.parquet; run pbrsim check FIGURES.csv --out DIR/check",
}
"""Why a figure may be left out, by name."""


@dataclass(frozen=True)
class Figure:
    """One figure of the report: its frame, chart and generated text."""

    name: str
    title: str
    frame: pl.DataFrame
    chart: alt.TopLevelMixin
    text: str


def _ledger_figures(
    out: Path, order: Sequence[str]
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The outcome curves and creaming frames, built one (scenario, replicate) at a time."""
    curves, deciles = [], []
    for run in data.ledger_runs(out, _LEDGER_COLUMNS):
        curves.append(data.outcome_curves_per_replicate(run))
        deciles.append(data.creaming_per_replicate(run))
    if not curves:
        return None, None
    return (
        data.outcome_curves_over_replicates(pl.concat(curves), order),
        data.creaming_over_replicates(pl.concat(deciles)),
    )


def collect_figures(out: Path) -> tuple[list[Figure], list[str]]:
    """Read a batch folder and return its figures and notes on figures left out.

    Parameters
    ----------
    out : Path
        Batch output folder.

    Returns
    -------
    (list of Figure, list of str)
        Figures in :data:`FIGURE_NAMES` order that have data, and one note per figure
        left out (e.g. no scenario with providers, no calibration file).
    """
    out = Path(out)
    manifest = data.read_manifest(out)
    order = data.group_order(manifest)
    # every number and every sentence names the baseline the impacts were computed against
    imp, baseline = data.impact_baseline(data.impacts(out), manifest)
    figs: list[Figure] = []
    notes: list[str] = []

    def add(
        name: str,
        title: str,
        frame: pl.DataFrame | None,
        text: Callable[[pl.DataFrame], str],
    ) -> None:
        if frame is None or frame.height == 0:
            notes.append(f"{title}: not drawn, no data in this batch ({_WHY[name]}).")
            return
        figs.append(Figure(name, title, frame, getattr(figures, name)(frame), text(frame)))

    curves, deciles = _ledger_figures(out, order)
    add(
        "outcome_curves",
        "Job outcomes by months since referral",
        curves,
        lambda f: narrative.outcomes_text(f, imp, baseline),
    )
    add(
        "impact_forest",
        "Paired impacts by group",
        data.impact_forest_frame(imp, order),
        lambda _f: narrative.forest_text(imp),
    )
    add(
        "creaming_parking",
        "Creaming and parking by distance from work",
        deciles,
        narrative.creaming_text,
    )
    add("provider_finances", "Provider finances", data.provider_frame(out), narrative.finances_text)
    add(
        "provider_economics",
        "Provider spending and beliefs",
        data.economics_frame(out),
        narrative.economics_text,
    )
    add(
        "sanctions_over_time",
        "Sanctions over time",
        data.sanctions_frame(out),
        narrative.sanctions_text,
    )
    add(
        "payments_vs_savings",
        "Spending against benefit savings",
        data.payments_frame(imp, order),
        lambda f: narrative.payments_text(f, baseline),
    )
    add(
        "calibration_fit",
        "Calibration fit",
        data.calibration_frame(out),
        narrative.calibration_text,
    )
    add(
        "published_check",
        "Out of sample: published figures the model was not fitted to",
        data.check_frame(out),
        narrative.check_text,
    )
    return figs, notes


def warnings(out: Path) -> list[str]:
    """What a reader must know before reading the figures of a batch folder.

    Fewer than 4 replications (the t multiplier of every 95% interval is then 4.3 or
    more: 12.7 with 2), and impacts computed against another baseline than the batch
    file's (an older ``pbrsim compare`` rewrote ``impacts.parquet``).

    Raises
    ------
    ValueError
        If ``OUT/manifest.json`` is not valid JSON.
    """
    manifest = data.read_manifest(out)
    found: list[str] = []
    n = manifest.replications
    if n is not None and n < 4:
        four = data.t_multiplier(4)
        if n < 2:
            found.append(
                f"Only {n} replication: no interval can be computed, so no figure shows one. "
                "Run at least 4 replications (pbrsim batch BATCH.toml --replications 4)."
            )
        else:
            found.append(
                f"Only {n} replications: every 95% interval multiplies the standard error by "
                f"the t quantile t(0.975, {n - 1}) = {data.t_multiplier(n):.1f} (with 4 "
                f"replications it is {four:.1f}), so the intervals and bands below are very "
                "wide. Run at least 4 replications (pbrsim batch BATCH.toml --replications 4) "
                "for intervals worth reading."
            )
    _, baseline = data.impact_baseline(data.impacts(out), manifest)
    named = manifest.baseline
    if named and baseline and named != baseline:
        found.append(
            f"The impacts in impacts.parquet were computed against {label(baseline)}, not "
            f"against the batch's baseline {label(named)} (an older pbrsim compare rewrote "
            f"the file): every impact below is against {label(baseline)}."
        )
    return found


# --------------------------------------------------------------------------- files


def vega_lite_version() -> str | None:
    """The vl-convert Vega-Lite version matching Altair's schema, e.g. ``"6.4"``."""
    import vl_convert as vlc

    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vlc.get_vegalite_versions() else None


_GLOBALS = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
"""Snippet of the bundle: make the libraries globals for the report's own script."""


@functools.cache
def javascript_bundle(vl_version: str | None) -> str:
    """Vega, Vega-Lite and vega-embed as one script (cached: building it takes seconds).

    The bundle defines ``vegaEmbed``, ``vega`` and ``vegaLite`` on ``window``; any
    ``</script`` inside it is escaped so that it can sit in a ``<script>`` element.
    """
    import vl_convert as vlc

    return str(vlc.javascript_bundle(_GLOBALS, vl_version=vl_version)).replace(
        "</script", "<\\/script"
    )


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    with theme.enabled():
        spec: dict[str, Any] = chart.to_dict()
    spec.pop("$schema", None)  # a URL; the report must not name any
    return spec


def write_check_figure(table: pl.DataFrame, folder: Path) -> list[Path]:
    """Write the check table's figure (:func:`reports.figures.published_check`) as SVG and PNG.

    ``table`` is :func:`calibration.check.run_check`'s; returns the files written.
    """
    import vl_convert as vlc

    frame = data.calibration_frame_of(table)
    spec = _spec(figures.published_check(frame))
    vl_version = vega_lite_version()
    svg, png = folder / "check.svg", folder / "check.png"
    svg.write_text(vlc.vegalite_to_svg(spec, vl_version=vl_version))
    png.write_bytes(vlc.vegalite_to_png(spec, vl_version=vl_version, scale=2.0))
    return [svg, png]


def _write_files(fig: Figure, spec: dict[str, Any], folder: Path, vl_version: str | None) -> None:
    import vl_convert as vlc

    (folder / f"{fig.name}.svg").write_text(vlc.vegalite_to_svg(spec, vl_version=vl_version))
    (folder / f"{fig.name}.png").write_bytes(
        vlc.vegalite_to_png(spec, vl_version=vl_version, scale=2.0)
    )
    fig.frame.write_csv(folder / f"{fig.name}.csv")


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: 'Liberation Sans', Arial, Helvetica, sans-serif; color: #222;
       max-width: 860px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; } h3 { font-size: 1.05em; }
.figure { border-top: 1px solid #ccc; padding-top: 0.5em; }
.chart { min-height: 40px; overflow-x: auto; }
.files { font-size: 0.85em; color: #555; }
table { border-collapse: collapse; font-size: 0.9em; width: 100%; }
td, th { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #f4f4f4; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
.note { color: #8a4b00; }
.warning { border: 2px solid #d55e00; background: #fff4ec; padding: 0.6em 0.9em;
           margin: 1em 0; }
@media print { .chart { overflow: visible; } .files { display: none; } }
"""

_EMBED = """
(function () {
  var specs = %s;
  var options = {actions: false, renderer: "svg"};
  var jobs = Object.keys(specs).map(function (name) {
    var el = document.getElementById("chart-" + name);
    return vegaEmbed(el, specs[name], options).then(function () {
      el.setAttribute("data-rendered", "true");
      return true;
    }).catch(function (err) {
      el.setAttribute("data-rendered", "error");
      el.textContent = "This chart could not be drawn: " + err;
      console.error("pbrsim report: chart " + name + " failed: " + err);
      return false;
    });
  });
  Promise.all(jobs).then(function (ok) {
    document.body.setAttribute("data-charts-rendered", String(ok.filter(Boolean).length));
  });
})();
"""


def _script_json(value: Any) -> str:
    """JSON safe to place inside a ``<script>`` element."""
    text = json.dumps(value, separators=(",", ":"))  # NaN and Infinity are valid JavaScript
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _figure_html(fig: Figure) -> str:
    name = html.escape(fig.name)
    links = " · ".join(f'<a href="{name}.{ext}">{ext.upper()}</a>' for ext in ("png", "svg", "csv"))
    return (
        f'<section class="figure" id="fig-{name}">\n'
        f"<h2>{html.escape(fig.title)}</h2>\n"
        f"<p>{html.escape(fig.text)}</p>\n"
        f'<div class="chart" id="chart-{name}" data-figure="{name}"></div>\n'
        f'<p class="files">Files: {links}</p>\n</section>'
    )


def _table(rows: list[tuple[str, str]], header: tuple[str, str]) -> str:
    """A two-column table; the second column is already HTML."""
    body = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    head = f"<tr><th>{html.escape(header[0])}</th><th>{html.escape(header[1])}</th></tr>"
    return f"<table>\n{head}\n{body}\n</table>"


def _checklist_html(rows: list[tuple[str, str, str]]) -> str:
    body = "\n".join(
        f"<tr><td>{html.escape(i)}</td><td>{html.escape(item)}</td><td>{content}</td></tr>"
        for i, item, content in rows
    )
    return "<table>\n<tr><th>#</th><th>Item</th><th>This run</th></tr>\n" + body + "\n</table>"


def render_html(
    manifest: Manifest,
    figs: list[Figure],
    specs: dict[str, dict[str, Any]],
    notes: list[str],
    bundle: str,
    machine: dict[str, str],
    warnings: Sequence[str] = (),
) -> str:
    """Return the report as one HTML document.

    Parameters
    ----------
    manifest : sim.store.Manifest
        ``OUT/manifest.json``, validated.
    figs : list of Figure
        Figures in report order.
    specs : dict
        Vega-Lite spec of each figure, by name.
    notes : list of str
        Figures left out and why.
    bundle : str
        The Vega, Vega-Lite and vega-embed JavaScript to inline.
    machine : dict
        Platform and CPU count of the machine building the report.
    warnings : sequence of str
        Shown in a box above the figures (see :func:`warnings`).
    """
    title = f"pbrsim report: {manifest.batch or 'batch'}"
    fields = manifest.model_dump(mode="json")
    note_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    warning_html = "".join(
        f'<div class="warning" role="alert"><strong>Warning.</strong> {html.escape(w)}</div>'
        for w in warnings
    )
    contents = "".join(
        f'<li><a href="#fig-{html.escape(f.name)}">{html.escape(f.title)}</a></li>' for f in figs
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_STYLE}</style>",
            f"<script>{bundle}</script>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(_batch_description(manifest.batch_text))}</p>",
            warning_html,
            f"<ol>{contents}<li><a href='#provenance'>Provenance</a></li>"
            "<li><a href='#checklist'>Reporting checklist</a></li></ol>",
            *[_figure_html(f) for f in figs],
            note_html,
            '<section id="provenance"><h2>Provenance</h2>',
            _table(provenance_rows(fields), ("Field", "Value")),
            "<h3>Batch file</h3>",
            f"<pre>{html.escape(manifest.batch_text or '')}</pre></section>",
            '<section id="checklist"><h2>Reporting checklist (STRESS-DES)</h2>',
            _checklist_html(checklist_rows(fields, [f.title for f in figs], machine)),
            "</section>",
            f"<script>{_EMBED % _script_json(specs)}</script>",
            "</body></html>",
            "",
        ]
    )


def machine_info() -> dict[str, str]:
    """Platform, CPU count and report software of this machine."""
    import vl_convert as vlc

    software = (
        f"altair {alt.__version__}, polars {pl.__version__}, "
        f"vl-convert-python {getattr(vlc, '__version__', 'unknown')} (Vega "
        f"{vlc.get_vega_version()}, Vega-Lite {vega_lite_version() or 'latest'}, vega-embed "
        f"{vlc.get_vega_embed_version()})"
    )
    return {
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count() or "unknown"),
        "report_software": software,
    }


def build_report(out: Path) -> Path:
    """Write ``OUT/report/report.html`` and each figure's PNG, SVG and CSV.

    Parameters
    ----------
    out : Path
        Batch output folder (see :mod:`reports.data`).

    Returns
    -------
    Path
        The path of ``report.html``.

    Raises
    ------
    ModuleNotFoundError
        If vl-convert-python is not installed (``pip install -e '.[report]'``).
    ValueError
        If ``OUT`` is not a batch output folder (no batch manifest or no ``ledger/``;
        checked before anything is written), or ``OUT/manifest.json`` or
        ``OUT/calibration_fit.*`` is malformed.
    sim.store.StoreError
        (a ValueError) naming the first result file that fails verification
        (:meth:`sim.store.BatchStore.verify`) or cannot be read; nothing is written then.
    """
    import vl_convert  # noqa: F401  (fail early, before any work, if it is missing)

    out = Path(out)
    manifest = data.read_manifest(out)
    if manifest.batch is None or not (out / "ledger").is_dir():
        raise ValueError(
            "not a batch output folder (a report needs a batch's manifest and ledger/ "
            "partitions; a single run's folder from pbrsim run has neither)"
        )
    store.BatchStore(out).verify()
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    for name in FIGURE_NAMES:  # a figure left out this time must not keep an old file
        for ext in ("png", "svg", "csv"):
            (folder / f"{name}.{ext}").unlink(missing_ok=True)
    figs, notes = collect_figures(out)
    vl_version = vega_lite_version()
    specs = {}
    for fig in figs:
        specs[fig.name] = _spec(fig.chart)
        _write_files(fig, specs[fig.name], folder, vl_version)
    bundle = javascript_bundle(vl_version)
    text = render_html(manifest, figs, specs, notes, bundle, machine_info(), warnings(out))
    path = folder / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _batch_description(batch_text: str | None) -> str:
    """The ``description`` of the batch file the manifest keeps (empty if none)."""
    import tomllib

    try:
        raw = tomllib.loads(batch_text or "")
    except tomllib.TOMLDecodeError:
        return ""
    return str(raw.get("description", ""))
