"""History matching with Gaussian-process emulators, then an emulator-based posterior.

The method of Craig, Goldstein, Seheult & Smith (1997) and Vernon, Goldstein & Bower
(2010, Bayesian Analysis 5: 619-669), in waves as in Andrianakis et al. (2015, PLoS
Computational Biology 11: e1003968), on the unit cube of the spec's parameters:

1. **Design.** Wave 1 simulates the first ``points_per_wave`` points of a scrambled
   Sobol sequence mapped through the priors; a later wave simulates a space-filling
   subset (greedy farthest-point) of the candidates still not ruled out.
2. **Emulate.** One Gaussian-process emulator per fitted target
   (:mod:`calibration.emulator`), trained on the wave's runs and the earlier runs that
   are still not ruled out (at most ``max_training_points``, the most recent).
3. **Implausibility.** For target ``t`` with published interval ``[lo_t, hi_t]`` (a
   point figure has ``lo_t == hi_t``)::

       I_t(z) = dist(E[f_t(z)], [lo_t, hi_t]) / sqrt(Var[f_t(z)] + s_t**2)

   ``Var[f_t(z)]`` is the emulator's variance and ``s_t`` the objective's sd of target
   ``t`` (:class:`calibration.objective.Objective`: the published figure's imprecision,
   the simulation se and the model discrepancy). A point is ruled out when the
   ``implausibility_rank``-th largest ``I_t`` exceeds ``cutoff`` (Pukelsheim's 3 sigma
   rule: any unimodal distribution has 95% of its mass within 3 sd).
4. **NROY.** The space not ruled out yet (NROY) is the set of ``n_candidates``
   prior candidates that pass every wave so far; when too few pass, more are drawn
   around those that do (a Gaussian cloud with their spread, kept if they pass). Its
   share of the prior is estimated wave by wave as the share of the previous NROY
   candidates that pass the new wave.
5. **Stop** after ``max_waves``, or when a wave keeps more than ``min_shrink`` of the
   previous NROY space (the emulators can no longer tell the rest apart).
6. **Posterior.** Sequential Monte Carlo with likelihood tempering
   (:func:`calibration.smc.smc_sample`; Del Moral, Doucet & Jasra 2006) on the last
   wave's emulators, with the Gaussian likelihood
   ``prod_t N(dist_t; 0, Var[f_t(z)] + s_t**2) ** w_t`` (``w_t`` the target's weight)
   and the spec's priors restricted to the NROY space of the earlier waves. The
   ``posterior_draws`` particles start from the NROY candidates of the earlier waves
   (prior draws, topped up by draws around them), moved ``PRIOR_STEPS`` Metropolis steps
   targeting the restricted prior to make them a sample of it; the temperatures are
   chosen so that each step keeps a conditional ESS of ``smc_ess_share`` of the
   particles, and each resampling is followed by ``mcmc_steps`` random-walk Metropolis
   steps. If no final NROY candidate passes the earlier waves (a least-implausible
   fallback, step 4), the support is the space at least as plausible under every wave as
   the least plausible of them. ``predictive_draws`` draws are then taken from the
   particles (systematic resampling) for the caller to simulate.

All randomness comes from :class:`sim.rng.Streams` keyed streams (the Sobol scramble
seeds too), so a rerun designs the same points and replays them from the evaluation
cache; the emulator fits use a fixed ``random_state``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.stats import qmc  # type: ignore[import-untyped]

from calibration.emulator import Emulator, fit_emulator
from calibration.smc import SMCResult, smc_sample
from calibration.spec import HistoryMatchingSettings, Parameter
from sim.rng import Streams

__all__ = [
    "HistoryMatchResult",
    "Observations",
    "Wave",
    "history_match",
    "implausibility",
    "kth_largest",
    "sensitivity",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Simulate = Callable[[Sequence[FloatArray], int], FloatArray]
"""Simulate unit-cube points (the second argument is the wave, 1-based); return the
outputs ``(n, n_targets)`` in the order of :class:`Observations` (NaN where missing)."""

AUGMENT_ROUNDS = 4
"""Rounds of drawing candidates around the NROY points when too few pass."""
FALLBACK_SHARE = 0.01
"""When no candidate passes, the least implausible share kept as the NROY space."""
MIN_POOL = 200
"""Fewest NROY candidates wanted before the pool is topped up."""
PRIOR_STEPS = 100
"""Metropolis steps targeting the restricted prior that turn the earlier waves' NROY
candidates (mostly drawn around each other, so bunched) into a sample of it before the
tempering (on the joint fit, 20 steps left the bunching, 60-200 removed it)."""
GRADIENT_STEP = 0.02
"""Central-difference step in the unit cube for :func:`sensitivity`."""
_SOBOL_STREAM = "calibration.history_matching.sobol"


@dataclass(frozen=True)
class Observations:
    """What the emulated outputs are matched to, one entry per target.

    Attributes
    ----------
    names : tuple of str
        Target ids (for messages and reports).
    low, high : numpy.ndarray
        The published interval in model units (``low == high`` for a point figure;
        infinite where open).
    var : numpy.ndarray
        Variance of everything but the emulator: observation, simulation and model
        discrepancy (the objective's ``sd**2``).
    weights : numpy.ndarray
        The targets' weights in the likelihood.
    """

    names: tuple[str, ...]
    low: FloatArray
    high: FloatArray
    var: FloatArray
    weights: FloatArray

    def __post_init__(self) -> None:
        n = len(self.names)
        if n == 0:
            raise ValueError("history matching needs at least one fitted target")
        for name in ("low", "high", "var", "weights"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one value per target ({n})")
        if np.any(self.var <= 0.0) or not np.all(np.isfinite(self.var)):
            raise ValueError("every target needs a positive, finite variance")


@dataclass(frozen=True)
class Wave:
    """One wave: its runs, emulators and the NROY space it leaves.

    Attributes
    ----------
    index : int
        1-based.
    z : numpy.ndarray
        The points simulated in this wave, ``(n, d)``.
    y : numpy.ndarray
        Their outputs, ``(n, n_targets)``.
    emulators : list of Emulator or None
        One per target (None where too few finite outputs to fit one).
    n_train : int
        Runs the emulators were trained on.
    nroy_fraction : float
        Estimated share of the prior not ruled out after this wave.
    n_nroy : int
        NROY candidates held after this wave.
    emulator_sd_ratio : float
        Largest over targets of the mean emulator sd over the new NROY candidates, as
        a share of the target's other sd (``sqrt(var)``): below about 1 the emulators
        know the outputs better than the data do and more waves add little.
    note : str
        Why the NROY space was topped up or replaced, if it was.
    """

    index: int
    z: FloatArray
    y: FloatArray
    emulators: list[Emulator | None]
    n_train: int
    nroy_fraction: float
    n_nroy: int
    emulator_sd_ratio: float
    note: str = ""


@dataclass(frozen=True)
class HistoryMatchResult:
    """Waves, the final NROY candidates, the posterior sample and predictive draws.

    Attributes
    ----------
    waves : list of Wave
    nroy : numpy.ndarray
        The final NROY candidates, ``(m, d)``.
    posterior : SMCResult
        The tempered SMC sample of the emulator posterior and its diagnostics.
    predictive_z : numpy.ndarray
        Draws resampled from the posterior, ``(predictive_draws, d)``.
    message : str
        Why the waves stopped.
    log : list of str
        Notes on the waves and the posterior.
    """

    waves: list[Wave]
    nroy: FloatArray
    posterior: SMCResult
    predictive_z: FloatArray
    message: str
    log: list[str] = field(default_factory=list)

    @property
    def posterior_z(self) -> FloatArray:
        """The posterior particles in the unit cube, ``(posterior_draws, d)``."""
        return self.posterior.particles

    @property
    def posterior_weights(self) -> FloatArray:
        """Their normalised weights (equal: the last SMC stage resamples)."""
        return self.posterior.weights

    @property
    def ess(self) -> float:
        """Effective sample size of the last tempering stage's weights, in particles."""
        return self.posterior.ess

    @property
    def temperatures(self) -> FloatArray:
        """The tempering ladder ``0 = phi_0 < ... < phi_K = 1``."""
        return self.posterior.temperatures

    @property
    def acceptance(self) -> FloatArray:
        """Mean Metropolis acceptance rate of each tempering stage's moves."""
        return self.posterior.acceptance

    @property
    def summary(self) -> str:
        """One line on the posterior sample: particles, stages, acceptance, ESS."""
        post = self.posterior
        return (
            f"{len(post.particles)} SMC particles, {post.n_stages} tempering stages, mean "
            f"acceptance {post.mean_acceptance:.2f}, final-stage ESS {post.ess:.0f}"
        )

    @property
    def posterior_mean(self) -> FloatArray:
        """Weighted mean of the posterior sample in the unit cube."""
        return np.asarray(self.posterior_weights @ self.posterior_z, dtype=np.float64)

    @property
    def n_evaluations(self) -> int:
        """Points simulated by the waves."""
        return sum(len(w.z) for w in self.waves)


# --------------------------------------------------------------------------- implausibility


def implausibility(mean: FloatArray, var_emulator: FloatArray, obs: Observations) -> FloatArray:
    """Implausibility ``I_t(z)`` of each point and target.

    Parameters
    ----------
    mean, var_emulator : numpy.ndarray
        Emulator means and variances, ``(n, n_targets)``.
    obs : Observations

    Returns
    -------
    numpy.ndarray
        ``(n, n_targets)``; 0 inside a published range, ``inf`` where the mean is NaN.
    """
    above = mean - obs.high
    below = obs.low - mean
    dist = np.maximum(np.maximum(above, below), 0.0)
    out = dist / np.sqrt(var_emulator + obs.var)
    return np.asarray(np.where(np.isnan(mean), np.inf, out), dtype=np.float64)


def kth_largest(values: FloatArray, k: int) -> FloatArray:
    """The ``k``-th largest value of each row (``k`` capped at the row length).

    Raises
    ------
    ValueError
        If ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, values.shape[1])
    return np.asarray(np.sort(values, axis=1)[:, -k], dtype=np.float64)


def _predict_all(
    emulators: Sequence[Emulator | None], z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Means and variances of every target's emulator; NaN mean where there is none."""
    n, t = len(z), len(emulators)
    mean = np.full((n, t), np.nan)
    var = np.zeros((n, t))
    for j, em in enumerate(emulators):
        if em is None:
            continue
        m, s = em.predict(z)
        mean[:, j], var[:, j] = m, s**2
    return mean, var


def _measure(
    emulators: Sequence[Emulator | None], z: FloatArray, obs: Observations, rank: int
) -> FloatArray:
    """The ``rank``-th largest implausibility of each point (targets without an
    emulator ignored)."""
    mean, var = _predict_all(emulators, z)
    imp = implausibility(mean, var, obs)
    have = np.array([em is not None for em in emulators])
    if not have.any():
        return np.zeros(len(z))
    return kth_largest(imp[:, have], rank)


# --------------------------------------------------------------------------- designs


def _prior_points(params: Sequence[Parameter], u: FloatArray) -> FloatArray:
    """Map uniforms ``(n, d)`` through each parameter's prior into the unit cube."""
    out = np.array(u, dtype=np.float64)
    for j, p in enumerate(params):
        if p.sample_unit(0.25) != 0.25 or p.sample_unit(0.75) != 0.75:
            out[:, j] = [p.sample_unit(float(v)) for v in u[:, j]]
    return out


def _sobol(d: int, n: int, streams: Streams, key: int) -> FloatArray:
    """``n`` scrambled Sobol points in ``[0, 1)^d``, the scramble seeded by a keyed stream."""
    seed = int(streams.uniform(_SOBOL_STREAM, key) * 2**32)
    m = max(1, math.ceil(math.log2(max(n, 2))))
    pts = qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)
    return np.asarray(pts[:n], dtype=np.float64)


