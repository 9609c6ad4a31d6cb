"""Entry point: ``calibrate(spec, out)`` runs a calibration and writes its outputs.

``pbrsim calibrate SPEC`` (wired in :mod:`pbrsim.cli`) calls :func:`calibrate`.
The run:

1. loads and validates the spec, its scenarios and targets
   (:func:`calibration.spec.load_spec`);
2. evaluates the start point and fixes the objective's sds from it
   (:class:`calibration.objective.Objective`);
3. ABC-PMC from the priors (``method`` "abc" or "both",
   :func:`calibration.abc.abc_pmc`);
4. the optimiser (``method`` "optimiser" or "both",
   :func:`calibration.optimise.optimise`), from the spec's start, or, for
   "both", from the best ABC particle if it beats the start;
   or, for ``method`` "history_matching", waves of history matching with
   Gaussian-process emulators, the emulator posterior and simulated posterior
   predictive draws (:func:`calibration.history_matching.history_match`);
5. writes the fit report and, unless told not to, the calibrated scenario and
   its counterfactual.

Every evaluation goes through :class:`calibration.evaluate.Evaluator`, whose
disk cache under ``OUT/cache`` makes an interrupted or repeated run replay what
was done instantly: the proposals are deterministic, so the same points are
asked for again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from calibration.abc import AbcResult, Generation, abc_pmc
from calibration.evaluate import Evaluation, Evaluator, make_executor
from calibration.history_matching import (
    HistoryMatchResult,
    Observations,
    Wave,
    history_match,
    sensitivity,
)
from calibration.objective import Objective
from calibration.optimise import OptimiserResult, optimise
from calibration.report import (
    Sample,
    Uncertainty,
    correlations_frame,
    fit_frame,
    parameters_frame,
    posterior_frame,
    shown_path,
    write_calibrated_scenarios,
    write_frames,
    write_report,
)
from calibration.spec import Calibration, HistoryMatchingSettings, load_spec
from sim.rng import Streams

__all__ = ["METHODS", "CalibrationResult", "calibrate"]

FloatArray = npt.NDArray[np.float64]
METHODS: tuple[str, ...] = ("optimiser", "abc", "both", "history_matching")


@dataclass
class CalibrationResult:
    """What a calibration found and where it wrote it.

    Attributes
    ----------
    out : Path
        The output folder.
    method : str
    estimate : dict
        ``{parameter: value}`` at the estimate.
    z : numpy.ndarray
        The estimate in the unit cube.
    objective_start, objective : float
        Objective at the start point and at the estimate.
    fit, parameters, history : polars.DataFrame
    posterior, correlations : polars.DataFrame or None
    n_calls, n_simulated, n_cached : int
        Evaluations asked for, simulated now, and replayed from the disk cache.
    scenario_files : list of Path
        Calibrated scenario files written.
    report : str
        The text of ``fit_report.md``.
    wall_seconds : float
    """

    out: Path
    method: str
    estimate: dict[str, float]
    z: FloatArray
    objective_start: float
    objective: float
    fit: pl.DataFrame
    parameters: pl.DataFrame
    history: pl.DataFrame
    posterior: pl.DataFrame | None
    correlations: pl.DataFrame | None
    n_calls: int
    n_simulated: int
    n_cached: int
    scenario_files: list[Path] = field(default_factory=list)
    report: str = ""
    wall_seconds: float = 0.0


# --------------------------------------------------------------------------- progress


class Reporter(Protocol):
    """Progress hooks."""

    def stage(self, text: str) -> None:
        """A new stage begins."""

    def done(self, n: int, best: float) -> None:
        """``n`` more evaluations are done; ``best`` is the best objective so far."""

    def log(self, text: str) -> None:
        """A line worth keeping in a log."""

    def close(self) -> None:
        """Stop drawing."""


class _Silent:
    def stage(self, text: str) -> None:
        pass

    def done(self, n: int, best: float) -> None:
        pass

    def log(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class _RichReporter:
    """A rich progress bar on standard error: evaluations done, best objective, time."""

    def __init__(self, total: int) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("evals  best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.task: TaskID = self.progress.add_task("calibrating", total=total, best="-")
        self.total = total
        self.n = 0
        self.progress.start()

    def stage(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def done(self, n: int, best: float) -> None:
        self.n += n
        if self.n > self.total:
            self.total = self.n
            self.progress.update(self.task, total=self.total)
        shown = f"{best:.4g}" if math.isfinite(best) else "-"
        self.progress.update(self.task, advance=n, best=shown)

    def log(self, text: str) -> None:
        self.progress.console.log(text)

    def close(self) -> None:
        self.progress.stop()


# --------------------------------------------------------------------------- the run


class _Run:
    """State of one calibration: evaluator, objective, history, best point."""

    def __init__(self, cal: Calibration, evaluator: Evaluator, reporter: Reporter) -> None:
        self.cal = cal
        self.evaluator = evaluator
        self.reporter = reporter
        self.objective: Objective | None = None
        self.history: list[dict[str, Any]] = []
        self.stage = "start"
        self.generation: int | None = None
        self.best = math.inf
        self.best_z: FloatArray | None = None
        self._ticks = 0
        evaluator.on_evaluation = self._tick

    def _tick(self, ev: Evaluation) -> None:
        """Advance the progress bar as each candidate of a batch is simulated or replayed."""
        self._ticks += 1
        f = math.inf if self.objective is None else self.objective.value(ev.moments)
        self.reporter.done(1, min(self.best, f))

    def evaluate(self, zs: Sequence[FloatArray]) -> list[Evaluation]:
        """Evaluate a batch, record it in the history and the progress bar."""
        evs = self.evaluator.evaluate(zs)
        self._record(evs)
        return evs

    def _record(self, evs: Sequence[Evaluation]) -> None:
        assert self.objective is not None
        for ev in evs:
            f = self.objective.value(ev.moments)
            if f < self.best:
                self.best, self.best_z = f, np.array(ev.z)
            self.history.append(
                {
                    "evaluation": len(self.history),
                    "stage": self.stage,
                    "generation": self.generation,
                    "objective": f,
                    "best": self.best,
                    "cached": ev.cached,
                }
                | self.cal.theta(np.array(ev.z))
            )
        self.reporter.done(len(evs) - self._ticks, self.best)
        self._ticks = 0

    def residuals(self, zs: Sequence[FloatArray]) -> list[FloatArray]:
        assert self.objective is not None
        return [self.objective.residuals(ev.moments) for ev in self.evaluate(zs)]

    def distances(self, zs: Sequence[FloatArray]) -> list[float]:
        assert self.objective is not None
        self.generation = 0 if self.generation is None else self.generation + 1
        return [self.objective.value(ev.moments) for ev in self.evaluate(zs)]

    def start(self) -> Evaluation:
        z0 = self.cal.z_start()
        ev = self.evaluator.evaluate([z0])[0]
        self.objective = Objective.at_start(self.cal.targets, ev.moments, self.cal.spec.objective)
        self._record([ev])
        return ev


def _budget(cal: Calibration, method: str) -> int:
    s = cal.spec
    total = 1
    if method in ("abc", "both"):
        n_keep = int(s.abc.alpha * s.abc.particles)
        total += s.abc.particles + (s.abc.max_generations - 1) * (s.abc.particles - n_keep)
    if method in ("optimiser", "both"):
        total += s.optimiser.max_evaluations + len(cal.parameters) + 1
    if method == "history_matching":
        hm = s.history_matching
        total += hm.points_per_wave * hm.max_waves + hm.predictive_draws + 1
    return total


def _run_abc(run: _Run) -> AbcResult:
    cal = run.cal
    run.stage, run.generation = "abc", None
    run.reporter.stage("ABC generation 0")

    def on_generation(g: Generation) -> None:
        run.reporter.log(
            f"ABC generation {g.index}: {g.n_proposed} proposed, acceptance {g.acceptance:.2f}, "
            f"tolerance {g.epsilon:.4g}, best {float(g.distances[0]):.4g}"
        )
        run.reporter.stage(f"ABC generation {g.index + 1}")

    streams = Streams(seed=cal.spec.seed, replicate=0)
    result = abc_pmc(run.distances, cal.parameters, cal.spec.abc, streams, on_generation)
    run.generation = None
    return result


def _run_optimiser(run: _Run, z0: FloatArray) -> OptimiserResult:
    settings = run.cal.spec.optimiser
    run.stage = "optimiser"
    run.reporter.stage(f"optimiser ({settings.method})")
    result = optimise(run.residuals, z0, settings)
    run.reporter.log(
        f"optimiser: objective {result.objective:.4g} after {result.n_evaluations} "
        f"evaluations ({result.message})"
    )
    return result


def observations(cal: Calibration, objective: Objective) -> tuple[list[int], Observations]:
    """The fitted targets (weight > 0): their indices and what they are matched to."""
    active = [k for k, t in enumerate(cal.targets) if t.weight > 0]
    bounds = [cal.targets[k].model_interval() for k in active]
    obs = Observations(
        names=tuple(cal.targets[k].target_id for k in active),
        low=np.array([lo for lo, _ in bounds]),
        high=np.array([hi for _, hi in bounds]),
        var=np.array([float(objective.sd[k]) ** 2 for k in active]),
        weights=np.array([cal.targets[k].weight for k in active]),
    )
    return active, obs


def _run_history_matching(run: _Run) -> HistoryMatchResult:
    cal = run.cal
    assert run.objective is not None
    settings = cal.spec.history_matching
    active, obs = observations(cal, run.objective)
    keys = [cal.targets[k].key for k in active]
    run.stage, run.generation = "history_matching", 1
    run.reporter.stage("history matching wave 1")

    def simulate(zs: Sequence[FloatArray], wave: int) -> FloatArray:
        run.generation = wave
        evs = run.evaluate(zs)
        return np.array([[ev.moments[key].value for key in keys] for ev in evs], dtype=float)

    def on_wave(w: Wave) -> None:
        run.reporter.log(
            f"history matching wave {w.index}: {len(w.z)} runs, NROY {w.nroy_fraction:.3g} of "
            f"the prior ({w.n_nroy} candidates), emulator sd ratio {w.emulator_sd_ratio:.2f}"
            + (f"; {w.note}" if w.note else "")
        )
        run.reporter.stage(f"history matching wave {w.index + 1}")

    streams = Streams(seed=cal.spec.seed, replicate=settings.seed_offset)
    result = history_match(simulate, cal.parameters, obs, settings, streams, on_wave)
    run.reporter.log(f"history matching: {result.message}; emulator posterior: {result.summary}")
    return result


def choose_estimate(objectives: Sequence[float]) -> int:
    """Which simulated point is the history-matching estimate: 0, the posterior mean,
    unless its objective is above the median of the posterior draws' (``objectives[1:]``),
    in which case the draw with the least objective.

    The posterior mean is the representative point (it minimises the expected squared
    error under the posterior); the least objective of many noisy runs would select
    simulation noise as much as fit. Only a posterior mean that fits worse than a typical
    draw (a curved or multimodal posterior) gives way to the best draw.
    """
    if len(objectives) < 2 or objectives[0] <= float(np.median(objectives[1:])):
        return 0
    return int(np.argmin(objectives))


def _hm_estimate(run: _Run, hm: HistoryMatchResult) -> tuple[FloatArray, str]:
    """Simulate the posterior mean and the predictive draws; return the estimate
    (:func:`choose_estimate`) and where it came from."""
    assert run.objective is not None
    run.stage, run.generation = "predictive", None
    run.reporter.stage("posterior predictive draws")
    points = [hm.posterior_mean, *hm.predictive_z]
    evs = run.evaluate(points)
    best = choose_estimate([run.objective.value(ev.moments) for ev in evs])
    return np.array(points[best]), "posterior mean" if best == 0 else "best posterior draw"


def _hm_frames(cal: Calibration, run: _Run, hm: HistoryMatchResult) -> dict[str, pl.DataFrame]:
    """``waves`` and ``sensitivity`` frames of a history-matching run."""
    assert run.objective is not None
    waves = pl.DataFrame(
        [
            {
                "wave": w.index,
                "n_points": len(w.z),
                "n_train": w.n_train,
                "nroy_fraction": w.nroy_fraction,
                "n_nroy": w.n_nroy,
                "max_emulator_sd": w.emulator_sd_ratio,
                "note": w.note,
            }
            for w in hm.waves
        ]
    )
    active, _ = observations(cal, run.objective)
    sample = hm.nroy[:: max(1, len(hm.nroy) // 500)]
    grad = sensitivity(hm.waves[-1].emulators, sample)
    rows = []
    for i, k in enumerate(active):
        t = cal.targets[k]
        std = grad[i] / float(run.objective.sd[k])
        total = float(np.nansum(std))
        for j, p in enumerate(cal.parameters):
            rows.append(
                {
                    "target_id": t.target_id,
                    "parameter": p.name,
                    "gradient": float(grad[i, j]) / t.factor,
                    "standardised": float(std[j]),
                    "share": float(std[j]) / total if total > 0 else math.nan,
                }
            )
    return {"waves": waves, "sensitivity": pl.DataFrame(rows)}


def _abc_best(abc: AbcResult) -> tuple[FloatArray, float]:
    fin = abc.final
    return np.array(fin.z[0]), float(fin.distances[0])


def _generations(abc: AbcResult | None) -> list[dict[str, Any]]:
    if abc is None:
        return []
    return [
        {
            "generation": g.index,
            "proposed": g.n_proposed,
            "acceptance": g.acceptance,
            "epsilon": g.epsilon,
            "ess": g.ess,
        }
        for g in abc.generations
    ]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")


def held_out(cal: Calibration, programme: str) -> Calibration:
    """``cal`` with every target of ``programme`` (its scenario and counterfactual, by the
    scenario's name) reported but not fitted (weight 0).

    Raises
    ------
    ValueError
        If no programme has that scenario name, or no fitted target would be left.
    """
    views = [cal.for_programme(k) for k in range(len(cal.others) + 1)]
    match = [v for v in views if v.scenario.name == programme]
    if not match:
        known = [v.scenario.name for v in views]
        raise ValueError(f"--leave-out {programme}: not a programme of the spec; have {known}")
    names = {match[0].scenario.name} | (
        {match[0].counterfactual.name} if match[0].counterfactual is not None else set()
    )
    targets = [
        dataclasses.replace(t, weight=0.0) if t.scenario in names else t for t in cal.targets
    ]
    if not any(t.weight > 0 for t in targets):
        raise ValueError(f"--leave-out {programme}: no target would be left to fit")
    return dataclasses.replace(cal, targets=targets)


def with_history_matching(cal: Calibration, values: Mapping[str, Any]) -> Calibration:
    """``cal`` with some ``[history_matching]`` settings replaced.

    Raises
    ------
    ValueError
        If a value is out of its range or names no setting (one line per problem,
        ``history_matching.KEY = VALUE: why``).
    """
    try:
        settings = HistoryMatchingSettings.model_validate(
            {**cal.spec.history_matching.model_dump(), **values}
        )
    except ValidationError as err:
        lines = [
            f"history_matching.{'.'.join(str(x) for x in e['loc'])} = {e['input']!r}: {e['msg']}"
            for e in err.errors()
        ]
        raise ValueError("\n".join(lines)) from None
    return dataclasses.replace(cal, spec=cal.spec.model_copy(update={"history_matching": settings}))


def _write_programmes(cal: Calibration, estimate: dict[str, float], note: str) -> list[Path]:
    """Write each programme's calibrated scenario and counterfactual where the spec names one."""
    files: list[Path] = []
    outputs = [(cal.spec.calibrated_scenario, cal.spec.calibrated_counterfactual)]
    outputs += [(p.spec.calibrated_scenario, p.spec.calibrated_counterfactual) for p in cal.others]
    for k, (scenario, counterfactual) in enumerate(outputs):
        if scenario is None:
            continue
        files += write_calibrated_scenarios(
            cal.for_programme(k),
            estimate,
            cal.resolve(scenario),
            cal.resolve(counterfactual) if counterfactual is not None else None,
            note,
        )
    return files


def calibrate(
    spec_path: Path,
    out: Path,
    *,
    method: str | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = True,
    write_scenario: bool = True,
    progress: bool = True,
    leave_out: str | None = None,
    cache: Path | None = None,
    history_matching: Mapping[str, Any] | None = None,
) -> CalibrationResult:
    """Calibrate a scenario to published figures and write the fit report.

    Parameters
    ----------
    spec_path : Path
        The calibration spec (TOML, see :mod:`calibration.spec`).
    out : Path
        Output folder: fit report files and the evaluation cache (``out/cache``).
    method : str, optional
        ``"optimiser"``, ``"abc"``, ``"both"`` (ABC first, then the optimiser) or
        ``"history_matching"``; None: the spec's ``method`` (default ``"both"``).
    workers : int
        Local worker processes for the simulations (1: this process).
    scheduler : str, optional
        Address of a Dask scheduler to run the simulations on.
    dask_local : int, optional
        Run the simulations on a Dask LocalCluster of this many workers.
    resume : bool
        Replay evaluations found in ``out/cache`` (False re-simulates them all).
    write_scenario : bool
        Write the calibrated scenario and counterfactual named in the spec.
    progress : bool
        Show a progress bar on standard error.
    leave_out : str, optional
        A programme's scenario name: its targets (those of its scenario and its
        counterfactual) are reported but not fitted (weight 0), for cross-validation;
        no calibrated scenario is written then.
    cache : Path, optional
        Folder of the evaluation cache (default ``out/cache``); fits of one spec can
        share one, so runs at the same points are simulated once.
    history_matching : mapping, optional
        Values that replace the spec's ``[history_matching]`` settings (e.g. a smaller
        budget for cross-validation refits), validated as the spec's are.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValueError
        If ``method`` is unknown, ``workers < 1``, or ``leave_out`` names no programme
        of the spec or leaves no target to fit.
    sim.scenario.ScenarioError
        If the spec, its scenarios or its targets are invalid (every problem found,
        each naming its file, key or row and column, and value).
    calibration.evaluate.CalibrationError
        If a simulation task fails.
    """
    if method is not None:
        _check_method(method)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    t0 = time.perf_counter()
    cal = load_spec(spec_path)
    method = method or cal.spec.method
    if leave_out is not None:  # a cross-validation fit never overwrites the shipped scenarios
        cal, write_scenario = held_out(cal, leave_out), False
    if history_matching:
        cal = with_history_matching(cal, history_matching)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    executor, shards = make_executor(workers, scheduler, dask_local)
    evaluator = Evaluator(cal, cache or out / "cache", executor, shards, resume=resume)
    reporter: Reporter = _RichReporter(_budget(cal, method)) if progress else _Silent()
    try:
        run = _Run(cal, evaluator, reporter)
        start = run.start()
        assert run.objective is not None
        f_start = run.objective.value(start.moments)
        reporter.log(f"start: objective {f_start:.4g}")
        abc = _run_abc(run) if method in ("abc", "both") else None
        opt = None
        z_hat = cal.z_start()
        hm: HistoryMatchResult | None = None
        estimate_from = None
        if method == "history_matching":
            hm = _run_history_matching(run)
            z_hat, estimate_from = _hm_estimate(run, hm)
        if method in ("optimiser", "both"):
            z0 = cal.z_start()
            if abc is not None and _abc_best(abc)[1] < f_start:
                z0 = _abc_best(abc)[0]
            opt = _run_optimiser(run, z0)
            z_hat = opt.z
        elif abc is not None:
            z_hat = _abc_best(abc)[0]
    finally:
        reporter.close()
    unc = Uncertainty(z_hat, None if opt is None else opt.cov_z, abc)
    extra: dict[str, Any] = {}
    if hm is not None:
        sample = Sample(hm.posterior_z, hm.posterior_weights, "history_matching")
        unc = dataclasses.replace(unc, sample=sample, predictive=hm.predictive_z)
        extra = {
            "frames": _hm_frames(cal, run, hm),
            "estimate_from": estimate_from,
            "ess": hm.ess,
            "hm_message": hm.message[:1].upper() + hm.message[1:],
            "smc_particles": len(hm.posterior_z),
            "smc_stages": hm.posterior.n_stages,
            "smc_acceptance": hm.posterior.mean_acceptance,
            "predictive_draws": len(hm.predictive_z),
        }
    return _finish(cal, run, out, method, unc, f_start, t0, write_scenario, extra)


def _finish(
    cal: Calibration,
    run: _Run,
    out: Path,
    method: str,
    unc: Uncertainty,
    f_start: float,
    t0: float,
    write_scenario: bool,
    extra: dict[str, Any] | None = None,
) -> CalibrationResult:
    """Build the frames, write the outputs and return the result.

    ``extra`` holds a method's own frames (``"frames"``) and report facts.
    """
    extra = dict(extra or {})
    more_frames: dict[str, pl.DataFrame] = extra.pop("frames", {})
    assert run.objective is not None
    evaluator = run.evaluator
    at_hat = evaluator.evaluate([unc.z_hat])[0]
    f_hat = run.objective.value(at_hat.moments)
    particles = weights = None
    if unc.abc is not None:
        fin = unc.abc.final
        particles = [ev.moments for ev in evaluator.evaluate(list(fin.z))]
        weights = fin.normalised
    elif unc.predictive is not None:
        particles = [ev.moments for ev in evaluator.evaluate(list(unc.predictive))]
        weights = np.full(len(particles), 1.0 / len(particles))
    fit = fit_frame(cal, run.objective, at_hat.moments, particles, weights)
    params = parameters_frame(cal, unc, cal.spec.history_matching.identified_sd_ratio)
    corr = correlations_frame(cal, unc)
    posterior = posterior_frame(cal, unc.abc) if unc.abc is not None else None
    history = pl.DataFrame(run.history, infer_schema_length=None)
    frames = {
        "fit": fit,
        "parameters": params,
        "correlations": corr,
        "history": history,
        "posterior": posterior,
        **more_frames,
    }
    write_frames(out, frames)
    wall = time.perf_counter() - t0
    estimate = cal.theta(unc.z_hat)
    date = dt.date.today().isoformat()
    estimate_from = "optimiser" if unc.cov_z is not None else "best ABC particle"
    note = (
        f"{date}, method {method}, objective {f_hat:.4g} over {len(cal.targets)} targets; "
        f"fit report {shown_path(out / 'fit_report.md')}"
    )
    spec = cal.spec
    files = _write_programmes(cal, estimate, note) if write_scenario else []
    info = {
        "name": spec.name,
        "spec": str(cal.path),
        "date": date,
        "method": method,
        "claimants": spec.claimants,
        "replicates": spec.replicates,
        "seed": spec.seed,
        "n_calls": evaluator.n_calls,
        "n_simulated": evaluator.n_simulated,
        "n_cached": evaluator.n_cached,
        "wall_minutes": wall / 60.0,
        "objective_start": f_start,
        "objective": f_hat,
        "estimate_from": estimate_from,
        "ess": None if unc.abc is None else unc.abc.final.ess,
        "generations": _generations(unc.abc),
    } | extra
    text = write_report(
        out, info, {"fit": fit, "parameters": params, "correlations": corr, **more_frames}
    )
    return CalibrationResult(
        out=out,
        method=method,
        estimate=estimate,
        z=unc.z_hat,
        objective_start=f_start,
        objective=f_hat,
        fit=fit,
        parameters=params,
        history=history,
        posterior=posterior,
        correlations=corr,
        n_calls=evaluator.n_calls,
        n_simulated=evaluator.n_simulated,
        n_cached=evaluator.n_cached,
        scenario_files=files,
        report=text,
        wall_seconds=time.perf_counter() - t0,
    )
