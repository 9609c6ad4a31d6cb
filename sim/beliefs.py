"""What a provider believes about its claimants and its service, and how it learns.

A provider does not see a claimant's true job-entry hazard or the true effect of its
adviser time. It sees each claimant's payment group and signal band (a cell), and
believes the job-entry hazard in cell ``c`` at adviser service of ``h`` hours a week is

    lambda_c * (1 + b * h)    per day (at a labour-market index of 1),

with one effect ``b`` for its whole caseload. It starts from the expectations it bid
on and updates them from its own caseload by a stated Bayesian rule:

- each cell's ``lambda_c`` has a conjugate Gamma prior with mean ``lambda0_c`` and
  the weight of ``prior_exposure_days`` claimant-days (shape ``lambda0_c * E0``, rate
  ``E0``);
- the effect ``b`` has a Gamma prior (mean the bid's effect, shape ``effect_prior_shape``)
  on a fixed grid;
- the data are, per cell and service tier ``t`` (hours a week ``h_t``), the job starts
  ``N_ct`` and the exposure ``E_ct`` (days on the caseload, times the labour-market
  index of the day they were lived);
- integrating each ``lambda_c`` out, the posterior of ``b`` on the grid is

      log p(b | data) = log p(b) + sum_c [ sum_t N_ct log(1 + b h_t)
                        - (a0_c + N_c) log(E0 + sum_t E_ct (1 + b h_t)) ] + const,

  the provider's ``b`` is its posterior mean, and each cell's hazard is the posterior
  mean given that ``b``: ``(a0_c + N_c) / (E0 + sum_t E_ct (1 + b h_t))``.

Nothing here names a payment group: cells are indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sim.fmath import exp_array, log_array

__all__ = ["Beliefs", "band_edges", "bid_entry_rate_per_day", "signal_band"]

F = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def band_edges(signal: F, n_bands: int) -> F:
    """Return the ``n_bands - 1`` inner edges splitting ``signal`` into equal-count bands.

    A provider knows the mix of referrals the contract sends (not who is who), so the
    bands are quantiles of the referral population's signals.

    Raises
    ------
    ValueError
        If ``n_bands`` is below 1 or ``signal`` is empty.
    """
    if n_bands < 1:
        raise ValueError(f"n_bands(={n_bands}) must be at least 1.")
    if len(signal) == 0:
        raise ValueError("band_edges needs at least one signal.")
    qs = np.arange(1, n_bands) / n_bands
    return np.asarray(np.quantile(signal, qs), dtype=np.float64)


def signal_band(signal: F, edges: F) -> I64:
    """Return each signal's band index (0 = closest to work)."""
    return np.asarray(np.searchsorted(edges, signal, side="right"), dtype=np.int64)


def bid_entry_rate_per_day(
    bid_outcome_rate: float, signal: F, window_days: float, n_steps: int = 80
) -> float:
    """Return the base hazard at which a bid's expected outcome rate holds.

    Solves ``mean(1 - exp(-r exp(-signal) W)) = bid_outcome_rate`` for ``r`` by
    bisection (a fixed number of steps): the bidder's expectation of the share of
    referrals reaching a job outcome, turned into the job-entry hazard at signal 0
    that would give it over the ``W`` days in which a start can still qualify.

    Raises
    ------
    ValueError
        If ``bid_outcome_rate`` is not strictly between 0 and 1 or ``window_days`` is
        not positive.
    """
    if not 0.0 < bid_outcome_rate < 1.0:
        raise ValueError(f"bid_outcome_rate(={bid_outcome_rate}) must be between 0 and 1.")
    if window_days <= 0.0:
        raise ValueError(f"window_days(={window_days}) must be positive.")
    scale = exp_array(-signal) * window_days
    lo, hi = 0.0, 1.0
    while float(np.mean(1.0 - exp_array(-hi * scale))) < bid_outcome_rate:
        hi *= 2.0
    for _ in range(n_steps):
        mid = 0.5 * (lo + hi)
        if float(np.mean(1.0 - exp_array(-mid * scale))) < bid_outcome_rate:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass
