"""Exact event timelines of small deterministic cases.

Each case is built from ``conftest.bare`` so that what happens to a claimant is
fully determined by a handful of parameters, up to the claimant's referral day
and (where unavoidable) the day of one random event. The expected log is then
computed by hand from those and compared event by event to 1e-9 days. Events
that can share a day with an interview are compared apart from the interviews,
so the tests do not depend on how same-day events are ordered in the log.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from conftest import TINY_RATE, assert_close, bare, one_failure, sequence_of, times_of

import sim
from sim.rng import Streams

ATTACH_DELAY = 20.0  # not a multiple of the JCP interval, so no interview falls on attachment
JCP_EVERY = 14.0
JCP_MINUTES = 10.0
FIRST_INTERVIEW = 7.0
PROVIDER_EVERY = 14.0
PROVIDER_MINUTES = 45.0
PROGRAMME_DAYS = 728.0
FOLLOW_UP_DAYS = 364.0
QUALIFYING = 182.0  # jsa_25_plus
SUSTAIN_EVERY = 28.0
MAX_SUSTAIN = 20  # jsa_25_plus
OUTCOME_FEE, SUSTAIN_FEE, ATTACH_FEE = 1200.0, 139.75, 400.0
JSA_DAILY = 67.5 / 7.0
ESA_DAILY = 94.25 / 7.0


def _programme(wp, **overrides):
    """Bare programme with ample capacity; unless overridden, one 14-day tier only, so every
    review leaves the induction interval as it is, and no Jobcentre signing on the programme
    (tested on its own in ``test_signing_goes_on_beside_the_provider``)."""
    settings = {
        "jcp__signing_interval_days_on_programme": 0.0,
        "providers__provider__policy": "uniform",
        "providers__provider__n_advisers": 1000,
        "providers__provider__first_interview_days": FIRST_INTERVIEW,
        "providers__provider__induction_interval_days": PROVIDER_EVERY,
        "providers__provider__min_interval_days": PROVIDER_EVERY,
        "providers__provider__max_interval_days": PROVIDER_EVERY,
        "population__groups__jsa_25_plus__attach_delay_days": ATTACH_DELAY,
    }
    return bare(wp, regime="programme", **{**settings, **overrides})


def _every(start: float, step: float, before: float) -> list[float]:
    """``start, start + step, ...`` strictly before ``before`` (computed as the engine does)."""
    out, j = [], 0
    while start + j * step < before:
        out.append(start + j * step)
        j += 1
    return out


def _split(seq: list[tuple[str, float, float]]) -> tuple[list, list[float]]:
    """(non-interview events, interview times) of a claimant's log."""
    others = [e for e in seq if e[0] != "interview"]
    interviews = [t for name, t, _ in seq if name == "interview"]
    return others, interviews


def _assert_events(actual: list, expected: list) -> None:
    assert [e[0] for e in actual] == [e[0] for e in expected], (actual, expected)
    for (_, t, v), (_, te, ve) in zip(actual, expected, strict=True):
        assert_close(t, te)
        assert_close(v, ve)


