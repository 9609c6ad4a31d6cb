"""Calibration targets: published figures as data, validated against the model.

A targets file is a CSV with one row per target. Every target names the
published row it comes from (``target_id``), what it measures in the model
(``measure``, ``population``, ``cohort``, ``horizon_months``, ``scenario``),
the published value with its unit and how exact it is, a weight and its
source. :data:`REQUIRED_COLUMNS` lists the columns; :data:`OPTIONAL_COLUMNS`
may also appear. Nothing is coerced silently: a missing column, an unknown
unit, exactness, measure, population group, cohort month or scenario, or a
value out of range is reported as a :class:`sim.scenario.Problem` naming the
file, row, column and value, all of them at once in one
:class:`sim.scenario.ScenarioError`.

Units
-----
``percent`` (a share or rate times 100), ``proportion`` (a share in [0, 1]),
``per_claimant_month`` (events per claimant-month) and ``per_claimant`` (events per
claimant, e.g. sanctions per sanctioned claimant). Internally every target is
converted to the model's unit of its measure (a proportion, or events per
claimant-month), see :func:`Target.model_interval`.

Exactness
---------
``exact``: the figure is exact. ``rounded``: rounded to its last written digit
(sd of a uniform rounding error, unit / sqrt(12)). ``about``: approximate (sd a
share of the value, :attr:`Target.about_sd_relative`). ``range``: any value in
``[low, high]`` agrees; one side may be left empty for a one-sided bound such
as ">60%".
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sim.config import Scenario, month_index
from sim.contract import DAYS_PER_MONTH
from sim.scenario import Problem, ScenarioError

__all__ = [
    "BENEFITS",
    "EXACTNESS",
    "MEASURE_RULES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "UNITS",
    "Target",
    "load_targets",
]

REQUIRED_COLUMNS: tuple[str, ...] = (
    "target_id",
    "programme",
    "population",
    "cohort",
    "horizon_months",
    "measure",
    "value",
    "unit",
    "exactness",
    "low",
    "high",
    "scenario",
    "weight",
    "source",
    "notes",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("label", "period")

UNITS: dict[str, float] = {
    "percent": 0.01,
    "proportion": 1.0,
    "per_claimant_month": 1.0,
    "per_claimant": 1.0,
}
"""Known units and the factor that converts a value in that unit to the model's unit."""

EXACTNESS: tuple[str, ...] = ("exact", "rounded", "range", "about")
BENEFITS: tuple[str, ...] = ("JSA", "ESA")

