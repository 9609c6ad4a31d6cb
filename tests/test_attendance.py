"""Tests for sim.attendance: the miss probability, its clock, and failures per week."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.attendance import (
    NEVER,
    AttendanceParams,
    attendance_params,
    clock_per_contact,
    contacts_on_clock,
    expected_failures_per_week,
    n_attended_before_failure,
    p_failure_per_week,
    p_miss,
)
from sim.config import Attendance
from sim.fmath import log, neg_log1m
from sim.rng import Streams

N_DRAWS = 20_000
Z = 4.0  # tolerance in standard errors: a false alarm about once in 16,000 checks
DAILY, WEEKLY, FORTNIGHTLY = 1.0, 7.0, 14.0


# the scenario states attendance; these tests speak of misses (the rules' log-odds)
_ATTEND_KEYS = {
    "frequency_elasticity": ("frequency_elasticity", 1.0),
    "voluntary_logit_shift": ("voluntary_logit_shift", -1.0),
    "logit_per_prior_failure": ("logit_per_prior_fta", -1.0),
    "logit_per_prior_sanction": ("logit_per_prior_sanction", -1.0),
    "ref_interval_days": ("reference_interval_days", 1.0),
}
DEFAULTS = {
    "p_miss_fortnightly": 0.05,
    "frequency_elasticity": 0.5,
    "voluntary_logit_shift": 1.0,
    "logit_per_prior_failure": 0.3,
    "logit_per_prior_sanction": -0.2,
    "ref_interval_days": 14.0,
}


def params(**kw: float) -> AttendanceParams:
    """The rules' scalars for miss-side settings (H: the defaults above)."""
    kw = {**DEFAULTS, **kw}
    att = {"p_attend": 1.0 - kw.pop("p_miss_fortnightly")}
    for name, value in kw.items():
        key, sign = _ATTEND_KEYS[name]
        att[key] = sign * value
    return attendance_params(Attendance(**att))


def uniforms(stream: str, n: int = N_DRAWS) -> list[float]:
    return [float(u) for u in Streams(seed=20240611, replicate=0).uniforms(stream, np.arange(n))]


def odds(p: float) -> float:
    return p / (1.0 - p)


# ------------------------------------------------------------------ p_miss
def test_reference_contact_has_the_configured_probability() -> None:
    prm = params(p_miss_fortnightly=0.07)
    assert prm.logit_ref == pytest.approx(math.log(0.07 / 0.93), rel=1e-14)
    assert p_miss(prm, FORTNIGHTLY, True, 0, 0, 0.0) == pytest.approx(0.07, rel=1e-14)


def test_logit_shift_moves_the_odds_by_its_exponential() -> None:
    prm = params(p_miss_fortnightly=0.1)
    ratio = odds(p_miss(prm, FORTNIGHTLY, True, 0, 0, 0.4)) / odds(
        p_miss(prm, FORTNIGHTLY, True, 0, 0, 0.0)
    )
    assert ratio == pytest.approx(math.exp(0.4), rel=1e-12)


