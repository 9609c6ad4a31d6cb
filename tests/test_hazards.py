"""Tests for sim.hazards: step hazards and the job-entry hazard's integral and inverse."""

from __future__ import annotations

import math
import warnings
from bisect import bisect_right
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate

from sim.contract import DAYS_PER_MONTH
from sim.hazards import INF, EntryHazard, StepHazard

DPM = DAYS_PER_MONTH

# ---------------------------------------------------------------- strategies
multipliers = st.one_of(st.just(0.0), st.floats(0.1, 3.0))


@st.composite
def bands(draw: st.DrawFn, max_bands: int = 5) -> tuple[list[float], list[float]]:
    n = draw(st.integers(1, max_bands))
    widths = draw(st.lists(st.floats(1.0, 800.0), min_size=n - 1, max_size=n - 1))
    starts = [0.0]
    for w in widths:
        starts.append(starts[-1] + w)
    mults = draw(st.lists(multipliers, min_size=n, max_size=n))
    return starts, mults


lm_lists = st.lists(st.floats(0.2, 2.0), min_size=1, max_size=48)


def mult_at(starts: list[float], mults: list[float], s: float) -> float:
    return mults[max(0, bisect_right(starts, s) - 1)]


def near_knot(starts: list[float], s: float, tol: float = 1e-6) -> bool:
    return any(abs(s - k) < tol for k in starts)


# ---------------------------------------------------------------- StepHazard: examples
def test_step_hazard_by_hand() -> None:
    h = StepHazard([0, 91, 365], [1.0, 0.6, 0.4])
    assert h.cumulative(0.0) == 0.0
    assert h.cumulative(91.0) == pytest.approx(91.0)
    assert h.cumulative(365.0) == pytest.approx(91.0 + 0.6 * 274)
    assert h.cumulative(465.0) == pytest.approx(91.0 + 0.6 * 274 + 40.0)
    assert h.solve(50.0) == pytest.approx(50.0)
    assert h.solve(91.0 + 0.6 * 100) == pytest.approx(191.0)
    assert h.solve(91.0 + 0.6 * 274 + 40.0) == pytest.approx(465.0)


def test_empty_step_hazard_is_unit_rate() -> None:
    h = StepHazard([], [])
    assert h.cumulative(12.5) == 12.5
    assert h.solve(12.5) == 12.5


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param(0.0, 0.0, id="zero"),
        pytest.param(5.0, 5.0, id="first-band"),
        pytest.param(10.5, 20.25, id="skips-zero-band"),
        pytest.param(12.0, 21.0, id="after-zero-band"),
        pytest.param(1e6, 20.0 + (1e6 - 10.0) / 2.0, id="far"),
    ],
)
def test_step_hazard_solve_skips_zero_band(target: float, expected: float) -> None:
    h = StepHazard([0, 10, 20], [1.0, 0.0, 2.0])
    assert h.solve(target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("starts", "mults", "target", "expected"),
    [
        pytest.param([0, 10], [1.0, 0.0], 5.0, 5.0, id="last-zero-reachable"),
        pytest.param([0, 10], [1.0, 0.0], 10.001, INF, id="last-zero-beyond"),
        pytest.param([0, 10], [1.0, 0.0], 1e9, INF, id="last-zero-far"),
        pytest.param([0], [0.0], 1.0, INF, id="all-zero"),
        pytest.param([0, 10, 20], [0.5, 0.0, 0.0], 5.1, INF, id="two-trailing-zero-bands"),
        pytest.param([0, 10], [0.0, 1.0], 3.0, 13.0, id="first-zero"),
    ],
)
def test_step_hazard_zero_bands(
    starts: list[float], mults: list[float], target: float, expected: float
) -> None:
    assert StepHazard(starts, mults).solve(target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("starts", "mults", "target", "smallest"),
    [
        pytest.param([0, 10, 20], [1.0, 0.0, 2.0], 10.0, 10.0, id="middle-plateau"),
        pytest.param([0, 10], [1.0, 0.0], 10.0, 10.0, id="trailing-plateau-gives-inf"),
        pytest.param([0, 10], [0.0, 1.0], 0.0, 0.0, id="zero-target-first-band-zero"),
    ],
)
def test_step_hazard_solve_plateau_level_returns_smallest(
    starts: list[float], mults: list[float], target: float, smallest: float
) -> None:
    h = StepHazard(starts, mults)
    assert h.cumulative(smallest) == target
    assert h.solve(target) == smallest


