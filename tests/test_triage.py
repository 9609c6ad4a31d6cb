"""Tests for sim.triage: sharing adviser minutes across a caseload, and service tiers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.rng import Streams
from sim.triage import (
    ActivityFees,
    CaseloadView,
    _marginal_terms,
    allocate,
    average_ranks,
    interval_tiers,
    marginal_minutes,
    optimal_margin_gbp,
    quantise_intervals,
    shadow_price_per_minute,
)

POLICIES = ["uniform", "needs_based", "payment_maximising", "mixed"]

# Work Programme provider: 45-minute interviews, every 7 to every 91 days
IM = 45.0
X_MIN = 7.0 * IM / 91.0
X_MAX = 7.0 * IM / 7.0
COST_PER_HOUR = 3.0 * 60.0 / IM


def make_view(
    signal: list[float] | np.ndarray,
    value: float | list[float] | np.ndarray = 2000.0,
    days_left: float | list[float] | np.ndarray = 500.0,
    qualifying_days_left: float | list[float] | np.ndarray = 182.0,
    entry_rate_per_day: float = 0.003,
    effect: float = 0.6,
) -> CaseloadView:
    s = np.asarray(signal, dtype=np.float64)
    n = len(s)
    return CaseloadView(
        signal=s,
        value_gbp=np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy(),
        days_left=np.broadcast_to(np.asarray(days_left, dtype=np.float64), (n,)).copy(),
        qualifying_days_left=np.broadcast_to(
            np.asarray(qualifying_days_left, dtype=np.float64), (n,)
        ).copy(),
        entry_rate_per_day=entry_rate_per_day,
        effect_per_adviser_hour_per_week=effect,
    )


def alloc(
    policy: str,
    view: CaseloadView,
    capacity: float,
    x_min: float = X_MIN,
    x_max: float = X_MAX,
    cost: float = COST_PER_HOUR,
    w: float = 0.25,
) -> np.ndarray:
    return allocate(
        policy,
        view,
        capacity_minutes_per_week=capacity,
        x_min=x_min,
        x_max=x_max,
        cost_per_hour_gbp=cost,
        public_service_weight=w,
    )


# ---------------------------------------------------------------- strategies
def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def views(draw: st.DrawFn, max_n: int = 200) -> CaseloadView:
    """Random caseloads: hypothesis picks the size, ranges and key; sim.rng fills the arrays.

    Drawing hundreds of floats element by element is slow, so the arrays come from a keyed
    stream (fast, reproducible from the drawn key); ``coarse`` rounds signals to create ties.
    """
    n = draw(st.integers(0, max_n))
    key = draw(st.integers(0, 2**32))
    coarse = draw(st.booleans())
    s = Streams(key, 0)
    ids = np.arange(n)
    signal = -3.0 + 8.0 * s.uniforms("signal", ids)
    if coarse:
        signal = np.round(signal)
    return CaseloadView(
        signal=signal,
        value_gbp=draw(_floats(0.0, 15000.0)) * s.uniforms("value", ids),
        days_left=728.0 * s.uniforms("days_left", ids),
        qualifying_days_left=182.0 * s.uniforms("qualifying", ids),
        entry_rate_per_day=draw(_floats(1e-4, 0.02)),
        effect_per_adviser_hour_per_week=draw(_floats(0.0, 2.0)),
    )


@st.composite
def bounds(draw: st.DrawFn, strict: bool = False) -> tuple[float, float]:
    x_min = draw(_floats(0.1, 10.0))
    width = _floats(0.1, 60.0)
    x_max = x_min + draw(width if strict else st.one_of(st.just(0.0), width))
    return x_min, x_max


@st.composite
def feasible_capacities(draw: st.DrawFn, n: int, x_min: float, x_max: float) -> float:
    """Enough for x_min each, up to more than full service for all."""
    return draw(_floats(0.0, 1.5).map(lambda f: n * x_min + f * n * (x_max - x_min)))


@st.composite
def capacities(draw: st.DrawFn, n: int, x_min: float, x_max: float) -> float:
    """From nothing to ample: absolute, a share of full service, or between x_min and x_max."""
    m = max(n, 1)
    return draw(
        st.one_of(
            st.just(0.0),
            _floats(0.0, 50.0),
            _floats(0.0, 1.5).map(lambda f: f * m * x_max),
            _floats(0.0, 1.2).map(lambda f: m * x_min + f * m * (x_max - x_min)),
        )
    )


def tol(capacity: float) -> float:
    return 1e-9 * max(1.0, capacity)


def _price_slack(view: CaseloadView) -> float:
    """Minutes a claimant can move by when the log price moves a few units in the last place.

    Claimant i's best minutes are ``(a_i - log price) / c_i`` between the bounds, so a
    rounding of the log price moves them by about ``ulp / c_i``.
    """
    terms = _marginal_terms(view)
    if not terms.ok.any():
        return 0.0
    a, c = terms.log_gain_per_day_gbp[terms.ok], terms.hbw[terms.ok]
    ulp = 8.0 * np.finfo(float).eps * (float(np.abs(a).max()) + 1.0)
    with np.errstate(over="ignore"):
        return float(ulp / c.min())


# ---------------------------------------------------------------- every policy
@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=40, deadline=None)
@given(view=views(), b=bounds(), data=st.data(), cost=_floats(0.0, 50.0), w=_floats(0.0, 1.0))
def test_allocation_respects_capacity_and_bounds(
    policy: str,
    view: CaseloadView,
    b: tuple[float, float],
    data: st.DataObject,
    cost: float,
    w: float,
) -> None:
    x_min, x_max = b
    n = len(view.signal)
    capacity = data.draw(capacities(n, x_min, x_max))
    x = alloc(policy, view, capacity, x_min, x_max, cost, w)
    assert x.shape == (n,)
    assert x.dtype == np.float64
    assert np.all(np.isfinite(x))
    if n * x_min <= capacity:
        assert x.sum() <= capacity + tol(capacity)
        assert np.all(x >= x_min - 1e-9)
        assert np.all(x <= x_max + 1e-9)
    elif policy != "uniform":  # uniform: see test_overloaded_everyone_gets_an_equal_share
        assert x == pytest.approx(np.full(n, capacity / n), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(
            "uniform",
        ),
        "needs_based",
        "payment_maximising",
        "mixed",
    ],
)
def test_overloaded_everyone_gets_an_equal_share(policy: str) -> None:
    view = make_view(np.linspace(-1.0, 2.0, 10))
    capacity = 10.0  # less than 10 * X_MIN = 34.6
    x = alloc(policy, view, capacity)
    assert x == pytest.approx(np.full(10, 1.0))
    assert x.sum() <= capacity + 1e-9


@pytest.mark.parametrize("policy", POLICIES)
def test_empty_caseload(policy: str) -> None:
    x = alloc(policy, make_view([]), 1000.0)
    assert x.shape == (0,)


def test_unknown_policy_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="'creaming'"):
        alloc("creaming", make_view([0.0]), 100.0)


# ---------------------------------------------------------------- uniform
@settings(max_examples=100, deadline=None)
@given(view=views(), b=bounds(), data=st.data())
def test_uniform_gives_equal_minutes(
    view: CaseloadView, b: tuple[float, float], data: st.DataObject
) -> None:
    x_min, x_max = b
    n = len(view.signal)
    assume(n > 0)
    capacity = data.draw(feasible_capacities(n, x_min, x_max))
    x = alloc("uniform", view, capacity, x_min, x_max)
    assert np.all(x == x[0])
    assert x[0] == pytest.approx(min(x_max, capacity / n), rel=1e-12)


@pytest.mark.parametrize(
    ("n", "capacity", "each"),
    [
        pytest.param(10, 200.0, 20.0, id="share"),
        pytest.param(10, 1000.0, X_MAX, id="capped-at-x_max"),
        pytest.param(10, 10 * X_MIN, X_MIN, id="exactly-x_min"),
    ],
)
def test_uniform_examples(n: int, capacity: float, each: float) -> None:
    x = alloc("uniform", make_view(np.zeros(n)), capacity)
    assert x == pytest.approx(np.full(n, each))


# ---------------------------------------------------------------- needs_based
@settings(max_examples=100, deadline=None)
@given(view=views(), b=bounds(), data=st.data())
def test_needs_based_non_decreasing_in_signal(
    view: CaseloadView, b: tuple[float, float], data: st.DataObject
) -> None:
    x_min, x_max = b
    n = len(view.signal)
    capacity = data.draw(capacities(n, x_min, x_max))
    x = alloc("needs_based", view, capacity, x_min, x_max)
    s = view.signal
    further = s[:, None] < s[None, :]  # row claimant is nearer work than column claimant
    gap = x[None, :] - x[:, None]
    assert np.all(gap[further] >= -1e-12)


@settings(max_examples=100, deadline=None)
@given(view=views(), b=bounds(), data=st.data())
def test_needs_based_uses_capacity_unless_capped(
    view: CaseloadView, b: tuple[float, float], data: st.DataObject
) -> None:
    x_min, x_max = b
    n = len(view.signal)
    assume(n > 0)
    capacity = data.draw(feasible_capacities(n, x_min, x_max))
    x = alloc("needs_based", view, capacity, x_min, x_max)
    assert x.sum() <= capacity + tol(capacity)
    assert x.sum() == pytest.approx(capacity, rel=1e-9) or x.max() == pytest.approx(x_max)


def test_needs_based_example() -> None:
    # ranks 1..4 -> need 0.25..1; spare 100 - 4*X_MIN spread in proportion to need
    view = make_view([2.0, -1.0, 0.5, 3.0])
    x = alloc("needs_based", view, 100.0)
    spare = 100.0 - 4 * X_MIN
    need = np.array([0.75, 0.25, 0.5, 1.0])
    assert x == pytest.approx(X_MIN + spare / 2.5 * need)
    assert x.sum() == pytest.approx(100.0)


def test_needs_based_equal_signals_get_equal_minutes() -> None:
    x = alloc("needs_based", make_view([1.0, 1.0, 2.0]), 60.0)
    assert x[0] == x[1]


# ---------------------------------------------------------------- payment_maximising
def _x_closed_form(
    value: float, h: float, b_hour: float, w: float, d: float, price: float
) -> float:
    """The best minutes a week for one claimant, written out from the first-order condition."""
    b = b_hour / 60.0
    return math.log(value * h * b * w * math.exp(-h * w) / (price * d / 7.0)) / (h * b * w)


def test_marginal_minutes_closed_form() -> None:
    # V = 2000, h = 0.003 exp(-0.5), W = 500 - 182, D = 500, price 0.08 per minute
    view = make_view([0.5], value=2000.0, days_left=500.0, qualifying_days_left=182.0)
    h = 0.003 * math.exp(-0.5)
    expected = _x_closed_form(2000.0, h, 0.6, 318.0, 500.0, 0.08)
    assert X_MIN < expected < X_MAX
    x = marginal_minutes(view, 0.08, X_MIN, X_MAX)
    assert x[0] == pytest.approx(expected, rel=1e-12)


def test_marginal_minutes_first_order_condition() -> None:
    # at an interior optimum the marginal expected payment equals the price of the minutes
    view = make_view(np.linspace(-1.0, 2.0, 13), value=3000.0, days_left=600.0)
    price = 0.05
    x = marginal_minutes(view, price, 0.0, 1e9)
    b = 0.6 / 60.0
    h, w = view.hazard(), view.window_days()
    marginal = 3000.0 * h * b * w * np.exp(-h * (1.0 + b * x) * w)
    interior = x > 0.0
    assert interior.sum() >= 5
    assert np.allclose(marginal[interior], price * 600.0 / 7.0, rtol=1e-9)


def test_marginal_minutes_hump_in_signal() -> None:
    # the middle get most: the nearest find work anyway, the furthest hardly can
    view = make_view([-4.0, 0.0, 6.0], value=3000.0, days_left=700.0)
    x = marginal_minutes(view, 0.02, X_MIN, X_MAX)
    assert x[1] > x[0] and x[1] > x[2]
    assert x[2] == X_MIN


def test_marginal_minutes_nothing_to_gain_gets_the_minimum() -> None:
    view = make_view([0.0, 0.0, 0.0], value=[2000.0, 0.0, 2000.0], days_left=[500.0, 500.0, 100.0])
    x = marginal_minutes(view, 0.05, X_MIN, X_MAX)
    assert x[0] > X_MIN
    assert x[1] == X_MIN  # no payment
    assert x[2] == X_MIN  # no time left to reach 182 days in work


@settings(max_examples=150, deadline=None)
@given(view=views(), b=bounds(strict=True), data=st.data(), cost=_floats(0.0, 50.0))
def test_payment_maximising_within_capacity_and_bounds(
    view: CaseloadView, b: tuple[float, float], data: st.DataObject, cost: float
) -> None:
    x_min, x_max = b
    n = len(view.signal)
    capacity = data.draw(capacities(n, x_min, x_max))
    assume(n * x_min <= capacity)
    x = alloc("payment_maximising", view, capacity, x_min, x_max, cost)
    assert np.all(x >= x_min * (1.0 - 1e-12)) and np.all(x <= x_max)
    assert x.sum() <= capacity + tol(capacity)
    # binding capacity: the minutes are those at the shadow price, which is above the cost
    price = shadow_price_per_minute(view, capacity, cost / 60.0, x_min, x_max)
    assert price >= cost / 60.0
    # (the price is rounded through exp and log: allow what that moves a flat claimant by)
    again = marginal_minutes(view, price, x_min, x_max)
    assert np.allclose(x, again, rtol=1e-9, atol=1e-6 * x_max + _price_slack(view))


def test_the_shadow_price_is_never_below_the_cost_through_rounding() -> None:
    """Found by hypothesis: with no adviser effect everyone gets the minimum, and a capacity
    a rounding under their sum sent the price through exp(log(cost)), one ulp below it."""
    view = make_view(np.linspace(-2.0, 4.0, 50), effect=0.0)
    x_min, cost_per_minute = 1.8320945824506722, 1.796875 / 60.0
    capacity = float(np.sum(np.full(50, x_min))) * (1.0 - 1e-15)
    price = shadow_price_per_minute(view, capacity, cost_per_minute, x_min, x_min + 1.0)
    assert price >= cost_per_minute


@settings(max_examples=100, deadline=None)
@given(view=views(), b=bounds(strict=True), cost=_floats(0.01, 50.0))
def test_payment_maximising_ample_capacity_pays_only_the_cost(
    view: CaseloadView, b: tuple[float, float], cost: float
) -> None:
    x_min, x_max = b
    capacity = len(view.signal) * x_max + 1.0
    x = alloc("payment_maximising", view, capacity, x_min, x_max, cost)
    assert np.array_equal(x, marginal_minutes(view, cost / 60.0, x_min, x_max))


def test_more_capacity_never_gives_anyone_less() -> None:
    view = make_view(np.linspace(-2.0, 3.0, 50), value=3000.0, days_left=650.0)
    small = alloc("payment_maximising", view, 50 * X_MIN + 200.0)
    large = alloc("payment_maximising", view, 50 * X_MIN + 800.0)
    assert np.all(large >= small - 1e-9)
    assert large.sum() > small.sum()


def test_optimal_margin_by_hand() -> None:
    view = make_view([0.5], value=2000.0, days_left=500.0, qualifying_days_left=182.0)
    x = marginal_minutes(view, 0.08, X_MIN, X_MAX)[0]
    h = 0.003 * math.exp(-0.5)
    paid = 2000.0 * (1.0 - math.exp(-h * (1.0 + 0.01 * x) * 318.0))
    expected = paid - 0.08 * x * 500.0 / 7.0
    assert optimal_margin_gbp(view, 0.08, X_MIN, X_MAX)[0] == pytest.approx(expected, rel=1e-12)


def test_believed_hazards_replace_the_signal() -> None:
    view = make_view([0.0, 0.0])
    believed = CaseloadView(
        signal=view.signal,
        value_gbp=view.value_gbp,
        days_left=view.days_left,
        qualifying_days_left=view.qualifying_days_left,
        entry_rate_per_day=view.entry_rate_per_day,
        effect_per_adviser_hour_per_week=view.effect_per_adviser_hour_per_week,
        hazard_per_day=np.array([0.003, 0.0001]),
    )
    x = marginal_minutes(believed, 0.02, X_MIN, X_MAX)
    assert x[0] > x[1]


# ---------------------------------------------------------------- mixed
@settings(max_examples=100, deadline=None)
@given(view=views(), b=bounds(), data=st.data(), cost=_floats(0.0, 50.0), w=_floats(0.0, 1.0))
def test_mixed_is_exact_weighted_sum(
    view: CaseloadView,
    b: tuple[float, float],
    data: st.DataObject,
    cost: float,
    w: float,
) -> None:
    x_min, x_max = b
    capacity = data.draw(capacities(len(view.signal), x_min, x_max))
    mixed = alloc("mixed", view, capacity, x_min, x_max, cost, w)
    pay = alloc("payment_maximising", view, capacity, x_min, x_max, cost, w)
    need = alloc("needs_based", view, capacity, x_min, x_max, cost, w)
    assert np.array_equal(mixed, (1.0 - w) * pay + w * need)


@pytest.mark.parametrize(
    ("w", "same_as"),
    [pytest.param(0.0, "payment_maximising", id="w=0"), pytest.param(1.0, "needs_based", id="w=1")],
)
def test_mixed_endpoints(w: float, same_as: str) -> None:
    view = make_view(np.linspace(-2.0, 3.0, 40))
    assert np.array_equal(alloc("mixed", view, 600.0, w=w), alloc(same_as, view, 600.0, w=w))


# ---------------------------------------------------------------- service tiers
@pytest.mark.parametrize(
    ("lo", "hi", "tiers"),
    [
        pytest.param(7, 91, [7, 14, 28, 56, 91], id="wp-7-91"),
        pytest.param(7, 7, [7], id="single"),
        pytest.param(7, 14, [7, 14], id="one-doubling"),
        pytest.param(7, 28, [7, 14, 28], id="exact-doublings"),
        pytest.param(14, 91, [14, 28, 56, 91], id="14-91"),
        pytest.param(7, 100, [7, 14, 28, 56, 100], id="7-100"),
    ],
)
def test_interval_tiers(lo: float, hi: float, tiers: list[float]) -> None:
    assert interval_tiers(lo, hi).tolist() == tiers


@pytest.mark.parametrize(
    ("minutes", "interval"),
    [
        pytest.param(500.0, 7, id="more-than-weekly"),
        pytest.param(45.0, 7, id="exactly-weekly"),
        pytest.param(44.99, 14, id="just-under-weekly"),
        pytest.param(22.5, 14, id="exactly-fortnightly"),
        pytest.param(22.49, 28, id="just-under-fortnightly"),
        pytest.param(11.25, 28, id="exactly-4-weekly"),
        pytest.param(11.24, 56, id="just-under-4-weekly"),
        pytest.param(5.625, 56, id="exactly-8-weekly"),
        pytest.param(5.62, 91, id="just-under-8-weekly"),
        pytest.param(X_MIN, 91, id="x_min-is-13-weekly"),
        pytest.param(1.0, 91, id="below-floor"),
        pytest.param(0.0, 91, id="zero"),
    ],
)
def test_quantise_intervals_table(minutes: float, interval: float) -> None:
    assert quantise_intervals(np.array([minutes]), IM, 7.0, 91.0).tolist() == [interval]


def test_quantise_jcp_offer() -> None:
    # 10-minute JCP interviews: 5 minutes a week is fortnightly
    out = quantise_intervals(np.array([5.0, 4.9, 10.0]), 10.0, 7.0, 91.0)
    assert out.tolist() == [14, 28, 7]


@settings(max_examples=200, deadline=None)
@given(
    minutes=arrays(np.float64, st.integers(1, 50), elements=_floats(0.0, 200.0)),
    im=_floats(5.0, 90.0),
    lo=_floats(1.0, 14.0),
    span=_floats(0.0, 120.0),
)
def test_quantise_preserves_capacity_and_is_most_intensive(
    minutes: np.ndarray, im: float, lo: float, span: float
) -> None:
    hi = lo + span
    tiers = interval_tiers(lo, hi)
    out = quantise_intervals(minutes, im, lo, hi)
    assert np.all(np.isin(out, tiers))
    given_minutes = 7.0 * im / out
    floor = out == tiers[-1]
    # capacity preserved except at the floor tier
    assert np.all(given_minutes[~floor] <= minutes[~floor] * (1 + 1e-9))
    # most intensive: the next more intensive tier would exceed the minutes
    idx = np.searchsorted(tiers, out)
    has_next = idx > 0
    more = 7.0 * im / tiers[np.maximum(idx - 1, 0)]
    assert np.all(more[has_next] > minutes[has_next] * (1 - 1e-9))


@settings(deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 1)), min_size=1, max_size=60)
)
def test_average_ranks_are_scipys(values: list[float]) -> None:
    """The numpy ranks the needs-based policy uses equal scipy's, ties included."""
    from scipy.stats import rankdata  # type: ignore[import-untyped]

    x = np.asarray(values)
    assert np.array_equal(average_ranks(x), rankdata(x, method="average"))


