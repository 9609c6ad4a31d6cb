"""Providers as economic agents: the pure rules against their closed forms and tables.

Headcount from the expected margin, beliefs updated by their stated conjugate rule, the
bid's hazard, prime draws keyed by prime, the MPL premium, and the subcontracting
threshold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.beliefs import Beliefs, band_edges, bid_entry_rate_per_day, signal_band
from sim.capacity import full_price_per_minute_gbp, margin_headcount
from sim.market_config import BelowMpl, PrimeDraws
from sim.primes import draw_traits, mpl_premium_gbp
from sim.rng import Streams
from sim.subcontract import keep_margin_gbp, pass_margin_gbp, passes_on
from sim.triage import CaseloadView

IM = 45.0
X_MIN = 7.0 * IM / 91.0
X_MAX = 7.0 * IM / 7.0


def view_of(n: int, value: float, hazard: float, effect: float, days_left: float, qdl: float):
    return CaseloadView(
        signal=np.zeros(n),
        value_gbp=np.full(n, value),
        days_left=np.full(n, days_left),
        qualifying_days_left=np.full(n, qdl),
        entry_rate_per_day=hazard,
        effect_per_adviser_hour_per_week=effect,
        hazard_per_day=np.full(n, hazard),
    )


# --------------------------------------------------------------------------- headcount
def test_full_price_of_a_minute() -> None:
    # 550 a week with 50% overheads over 1,350 minutes, plus 3 per 45-minute interview
    price = full_price_per_minute_gbp(550.0, 0.5, 1350.0, 3.0 / 45.0)
    assert price == pytest.approx(825.0 / 1350.0 + 3.0 / 45.0, rel=1e-15)
    with pytest.raises(ValueError, match="adviser_minutes_per_week"):
        full_price_per_minute_gbp(550.0, 0.5, 0.0, 0.0)


def test_margin_headcount_closed_form() -> None:
    """Constant prices and a caseload of identical claimants: the analytic optimum.

    Each claimant's best minutes solve ``V h b W exp(-h (1 + b x) W) = p D / 7``:
    ``x* = ln(V h b W exp(-h W) / (p D / 7)) / (h b W)``; the headcount is
    ``ceil(10 n x* / m) / 10`` full-time equivalents.
    """
    n, value, h, effect, days_left, qdl = 600, 8000.0, 0.002, 2.0, 600.0, 182.0
    price = full_price_per_minute_gbp(550.0, 0.5, 1350.0, 3.0 / 45.0)
    b, w = effect / 60.0, days_left - qdl
    x_star = math.log(value * h * b * w * math.exp(-h * w) / (price * days_left / 7.0)) / (
        h * b * w
    )
    assert X_MIN < x_star < X_MAX  # an interior optimum
    view = view_of(n, value, h, effect, days_left, qdl)
    got = margin_headcount(view, price, X_MIN, X_MAX, 1350.0)
    assert got == math.ceil(10.0 * n * x_star / 1350.0) / 10.0

    # the margin at that headcount beats one adviser fewer or more, per claimant minutes
    def margin(x: float) -> float:
        return n * (value * (1 - math.exp(-h * (1 + b * x) * w)) - price * x * days_left / 7.0)

    assert margin(x_star) >= margin(x_star * 0.9) and margin(x_star) >= margin(x_star * 1.1)


@pytest.mark.parametrize(
    ("value", "expected_more"),
    [pytest.param(4000.0, False, id="low-prices"), pytest.param(16000.0, True, id="high-prices")],
)
def test_margin_headcount_rises_with_prices(value: float, expected_more: bool) -> None:
    price = full_price_per_minute_gbp(550.0, 0.5, 1350.0, 3.0 / 45.0)
    base = margin_headcount(
        view_of(600, 8000.0, 0.002, 2.0, 600.0, 182.0), price, X_MIN, X_MAX, 1350.0
    )
    other = margin_headcount(
        view_of(600, value, 0.002, 2.0, 600.0, 182.0), price, X_MIN, X_MAX, 1350.0
    )
    assert (other > base) == expected_more
    assert (other < base) == (not expected_more)


def test_margin_headcount_is_at_least_a_tenth() -> None:
    view = view_of(10, 0.0, 0.002, 2.0, 600.0, 182.0)  # nothing to earn but the minimum
    assert margin_headcount(view, 1.0, X_MIN, X_MAX, 1350.0) == 0.1
    assert (
        margin_headcount(view_of(0, 0.0, 0.002, 2.0, 600.0, 182.0), 1.0, X_MIN, X_MAX, 1350.0)
        == 0.1
    )


# --------------------------------------------------------------------------- beliefs
def test_bid_entry_rate_closed_form() -> None:
    # one signal of 0: 1 - exp(-r W) = p  =>  r = -ln(1 - p) / W
    r = bid_entry_rate_per_day(0.38, np.zeros(10), 548.0)
    assert r == pytest.approx(-math.log(1 - 0.38) / 548.0, rel=1e-12)
    with pytest.raises(ValueError, match="bid_outcome_rate"):
        bid_entry_rate_per_day(1.0, np.zeros(3), 548.0)


def test_band_edges_split_equal_counts() -> None:
    s = np.arange(100, dtype=np.float64)
    edges = band_edges(s, 5)
    bands = signal_band(s, edges)
    assert np.bincount(bands).tolist() == [20] * 5
    with pytest.raises(ValueError, match="n_bands"):
        band_edges(s, 0)


def _beliefs(learn: bool = True) -> Beliefs:
    return Beliefs(
        prior_hazard_per_day=np.array([0.002, 0.001]),
        prior_exposure_days=1000.0,
        tier_hours_per_week=np.array([0.75, 0.1]),
        prior_effect=0.5,
        effect_prior_shape=4.0,
        effect_grid_max=2.0,
        learn=learn,
        n_grid=201,
    )


def test_beliefs_start_at_the_prior() -> None:
    b = _beliefs()
    b.update()  # nothing observed: the posterior mean of the effect is the prior's on the grid
    assert b.effect == pytest.approx(0.5, rel=0.02)
    assert np.allclose(b.hazard_per_day, [0.002, 0.001], rtol=0.02)


def test_belief_update_matches_its_formula() -> None:
    """The grid posterior and the conjugate cell means, computed by hand."""
    b = _beliefs()
    data = [  # (cell, tier, exposure days, starts)
        (0, 0, 3000.0, 12),
        (0, 1, 5000.0, 6),
        (1, 0, 2000.0, 4),
        (1, 1, 9000.0, 5),
    ]
    for cell, tier, days, starts in data:
        b.observe(cell, tier, days, False)
        for _ in range(starts):
            b.observe(cell, tier, 0.0, True)
    b.update()
    grid = np.linspace(0.0, 2.0, 201)
    h = [0.75, 0.1]
    a0 = [2.0, 1.0]  # prior hazard times 1,000 days
    logp = []
    for g in grid:
        lp = (3.0 * math.log(g) - 4.0 * g / 0.5) if g > 0 else -math.inf
        for c in (0, 1):
            rows = [r for r in data if r[0] == c]
            n_c = sum(r[3] for r in rows)
            lp += sum(r[3] * math.log(1 + g * h[r[1]]) for r in rows)
            lp -= (a0[c] + n_c) * math.log(1000.0 + sum(r[2] * (1 + g * h[r[1]]) for r in rows))
        logp.append(lp)
    logp_arr = np.array(logp)
    w = np.exp(logp_arr - logp_arr.max())
    effect = float(np.sum(w * grid) / np.sum(w))
    assert b.effect == pytest.approx(effect, rel=1e-10)
    for c in (0, 1):
        rows = [r for r in data if r[0] == c]
        n_c = sum(r[3] for r in rows)
        e_c = 1000.0 + sum(r[2] * (1 + effect * h[r[1]]) for r in rows)
        assert b.hazard_per_day[c] == pytest.approx((a0[c] + n_c) / e_c, rel=1e-10)


def test_beliefs_converge_to_the_truth() -> None:
    """Fed the expected starts of a true hazard and effect, beliefs approach them."""
    true_h, true_b = np.array([0.0008, 0.0003]), 1.2
    b = _beliefs()
    hours = [0.75, 0.1]
    for cell in (0, 1):
        for tier in (0, 1):
            days = 20_000_000.0
            starts = round(true_h[cell] * (1 + true_b * hours[tier]) * days)
            b.exposure[cell, tier] += days
            b.starts[cell, tier] += starts
    b.update()
    assert b.effect == pytest.approx(true_b, rel=0.1)
    assert np.allclose(b.hazard_per_day, true_h, rtol=0.05)


def test_beliefs_that_do_not_learn_stay_at_the_prior() -> None:
    b = _beliefs(learn=False)
    b.observe(0, 0, 1e6, False)
    b.update()
    assert b.effect == 0.5
    assert b.hazard_per_day.tolist() == [0.002, 0.001]


# --------------------------------------------------------------------------- primes
def test_prime_draws_are_keyed_by_prime() -> None:
    streams = Streams(3, 0)
    draws = PrimeDraws(efficiency_sd_log=0.3, cost_sd_log=0.2, belief_bias_sd_log=0.1)
    ids = np.array([4, 5, 6], dtype=np.int64)
    all_three = draw_traits(draws, streams, ids, [0, 1, 2])
    one = draw_traits(draws, streams, ids[1:2], [1])
    assert one[0] == all_three[1]  # a prime's draws do not depend on the others
    # one quantity's spread leaves the others' draws alone
    wider = draw_traits(
        draws.model_copy(update={"efficiency_sd_log": 0.6}), streams, ids, [0, 1, 2]
    )
    assert [t.cost_multiplier for t in wider] == [t.cost_multiplier for t in all_three]
    assert len({t.efficiency for t in all_three}) == 3


def test_prime_draws_default_to_identical_primes() -> None:
    traits = draw_traits(PrimeDraws(), Streams(1, 0), np.array([0, 1]), [0, 1])
    assert all(t.efficiency == t.cost_multiplier == t.optimism == 1.0 for t in traits)


def test_fixed_efficiency_multipliers_by_position() -> None:
    draws = PrimeDraws(efficiency_multipliers=[1.5, 1.0])
    traits = draw_traits(draws, Streams(1, 0), np.array([7, 8, 9]), [0, 1, 2])
    assert [t.efficiency for t in traits] == [1.5, 1.0, 1.0]  # the last value persists


def test_mission_weights_within_their_range() -> None:
    draws = PrimeDraws(mission_weight_range=[0.2, 0.4])
    traits = draw_traits(draws, Streams(1, 0), np.arange(50), list(range(50)))
    weights = [t.mission_weight for t in traits]
    assert all(w is not None and 0.2 <= w <= 0.4 for w in weights)


# --------------------------------------------------------------------------- MPL premium
@pytest.mark.parametrize(
    ("consequence", "size", "attached", "outcomes", "income", "expected"),
    [
        pytest.param("none", 0.5, 100, 0, 1e6, 0.0, id="no-consequence"),
        pytest.param("share_penalty", 0.5, 100, 10, 1e6, 0.0, id="at-the-mpl"),
        pytest.param("share_penalty", 0.5, 100, 12, 1e6, 0.0, id="above-the-mpl"),
        pytest.param("share_penalty", 0.5, 100, 6, 1e6, 0.5 * 1e6 / 4, id="four-short"),
        pytest.param("termination", 0.2, 100, 0, 1e6, 0.2 * 1e6 / 10, id="ten-short"),
        pytest.param("termination", 0.2, 10, 0.5, 1e5, 0.2 * 1e5 / 1, id="under-one-short"),
        pytest.param("termination", 0.2, 0, 0, 1e6, 0.0, id="no-attachments"),
    ],
)
def test_mpl_premium_table(consequence, size, attached, outcomes, income, expected) -> None:
    if consequence == "share_penalty":
        rule = BelowMpl(consequence=consequence, share_penalty=size)
    else:
        rule = BelowMpl(consequence=consequence, p_termination=size)
    got = mpl_premium_gbp(rule, 0.1, attached, outcomes, income)
    assert got == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- subcontracting
@pytest.mark.parametrize(
    ("fee", "hazard", "multiplier", "passed"),
    [
        pytest.param(400.0, 0.0005, 1.0, False, id="fee-covers-the-minimum"),
        pytest.param(0.0, 0.002, 1.0, False, id="job-ready-kept"),
        pytest.param(0.0, 0.00002, 1.0, True, id="furthest-passed-without-fee"),
        pytest.param(0.0, 0.0003, 4.0, True, id="specialism-wins"),
        pytest.param(0.0, 0.0003, 1.0, False, id="no-specialism-kept"),
    ],
)
def test_subcontracting_threshold_table(fee, hazard, multiplier, passed) -> None:
    view = view_of(1, 3000.0, hazard, 2.0, 728.0, 182.0)
    price = full_price_per_minute_gbp(550.0, 0.5, 1350.0, 3.0 / 45.0)
    fees = np.array([fee])
    keep = keep_margin_gbp(view, fees, price, X_MIN, X_MAX)
    give = pass_margin_gbp(view, fees, 0.2, np.array([multiplier]), 22.5)
    assert bool(passes_on(keep, give, room=10)[0]) == passed


def test_subcontracting_respects_the_specialists_room() -> None:
    keep = np.array([0.0, 0.0, 5.0, 0.0])
    give = np.array([1.0, 1.0, 1.0, 1.0])
    assert passes_on(keep, give, room=2).tolist() == [True, True, False, False]
    assert passes_on(keep, give, room=0).tolist() == [False] * 4
