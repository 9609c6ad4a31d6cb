"""Report figures: chart specs from synthetic frames, the data layer, and a whole report.

The figure tests build small tidy frames by hand and read ``chart.to_dict()``: mark
types, encodings (fields, types, axis titles with units), the data values, and the
Okabe-Ito palette of the shared theme. The last tests run a tiny real batch and
build its report: every file is written, the HTML needs no network, every PNG has
something drawn on it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl
import pytest
from scipy import stats

from reports import data, figures, narrative, theme
from reports.labels import label
from sim.contract import DAYS_PER_MONTH
from sim.estimates import NOTE_OUTCOMES_UNCLEAR

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- spec helpers


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a Vega-Lite spec, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def marks(spec: dict[str, Any]) -> set[str]:
    found = set()
    for d in walk(spec):
        mark = d.get("mark")
        if isinstance(mark, str):
            found.add(mark)
        elif isinstance(mark, dict):
            found.add(mark["type"])
    return found


def channels(spec: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Every definition of encoding channel ``name`` in the spec."""
    return [
        d["encoding"][name]
        for d in walk(spec)
        if isinstance(d.get("encoding"), dict) and name in d["encoding"]
    ]


def fields(spec: dict[str, Any], name: str) -> set[tuple[str, str]]:
    """(field, type) pairs used on channel ``name``."""
    return {(c["field"], c.get("type", "")) for c in channels(spec, name) if "field" in c}


def rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inline data row of the spec."""
    found = [r for dataset in spec.get("datasets", {}).values() for r in dataset]
    for d in walk(spec):
        values = d.get("data", {}).get("values") if isinstance(d.get("data"), dict) else None
        if isinstance(values, list):
            found.extend(values)
    return found


def titles(spec: dict[str, Any], name: str) -> set[str]:
    return {c["title"] for c in channels(spec, name) if isinstance(c.get("title"), str)}


def assert_common(spec: dict[str, Any]) -> None:
    """The theme's palette, and a unit on every quantitative x/y axis title."""
    assert spec["config"]["range"]["category"] == list(theme.OKABE_ITO)
    for name in ("x", "y"):
        for c in channels(spec, name):
            if c.get("type") == "quantitative" and isinstance(c.get("title"), str):
                assert re.search(r"\(.+\)", c["title"]), f"no unit in {name} title {c['title']!r}"


def assert_lines_over_bands(spec: dict[str, Any]) -> None:
    """Bands come before lines (drawn under them) and add no legend; lines have one."""
    layers = next(d["layer"] for d in walk(spec) if "layer" in d)
    kinds = [layer["mark"]["type"] for layer in layers]
    assert kinds == ["area", "line"], kinds
    band, line = (layer["encoding"] for layer in layers)
    assert "color" not in band and band["fill"]["legend"] is None
    assert line["color"]["legend"]["symbolType"] == "stroke"


def test_theme_is_registered_and_okabe_ito() -> None:
    assert theme.NAME in alt.theme.names()
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert set(theme.OKABE_ITO) == okabe_ito | {"#000000"}
    cfg = theme.config()["config"]
    assert cfg["view"]["continuousWidth"] <= 600
    assert "sans-serif" in cfg["font"]


# --------------------------------------------------------------------------- synthetic frames


def stats_cols(mean: list[float], half: float = 0.01) -> dict[str, list[Any]]:
    return {
        "n_replicates": [3] * len(mean),
        "mean": mean,
        "ci_low": [m - half for m in mean],
        "ci_high": [m + half for m in mean],
    }


def curves_frame() -> pl.DataFrame:
    keys = [(s, g, m) for s in ("wp", "jcp") for g in ("all", "g1") for m in range(37)]
    mean = [min(0.5, m / 60) * (1.1 if s == "wp" else 1.0) for s, _, m in keys]
    return pl.DataFrame(
        {
            "scenario": [k[0] for k in keys],
            "group": [k[1] for k in keys],
            "months": [k[2] for k in keys],
            **stats_cols(mean),
        }
    )