@settings(max_examples=150, deadline=None)
@given(view=views(), b=bounds(strict=True), data=st.data(), cost=_floats(0.0, 50.0))
def test_binding_capacity_is_used_exactly(
    view: CaseloadView, b: tuple[float, float], data: st.DataObject, cost: float
) -> None:
    # the shadow price is solved on its piecewise-linear segment: the minutes fill the capacity
    x_min, x_max = b
    at_cost = marginal_minutes(view, cost / 60.0, x_min, x_max).sum()
    movable = marginal_minutes(view, 1e300, x_min, x_max).sum()
    assume(at_cost > movable * (1.0 + 1e-9))
    share = data.draw(st.floats(0.01, 0.99))
    capacity = movable + share * (at_cost - movable)
    # one unit in the last place of the log price moves claimant i by ~ulp / (h b W)_i:
    # the sum is continuous in the price only to within that (skip the step-like cases)
    slack = len(view.signal) * _price_slack(view)
    assume(slack < 0.01 * (x_max - x_min))
    x = alloc("payment_maximising", view, capacity, x_min, x_max, cost)
    assert x.sum() <= capacity + tol(capacity)
    assert x.sum() == pytest.approx(capacity, rel=1e-9, abs=slack)


# --------------------------------------------------------------------------- interview fees


