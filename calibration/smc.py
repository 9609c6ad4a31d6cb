"""Sequential Monte Carlo with likelihood tempering: a generic posterior sampler.

The sampler of Del Moral, Doucet & Jasra (2006, JRSS B 68: 411-436) for a posterior
``pi(x) ∝ prior(x) L(x)``, through the bridge of tempered distributions::

    pi_phi(x) ∝ prior(x) L(x) ** phi,    0 = phi_0 < phi_1 < ... < phi_K = 1.

The particles start as a (weighted) sample of the prior restricted to its support (where
``log_prior`` is finite and the optional ``support`` indicator is true), optionally moved
``prior_steps`` Metropolis steps targeting that prior first (for a start that is only
roughly from it); each stage then

1. **Chooses the next temperature** adaptively (Jasra, Stephens, Doucet & Tsagaris 2011,
   Scand. J. Stat. 38: 1-22; Beskos, Jasra, Kantas & Thiery 2016, Ann. Appl. Probab. 26:
   1111-1146): the largest ``phi_k <= 1`` whose conditional effective sample size (Zhou,
   Johansen & Aston 2016, JCGS 25: 701-726)::

       CESS = (sum_i W_i w_i) ** 2 / sum_i W_i w_i ** 2,   w_i = L(x_i) ** (phi_k - phi_{k-1})

   is at least ``ess_share`` (``W`` the normalised current weights), found by bisection
   (the CESS falls as the step grows). A flat likelihood goes to 1 in one stage.
2. **Reweights** by ``w_i``; ``log sum_i W_i w_i`` adds to the log evidence.
3. **Resamples** ``n_particles`` systematically (equal weights after).
4. **Moves** each particle ``mcmc_steps`` times by random-walk Metropolis targeting
   ``pi_phi_k``, with Gaussian proposals of covariance ``scale**2 * Sigma`` where ``Sigma``
   is the weighted particle covariance after step 2 (plus a small ridge) and ``scale``
   starts at ``2.38 / sqrt(d)`` (Roberts, Gelman & Gilks 1997). A proposal with
   ``log_prior = -inf`` is rejected without evaluating the likelihood, and ``support``
   is evaluated only where the rest of the Metropolis test accepts. After a step whose
   acceptance rate is outside ``[ACCEPT_LOW, ACCEPT_HIGH]`` the scale is multiplied by
   ``exp(ADAPT_GAIN * (rate - ACCEPT_MID))`` for the next step (and stage).

The particles of the last stage are returned with equal weights; ``SMCResult.ess`` is the
ESS of its reweighting (before the resampling and the moves), and the log evidence is the
sum of the stages' ``log sum_i W_i w_i``.

All randomness comes from :class:`sim.rng.Streams`, keyed by the stage and the step
(``"{stream}.resample"`` with the stage as id, ``"{stream}.move.{stage}.{step}"``,
``"{stream}.accept.{stage}.{step}"``), so the same streams give the same sample bit for
bit and every draw is independent of every other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.rng import Streams

__all__ = ["LogDensity", "SMCResult", "Support", "smc_sample"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
LogDensity = Callable[[FloatArray], FloatArray]
"""A log density, up to a constant, of each row of an ``(n, d)`` array; returns ``(n,)``."""
Support = Callable[[FloatArray], BoolArray]
"""An indicator of each row of an ``(n, d)`` array; returns ``(n,)`` booleans."""

BISECTIONS = 60
"""Bisection steps for the next temperature (the step is found to ``2**-60`` of the gap)."""
MAX_STAGES = 500
"""Default cap on the stages; the last one allowed goes straight to temperature 1."""
RIDGE = 1e-9
"""Ridge added to the proposal covariance, as a share of its mean variance."""
RIDGE_FLOOR = 1e-14
"""Absolute ridge (squared units of ``x``), for particles that have all collapsed."""
ACCEPT_LOW, ACCEPT_MID, ACCEPT_HIGH = 0.15, 0.3, 0.5
"""The acceptance band the proposal scale is kept in, and the rate it aims at outside it."""
ADAPT_GAIN = 2.0
"""Gain of the multiplicative scale adaptation (``exp(2 * -0.3)``: 0.55 at no acceptance)."""
SCALE_RANGE = (1e-3, 10.0)
"""The proposal scale stays within these multiples of ``2.38 / sqrt(d)``."""


@dataclass(frozen=True)
class SMCResult:
    """A tempered SMC sample and its diagnostics.

    Attributes
    ----------
    particles : numpy.ndarray
        The posterior sample, ``(n_particles, d)``, in the units of ``initial``.
    weights : numpy.ndarray
        Their normalised weights, ``(n_particles,)``: all ``1 / n_particles`` (the last
        stage resamples before it moves).
    log_likelihood : numpy.ndarray
        ``log L`` at each particle, ``(n_particles,)``.
    temperatures : numpy.ndarray
        The ladder ``0 = phi_0 < ... < phi_K = 1``, ``(K + 1,)``.
    acceptance : numpy.ndarray
        Mean Metropolis acceptance rate of each stage's moves, ``(K,)`` (NaN without moves).
    stage_ess : numpy.ndarray
        Effective sample size ``1 / sum W**2`` of each stage's reweighted particles, before
        resampling, in particles, ``(K,)``.
    scales : numpy.ndarray
        Proposal scale of each stage's first move, as a multiple of ``sqrt(Sigma)``, ``(K,)``.
    log_evidence : float
        Estimate of ``log`` of the likelihood's mean under the normalised prior the initial
        particles represent: ``sum_k log sum_i W_i w_i``.
    n_evaluations : int
        Points at which ``log_likelihood`` was evaluated.
    prior_acceptance : float
        Mean acceptance rate of the moves at temperature 0 (NaN without them).
    """

    particles: FloatArray
    weights: FloatArray
    log_likelihood: FloatArray
    temperatures: FloatArray
    acceptance: FloatArray
    stage_ess: FloatArray
    scales: FloatArray
    log_evidence: float
    n_evaluations: int
    prior_acceptance: float = math.nan

    @property
    def n_stages(self) -> int:
        """Tempering stages ``K``."""
        return len(self.temperatures) - 1

    @property
    def ess(self) -> float:
        """Effective sample size of the last stage's reweighting, in particles."""
        return float(self.stage_ess[-1])

    @property
    def mean_acceptance(self) -> float:
        """Mean of the stages' acceptance rates (NaN without moves)."""
        ok = self.acceptance[np.isfinite(self.acceptance)]
        return float(np.mean(ok)) if len(ok) else math.nan