def test_outcome_curves() -> None:
    df = curves_frame()
    spec = figures.outcome_curves(df).to_dict()
    assert_common(spec)
    assert marks(spec) == {"area", "line"}
    assert spec["facet"]["field"] == "group_label"
    assert ("months", "quantitative") in fields(spec, "x")
    assert ("mean", "quantitative") in fields(spec, "y")
    assert ("ci_low", "quantitative") in fields(spec, "y")
    assert {c["field"] for c in channels(spec, "y2")} == {"ci_high"}
    assert fields(spec, "color") == {("scenario_label", "nominal")}
    assert_lines_over_bands(spec)
    assert titles(spec, "x") == {"Time since referral (months)"}
    assert all("%" in t for t in titles(spec, "y"))
    got = {(r["scenario"], r["group"], r["months"]): r["mean"] for r in rows(spec)}
    assert got[("wp", "g1", 24)] == pytest.approx(0.44)
    assert len(got) == df.height


def test_impact_forest() -> None:
    df = pl.DataFrame(
        {
            "scenario": ["wp"] * 4,
            "baseline": ["jcp_offer"] * 4,
            "effect": ["job_outcome_rate_24m"] * 2 + ["days_in_work"] * 2,
            "unit": ["percentage points"] * 2 + ["days per referral"] * 2,
            "group": ["all", "g1"] * 2,
            **stats_cols([2.5, -1.0, 15.0, 7.0], half=1.0),
        }
    )
    spec = figures.impact_forest(df).to_dict()
    assert_common(spec)
    assert marks(spec) == {"rule", "point"}
    assert len(spec["hconcat"]) == 2  # a panel per effect, each with its own x title
    assert spec["resolve"]["scale"]["x"] == "independent"
    assert titles(spec, "x") == {
        "Job outcome rate at 24 months (percentage points)",
        "Days in work (days per referral)",
    }
    assert "against Jobcentre Plus offer" in spec["title"]
    assert ("mean", "quantitative") in fields(spec, "x")
    assert {c["field"] for c in channels(spec, "x2")} == {"ci_high"}
    assert ("group_label", "nominal") in fields(spec, "y")
    assert ("scenario_label", "nominal") in fields(spec, "yOffset")
    assert any(c.get("datum") == 0 for c in channels(spec, "x")), "no zero reference rule"
    assert {r["mean"] for r in rows(spec)} == {2.5, -1.0, 15.0, 7.0}


def creaming_frame() -> pl.DataFrame:
    keys = [
        (s, m, d) for s in ("wp", "jcp") for m in figures.CREAMING_MEASURES for d in range(1, 11)
    ]
    mean = [
        (None if s == "jcp" else 20.0 - d) if m == figures.MINUTES else 0.9 - 0.08 * d
        for s, m, d in keys
    ]
    return pl.DataFrame(
        {
            "scenario": [k[0] for k in keys],
            "measure": [k[1] for k in keys],
            "decile": [k[2] for k in keys],
            "n_replicates": [3] * len(keys),
            "mean": mean,
            "ci_low": [None if v is None else v - 0.5 for v in mean],
            "ci_high": [None if v is None else v + 0.5 for v in mean],
        }
    )


def test_creaming_parking() -> None:
    spec = figures.creaming_parking(creaming_frame()).to_dict()
    assert_common(spec)
    assert len(spec["vconcat"]) == 2
    assert marks(spec) == {"rule", "line"}
    assert spec["resolve"]["scale"]["x"] == "shared"
    assert fields(spec, "x") == {("decile", "ordinal")}
    filters = {d["filter"] for d in walk(spec) if isinstance(d.get("filter"), str)}
    assert len(filters) == 2 and all("measure" in f for f in filters)
    y = titles(spec, "y")
    assert any("minutes per caseload week" in t for t in y)
    assert any("% of referrals" in t for t in y)
    values = rows(spec)
    assert {r["decile"] for r in values} == set(range(1, 11))
    assert any(r["mean"] is None for r in values)  # no caseload time under jcp


def finances_frame(scenarios: tuple[str, ...] = ("wp",)) -> pl.DataFrame:
    items = list(data.FINANCE_ITEMS.items())
    keys = [(s, i, m) for s in scenarios for i in range(len(items)) for m in range(12)]
    return pl.DataFrame(
        {
            "scenario": [k[0] for k in keys],
            "kind": [items[k[1]][1] for k in keys],
            "item": [items[k[1]][0] for k in keys],
            "item_order": [k[1] for k in keys],
            "month": [k[2] for k in keys],
            **stats_cols([1000.0 * (k[1] + 1) + k[2] for k in keys], half=50.0),
        }
    )


