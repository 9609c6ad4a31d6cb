"""Claimant behaviour in the event loop: requirement routes, closed claims, repeat claims.

Each case strips the model down (``conftest.bare`` / ``one_failure``) so that one
mechanism acts and its result has a closed form or an exact table.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from conftest import TINY_RATE, bare, one_failure

import sim
from sim.scenario import override

N = 4000
ROUTES = ["fta_jcp", "fta_provider", "activity", "job_search", "leaving_job"]


def _referrals_by_route(events: pl.DataFrame) -> dict[str, int]:
    refs = events.filter(pl.col("event") == "sanction_referral")
    counts = refs.group_by("value").len()
    out = dict.fromkeys(ROUTES, 0)
    for value, n in counts.iter_rows():
        out[ROUTES[int(value)]] = n
    return out


# ------------------------------------------------------------------ closing the claim
def test_a_missed_signing_can_close_the_claim(wp):
    """With p_close = 1 the one failure to sign ends the claim there: off-flow reason 2,
    no referral, no sanction; with p_close = 0 it is referred and sanctioned instead."""
    closes = one_failure(wp, benefit_dynamics__p_close_on_failure_to_sign=1.0)
    res = sim.run(closes, n_claimants=12, seed=5, event_log=True)
    led = res.ledger
    assert (led["n_fta"] == 1).all()
    assert (led["offflow_reason"] == 2).all()
    assert (led["n_sanction_referrals"] == 0).all()
    fta = res.events.filter(pl.col("event") == "fta").sort("claimant_id")["t"].to_numpy()
    assert np.allclose(led.sort("claimant_id")["offflow_at"].to_numpy(), fta)
    keeps = sim.run(one_failure(wp), n_claimants=12, seed=5).ledger
    assert (keeps["offflow_reason"] == 0).all() and (keeps["n_sanctions"] == 1).all()


# ------------------------------------------------------------------ routes, as a table
@pytest.mark.parametrize(
    ("overrides", "route"),
    [
        pytest.param({}, "fta_jcp", id="jobcentre failure"),
        pytest.param(
            {"sanctions__requirements__fta_jcp__p_refer": 0.0},
            None,
            id="jobcentre route switched off",
        ),
    ],
)
def test_each_route_refers_with_its_own_rate(wp, overrides, route):
    res = sim.run(one_failure(wp, **overrides), n_claimants=12, seed=5, event_log=True)
    by_route = _referrals_by_route(res.events)
    if route is None:
        assert sum(by_route.values()) == 0
        assert (res.ledger["n_fta"] == 1).all()
    else:
        assert by_route[route] == 12
        assert sum(by_route.values()) == 12


def test_provider_failures_go_by_the_provider_route(wp):
    """On the programme with no signing, every failure is at a provider contact."""
    sc = one_failure(
        wp,
        regime="programme",
        jcp__signing_interval_days_on_programme=0.0,
        providers__provider__n_advisers=1000,
        population__groups__jsa_25_plus__attach_delay_days=0.0,
        providers__provider__first_interview_days=3.0,
    )
    by_route = _referrals_by_route(sim.run(sc, n_claimants=40, seed=2, event_log=True).events)
    assert by_route["fta_provider"] > 0
    assert by_route["fta_jcp"] == 0


def test_job_search_doubts_arrive_at_their_rate(wp):
    """Doubts are a Poisson process at ``doubt_rate_per_day`` over days on benefit; with
    p_refer = 1 each is a referral: mean referrals = rate * days on benefit (within 4 SE)."""
    rate = 0.002
    sc = bare(
        wp,
        employment__entry_rate_per_day=TINY_RATE,
        sanctions__enabled=True,
        sanctions__requirements__job_search__doubt_rate_per_day=rate,
        sanctions__requirements__job_search__p_refer=1.0,
        sanctions__requirements__job_search__p_adverse=0.0,
    )
    led = sim.run(sc, n_claimants=N, seed=3).ledger
    expected = rate * led["days_on_benefit"].to_numpy()
    got = led["n_sanction_referrals"].to_numpy()
    se = math.sqrt(expected.sum())
    assert abs(got.sum() - expected.sum()) < 4.0 * se
    assert (led["n_sanctions"] == 0).all()


def test_esa_volunteers_are_never_sanctioned(wp):
    """An ESA volunteer takes part but is never sanctioned; the same claimant mandatory is."""
    base = one_failure(wp, group="esa_new")
    vol = one_failure(wp, group="esa_new", population__groups__esa_new__volunteer=True)
    a = sim.run(base, n_claimants=12, seed=5).ledger
    b = sim.run(vol, n_claimants=12, seed=5).ledger
    assert (a["n_sanctions"] == 1).all()
    assert (b["n_fta"] == 1).all() and (b["n_sanction_referrals"] == 0).all()
    assert (b["n_sanctions"] == 0).all()


# ------------------------------------------------------------------ repeat claims
def test_claims_after_a_job_return_at_the_reclaim_hazard(wp):
    """Jobs start quickly and end at a constant job-loss rate; the repeat claim after a job's
    end is a clock on a constant hazard r (no job is found off benefit), so the share back
    on benefit within 13 weeks of the first job's end is 1 - exp(-91 r)."""
    r = 0.01
    sc = bare(
        wp,
        employment__entry_rate_per_day=0.05,
        employment__entry_multiplier_off_benefit=1e-9,
        employment__job_loss_rate_per_day=0.02,
        benefit_dynamics__reclaim_after_job=[{"from_days": 0.0, "rate_per_day": r}],
    )
    led = sim.run(sc, n_claimants=N, seed=4).ledger
    ended = led.filter(
        pl.col("first_job_end_at").is_not_null()
        & (pl.col("first_job_end_at") + 91.0 < pl.col("horizon_at"))
    )
    back = (ended["first_reclaim_at"] - ended["first_job_end_at"]).fill_null(math.inf)
    share = float((back <= 91.0).mean())
    expected = 1.0 - math.exp(-91.0 * r)
    se = math.sqrt(expected * (1 - expected) / ended.height)
    assert ended.height > 1000
    assert abs(share - expected) < 4.0 * se, (share, expected)


