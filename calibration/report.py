"""Fit report frames and files, and the calibrated scenario files.

Files written into the calibration output folder:

``fit.parquet`` / ``fit.csv``
    One row per target: ``target_id, label, published, published_low,
    published_high, simulated, simulated_low, simulated_high`` (in the target's
    unit) then unit, measure, population, scenario, weight, sd, error (the
    standardised error) and abs_error (distance from the simulated value to the
    published value or range, in the target's unit: percentage points for
    percent).
``parameters.csv``
    Per parameter: bounds, start, the estimate with its 90% (Laplace) interval
    and ``estimate_width`` (that interval's share of the prior range, in the unit
    cube), the posterior mean, median, sd and 90% interval, and
    ``posterior_width`` (likewise).
``posterior.parquet``
    The ABC particles of every generation (``final`` marks the posterior).
``correlations.csv``
    Correlation matrices in the unit cube, stacked by ``source``: ``abc`` (the
    posterior) and ``laplace`` (at the estimate).
``history.csv``
    Objective of every evaluation in order, with its stage and generation (the wave,
    for history matching).
``waves.csv`` (history matching)
    Per wave: runs, the NROY share of the prior, NROY candidates held, the largest mean
    emulator sd as a share of the target's other sd, and any note.
``sensitivity.csv`` (history matching)
    Per fitted target and parameter: the mean absolute change of the emulator mean across
    the parameter's prior range over the NROY space (``gradient``, in the target's unit;
    ``standardised``, in target sds) and its ``share`` of the target's total.
``fit_report.md``
    A short summary of all of it.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from calibration.abc import AbcResult, weighted_quantile
from calibration.mapping import Moment
from calibration.objective import Objective
from calibration.spec import Calibration, Parameter
from sim.outputs import atomic_write
from sim.scenario import load_scenario

__all__ = [
    "FIT_COLUMNS",
    "IDENTIFIED_SD_RATIO",
    "Sample",
    "Uncertainty",
    "correlations_frame",
    "fit_frame",
    "parameters_frame",
    "posterior_frame",
    "shown_path",
    "write_calibrated_scenarios",
    "write_frames",
    "write_report",
]

FloatArray = npt.NDArray[np.float64]

FIT_COLUMNS: tuple[str, ...] = (
    "target_id",
    "label",
    "published",
    "published_low",
    "published_high",
    "simulated",
    "simulated_low",
    "simulated_high",
)
"""Leading columns of fit.csv, read by the report figure."""

Z90 = 1.6448536269514722
WIDE = 0.6
"""A posterior 90% interval wider than this share of the prior range counts as not identified."""
STRONG = 0.6
"""A posterior correlation at least this large in size counts as a trade-off."""
IDENTIFIED_SD_RATIO = 0.5
"""Default: a parameter is ``identified`` if its posterior sd is below this share of its
prior sd (both in the unit cube)."""


@dataclass(frozen=True)
class Sample:
    """A weighted posterior sample in the unit cube.

    Attributes
    ----------
    z : numpy.ndarray
        ``(n, d)``.
    weights : numpy.ndarray
        Normalised weights.
    source : str
        ``"abc"`` or ``"history_matching"``.
    """

    z: FloatArray
    weights: FloatArray
    source: str

    @property
    def ess(self) -> float:
        """Effective sample size, ``1 / sum(w**2)``."""
        return float(1.0 / np.sum(self.weights**2))


@dataclass(frozen=True)
class Uncertainty:
    """What is known about the parameters: the estimate and, if ABC or history matching
    ran, the posterior.

    Attributes
    ----------
    z_hat : numpy.ndarray
        The estimate in the unit cube.
    cov_z : numpy.ndarray or None
        Laplace covariance of the estimate (None if the optimiser did not run).
    abc : AbcResult or None
        The ABC run (None if it did not run).
    sample : Sample or None
        Another posterior sample (history matching's), used when ABC did not run.
    predictive : numpy.ndarray or None
        Posterior draws simulated for the predictive intervals of ``fit.csv`` (equal
        weights), when ABC did not run.
    """

    z_hat: FloatArray
    cov_z: FloatArray | None
    abc: AbcResult | None
    sample: Sample | None = None
    predictive: FloatArray | None = None

    @property
    def posterior(self) -> Sample | None:
        """The posterior sample: ABC's final generation, else :attr:`sample`."""
        if self.abc is not None:
            return Sample(self.abc.final.z, self.abc.final.normalised, "abc")
        return self.sample


# --------------------------------------------------------------------------- frames


def _interval_distance(value: float, lo: float | None, hi: float | None) -> float:
    if not math.isfinite(value):
        return math.nan
    if hi is not None and value > hi:
        return value - hi
    if lo is not None and value < lo:
        return lo - value
    return 0.0


def fit_frame(
    cal: Calibration,
    objective: Objective,
    at_estimate: Mapping[str, Moment],
    particles: Sequence[Mapping[str, Moment]] | None,
    weights: FloatArray | None,
) -> pl.DataFrame:
    """Published against simulated values, one row per target.

    ``simulated_low/high`` are the 5% and 95% weighted quantiles over the posterior
    particles if given, else the estimate +- 1.645 simulation se.
    """
    errors = objective.errors(at_estimate)
    rows = []
    for k, t in enumerate(cal.targets):
        m = at_estimate[t.key]
        sim = m.value / t.factor
        if particles is not None and weights is not None and len(particles) > 0:
            vals = np.array([p[t.key].value for p in particles]) / t.factor
            ok = np.isfinite(vals)
            lo = weighted_quantile(vals[ok], weights[ok], 0.05) if ok.any() else math.nan
            hi = weighted_quantile(vals[ok], weights[ok], 0.95) if ok.any() else math.nan
        else:
            lo, hi = sim - Z90 * m.se / t.factor, sim + Z90 * m.se / t.factor
        plo, phi = t.published_band()
        if t.exactness == "range":
            dist = _interval_distance(sim, t.low, t.high)
        else:
            dist = abs(sim - t.value) if math.isfinite(sim) else math.nan
        rows.append(
            {
                "target_id": t.target_id,
                "label": t.label,
                "published": t.value,
                "published_low": plo,
                "published_high": phi,
                "simulated": sim,
                "simulated_low": lo,
                "simulated_high": hi,
                "unit": t.unit,
                "measure": t.measure,
                "population": t.population,
                "exactness": t.exactness,
                "scenario": t.scenario,
                "weight": t.weight,
                "sd": float(objective.sd[k]) / t.factor,
                "error": float(errors[k]),
                "abs_error": dist,
            }
        )
    return pl.DataFrame(rows, schema_overrides={c: pl.Float64 for c in FIT_COLUMNS[2:]})


def _laplace_interval(p: Parameter, z: float, sd: float) -> tuple[float, float]:
    return p.from_unit(z - Z90 * sd), p.from_unit(z + Z90 * sd)


def _posterior_stats(p: Parameter, zs: FloatArray, w: FloatArray) -> dict[str, float]:
    theta = np.array([p.from_unit(float(v)) for v in zs])
    mean = float(w @ theta)
    z_lo, z_hi = weighted_quantile(zs, w, 0.05), weighted_quantile(zs, w, 0.95)
    return {
        "posterior_mean": mean,
        "posterior_median": p.from_unit(weighted_quantile(zs, w, 0.5)),
        "posterior_sd": math.sqrt(max(float(w @ (theta - mean) ** 2), 0.0)),
        "posterior_low": p.from_unit(z_lo),
        "posterior_high": p.from_unit(z_hi),
        "posterior_width": z_hi - z_lo,
    }


def prior_sd_unit(p: Parameter) -> float:
    """The prior sd of ``p`` in the unit cube (by inversion on a fine grid)."""
    u = (np.arange(2000) + 0.5) / 2000.0
    z = np.array([p.sample_unit(float(v)) for v in u])
    return float(np.std(z))


def parameters_frame(
    cal: Calibration, unc: Uncertainty, identified_sd_ratio: float = IDENTIFIED_SD_RATIO
) -> pl.DataFrame:
    """One row per parameter: estimate with its 90% interval and the posterior summary.

    With a posterior sample, ``sd_ratio`` is the posterior sd over the prior sd (in the
    unit cube) and ``identified`` is ``sd_ratio < identified_sd_ratio``; both are null
    without one.
    """
    rows = []
    post = unc.posterior
    for j, p in enumerate(cal.parameters):
        z = float(unc.z_hat[j])
        row: dict[str, Any] = {
            "parameter": p.name,
            "keys": "; ".join(p.keys) if len(p.keys) <= 3 else f"{p.keys[0]} .. ({len(p.keys)})",
            "scale": p.scale,
            "prior": p.prior,
            "lower": p.lower,
            "upper": p.upper,
            "start": p.start,
            "estimate": p.from_unit(z),
            "estimate_low": math.nan,
            "estimate_high": math.nan,
        }
        row["estimate_width"] = math.nan
        if unc.cov_z is not None:
            sd = math.sqrt(max(float(unc.cov_z[j, j]), 0.0))
            row["estimate_low"], row["estimate_high"] = _laplace_interval(p, z, sd)
            row["estimate_width"] = min(z + Z90 * sd, 1.0) - max(z - Z90 * sd, 0.0)
        stats = dict.fromkeys(
            [
                "posterior_mean",
                "posterior_median",
                "posterior_sd",
                "posterior_low",
                "posterior_high",
                "posterior_width",
            ],
            math.nan,
        )
        flags: dict[str, Any] = {"sd_ratio": None, "identified": None}
        if post is not None:
            zs, w = post.z[:, j], post.weights
            stats = _posterior_stats(p, zs, w)
            sd_z = math.sqrt(max(float(w @ (zs - w @ zs) ** 2), 0.0))
            ratio = sd_z / max(prior_sd_unit(p), 1e-12)
            flags = {"sd_ratio": ratio, "identified": ratio < identified_sd_ratio}
        rows.append(row | stats | flags | {"reason": p.reason})
    return pl.DataFrame(rows, schema_overrides={"sd_ratio": pl.Float64, "identified": pl.Boolean})


def posterior_frame(cal: Calibration, abc: AbcResult) -> pl.DataFrame:
    """Every kept ABC particle: generation, weight, distance and parameter values."""
    rows = []
    last = abc.final.index
    for g in abc.generations:
        norm = g.normalised
        for i in range(len(g.distances)):
            row: dict[str, Any] = {
                "generation": g.index,
                "particle": i,
                "final": g.index == last,
                "weight": float(norm[i]),
                "importance_weight": float(g.weights[i]),
                "distance": float(g.distances[i]),
                "epsilon": g.epsilon,
            }
            for j, p in enumerate(cal.parameters):
                row[p.name] = p.from_unit(float(g.z[i, j]))
            rows.append(row)
    return pl.DataFrame(rows)


def _corr(cov: FloatArray) -> FloatArray:
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    return np.asarray(np.clip(cov / np.outer(sd, sd), -1.0, 1.0), dtype=np.float64)


def correlations_frame(cal: Calibration, unc: Uncertainty) -> pl.DataFrame:
    """Correlation matrices of the parameters in the unit cube, stacked by ``source``.

    ``source`` is ``"abc"`` (the weighted final ABC generation) or ``"history_matching"``
    (the emulator posterior), and/or ``"laplace"``
    (the Gauss-Newton covariance at the estimate), whichever ran.
    """
    names = [p.name for p in cal.parameters]
    frames = []
    mats: list[tuple[str, FloatArray]] = []
    post = unc.posterior
    if post is not None:
        w = post.weights
        dev = post.z - w @ post.z
        mats.append((post.source, _corr((dev * w[:, None]).T @ dev)))
    if unc.cov_z is not None:
        mats.append(("laplace", _corr(unc.cov_z)))
    for source, corr in mats:
        cols = {"source": [source] * len(names), "parameter": names}
        frames.append(pl.DataFrame(cols | {n: corr[:, j] for j, n in enumerate(names)}))
    if not frames:
        return pl.DataFrame(schema={"source": pl.String, "parameter": pl.String})
    return pl.concat(frames)


# --------------------------------------------------------------------------- files


def write_frames(out: Path, frames: Mapping[str, pl.DataFrame | None]) -> None:
    """Write ``fit`` (Parquet and CSV), ``posterior`` (Parquet) and the CSV frames atomically."""
    for name, df in frames.items():
        if df is None:
            continue
        if name in ("fit", "posterior"):
            atomic_write(out / f"{name}.parquet", df.write_parquet)
        if name != "posterior":
            atomic_write(out / f"{name}.csv", df.write_csv)


def _fmt(v: object, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _fit_table(fit: pl.DataFrame) -> list[str]:
    lines = [
        "| target | label | published | simulated (90%) | abs error | std error |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in fit.iter_rows(named=True):
        pub = _fmt(r["published"])
        if r["exactness"] in ("range", "about"):
            pub += f" [{_fmt(r['published_low'])}, {_fmt(r['published_high'])}]"
        sim = f"{_fmt(r['simulated'])} ({_fmt(r['simulated_low'])}-{_fmt(r['simulated_high'])})"
        lines.append(
            f"| {r['target_id']} | {r['label']} | {pub} | {sim} | {_fmt(r['abs_error'], 2)} "
            f"| {_fmt(r['error'], 2)} |"
        )
    return lines


def _parameter_table(params: pl.DataFrame) -> list[str]:
    lines = [
        "| parameter | start | estimate (90%) | posterior mean (90%) | bounds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in params.iter_rows(named=True):
        est = f"{_fmt(r['estimate'], 4)} ({_fmt(r['estimate_low'])}-{_fmt(r['estimate_high'])})"
        post = (
            f"{_fmt(r['posterior_mean'], 4)} "
            f"({_fmt(r['posterior_low'])}-{_fmt(r['posterior_high'])})"
        )
        lines.append(
            f"| {r['parameter']} | {_fmt(r['start'], 4)} | {est} | {post} "
            f"| {_fmt(r['lower'])}-{_fmt(r['upper'])} |"
        )
    return lines


def _wide(params: pl.DataFrame, column: str, what: str) -> list[str]:
    out = []
    for r in params.iter_rows(named=True):
        width = r[column]
        if width is not None and math.isfinite(width) and width > WIDE:
            out.append(
                f"- `{r['parameter']}`: its 90% {what} covers {100 * width:.0f}% of the "
                "prior range (not identified)."
            )
    return out


def _pairs(corr: pl.DataFrame, source: str) -> list[str]:
    block = corr.filter(pl.col("source") == source)
    names = [c for c in block.columns if c not in ("source", "parameter")]
    mat = block.select(names).to_numpy()
    out = []
    for i in range(len(names)):
        for j in range(i + 1, min(len(names), mat.shape[0])):
            c = float(mat[i, j])
            if math.isfinite(c) and abs(c) >= STRONG:
                kind = "trade off" if c < 0 else "move together"
                out.append(f"- `{names[i]}` and `{names[j]}` {kind} (correlation {c:+.2f}).")
    return out


def identification(params: pl.DataFrame, corr: pl.DataFrame, ess: float | None) -> list[str]:
    """Sentences on what the targets do not identify: wide intervals and strong trade-offs.

    Locally (Laplace, at the estimate) and over the ABC posterior (with its effective
    sample size), whichever ran. A pair that trades off is pinned down as a
    combination rather than each on its own.
    """
    sources = set(corr["source"].to_list()) if "source" in corr.columns else set()
    out: list[str] = []
    if "laplace" in sources:
        out += ["Near the estimate (Laplace approximation):", ""]
        found = _wide(params, "estimate_width", "interval")
        found += _pairs(corr, "laplace")
        out += found or ["- every parameter is identified and no pair is strongly correlated."]
        out.append("")
    if "abc" in sources:
        shown = "" if ess is None else f", effective sample size {ess:.1f}"
        out += [f"Over the ABC posterior (final generation{shown}):", ""]
        found = _wide(params, "posterior_width", "posterior interval")
        found += _pairs(corr, "abc")
        none = "- every posterior is narrower than its prior and no pair is strongly correlated."
        out += found or [none]
        out.append("")
    if "history_matching" in sources:
        shown = "" if ess is None else f", effective sample size {ess:.0f}"
        out += [f"Over the emulator posterior (history matching{shown}):", ""]
        found = [
            f"- `{r['parameter']}`: posterior sd {r['sd_ratio']:.2f} of its prior sd, 90% "
            f"interval {100 * r['posterior_width']:.0f}% of the prior range (not identified)."
            for r in params.iter_rows(named=True)
            if r.get("identified") is False and r["sd_ratio"] is not None
        ]
        found += _pairs(corr, "history_matching")
        none = "- every parameter is identified and no pair is strongly correlated."
        out += found or [none]
        out.append("")
    return out


def informs(sens: pl.DataFrame, top: int = 2, share: float = 0.25) -> list[str]:
    """One line per target: the parameters it is most sensitive to (``sensitivity.csv``).

    A parameter is listed if it is among the ``top`` largest shares of the target's
    summed standardised sensitivity and has at least ``share`` of it.
    """
    lines = []
    for (target,), block in sens.group_by(["target_id"], maintain_order=True):
        ranked = block.sort("share", descending=True).head(top)
        names = [
            f"`{r['parameter']}` ({r['share']:.0%})"
            for r in ranked.iter_rows(named=True)
            if r["share"] is not None and math.isfinite(r["share"]) and r["share"] >= share
        ]
        lines.append(f"- {target}: {', '.join(names) if names else 'no parameter dominates'}")
    return lines


def uninformed(sens: pl.DataFrame, below: float = 0.5) -> list[str]:
    """Parameters that move no fitted target by ``below`` of its sd across their prior range."""
    most = sens.group_by("parameter", maintain_order=True).agg(pl.col("standardised").max())
    return [
        r["parameter"]
        for r in most.iter_rows(named=True)
        if r["standardised"] is None or not r["standardised"] >= below
    ]


def _history_matching_lines(
    info: Mapping[str, Any], frames: Mapping[str, pl.DataFrame | None]
) -> list[str]:
    """The waves table and what each target informs (history matching only)."""
    waves, sens = frames.get("waves"), frames.get("sensitivity")
    if waves is None or sens is None:
        return []
    lines = [
        "## History-matching waves",
        "",
        f"{info.get('hm_message', '')}. Emulator posterior (sequential Monte Carlo with "
        f"likelihood tempering): {info.get('smc_particles', '-')} particles, "
        f"{info.get('smc_stages', '-')} tempering stages, mean Metropolis acceptance "
        f"{_fmt(info.get('smc_acceptance'), 2)}, effective sample size "
        f"{_fmt(info.get('ess'), 4)} at the last stage; {info.get('predictive_draws', '-')} "
        "posterior draws simulated for the 90% intervals of the targets.",
        "",
        "| wave | runs | NROY share of the prior | NROY candidates | max emulator sd / other sd |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in waves.iter_rows(named=True):
        lines.append(
            f"| {r['wave']} | {r['n_points']} | {_fmt(r['nroy_fraction'])} | {r['n_nroy']} "
            f"| {_fmt(r['max_emulator_sd'], 2)} |"
        )
    notes = [f"- wave {r['wave']}: {r['note']}" for r in waves.iter_rows(named=True) if r["note"]]
    lines += ["", *notes, *([""] if notes else [])]
    lines += [
        "## What each target informs",
        "",
        "From the last wave's emulators over the NROY space (`sensitivity.csv`: mean "
        "absolute change across each prior range, in target sds; shares of the target's total):",
        "",
        *informs(sens),
        "",
    ]
    none = uninformed(sens)
    if none:
        lines += [
            "Moved by less than half a target sd across their whole prior range by every "
            f"fitted target (not informed by these data): {', '.join(f'`{n}`' for n in none)}.",
            "",
        ]
    return lines


def write_report(
    out: Path, info: Mapping[str, Any], frames: Mapping[str, pl.DataFrame | None]
) -> str:
    """Write ``fit_report.md`` and return its text.

    ``info`` holds the run's facts (spec, method, settings, objective values, counts,
    ABC generations, the correlation source); ``frames`` the fit, parameters and
    correlations frames.
    """
    fit, params, corr = frames["fit"], frames["parameters"], frames["correlations"]
    assert fit is not None and params is not None and corr is not None
    errs = fit.filter(pl.col("abs_error").is_not_nan())
    median = float(np.median(errs["abs_error"].to_numpy())) if errs.height else math.nan
    worst = errs.sort("abs_error", descending=True).row(0, named=True) if errs.height else None
    lines = [
        f"# Calibration fit report: {info['name']}",
        "",
        f"Spec `{info['spec']}`, run {info['date']}: method {info['method']}, "
        f"{info['claimants']} claimants x {info['replicates']} replicate(s) per evaluation, "
        f"seed {info['seed']}. {info['n_calls']} evaluations ({info['n_simulated']} simulated, "
        f"{info['n_cached']} replayed from the cache) in {info['wall_minutes']:.1f} minutes.",
        "",
        f"Objective (weighted sum of squared standardised errors over {fit.height} targets): "
        f"{info['objective_start']:.3g} at the start, {info['objective']:.3g} at the estimate "
        f"({info['estimate_from']}).",
        "",
        f"Median absolute error {median:.2f} (percentage points for percent targets; 0 inside a "
        "published range)"
        + (
            f"; worst {worst['target_id']} ({worst['label']}): published {_fmt(worst['published'])}"
            f", simulated {_fmt(worst['simulated'])}."
            if worst
            else "."
        ),
        "",
        "## Targets",
        "",
        *_fit_table(fit),
        "",
        "## Parameters",
        "",
        *_parameter_table(params),
        "",
        "## What is not identified",
        "",
        *identification(params, corr, info.get("ess")),
    ]
    if info.get("generations"):
        eps = float(info["generations"][-1]["epsilon"])
        if eps > 2.0 * float(info["objective"]):
            lines += [
                f"The last ABC tolerance ({eps:.3g}) is well above the objective at the "
                f"estimate ({float(info['objective']):.3g}): with this budget the posterior "
                "keeps particles that fit worse than the estimate, so its intervals overstate "
                "the uncertainty and its correlations are indicative.",
                "",
            ]
        lines += [
            "## ABC generations",
            "",
            "| generation | proposed | acceptance | tolerance | effective sample size |",
            "| --- | --- | --- | --- | --- |",
        ]
        for g in info["generations"]:
            lines.append(
                f"| {g['generation']} | {g['proposed']} | {g['acceptance']:.2f} "
                f"| {g['epsilon']:.3g} | {g['ess']:.1f} |"
            )
        lines.append("")
    lines += _history_matching_lines(info, frames)
    if info.get("method") == "history_matching":
        how = (
            "the estimate is the posterior mean, simulated, unless it fits worse than the "
            "median posterior draw (then the best draw); the posterior is the sequential Monte "
            "Carlo sample of the last wave's emulator posterior, the simulated intervals its "
            "posterior predictive draws."
        )
    else:
        how = (
            "the estimate is the optimiser's best point (or the closest ABC particle when the "
            "optimiser did not run), its interval the Laplace approximation; the posterior is "
            "the last ABC-PMC generation."
        )
    lines += [
        "Notes: each target's mapping, its caveats (cohorts, denominators, exposure) and its "
        f"source are in the targets file; {how}",
        "",
    ]
    text = "\n".join(lines)
    atomic_write(out / "fit_report.md", lambda p: p.write_text(text))
    return text


# --------------------------------------------------------------------------- scenarios

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(float(f"{v:.6g}"))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as a TOML value")


def _toml_tables(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    lines = []
    if scalars and prefix:
        lines.append(f"\n[{prefix}]")
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars]
    for k, v in tables:
        lines += _toml_tables(v, f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k))
    return lines


def _split(key: str) -> tuple[list[str], int | None]:
    m = re.match(r"^(.*)\[(\d+)\]$", key)
    if m is None:
        return key.split("."), None
    return m.group(1).split("."), int(m.group(2))


def _overrides(cal: Calibration, theta: Mapping[str, float]) -> tuple[dict[str, Any], list[str]]:
    """Nested overrides of the calibrated keys, and the source keys they need."""
    base = cal.scenario.model_dump()
    tree: dict[str, Any] = {}
    source_keys: list[str] = []
    for p in cal.parameters:
        for key in p.keys:
            parts, index = _split(key)
            node = tree
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            if index is None:
                node[parts[-1]] = float(f"{theta[p.name]:.6g}")
            else:
                current = base
                for part in parts:
                    current = current[part]
                values = node.setdefault(parts[-1], list(current))
                values[index] = float(f"{theta[p.name]:.6g}")
            skey = ".".join(parts)
            if skey not in source_keys:
                source_keys.append(skey)
    return tree, source_keys


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out |= _flatten(v, key)
        else:
            out[key] = v
    return out


def _counterfactual_diff(cal: Calibration) -> dict[str, Any]:
    """Nested keys where the spec's counterfactual differs from its base scenario.

    Name, description, regime, extends and sources are written separately.
    """
    assert cal.counterfactual is not None
    skip = ("name", "description", "regime", "extends", "sources")
    base = _flatten(cal.scenario.model_dump(mode="json"))
    cf = _flatten(cal.counterfactual.model_dump(mode="json"))
    tree: dict[str, Any] = {}
    for key, value in cf.items():
        if key.split(".")[0] in skip or base.get(key) == value or value is None:
            continue
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory if it is below it, else as given."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start.parent)).as_posix()


def write_calibrated_scenarios(
    cal: Calibration,
    theta: Mapping[str, float],
    scenario_path: Path,
    counterfactual_path: Path | None,
    note: str,
) -> list[Path]:
    """Write the fitted scenario (and its counterfactual) and check they load.

    The scenario ``extends`` the spec's base scenario and overrides only the
    calibrated keys, with a ``[sources]`` entry per key saying how it was set; the
    counterfactual extends the fitted scenario with the spec counterfactual's name,
    description and regime.

    Raises
    ------
    sim.scenario.ScenarioError
        If a written file does not load (a bug: the values were validated).
    """
    tree, source_keys = _overrides(cal, theta)
    by_key = {k: p for p in cal.parameters for k in p.keys}
    sources = {}
    for skey in source_keys:
        param = next(p for k, p in by_key.items() if k.split("[")[0] == skey)
        sources[skey] = (
            f"calibrated (pbrsim calibrate, {note}); parameter {param.name}: {param.reason}"
        )
    base = _relative(cal.scenario_path, scenario_path)
    header = [
        f"# {cal.scenario.name}, calibrated to published figures by "
        f"`pbrsim calibrate {shown_path(cal.path)}`",
        f"# ({note}).",
        f"# Only the calibrated keys are set here; everything else comes from {base}.",
        "# Regenerate rather than edit: rerun the calibration.",
    ]
    body = [f"extends = {_toml_value(base)}"]
    body += [*_toml_tables(tree), "", "[sources]"]
    body += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sources.items()]
    text = "\n".join([*header, *body]) + "\n"
    atomic_write(scenario_path, lambda p: p.write_text(text))
    load_scenario(scenario_path)
    written = [scenario_path]
    if counterfactual_path is not None and cal.counterfactual is not None:
        cf = cal.counterfactual
        try:
            lines = [
                f"# The counterfactual of the calibrated scenario: {cf.description or cf.name}.",
                "# The same claimants and calibrated parameters, under the counterfactual regime.",
                f"extends = {_toml_value(_relative(scenario_path, counterfactual_path))}",
                f"name = {_toml_value(cf.name)}",
                f"description = {_toml_value(cf.description)}",
                f"regime = {_toml_value(cf.regime)}",
                *_toml_tables(_counterfactual_diff(cal)),
            ]
        except TypeError:  # it differs in a list of tables (e.g. interventions): extend it
            assert cal.counterfactual_path is not None
            lines = [
                f"# {cf.name}, with the calibrated keys of {cal.scenario.name} "
                f"(`pbrsim calibrate {shown_path(cal.path)}`, {note}).",
                "# Regenerate rather than edit: rerun the calibration.",
                f"extends = {_toml_value(_relative(cal.counterfactual_path, counterfactual_path))}",
                *_toml_tables(tree),
                "",
                "[sources]",
                *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sources.items()),
            ]
        cf_text = "\n".join(lines) + "\n"
        atomic_write(counterfactual_path, lambda p: p.write_text(cf_text))
        load_scenario(counterfactual_path)
        written.append(counterfactual_path)
    return written
