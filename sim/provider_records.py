"""A provider's records by payment group: caseload days and adviser minutes by month.

Kept apart from :mod:`sim.provider` so that no module a decision is made in reads the
payment group: these arrays are written for the records (spending per participant by
group over time) and never read by the provider.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from sim.contract import DAYS_PER_MONTH

__all__ = ["BY_GROUP_TYPE", "ProviderRecords"]

BY_GROUP_TYPE = pl.List(
    pl.Struct(
        {
            "group": pl.Utf8,
            "participant_days": pl.Float64,
            "adviser_minutes": pl.Float64,
            "belief_entry_rate_per_day": pl.Float64,
        }
    )
)
"""Type of the providers ledger's ``by_group`` column."""


class ProviderRecords:
    """Caseload days and adviser minutes by payment group and month for one provider.

    Parameters
    ----------
    member_group : int array
        Payment group index of each member of the area's book.
    names : list of str
        Group names by index.
    n_months : int
        Months of records.
    """

    def __init__(self, member_group: npt.NDArray[np.int64], names: list[str], n_months: int):
        self.member_group = member_group
        self.names = names
        self.n_months = n_months
        self.n_active = np.zeros(len(names))
        self.days = np.zeros((len(names), n_months))
        self.minutes = np.zeros((len(names), n_months))
        self.beliefs = np.full((len(names), n_months), np.nan)
        self._t = 0.0

    def count(self, now: float, delta: int, local: int) -> None:
        """Accrue caseload days by month up to ``now``, then add ``delta`` of ``local``'s group."""
        t0 = self._t
        while t0 < now:
            m = int(t0 / DAYS_PER_MONTH)
            if m >= self.n_months:
                break
            t1 = min(now, (m + 1) * DAYS_PER_MONTH)
            self.days[:, m] += self.n_active * (t1 - t0)
            t0 = t1
        self._t = now
        self.n_active[self.member_group[local]] += delta

    def add_minutes(self, month: int, local: int, minutes: float) -> None:
        """Add adviser minutes given to member ``local`` in ``month``."""
        self.minutes[self.member_group[local], month] += minutes

    def note_beliefs(
        self, month: int, idx: npt.NDArray[np.int64], hazard_per_day: npt.NDArray[np.float64]
    ) -> None:
        """Record the mean believed hazard of each group's active members ``idx`` in ``month``."""
        groups = self.member_group[idx]
        total = np.zeros(len(self.names))
        count = np.zeros(len(self.names))
        np.add.at(total, groups, hazard_per_day)
        np.add.at(count, groups, 1.0)
        seen = count > 0
        self.beliefs[seen, month] = total[seen] / count[seen]

    def column(self) -> pl.Series:
        """Return the ``by_group`` list column, one list of per-group records per month."""
        rows = [
            [
                {
                    "group": name,
                    "participant_days": float(self.days[k, m]),
                    "adviser_minutes": float(self.minutes[k, m]),
                    "belief_entry_rate_per_day": float(self.beliefs[k, m]),
                }
                for k, name in enumerate(self.names)
            ]
            for m in range(self.n_months)
        ]
        return pl.Series("by_group", rows, dtype=BY_GROUP_TYPE)
