"""Sanction escalation rules as pure functions.

A sanction's level is one above the level of the claimant's most recent
sanctioned failure within ``escalation_window_weeks`` (level 0 if there is
none; the last level repeats), except that a failure within
``no_escalation_within_weeks`` of the previous sanctioned one stays at the
previous level (JSA regulations from October 2012, SI 2012/2568; SA01).
Overturned sanctions do not count.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.config import Ladder

__all__ = ["SanctionRecord", "ladder_level", "spell_days"]

SanctionRecord = tuple[float, int]
"""(failure day, level) of an earlier sanction that still counts."""


def ladder_level(
    prior: Sequence[SanctionRecord],
    failure_at: float,
    *,
    window_days: float,
    no_escalation_days: float,
    n_levels: int,
) -> int:
    """Return the 0-based ladder level of a sanction for a failure on ``failure_at``.

    Parameters
    ----------
    prior : sequence of (float, int)
        Earlier sanctions that count (not overturned): failure day and level, in
        order of failure.
    failure_at : float
        Day of the failure being sanctioned.
    window_days : float
        Only failures within this many days before ``failure_at`` escalate.
    no_escalation_days : float
        A failure this close to the previous sanctioned one keeps its level.
    n_levels : int
        Number of levels on the ladder; the last repeats.

    Returns
    -------
    int
        Level in ``[0, n_levels - 1]``.

    Raises
    ------
    ValueError
        If ``n_levels < 1``.
    """
    if n_levels < 1:
        raise ValueError(f"n_levels(={n_levels}) must be >= 1.")
    recent = [(t, lvl) for t, lvl in prior if failure_at - window_days < t <= failure_at]
    if not recent:
        return 0
    last_t, last_level = recent[-1]
    if failure_at - last_t < no_escalation_days:
        return min(last_level, n_levels - 1)
    return min(last_level + 1, n_levels - 1)


def spell_days(ladder: Ladder, level: int) -> float:
    """Return the fixed part of a spell at ``level`` in days (the last level repeats)."""
    return 7.0 * ladder.weeks[min(level, len(ladder.weeks) - 1)]
