"""Gaussian-process emulators of simulator outputs on the unit cube.

One :class:`Emulator` per target: a scikit-learn ``GaussianProcessRegressor`` with the
kernel ``C * Matern(nu=5/2, ARD) + White``. The Matern term has one length scale per
input (automatic relevance determination), so an input a target does not depend on gets
a long length scale; the ``WhiteKernel`` absorbs the simulator's own noise (with common
random numbers, the grain of a finite cohort). Outputs are standardised before fitting
(``normalize_y``), the optimiser's restarts draw from a fixed ``random_state``, so a fit
is a deterministic function of its training data.

:meth:`Emulator.predict` returns the mean and sd of the *noise-free* simulator output
(the latent function): the white-noise variance is subtracted from the predictive
variance. :attr:`Emulator.noise_sd` is the fitted noise sd.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

__all__ = ["Emulator", "fit_emulator"]

FloatArray = npt.NDArray[np.float64]

LENGTH_BOUNDS = (0.02, 50.0)
"""Bounds of each length scale, in unit-cube widths."""
NOISE_BOUNDS = (1e-8, 1.0)
"""Bounds of the white-noise variance, in units of the output's variance."""
RESTARTS = 2
"""Default restarts of the hyperparameter optimiser (from draws of a fixed ``random_state``)."""


@dataclass(frozen=True)
class Emulator:
    """A fitted Gaussian-process emulator of one output.

    Attributes
    ----------
    gp : GaussianProcessRegressor
        The fitted regressor (standardised outputs).
    noise_var : float
        The fitted white-noise variance, in output units squared.
    length_scales : numpy.ndarray
        Fitted length scale per input, in unit-cube widths.
    n_train : int
        Training points.
    """

    gp: GaussianProcessRegressor
    noise_var: float
    length_scales: FloatArray
    n_train: int

    @property
    def noise_sd(self) -> float:
        """The fitted simulator-noise sd, in output units."""
        return math.sqrt(self.noise_var)

    def predict(self, z: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Mean and sd of the noise-free output at points ``z``.

        Parameters
        ----------
        z : array_like
            Points of the unit cube, ``(n, d)`` (or one point, ``(d,)``).

        Returns
        -------
        mean, sd : numpy.ndarray
            Each of shape ``(n,)``.

        Raises
        ------
        ValueError
            If ``z`` does not have the training inputs' dimension.
        """
        x = np.atleast_2d(np.asarray(z, dtype=np.float64))
        if x.shape[1] != len(self.length_scales):
            n_in = len(self.length_scales)
            raise ValueError(f"points have {x.shape[1]} inputs, the emulator {n_in}")
        mean, sd = self.gp.predict(x, return_std=True)
        var = np.clip(np.asarray(sd, dtype=np.float64) ** 2 - self.noise_var, 0.0, None)
        return np.asarray(mean, dtype=np.float64), np.sqrt(var)


def fit_emulator(
    z: npt.ArrayLike, y: npt.ArrayLike, *, random_state: int = 0, restarts: int = RESTARTS
) -> Emulator:
    """Fit an emulator of ``y`` on unit-cube inputs ``z``.

    Parameters
    ----------
    z : array_like
        Training inputs, ``(n, d)``, in the unit cube.
    y : array_like
        Training outputs, ``(n,)``, all finite.
    random_state : int
        Seed of the optimiser's restarts (a fixed seed: the fit is deterministic).
    restarts : int
        Restarts of the hyperparameter optimiser from random starts (0: only from the
        initial kernel).

    Returns
    -------
    Emulator

    Raises
    ------
    ValueError
        If ``z`` is not 2-D, ``y`` does not match it, fewer than 3 points are given,
        any output is not finite, or ``restarts < 0``.
    """
    x = np.asarray(z, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or t.shape != (x.shape[0],):
        raise ValueError(f"inputs {x.shape} and outputs {t.shape} do not match")
    if x.shape[0] < 3:
        raise ValueError(f"an emulator needs at least 3 training points, got {x.shape[0]}")
    if not np.all(np.isfinite(t)):
        raise ValueError("training outputs must be finite")
    if restarts < 0:
        raise ValueError(f"restarts must be >= 0, got {restarts}")
    d = x.shape[1]
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=np.full(d, 0.5), length_scale_bounds=LENGTH_BOUNDS, nu=2.5
    ) + WhiteKernel(1e-2, NOISE_BOUNDS)
    gp = GaussianProcessRegressor(
        kernel=kernel,
        normalize_y=True,
        n_restarts_optimizer=restarts,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, t)
    params = gp.kernel_.get_params()
    scale = float(np.std(t)) if float(np.std(t)) > 0.0 else 1.0
    noise_var = float(params["k2__noise_level"]) * scale**2
    lengths = np.atleast_1d(np.asarray(params["k1__k2__length_scale"], dtype=np.float64))
    if lengths.size == 1:
        lengths = np.full(d, float(lengths[0]))
    return Emulator(gp, noise_var, lengths, x.shape[0])
