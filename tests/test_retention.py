"""Tests for sim.retention: job-loss hazard, its inversion, survival and heterogeneity."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.hazards import INF, StepHazard
from sim.retention import (
    InWorkSupport,
    Retention,
    claimant_loss_multiplier,
    cumulative_loss,
    job_end_after_days,
    loss_multiplier,
    p_still_in_work,
    support_cost_gbp,
)
from sim.rng import Streams

N_DRAWS = 20_000
Z = 4.0  # tolerance in standard errors
WEEKS_13, WEEKS_26 = 91.0, 182.0
STREAMS = Streams(seed=20240611, replicate=7)

# base job-loss rates per day by tenure, for hand-computed closed forms
STARTS = [0.0, 91.0, 182.0, 365.0]
RATES = [0.0047, 0.0022, 0.0012, 0.0006]
TENURE = StepHazard(STARTS, RATES)


def base_integral(t: float) -> float:
    """Integral of the base rate over [0, t], summed band by band."""
    total = 0.0
    for (a, r), b in zip(zip(STARTS, RATES, strict=True), [*STARTS[1:], INF], strict=True):
        total += r * max(0.0, min(t, b) - a)
    return total


def survival_by_hand(t: float, m: float, support_days: float, sm: float) -> float:
    supported = base_integral(min(t, support_days))
    return math.exp(-m * (sm * supported + base_integral(t) - supported))


def clocks(stream: str, n: int = N_DRAWS) -> list[float]:
    return [float(e) for e in STREAMS.exponentials(stream, np.arange(n))]


# ------------------------------------------------------------------ survival
@pytest.mark.parametrize(
    ("m", "support_days", "sm"),
    [(1.0, 0.0, 1.0), (1.3, 0.0, 1.0), (1.3, 60.0, 0.7), (0.8, 182.0, 0.5), (2.0, 300.0, 0.9)],
)
def test_survival_to_13_and_26_weeks_closed_form_and_draws(
    m: float, support_days: float, sm: float
) -> None:
    ends = np.array(
        [job_end_after_days(e, m, TENURE, support_days, sm) for e in clocks(f"t.{m}.{sm}")]
    )
    for t in (WEEKS_13, WEEKS_26):
        p = p_still_in_work(t, m, TENURE, support_days, sm)
        assert p == pytest.approx(survival_by_hand(t, m, support_days, sm), rel=1e-12)
        assert abs(np.mean(ends > t) - p) < Z * math.sqrt(p * (1.0 - p) / N_DRAWS), t


@pytest.mark.parametrize("e", [0.0, 0.1, 0.4277, 0.5, 1.0, 3.0])
@pytest.mark.parametrize(("m", "support_days", "sm"), [(1.0, 0.0, 1.0), (1.5, 100.0, 0.6)])
def test_job_end_inverts_the_cumulative_hazard(
    e: float, m: float, support_days: float, sm: float
) -> None:
    t = job_end_after_days(e, m, TENURE, support_days, sm)
    assert cumulative_loss(t, m, TENURE, support_days, sm) == pytest.approx(e, abs=1e-12)


@st.composite
def step_hazards(draw: st.DrawFn) -> StepHazard:
    n = draw(st.integers(1, 5))
    widths = draw(st.lists(st.floats(1.0, 400.0), min_size=n - 1, max_size=n - 1))
    starts = [0.0]
    for w in widths:
        starts.append(starts[-1] + w)
    rates = draw(st.lists(st.floats(1e-4, 0.05), min_size=n, max_size=n))
    return StepHazard(starts, rates)


@given(
    tenure=step_hazards(),
    e=st.floats(0.0, 5.0),
    m=st.floats(0.1, 5.0),
    support_days=st.floats(0.0, 500.0),
    sm=st.floats(0.05, 1.0),
)
def test_inversion_property(
    tenure: StepHazard, e: float, m: float, support_days: float, sm: float
) -> None:
    t = job_end_after_days(e, m, tenure, support_days, sm)
    assert cumulative_loss(t, m, tenure, support_days, sm) == pytest.approx(e, rel=1e-9, abs=1e-12)
    # a clock one part in a thousand longer never ends the job earlier
    assert job_end_after_days(e * 1.001 + 1e-9, m, tenure, support_days, sm) >= t


def test_zero_multiplier_or_zero_last_band_never_ends() -> None:
    assert job_end_after_days(0.5, 0.0, TENURE, 0.0, 1.0) == INF
    short = StepHazard([0.0, 10.0], [0.01, 0.0])
    assert job_end_after_days(0.2, 1.0, short, 0.0, 1.0) == INF
    assert job_end_after_days(0.05, 1.0, short, 0.0, 1.0) == pytest.approx(5.0)


# ------------------------------------------------------------------ monotonicity and support
def test_survival_falls_with_the_multiplier_and_each_job_ends_earlier() -> None:
    es = clocks("t.mono", 2_000)
    ms = [0.5, 0.8, 1.0, 1.3, 2.0]
    surv = [p_still_in_work(WEEKS_26, m, TENURE, 60.0, 0.8) for m in ms]
    assert all(b < a for a, b in pairwise(surv))
    for e in es:
        ends = [job_end_after_days(e, m, TENURE, 60.0, 0.8) for m in ms]
        assert all(b <= a for a, b in pairwise(ends))


def test_in_work_support_raises_survival() -> None:
    for t in (30.0, WEEKS_13, WEEKS_26, 400.0):
        without = p_still_in_work(t, 1.2, TENURE, 0.0, 1.0)
        assert p_still_in_work(t, 1.2, TENURE, 182.0, 0.7) > without
    assert p_still_in_work(0.0, 1.2, TENURE, 182.0, 0.7) == 1.0
    for e in clocks("t.support", 2_000):
        supported = job_end_after_days(e, 1.2, TENURE, 182.0, 0.7)
        assert supported >= job_end_after_days(e, 1.2, TENURE, 0.0, 1.0)


def test_after_support_ends_the_hazard_is_the_base_one() -> None:
    # survival from 182 to 300 days given survival to 182 does not depend on support
    def conditional(support_days: float, sm: float) -> float:
        return p_still_in_work(300.0, 1.2, TENURE, support_days, sm) / p_still_in_work(
            WEEKS_26, 1.2, TENURE, support_days, sm
        )

    assert conditional(WEEKS_26, 0.5) == pytest.approx(conditional(0.0, 1.0), rel=1e-12)


def test_support_multiplier_one_changes_no_draw() -> None:
    for e in clocks("t.null", 2_000):
        assert job_end_after_days(e, 1.3, TENURE, 182.0, 1.0) == job_end_after_days(
            e, 1.3, TENURE, 0.0, 1.0
        )
        assert job_end_after_days(e, 1.3, TENURE, 0.0, 0.5) == job_end_after_days(
            e, 1.3, TENURE, 0.0, 1.0
        )


def test_clock_carries_over_a_change_of_multiplier() -> None:
    """Multiplier 1 until tenure 60, then 2: P(T > t) = exp(-B(60) - 2 (B(t) - B(60)))."""
    s, m1, m2 = 60.0, 1.0, 2.0
    ends = []
    for e in clocks("t.carry"):
        t = job_end_after_days(e, m1, TENURE, 0.0, 1.0)
        if t > s:
            used = cumulative_loss(s, m1, TENURE, 0.0, 1.0)
            t = job_end_after_days(
                cumulative_loss(s, m2, TENURE, 0.0, 1.0) + e - used, m2, TENURE, 0.0, 1.0
            )
        ends.append(t)
    arr = np.array(ends)
    for t in (30.0, WEEKS_13, WEEKS_26):
        p = math.exp(
            -m1 * base_integral(min(t, s)) - m2 * (base_integral(t) - base_integral(min(t, s)))
        )
        assert abs(np.mean(arr > t) - p) < Z * math.sqrt(p * (1.0 - p) / N_DRAWS), t


# ------------------------------------------------------------------ heterogeneity
CFG = Retention(condition_multipliers={"mental_health": 1.5})
COEF = 0.2
HETEROGENEITY = [
    # esa, condition, age band, distance, expected multiplier
    (False, None, "25-49", 0.0, 1.0),
    (True, None, "25-49", 0.0, 1.3),
    (False, "mental_health", "25-49", 0.0, 1.5),
    (False, "musculoskeletal", "25-49", 0.0, 1.0),
    (False, None, "18-24", 0.0, 1.3),
    (False, None, "50+", 0.0, 0.9),
    (False, None, "25-49", 1.0, math.exp(0.2)),
    (False, None, "25-49", -1.0, math.exp(-0.2)),
    (True, "mental_health", "18-24", 2.0, 1.3 * 1.5 * 1.3 * math.exp(0.4)),
]


@pytest.mark.parametrize(("esa", "condition", "age", "distance", "expected"), HETEROGENEITY)
def test_heterogeneity_multiplier_table(
    esa: bool, condition: str | None, age: str, distance: float, expected: float
) -> None:
    got = claimant_loss_multiplier(CFG, esa, condition, age, distance, COEF)
    assert got == pytest.approx(expected, rel=1e-14)


def test_unlisted_age_band_has_multiplier_one() -> None:
    cfg = Retention(age_multipliers={"18-24": 2.0})
    assert claimant_loss_multiplier(cfg, False, None, "50+", 0.0, COEF) == 1.0


@pytest.mark.parametrize("position", range(3))
def test_loss_multiplier_rises_in_each_factor(position: int) -> None:
    factors = [1.2, 0.9, 1.1]
    values = []
    for f in (0.5, 1.0, 2.0):
        args = list(factors)
        args[position] = f
        values.append(loss_multiplier(args[0], args[1], args[2], 0.2, 0.5))
    assert values[0] < values[1] < values[2]


def test_loss_multiplier_rises_with_distance_for_a_positive_coefficient() -> None:
    vals = [loss_multiplier(1.0, 1.0, 1.0, 0.3, d) for d in (-1.0, 0.0, 1.0, 2.5)]
    assert all(b > a for a, b in pairwise(vals))
    assert loss_multiplier(1.0, 1.0, 1.0, 0.0, 3.0) == 1.0


def test_unknown_age_band_raises() -> None:
    with pytest.raises(ValueError, match="age_band"):
        claimant_loss_multiplier(CFG, False, None, "16-17", 0.0, COEF)


# ------------------------------------------------------------------ support cost and arguments
@pytest.mark.parametrize(
    ("job_days", "support_days", "cost", "expected"),
    [(14.0, 182.0, 10.0, 20.0), (365.0, 182.0, 10.0, 260.0), (100.0, 0.0, 10.0, 0.0)],
)
def test_support_cost(job_days: float, support_days: float, cost: float, expected: float) -> None:
    assert support_cost_gbp(job_days, support_days, cost) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("e", "m", "support_days", "sm"),
    [
        (-0.1, 1.0, 0.0, 1.0),
        (math.nan, 1.0, 0.0, 1.0),
        (0.5, -1.0, 0.0, 1.0),
        (0.5, 1.0, -1.0, 1.0),
        (0.5, 1.0, 10.0, 0.0),
    ],
)
def test_job_end_rejects_bad_arguments(e: float, m: float, support_days: float, sm: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        job_end_after_days(e, m, TENURE, support_days, sm)


def test_other_functions_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="t_days"):
        p_still_in_work(-1.0, 1.0, TENURE, 0.0, 1.0)
    with pytest.raises(ValueError, match="multipliers"):
        loss_multiplier(-1.0, 1.0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="job_days"):
        support_cost_gbp(-1.0, 10.0, 5.0)


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "bad",
    [
        {"loss_multiplier_esa": 0.0},
        {"loss_multiplier_jsa": -1.0},
        {"condition_multipliers": {"mental_health": -0.5}},
        {"age_multipliers": {"16-17": 1.0}},
        {"distance_coef": 0.2},
        {"in_work_support": {"loss_multiplier": 0.0}},
        {"in_work_support": {"loss_multiplier": 1.2}},
        {"in_work_support": {"duration_days": -7.0}},
        {"in_work_support": {"cost_gbp_per_week": -1.0}},
        {"in_work_support": {"loss_multiplier": 0.8, "effect": 0.2}},
        {"tenure_bands": []},
    ],
    ids=[
        "esa-multiplier-zero",
        "jsa-multiplier-negative",
        "condition-negative",
        "unknown-age-band",
        "distance-coef-lives-in-employment",
        "support-multiplier-zero",
        "support-multiplier-over-1",
        "support-days-negative",
        "support-cost-negative",
        "support-extra-key",
        "extra-key",
    ],
)
def test_bad_config_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Retention(**bad)


def test_in_work_support_defaults_have_no_effect() -> None:
    support = InWorkSupport()
    assert support.loss_multiplier == 1.0
    assert support.duration_days == 182.0