def test_provider_finances() -> None:
    spec = figures.provider_finances(finances_frame(("wp", "wp2"))).to_dict()
    assert_common(spec)
    assert len(spec["vconcat"]) == 2  # one block per scenario
    assert marks(spec) == {"area", "line", "rule"}
    assert ("month", "quantitative") in fields(spec, "x")
    y = titles(spec, "y")
    assert {"Income (£ per month)", "Costs (£ per month)"} <= y
    assert any(t.startswith("Cash balance (£") for t in y)
    assert any(c.get("stack") == "zero" for c in channels(spec, "y"))
    assert ("item_label", "nominal") in fields(spec, "color")
    items = {r["item_label"] for r in rows(spec)}
    assert {"Outcome fees", "Advisers", "Cash balance"} <= items


def test_provider_finances_empty_frame_draws_nothing_but_works() -> None:
    spec = figures.provider_finances(finances_frame().head(0)).to_dict()
    assert marks(spec) == {"area", "line", "rule"}


def test_sanctions_over_time() -> None:
    months = [f"2012-{m:02d}-01" for m in range(1, 13)]
    events = list(data.SANCTION_EVENTS)
    keys = [(s, e, m) for s in ("wp", "jcp") for e in events for m in months]
    df = pl.DataFrame(
        {
            "scenario": [k[0] for k in keys],
            "event": [k[1] for k in keys],
            "month_start": [k[2] for k in keys],
            "month": [months.index(k[2]) for k in keys],
            **stats_cols([float(10 * (events.index(k[1]) + 1)) for k in keys], half=2.0),
        }
    )
    spec = figures.sanctions_over_time(df).to_dict()
    assert_common(spec)
    assert marks(spec) == {"area", "line"}
    assert spec["facet"]["field"] == "scenario_label"
    xs = channels(spec, "x")
    assert all(c["type"] == "temporal" and c["timeUnit"] == "utcyearmonth" for c in xs)
    assert fields(spec, "color") == {("event_label", "nominal")}
    assert titles(spec, "y") == {"Events per month (count)"}
    assert {r["event"] for r in rows(spec)} == set(events)
    assert {r["event_label"] for r in rows(spec)} == {label(e) for e in events}
    assert_lines_over_bands(spec)


def payments_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "scenario": ["wp"] * 4,
            "baseline": ["jcp"] * 4,
            "group": ["all", "all", "g7", "g7"],
            "measure": ["payments_gbp", "benefit_savings_gbp"] * 2,
            **stats_cols([1800.0, -30.0, 950.0, 75.0], half=40.0),
            "cost_per_additional_outcome": [81_690.0, 81_690.0, None, None],
            "net_cost_per_additional_outcome": [82_000.0, 82_000.0, None, None],
        }
    )


def test_payments_vs_savings() -> None:
    spec = figures.payments_vs_savings(payments_frame()).to_dict()
    assert_common(spec)
    assert marks(spec) == {"bar", "rule", "text"}
    assert ("mean", "quantitative") in fields(spec, "x")
    assert ("group_label", "nominal") in fields(spec, "y")
    assert ("measure_label", "nominal") in fields(spec, "color")
    assert {r["measure_label"] for r in rows(spec)} == {
        "Change in purchaser spending",
        "Benefit savings",
    }
    assert ("label", "nominal") in fields(spec, "text")
    assert titles(spec, "x") == {"Per referral, paired against the baseline (£)"}
    labels = {r.get("label") for r in rows(spec)}
    assert {"£81,690", "n/a: no extra outcomes"} <= labels
    assert {1800.0, -30.0} <= {r["mean"] for r in rows(spec)}


def calibration_synthetic() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "target_id": ["WP15", "SA11"],
            "label": ["Attachment rate (% of referrals)", "Referral-to-sanction conversion (%)"],
            "published": [95.0, 70.0],
            "published_low": [94.0, 60.0],
            "published_high": [98.0, 80.0],
            "simulated": [96.1, 52.0],
            "simulated_low": [95.5, 50.0],
            "simulated_high": [96.7, None],
        }
    )