_COHORT_RE = re.compile(r"^(\d{4}-\d{2})(?:\.\.(\d{4}-\d{2}))?$")
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Target:
    """One validated calibration target.

    Attributes
    ----------
    target_id : str
        The published figure's row id, suffixed if one row gives several targets.
    label : str
        A short human label (for the fit report).
    population : str
        As written: a payment group, ``"all"``, a benefit (``"JSA"``/``"ESA"``), a trial
        arm ``"arm:NAME"``, or several of these joined by ``+`` (groups are a union,
        arms a filter on it; arms alone select every group).
    groups : tuple of str
        The payment groups the population resolves to.
    arms : tuple of str
        The trial arms it is restricted to (empty: every referral).
    cohort : str
        ``"all"``, a referral month ``"YYYY-MM"`` or a span ``"YYYY-MM..YYYY-MM"``.
    cohort_days : tuple of float or None
        ``[start, end)`` of ``referred_at`` in simulation days, None for all cohorts.
    horizon_months : int or None
        Months from referral within which the event must happen (None: whole follow-up).
    measure, unit, exactness, scenario, source, notes, programme, period : str
    value : float
        The published value, in ``unit``.
    low, high : float or None
        Range bounds in ``unit`` (``exactness == "range"`` only; None is unbounded).
    weight : float
        Weight of the target in the objective (0: reported, not fitted).
    rounding_unit : float
        Unit of the last written digit of ``value`` (for ``rounded``).
    about_sd_relative : float
        Relative sd of an ``about`` figure.
    line : int
        Line of the file the target was read from.
    """

    target_id: str
    label: str
    programme: str
    population: str
    groups: tuple[str, ...]
    arms: tuple[str, ...]
    cohort: str
    cohort_days: tuple[float, float] | None
    horizon_months: int | None
    measure: str
    value: float
    unit: str
    exactness: str
    low: float | None
    high: float | None
    scenario: str
    weight: float
    source: str
    notes: str
    period: str
    rounding_unit: float
    about_sd_relative: float
    line: int

    @property
    def key(self) -> str:
        """What the model must compute for this target; equal keys share a cached value."""
        horizon = "" if self.horizon_months is None else str(self.horizon_months)
        groups = "+".join(self.groups)
        return f"{self.scenario}|{self.measure}|{groups}|{self.cohort}|{horizon}"

    @property
    def factor(self) -> float:
        """Multiplier from ``unit`` to the model's unit."""
        return UNITS[self.unit]

    def model_interval(self) -> tuple[float, float]:
        """Return ``(lo, hi)`` in model units: the published values that agree exactly.

        A point figure gives ``lo == hi == value``; a range its bounds (infinite
        where open).
        """
        if self.exactness == "range":
            lo = -math.inf if self.low is None else self.low * self.factor
            hi = math.inf if self.high is None else self.high * self.factor
            return lo, hi
        v = self.value * self.factor
        return v, v

    def published_sd(self) -> float:
        """Return the sd of the published figure's own imprecision, in model units."""
        if self.exactness == "rounded":
            return self.rounding_unit * self.factor / math.sqrt(12.0)
        if self.exactness == "about":
            return self.about_sd_relative * abs(self.value) * self.factor
        return 0.0

    def published_band(self) -> tuple[float | None, float | None]:
        """Return ``(low, high)`` to report, in ``unit``: the range, or value +- 1.645 sd."""
        if self.exactness == "range":
            return self.low, self.high
        half = 1.645 * self.published_sd() / self.factor
        return self.value - half, self.value + half


# --------------------------------------------------------------------------- measures known


@dataclass(frozen=True)
class MeasureRule:
    """What a measure needs: its units, whether it takes a horizon, and the regimes."""

    units: tuple[str, ...]
    horizon: str
    """``"required"``, ``"optional"`` or ``"none"``."""
    regimes: tuple[str, ...] = ("programme", "jcp")
    stages: bool = False
    """True if the measure needs the programme's stages (a programme-delivered intervention)."""
    kind: str = "share"
    """``"share"`` (a binomial proportion), ``"rate"`` (events per claimant-month) or
    ``"mean"`` (events per claimant): how the objective scales its simulation se."""


SHARE_UNITS = ("percent", "proportion")
MEASURE_RULES: dict[str, MeasureRule] = {
    "job_outcome_rate": MeasureRule(SHARE_UNITS, "required"),
    "job_outcome_share_to_date": MeasureRule(SHARE_UNITS, "none", ("programme",)),
    "job_entry_rate": MeasureRule(SHARE_UNITS, "required"),
    "attachment_rate": MeasureRule(SHARE_UNITS, "optional", ("programme",)),
    "sustained_5plus_share": MeasureRule(SHARE_UNITS, "none"),
    "first_job_loss_13w_share": MeasureRule(SHARE_UNITS, "none"),
    "sanctions_per_claimant_month": MeasureRule(
        ("per_claimant_month", "percent"), "none", kind="rate"
    ),
    "sanction_referrals_per_claimant_month": MeasureRule(
        ("per_claimant_month", "percent"), "none", kind="rate"
    ),
    "referral_sanction_conversion": MeasureRule(SHARE_UNITS, "none"),
    "sanctions_per_sanctioned_claimant": MeasureRule(("per_claimant",), "none", kind="mean"),
    "leaver_sustained_job_share": MeasureRule(SHARE_UNITS, "none", ("programme",)),
    "leaver_sustained_job_share_gateway": MeasureRule(
        SHARE_UNITS, "none", ("programme",), stages=True
    ),
    "leaver_sustained_job_share_option": MeasureRule(
        SHARE_UNITS, "none", ("programme",), stages=True
    ),
    "leaver_sustained_job_share_to_date": MeasureRule(SHARE_UNITS, "none", ("programme",)),
    "first_exit_to_work_share": MeasureRule(SHARE_UNITS, "none"),
    "first_exit_failed_to_sign_share": MeasureRule(SHARE_UNITS, "none"),
    "off_benefit_spell_rate": MeasureRule(SHARE_UNITS, "required", ("programme",)),
}
"""Every measure the mapping can compute (see :mod:`calibration.mapping`)."""