def _returners(wp, reclaim_bands):
    sc = bare(
        wp,
        regime="programme",
        employment__entry_rate_per_day=0.02,
        employment__entry_multiplier_off_benefit=1e-9,
        employment__job_loss_rate_per_day=0.05,
        benefit_dynamics__reclaim_after_job=reclaim_bands,
        providers__provider__n_advisers=1000,
    )
    led = sim.run(sc, n_claimants=400, seed=8).ledger
    return led.filter(
        pl.col("attached_at").is_not_null()
        & (pl.col("first_job_at") > pl.col("attached_at"))
        & pl.col("first_reclaim_at").is_not_null()
    ).with_columns(first_spell=pl.col("first_job_at") - pl.col("attached_at"))


def test_a_returner_inside_the_attachment_period_goes_back_to_the_provider(wp):
    """A participant whose job ends and who claims again before the programme ends is back
    in the provider's caseload (more caseload days than the first spell); one who claims
    only after the programme's end goes to the Jobcentre (the first spell's days only)."""
    soon = _returners(wp, [{"from_days": 0.0, "rate_per_day": 1.0}])
    soon = soon.filter(pl.col("first_reclaim_at") < pl.col("programme_end_at") - 1.0)
    assert soon.height > 50
    assert (soon["caseload_days"] > soon["first_spell"]).all()
    late = _returners(
        wp, [{"from_days": 0.0, "rate_per_day": 0.0}, {"from_days": 800.0, "rate_per_day": 1.0}]
    )
    late = late.filter(pl.col("first_reclaim_at") >= pl.col("programme_end_at"))
    assert late.height > 20
    np.testing.assert_allclose(late["caseload_days"], late["first_spell"], atol=1e-9)


# ------------------------------------------------------------------ retention
def test_job_loss_multipliers_are_the_retention_rule_per_claimant(wp):
    """The run's per-claimant job-loss multipliers equal the pure rule, claimant by claimant."""
    from sim.config import AGE_BANDS
    from sim.model import _loss_multipliers
    from sim.population import build_population
    from sim.retention import claimant_loss_multiplier
    from sim.rng import Streams

    sc = override(wp, {"retention.condition_multipliers": {"mental_health": 1.4}})
    pop = build_population(sc, 500, Streams(1, 0))
    got = _loss_multipliers(sc, pop)
    emp = sc.employment
    for k in range(pop.n):
        c = int(pop.condition[k])
        expected = emp.job_loss_rate_per_day * claimant_loss_multiplier(
            sc.retention,
            bool(pop.benefit_esa[k]),
            None if c < 0 else pop.condition_names[c],
            AGE_BANDS[int(pop.age_band[k])],
            float(pop.distance[k]),
            emp.job_loss_distance_coef,
        )
        assert got[k] == pytest.approx(expected, rel=1e-12)