def test_calibration_fit() -> None:
    spec = figures.calibration_fit(calibration_synthetic()).to_dict()
    assert_common(spec)
    assert marks(spec) == {"rule", "point"}
    assert spec["facet"]["row"]["field"] == "label"
    assert spec["resolve"]["scale"]["x"] == "independent"
    assert ("value", "quantitative") in fields(spec, "x")
    assert fields(spec, "color") == {("source", "nominal")}
    by = {(r["target_id"], r["source"]): r for r in rows(spec)}
    assert by[("WP15", "Published")]["value"] == 95.0
    assert by[("SA11", "Simulated")]["high"] is None
    assert by[("SA11", "Simulated")]["value"] == 52.0


def test_figures_reject_a_frame_without_their_columns() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        figures.outcome_curves(curves_frame().drop("months"))


# --------------------------------------------------------------------------- data layer


def test_over_replicates_is_a_t_interval() -> None:
    df = pl.DataFrame(
        {"k": ["a", "a", "a", "b"], "replicate": [0, 1, 2, 0], "value": [1.0, 2.0, 3.0, 5.0]}
    )
    got = data.over_replicates(df, ["k"])
    a, b = got.row(0, named=True), got.row(1, named=True)
    half = stats.t.ppf(0.975, 2) / math.sqrt(3)
    assert a["mean"] == 2.0 and a["sd"] == 1.0 and a["n_replicates"] == 3
    assert a["ci_low"] == pytest.approx(2.0 - half) and a["ci_high"] == pytest.approx(2.0 + half)
    assert b["n_replicates"] == 1 and b["ci_low"] is None and b["sd"] is None


def synthetic_ledger() -> pl.DataFrame:
    """Two replicates; group g2 has no outcomes; one outcome exactly at 24 months."""
    n = 20
    ids = np.arange(n)
    outcome = np.where(ids < 10, ids * DAYS_PER_MONTH * 3.0, np.nan)
    outcome[1] = 24 * DAYS_PER_MONTH  # exactly the 24-month boundary
    ledger = pl.DataFrame(
        {
            "claimant_id": ids,
            "group": np.where(ids < 10, "g1", "g2"),
            "referred_at": np.zeros(n),
            "outcome_at": outcome,
            "distance": ids / 10.0,
            "adviser_minutes": np.where(ids < 5, 100.0, 0.0),
            "caseload_days": np.full(n, 70.0),
        }
    ).with_columns(pl.col("outcome_at").fill_nan(None))
    return pl.concat(
        [ledger.with_columns(scenario=pl.lit("s"), replicate=pl.lit(r)) for r in (0, 1)]
    ).select("scenario", "replicate", pl.exclude("scenario", "replicate"))


def test_outcome_curves_frame_counts_the_boundary_and_empty_groups() -> None:
    curves = data.outcome_curves_frame(synthetic_ledger(), ["all", "g1", "g2"])
    assert curves["group"].unique(maintain_order=True).to_list() == ["all", "g1", "g2"]
    at = {(g, m): v for g, m, v in curves.select("group", "months", "mean").iter_rows()}
    # g1 outcomes at months 0, 6, 9, ..., 27 (ids 0, 2..9) and 24 (id 1): two on the boundary
    assert at[("g1", 23)] == pytest.approx(7 / 10)
    assert at[("g1", 24)] == pytest.approx(9 / 10)
    assert at[("g1", 36)] == pytest.approx(1.0)
    assert at[("g2", 36)] == 0.0
    assert at[("all", 24)] == pytest.approx(9 / 20)
    assert curves["sd"].max() == 0.0  # identical replicates
    assert curves.height == 3 * 37


def test_creaming_frame_deciles() -> None:
    got = data.creaming_frame(synthetic_ledger())
    minutes = got.filter(pl.col("measure") == figures.MINUTES).sort("decile")
    assert minutes["decile"].to_list() == list(range(1, 11))
    # deciles 1-3 hold ids 0-5: ids 0-4 have 100 minutes over 10 weeks each
    assert minutes["mean"].to_list()[:3] == pytest.approx([10.0, 10.0, 5.0])
    outcomes = got.filter(pl.col("measure") == figures.OUTCOME_24).sort("decile")
    assert outcomes["mean"].to_list()[-1] == 0.0