def with_fees(view: CaseloadView, fee: float, paid_left: float | list[float]) -> CaseloadView:
    """``view`` with a fee of ``fee`` per attended interview for ``paid_left`` more."""
    n = len(view.signal)
    left = np.broadcast_to(np.asarray(paid_left, dtype=np.float64), (n,)).copy()
    fees = ActivityFees(np.full(n, fee), left, IM)
    return dataclasses.replace(view, fees=fees)


def brute_margin(view: CaseloadView, price: float, x: np.ndarray) -> np.ndarray:
    """Each claimant's margin at each of the minutes ``x`` (rows: claimants), by its formula
    ``V P(x) - price x D / 7 + fee min(R, x D / (7 m))``."""
    h = view.hazard()[:, None]
    b = view.effect_per_adviser_hour_per_week / 60.0
    w = view.window_days()[:, None]
    d = np.maximum(view.days_left, 1.0)[:, None]
    paid = view.value_gbp[:, None] * (1.0 - np.exp(-h * (1.0 + b * x[None, :]) * w))
    out = paid - price * x[None, :] * d / 7.0
    if view.fees is not None:
        f = view.fees.fee_per_interview_gbp[:, None]
        r = view.fees.paid_interviews_left[:, None]
        out = out + f * np.minimum(r, x[None, :] * d / 7.0 / view.fees.interview_minutes)
    return np.asarray(out)