def _farthest(points: FloatArray, n: int) -> FloatArray:
    """Greedy farthest-point subset of ``n`` points, starting nearest the centroid."""
    if len(points) <= n:
        return points.copy()
    start = int(np.argmin(np.sum((points - points.mean(axis=0)) ** 2, axis=1)))
    chosen = [start]
    dist = np.sum((points - points[start]) ** 2, axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.sum((points - points[nxt]) ** 2, axis=1))
    return np.asarray(points[chosen], dtype=np.float64)


def _cloud(base: FloatArray, n: int, streams: Streams, key: int) -> FloatArray:
    """``n`` points drawn around ``base`` (Gaussian with its per-input spread), clipped."""
    d = base.shape[1]
    spread = base.std(axis=0) if len(base) > 1 else np.full(d, 0.05)
    spread = np.maximum(spread, 0.01)
    ids = key * 10_000_000 + np.arange(n)
    pick = streams.uniforms("calibration.history_matching.cloud_pick", ids)
    idx = np.minimum((pick * len(base)).astype(np.int64), len(base) - 1)
    ids2 = np.repeat(ids, d)
    occ = np.tile(np.arange(d), n)
    eps = streams.normals("calibration.history_matching.cloud", ids2, occ).reshape(n, d)
    return np.asarray(np.clip(base[idx] + eps * spread, 0.0, 1.0), dtype=np.float64)


