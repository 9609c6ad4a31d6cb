"""Tests for sim.benefit_states: WCA outcome, conditionality, reclaims and long-run shares."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.linalg import expm

from sim.benefit_states import (
    CONDITIONALITY,
    BenefitDynamics,
    BenefitState,
    Conditionality,
    RateBand,
    conditionality,
    is_esa,
    rate_hazard,
    reclaim_at,
    returns_to_provider,
    stationary_shares,
    wca_outcome,
)
from sim.hazards import INF
from sim.rng import Streams

N_DRAWS = 20_000
Z = 4.0  # tolerance in standard errors
S = BenefitState
STREAMS = Streams(seed=20240611, replicate=3)


def bands(*pairs: tuple[float, float]) -> list[RateBand]:
    return [RateBand(from_days=a, rate_per_day=r) for a, r in pairs]


# ------------------------------------------------------------------ WCA outcome
@pytest.mark.parametrize(("p_fit", "p_support"), [(0.48, 0.29), (0.6, 0.1), (0.0, 1.0)])
def test_wca_outcome_shares(p_fit: float, p_support: float) -> None:
    cfg = BenefitDynamics(p_fit_for_work=p_fit, p_support_group=p_support)
    us = STREAMS.uniforms(f"test.wca.{p_fit}", np.arange(N_DRAWS)).tolist()
    states = [wca_outcome(u, cfg) for u in us]
    expected = {S.JSA: p_fit, S.ESA_WRAG: 1.0 - p_fit - p_support, S.ESA_SUPPORT: p_support}
    assert set(states) <= set(expected)
    for state, p in expected.items():
        share = states.count(state) / N_DRAWS
        assert abs(share - p) <= Z * math.sqrt(p * (1.0 - p) / N_DRAWS) + 1e-12, state


@pytest.mark.parametrize(
    ("u", "expected"),
    [
        (0.0, S.JSA),
        (0.4799999, S.JSA),
        (0.48, S.ESA_WRAG),
        (0.7099999, S.ESA_WRAG),
        (0.71, S.ESA_SUPPORT),
        (0.9999999, S.ESA_SUPPORT),
    ],
)
def test_wca_outcome_splits_the_unit_interval_by_severity(u: float, expected: S) -> None:
    cfg = BenefitDynamics(p_fit_for_work=0.48, p_support_group=0.29)
    assert wca_outcome(u, cfg) == expected


def test_more_support_group_moves_only_wrag_claimants() -> None:
    low = BenefitDynamics(p_fit_for_work=0.48, p_support_group=0.1)
    high = BenefitDynamics(p_fit_for_work=0.48, p_support_group=0.3)
    for u in STREAMS.uniforms("test.wca.crn", np.arange(2_000)).tolist():
        a, b = wca_outcome(u, low), wca_outcome(u, high)
        assert a == b or (a == S.ESA_WRAG and b == S.ESA_SUPPORT)


def test_wca_outcome_rejects_u_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"u\(=1.0\)"):
        wca_outcome(1.0, BenefitDynamics())


def test_default_wca_shares() -> None:
    cfg = BenefitDynamics()
    assert cfg.p_wrag == pytest.approx(0.23)


# ------------------------------------------------------------------ conditionality
YES, NO = True, False
CONDITIONALITY_TABLE = [
    # state, volunteer, (signing, provider activities, job search, sanctionable)
    (S.JSA, NO, (YES, YES, YES, YES)),
    (S.JSA, YES, (YES, YES, YES, YES)),
    (S.ESA_ASSESSMENT, NO, (NO, YES, NO, NO)),
    (S.ESA_ASSESSMENT, YES, (NO, YES, NO, NO)),
    (S.ESA_WRAG, NO, (NO, YES, NO, YES)),
    (S.ESA_WRAG, YES, (NO, YES, NO, NO)),
    (S.ESA_SUPPORT, NO, (NO, NO, NO, NO)),
    (S.ESA_SUPPORT, YES, (NO, YES, NO, NO)),
    (S.OFF_BENEFIT, NO, (NO, NO, NO, NO)),
    (S.OFF_BENEFIT, YES, (NO, NO, NO, NO)),
    (S.IN_WORK, NO, (NO, NO, NO, NO)),
    (S.IN_WORK, YES, (NO, NO, NO, NO)),
]


@pytest.mark.parametrize(
    ("state", "volunteer", "expected"),
    CONDITIONALITY_TABLE,
    ids=[f"{s.name}-{'vol' if v else 'mand'}" for s, v, _ in CONDITIONALITY_TABLE],
)
def test_conditionality_table(
    state: S, volunteer: bool, expected: tuple[bool, bool, bool, bool]
) -> None:
    assert conditionality(state, volunteer) == Conditionality(*expected)


def test_table_covers_every_state_and_volunteer() -> None:
    assert set(CONDITIONALITY) == set(S)
    assert {(s, v) for s, v, _ in CONDITIONALITY_TABLE} == {(s, v) for s in S for v in (NO, YES)}


def test_volunteers_are_never_sanctionable_on_esa() -> None:
    assert not any(conditionality(s, True).sanctionable for s in S if is_esa(s))


@pytest.mark.parametrize(
    ("state", "esa"),
    [
        (S.JSA, NO),
        (S.ESA_ASSESSMENT, YES),
        (S.ESA_WRAG, YES),
        (S.ESA_SUPPORT, YES),
        (S.OFF_BENEFIT, NO),
        (S.IN_WORK, NO),
    ],
)
def test_is_esa(state: S, esa: bool) -> None:
    assert is_esa(state) is esa


# ------------------------------------------------------------------ reclaims
RECLAIM = bands((0.0, 0.02), (30.0, 0.005), (100.0, 0.0))


def reclaim_survival(s: float) -> float:
    """exp(-integral of the hazard over [0, s]), integrated by hand for RECLAIM."""
    integral = 0.02 * min(s, 30.0) + 0.005 * min(max(s - 30.0, 0.0), 70.0)
    return math.exp(-integral)


def test_reclaim_times_follow_the_closed_form_survival() -> None:
    hazard = rate_hazard(RECLAIM)
    es = STREAMS.exponentials("test.reclaim", np.arange(N_DRAWS)).tolist()
    left_at = 250.0
    times = np.array([reclaim_at(left_at, e, hazard) for e in es])
    for s in (5.0, 30.0, 60.0, 100.0, 400.0):
        p = reclaim_survival(s)
        share = np.mean(times > left_at + s)
        assert abs(share - p) < Z * math.sqrt(p * (1.0 - p) / N_DRAWS), s
    never = math.exp(-(0.02 * 30.0 + 0.005 * 70.0))
    assert abs(np.mean(np.isinf(times)) - never) < Z * math.sqrt(never * (1 - never) / N_DRAWS)


@pytest.mark.parametrize(
    ("e", "expected_days"),
    [(0.0, 0.0), (0.3, 15.0), (0.6, 30.0), (0.7, 50.0), (0.9, 90.0), (0.96, INF), (5.0, INF)],
)
def test_reclaim_inversion_by_hand(e: float, expected_days: float) -> None:
    assert reclaim_at(10.0, e, rate_hazard(RECLAIM)) == pytest.approx(10.0 + expected_days)


def test_reclaim_rejects_negative_clock() -> None:
    with pytest.raises(ValueError, match="e"):
        reclaim_at(0.0, -0.1, rate_hazard(RECLAIM))


@pytest.mark.parametrize(
    ("now", "attached_at", "end_at", "expected"),
    [
        (50.0, 100.0, 828.0, NO),  # before attachment: Jobcentre
        (100.0, 100.0, 828.0, YES),  # the day of attachment
        (400.0, 100.0, 828.0, YES),  # inside the attachment period
        (828.0, 100.0, 828.0, NO),  # the programme ended that day
        (900.0, 100.0, 828.0, NO),  # after the programme
        (400.0, math.nan, math.nan, NO),  # never attached
    ],
)
def test_returns_to_provider(now: float, attached_at: float, end_at: float, expected: bool) -> None:
    assert returns_to_provider(now, attached_at, end_at) is expected


# ------------------------------------------------------------------ long-run shares
RATES_3 = [[0.0, 0.05, 0.02], [0.1, 0.0, 0.03], [0.04, 0.06, 0.0]]


def test_two_state_closed_form() -> None:
    a, b = 0.03, 0.12
    assert stationary_shares([[0.0, a], [b, 0.0]]) == pytest.approx([b / (a + b), a / (a + b)])


def test_cycle_closed_form() -> None:
    # 0 -> 1 -> 2 -> 0 at rates a, b, c: shares proportional to mean stays 1/a, 1/b, 1/c
    a, b, c = 0.2, 0.05, 0.1
    pi = stationary_shares([[0, a, 0], [0, 0, b], [c, 0, 0]])
    expected = np.array([1 / a, 1 / b, 1 / c])
    assert pi == pytest.approx(expected / expected.sum())


def test_matches_the_limit_of_the_transition_matrix() -> None:
    q = np.array(RATES_3, dtype=float)
    q -= np.diag(q.sum(axis=1))
    limit = expm(q * 5_000.0)[0]
    assert stationary_shares(RATES_3) == pytest.approx(limit, abs=1e-10)


def test_keyed_competing_clocks_give_the_stationary_shares() -> None:
    """Simulate the chain as the event loop will: one keyed unit-exponential clock per
    possible destination at each entry to a state, the first to fire wins."""
    rates = np.array(RATES_3)
    pi = stationary_shares(rates)
    n, horizon = 3_000, 600.0
    ids = np.arange(n)
    # start from the stationary distribution, so the expected time shares are pi exactly
    state = np.searchsorted(np.cumsum(pi), STREAMS.uniforms("test.chain.start", ids))
    t = np.zeros(n)
    occ = np.zeros(n, dtype=np.int64)
    time_in = np.zeros((n, 3))
    while (t < horizon).any():
        clocks = np.stack(
            [STREAMS.exponentials(f"test.chain.to{j}", ids, occ) for j in range(3)], axis=1
        )
        r = rates[state]
        with np.errstate(divide="ignore"):
            wait = np.where(r > 0.0, clocks / np.where(r > 0.0, r, 1.0), np.inf)
        nxt = wait.argmin(axis=1)
        dt = np.minimum(wait.min(axis=1), np.maximum(horizon - t, 0.0))
        time_in[ids, state] += dt
        t += dt
        state = np.where(t < horizon, nxt, state)
        occ += 1
    shares = time_in / horizon
    se = shares.std(axis=0, ddof=1) / math.sqrt(n)
    assert np.all(np.abs(shares.mean(axis=0) - pi) < Z * se), (shares.mean(axis=0), pi, se)


@pytest.mark.parametrize(
    ("rates", "match"),
    [
        ([[0.0, 0.1, 0.0]], "square"),
        ([[0.0, -0.1], [0.1, 0.0]], ">= 0"),
        ([[0.0, math.inf], [0.1, 0.0]], "finite"),
        ([[0.0, 0.1], [0.0, 0.0]], "no exit"),
        (
            [[0, 0.1, 0, 0], [0.1, 0, 0, 0], [0, 0, 0, 0.1], [0, 0, 0.1, 0]],
            "not irreducible",
        ),
    ],
    ids=["not-square", "negative", "infinite", "no-exit", "two-classes"],
)
def test_stationary_shares_rejects_bad_chains(rates: list[list[float]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stationary_shares(rates)


# ------------------------------------------------------------------ config
def test_default_bands_validate() -> None:
    cfg = BenefitDynamics()
    for b in (cfg.reclaim_after_offflow, cfg.reclaim_after_job):
        assert b[0].from_days == 0.0
        assert rate_hazard(b).cumulative(365.0) > 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"p_fit_for_work": 0.6, "p_support_group": 0.5},
        {"p_fit_for_work": 1.2},
        {"p_support_group": -0.1},
        {"p_close_on_failure_to_sign": 1.5},
        {"esa_assessment_days": 0.0},
        {"esa_assessment_days": math.inf},
        {"reclaim_after_job": []},
        {"reclaim_after_job": [{"from_days": 0.0, "rate_per_day": -0.01}]},
        {"reclaim_after_offflow": [{"from_days": 7.0, "rate_per_day": 0.01}]},
        {
            "reclaim_after_offflow": [
                {"from_days": 0.0, "rate_per_day": 0.01},
                {"from_days": 0.0, "rate_per_day": 0.02},
            ]
        },
        {"reclaim_after_job": [{"from_days": 0.0, "rate_per_day": 0.01, "multiplier": 1.0}]},
        {"p_wca": 0.3},
    ],
    ids=[
        "wca-shares-over-1",
        "p-fit-over-1",
        "p-support-negative",
        "p-close-over-1",
        "assessment-zero",
        "assessment-never-ends",
        "no-bands",
        "negative-rate",
        "first-band-not-0",
        "bands-not-increasing",
        "band-extra-key",
        "extra-key",
    ],
)
def test_bad_config_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BenefitDynamics(**bad)