# --------------------------------------------------------------------------- reading


class _Row:
    """One CSV row with its line number, collecting problems as cells are parsed."""

    def __init__(self, file: str, line: int, cells: dict[str, str]) -> None:
        self.file, self.line, self.cells = file, line, cells
        self.problems: list[Problem] = []
        self.tid = cells.get("target_id", "").strip()

    def where(self, column: str) -> str:
        who = f" ({self.tid})" if self.tid else ""
        return f"row {self.line}{who}, column {column}"

    def fail(self, column: str, value: object, message: str) -> None:
        self.problems.append(Problem(self.file, self.where(column), value, message))

    def text(self, column: str, *, required: bool = True) -> str:
        value = (self.cells.get(column) or "").strip()
        if required and not value:
            self.fail(column, value, "must not be empty")
        return value

    def number(self, column: str, *, required: bool = True) -> float | None:
        raw = self.text(column, required=required)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            self.fail(column, raw, "expected a number")
            return None
        if not math.isfinite(value):
            self.fail(column, raw, "expected a finite number")
            return None
        return value

    def choice(self, column: str, options: tuple[str, ...] | list[str], what: str) -> str:
        value = self.text(column)
        if value and value not in options:
            self.fail(column, value, f"unknown {what}; expected one of {', '.join(options)}")
        return value


def _rounding_unit(raw: str) -> float:
    """Unit of the last written digit: ``"36.4"`` -> 0.1, ``"95"`` -> 1."""
    mantissa = raw.strip().lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (-decimals)


ARM_PREFIX = "arm:"
"""A population token ``arm:NAME`` restricts a target to one trial arm of its scenario."""


def _tokens(population: str) -> tuple[list[str], list[str]]:
    """Split ``a+b+arm:x`` into its group tokens and its arm names."""
    tokens = [t.strip() for t in population.split("+")]
    arms = [t.removeprefix(ARM_PREFIX) for t in tokens if t.startswith(ARM_PREFIX)]
    return [t for t in tokens if not t.startswith(ARM_PREFIX)], arms


def _arms(row: _Row, population: str, scenario: Scenario) -> tuple[str, ...]:
    """The trial arms named by ``arm:NAME`` tokens, reporting arms the scenario lacks."""
    _, arms = _tokens(population)
    for arm in arms:
        if arm not in scenario.arms:
            valid = ", ".join(ARM_PREFIX + a for a in scenario.arms) or "none (no trial arms)"
            row.fail("population", population, f"names no trial arm {arm!r}; valid: {valid}")
            return ()
    return tuple(arms)


def _groups(row: _Row, population: str, scenario: Scenario) -> tuple[str, ...]:
    """Resolve ``a+b+JSA`` into the scenario's payment groups, reporting unknown tokens."""
    groups = scenario.population.groups
    out: list[str] = []
    tokens, arms = _tokens(population)
    if arms and not tokens:
        tokens = ["all"]
    for token in tokens:
        if token == "all":
            out += list(groups)
        elif token in BENEFITS:
            out += [g for g, spec in groups.items() if spec.benefit == token]
        elif token in groups:
            out.append(token)
        else:
            valid = ", ".join(["all", *BENEFITS, *groups])
            row.fail("population", population, f"names no payment group {token!r}; valid: {valid}")
            return ()
    if not out and population:
        row.fail("population", population, "selects no payment group of the scenario")
    return tuple(g for g in groups if g in set(out))


