"""The fast method: minimise the simulated-moments objective with scipy.optimize.

The search runs in the unit cube. With common random numbers the objective is
a deterministic, nearly smooth function of the parameters, so the default is
a bounded trust-region least-squares fit (``scipy.optimize.least_squares``,
``trf``) on the weighted residuals with a forward-difference Jacobian whose
``d`` perturbed points are simulated as one batch (so they run in parallel).
Nelder-Mead and Powell (``scipy.optimize.minimize`` with bounds) are there for
rougher objectives.

The estimate's uncertainty is the Gauss-Newton (Laplace) one: with ``J`` the
Jacobian of the residuals at the estimate, ``cov(z) = inv(J' J + 12 I)``, the
``12 I`` being a Gaussian with the variance of a uniform prior on the unit
cube (1/12), so that a direction the targets do not inform (a near-zero column
of ``J``) keeps the prior's spread instead of a zero or infinite variance. It
is mapped to each parameter's own scale through the unit-cube transform.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares, minimize  # type: ignore[import-untyped]

from calibration.spec import OptimiserSettings

__all__ = ["OptimiserResult", "ResidualProblem", "jacobian", "optimise"]

FloatArray = npt.NDArray[np.float64]
BatchResiduals = Callable[[Sequence[FloatArray]], list[FloatArray]]


PRIOR_PRECISION = 12.0
"""Precision of a uniform distribution on [0, 1], added to J' J."""


class _BudgetSpent(Exception):
    """The evaluation budget is used up."""


@dataclass
class ResidualProblem:
    """Batched residuals with an evaluation budget and the best point seen.

    Parameters
    ----------
    batch : callable
        Residual vectors of a list of unit-cube points, evaluated together.
    budget : int
        Evaluations (points asked for, cached or not) before :class:`_BudgetSpent`.
    """

    batch: BatchResiduals
    budget: int
    n_evaluations: int = 0
    best_z: FloatArray | None = None
    best_f: float = math.inf
    trace: list[float] = field(default_factory=list)
    last: tuple[FloatArray, FloatArray] | None = None
    """The last point evaluated alone and its residuals (reused by the Jacobian)."""

    def many(self, zs: Sequence[FloatArray], *, charge: bool = True) -> list[FloatArray]:
        """Residuals at ``zs``; raise :class:`_BudgetSpent` if they would exceed the budget."""
        if charge and self.n_evaluations + len(zs) > self.budget:
            raise _BudgetSpent
        rs = self.batch(zs)
        if charge:
            self.n_evaluations += len(zs)
        for z, r in zip(zs, rs, strict=True):
            f = float(r @ r)
            self.trace.append(f)
            if f < self.best_f:
                self.best_f, self.best_z = f, np.array(z, dtype=np.float64)
        return rs

    def one(self, z: FloatArray) -> FloatArray:
        """Residuals at one point."""
        z = np.clip(np.asarray(z, dtype=np.float64), 0.0, 1.0)
        r = self.many([z])[0]
        self.last = (z, r)
        return r

    def objective(self, z: FloatArray) -> float:
        """Sum of squared residuals at one point."""
        r = self.one(z)
        return float(r @ r)


def jacobian(
    problem: ResidualProblem, z: FloatArray, step: float, *, charge: bool = True
) -> FloatArray:
    """Forward-difference Jacobian of the residuals in the unit cube, one batch of d points.

    The residuals at ``z`` itself are reused if ``z`` was the last point evaluated
    alone (as it is when ``least_squares`` asks for the Jacobian), else evaluated in
    the same batch. A coordinate within ``step`` of 1 is stepped backwards instead.
    """
    z = np.clip(np.asarray(z, dtype=np.float64), 0.0, 1.0)
    steps = np.where(z + step <= 1.0, step, -step)
    points = [z + steps[i] * np.eye(len(z))[i] for i in range(len(z))]
    known = problem.last is not None and np.array_equal(problem.last[0], z)
    if known:
        assert problem.last is not None
        r0, rs = problem.last[1], problem.many(points, charge=charge)
    else:
        r0, *rs = problem.many([z, *points], charge=charge)
    cols = [(rs[i] - r0) / steps[i] for i in range(len(z))]
    return np.column_stack(cols)