def test_narratives_survive_missing_rows() -> None:
    empty = pl.DataFrame()
    assert "No" in narrative.forest_text(data.impacts(Path("/nonexistent")))
    assert narrative.sanctions_text(empty).startswith("No")
    assert narrative.finances_text(empty).startswith("No")
    text = narrative.payments_text(payments_frame().filter(pl.col("group") == "all"), "jcp")
    assert "Under WP, the purchaser spent £1,800 per referral more than under JCP" in text
    assert "rose by £30" in text and "£81,690 in additional spending" in text
    no_gain = payments_frame().with_columns(
        pl.lit(None, dtype=pl.Float64).alias("cost_per_additional_outcome"),
        cost_note=pl.lit(NOTE_OUTCOMES_UNCLEAR),
    )
    text = narrative.payments_text(no_gain, "jcp")
    assert "no cost per additional job outcome" in text and "includes zero" in text
    fit = narrative.calibration_text(calibration_synthetic())
    assert fit.startswith("For 1 of 2") and "SA11" in fit


@pytest.mark.parametrize(
    ("low", "high", "meets"),
    [
        (60.0, None, True),  # "60% or more" (WP45): open above, so 65-86 meets it
        (None, 62.0, False),  # "62% or less": open below, 65-86 does not
        (None, 70.0, True),
        (None, None, False),  # no range: the point, 60, outside 65-86
        (50.0, 64.0, False),
    ],
)
def test_a_range_with_one_bound_is_open_on_the_other_side(
    low: float | None, high: float | None, meets: bool
) -> None:
    row = {
        "target_id": ["WP45"],
        "label": ["outcome achievers with 5+ sustainment payments"],
        "published": [60.0],
        "published_low": [low],
        "published_high": [high],
        "simulated": [73.2],
        "simulated_low": [65.6],
        "simulated_high": [86.3],
    }
    text = narrative.calibration_text(pl.DataFrame(row, schema=data.CALIBRATION_COLUMNS))
    assert text.startswith("For 1 of 1" if meets else "For 0 of 1"), text


# --------------------------------------------------------------------------- a real batch


def run_tiny_batch(tmp: Path) -> Path:
    """Run 2 scenarios x 2 replications of 800 claimants into ``tmp/out``."""
    from sim.batch import run_batch
    from sim.batch_spec import load_batch

    spec = {
        "name": "tiny",
        "description": "tiny report test batch",
        "scenarios": [
            str(ROOT / "scenarios/work_programme.toml"),
            str(ROOT / "scenarios/jcp_offer.toml"),
        ],
        "baseline": "jcp_offer",
        "replications": 2,
        "claimants": 800,
        "seed": 11,
        "claimants_per_task": 800,
    }
    path = tmp / "tiny.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items()))
    out = tmp / "out"
    report = run_batch(load_batch(path), out, workers=1)
    assert not report.failed
    return out


