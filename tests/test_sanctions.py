"""Tests for sim.sanctions: the escalation ladder level and the spell length, as tables."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import Ladder
from sim.sanctions import SanctionRecord, ladder_level, spell_days

WP_TOML = Path(__file__).resolve().parents[1] / "scenarios" / "work_programme.toml"

WINDOW = 52 * 7.0  # escalation_window_weeks = 52
NO_ESC = 2 * 7.0  # no_escalation_within_weeks = 2 (SA01)


def level(prior: list[SanctionRecord], at: float, n_levels: int = 3, **kw: float) -> int:
    return ladder_level(
        prior,
        at,
        window_days=kw.get("window_days", WINDOW),
        no_escalation_days=kw.get("no_escalation_days", NO_ESC),
        n_levels=n_levels,
    )


@pytest.mark.parametrize(
    ("prior", "failure_at", "n_levels", "expected"),
    [
        pytest.param([], 100.0, 3, 0, id="first-failure"),
        pytest.param([(0.0, 0)], 100.0, 3, 1, id="second-within-52-weeks"),
        pytest.param([(0.0, 0), (100.0, 1)], 200.0, 3, 2, id="third-within-52-weeks"),
        pytest.param([(0.0, 0), (100.0, 1), (200.0, 2)], 300.0, 3, 2, id="fourth-capped-at-top"),
        pytest.param(
            [(0.0, 0), (100.0, 1), (200.0, 2), (300.0, 2)], 330.0, 3, 2, id="fifth-still-capped"
        ),
        pytest.param([(0.0, 0)], 400.0, 3, 0, id="second-after-window-restarts"),
        pytest.param([(0.0, 0)], WINDOW - 0.1, 3, 1, id="second-just-inside-window"),
        pytest.param([(0.0, 0)], WINDOW + 0.1, 3, 0, id="second-just-outside-window"),
        pytest.param([(0.0, 0)], 10.0, 3, 0, id="within-2-weeks-of-first-keeps-level-0"),
        pytest.param([(0.0, 0), (100.0, 1)], 110.0, 3, 1, id="within-2-weeks-keeps-level-1"),
        pytest.param([(0.0, 0), (100.0, 1)], 113.9, 3, 1, id="just-inside-2-weeks"),
        pytest.param([(0.0, 0), (100.0, 1)], 114.1, 3, 2, id="just-after-2-weeks-escalates"),
        pytest.param([(0.0, 0), (5.0, 0)], 30.0, 3, 1, id="after-a-non-escalated-one"),
        pytest.param([(0.0, 0), (400.0, 0)], 500.0, 3, 1, id="old-outside-window-ignored"),
        pytest.param(
            [(0.0, 0), (300.0, 1)], 400.0, 3, 2, id="escalates-from-previous-level-SI-2012-2568"
        ),
        pytest.param([(0.0, 0), (100.0, 1)], 600.0, 3, 0, id="all-outside-window"),
        pytest.param([(0.0, 0)], 100.0, 2, 1, id="two-level-ladder-second"),
        pytest.param([(0.0, 0), (100.0, 1)], 200.0, 2, 1, id="two-level-ladder-capped"),
        pytest.param([], 100.0, 1, 0, id="one-level-first"),
        pytest.param([(0.0, 0)], 100.0, 1, 0, id="one-level-second"),
        pytest.param([(0.0, 0), (100.0, 0)], 200.0, 1, 0, id="one-level-third"),
    ],
)
def test_ladder_level(
    prior: list[SanctionRecord], failure_at: float, n_levels: int, expected: int
) -> None:
    assert level(prior, failure_at, n_levels) == expected


def test_no_escalation_rule_off_escalates_at_once() -> None:
    assert level([(0.0, 0)], 1.0, no_escalation_days=0.0) == 1


def test_zero_window_never_escalates() -> None:
    assert level([(0.0, 0), (50.0, 0)], 60.0, window_days=0.0) == 0


@pytest.mark.parametrize("n_levels", [0, -1])
def test_n_levels_below_one_raises(n_levels: int) -> None:
    with pytest.raises(ValueError, match=f"n_levels\\(={n_levels}\\)"):
        level([], 0.0, n_levels)


def test_level_in_range_even_with_prior_from_longer_ladder() -> None:
    assert level([(0.0, 2)], 5.0, n_levels=2) <= 1


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 500.0), min_size=0, max_size=8),
    n_levels=st.integers(1, 4),
)
def test_replayed_history_stays_in_range_and_escalates_by_at_most_one(
    gaps: list[float], n_levels: int
) -> None:
    """Replaying a claimant's failures: levels stay on the ladder and rise one step at most."""
    history: list[SanctionRecord] = []
    t = 0.0
    for gap in gaps:
        t += gap
        lvl = level(history, t, n_levels)
        assert 0 <= lvl <= n_levels - 1
        recent = [r for r in history if t - WINDOW < r[0] <= t]
        if not recent:
            assert lvl == 0
        else:
            assert lvl in (recent[-1][1], min(recent[-1][1] + 1, n_levels - 1))
            if t - recent[-1][0] < NO_ESC:
                assert lvl == recent[-1][1]
        history.append((t, lvl))