@dataclass(frozen=True)
class OptimiserResult:
    """Where the optimiser stopped.

    Attributes
    ----------
    z : numpy.ndarray
        Best point in the unit cube.
    objective : float
        Objective there.
    n_evaluations : int
        Points evaluated by the search (the final Jacobian not included).
    message : str
        Why it stopped.
    jacobian : numpy.ndarray
        Residual Jacobian at ``z`` (targets x parameters).
    cov_z : numpy.ndarray
        Gauss-Newton covariance of ``z``: ``inv(J' J + 12 I)``.
    trace : list of float
        Objective of every point evaluated, in order.
    """

    z: FloatArray
    objective: float
    n_evaluations: int
    message: str
    jacobian: FloatArray
    cov_z: FloatArray
    trace: list[float]


def _least_squares(problem: ResidualProblem, z0: FloatArray, s: OptimiserSettings) -> str:
    """Trust-region least squares, restarted from the best point while it still improves.

    A restart resets the trust region, which a rough objective can shrink too early;
    it stops when a run improves the objective by less than ``tolerance`` (relative)
    or the budget runs out.
    """
    z, before, runs = z0, math.inf, 0
    while True:
        result = least_squares(
            problem.one,
            z,
            jac=lambda x: jacobian(problem, x, s.fd_step),
            bounds=(0.0, 1.0),
            method="trf",
            ftol=s.tolerance,
            xtol=s.tolerance,
            gtol=s.tolerance,
            x_scale=1.0,
        )
        runs += 1
        assert problem.best_z is not None
        gain = before - problem.best_f
        if not gain > s.tolerance * max(problem.best_f, 1e-12) or problem.best_f == 0.0:
            return f"{result.message} (after {runs} run(s) of the trust region)"
        before, z = problem.best_f, problem.best_z


def _minimize(problem: ResidualProblem, z0: FloatArray, s: OptimiserSettings) -> str:
    d = len(z0)
    bounds = [(0.0, 1.0)] * d
    if s.method == "nelder_mead":
        simplex = [z0] + [
            np.clip(z0 + np.where(z0[i] + 0.1 <= 1.0, 0.1, -0.1) * np.eye(d)[i], 0.0, 1.0)
            for i in range(d)
        ]
        options = {
            "maxfev": s.max_evaluations,
            "xatol": s.tolerance,
            "fatol": s.tolerance,
            "initial_simplex": np.array(simplex),
        }
        result = minimize(
            problem.objective, z0, method="Nelder-Mead", bounds=bounds, options=options
        )
    else:
        options = {"maxfev": s.max_evaluations, "xtol": s.tolerance, "ftol": s.tolerance}
        result = minimize(problem.objective, z0, method="Powell", bounds=bounds, options=options)
    return str(result.message)


def optimise(batch: BatchResiduals, z0: FloatArray, settings: OptimiserSettings) -> OptimiserResult:
    """Minimise the sum of squared residuals from ``z0`` within the evaluation budget.

    Parameters
    ----------
    batch : callable
        Residual vectors of a list of unit-cube points.
    z0 : numpy.ndarray
        Start point in the unit cube.
    settings : OptimiserSettings
        Method, budget, finite-difference step and tolerance.

    Returns
    -------
    OptimiserResult
        The best point evaluated (not necessarily the last), with its Jacobian and
        Gauss-Newton covariance; running out of budget is not an error, the message
        says so.
    """
    problem = ResidualProblem(batch, settings.max_evaluations)
    z0 = np.clip(np.asarray(z0, dtype=np.float64), 0.0, 1.0)
    try:
        if settings.method == "least_squares":
            message = _least_squares(problem, z0, settings)
        else:
            message = _minimize(problem, z0, settings)
    except _BudgetSpent:
        message = f"stopped at the evaluation budget ({settings.max_evaluations})"
    if problem.best_z is None:  # budget too small for even one point
        problem.many([z0], charge=False)
    assert problem.best_z is not None
    z, f = problem.best_z, problem.best_f
    jac = jacobian(problem, z, settings.fd_step, charge=False)
    cov = np.asarray(
        np.linalg.inv(jac.T @ jac + PRIOR_PRECISION * np.eye(len(z))), dtype=np.float64
    )
    return OptimiserResult(z, f, problem.n_evaluations, message, jac, cov, problem.trace)