@dataclass
class _Population:
    """Particles with their log prior, log likelihood and normalised log weights."""

    x: FloatArray
    log_prior: FloatArray
    log_lik: FloatArray
    log_w: FloatArray


# --------------------------------------------------------------------------- small pieces


def _logsumexp(a: FloatArray) -> float:
    """``log sum exp(a)``, stable; ``-inf`` when every entry is ``-inf``."""
    top = float(np.max(a))
    if not math.isfinite(top):
        return top
    return top + math.log(float(np.sum(np.exp(a - top))))


def _normalised(log_w: FloatArray) -> FloatArray:
    """Log weights shifted so that their exponentials sum to 1."""
    return np.asarray(log_w - _logsumexp(log_w), dtype=np.float64)


def _checked(values: FloatArray, n: int, what: str) -> FloatArray:
    """``values`` as a float array of shape ``(n,)`` with no NaN and no ``+inf``.

    Raises
    ------
    ValueError
        If the shape is not ``(n,)`` or an entry is NaN or ``+inf``.
    """
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n,):
        raise ValueError(f"{what} returned shape {out.shape}, expected ({n},)")
    if np.any(np.isnan(out)) or np.any(out == np.inf):
        raise ValueError(f"{what} returned NaN or +inf")
    return out


def _tempered(log_w: FloatArray, log_lik: FloatArray, step: float) -> FloatArray:
    """``log W_i + step * log L_i``, ``-inf`` where the weight is 0 (no ``0 * inf``)."""
    return np.where(np.isfinite(log_w), log_w + step * log_lik, -np.inf)


def _cess_share(log_w: FloatArray, log_lik: FloatArray, step: float) -> float:
    """Conditional ESS of a temperature step, as a share of the particles (in (0, 1])."""
    once = _logsumexp(_tempered(log_w, log_lik, step))
    twice = _logsumexp(_tempered(log_w, log_lik, 2.0 * step))
    return math.exp(min(2.0 * once - twice, 0.0))


def _next_temperature(pop: _Population, phi: float, share: float, last: bool) -> float:
    """The largest temperature in ``(phi, 1]`` whose CESS is at least ``share`` (1 if
    ``last``, or if the step to 1 keeps that share); strictly above ``phi``."""
    gap = 1.0 - phi
    if last or _cess_share(pop.log_w, pop.log_lik, gap) >= share:
        return 1.0
    lo, hi = 0.0, gap
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        if _cess_share(pop.log_w, pop.log_lik, mid) >= share:
            lo = mid
        else:
            hi = mid
    nxt = phi + (lo if lo > 0.0 else hi)
    return min(max(nxt, float(np.nextafter(phi, 2.0))), 1.0)