def test_in_work_support_keeps_programme_jobs_longer_and_costs_the_provider(wp):
    """Same claimants, same clocks: support that halves job loss for 182 days never
    shortens a job and lengthens some; its cost is booked to the provider."""
    common = {
        "employment__entry_rate_per_day": 0.01,
        "employment__job_loss_rate_per_day": 0.01,
        "providers__provider__n_advisers": 1000,
    }
    plain = bare(wp, regime="programme", **common)
    support = bare(
        wp,
        regime="programme",
        **common,
        retention__in_work_support={
            "duration_days": 182.0,
            "loss_multiplier": 0.5,
            "cost_gbp_per_week": 10.0,
        },
    )
    a = sim.run(plain, n_claimants=2000, seed=9)
    b = sim.run(support, n_claimants=2000, seed=9)
    first = "first_job_at"
    both = a.ledger.select("claimant_id", first, "first_job_end_at").join(
        b.ledger.select("claimant_id", first, "first_job_end_at"), on="claimant_id", suffix="_s"
    )
    same_start = both.filter(pl.col(first) == pl.col(f"{first}_s"))
    assert same_start.height > 1000
    ends = same_start.select(
        plain=(pl.col("first_job_end_at") - pl.col(first)).fill_null(math.inf),
        support=(pl.col("first_job_end_at_s") - pl.col(first)).fill_null(math.inf),
    )
    assert (ends["support"] >= ends["plain"] - 1e-9).all()
    assert (ends["support"] > ends["plain"] + 1.0).sum() > 100
    # no interventions here: the provider's service costs are the support alone
    assert a.providers["cost_interventions_gbp"].sum() == 0.0
    assert b.providers["cost_interventions_gbp"].sum() > 0.0


# ------------------------------------------------------------------ the WCA
def _assessed(wp, **overrides):
    """New ESA claims referred at the claim's start, in the 13-week assessment phase."""
    return bare(
        wp,
        group="esa_new",
        employment__entry_rate_per_day=TINY_RATE,
        population__groups__esa_new__referral_point_months=0.0,
        population__groups__esa_new__esa_phase_at_referral="assessment",
        **overrides,
    )


def test_wca_outcome_shares_and_timing(wp):
    """The WCA comes 91 days after the claim began and splits claimants in the stated
    shares (fit for work 0.48, support group 0.29, the rest the WRAG), within 4 SE."""
    res = sim.run(_assessed(wp), n_claimants=N, seed=12, event_log=True)
    led = res.ledger
    wca = res.events.filter(pl.col("event") == "wca").join(
        led.select("claimant_id", "referred_at"), on="claimant_id"
    )
    assert wca.height == N
    np.testing.assert_allclose(wca["t"], wca["referred_at"] + 91.0, atol=1e-9)
    for code, p in ((0, 0.48), (3, 0.29), (2, 0.23)):
        share = float((led["wca_outcome"] == code).mean())
        assert abs(share - p) < 4.0 * math.sqrt(p * (1 - p) / N), (code, share)


@pytest.mark.parametrize(
    ("p_fit", "p_support", "sanctioned_after"),
    [
        pytest.param(0.0, 0.0, True, id="work-related activity group"),
        pytest.param(0.0, 1.0, False, id="support group"),
        pytest.param(1.0, 0.0, True, id="fit for work (JSA)"),
    ],
)
def test_conditionality_follows_the_wca(wp, p_fit, p_support, sanctioned_after):
    """Nobody is sanctioned in the assessment phase; after the WCA the WRAG and JSA can be,
    the support group never."""
    sc = _assessed(
        wp,
        attendance__p_attend=0.7,
        sanctions__enabled=True,
        sanctions__p_refer=1.0,
        sanctions__p_adverse=1.0,
        sanctions__p_good_reason_rejected=1.0,
        benefit_dynamics__p_fit_for_work=p_fit,
        benefit_dynamics__p_support_group=p_support,
    )
    res = sim.run(sc, n_claimants=300, seed=4, event_log=True)
    ev = res.events.join(res.ledger.select("claimant_id", "referred_at"), on="claimant_id")
    wca_day = pl.col("referred_at") + 91.0
    refs = ev.filter(pl.col("event") == "sanction_referral")
    assert refs.filter(pl.col("t") < wca_day).height == 0
    fails_after = ev.filter((pl.col("event") == "fta") & (pl.col("t") > wca_day)).height
    assert fails_after > 50
    assert (refs.filter(pl.col("t") >= wca_day).height > 0) == sanctioned_after


