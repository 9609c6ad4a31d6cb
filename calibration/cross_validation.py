"""Leave-one-programme-out cross-validation of a joint fit, on its emulators.

Refitting a joint calibration once per programme left out costs a whole fit each. The
simulator runs of a history-matching fit's first wave were designed over the whole prior
(a Sobol design, before any data was used), so Gaussian-process emulators trained on
them (:mod:`calibration.emulator`) describe the simulator without having seen any
published figure. For each programme ``P``:

1. the posterior over the prior is importance-sampled with the likelihood of every
   fitted target *except* ``P``'s (the same Gaussian likelihood, emulator variance
   added, as :mod:`calibration.history_matching`);
2. ``P``'s targets are predicted at that posterior: the weighted mean of the emulators'
   means, and a 90% interval from the weighted 5% and 95% quantiles of the emulators'
   means with their sd and the target's sd added in quadrature;
3. the error is the distance from the prediction to the published interval, in the
   target's units (percentage points for shares), 0 inside a range.

This answers "how well do the other programmes' figures predict this one's" without
new runs, but the emulators are the first wave's (less accurate than the last wave's
near the posterior), and the prediction is the emulators', not a simulation.

With ``--refit``, each programme is instead left out of a whole new history-matching
fit (:func:`refit_leave_one_out`: ``pbrsim calibrate --leave-out``), with a smaller
budget (``--max-waves``, default 2) and the fit's evaluation cache shared, so the first
wave (the same design over the prior) is replayed rather than simulated again. The
left-out targets are then simulated at that fit's posterior predictive draws: the
error is the distance from the simulated value at the refit's estimate to the published
interval, and the interval the predictive draws' 5% and 95% quantiles.

Usage::

    python -m calibration.cross_validation calibration/joint.toml calibration/out/joint
    python -m calibration.cross_validation calibration/joint.toml calibration/out/joint --refit
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from calibration.cli import calibrate, observations
from calibration.emulator import Emulator
from calibration.history_matching import (
    Observations,
    _log_likelihood,
    _log_prior,
    _normalise,
    _predict_all,
    _prior_points,
    _sobol,
    _train,
)
from calibration.mapping import Moment
from calibration.objective import Objective
from calibration.report import FIT_COLUMNS
from calibration.spec import Calibration, load_spec
from sim.rng import Streams
from sim.scenario import ScenarioError

__all__ = [
    "leave_one_programme_out",
    "programme_of_targets",
    "refit_leave_one_out",
    "weighted_quantile",
]

FloatArray = npt.NDArray[np.float64]
N_POSTERIOR = 20_000
"""Prior points (Sobol) importance-weighted for each posterior."""
_STREAM_KEY = 7_001
"""Key of the Sobol scramble (apart from the fit's own)."""


def weighted_quantile(x: FloatArray, w: FloatArray, q: float) -> float:
    """The ``q`` quantile of ``x`` under weights ``w`` (the smallest x with cdf >= q)."""
    order = np.argsort(x, kind="stable")
    cdf = np.cumsum(w[order])
    k = int(np.searchsorted(cdf, q * cdf[-1], side="left"))
    return float(x[order][min(k, len(x) - 1)])


def programme_of_targets(cal: Calibration) -> dict[str, str]:
    """Each target's programme: the name of the programme's (first) scenario."""
    by_scenario: dict[str, str] = {}
    for k in range(len(cal.others) + 1):
        view = cal.for_programme(k)
        by_scenario[view.scenario.name] = view.scenario.name
        if view.counterfactual is not None:
            by_scenario[view.counterfactual.name] = view.scenario.name
    return {t.target_id: by_scenario.get(t.scenario, t.scenario) for t in cal.targets}


def leave_one_programme_out(
    cal: Calibration,
    z: FloatArray,
    y: FloatArray,
    obs: Observations,
    programmes: Sequence[str],
    streams: Streams,
    restarts: int = 2,
) -> pl.DataFrame:
    """Predict each programme's targets from a posterior fitted to the others'.

    Parameters
    ----------
    cal : Calibration
    z : numpy.ndarray
        Unit-cube points simulated over the prior, ``(n, n_parameters)``.
    y : numpy.ndarray
        Their simulated targets, ``(n, n_targets)`` in the order of ``obs``.
    obs : Observations
        The fitted targets (weight > 0) and their variances.
    programmes : sequence of str
        Each target's programme, in the order of ``obs``.
    streams : Streams
        Keyed streams (the posterior's Sobol points).
    restarts : int
        Optimiser restarts of each emulator fit.

    Returns
    -------
    polars.DataFrame
        One row per target: ``left_out`` (its programme), ``target_id``, ``low``,
        ``high`` (published), ``predicted``, ``pred_low``, ``pred_high`` (90%),
        ``abs_error`` (distance to the published interval), all in the figure's published
        unit (percentage points for percent); ``ess`` (effective sample size of that
        posterior).

    Raises
    ------
    ValueError
        If the shapes do not agree.
    """
    if y.shape != (len(z), len(obs.names)) or len(programmes) != len(obs.names):
        raise ValueError("z, y, obs and programmes must describe the same runs and targets")
    emulators: list[Emulator | None] = _train(z, y, seed=0, restarts=restarts)
    u = _sobol(z.shape[1], N_POSTERIOR, streams, _STREAM_KEY)
    cand = _prior_points(cal.parameters, u)
    log_prior = _log_prior(cal.parameters, cand)
    mean, var = _predict_all(emulators, cand)
    rows = []
    for left in dict.fromkeys(programmes):
        mine = np.array([p == left for p in programmes])
        others = Observations(obs.names, obs.low, obs.high, obs.var, obs.weights * ~mine)
        w = _normalise(log_prior + _log_likelihood(emulators, cand, others))
        ess = float(1.0 / np.sum(w**2))
        for j in np.flatnonzero(mine):
            m = mean[:, j]
            if np.isnan(m).all():
                continue
            sd = np.sqrt(var[:, j] + obs.var[j])
            pred = float(np.sum(w * m))
            lo_q = weighted_quantile(m - 1.645 * sd, w, 0.05)
            hi_q = weighted_quantile(m + 1.645 * sd, w, 0.95)
            lo, hi = float(obs.low[j]), float(obs.high[j])
            err = max(pred - hi, lo - pred, 0.0)
            rows.append((left, obs.names[j], lo, hi, pred, lo_q, hi_q, err, ess))
    schema = ["left_out", "target_id", "low", "high", "predicted", "pred_low", "pred_high"]
    table = pl.DataFrame(rows, schema=[*schema, "abs_error", "ess"], orient="row")
    # in each figure's published unit (percentage points for percent), as the fit report
    factor = {t.target_id: t.factor for t in cal.targets}
    scale = pl.col("target_id").replace_strict(factor, default=1.0, return_dtype=pl.Float64)
    values = ["low", "high", "predicted", "pred_low", "pred_high", "abs_error"]
    return table.with_columns([pl.col(c) / scale for c in values])


REFIT_COLUMNS: tuple[str, ...] = (
    *(c for c in FIT_COLUMNS if c != "label"),
    "abs_error",
)
"""Columns of a refit's fit table kept for its left-out targets."""


def refit_leave_one_out(
    spec: Path,
    fit_dir: Path,
    *,
    max_waves: int = 2,
    workers: int = 2,
    programmes: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Refit the spec once per programme with that programme's targets left out.

    Parameters
    ----------
    spec : Path
        The joint calibration spec.
    fit_dir : Path
        The fit's output folder: its ``cache`` is shared by the refits (each refit's
        own files go to ``fit_dir/leave_out/NAME``).
    max_waves : int
        History-matching waves of each refit (the spec's other settings are kept).
    workers : int
        Local worker processes.
    programmes : sequence of str, optional
        The programmes to leave out (default: every programme with a fitted target).
    settings : mapping, optional
        Other ``[history_matching]`` settings of the refits (e.g. ``points_per_wave``).

    Returns
    -------
    polars.DataFrame
        One row per left-out target: ``left_out`` and :data:`REFIT_COLUMNS` from the
        refit's fit table (published unit; ``abs_error`` 0 inside a published range).

    Raises
    ------
    ValueError
        If a programme is not one of the spec's, or leaving it out leaves nothing to fit.
    """
    cal = load_spec(spec)
    of = programme_of_targets(cal)
    fitted = [t.target_id for t in cal.targets if t.weight > 0]
    names = list(programmes) if programmes else list(dict.fromkeys(of[t] for t in fitted))
    parts = []
    for name in names:
        result = calibrate(
            spec,
            fit_dir / "leave_out" / name,
            workers=workers,
            progress=False,
            leave_out=name,
            cache=fit_dir / "cache",
            history_matching={**(settings or {}), "max_waves": max_waves},
        )
        mine = [t for t in fitted if of[t] == name]
        rows = result.fit.filter(pl.col("target_id").is_in(mine)).select(REFIT_COLUMNS)
        parts.append(rows.with_columns(pl.lit(name).alias("left_out")))
        print(f"{name}: refit in {result.wall_seconds:.0f} s, {result.n_simulated} runs")
    return pl.concat(parts).select("left_out", *REFIT_COLUMNS)


def summarise(table: pl.DataFrame) -> pl.DataFrame:
    """Per left-out programme: targets, median absolute error, the worst row."""
    return table.group_by("left_out", maintain_order=True).agg(
        pl.len().alias("n_targets"),
        pl.col("abs_error").median().alias("median_abs_error"),
        pl.col("abs_error").max().alias("worst"),
        pl.col("target_id").sort_by("abs_error").last().alias("worst_target"),
    )


def _wave_one(fit_dir: Path) -> pl.DataFrame:
    """The history rows of the fit's first wave (its design over the prior)."""
    history = pl.read_csv(fit_dir / "history.csv")
    return history.filter((pl.col("stage") == "history_matching") & (pl.col("generation") == 1))


def _cached_runs(fit_dir: Path, rows: pl.DataFrame, names: list[str]) -> list[dict[str, object]]:
    """The cached evaluations (``z``, ``moments``) of the history rows, matched on theta.

    Raises
    ------
    ValueError
        If a row has no cached evaluation (the cache is not this fit's).
    """
    cached = [json.loads(f.read_text()) for f in sorted((fit_dir / "cache").glob("*/*.json"))]
    thetas = np.array([[float(c["theta"][n]) for n in names] for c in cached])
    out = []
    for row in rows.select(names).to_numpy():
        gap = np.max(np.abs(thetas - row) / np.maximum(np.abs(row), 1e-12), axis=1)
        k = int(np.argmin(gap))
        if gap[k] > 1e-9:
            raise ValueError(f"{fit_dir / 'cache'}: no cached run at theta {row.tolist()}")
        out.append(cached[k])
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Write ``FIT_DIR/leave_one_out_emulated.csv`` for a history-matching fit (no new
    runs), or with ``--refit`` ``FIT_DIR/leave_one_out_refit.csv`` (a fit per programme)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("fit_dir", type=Path)
    parser.add_argument("--refit", action="store_true", help="refit once per programme")
    parser.add_argument("--max-waves", type=int, default=2, help="waves of each refit")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--programme", action="append", help="only these (repeatable)")
    parser.add_argument("--points-per-wave", type=int, help="runs a wave (default: the spec's)")
    parser.add_argument("--predictive-draws", type=int, help="default: the spec's")
    args = parser.parse_args(argv)
    try:
        _run(args)
    except (ValueError, ScenarioError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(args: argparse.Namespace) -> None:
    if args.refit:
        table = refit_leave_one_out(
            args.spec,
            args.fit_dir,
            max_waves=args.max_waves,
            workers=args.workers,
            programmes=args.programme,
            settings={
                k: v
                for k, v in (
                    ("points_per_wave", args.points_per_wave),
                    ("predictive_draws", args.predictive_draws),
                )
                if v is not None
            },
        )
        _report(table, args.fit_dir / "leave_one_out_refit.csv")
        return
    cal = load_spec(args.spec)
    names = [p.name for p in cal.parameters]
    runs = _cached_runs(args.fit_dir, _wave_one(args.fit_dir), names)
    start = _cached_runs(
        args.fit_dir,
        pl.read_csv(args.fit_dir / "history.csv").filter(pl.col("stage") == "start"),
        names,
    )[0]
    z = np.array([run["z"] for run in runs], dtype=float)
    moments = {k: Moment(*v) for k, v in cast(dict[str, list[float]], start["moments"]).items()}
    objective = Objective.at_start(cal.targets, moments, cal.spec.objective)
    active, obs = observations(cal, objective)
    keys = [cal.targets[k].key for k in active]
    y = np.array(
        [[cast(dict[str, list[float]], run["moments"])[key][0] for key in keys] for run in runs],
        dtype=float,
    )
    of = programme_of_targets(cal)
    programmes = [of[cal.targets[k].target_id] for k in active]
    table = leave_one_programme_out(cal, z, y, obs, programmes, Streams(cal.spec.seed, 0))
    _report(table, args.fit_dir / "leave_one_out_emulated.csv")


def _report(table: pl.DataFrame, out: Path) -> None:
    table.write_csv(out, float_precision=4)
    print(summarise(table))
    median = float(np.median(table["abs_error"].to_numpy())) if table.height else math.nan
    print(f"all {table.height} targets: median abs error {median:.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