@pytest.mark.parametrize("fee", [0.5, 3.0, 20.0, 200.0])
@pytest.mark.parametrize("paid_left", [0.0, 1.0, 3.0, 6.0, 60.0])
def test_minutes_with_interview_fees_maximise_the_margin(fee: float, paid_left: float) -> None:
    """The kinked rule ``clip(k, x(p), x(p - fee per minute))`` is the best of a fine grid
    of minutes for every claimant, with fees below, near and above the price of a minute."""
    view = with_fees(make_view(np.linspace(-1.5, 3.0, 9), days_left=400.0), fee, paid_left)
    price = 0.4
    x = marginal_minutes(view, price, X_MIN, X_MAX)
    grid = np.linspace(X_MIN, X_MAX, 40001)
    best = brute_margin(view, price, grid).max(axis=1)
    ours = np.diag(brute_margin(view, price, x))
    # never worse than any point of the grid, and within a grid step's worth of its best
    assert (ours >= best - 1e-9 * np.abs(best)).all()
    np.testing.assert_allclose(ours, best, rtol=1e-4)


def test_interview_fees_raise_minutes_only_up_to_the_paid_interviews() -> None:
    """A fee above the price of a minute buys every paid interview (up to ``x_max``), and
    no more than the claimant is worth beyond them; no paid interviews left: no change."""
    base = make_view(np.linspace(-1.0, 4.0, 11), days_left=364.0)
    price = 0.4
    plain = marginal_minutes(base, price, X_MIN, X_MAX)
    none_left = marginal_minutes(with_fees(base, 100.0, 0.0), price, X_MIN, X_MAX)
    np.testing.assert_array_equal(none_left, plain)
    six = with_fees(base, 100.0, 6.0)
    paid = marginal_minutes(six, price, X_MIN, X_MAX)
    kink = 7.0 * 6.0 * IM / 364.0
    np.testing.assert_allclose(paid, np.maximum(plain, min(kink, X_MAX)))