def _assert_times(actual: list[float], expected: list[float]) -> None:
    assert len(actual) == len(expected), (len(actual), len(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- (a) no job


def test_programme_timeline_without_a_job(wp):
    """Referral, JCP interview, attachment, provider interviews, programme end, JCP, end."""
    res = sim.run(
        _programme(wp, employment__entry_rate_per_day=TINY_RATE),
        n_claimants=6,
        seed=1,
        event_log=True,
    )
    for row in res.ledger.iter_rows(named=True):
        i, r = row["claimant_id"], row["referred_at"]
        a = r + ATTACH_DELAY
        pe = a + PROGRAMME_DAYS
        hz = pe + FOLLOW_UP_DAYS
        others, interviews = _split(sequence_of(res.events, i))
        _assert_events(
            others,
            [
                ("referral", r, 0.0),
                ("attach", a, ATTACH_FEE),
                ("programme_end", pe, 0.0),
                ("end", hz, 0.0),
            ],
        )
        jcp_before = _every(r + JCP_EVERY, JCP_EVERY, a)
        provider = _every(a + FIRST_INTERVIEW, PROVIDER_EVERY, pe)
        jcp_after = _every(pe + JCP_EVERY, JCP_EVERY, hz)
        assert (len(jcp_before), len(provider), len(jcp_after)) == (1, 52, 25)
        _assert_times(interviews, jcp_before + provider + jcp_after)
        # the ledger agrees with the log
        assert row["attached_at"] == pytest.approx(a, abs=1e-9)
        assert row["programme_end_at"] == pytest.approx(pe, abs=1e-9)
        assert row["horizon_at"] == pytest.approx(hz, abs=1e-9)
        assert row["n_interviews"] == 78
        assert row["adviser_minutes"] == 52 * PROVIDER_MINUTES
        assert row["jcp_minutes"] == 26 * JCP_MINUTES
        assert_close(row["caseload_days"], PROGRAMME_DAYS)
        assert_close(row["days_on_benefit"], ATTACH_DELAY + PROGRAMME_DAYS + FOLLOW_UP_DAYS)
        assert_close(row["benefit_paid_gbp"], row["days_on_benefit"] * JSA_DAILY)
        assert_close(row["max_contact_gap_days"], PROVIDER_EVERY)
        assert row["first_job_at"] is None and row["outcome_at"] is None
        assert row["payments_gbp"] == ATTACH_FEE
    assert res.events.filter(pl.col("event") == "intensity_change").height == 0


SIGN_MINUTES = 5.0


def test_signing_goes_on_beside_the_provider(wp):
    """On the programme a jobseeker keeps signing at the Jobcentre every 14 days from
    attachment (5 minutes each) alongside the provider's interviews: two calendars at once."""
    sc = _programme(
        wp,
        employment__entry_rate_per_day=TINY_RATE,
        jcp__signing_interval_days_on_programme=14.0,
        jcp__signing_minutes=SIGN_MINUTES,
    )
    res = sim.run(sc, n_claimants=6, seed=1, event_log=True)
    for row in res.ledger.iter_rows(named=True):
        i, r = row["claimant_id"], row["referred_at"]
        a = r + ATTACH_DELAY
        pe = a + PROGRAMME_DAYS
        hz = pe + FOLLOW_UP_DAYS
        _, interviews = _split(sequence_of(res.events, i))
        jcp_before = _every(r + JCP_EVERY, JCP_EVERY, a)
        provider = _every(a + FIRST_INTERVIEW, PROVIDER_EVERY, pe)
        signing = _every(a + JCP_EVERY, JCP_EVERY, pe)
        jcp_after = _every(pe + JCP_EVERY, JCP_EVERY, hz)
        assert (len(provider), len(signing)) == (52, 51)
        _assert_times(interviews, sorted(jcp_before + provider + signing + jcp_after))
        assert row["n_interviews"] == 1 + 52 + 51 + 25
        assert row["adviser_minutes"] == 52 * PROVIDER_MINUTES
        assert_close(row["jcp_minutes"], 26 * JCP_MINUTES + 51 * SIGN_MINUTES)


def test_esa_claimants_do_not_sign_on_the_programme(wp):
    """ESA claimants have no signing: on the programme only the provider sees them."""
    sc = bare(
        wp,
        regime="programme",
        group="esa_new",
        employment__entry_rate_per_day=TINY_RATE,
        jcp__signing_interval_days_on_programme=14.0,
        providers__provider__n_advisers=1000,
        population__groups__esa_new__attach_delay_days=ATTACH_DELAY,
    )
    res = sim.run(sc, n_claimants=4, seed=1)
    for row in res.ledger.iter_rows(named=True):
        assert row["jcp_minutes"] == 26 * JCP_MINUTES  # before attachment and after only


def test_review_tightens_the_interval(wp):
    """Two tiers (7 and 14 days) and ample capacity: the first review after attachment
    (reviews fall every 28 days from day 0) moves the claimant from the 14-day induction
    interval to 7 days; the next interview is 7 days after the last one held (or the
    review day itself, if that is later), then every 7 days to programme end."""
    review_every = 28.0
    sc = _programme(
        wp,
        employment__entry_rate_per_day=TINY_RATE,
        providers__provider__min_interval_days=7.0,
        providers__provider__review_interval_days=review_every,
    )
    res = sim.run(sc, n_claimants=6, seed=7, event_log=True)
    for row in res.ledger.iter_rows(named=True):
        i, r = row["claimant_id"], row["referred_at"]
        a = r + ATTACH_DELAY
        pe = a + PROGRAMME_DAYS
        review = review_every * (math.floor(a / review_every) + 1)
        others, interviews = _split(sequence_of(res.events, i))
        _assert_events(
            others,
            [
                ("referral", r, 0.0),
                ("attach", a, ATTACH_FEE),
                ("intensity_change", review, 7.0),
                ("programme_end", pe, 0.0),
                ("end", row["horizon_at"], 0.0),
            ],
        )
        induction = _every(a + FIRST_INTERVIEW, PROVIDER_EVERY, review)
        last = induction[-1] if induction else a + FIRST_INTERVIEW - PROVIDER_EVERY
        weekly = _every(max(review, last + 7.0), 7.0, pe)
        provider = [t for t in interviews if a < t < pe]
        _assert_times(provider, induction + weekly)
        assert row["adviser_minutes"] == PROVIDER_MINUTES * len(provider)


def test_jcp_timeline_without_a_job(wp):
    """No provider: fortnightly JCP interviews from referral to the end of follow-up."""
    res = sim.run(
        bare(wp, employment__entry_rate_per_day=TINY_RATE), n_claimants=6, seed=2, event_log=True
    )
    span = 14.0 + PROGRAMME_DAYS + FOLLOW_UP_DAYS  # the group's default attach delay is 14
    for row in res.ledger.iter_rows(named=True):
        i, r = row["claimant_id"], row["referred_at"]
        others, interviews = _split(sequence_of(res.events, i))
        _assert_events(others, [("referral", r, 0.0), ("end", row["horizon_at"], 0.0)])
        assert_close(row["horizon_at"] - r, span)
        expected = _every(r + JCP_EVERY, JCP_EVERY, row["horizon_at"])
        assert len(expected) == 78  # 1106 / 14 = 79: the interview on the last day is not held
        _assert_times(interviews, expected)
        assert row["attached_at"] is None and row["caseload_days"] == 0.0
        assert row["jcp_minutes"] == 78 * JCP_MINUTES and row["adviser_minutes"] == 0.0


# --------------------------------------------------------------------------- (b) jobs


def _job_expectation(row: dict, t0: float, regime: str) -> tuple[list, list[float]]:
    """Expected non-interview events and interview times of a claimant whose only job
    starts at ``t0`` and never ends."""
    r, hz = row["referred_at"], row["horizon_at"]
    ev: list[tuple[str, float, float]] = [("referral", r, 0.0)]
    if regime == "programme":
        a = r + ATTACH_DELAY
        on_programme = t0 > a
        interviews = _every(r + JCP_EVERY, JCP_EVERY, min(a, t0))
        if on_programme:
            ev.append(("attach", a, ATTACH_FEE))
            interviews += _every(a + FIRST_INTERVIEW, PROVIDER_EVERY, t0)
    else:
        on_programme = False
        interviews = _every(r + JCP_EVERY, JCP_EVERY, t0)
    ev.append(("job_start", t0, 0.0))
    outcome = t0 + QUALIFYING
    ev.append(("outcome", outcome, OUTCOME_FEE if on_programme else 0.0))
    n_sustain = min(MAX_SUSTAIN, math.floor((hz - outcome) / SUSTAIN_EVERY))
    for k in range(1, n_sustain + 1):
        ev.append(
            ("sustainment", outcome + k * SUSTAIN_EVERY, SUSTAIN_FEE if on_programme else 0.0)
        )
    ev.append(("end", hz, 0.0))
    return ev, interviews


@pytest.mark.parametrize("regime", ["jcp", "programme"])
def test_job_outcome_and_capped_sustainments(wp, regime):
    """A job that never ends: outcome after the qualifying days, then a sustainment every
    28 days, 20 at most; paid only on the programme (the log still dates them)."""
    rate = 0.02 if regime == "jcp" else 0.01
    sc = (_programme if regime == "programme" else bare)(wp, employment__entry_rate_per_day=rate)
    res = sim.run(sc, n_claimants=40, seed=3, event_log=True)
    n_capped = n_attached_job = 0
    for row in res.ledger.iter_rows(named=True):
        i = row["claimant_id"]
        t0 = row["first_job_at"]
        if t0 is None or t0 + QUALIFYING > row["horizon_at"]:
            continue
        expected, interviews = _job_expectation(row, t0, regime)
        others, got_interviews = _split(sequence_of(res.events, i))
        _assert_events(others, expected)
        _assert_times(got_interviews, interviews)
        n_sustain = sum(e[0] == "sustainment" for e in expected)
        n_capped += n_sustain == MAX_SUSTAIN
        assert row["n_jobs"] == 1
        assert_close(row["outcome_at"], t0 + QUALIFYING)
        assert row["n_sustainment_payments"] == n_sustain
        assert_close(row["days_in_work"], row["horizon_at"] - t0)
        paid = row["attached_at"] is not None
        n_attached_job += paid
        assert_close(row["outcome_fee_gbp"], OUTCOME_FEE if paid else 0.0)
        assert_close(row["sustainment_fees_gbp"], n_sustain * SUSTAIN_FEE if paid else 0.0)
        assert_close(
            row["payments_gbp"], (ATTACH_FEE + OUTCOME_FEE + n_sustain * SUSTAIN_FEE) if paid else 0
        )
    assert n_capped >= 10
    if regime == "programme":
        assert n_attached_job >= 5


def _reference_payments(
    spells: list[tuple[float, float]], programme_end: float
) -> tuple[float | None, list[float]]:
    """The outcome and sustainment rule, written out independently of sim.contract.

    ``spells`` are (start, end) of the claimant's jobs in order, ``end`` cut at the horizon.
    Only jobs starting before the programme ends count. The outcome falls on the day
    cumulative days in work reach the qualifying days; sustainments fall every 28 days of
    continuous work from the outcome within its job, and from the start of each later job.
    """
    worked, outcome, sustain = 0.0, None, []
    for start, end in spells:
        if start >= programme_end:
            continue
        origin = start
        if outcome is None:
            if worked + (end - start) >= QUALIFYING:
                outcome = start + (QUALIFYING - worked)
                origin = outcome
            else:
                origin = math.inf
        worked += end - start
        k = 1
        while len(sustain) < MAX_SUSTAIN and origin + k * SUSTAIN_EVERY <= end:
            sustain.append(origin + k * SUSTAIN_EVERY)
            k += 1
    return outcome, sustain


@pytest.mark.parametrize("regime", ["jcp", "programme"])
def test_outcomes_over_several_jobs_follow_the_rule(wp, regime):
    """With job loss, every claimant's outcome and sustainments are those the rule gives for
    the job spells in the log (several jobs, outcomes across jobs, jobs after the programme)."""
    sc = (_programme if regime == "programme" else bare)(
        wp, employment__entry_rate_per_day=0.02, employment__job_loss_rate_per_day=0.008
    )
    res = sim.run(sc, n_claimants=300, seed=4, event_log=True)
    ev = res.events
    multi = across = 0
    for row in res.ledger.iter_rows(named=True):
        i = row["claimant_id"]
        starts = times_of(ev, i, "job_start")
        ends = list(times_of(ev, i, "job_end"))
        assert len(ends) in (len(starts), len(starts) - 1)
        ends += [row["horizon_at"]] * (len(starts) - len(ends))
        spells = list(zip(starts, ends, strict=True))
        assert all(s < e for s, e in spells)
        assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spells))
        outcome, sustain = _reference_payments(spells, row["programme_end_at"])
        got_outcome = times_of(ev, i, "outcome")
        if outcome is None:
            assert got_outcome.size == 0 and row["outcome_at"] is None
        else:
            _assert_times(list(got_outcome), [outcome])
            assert_close(row["outcome_at"], outcome)
            across += outcome > spells[0][1]
        _assert_times(sorted(times_of(ev, i, "sustainment")), sustain)
        assert row["n_sustainment_payments"] == len(sustain)
        multi += len(spells) > 2
    assert multi >= 20 and across >= 5, (multi, across)


