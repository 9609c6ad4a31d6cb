"""The Bayesian method: adaptive population Monte Carlo ABC (ABC-PMC).

The algorithm of Lenormand, Jabot & Deffuant (2013, Computational Statistics
28: 2777-2796), in the unit cube:

1. Draw ``N`` particles from the prior and simulate each; the distance of a
   particle is the objective (weighted squared standardised errors).
2. Keep the ``N_a = alpha N`` closest; the tolerance ``eps`` is the largest
   distance kept. Weights are 1.
3. Each later generation proposes ``N - N_a`` particles: pick a kept particle
   by weight, perturb it with a Gaussian kernel whose covariance is
   ``kernel_scale`` times the weighted covariance of the kept particles
   (redrawn until it falls inside the prior's support), simulate it, and give
   it the importance weight ``prior(z) / sum_j w_j N(z; z_j, Sigma)``.
4. Pool the kept and new particles, keep the ``N_a`` closest (so the
   tolerance only decreases) and stop when fewer than ``min_acceptance`` of
   the proposals beat the previous tolerance, or after ``max_generations``.

The kept particles of the last generation, with their normalised weights, are
the posterior sample. With few particles in many dimensions a handful of
importance weights can dominate, so every use of the weights (picking,
kernel, summaries) truncates them at ``sqrt(n)`` times their mean (truncated
importance sampling, Ionides 2008, JCGS 17: 295-311), trading a little bias
for much less variance; :attr:`Generation.ess` reports the effective sample
size after truncation. All randomness comes from :class:`sim.rng.Streams`
keyed by (generation, proposal, attempt), so a rerun proposes exactly the same
particles and replays them from the evaluation cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.spec import AbcSettings, Parameter
from sim.rng import Streams

__all__ = ["AbcResult", "Generation", "abc_pmc", "weighted_quantile"]

FloatArray = npt.NDArray[np.float64]
Distances = Callable[[Sequence[FloatArray]], list[float]]

MAX_ATTEMPTS = 200
"""Kernel redraws before a proposal is clipped into the unit cube."""
_STRIDE = 1_000_000


@dataclass(frozen=True)
class Generation:
    """The particles kept after one generation.

    Attributes
    ----------
    index : int
        Generation number (0 = prior).
    z : numpy.ndarray
        Particles in the unit cube, ``(N_a, d)``.
    weights : numpy.ndarray
        Importance weights ``prior / proposal density`` (1 for prior draws), not
        normalised; see :attr:`normalised`.
    distances : numpy.ndarray
        Objective of each particle.
    epsilon : float
        Tolerance: the largest kept distance.
    n_proposed : int
        Particles simulated in this generation.
    acceptance : float
        Share of this generation's proposals below the previous tolerance (1 for gen 0).
    """

    index: int
    z: FloatArray
    weights: FloatArray
    distances: FloatArray
    epsilon: float
    n_proposed: int
    acceptance: float

    @property
    def normalised(self) -> FloatArray:
        """Weights truncated at ``sqrt(n)`` times their mean, then scaled to sum to 1."""
        w = self.weights
        capped = np.minimum(w, float(np.mean(w)) * math.sqrt(len(w)))
        return np.asarray(capped / capped.sum(), dtype=np.float64)

    @property
    def ess(self) -> float:
        """Effective sample size of the (truncated) weights, ``1 / sum(w**2)``."""
        return float(1.0 / np.sum(self.normalised**2))


@dataclass(frozen=True)
class AbcResult:
    """All kept generations; the last is the posterior sample."""

    generations: list[Generation]
    message: str

    @property
    def final(self) -> Generation:
        """The posterior sample."""
        return self.generations[-1]

    @property
    def n_evaluations(self) -> int:
        """Particles simulated in all."""
        return sum(g.n_proposed for g in self.generations)


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The ``q`` quantile of ``values`` under ``weights`` (inverse of the weighted CDF)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / np.sum(w)
    idx = int(np.searchsorted(cum, q, side="left"))
    return float(v[min(idx, len(v) - 1)])


def _covariance(z: FloatArray, w: FloatArray, scale: float) -> FloatArray:
    """``scale`` times the weighted covariance, with a small ridge so it stays positive."""
    d = z.shape[1]
    mean = w @ z / w.sum()
    dev = z - mean
    cov = (dev * w[:, None]).T @ dev / w.sum()
    return np.asarray(scale * cov + 1e-8 * np.eye(d), dtype=np.float64)


def _log_prior(params: Sequence[Parameter], z: FloatArray) -> float:
    return sum(p.log_prior_unit(float(zi)) for p, zi in zip(params, z, strict=True))


def _prior_sample(params: Sequence[Parameter], n: int, streams: Streams) -> FloatArray:
    d = len(params)
    ids = np.repeat(np.arange(n), d)
    occ = np.tile(np.arange(d), n)
    u = streams.uniforms("calibration.abc.prior", ids, occ).reshape(n, d)
    rows = [[p.sample_unit(float(u[i, j])) for j, p in enumerate(params)] for i in range(n)]
    return np.array(rows, dtype=np.float64)


def _perturb(
    params: Sequence[Parameter],
    centre: FloatArray,
    chol: FloatArray,
    streams: Streams,
    claimant: int,
) -> FloatArray:
    """One kernel draw around ``centre`` inside the prior's support (clipped at last)."""
    d = len(centre)
    for attempt in range(MAX_ATTEMPTS):
        occ = attempt * d + np.arange(d)
        step = chol @ streams.normals("calibration.abc.kernel", np.full(d, claimant), occ)
        z = centre + step
        if np.all((z >= 0.0) & (z <= 1.0)) and math.isfinite(_log_prior(params, z)):
            return np.asarray(z, dtype=np.float64)
    return np.asarray(np.clip(centre + step, 0.0, 1.0), dtype=np.float64)