def test_interview_fees_enter_the_optimal_margin() -> None:
    view = with_fees(make_view([0.0, 2.0], days_left=364.0), 50.0, 2.0)
    price = 0.4
    x = marginal_minutes(view, price, X_MIN, X_MAX)
    expected = np.diag(brute_margin(view, price, x))
    np.testing.assert_allclose(optimal_margin_gbp(view, price, X_MIN, X_MAX), expected)


@pytest.mark.parametrize("capacity_share", [0.2, 0.5, 0.9])
def test_binding_capacity_with_fees_is_filled_at_the_shadow_price(capacity_share: float) -> None:
    """With interview fees the shadow price is found by bisection: the minutes fill the
    capacity to within rounding, never above it, and are the best minutes at that price."""
    ids = np.arange(300, dtype=np.int64)
    streams = Streams(5, 0)
    u = streams.uniforms("test.days", ids)
    view = with_fees(
        make_view(streams.normals("test.signal", ids) + 1.0, days_left=30.0 + 670.0 * u),
        30.0,
        np.floor(7.0 * streams.uniforms("test.paid", ids)),
    )
    price = COST_PER_HOUR / 60.0
    wanted = marginal_minutes(view, price, X_MIN, X_MAX).sum()
    capacity = max(capacity_share * wanted, 300 * X_MIN * 1.01)
    x = alloc("payment_maximising", view, capacity)
    shadow = shadow_price_per_minute(view, capacity, price, X_MIN, X_MAX)
    assert shadow > price
    assert x.sum() <= capacity
    assert x.sum() == pytest.approx(capacity, rel=1e-6)
    np.testing.assert_array_equal(x, marginal_minutes(view, shadow, X_MIN, X_MAX))