# --------------------------------------------------------------------------- (c) sanctions


def _with_wrong(expected: list, n_wrong: int) -> list:
    """A wrong decision carries value 1 and is logged again as wrong_sanction_decision."""
    if not n_wrong:
        return expected
    out = []
    for name, t, value in expected:
        if name == "sanction_decision":
            out += [(name, t, 1.0), ("wrong_sanction_decision", t, 0.0)]
        else:
            out.append((name, t, value))
    return out


def _check_one_failure(res, expected_after_fta, *, spell_days, daily: float, frac: float):
    """``expected_after_fta(f[, claimant])``; ``spell_days`` a number or ``f(claimant)``."""
    n_first = 0
    for row in res.ledger.iter_rows(named=True):
        i, r, hz = row["claimant_id"], row["referred_at"], row["horizon_at"]
        others, interviews = _split(sequence_of(res.events, i))
        assert others[0][0] == "referral" and others[-1][0] == "end"
        f = others[1][1]
        k = (f - r) / JCP_EVERY
        assert round(k) >= 1 and abs(k - round(k)) < 1e-9, "a failure falls on an interview day"
        n_first += round(k) == 1
        after = expected_after_fta(f) if not callable(spell_days) else expected_after_fta(f, i)
        spell = spell_days(i) if callable(spell_days) else spell_days
        _assert_events(others[1:-1], _with_wrong(after, row["n_wrong_sanctions"]))
        # every interview but the missed one is held
        expected = [t for t in _every(r + JCP_EVERY, JCP_EVERY, hz) if abs(t - f) > 1e-9]
        _assert_times(interviews, expected)
        assert (row["n_fta"], row["n_sanction_referrals"], row["n_sanctions"]) == (1, 1, 1)
        assert row["n_overturned"] == 0
        assert_close(row["days_sanctioned"], spell)
        assert_close(
            row["benefit_paid_gbp"],
            daily * (row["days_on_benefit"] - spell) + daily * (1.0 - frac) * spell,
        )
    assert n_first >= res.ledger.height // 2