class Beliefs:
    """One provider's beliefs by cell and about its service's effect (see the module doc).

    Parameters
    ----------
    prior_hazard_per_day : float array, shape (n_cells,)
        The prior mean job-entry hazard of each cell without service.
    prior_exposure_days : float
        The prior's weight per cell, in claimant-days.
    tier_hours_per_week : float array, shape (n_tiers,)
        Adviser hours a week at each service tier.
    prior_effect : float
        The prior mean effect per adviser hour a week.
    effect_prior_shape : float
        Shape of the Gamma prior on the effect (its SD is the mean over its square root).
    effect_grid_max : float
        Top of the effect grid (the grid is 0 to this in ``n_grid`` steps).
    learn : bool
        False: beliefs stay at the prior whatever is observed.
    n_grid : int
        Grid points for the effect.

    Raises
    ------
    ValueError
        If a prior is negative or the exposure weight is not positive.
    """

    prior_hazard_per_day: F
    prior_exposure_days: float
    tier_hours_per_week: F
    prior_effect: float
    effect_prior_shape: float = 4.0
    effect_grid_max: float = 0.0
    learn: bool = True
    n_grid: int = 81
    starts: F = field(init=False)
    """Job starts observed, shape (n_cells, n_tiers)."""
    exposure: F = field(init=False)
    """Exposure in labour-market-weighted claimant-days, shape (n_cells, n_tiers)."""
    effect: float = field(init=False)
    """The current belief of the effect (posterior mean)."""
    hazard_per_day: F = field(init=False)
    """The current belief of each cell's hazard without service (posterior mean)."""
    _grid: F = field(init=False, repr=False)
    _log_prior: F = field(init=False, repr=False)
    _log_lift: F = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if np.any(self.prior_hazard_per_day < 0.0) or self.prior_effect < 0.0:
            raise ValueError("prior hazards and effect must not be negative.")
        if self.prior_exposure_days <= 0.0:
            raise ValueError(f"prior_exposure_days(={self.prior_exposure_days}) must be positive.")
        shape = (len(self.prior_hazard_per_day), len(self.tier_hours_per_week))
        self.starts = np.zeros(shape)
        self.exposure = np.zeros(shape)
        if self.effect_grid_max <= 0.0:
            self.effect_grid_max = 4.0 * self.prior_effect
        self.effect = self.prior_effect
        self.hazard_per_day = self.prior_hazard_per_day.copy()
        self._cache_prior()

    @property
    def grid(self) -> F:
        """The effect grid."""
        return self._grid

    def _cache_prior(self) -> None:
        """Compute once what the posterior needs that observations do not change."""
        b = np.linspace(0.0, self.effect_grid_max, self.n_grid)
        k = self.effect_prior_shape
        mean = max(self.prior_effect, 1e-12)
        log_prior = (k - 1.0) * log_array(np.maximum(b, 1e-300)) - k * b / mean
        if k > 1.0:
            log_prior[b <= 0.0] = -np.inf
        self._grid = b
        self._log_prior = log_prior
        self._log_lift = log_array(1.0 + b[:, None] * self.tier_hours_per_week[None, :])

    def observe(self, cell: int, tier: int, exposure_days: float, started: bool) -> None:
        """Add one claimant's spell in ``cell`` at ``tier``, and whether it ended in a job."""
        self.exposure[cell, tier] += exposure_days
        if started:
            self.starts[cell, tier] += 1.0

    def observe_many(self, cells: I64, tiers: I64, exposure_days: F) -> None:
        """Add exposure (no job starts) for many claimants at once."""
        np.add.at(self.exposure, (cells, tiers), exposure_days)

    def log_posterior_effect(self) -> F:
        """Return the unnormalised log posterior of the effect on :attr:`grid`.

        A cell's exposure weighted by the lift ``1 + b h`` of each tier is
        ``E_c + b H_c`` (``E_c`` its days, ``H_c`` its days times hours), so the
        posterior over the grid needs only two sums per cell.
        """
        b = self._grid
        a0 = self.prior_hazard_per_day * self.prior_exposure_days
        # sums written out (not matrix products, whose BLAS may order them differently)
        n_c = self.starts.sum(axis=1)
        n_t = self.starts.sum(axis=0)
        lp = self._log_prior + (self._log_lift * n_t[None, :]).sum(axis=1)
        days_c = self.prior_exposure_days + self.exposure.sum(axis=1)
        hours_c = (self.exposure * self.tier_hours_per_week[None, :]).sum(axis=1)
        exposure_b = days_c[None, :] + b[:, None] * hours_c[None, :]
        lp -= (log_array(exposure_b) * (a0 + n_c)[None, :]).sum(axis=1)
        return np.asarray(lp, dtype=np.float64)

    def update(self) -> None:
        """Recompute the effect and the cells' hazards from everything observed so far."""
        if not self.learn:
            return
        if self.prior_effect > 0.0:
            lp = self.log_posterior_effect()
            w = exp_array(lp - np.max(lp))
            self.effect = float(np.sum(w * self.grid) / np.sum(w))
        a0 = self.prior_hazard_per_day * self.prior_exposure_days
        lift = 1.0 + self.effect * self.tier_hours_per_week
        exposure_b = self.prior_exposure_days + (self.exposure * lift[None, :]).sum(axis=1)
        self.hazard_per_day = np.asarray((a0 + self.starts.sum(axis=1)) / exposure_b)