def test_a_job_left_voluntarily_is_referred_on_the_new_claim(wp):
    """With every job end a voluntary quit, each repeat claim after a job brings a referral
    by the leaving-job route on the day of the claim; with none, no such referral."""

    def run(p_left: float) -> pl.DataFrame:
        sc = bare(
            wp,
            employment__entry_rate_per_day=0.02,
            employment__job_loss_rate_per_day=0.02,
            sanctions__enabled=True,
            sanctions__requirements__leaving_job__p_per_job_end=p_left,
            sanctions__requirements__leaving_job__p_refer=1.0,
            benefit_dynamics__reclaim_after_job=[{"from_days": 0.0, "rate_per_day": 0.1}],
        )
        return sim.run(sc, n_claimants=300, seed=6, event_log=True).events

    ev = run(1.0)
    reclaims = ev.filter(pl.col("event") == "reclaim").select("claimant_id", "t")
    refs = ev.filter((pl.col("event") == "sanction_referral") & (pl.col("value") == 4.0))
    assert reclaims.height > 100
    assert (
        refs.select("claimant_id", "t")
        .sort(["claimant_id", "t"])
        .equals(reclaims.sort(["claimant_id", "t"]))
    )
    none = run(0.0)
    assert none.filter(pl.col("event") == "sanction_referral").height == 0


def test_time_on_benefit_of_the_two_state_chain(wp):
    """No jobs; off-flow at constant rate a, repeat claims at constant rate b: the expected
    days on benefit over a horizon T from a claim's start is the two-state chain's closed
    form b/(a+b) T + a/(a+b)^2 (1 - exp(-(a+b) T)), within 4 SE."""
    a, b = 0.01, 0.02
    sc = bare(
        wp,
        employment__entry_rate_per_day=TINY_RATE,
        offflow__rate_per_day=a,
        benefit_dynamics__reclaim_after_offflow=[{"from_days": 0.0, "rate_per_day": b}],
    )
    led = sim.run(sc, n_claimants=N, seed=13).ledger
    horizon = (led["horizon_at"] - led["referred_at"]).to_numpy()
    on = led["days_on_benefit"].to_numpy()
    s = a + b
    expected = b / s * horizon + a / s**2 * (1.0 - np.exp(-s * horizon))
    se = on.std() / math.sqrt(len(on))
    assert abs(on.mean() - expected.mean()) < 4.0 * se, (on.mean(), expected.mean(), se)
    assert (led["n_repeat_claims"] > 1).mean() > 0.5


def test_failures_at_a_placement_go_by_the_activity_route(wp):
    """A placement that replaces the Jobcentre calendar (daily, days 20-50 after referral):
    failures inside it are referred by the activity route, those outside by the Jobcentre's."""
    sc = bare(
        wp,
        employment__entry_rate_per_day=TINY_RATE,
        attendance__p_attend=0.8,
        sanctions__enabled=True,
        sanctions__p_refer=1.0,
        interventions=[
            {
                "name": "placement",
                "delivered_by": "jcp",
                "start_after_days": 20.0,
                "duration_days": 30.0,
                "interview_interval_days": 1.0,
            }
        ],
    )
    res = sim.run(sc, n_claimants=200, seed=3, event_log=True)
    refs = res.events.filter(pl.col("event") == "sanction_referral").join(
        res.ledger.select("claimant_id", "referred_at"), on="claimant_id"
    )
    day = pl.col("t") - pl.col("referred_at")
    inside = refs.filter((day > 20.0) & (day <= 50.0))
    outside = refs.filter((day <= 20.0) | (day > 50.0))
    assert inside.height > 20 and outside.height > 20
    assert set(inside["value"].to_list()) == {2.0}
    assert set(outside["value"].to_list()) == {0.0}