# --------------------------------------------------------------------------- waves


class _Space:
    """The NROY space: every wave's emulators and the candidates that pass them."""

    def __init__(self, obs: Observations, settings: HistoryMatchingSettings) -> None:
        self.obs = obs
        self.settings = settings
        self.waves: list[list[Emulator | None]] = []

    def passes(
        self, z: FloatArray, upto: int | None = None, cutoff: float | None = None
    ) -> BoolArray:
        """True where ``z`` is not implausible under the first ``upto`` waves (all), at
        ``cutoff`` (the settings' unless given)."""
        cut = self.settings.cutoff if cutoff is None else cutoff
        ok = np.ones(len(z), dtype=bool)
        for ems in reversed(self.waves[:upto]):  # the newest rules out most: fewer to check
            if not ok.any():
                break
            ok[ok] = _measure(ems, z[ok], self.obs, self.settings.implausibility_rank) <= cut
        return ok

    def worst(self, z: FloatArray, upto: int | None = None) -> FloatArray:
        """The largest over the first ``upto`` waves (all) of each point's measure."""
        out = np.zeros(len(z))
        for ems in self.waves[:upto]:
            out = np.maximum(out, _measure(ems, z, self.obs, self.settings.implausibility_rank))
        return out

    def passes_newest(self, z: FloatArray) -> BoolArray:
        """True where ``z`` is not implausible under the newest wave alone."""
        rank, cutoff = self.settings.implausibility_rank, self.settings.cutoff
        return np.asarray(_measure(self.waves[-1], z, self.obs, rank) <= cutoff, dtype=bool)

    def least_implausible(self, z: FloatArray, n: int) -> FloatArray:
        """The ``n`` points of ``z`` with the smallest largest-over-waves measure."""
        order = np.argsort(self.worst(z), kind="stable")[:n]
        return np.asarray(z[order], dtype=np.float64)