def _cohort(row: _Row, cohort: str, scenario: Scenario) -> tuple[float, float] | None:
    """``"all"`` -> None; a month or span -> ``[start, end)`` in simulation days."""
    if cohort == "all" or not cohort:
        return None
    match = _COHORT_RE.match(cohort)
    run = scenario.run
    first = month_index(run.start_month)
    if match is None:
        expected = 'expected "all", a referral month "YYYY-MM" or "YYYY-MM..YYYY-MM"'
        row.fail("cohort", cohort, expected)
        return None
    try:
        a = month_index(match.group(1)) - first
        b = month_index(match.group(2) or match.group(1)) - first
    except ValueError:
        row.fail("cohort", cohort, "not a calendar month")
        return None
    if not 0 <= a <= b < run.cohort_months:
        row.fail(
            "cohort",
            cohort,
            f"the model refers claimants in {run.cohort_months} monthly cohorts from "
            f"{run.start_month}; this cohort is outside them or its span is reversed",
        )
        return None
    return a * DAYS_PER_MONTH, (b + 1) * DAYS_PER_MONTH


def _horizon(row: _Row, measure: str, scenario: Scenario | None) -> int | None:
    value = row.number("horizon_months", required=False)
    rule = MEASURE_RULES.get(measure)
    if rule is None:
        return None
    if value is None:
        if rule.horizon == "required":
            row.fail("horizon_months", "", f"measure {measure} needs a horizon in months")
        return None
    if rule.horizon == "none":
        row.fail("horizon_months", value, f"measure {measure} takes no horizon; leave it empty")
        return None
    if value != int(value) or value < 1:
        row.fail("horizon_months", value, "expected a whole number of months >= 1")
        return None
    if scenario is not None:
        run = scenario.run
        follow = 7.0 * (run.programme_weeks + run.follow_up_weeks) / DAYS_PER_MONTH
        if value > follow:
            row.fail(
                "horizon_months",
                value,
                f"the model follows each claimant about {follow:.0f} months from referral",
            )
            return None
    return int(value)


def _measure_and_unit(row: _Row, scenario: Scenario | None) -> tuple[str, str]:
    measure = row.choice("measure", list(MEASURE_RULES), "measure")
    unit = row.choice("unit", list(UNITS), "unit")
    rule = MEASURE_RULES.get(measure)
    if rule is None or unit not in UNITS:
        return measure, unit
    if unit not in rule.units:
        row.fail("unit", unit, f"measure {measure} is given in {' or '.join(rule.units)}")
    if scenario is not None and scenario.regime not in rule.regimes:
        row.fail(
            "measure",
            measure,
            f"scenario {scenario.name!r} (regime {scenario.regime}) cannot produce it: "
            f"needs regime {' or '.join(rule.regimes)}",
        )
    if (
        scenario is not None
        and rule.stages
        and not any(iv.delivered_by == "programme" for iv in scenario.interventions)
    ):
        row.fail(
            "measure",
            measure,
            f"scenario {scenario.name!r} has no stages: it needs a programme-delivered "
            "intervention (the option) after the Gateway",
        )
    return measure, unit


def _value_and_range(row: _Row, exactness: str) -> tuple[float, float | None, float | None]:
    value = row.number("value")
    low = row.number("low", required=False)
    high = row.number("high", required=False)
    if exactness == "range":
        if low is None and high is None:
            row.fail("low", "", "a range needs low, high or both")
        elif value is not None and not (
            (low is None or low <= value) and (high is None or value <= high)
        ):
            row.fail("value", value, f"must lie in the range [{low}, {high}]")
    elif low is not None or high is not None:
        row.fail("low", low if low is not None else high, "low/high are for exactness = range")
    return (0.0 if value is None else value), low, high