def _systematic(log_w: FloatArray, n: int, u0: float) -> IntArray:
    """Indices of ``n`` draws by systematic resampling with offset ``u0`` in ``[0, 1)``;
    a particle of zero weight is never drawn."""
    cum = np.cumsum(np.exp(log_w))
    cum /= cum[-1]
    marks = (u0 + np.arange(n)) / n
    idx = np.searchsorted(cum, marks, side="right")
    return np.asarray(np.minimum(idx, len(cum) - 1), dtype=np.int64)


def _proposal_factor(x: FloatArray, log_w: FloatArray) -> FloatArray:
    """Cholesky factor of the weighted covariance of ``x`` plus a ridge, ``(d, d)``."""
    w = np.exp(log_w)
    dev = x - w @ x
    cov = (dev * w[:, None]).T @ dev
    d = x.shape[1]
    ridge = RIDGE * float(np.trace(cov)) / d + RIDGE_FLOOR
    cov = 0.5 * (cov + cov.T) + ridge * np.eye(d)
    try:
        return np.asarray(np.linalg.cholesky(cov), dtype=np.float64)
    except np.linalg.LinAlgError:  # not positive definite in floating point: the diagonal
        return np.asarray(np.diag(np.sqrt(np.diag(cov))), dtype=np.float64)


def _adapted(scale: float, rate: float, base: float) -> float:
    """The next proposal scale after a step with acceptance ``rate``."""
    if ACCEPT_LOW <= rate <= ACCEPT_HIGH:
        return scale
    new = scale * math.exp(ADAPT_GAIN * (rate - ACCEPT_MID))
    return min(max(new, SCALE_RANGE[0] * base), SCALE_RANGE[1] * base)


# --------------------------------------------------------------------------- stages


@dataclass
class _Target:
    """The densities of a run, the streams, and the adapted proposal scale."""

    log_prior: LogDensity
    log_likelihood: LogDensity
    support: Support | None
    streams: Streams
    stream: str
    base: float
    scale: float

    def prior(self, x: FloatArray) -> FloatArray:
        """Log prior of each row, ``-inf`` outside the support (``support`` evaluated
        only where ``log_prior`` is finite)."""
        lp = _checked(self.log_prior(x), len(x), "log_prior")
        return self._restricted(x, lp, np.isfinite(lp))

    def _restricted(self, x: FloatArray, lp: FloatArray, where: BoolArray) -> FloatArray:
        """``lp`` set to ``-inf`` at the rows of ``where`` outside the support."""
        if self.support is None or not where.any():
            return lp
        inside = np.asarray(self.support(x[where]), dtype=bool)
        if inside.shape != (int(where.sum()),):
            raise ValueError(f"support returned shape {inside.shape}, expected ({where.sum()},)")
        out = lp.copy()
        out[np.flatnonzero(where)[~inside]] = -np.inf
        return out

    def likelihood(self, x: FloatArray) -> FloatArray:
        """Log likelihood of each row (call only where the prior is positive)."""
        return _checked(self.log_likelihood(x), len(x), "log_likelihood")

    def step(
        self, pop: _Population, phi: float, factor: FloatArray, draws: tuple[FloatArray, FloatArray]
    ) -> tuple[float, int]:
        """One random-walk Metropolis step of every particle (in place) targeting
        ``prior * L**phi``; return the acceptance rate and the likelihood evaluations.

        ``draws`` are the step's standard normals ``(n, d)`` and uniforms ``(n,)``. The
        Metropolis test runs on the log prior and likelihood first; ``support`` is then
        evaluated only at the proposals that pass it (the same decisions as evaluating
        it first). At ``phi = 0`` the likelihood is not evaluated.
        """
        eps, u = draws
        proposal = pop.x + self.scale * (eps @ factor.T)
        lp = _checked(self.log_prior(proposal), len(u), "log_prior")
        ok = np.isfinite(lp)
        log_ratio = np.full(len(u), -np.inf)
        log_ratio[ok] = lp[ok] - pop.log_prior[ok]
        ll = np.zeros(len(u))
        n_eval = 0
        if phi > 0.0:
            ll[ok] = self.likelihood(proposal[ok])
            n_eval = int(ok.sum())
            log_ratio[ok] += phi * (ll[ok] - pop.log_lik[ok])
        accept = u < np.exp(np.minimum(log_ratio, 0.0))
        lp = self._restricted(proposal, lp, accept)
        accept &= np.isfinite(lp)
        pop.x[accept], pop.log_prior[accept], pop.log_lik[accept] = (
            proposal[accept],
            lp[accept],
            ll[accept],
        )
        return float(np.mean(accept)), n_eval

    def moves(
        self, pop: _Population, phi: float, factor: FloatArray, stage: int, steps: int
    ) -> tuple[float, int]:
        """``steps`` Metropolis steps of every particle at temperature ``phi``, adapting
        the scale after each; return the mean acceptance rate (NaN without steps) and the
        likelihood evaluations."""
        n, d = pop.x.shape
        ids, occ = np.repeat(np.arange(n), d), np.tile(np.arange(d), n)
        rates, n_eval = [], 0
        for j in range(steps):
            eps = self.streams.normals(f"{self.stream}.move.{stage}.{j}", ids, occ)
            u = self.streams.uniforms(f"{self.stream}.accept.{stage}.{j}", np.arange(n))
            rate, k = self.step(pop, phi, factor, (eps.reshape(n, d), u))
            rates.append(rate)
            n_eval += k
            self.scale = _adapted(self.scale, rate, self.base)
        return (float(np.mean(rates)) if rates else math.nan), n_eval