def _train(z: FloatArray, y: FloatArray, seed: int, restarts: int) -> list[Emulator | None]:
    """One emulator per output column on its finite rows (None if fewer than 3)."""
    out: list[Emulator | None] = []
    for j in range(y.shape[1]):
        ok = np.isfinite(y[:, j])
        if ok.sum() < 3:
            out.append(None)
            continue
        out.append(fit_emulator(z[ok], y[ok, j], random_state=seed, restarts=restarts))
    return out


def _sd_ratio(ems: Sequence[Emulator | None], z: FloatArray, obs: Observations) -> float:
    if len(z) == 0:
        return math.nan
    sample = z[:: max(1, len(z) // 500)]
    _, var = _predict_all(ems, sample)
    ratios = np.sqrt(var).mean(axis=0) / np.sqrt(obs.var)
    return float(np.max(ratios))


def history_match(
    simulate: Simulate,
    params: Sequence[Parameter],
    obs: Observations,
    settings: HistoryMatchingSettings,
    streams: Streams,
    on_wave: Callable[[Wave], None] | None = None,
) -> HistoryMatchResult:
    """Run the waves, then sample the posterior from the last wave's emulators.

    Parameters
    ----------
    simulate : callable
        ``simulate(zs, wave)`` returns the outputs ``(len(zs), n_targets)`` of the
        unit-cube points ``zs`` in the order of ``obs`` (NaN where missing).
    params : sequence of Parameter
        The free parameters (their priors).
    obs : Observations
        Published intervals, other variances and weights per target.
    settings : HistoryMatchingSettings
    streams : sim.rng.Streams
        Keyed streams for the designs, candidates and posterior draws.
    on_wave : callable, optional
        Called with each wave once its NROY space is known.

    Returns
    -------
    HistoryMatchResult

    Raises
    ------
    ValueError
        If ``simulate`` returns outputs of the wrong shape or no target gets an emulator
        (fewer than 3 finite outputs each).
    """
    d = len(params)
    s = settings
    space = _Space(obs, s)
    candidates = _prior_points(params, _sobol(d, s.n_candidates, streams, 0))
    pool = candidates
    fraction = 1.0
    all_z = np.empty((0, d))
    all_y = np.empty((0, len(obs.names)))
    earlier_pool = pool
    waves: list[Wave] = []
    log: list[str] = []
    message = f"stopped after {s.max_waves} waves"
    for k in range(1, s.max_waves + 1):
        design = pool[: s.points_per_wave] if k == 1 else _farthest(pool, s.points_per_wave)
        y = np.asarray(simulate(list(design), k), dtype=np.float64)
        if y.shape != (len(design), len(obs.names)):
            want = (len(design), len(obs.names))
            raise ValueError(f"simulate returned outputs of shape {y.shape}, expected {want}")
        all_z, all_y = np.vstack([all_z, design]), np.vstack([all_y, y])
        keep = space.passes(all_z)
        keep[-len(design) :] = True  # the wave's own runs, even in a least-implausible fallback
        recent = np.flatnonzero(keep)[-s.max_training_points :]
        train_z, train_y = all_z[recent], all_y[recent]
        ems = _train(train_z, train_y, seed=k, restarts=s.emulator_restarts)
        if all(em is None for em in ems):
            raise ValueError("no target has 3 finite simulated values to emulate")
        space.waves.append(ems)
        passed = space.passes_newest(pool)
        share = float(passed.mean()) if len(pool) else 0.0
        new_fraction = fraction * share
        new_pool, note = _refill(space, pool[passed], candidates, streams, k)
        wave = Wave(
            k,
            design,
            y,
            ems,
            len(train_z),
            new_fraction,
            len(new_pool),
            _sd_ratio(ems, new_pool, obs),
            note,
        )
        waves.append(wave)
        if note:
            log.append(f"wave {k}: {note}")
        if on_wave is not None:
            on_wave(wave)
        shrink = share
        earlier_pool, pool, fraction = pool, new_pool, new_fraction
        if k >= 2 and shrink > s.min_shrink:
            message = (
                f"wave {k} kept {shrink:.2f} of the previous NROY space (> min_shrink "
                f"{s.min_shrink}): stopped"
            )
            break
    post, note = _posterior(space, params, obs, (earlier_pool, pool), s, streams)
    log += [note] if note else []
    predictive = _resample(post.particles, post.weights, s.predictive_draws, streams)
    return HistoryMatchResult(waves, pool, post, predictive, message, log)


def _refill(
    space: _Space, kept: FloatArray, candidates: FloatArray, streams: Streams, wave: int
) -> tuple[FloatArray, str]:
    """Top the NROY candidates up to ``max(MIN_POOL, points_per_wave)`` by drawing around
    them; if none pass at all, keep the least implausible candidates instead."""
    s = space.settings
    want = max(MIN_POOL, s.points_per_wave)
    if len(kept) >= want:
        return kept, ""
    note = ""
    if len(kept) == 0:
        n_keep = max(s.points_per_wave, int(FALLBACK_SHARE * len(candidates)))
        base = space.least_implausible(candidates, n_keep)
        note = (
            f"no candidate is non-implausible at cutoff {s.cutoff}: kept the {n_keep} least "
            "implausible (the data and the model disagree beyond the stated variances)"
        )
        return base, note
    pool = kept
    for r in range(AUGMENT_ROUNDS):
        cloud = _cloud(pool, s.n_candidates, streams, wave * AUGMENT_ROUNDS + r + 1)
        pool = np.vstack([pool, cloud[space.passes(cloud)]])
        if len(pool) >= want:
            break
    note = f"{len(kept)} prior candidates not ruled out; topped up to {len(pool)}"
    return pool, note


# --------------------------------------------------------------------------- posterior


def _log_likelihood(
    emulators: Sequence[Emulator | None], z: FloatArray, obs: Observations
) -> FloatArray:
    mean, var = _predict_all(emulators, z)
    total = var + obs.var
    dist = np.maximum(np.maximum(mean - obs.high, obs.low - mean), 0.0)
    have = ~np.isnan(mean[0]) if len(z) else np.zeros(len(obs.names), dtype=bool)
    terms = -0.5 * obs.weights * (dist**2 / total + np.log(total))
    return np.asarray(terms[:, have].sum(axis=1), dtype=np.float64)


def _log_prior(params: Sequence[Parameter], z: FloatArray) -> FloatArray:
    """The spec's log prior density of each point in the unit cube (``-inf`` outside)."""
    inside = np.all((z >= 0.0) & (z <= 1.0), axis=1)
    out = np.where(inside, 0.0, -np.inf)
    for j, p in enumerate(params):
        if p.log_prior_unit(0.25) != 0.0 or p.log_prior_unit(0.75) != 0.0:  # not flat in z
            out[inside] += [p.log_prior_unit(float(v)) for v in z[inside, j]]
    return out


def _normalise(logw: FloatArray) -> FloatArray:
    """Normalised weights from log weights (equal if none is finite)."""
    top = float(np.max(logw))
    if not math.isfinite(top):
        return np.full(len(logw), 1.0 / len(logw))
    w = np.exp(logw - top)
    return np.asarray(w / w.sum(), dtype=np.float64)


def _posterior(
    space: _Space,
    params: Sequence[Parameter],
    obs: Observations,
    pools: tuple[FloatArray, FloatArray],
    s: HistoryMatchingSettings,
    streams: Streams,
) -> tuple[SMCResult, str]:
    """Tempered SMC on the last wave's emulators (see the module doc), and a note if the
    support had to be widened.

    ``pools`` are the NROY candidates before the last wave and after it. The support is
    the earlier waves' NROY space. If no final candidate is in it, the final candidates
    are a least-implausible fallback (:func:`_refill`) and so is the support: the space at
    least as plausible under every wave as the least plausible of them (where the last
    emulators were trained; outside it their variance, not the data, would draw the
    posterior).
    """
    last = space.waves[-1]
    earlier = len(space.waves) - 1
    before, nroy = pools
    upto, cutoff, note = earlier, s.cutoff, ""
    if earlier > 0 and not space.passes(nroy, earlier).any():
        upto, cutoff = len(space.waves), float(np.max(space.worst(nroy)))
        note = (
            f"posterior: no NROY candidate passes the earlier waves at cutoff {s.cutoff}; "
            f"its support is the least implausible space, every wave's measure up to "
            f"{cutoff:.3g}"
        )

    def log_prior(z: FloatArray) -> FloatArray:
        return _log_prior(params, z)

    def support(z: FloatArray) -> BoolArray:
        return space.passes(z, upto, cutoff)

    def log_likelihood(z: FloatArray) -> FloatArray:
        return _log_likelihood(last, z, obs)

    inside = support(before)
    initial = before[inside] if inside.any() else nroy
    result = smc_sample(
        log_prior,
        log_likelihood,
        initial,
        streams,
        support=support if upto > 0 else None,
        n_particles=s.posterior_draws,
        prior_steps=PRIOR_STEPS if earlier > 0 else 0,
        ess_share=s.smc_ess_share,
        mcmc_steps=s.mcmc_steps,
        stream="calibration.history_matching.smc",
    )
    return result, note


def _resample(z: FloatArray, w: FloatArray, n: int, streams: Streams) -> FloatArray:
    """Systematic resampling of ``n`` draws from the weighted sample."""
    u0 = streams.uniform("calibration.history_matching.resample", 0)
    marks = (u0 + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w), marks, side="right"), len(w) - 1)
    return np.asarray(z[idx], dtype=np.float64)


