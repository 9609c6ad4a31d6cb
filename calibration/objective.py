"""The simulated-moments objective: weighted squared standardised errors.

For target ``k`` with published interval ``[lo_k, hi_k]`` (a point figure has
``lo_k == hi_k``) and simulated value ``m_k``, the standardised error is::

    e_k = (m_k - hi_k) / s_k   if m_k > hi_k
          (m_k - lo_k) / s_k   if m_k < lo_k
          0                    otherwise

and the objective is ``sum_k w_k e_k**2``. The sd ``s_k`` combines the
published figure's own imprecision (rounding, "about"), the simulation standard
error at the published value with the simulated denominator, and a model
discrepancy sd proportional to the value (cohort, period and definition gaps
between the publication and the model)::

    s_k**2 = sd_published**2 + se_simulation**2 + (model_sd_relative * value)**2

The sds are fixed once, from the evaluation of the start point, so that the
objective is a fixed weighted least-squares criterion (its minimum does not
move because a candidate changes its own denominators).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.mapping import Moment
from calibration.spec import ObjectiveSettings
from calibration.targets import MEASURE_RULES, Target

__all__ = ["MISSING_RESIDUAL", "Objective"]

FloatArray = npt.NDArray[np.float64]

MISSING_RESIDUAL = 10.0
"""Standardised error given to a target whose simulated denominator is empty."""


def _centre(target: Target) -> float:
    lo, hi = target.model_interval()
    if math.isfinite(lo) and math.isfinite(hi):
        return 0.5 * (lo + hi)
    return lo if math.isfinite(lo) else hi


def _simulation_se(target: Target, moment: Moment) -> float:
    """Simulation se at the published value, with the start point's denominator.

    A share is binomial at the published value; a rate per claimant-month keeps the
    start point's se, scaled as a Poisson se to the published rate (so its
    overdispersion, repeat sanctions within claimants, is kept); a mean per claimant
    (sanctions per sanctioned claimant) keeps the start point's se.
    """
    c = _centre(target)
    if moment.n <= 0 or not math.isfinite(moment.value):
        return abs(c)
    kind = MEASURE_RULES[target.measure].kind
    if kind == "mean":
        return moment.se
    if kind == "rate":
        if moment.value <= 0.0:
            return math.sqrt(max(c, 0.0) / moment.n)
        return moment.se * math.sqrt(max(c, 0.0) / moment.value)
    p = min(max(c, 0.0), 1.0)
    return math.sqrt(max(p * (1.0 - p), 0.25 / moment.n) / moment.n)


@dataclass(frozen=True)
class Objective:
    """Residuals and objective for a fixed set of targets and sds.

    Attributes
    ----------
    targets : list of Target
    sd : numpy.ndarray
        ``s_k`` per target, in model units.
    """

    targets: list[Target]
    sd: FloatArray

    @classmethod
    def at_start(
        cls, targets: Sequence[Target], start: Mapping[str, Moment], settings: ObjectiveSettings
    ) -> Objective:
        """Fix the sds from the start point's moments.

        Raises
        ------
        KeyError
            If ``start`` lacks a target's moment.
        """
        sds = []
        for t in targets:
            published = t.published_sd()
            sim = _simulation_se(t, start[t.key])
            model = settings.model_sd_relative * abs(t.value) * t.factor
            sd = math.sqrt(published**2 + sim**2 + model**2)
            sds.append(sd if sd > 0.0 else 1e-9)
        return cls(list(targets), np.array(sds))

    def errors(self, moments: Mapping[str, Moment]) -> FloatArray:
        """Standardised errors ``e_k`` (unweighted)."""
        out = np.empty(len(self.targets))
        for k, t in enumerate(self.targets):
            m = moments[t.key].value
            lo, hi = t.model_interval()
            if not math.isfinite(m):
                out[k] = MISSING_RESIDUAL
            elif m > hi:
                out[k] = (m - hi) / self.sd[k]
            elif m < lo:
                out[k] = (m - lo) / self.sd[k]
            else:
                out[k] = 0.0
        return out

    def residuals(self, moments: Mapping[str, Moment]) -> FloatArray:
        """Weighted residuals ``sqrt(w_k) e_k``; their sum of squares is the objective."""
        weights = np.array([t.weight for t in self.targets])
        return np.asarray(np.sqrt(weights) * self.errors(moments), dtype=np.float64)

    def value(self, moments: Mapping[str, Moment]) -> float:
        """The objective ``sum_k w_k e_k**2``."""
        r = self.residuals(moments)
        return float(r @ r)
