"""The labour market as data: a published monthly series and the index it implies.

Every job-entry hazard is multiplied by a labour-market index by calendar month
(:class:`sim.config.LabourMarket`). The index is ``index_by_month`` (the last value
persists) times, when the scenario names a series, ``(reference / u(m)) ** elasticity``:
``u(m)`` is the series in month ``m`` (for example the UK unemployment rate), so the
same elasticity, a behavioural parameter, carries every programme's period.

A series is a CSV shipped in ``sim/data/labour_market/NAME.csv`` with one row per
published period: ``period_start`` and ``period_end`` (``YYYY-MM``), ``rate_percent``,
``source_url`` and ``quote`` (where the value is stated). A period's value sits at its
middle month; months between are interpolated linearly and months beyond the ends take
the nearest end's value.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sim.config import LabourMarket, month_index

__all__ = ["SERIES_DIR", "index_by_month", "load_series", "monthly_values", "series_names"]

SERIES_DIR = Path(__file__).parent / "data" / "labour_market"
"""Where the shipped series live."""

F = npt.NDArray[np.float64]
_COLUMNS = ("period_start", "period_end", "rate_percent", "source_url", "quote")


def series_names(directory: Path | None = None) -> list[str]:
    """Return the names of the series in ``directory`` (default :data:`SERIES_DIR`), sorted."""
    return sorted(p.stem for p in (directory or SERIES_DIR).glob("*.csv"))


def load_series(name: str, directory: Path | None = None) -> tuple[F, F]:
    """Return a series' points: middle month (months since year 0, as a float) and value.

    Raises
    ------
    ValueError
        If the series does not exist, lacks a column, or has a period that ends before it
        starts, a value that is not a positive number, or no rows; the message names the
        file and row.
    """
    path = (directory or SERIES_DIR) / f"{name}.csv"
    if not path.is_file():
        raise ValueError(f"labour-market series {name!r} not found; have {series_names(directory)}")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = [c for c in _COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{path}: needs rows with columns {list(_COLUMNS)}; missing {missing}")
    mids, values = [], []
    for line, row in enumerate(rows, start=2):
        try:
            start, end = month_index(row["period_start"]), month_index(row["period_end"])
            value = float(row["rate_percent"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: row {line}: {exc}") from None
        if end < start or not value > 0.0:
            raise ValueError(f"{path}: row {line}: period or rate_percent out of range: {row}")
        mids.append(0.5 * (start + end))
        values.append(value)
    order = np.argsort(mids, kind="stable")
    return np.asarray(mids)[order], np.asarray(values)[order]


def monthly_values(mid_months: F, values: F, months: npt.NDArray[np.int64]) -> F:
    """Return the series at calendar ``months``: linear between points, flat beyond.

    Points at the same month are averaged first.
    """
    unique, inverse = np.unique(mid_months, return_inverse=True)
    mean = np.bincount(inverse, weights=values) / np.bincount(inverse)
    return np.asarray(np.interp(months.astype(np.float64), unique, mean), dtype=np.float64)


def index_by_month(
    lm: LabourMarket, start_month: str, n_months: int, directory: Path | None = None
) -> list[float]:
    """Return the labour-market index for each of ``n_months`` months from ``start_month``.

    Without a series, ``lm.index_by_month`` as given (the run extends its last value);
    with one, that index (extended to ``n_months``) times
    ``(lm.reference_rate_percent / u) ** lm.unemployment_elasticity``.
    """
    if lm.series is None:
        return list(lm.index_by_month)
    given = lm.index_by_month
    base = np.array([given[min(m, len(given) - 1)] for m in range(n_months)], dtype=np.float64)
    mids, values = load_series(lm.series, directory)
    months = month_index(start_month) + np.arange(n_months, dtype=np.int64)
    u = monthly_values(mids, values, months)
    ratio = lm.reference_rate_percent / u
    return [float(x) for x in base * ratio**lm.unemployment_elasticity]