@pytest.mark.parametrize("theta", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("interval", [DAILY, WEEKLY, 28.0])
def test_odds_of_a_miss_scale_as_a_power_of_the_interval(theta: float, interval: float) -> None:
    prm = params(p_miss_fortnightly=0.05, frequency_elasticity=theta)
    ratio = odds(p_miss(prm, interval, True, 0, 0, 0.0)) / odds(0.05)
    assert ratio == pytest.approx((interval / FORTNIGHTLY) ** theta, rel=1e-12)


def test_theta_zero_makes_the_miss_probability_independent_of_frequency() -> None:
    prm = params(p_miss_fortnightly=0.05, frequency_elasticity=0.0)
    values = {p_miss(prm, i, True, 2, 1, -0.3) for i in (DAILY, WEEKLY, FORTNIGHTLY, 91.0)}
    assert len(values) == 1


def test_voluntary_contacts_are_missed_more_by_the_shift() -> None:
    prm = params(p_miss_fortnightly=0.05, voluntary_logit_shift=1.0)
    compulsory = p_miss(prm, FORTNIGHTLY, True, 0, 0, 0.0)
    voluntary = p_miss(prm, FORTNIGHTLY, False, 0, 0, 0.0)
    assert voluntary > compulsory
    assert odds(voluntary) / odds(compulsory) == pytest.approx(math.e, rel=1e-12)


def test_voluntary_shift_zero_makes_compulsion_irrelevant() -> None:
    prm = params(voluntary_logit_shift=0.0)
    assert p_miss(prm, WEEKLY, False, 1, 1, 0.2) == p_miss(prm, WEEKLY, True, 1, 1, 0.2)


def test_deterrence_lowers_the_miss_probability_with_each_sanction() -> None:
    prm = params(p_miss_fortnightly=0.1, logit_per_prior_sanction=-0.3)
    ps = [p_miss(prm, FORTNIGHTLY, True, 2, n, 0.0) for n in range(6)]
    assert all(b < a for a, b in pairwise(ps))
    assert odds(ps[5]) / odds(ps[0]) == pytest.approx(math.exp(-1.5), rel=1e-12)


def test_no_deterrence_leaves_sanctions_without_effect() -> None:
    prm = params(logit_per_prior_sanction=0.0)
    assert len({p_miss(prm, FORTNIGHTLY, True, 1, n, 0.0) for n in range(5)}) == 1


def test_persistence_raises_the_miss_probability_with_each_failure() -> None:
    prm = params(p_miss_fortnightly=0.1, logit_per_prior_failure=0.3)
    ps = [p_miss(prm, FORTNIGHTLY, True, n, 0, 0.0) for n in range(6)]
    assert all(b > a for a, b in pairwise(ps))


@pytest.mark.parametrize(
    ("interval", "n_failures", "n_sanctions"),
    [(0.0, 0, 0), (-7.0, 0, 0), (math.nan, 0, 0), (14.0, -1, 0), (14.0, 0, -1)],
)
def test_p_miss_rejects_bad_arguments(interval: float, n_failures: int, n_sanctions: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        p_miss(params(), interval, True, n_failures, n_sanctions, 0.0)


# ------------------------------------------------------------------ failures per week
def weekly_table(theta: float, p_ref: float = 0.05) -> dict[float, tuple[float, float]]:
    prm = params(p_miss_fortnightly=p_ref, frequency_elasticity=theta)
    out = {}
    for interval in (DAILY, WEEKLY, FORTNIGHTLY):
        p = p_miss(prm, interval, True, 0, 0, 0.0)
        out[interval] = (expected_failures_per_week(p, interval), p_failure_per_week(p, interval))
    return out


@pytest.mark.parametrize("theta", [0.1, 0.5, 1.0])
def test_failures_per_week_rise_with_frequency_but_sub_linearly(theta: float) -> None:
    t = weekly_table(theta)
    for k in (0, 1):  # expected count, and probability of at least one
        daily, weekly, fortnightly = t[DAILY][k], t[WEEKLY][k], t[FORTNIGHTLY][k]
        assert daily > weekly > fortnightly
        assert weekly / fortnightly < 2.0
        assert daily / fortnightly < 14.0


@pytest.mark.parametrize("theta", [0.1, 0.5, 1.0])
def test_expected_failures_per_week_follow_the_power_law(theta: float) -> None:
    # small p: failures per week ~ frequency ** (1 - theta); exact in the odds
    t = weekly_table(theta, p_ref=0.01)
    ratio = t[WEEKLY][0] / t[FORTNIGHTLY][0]
    assert ratio == pytest.approx(2.0 ** (1.0 - theta), rel=0.01)


def test_theta_zero_makes_expected_failures_per_week_proportional_to_frequency() -> None:
    t = weekly_table(0.0)
    assert t[WEEKLY][0] / t[FORTNIGHTLY][0] == pytest.approx(2.0, rel=1e-14)
    assert t[DAILY][0] / t[FORTNIGHTLY][0] == pytest.approx(14.0, rel=1e-14)


@given(
    theta=st.floats(0.05, 1.0),
    logit_shift=st.floats(-3.0, 1.0),
    i1=st.floats(1.0, 91.0),
    factor=st.floats(1.01, 10.0),
)
def test_sub_linear_in_frequency_for_any_theta_in_range(
    theta: float, logit_shift: float, i1: float, factor: float
) -> None:
    prm = params(p_miss_fortnightly=0.05, frequency_elasticity=theta)
    i2 = i1 * factor  # less frequent
    p1 = p_miss(prm, i1, True, 0, 0, logit_shift)
    p2 = p_miss(prm, i2, True, 0, 0, logit_shift)
    assert p1 < p2  # each contact less likely missed when more frequent
    assert p_failure_per_week(p1, i1) > p_failure_per_week(p2, i2)
    assert expected_failures_per_week(p1, i1) > expected_failures_per_week(p2, i2)
    assert expected_failures_per_week(p1, i1) / expected_failures_per_week(p2, i2) < factor


@pytest.mark.parametrize(
    ("p", "interval"), [(0.05, 14.0), (0.3, 7.0), (0.01, 1.0), (0.9, 3.5), (0.2, 28.0)]
)
def test_p_failure_per_week_closed_form(p: float, interval: float) -> None:
    assert p_failure_per_week(p, interval) == pytest.approx(1.0 - (1.0 - p) ** (7.0 / interval))


def test_failure_per_week_extremes() -> None:
    assert p_failure_per_week(0.0, 7.0) == 0.0
    assert p_failure_per_week(1.0, 14.0) == 1.0
    with pytest.raises(ValueError, match="interval_days"):
        p_failure_per_week(0.1, 0.0)
    with pytest.raises(ValueError, match="p_miss"):
        expected_failures_per_week(1.1, 7.0)


# ------------------------------------------------------------------ geometric inversion
@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_attended_count_is_geometric(p: float) -> None:
    ks = np.array([n_attended_before_failure(u, p) for u in uniforms(f"test.geometric.{p}")])
    mean, var = (1.0 - p) / p, (1.0 - p) / p**2
    assert abs(ks.mean() - mean) < Z * math.sqrt(var / N_DRAWS)
    for k in range(5):
        pk = (1.0 - p) ** k * p
        assert abs(np.mean(ks == k) - pk) < Z * math.sqrt(pk * (1.0 - pk) / N_DRAWS), k


@pytest.mark.parametrize(("p", "k"), [(0.2, 1), (0.2, 3), (0.05, 10), (0.5, 2)])
def test_inversion_thresholds(p: float, k: int) -> None:
    # K >= k exactly when u >= 1 - (1 - p)**k
    threshold = 1.0 - (1.0 - p) ** k
    assert n_attended_before_failure(threshold - 1e-9, p) == k - 1
    assert n_attended_before_failure(threshold + 1e-9, p) == k


def test_inversion_extremes() -> None:
    assert n_attended_before_failure(0.0, 0.3) == 0
    assert n_attended_before_failure(0.999, 1.0) == 0
    assert n_attended_before_failure(0.5, 0.0) == NEVER
    assert n_attended_before_failure(0.5, 1e-300) == NEVER  # 1 - p rounds to 1
    assert contacts_on_clock(1e300, 1e-10) == NEVER


@pytest.mark.parametrize(("u", "p"), [(1.0, 0.1), (-0.1, 0.1), (0.5, 1.5), (0.5, -0.1)])
def test_inversion_rejects_bad_arguments(u: float, p: float) -> None:
    with pytest.raises(ValueError, match="must be in"):
        n_attended_before_failure(u, p)


def test_same_count_as_the_journey_formula() -> None:
    # sim.journey draws int(-neg_log1m(u) / log(p_attend)); 0.75 = 1 - 0.25 exactly
    for u in uniforms("test.journey", 2_000):
        assert n_attended_before_failure(u, 0.25) == int(-neg_log1m(u) / log(0.75))


@pytest.mark.parametrize(("p1", "p2", "m"), [(0.1, 0.3, 3), (0.3, 0.05, 2)])
def test_clock_carries_over_a_change_of_probability(p1: float, p2: float, m: int) -> None:
    """p1 for the first m contacts, p2 after: P(K >= k) = (1-p1)**min(k,m) (1-p2)**(k-m)+."""
    ks = []
    for u in uniforms(f"test.carry.{p1}.{p2}"):
        e = neg_log1m(u)
        k = contacts_on_clock(e, p1)
        if k >= m:
            k = m + contacts_on_clock(e - m * clock_per_contact(p1), p2)
        ks.append(k)
    arr = np.array(ks)
    for k in range(1, 9):
        surv = (1.0 - p1) ** min(k, m) * (1.0 - p2) ** max(k - m, 0)
        assert abs(np.mean(arr >= k) - surv) < Z * math.sqrt(surv * (1 - surv) / N_DRAWS), k


def test_a_spent_clock_misses_the_next_contact() -> None:
    assert contacts_on_clock(0.0, 0.2) == 0
    assert contacts_on_clock(-1e-17, 0.2) == 0
    with pytest.raises(ValueError, match="nan"):
        contacts_on_clock(math.nan, 0.2)


# ------------------------------------------------------------------ config
def test_scenario_attendance_maps_onto_miss_logits() -> None:
    p = attendance_params(Attendance(p_attend=0.9, logit_per_prior_fta=-0.3))
    assert p.logit_ref == pytest.approx(math.log(0.1 / 0.9), rel=1e-15)
    assert p.logit_per_prior_failure == 0.3
    assert attendance_params(Attendance(p_attend=1.0)).logit_ref == -math.inf


@pytest.mark.parametrize(
    "bad",
    [
        {"p_attend": -0.1},
        {"p_attend": 1.1},
        {"frequency_elasticity": -0.1},
        {"frequency_elasticity": 1.1},
        {"reference_interval_days": 0.0},
        {"p_miss": 0.1},
    ],
    ids=lambda d: next(iter(d)),
)
def test_bad_config_rejected(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        Attendance(**bad)