def test_jsa_sanction_timeline(wp):
    """fta -> referral (same day) -> sanction_start after decision_days -> end after the
    first rung of the JSA ladder (2 weeks)."""
    res = sim.run(
        one_failure(wp, sanctions__decision_days=14.0), n_claimants=12, seed=5, event_log=True
    )

    def after(f: float) -> list:
        return [
            ("fta", f, 0.0),
            ("sanction_referral", f, 0.0),
            ("sanction_decision", f + 14.0, 0.0),
            ("sanction_start", f + 14.0, 0.0),
            ("sanction_end", f + 14.0 + 14.0, 0.0),
        ]

    _check_one_failure(res, after, spell_days=14.0, daily=JSA_DAILY, frac=1.0)


REENGAGE_DAYS = 28.0  # sanctions.reengage_rate_per_day = 1/28 by default


def _reengage_days(seed: int, claimant: int) -> float:
    """Days from the decision to re-engagement: the claimant's keyed clock / the rate."""
    e = Streams(seed, 0).exponentials("sanctions.compliance", [claimant], 0)[0]
    return float(e) / (1.0 / REENGAGE_DAYS)


def test_esa_open_ended_sanction_timeline(wp):
    """ESA 2012 ladder: the sanction runs from the decision until the claimant re-engages
    (a keyed unit-exponential clock at 1/28 a day, not the next appointment) plus one week,
    at 71.6% of benefit."""
    sc = one_failure(
        wp,
        group="esa_new",
        sanctions__decision_days=10.0,
        sanctions__ladder_esa="esa_2012",
    )
    res = sim.run(sc, n_claimants=12, seed=6, event_log=True)

    def after(f: float, i: int) -> list:
        return [
            ("fta", f, 0.0),
            ("sanction_referral", f, 0.0),
            ("sanction_decision", f + 10.0, 0.0),
            ("sanction_start", f + 10.0, 0.0),
            ("sanction_end", f + 10.0 + _reengage_days(6, i) + 7.0, 0.0),
        ]

    _check_one_failure(
        res,
        after,
        spell_days=lambda i: _reengage_days(6, i) + 7.0,
        daily=ESA_DAILY,
        frac=0.716,
    )