# --------------------------------------------------------------------------- sensitivity


def sensitivity(emulators: Sequence[Emulator | None], z: FloatArray) -> FloatArray:
    """Mean absolute gradient of each emulator's mean over points ``z``.

    Central differences with step :data:`GRADIENT_STEP` (clipped at the cube's faces),
    so entry ``[t, j]`` is how much target ``t`` moves, on average, per unit-cube width
    of parameter ``j`` (the whole prior range). NaN for a target without an emulator.

    Parameters
    ----------
    emulators : sequence of Emulator or None
    z : numpy.ndarray
        Points ``(n, d)``, e.g. the NROY candidates.

    Returns
    -------
    numpy.ndarray
        ``(n_targets, d)``.
    """
    d = z.shape[1]
    out = np.full((len(emulators), d), np.nan)
    for j in range(d):
        up, down = z.copy(), z.copy()
        up[:, j] = np.minimum(z[:, j] + GRADIENT_STEP, 1.0)
        down[:, j] = np.maximum(z[:, j] - GRADIENT_STEP, 0.0)
        step = up[:, j] - down[:, j]
        for t, em in enumerate(emulators):
            if em is None:
                continue
            m_up, _ = em.predict(up)
            m_down, _ = em.predict(down)
            out[t, j] = float(np.mean(np.abs(m_up - m_down) / step))
    return out