@pytest.mark.parametrize(
    ("starts", "mults", "match"),
    [
        pytest.param([0, 10], [1.0], "2 starts but 1 multipliers", id="lengths-differ"),
        pytest.param([0], [1.0, 2.0], "1 starts but 2 multipliers", id="lengths-differ-2"),
        pytest.param([1, 10], [1.0, 1.0], "must begin at 0", id="first-not-zero"),
        pytest.param([0, 10, 10], [1.0, 1.0, 1.0], "increase", id="repeated-start"),
        pytest.param([0, 10, 5], [1.0, 1.0, 1.0], "increase", id="decreasing"),
    ],
)
def test_step_hazard_validation(starts: list[float], mults: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StepHazard(starts, mults)


# ---------------------------------------------------------------- StepHazard: properties
@settings(max_examples=200, deadline=None)
@given(b=bands(), frac=st.floats(0.0, 1.0), extra=st.floats(0.0, 2000.0))
def test_step_cumulative_of_solve_is_identity(
    b: tuple[list[float], list[float]], frac: float, extra: float
) -> None:
    starts, mults = b
    h = StepHazard(starts, mults)
    horizon = starts[-1] + extra
    reachable = h.cumulative(horizon)
    target = frac * reachable
    # a target exactly on a zero band's level is covered by its own test above
    assume(all(target != h.cumulative(a) for a, m in zip(starts, mults, strict=True) if m == 0))
    s = h.solve(target)
    if mults[-1] == 0.0 and target > h.cumulative(starts[-1]):
        assert s == INF
        return
    assert s < INF
    assert h.cumulative(s) == pytest.approx(target, rel=1e-9, abs=1e-9)
    if s > 1e-6 and target > 0:
        # smallest: just before s the integral has not reached the target
        assert h.cumulative(s - 1e-6) < target


@settings(max_examples=150, deadline=None)
@given(b=bands(), s=st.floats(0.0, 5000.0))
def test_step_solve_of_cumulative_is_identity_in_positive_bands(
    b: tuple[list[float], list[float]], s: float
) -> None:
    starts, mults = b
    assume(mult_at(starts, mults, s) > 0.0)
    assume(not near_knot(starts, s))
    h = StepHazard(starts, mults)
    assert h.solve(h.cumulative(s)) == pytest.approx(s, rel=1e-9, abs=1e-7)


@settings(max_examples=200, deadline=None)
@given(b=bands(), xs=st.lists(st.floats(0.0, 5000.0), min_size=2, max_size=10))
def test_step_cumulative_is_monotone_and_matches_quadrature(
    b: tuple[list[float], list[float]], xs: list[float]
) -> None:
    starts, mults = b
    h = StepHazard(starts, mults)
    xs = sorted(xs)
    values = [h.cumulative(x) for x in xs]
    assert values == sorted(values)
    hi = xs[-1]
    pts = [k for k in starts if 0.0 < k < hi]
    if hi > 0:
        ref, _ = integrate.quad(lambda s: mult_at(starts, mults, s), 0.0, hi, points=pts or None)
        assert values[-1] == pytest.approx(ref, rel=1e-8, abs=1e-8)


# ---------------------------------------------------------------- EntryHazard: examples
def test_entry_hazard_by_hand() -> None:
    # LM 0.5 in month 0 then 1.0; duration bands: 1.0 for a year, then 0.5; claim began day -100
    e = EntryHazard([0.5, 1.0], [0, 365], [1.0, 0.5])
    cs = -100.0
    assert e.integral(0.0, DPM, cs) == pytest.approx(0.5 * DPM)
    expected = 0.5 * DPM + 1.0 * (265.0 - DPM) + 0.5 * 35.0
    assert expected == pytest.approx(267.28125)
    assert e.integral(0.0, 300.0, cs) == pytest.approx(267.28125)
    assert e.solve(0.0, 267.28125, cs) == pytest.approx(300.0)
    assert e.solve(0.0, 0.5 * DPM, cs) == pytest.approx(DPM)
    starts, offsets, levels = e.claimant_bands(cs)
    assert starts == [-100.0, 265.0]
    lam0 = e.cumulative(0.0, starts, offsets)
    assert e.cumulative(300.0, starts, offsets) - lam0 == pytest.approx(267.28125)
    assert e.inverse(lam0 + 267.28125, starts, offsets, levels) == pytest.approx(300.0)


def test_entry_hazard_zero_bands_by_hand() -> None:
    e = EntryHazard([1.0], [0, 100, 200], [1.0, 0.0, 2.0])
    assert e.integral(0.0, 1000.0, 0.0) == pytest.approx(100.0 + 2.0 * 800.0)
    assert e.solve(0.0, 150.0, 0.0) == pytest.approx(225.0)
    assert e.solve(150.0, 10.0, 0.0) == pytest.approx(205.0)
    starts, offsets, levels = e.claimant_bands(0.0)
    assert e.inverse(150.0, starts, offsets, levels) == pytest.approx(225.0)

    last_zero = EntryHazard([1.0], [0, 100], [1.0, 0.0])
    assert last_zero.integral(0.0, 1000.0, 0.0) == pytest.approx(100.0)
    assert last_zero.solve(0.0, 50.0, 0.0) == pytest.approx(50.0)
    assert last_zero.solve(0.0, 100.5, 0.0) == INF
    assert last_zero.solve(150.0, 1e-3, 0.0) == INF
    starts, offsets, levels = last_zero.claimant_bands(0.0)
    assert last_zero.inverse(50.0, starts, offsets, levels) == pytest.approx(50.0)
    assert last_zero.inverse(100.5, starts, offsets, levels) == INF


def test_entry_solve_zero_target_returns_t0() -> None:
    e = EntryHazard([1.0], [0, 100], [1.0, 0.0])
    assert e.solve(37.0, 0.0, 0.0) == 37.0
    assert e.solve(150.0, 0.0, 0.0) == 150.0


def test_entry_inverse_at_plateau_level_agrees_with_solve() -> None:
    e = EntryHazard([1.0], [0, 100], [1.0, 0.0])
    starts, offsets, levels = e.claimant_bands(0.0)
    assert e.solve(0.0, 100.0, 0.0) == pytest.approx(100.0)
    assert e.inverse(100.0, starts, offsets, levels) == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("lm_index", "starts", "mults", "claim_start", "target", "expected"),
    [
        pytest.param(
            [0.3], [0, 3, 4], [0.0, 1.0, 0.0], -0.5, 0.3, 3.5, id="trailing-zero-band-gives-inf"
        ),
        pytest.param(
            [0.3],
            [0, 3, 4, 5],
            [0.0, 1.0, 0.0, 2.0],
            -0.5,
            0.3,
            3.5,
            id="middle-zero-band-gives-next-band-start",
        ),
    ],
)
def test_entry_solve_target_reached_at_end_of_band_before_zero_band(
    lm_index: list[float],
    starts: list[float],
    mults: list[float],
    claim_start: float,
    target: float,
    expected: float,
) -> None:
    e = EntryHazard(lm_index, starts, mults)
    # hazard 0.3 on days [2.5, 3.5) then 0: the target 0.3 is reached on day 3.5
    assert e.integral(claim_start, expected, claim_start) == pytest.approx(target)
    assert e.solve(claim_start, target, claim_start) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("t", "value"),
    [
        pytest.param(-50.0, 0.8, id="before-day-0-uses-first"),
        pytest.param(0.0, 0.8, id="day-0"),
        pytest.param(DPM - 1e-9, 0.8, id="end-of-month-0"),
        pytest.param(DPM, 0.9, id="month-1"),
        pytest.param(2 * DPM, 1.1, id="month-2"),
        pytest.param(3 * DPM, 1.1, id="beyond-list-persists"),
        pytest.param(1e5, 1.1, id="far-beyond-list-persists"),
    ],
)
def test_entry_lm(t: float, value: float) -> None:
    assert EntryHazard([0.8, 0.9, 1.1], [], []).lm(t) == value