def _overturned_esa(wp):
    """One ESA failure, decided after 10 days, always overturned 42 days after the decision;
    the pre-2012 ESA ladder is open-ended with no fixed part, so re-engagement ends the
    sanction, or the overturn if it comes first."""
    return one_failure(
        wp,
        group="esa_new",
        sanctions__decision_days=10.0,
        sanctions__ladder_esa="esa_pre_2012",
        sanctions__p_overturn_wrong=1.0,
        sanctions__p_overturn_right=1.0,
        sanctions__overturn_days=42.0,
    )


def test_overturned_sanction_timeline(wp):
    res = sim.run(_overturned_esa(wp), n_claimants=12, seed=6, event_log=True)
    for row in res.ledger.iter_rows(named=True):
        i = row["claimant_id"]
        others, _ = _split(sequence_of(res.events, i))
        f = others[1][1]
        spell = min(_reengage_days(6, i), 42.0)
        # the overturn is logged at the decision, so it comes first on a tie (stable sort)
        ends = [("overturn", f + 10.0 + 42.0, 0.0), ("sanction_end", f + 10.0 + spell, 0.0)]
        _assert_events(
            others[1:-1],
            _with_wrong(
                [
                    ("fta", f, 0.0),
                    ("sanction_referral", f, 0.0),
                    ("sanction_decision", f + 10.0, 0.0),
                    ("sanction_start", f + 10.0, 0.0),
                    *sorted(ends, key=lambda e: e[1]),
                ],
                row["n_wrong_sanctions"],
            ),
        )
        assert (row["n_sanctions"], row["n_overturned"]) == (1, 1)
        assert_close(row["days_sanctioned"], spell)