def png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit, non-interlaced PNG into a (height, width, channels) array."""
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(blob):
        (size,) = struct.unpack(">I", blob[pos : pos + 4])
        kind, body = blob[pos + 4 : pos + 8], blob[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * bpp + 1)
    out = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = np.zeros(width * bpp, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: running sum per channel, modulo 256
            row = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up
            row = line + prev
        else:  # Average or Paeth: byte by byte
            row = np.zeros_like(line)
            for i in range(len(line)):
                a = int(row[i - bpp]) if i >= bpp else 0
                b, c = int(prev[i]), int(prev[i - bpp]) if i >= bpp else 0
                if kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (int(line[i]) + pred) % 256
        out[y], prev = row, row
    return out.reshape(height, width, bpp)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("vl_convert", reason="pip install -e '.[report]'")
    from reports.build import build_report

    out = run_tiny_batch(tmp_path_factory.mktemp("report"))
    calibration_synthetic().write_parquet(out / "calibration_fit.parquet")
    (out / "check").mkdir()
    calibration_synthetic().write_parquet(out / "check" / "check.parquet")
    path = build_report(out)
    assert path == out / "report" / "report.html"
    return out


def test_report_html_is_self_contained(built: Path) -> None:
    from reports.build import FIGURE_NAMES

    text = (built / "report" / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    assert not re.search(r"cdn\.jsdelivr|unpkg\.com|cdnjs", text)
    assert "window.vegaEmbed=" in text and "window.vega=" in text
    assert len(text) > 500_000  # the libraries are inlined
    containers = re.findall(r'<div class="chart" id="chart-([a-z_]+)"', text)
    assert containers == list(FIGURE_NAMES)  # all: the calibration and check files exist
    assert "STRESS-DES" in text and "Root seed" in text
    assert "population.groups.jsa_18_24.share" in text  # the [sources] table
    assert "Under Work Programme, 24-month outcomes were" in text
    assert "than under Jobcentre Plus offer" in text


def test_report_files_for_every_figure(built: Path) -> None:
    from reports.build import FIGURE_NAMES, collect_figures

    folder = built / "report"
    frames = {f.name: f.frame for f in collect_figures(built)[0]}
    assert set(frames) == set(FIGURE_NAMES)
    for name in FIGURE_NAMES:
        pixels = png_pixels(folder / f"{name}.png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert pixels[..., :3].astype(float).var() > 0, f"{name}.png is blank"
        rgb = pixels[..., :3].astype(np.uint32)
        colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
        assert len(colours) > 8, f"{name}.png has {len(colours)} colours"
        assert "<svg" in (folder / f"{name}.svg").read_text()[:500]
        csv = pl.read_csv(folder / f"{name}.csv")
        assert csv.columns == frames[name].columns
        assert csv.height == frames[name].height


def test_curves_agree_with_the_batch_summary(built: Path) -> None:
    curves = pl.read_csv(built / "report" / "outcome_curves.csv")
    summary = pl.read_parquet(built / "summary.parquet").filter(
        (pl.col("metric") == "job_outcome_rate") & pl.col("horizon_months").is_in([12, 24])
    )
    for s, g, h, mean in summary.select("scenario", "group", "horizon_months", "mean").iter_rows():
        if g.startswith("signal_q"):
            continue
        row = curves.filter(
            (pl.col("scenario") == s) & (pl.col("group") == g) & (pl.col("months") == h)
        )
        assert row["mean"][0] == pytest.approx(mean, abs=1e-12), (s, g, h)


def test_figures_left_out_when_a_batch_lacks_their_data(built: Path, tmp_path: Path) -> None:
    from reports.build import collect_figures

    bare = tmp_path / "bare"
    shutil.copytree(built, bare, ignore=shutil.ignore_patterns("report", "providers"))
    for name in ("impacts.parquet", "calibration_fit.parquet", "check/check.parquet"):
        (bare / name).unlink()
    figs, notes = collect_figures(bare)
    assert [f.name for f in figs] == ["outcome_curves", "creaming_parking", "sanctions_over_time"]
    assert len(notes) == 6 and any("providers" in n for n in notes)


def test_checklist_escapes_and_lists_differences() -> None:
    from reports.checklist import checklist_rows, provenance_rows, scenario_differences

    base = {"regime": "jcp", "run": {"start_month": "2011-06"}, "sources": {"a.b": "src <1>"}}
    other = {**base, "regime": "programme", "description": "<script>x</script>"}
    manifest = {
        "batch": "b<i>",
        "baseline": "jcp",
        "seed": 5,
        "scenarios": {"wp": {"resolved": other}, "jcp": {"resolved": base}},
    }
    assert scenario_differences(other, base) == [("regime", "programme", "jcp")]
    cells = " ".join(c for *_, c in checklist_rows(manifest, ["Fig"], {"platform": "p"}))
    cells += " ".join(c for _, c in provenance_rows(manifest))
    assert "<script>" not in cells and "&lt;script&gt;" in cells
    assert "b&lt;i&gt;" in cells and "src &lt;1&gt;" in cells
    assert "differs from the baseline jcp in 1 parameter:" in cells


def test_calibration_frame_reads_the_calibration_fit_file(tmp_path: Path) -> None:
    assert data.calibration_frame(tmp_path) is None
    fit = calibration_synthetic().with_columns(
        label=pl.lit("Attachment rate"), unit=pl.lit("%"), simulated_low=pl.lit(math.nan)
    )
    (tmp_path / "calibration").mkdir()
    fit.write_csv(tmp_path / "calibration" / "fit.csv")
    got = data.calibration_frame(tmp_path)
    assert got is not None and got.columns == list(data.CALIBRATION_COLUMNS)
    assert got["label"].to_list() == ["Attachment rate (%)"] * 2
    assert got["simulated_low"].null_count() == 2
    assert got["target_id"].to_list() == ["SA11", "WP15"]
    fit.drop("published").write_parquet(tmp_path / "calibration_fit.parquet")
    with pytest.raises(ValueError, match="lacks columns"):
        data.calibration_frame(tmp_path)


def test_the_report_reads_a_check_beside_the_batch(tmp_path: Path) -> None:
    """``pbrsim check ... --out DIR/check`` leaves a table the report draws as
    published_check (the same columns as the calibration fit)."""
    assert data.check_frame(tmp_path) is None
    check = calibration_synthetic().with_columns(label=pl.lit("Held out"), unit=pl.lit("%"))
    (tmp_path / "check").mkdir()
    check.write_parquet(tmp_path / "check" / "check.parquet")
    got = data.check_frame(tmp_path)
    assert got is not None and got.columns == list(data.CALIBRATION_COLUMNS)
    chart = figures.published_check(got)
    assert chart.to_dict()["title"] == "Out of sample: published figures not fitted"
    assert "published figures the model was not fitted to" in narrative.check_text(got)


# --------------------------------------------------------------------------- fit to publish


def test_rate_intervals_stay_inside_0_and_1() -> None:
    """With 2 replications the t interval of a rate can reach -50%; the logit one cannot."""
    df = pl.DataFrame(
        {
            "k": ["a", "a", "b", "b", "c", "c"],
            "replicate": [0, 1] * 3,
            "value": [0.01, 0.2, 0.0, 0.0, 0.95, 0.999],
            "n": [100] * 6,
        }
    )
    plain = data.over_replicates(df, ["k"])
    assert plain["ci_low"][0] < -0.5 and plain["ci_high"][2] > 1.0  # the old bands
    got = data.over_replicates(df, ["k"], bound="rate")
    assert got.select("k", "n_replicates", "mean", "sd").equals(
        plain.select("k", "n_replicates", "mean", "sd")
    )
    for row in got.iter_rows(named=True):
        assert 0.0 <= row["ci_low"] <= row["mean"] <= row["ci_high"] <= 1.0, row
    # closed form for "a": a t interval (1 df) on the empirical logits, transformed back
    k = np.array([1.0, 20.0])
    logits = np.log((k + 0.5) / (100 - k + 0.5))
    half = stats.t.ppf(0.975, 1) * logits.std(ddof=1) / math.sqrt(2)
    lo, hi = (1 / (1 + np.exp(-(logits.mean() + s * half))) for s in (-1, 1))
    assert got["ci_low"][0] == pytest.approx(min(lo, 0.105), rel=1e-12)
    assert got["ci_high"][0] == pytest.approx(hi, rel=1e-12)
    # replicates that agree: the interval is the mean itself, zero included
    assert (got["ci_low"][1], got["ci_high"][1]) == (0.0, 0.0)
    with pytest.raises(ValueError, match="column n"):
        data.over_replicates(df.drop("n"), ["k"], bound="rate")
    counts = data.over_replicates(df.drop("n"), ["k"], bound="nonnegative")
    assert counts["ci_low"][0] == 0.0 and counts["ci_high"][0] == plain["ci_high"][0]


def test_t_multiplier() -> None:
    assert data.t_multiplier(2) == pytest.approx(12.706, abs=1e-3)
    assert data.t_multiplier(4) == pytest.approx(stats.t.ppf(0.975, 3), rel=1e-12)
    assert math.isnan(data.t_multiplier(1))


def test_labels_come_from_one_map() -> None:
    from reports.labels import LABELS

    assert label("distance_q2") == LABELS["distance_q2"] == "Distance quintile 2"
    assert label("new_claim_less_severe") == "New claims, less severe conditions"
    assert label("my_jcp_variant") == "My JCP variant"  # unknown: humanised
    assert label("esa_rerun_2") == "ESA rerun 2"
    # every shipped scenario and payment group has a label of its own
    from sim.scenario import load_scenario

    for path in sorted((ROOT / "scenarios").rglob("*.toml")):
        sc = load_scenario(path)
        assert sc.name in LABELS, sc.name
        assert set(sc.population.groups) <= set(LABELS), path


SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
"""A snake_case identifier, e.g. new_claim_less_severe or distance_q2."""


def svg_text(path: Path) -> str:
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text()))


def test_the_figures_and_their_text_show_no_raw_identifiers(built: Path) -> None:
    from reports.build import FIGURE_NAMES

    page = (built / "report" / "report.html").read_text()
    shown = []
    for name in FIGURE_NAMES:
        start = page.index(f'<section class="figure" id="fig-{name}">')
        section = page[start : page.index("</section>", start)]
        shown.append(re.sub(r"<[^>]+>", " ", section.split('<div class="chart"')[0]))
        shown.append(svg_text(built / "report" / f"{name}.svg"))
    text = " ".join(shown)
    assert "All referrals" in text and "Distance quintile 1 (nearest work)" in text
    assert not SNAKE.findall(text), sorted(set(SNAKE.findall(text)))
    assert "unit above" not in page and "CALIBRATION_FILES" not in page


def test_a_report_of_two_replications_warns_with_the_t_multiplier(built: Path) -> None:
    page = (built / "report" / "report.html").read_text()
    box = page[page.index('<div class="warning"') :]
    box = box[: box.index("</div>")]
    assert "Only 2 replications" in box and "t(0.975, 1) = 12.7" in box and "3.2" in box
    assert page.index('<div class="warning"') < page.index('<section class="figure"')


def test_warnings_by_replications(tmp_path: Path) -> None:
    from reports.build import warnings

    for n, expected in ((1, "no interval"), (3, "= 4.3"), (4, None), (20, None)):
        (tmp_path / "manifest.json").write_text(json.dumps({"batch": "b", "replications": n}))
        found = warnings(tmp_path)
        if expected is None:
            assert found == [], n
        else:
            assert len(found) == 1 and expected in found[0], (n, found)


def test_bands_in_a_real_report_respect_their_bounds(built: Path) -> None:
    curves = pl.read_csv(built / "report" / "outcome_curves.csv")
    assert curves["ci_low"].min() >= 0.0 and curves["ci_high"].max() <= 1.0  # type: ignore[operator]
    creaming = pl.read_csv(built / "report" / "creaming_parking.csv")
    rates = creaming.filter(pl.col("measure") == figures.OUTCOME_24)
    assert rates["ci_low"].min() >= 0.0 and rates["ci_high"].max() <= 1.0  # type: ignore[operator]
    assert creaming["ci_low"].drop_nulls().min() >= 0.0  # type: ignore[operator]
    sanctions = pl.read_csv(built / "report" / "sanctions_over_time.csv")
    assert sanctions["ci_low"].min() >= 0.0  # type: ignore[operator]


def test_the_report_names_the_baseline_its_impacts_were_computed_against(
    built: Path, tmp_path: Path
) -> None:
    """A folder whose impacts.parquet an older pbrsim compare rewrote with another baseline."""
    from reports.build import collect_figures, warnings
    from sim.estimates import compare

    out = tmp_path / "out"
    shutil.copytree(built, out, ignore=shutil.ignore_patterns("report"))
    other = compare(out, "work_programme")
    other.write_parquet(out / "impacts.parquet")
    figs, _ = collect_figures(out)
    by_name = {f.name: f for f in figs}
    forest = by_name["impact_forest"]
    assert set(forest.frame["baseline"]) == {"work_programme"}
    assert "against Work Programme" in forest.chart.to_dict()["title"]
    assert "than under Work Programme" in by_name["outcome_curves"].text
    assert "than under Jobcentre Plus offer" not in by_name["outcome_curves"].text
    assert "less than under Work Programme" in by_name["payments_vs_savings"].text
    found = warnings(out)
    assert any("computed against Work Programme, not against" in w for w in found)