def _target(row: _Row, scenarios: Mapping[str, Scenario], about_sd_relative: float) -> Target:
    """Parse and check one row (problems are collected in ``row``)."""
    scenario_name = row.choice("scenario", list(scenarios), "scenario")
    scenario = scenarios.get(scenario_name)
    measure, unit = _measure_and_unit(row, scenario)
    exactness = row.choice("exactness", EXACTNESS, "exactness")
    value, low, high = _value_and_range(row, exactness)
    population = row.text("population")
    groups = _groups(row, population, scenario) if scenario and population else ()
    arms = _arms(row, population, scenario) if scenario and population else ()
    cohort = row.text("cohort")
    cohort_days = _cohort(row, cohort, scenario) if scenario else None
    weight = row.number("weight")
    if weight is not None and weight < 0:
        row.fail("weight", weight, "must be >= 0")
    if row.tid and not _ID_RE.match(row.tid):
        row.fail("target_id", row.tid, "expected letters, digits, '_', '-' or '.'")
    horizon = _horizon(row, measure, scenario)
    label = row.text("label", required=False) or f"{row.tid} {population} {measure}"
    return Target(
        target_id=row.text("target_id"),
        label=label,
        programme=row.text("programme"),
        population=population,
        groups=groups,
        arms=arms,
        cohort=cohort,
        cohort_days=cohort_days,
        horizon_months=horizon,
        measure=measure,
        value=value,
        unit=unit,
        exactness=exactness,
        low=low,
        high=high,
        scenario=scenario_name,
        weight=1.0 if weight is None else weight,
        source=row.text("source"),
        notes=row.text("notes", required=False),
        period=row.text("period", required=False),
        rounding_unit=_rounding_unit(row.cells.get("value") or "0"),
        about_sd_relative=about_sd_relative,
        line=row.line,
    )


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Return the header and ``(line, cells)`` rows of a CSV file."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = [(reader.line_num, dict(r)) for r in reader]
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ScenarioError([Problem(str(path), "", None, f"cannot read: {err}")]) from None
    return header, rows


def _header_problems(file: str, header: list[str]) -> list[Problem]:
    problems = [
        Problem(file, f"column {c}", None, "required column is missing")
        for c in REQUIRED_COLUMNS
        if c not in header
    ]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    problems += [
        Problem(file, f"column {c}", c, f"unknown column; known: {', '.join(sorted(known))}")
        for c in header
        if c not in known
    ]
    return problems


def load_targets(
    path: str | Path, scenarios: Mapping[str, Scenario], *, about_sd_relative: float = 0.1
) -> list[Target]:
    """Read and validate a targets CSV.

    Parameters
    ----------
    path : str or Path
        The targets file.
    scenarios : Mapping
        ``{scenario name: Scenario}`` the targets may refer to in their ``scenario``
        column (the base scenario and its counterfactual).
    about_sd_relative : float
        Relative sd given to ``about`` figures.

    Returns
    -------
    list of Target
        In file order.

    Raises
    ------
    sim.scenario.ScenarioError
        If the file is missing or unreadable, has no rows, lacks a required column or
        has an unknown one, or any row has an empty required cell, a non-numeric
        number, an unknown unit, exactness, measure or scenario, a unit its measure
        is not given in, a stage measure on a scenario without stages, a population
        naming no payment group of the scenario, a cohort outside the simulated
        referral months, a horizon the measure does not take or the model does not
        follow, a range without bounds or a value outside
        it, a negative weight, or a duplicate ``target_id``. Every problem names the
        file, the row (line number and target id) and column, and the value.
    """
    path = Path(path)
    file = str(path)
    header, rows = _read_rows(path)
    problems = _header_problems(file, header)
    if problems:
        raise ScenarioError(problems)
    if not rows:
        raise ScenarioError([Problem(file, "", None, "has no targets (no rows after the header)")])
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        row = _Row(file, line, cells)
        target = _target(row, scenarios, about_sd_relative)
        if row.tid in seen:
            row.fail("target_id", row.tid, f"duplicate of row {seen[row.tid]}")
        seen.setdefault(row.tid, line)
        problems += row.problems
        targets.append(target)
    if problems:
        raise ScenarioError(problems)
    return targets