def _initial(
    target: _Target, initial: FloatArray, initial_log_weights: FloatArray | None
) -> _Population:
    """The starting population: log prior, normalised log weights (0 outside the support);
    the log likelihood is not evaluated yet (NaN).

    Raises
    ------
    ValueError
        If ``initial`` is not a finite ``(m, d)`` array with ``m >= 1`` and ``d >= 1``, the
        weights do not match it, or no point has a finite log prior and weight.
    """
    x = np.array(initial, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"initial must be an (n, d) array with n, d >= 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("initial has a NaN or infinite coordinate")
    m = len(x)
    log_w0 = np.zeros(m) if initial_log_weights is None else np.asarray(initial_log_weights)
    if log_w0.shape != (m,) or np.any(np.isnan(log_w0)) or np.any(log_w0 == np.inf):
        raise ValueError(f"initial_log_weights must be ({m},) with no NaN or +inf")
    lp = target.prior(x)
    keep = np.isfinite(lp) & np.isfinite(log_w0)
    if not keep.any():
        raise ValueError("no initial point has a finite log prior (and log weight)")
    log_w = _normalised(np.where(keep, log_w0.astype(np.float64), -np.inf))
    return _Population(x, lp, np.full(m, np.nan), log_w)


def _likelihood_at(pop: _Population, target: _Target) -> int:
    """Fill in the log likelihood of the particles of positive weight (``-inf`` for the
    rest); return the evaluations.

    Raises
    ------
    ValueError
        If the likelihood is zero at every particle of positive weight.
    """
    ok = np.isfinite(pop.log_w)
    pop.log_lik = np.full(len(pop.x), -np.inf)
    pop.log_lik[ok] = target.likelihood(pop.x[ok])
    if not np.isfinite(pop.log_lik[ok]).any():
        raise ValueError("the likelihood is zero at every initial point in the support")
    return int(ok.sum())


def _resampled(pop: _Population, n: int, u0: float) -> _Population:
    """``n`` particles drawn systematically by weight, with equal weights."""
    idx = _systematic(pop.log_w, n, u0)
    return _Population(pop.x[idx], pop.log_prior[idx], pop.log_lik[idx], np.full(n, -math.log(n)))


def _check_settings(
    ess_share: float, mcmc_steps: int, prior_steps: int, n_particles: int | None, max_stages: int
) -> None:
    """Raise ValueError naming the first setting out of range."""
    if not 0.0 < ess_share < 1.0:
        raise ValueError(f"ess_share must be in (0, 1), got {ess_share}")
    if mcmc_steps < 0 or prior_steps < 0:
        raise ValueError(
            f"mcmc_steps and prior_steps must be >= 0, got {mcmc_steps}, {prior_steps}"
        )
    if n_particles is not None and n_particles < 1:
        raise ValueError(f"n_particles must be >= 1, got {n_particles}")
    if max_stages < 1:
        raise ValueError(f"max_stages must be >= 1, got {max_stages}")


# --------------------------------------------------------------------------- the sampler


def smc_sample(
    log_prior: LogDensity,
    log_likelihood: LogDensity,
    initial: FloatArray,
    streams: Streams,
    *,
    support: Support | None = None,
    n_particles: int | None = None,
    initial_log_weights: FloatArray | None = None,
    prior_steps: int = 0,
    ess_share: float = 0.5,
    mcmc_steps: int = 10,
    max_stages: int = MAX_STAGES,
    stream: str = "calibration.smc",
) -> SMCResult:
    """Sample ``prior * likelihood`` by SMC with adaptive likelihood tempering.

    Parameters
    ----------
    log_prior : callable
        Log prior density (up to a constant) of each row of an ``(n, d)`` array; ``-inf``
        outside the support (a proposal there is rejected).
    log_likelihood : callable
        Log likelihood of each row; only called on rows with a finite log prior.
    initial : numpy.ndarray
        Starting points ``(m, d)``: a sample of the prior restricted to its support, or
        of another distribution covering the support, corrected by
        ``initial_log_weights`` or ``prior_steps``. Points outside the support get
        weight 0.
    streams : sim.rng.Streams
        Keyed streams for the resampling, proposals and acceptances.
    support : callable, optional
        A costly restriction of the prior, ``True`` for the rows inside it: the prior is
        ``exp(log_prior) * support``. It is evaluated last, only at the proposals the
        Metropolis test on the rest accepts (the same sample as folding it into
        ``log_prior``, with fewer evaluations).
    n_particles : int, optional
        Particles after the first resampling (default ``m``).
    initial_log_weights : numpy.ndarray, optional
        Log importance weights ``log(prior / q)`` (up to a constant) of ``initial`` if it
        was drawn from a density ``q`` other than the prior, e.g. the log prior density
        for points uniform over a box containing the support. Default: equal.
    prior_steps : int
        If positive, the initial points are resampled (to equal weights, as many but at
        most ``n_particles``) and moved this many Metropolis steps targeting the prior (no
        likelihood evaluations) before the tempering starts: for a starting sample that is
        only roughly from the prior. The first stage then resamples them to
        ``n_particles``. The proposal scale adapted in these steps is not carried on.
    ess_share : float
        Conditional ESS kept at each temperature step, as a share of the particles.
    mcmc_steps : int
        Metropolis steps per particle after each resampling (0: none).
    max_stages : int
        Most tempering stages; the last one allowed goes straight to temperature 1 (its
        ESS then says how far from converged the ladder was).
    stream : str
        Prefix of the stream names.

    Returns
    -------
    SMCResult

    Raises
    ------
    ValueError
        If ``initial`` is not a finite 2-D array with at least one row and column, the
        initial weights do not match it, no initial point has a finite log prior, the
        likelihood is zero at every initial point, a callable returns the wrong shape or a
        log density NaN or ``+inf``, or a setting is out of range (``0 < ess_share < 1``,
        ``mcmc_steps >= 0``, ``prior_steps >= 0``, ``n_particles >= 1``,
        ``max_stages >= 1``).
    """
    _check_settings(ess_share, mcmc_steps, prior_steps, n_particles, max_stages)
    x0 = np.asarray(initial, dtype=np.float64)
    base = 2.38 / math.sqrt(x0.shape[1]) if x0.ndim == 2 and x0.shape[1] > 0 else 1.0
    target = _Target(log_prior, log_likelihood, support, streams, stream, base, base)
    pop = _initial(target, x0, initial_log_weights)
    n = len(pop.x) if n_particles is None else n_particles
    prior_acceptance = math.nan
    if prior_steps > 0:
        factor = _proposal_factor(pop.x, pop.log_w)
        pop = _resampled(pop, min(len(pop.x), n), streams.uniform(f"{stream}.resample", 0))
        prior_acceptance, _ = target.moves(pop, 0.0, factor, 0, prior_steps)
        target.scale = base  # the tempered targets have another shape: adapt afresh
    n_eval = _likelihood_at(pop, target)
    temps, acc, ess, scales = [0.0], [], [], []
    log_z = 0.0
    while temps[-1] < 1.0:
        stage = len(temps)
        phi = _next_temperature(pop, temps[-1], ess_share, last=stage >= max_stages)
        tempered = _tempered(pop.log_w, pop.log_lik, phi - temps[-1])
        log_z += _logsumexp(tempered)
        pop.log_w = _normalised(tempered)
        ess.append(float(1.0 / np.sum(np.exp(2.0 * pop.log_w))))
        factor = _proposal_factor(pop.x, pop.log_w)
        pop = _resampled(pop, n, streams.uniform(f"{stream}.resample", stage))
        scales.append(target.scale)
        rate, k = target.moves(pop, phi, factor, stage, mcmc_steps)
        acc.append(rate)
        n_eval += k
        temps.append(phi)
    return SMCResult(
        particles=pop.x,
        weights=np.full(n, 1.0 / n),
        log_likelihood=pop.log_lik,
        temperatures=np.array(temps),
        acceptance=np.array(acc),
        stage_ess=np.array(ess),
        scales=np.array(scales),
        log_evidence=log_z,
        n_evaluations=n_eval,
        prior_acceptance=prior_acceptance,
    )