def _kernel_log_density(x: FloatArray, centres: FloatArray, cov: FloatArray) -> FloatArray:
    """Log Gaussian density of ``x`` around each centre (full normalising constant)."""
    d = len(x)
    inv = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    dev = centres - x
    q = np.einsum("ij,jk,ik->i", dev, inv, dev)
    return np.asarray(-0.5 * (q + d * math.log(2.0 * math.pi) + logdet), dtype=np.float64)


def _weight(params: Sequence[Parameter], z: FloatArray, prev: Generation, cov: FloatArray) -> float:
    logs = _kernel_log_density(z, prev.z, cov) + np.log(prev.normalised)
    top = float(np.max(logs))
    log_q = top + math.log(float(np.sum(np.exp(logs - top))))
    return math.exp(_log_prior(params, z) - log_q)


def _keep(
    z: FloatArray, w: FloatArray, dist: FloatArray, n_keep: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    order = np.argsort(dist, kind="stable")[:n_keep]
    return z[order], w[order], dist[order]


def _propose(
    params: Sequence[Parameter], prev: Generation, cov: FloatArray, n: int, streams: Streams
) -> list[FloatArray]:
    g = prev.index + 1
    cum = np.cumsum(prev.normalised)
    picks = streams.uniforms("calibration.abc.pick", g * _STRIDE + np.arange(n))
    idx = np.minimum(np.searchsorted(cum, picks, side="right"), len(cum) - 1)
    chol = np.asarray(np.linalg.cholesky(cov), dtype=np.float64)
    return [_perturb(params, prev.z[i], chol, streams, g * _STRIDE + k) for k, i in enumerate(idx)]


def abc_pmc(
    distances: Distances,
    params: Sequence[Parameter],
    settings: AbcSettings,
    streams: Streams,
    on_generation: Callable[[Generation], None] | None = None,
) -> AbcResult:
    """Run ABC-PMC and return every kept generation.

    Parameters
    ----------
    distances : callable
        Distances (objective values) of a list of unit-cube points, evaluated together.
    params : sequence of Parameter
        The free parameters (their priors and transforms).
    settings : AbcSettings
        Particles, alpha, generations, stopping acceptance and kernel scale.
    streams : sim.rng.Streams
        Keyed streams for the prior draws, picks and kernel draws.
    on_generation : callable, optional
        Called with each generation as it is kept.

    Returns
    -------
    AbcResult

    Raises
    ------
    ValueError
        If fewer than 2 particles would be kept (``alpha * particles < 2``).
    """
    n = settings.particles
    n_keep = int(settings.alpha * n)
    if n_keep < 2:
        raise ValueError(f"alpha x particles = {settings.alpha * n:.3g}: at least 2 must be kept")
    z0 = _prior_sample(params, n, streams)
    d0 = np.array(distances(list(z0)))
    z, w, dist = _keep(z0, np.ones(n), d0, n_keep)
    gen = Generation(0, z, w, dist, float(dist[-1]), n, 1.0)
    gens = [gen]
    if on_generation is not None:
        on_generation(gen)
    message = f"stopped after {settings.max_generations} generations"
    for _ in range(1, settings.max_generations):
        cov = _covariance(gen.z, gen.normalised, settings.kernel_scale)
        new = _propose(params, gen, cov, n - n_keep, streams)
        new_d = np.array(distances(new))
        new_w = np.array([_weight(params, x, gen, cov) for x in new])
        acceptance = float(np.mean(new_d < gen.epsilon))
        pool_z = np.vstack([gen.z, np.array(new)])
        pool_w = np.concatenate([gen.weights, new_w])
        pool_d = np.concatenate([gen.distances, new_d])
        z, w, dist = _keep(pool_z, pool_w, pool_d, n_keep)
        gen = Generation(gen.index + 1, z, w, dist, float(dist[-1]), len(new), acceptance)
        gens.append(gen)
        if on_generation is not None:
            on_generation(gen)
        if acceptance < settings.min_acceptance:
            message = f"acceptance {acceptance:.3f} below {settings.min_acceptance}"
            break
    return AbcResult(gens, message)