# ---------------------------------------------------------------- spell lengths
JSA_2012_LOWER = Ladder(weeks=[4, 13])
JSA_2012_HIGHER = Ladder(weeks=[13, 26, 156])
JSA_PRE_2012 = Ladder(weeks=[2, 4, 26])


@pytest.mark.parametrize(
    ("ladder", "lvl", "days"),
    [
        pytest.param(JSA_2012_LOWER, 0, 28.0, id="lower-4-weeks"),
        pytest.param(JSA_2012_LOWER, 1, 91.0, id="lower-13-weeks"),
        pytest.param(JSA_2012_LOWER, 2, 91.0, id="lower-beyond-end-repeats"),
        pytest.param(JSA_2012_LOWER, 9, 91.0, id="lower-far-beyond-end-repeats"),
        pytest.param(JSA_2012_HIGHER, 0, 91.0, id="higher-13-weeks"),
        pytest.param(JSA_2012_HIGHER, 1, 182.0, id="higher-26-weeks"),
        pytest.param(JSA_2012_HIGHER, 2, 1092.0, id="higher-156-weeks"),
        pytest.param(JSA_2012_HIGHER, 3, 1092.0, id="higher-beyond-end-repeats"),
        pytest.param(JSA_PRE_2012, 0, 14.0, id="wp-pre-2012-2-weeks"),
        pytest.param(JSA_PRE_2012, 1, 28.0, id="wp-pre-2012-4-weeks"),
        pytest.param(JSA_PRE_2012, 2, 182.0, id="wp-pre-2012-26-weeks"),
        pytest.param(JSA_PRE_2012, 5, 182.0, id="wp-pre-2012-beyond-end-repeats"),
        pytest.param(Ladder(weeks=[0], open_ended=True), 0, 0.0, id="open-ended-no-fixed-part"),
    ],
)
def test_spell_days(ladder: Ladder, lvl: int, days: float) -> None:
    assert spell_days(ladder, lvl) == days


def test_ladders_match_the_work_programme_scenario() -> None:
    data = tomllib.loads(WP_TOML.read_text(encoding="utf-8"))
    ladders = {k: Ladder.model_validate(v) for k, v in data["sanctions"]["ladders"].items()}
    assert ladders["jsa_2012_lower"] == JSA_2012_LOWER
    assert ladders["jsa_2012_higher"] == JSA_2012_HIGHER
    assert ladders["jsa_pre_2012"] == JSA_PRE_2012
    assert data["sanctions"]["escalation_window_weeks"] * 7 == WINDOW
    assert data["sanctions"]["no_escalation_within_weeks"] * 7 == NO_ESC


@pytest.mark.parametrize(
    ("prior", "failure_at", "days"),
    [
        pytest.param([], 0.0, 91.0, id="first-13-weeks"),
        pytest.param([(0.0, 0)], 100.0, 182.0, id="second-26-weeks"),
        pytest.param([(0.0, 0), (100.0, 1)], 200.0, 1092.0, id="third-156-weeks"),
        pytest.param([(0.0, 0), (100.0, 1)], 105.0, 182.0, id="within-2-weeks-stays-26"),
        pytest.param([(0.0, 0), (100.0, 1)], 400.0, 1092.0, id="chain-within-52-weeks-of-last"),
        pytest.param([(0.0, 0), (100.0, 1)], 465.0, 91.0, id="last-one-over-52-weeks-ago"),
    ],
)
def test_higher_level_spells_end_to_end(
    prior: list[SanctionRecord], failure_at: float, days: float
) -> None:
    lvl = level(prior, failure_at, len(JSA_2012_HIGHER.weeks))
    assert spell_days(JSA_2012_HIGHER, lvl) == days