@pytest.mark.parametrize(
    "lm_index",
    [
        pytest.param([], id="empty"),
        pytest.param([1.0, 0.0], id="zero"),
        pytest.param([-0.5], id="negative"),
    ],
)
def test_entry_invalid_lm_index_raises(lm_index: list[float]) -> None:
    with pytest.raises(ValueError, match="lm_index"):
        EntryHazard(lm_index, [], [])


def test_entry_invalid_bands_raise() -> None:
    with pytest.raises(ValueError, match="must begin at 0"):
        EntryHazard([1.0], [5.0], [1.0])
    with pytest.raises(ValueError, match="multipliers"):
        EntryHazard([1.0], [0.0, 5.0], [1.0])


# ---------------------------------------------------------------- EntryHazard: properties
def _reference_integral(
    lm_index: list[float], starts: list[float], mults: list[float], cs: float, t0: float, t1: float
) -> float:
    """Numerical quadrature of LM(t) * D(t - claim_start), independent of sim.hazards."""

    def lm(t: float) -> float:
        return lm_index[min(max(0, math.floor(t / DPM)), len(lm_index) - 1)]

    def f(t: float) -> float:
        return lm(t) * mult_at(starts, mults, t - cs)

    if t1 <= t0:
        return 0.0
    knots = [j * DPM for j in range(1, len(lm_index))] + [cs + s for s in starts[1:]]
    pts = sorted(k for k in knots if t0 < k < t1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        val, _ = integrate.quad(f, t0, t1, points=pts or None, limit=4 * len(pts) + 50)
    return float(val)


intervals = st.tuples(
    st.floats(-2000.0, 800.0),  # claim start
    st.floats(0.0, 2000.0),  # t0 - claim start
    st.floats(0.0, 1200.0),  # t1 - t0
)


@settings(max_examples=150, deadline=None)
@given(lm_index=lm_lists, b=bands(), iv=intervals)
def test_entry_integral_matches_quadrature(
    lm_index: list[float], b: tuple[list[float], list[float]], iv: tuple[float, float, float]
) -> None:
    starts, mults = b
    cs, d0, length = iv
    t0, t1 = cs + d0, cs + d0 + length
    e = EntryHazard(lm_index, starts, mults)
    ref = _reference_integral(lm_index, starts, mults, cs, t0, t1)
    assert e.integral(t0, t1, cs) == pytest.approx(ref, rel=1e-8, abs=1e-8)


@settings(max_examples=150, deadline=None)
@given(lm_index=lm_lists, b=bands(), iv=intervals)
def test_entry_solve_inverts_integral(
    lm_index: list[float], b: tuple[list[float], list[float]], iv: tuple[float, float, float]
) -> None:
    starts, mults = b
    cs, d0, length = iv
    t0, t1 = cs + d0, cs + d0 + length
    # t1 in, or at the start of, a zero band is covered by its own test
    # (test_entry_solve_target_reached_at_end_of_band_before_zero_band)
    assume(mult_at(starts, mults, t1 - cs - 1e-6) > 0.0)
    assume(mult_at(starts, mults, t1 - cs + 1e-6) > 0.0)
    e = EntryHazard(lm_index, starts, mults)
    target = e.integral(t0, t1, cs)
    t = e.solve(t0, target, cs)
    assert t0 <= t <= t1 + 1e-7
    assert e.integral(t0, t, cs) == pytest.approx(target, rel=1e-9, abs=1e-9)
    assert t == pytest.approx(t1, rel=1e-9, abs=1e-7)


@settings(max_examples=200, deadline=None)
@given(lm_index=lm_lists, b=bands(), iv=intervals)
def test_fast_cumulative_difference_equals_integral(
    lm_index: list[float], b: tuple[list[float], list[float]], iv: tuple[float, float, float]
) -> None:
    starts, mults = b
    cs, d0, length = iv
    t0, t1 = cs + d0, cs + d0 + length
    e = EntryHazard(lm_index, starts, mults)
    c_starts, offsets, levels = e.claimant_bands(cs)
    # non-decreasing up to rounding (telescoped plateau levels can differ by an ulp)
    assert all(b >= a - 1e-9 * (1 + abs(a)) for a, b in pairwise(levels))
    for j, s in enumerate(c_starts):
        assert e.cumulative(s, c_starts, offsets) == pytest.approx(levels[j], rel=1e-12, abs=1e-9)
    diff = e.cumulative(t1, c_starts, offsets) - e.cumulative(t0, c_starts, offsets)
    assert diff == pytest.approx(e.integral(t0, t1, cs), rel=1e-9, abs=1e-7)


@settings(max_examples=200, deadline=None)
@given(
    lm_index=lm_lists,
    b=bands(),
    cs=st.floats(-2000.0, 800.0),
    d0=st.floats(0.0, 2000.0),
    target=st.floats(1e-3, 3000.0),
)
def test_fast_inverse_equals_reference_solve(
    lm_index: list[float],
    b: tuple[list[float], list[float]],
    cs: float,
    d0: float,
    target: float,
) -> None:
    starts, mults = b
    t0 = cs + d0
    e = EntryHazard(lm_index, starts, mults)
    c_starts, offsets, levels = e.claimant_bands(cs)
    y = e.cumulative(t0, c_starts, offsets) + target
    # y exactly on a zero band's level is covered by its own test above
    assume(
        all(
            abs(y - lv) > 1e-9 * (1 + abs(y)) for lv, m in zip(levels, mults, strict=True) if m == 0
        )
    )
    t_ref = e.solve(t0, target, cs)
    t_fast = e.inverse(y, c_starts, offsets, levels)
    if t_ref == INF:
        assert t_fast == INF
    else:
        assert t_fast == pytest.approx(t_ref, rel=1e-9, abs=1e-6)


def test_fast_path_with_work_programme_market() -> None:
    """The WP labour-market index and duration bands, many claim starts before day 0."""
    lm_index = [0.8] * 20 + [0.817, 0.833, 0.85, 0.867, 0.883, 0.9, 0.917, 0.933, 0.95, 0.967]
    e = EntryHazard(lm_index, [0, 365, 730], [1.0, 0.85, 0.7])
    for k in range(200):
        cs = -1825.0 + 13.7 * k
        t0 = max(cs, 0.0) + (k % 7) * 11.0
        c_starts, offsets, levels = e.claimant_bands(cs)
        for target in (0.01, 1.0, 37.5, 400.0, 1500.0):
            t_ref = e.solve(t0, target, cs)
            y = e.cumulative(t0, c_starts, offsets) + target
            assert e.inverse(y, c_starts, offsets, levels) == pytest.approx(
                t_ref, rel=1e-9, abs=1e-6
            )
            diff = e.cumulative(t_ref, c_starts, offsets) - e.cumulative(t0, c_starts, offsets)
            assert diff == pytest.approx(target, rel=1e-9, abs=1e-7)
