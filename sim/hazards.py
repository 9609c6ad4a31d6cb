"""Event times from piecewise-constant hazards and unit-exponential clocks.

A hazard event (job entry, job loss, off-flow) fires when the hazard
integrated since its clock started reaches a keyed unit-exponential draw. When
the hazard changes, the part of the clock already used is subtracted and the
remainder carries over, so nothing polls and two scenarios that differ only in
the hazard's level move an event earlier or later rather than redrawing it.

The job-entry hazard of a claimant is::

    h(t) = k * m * LM(t) * D(t - claim_start)

with ``k`` the claimant's constant, ``m`` a multiplier that changes only at the
claimant's own events (adviser intensity, sanction, benefit status), ``LM`` the
labour-market index by calendar month and ``D`` a step function of claim
duration. :class:`EntryHazard` integrates and inverts the ``LM * D`` part
exactly, with the month knots precomputed once per run.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import pairwise

from sim.contract import DAYS_PER_MONTH

__all__ = ["INF", "EntryHazard", "StepHazard"]

INF = math.inf


class StepHazard:
    """A hazard that is a step function of time since an origin.

    Parameters
    ----------
    starts : sequence of float
        Start of each step, in days since the origin; must begin at 0 and increase.
        An empty sequence means a single step of multiplier 1.
    multipliers : sequence of float
        Multiplier of each step (>= 0).

    Raises
    ------
    ValueError
        If the lengths differ, the first start is not 0, or starts do not increase.
    """

    __slots__ = ("_cum", "_mults", "_starts")

    def __init__(self, starts: Sequence[float], multipliers: Sequence[float]) -> None:
        if not starts:
            starts, multipliers = [0.0], [1.0]
        if len(starts) != len(multipliers):
            raise ValueError(f"{len(starts)} starts but {len(multipliers)} multipliers.")
        if starts[0] != 0.0 or any(b <= a for a, b in pairwise(starts)):
            raise ValueError(f"starts(={list(starts)}) must begin at 0 and increase.")
        self._starts = [float(s) for s in starts]
        self._mults = [float(m) for m in multipliers]
        cum = [0.0]
        for j in range(1, len(self._starts)):
            cum.append(cum[-1] + self._mults[j - 1] * (self._starts[j] - self._starts[j - 1]))
        self._cum = cum

    def cumulative(self, s: float) -> float:
        """Return the integral of the step function from 0 to ``s`` (days, >= 0)."""
        j = bisect_right(self._starts, s) - 1
        return self._cum[j] + self._mults[j] * (s - self._starts[j])

    def solve(self, target: float) -> float:
        """Return the smallest ``s`` with ``cumulative(s) == target``, or ``inf``."""
        if target <= 0.0:
            return 0.0
        j = bisect_left(self._cum, target)
        if j < len(self._cum) and self._cum[j] == target:
            return self._starts[j]  # reached exactly where a band starts
        j -= 1  # the band in which the cumulative passes the target
        m = self._mults[j]
        if m <= 0.0:
            return INF  # a last band of zero hazard never gets there
        return self._starts[j] + (target - self._cum[j]) / m


class EntryHazard:
    """Integral and inverse of ``LM(t) * D(t - claim_start)`` for job entry.

    Parameters
    ----------
    lm_index : sequence of float
        Labour-market index by calendar month from day 0 (each month
        ``DAYS_PER_MONTH`` long); the last value persists.
    band_starts_days, band_multipliers : sequence of float
        Claim-duration step function ``D`` (see :class:`StepHazard`).

    Raises
    ------
    ValueError
        If ``lm_index`` is empty or has a non-positive value.
    """

    __slots__ = ("_bands", "_knots_b", "_knots_t", "_last_lm")

    def __init__(
        self,
        lm_index: Sequence[float],
        band_starts_days: Sequence[float],
        band_multipliers: Sequence[float],
    ) -> None:
        if not lm_index or min(lm_index) <= 0.0:
            raise ValueError(f"lm_index(={list(lm_index)}) must be non-empty and positive.")
        self._knots_t = [j * DAYS_PER_MONTH for j in range(len(lm_index))]
        b = [0.0]
        for v in lm_index[:-1]:
            b.append(b[-1] + v * DAYS_PER_MONTH)
        self._knots_b = b
        self._last_lm = list(lm_index)
        self._bands = StepHazard(band_starts_days, band_multipliers)

    def lm(self, t: float) -> float:
        """Return the labour-market index on day ``t``."""
        j = max(0, bisect_right(self._knots_t, t) - 1)
        return self._last_lm[j]

    def _b(self, t: float) -> float:
        j = bisect_right(self._knots_t, t) - 1
        if j < 0:
            j = 0
        return self._knots_b[j] + self._last_lm[j] * (t - self._knots_t[j])

    def _b_inv(self, y: float) -> float:
        j = bisect_right(self._knots_b, y) - 1
        if j < 0:
            j = 0
        return self._knots_t[j] + (y - self._knots_b[j]) / self._last_lm[j]

    # ---- fast path: a claimant's cumulative function, set up once per journey -------
    def claimant_bands(self, claim_start: float) -> tuple[list[float], list[float], list[float]]:
        """Return ``(starts, offsets, levels)`` describing one claimant's cumulative hazard.

        With band ``J`` holding at day ``t``, the claimant's cumulative baseline is
        ``Lambda(t) = m_J * B(t) + offsets[J]`` (``B`` the integral of ``LM``), by
        telescoping the band boundaries; ``levels[J] = Lambda(starts[J])``. Use with
        :meth:`cumulative` and :meth:`inverse`.
        """
        mults = self._bands._mults
        starts = [claim_start + s for s in self._bands._starts]
        b_at = [self._b(t) for t in starts]
        offsets = [0.0]
        for j in range(1, len(starts)):
            offsets.append(offsets[-1] + (mults[j - 1] - mults[j]) * b_at[j])
        levels = [mults[j] * b_at[j] + offsets[j] for j in range(len(starts))]
        return starts, offsets, levels

    def cumulative(self, t: float, starts: list[float], offsets: list[float]) -> float:
        """Return ``Lambda(t)`` for a claimant (see :meth:`claimant_bands`)."""
        j = bisect_right(starts, t) - 1
        if j < 0:
            j = 0
        return self._bands._mults[j] * self._b(t) + offsets[j]

    def inverse(
        self, y: float, starts: list[float], offsets: list[float], levels: list[float]
    ) -> float:
        """Return the first day with ``Lambda(t) == y``, or ``inf`` if it never gets there."""
        j = bisect_left(levels, y)
        if j < len(levels) and levels[j] == y:
            return starts[j]  # reached exactly where a band starts
        j = max(j - 1, 0)
        m = self._bands._mults[j]
        if m <= 0.0:
            return INF
        return self._b_inv((y - offsets[j]) / m)

    # ---- reference path: integral and solve over an interval ------------------------
    def integral(self, t0: float, t1: float, claim_start: float) -> float:
        """Return the integral of ``LM * D`` over ``[t0, t1]`` (days, ``t0 <= t1``)."""
        bands = self._bands
        starts, mults = bands._starts, bands._mults
        total = 0.0
        a = t0
        j = bisect_right(starts, t0 - claim_start) - 1
        while a < t1:
            end = claim_start + starts[j + 1] if j + 1 < len(starts) else INF
            b = min(t1, end)
            total += mults[j] * (self._b(b) - self._b(a))
            a = b
            j += 1
        return total

    def solve(self, t0: float, target: float, claim_start: float) -> float:
        """Return the smallest ``t >= t0`` with ``integral(t0, t) == target``, or ``inf``."""
        if target <= 0.0:
            return t0
        starts, mults = self._bands._starts, self._bands._mults
        a = t0
        j = bisect_right(starts, t0 - claim_start) - 1
        remaining = target
        while True:
            end = claim_start + starts[j + 1] if j + 1 < len(starts) else INF
            m = mults[j]
            b_a = self._b(a)
            if m > 0.0:
                need_b = b_a + remaining / m
                t = self._b_inv(need_b)
                if t <= end or t - end <= 1e-12 * max(1.0, abs(end)):
                    return min(t, end)
            if end == INF:
                return INF
            remaining -= m * (self._b(end) - b_a)
            a = end
            j += 1