def test_overturned_sanction_is_repaid_exactly(wp):
    """An overturned sanction is repaid in full and no more: benefit paid is the full rate for
    every day on benefit, whether the spell ended before the overturn or at it."""
    res = sim.run(_overturned_esa(wp), n_claimants=12, seed=6)
    for row in res.ledger.iter_rows(named=True):
        assert_close(row["benefit_paid_gbp"], ESA_DAILY * row["days_on_benefit"])


# --------------------------------------------------------------------------- log vs ledger


def test_log_agrees_with_ledger_on_the_shipped_scenario(wp):
    """Every mechanism on: the event log and the ledger tell the same story per claimant."""
    res = sim.run(wp, n_claimants=2000, seed=17, event_log=True)
    ev, led = res.events, res.ledger
    names = ["interview", "fta", "sanction_referral", "job_start", "sustainment", "overturn"]
    names += ["referral", "end", "attach", "sanction_start", "sanction_end"]
    counts = ev.group_by("claimant_id").agg(
        *[(pl.col("event") == e).sum().alias(f"k_{e}") for e in names]
    )
    firsts = (
        ev.filter(pl.col("event").is_in(["referral", "attach", "job_start", "outcome", "offflow"]))
        .group_by("claimant_id", "event")
        .agg(pl.col("t").min())
        .pivot(on="event", index="claimant_id", values="t")
    )
    last_end = ev.filter(pl.col("event") == "end").select("claimant_id", t_end="t")
    j = (
        led.join(counts, on="claimant_id")
        .join(firsts, on="claimant_id")
        .join(last_end, on="claimant_id")
    )
    assert j.height == led.height
    for event, column in [
        ("interview", "n_interviews"),
        ("fta", "n_fta"),
        ("sanction_referral", "n_sanction_referrals"),
        ("job_start", "n_jobs"),
        ("sustainment", "n_sustainment_payments"),
        ("overturn", "n_overturned"),
    ]:
        assert (j[f"k_{event}"] == j[column]).all(), event
    assert (j["k_referral"] == 1).all() and (j["k_end"] == 1).all()
    assert ((j["k_attach"] == 1) == j["attached_at"].is_not_null()).all()
    # a sanction may still be running at the horizon, but no spell ends twice
    assert (j["k_sanction_start"] - j["k_sanction_end"]).is_in([0, 1]).all()
    assert (j["k_sanction_start"] <= j["n_sanctions"]).all()
    for event, column in [
        ("referral", "referred_at"),
        ("attach", "attached_at"),
        ("job_start", "first_job_at"),
        ("outcome", "outcome_at"),
        ("offflow", "offflow_at"),
    ]:
        assert (j[event].is_null() == j[column].is_null()).all(), event
        both = j.filter(pl.col(column).is_not_null())
        np.testing.assert_allclose(both[event], both[column], rtol=0, atol=1e-9, err_msg=event)
    np.testing.assert_allclose(j["t_end"], j["horizon_at"], rtol=0, atol=1e-9)
    # nothing but an overturn is dated outside referral .. horizon
    span = ev.join(led.select("claimant_id", "referred_at", "horizon_at"), on="claimant_id")
    outside = span.filter(
        (pl.col("event") != "overturn")
        & ((pl.col("t") < pl.col("referred_at")) | (pl.col("t") > pl.col("horizon_at")))
    )
    assert outside.height == 0, outside.head()
