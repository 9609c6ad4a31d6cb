"""The mechanisms behind the seeds' programmes (issue 7) act as described.

Payment design and provider behaviour (creaming emerges from prices), the
attachment fee's end, market share shift towards the better prime, financial
strain (advisers cut, exits with caseloads moved), supply chains with a
management fee, sanction regimes by date and hardship, Jobcentre interview
phases and mandatory counts, interventions (lock-in, effect, cost) and trial
arms. Each is checked on a small run against a rule, an identity or a closed form.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from conftest import SCENARIOS, TINY_RATE, assert_close, bare, one_failure, times_of

import sim
from sim.contract import DAYS_PER_MONTH
from sim.model import simulate
from sim.scenario import load_scenario, override

JSA_DAILY = 67.5 / 7.0


def _value(summary: pl.DataFrame, metric: str, group: str = "all") -> float:
    whole = pl.col("horizon_months").is_null()
    row = summary.filter((pl.col("metric") == metric) & (pl.col("group") == group) & whole)
    assert row.height == 1, (metric, group)
    return float(row["value"][0])


# --------------------------------------------------------------------------- payment design


def _design(wp, attach: float, outcome: float, sustain: float):
    """Every group priced at its own maximum, split attach / outcome / sustainment."""
    changes: dict[str, object] = {
        "providers.provider.policy": "mixed",
        "providers.provider.public_service_value_gbp": 1500.0,
    }
    for name, g in wp.contract.groups.items():
        total = g.attachment_fee_gbp + g.outcome_fee_gbp
        total += g.max_sustainment_payments * g.sustainment_fee_gbp
        n = max(g.max_sustainment_payments, 1)
        changes[f"contract.groups.{name}.attachment_fee_gbp"] = attach * total
        changes[f"contract.groups.{name}.outcome_fee_gbp"] = outcome * total
        changes[f"contract.groups.{name}.max_sustainment_payments"] = n
        changes[f"contract.groups.{name}.sustainment_fee_gbp"] = sustain * total / n
    return override(wp, changes)


def test_back_loaded_contract_widens_the_minutes_gap(wp):
    """Moving the price from service fees to outcomes makes a mixed provider cream: the gap in
    adviser minutes between the most and the least job-ready (by its signal) widens."""
    gaps = {}
    for label, split in {"front": (0.8, 0.2, 0.0), "back": (0.0, 0.4, 0.6)}.items():
        s = sim.run(_design(wp, *split), n_claimants=3000, seed=3).summary
        q1 = _value(s, "adviser_minutes_per_claimant", "signal_q1")
        q5 = _value(s, "adviser_minutes_per_claimant", "signal_q5")
        gaps[label] = q1 - q5
    assert gaps["back"] > gaps["front"] + 100.0, gaps


# --------------------------------------------------------------------------- attachment fee


def test_ending_the_attachment_fee_lowers_income_in_the_first_months(wp):
    base = {"run.start_month": "2014-01", "run.cohort_months": 12}
    ended = override(wp, {**base, "contract.attachment_fee_end_month": "2014-04"})
    kept = override(wp, {**base, "contract.attachment_fee_end_month": "2099-01"})
    by_month = {}
    for label, sc in (("ended", ended), ("kept", kept)):
        prov = sim.run(sc, n_claimants=2000, seed=4).providers
        by_month[label] = (
            prov.group_by("month")
            .agg(
                pl.col("income_attachment_gbp").sum(),
                total=pl.sum_horizontal(pl.col("^income_.*$")).sum(),
            )
            .sort("month")
        )
    e, k = by_month["ended"], by_month["kept"]
    # the same attachments before April 2014, none paid from it
    assert e["income_attachment_gbp"][:3].to_list() == k["income_attachment_gbp"][:3].to_list()
    assert e["income_attachment_gbp"][3:].sum() == 0.0
    assert k["income_attachment_gbp"][3:12].min() > 0.0
    assert e["total"][3:12].sum() < k["total"][3:12].sum()
    # and nothing else changes
    assert e["total"][:3].to_list() == k["total"][:3].to_list()


# --------------------------------------------------------------------------- market share


def test_market_share_moves_towards_the_better_prime(wp):
    sc = override(
        wp,
        {
            "providers.primes_per_area": [2, 2],
            "run.cohort_months": 36,
            "contract.market_share_shift": 0.1,
            "contract.minimum_performance_levels": [0.05, 0.2],
        },
    )
    res = sim.run(sc, n_claimants=6000, seed=11)
    prov = res.providers
    # headcount follows share between the pair; that is not a cut under financial strain
    assert _value(res.summary, "provider_adviser_cuts") == 0
    assert (
        prov.group_by("area", "month").agg(pl.col("n_advisers").sum())["n_advisers"].n_unique() <= 2
    )
    for area in (0, 1):
        rows = prov.filter(pl.col("area") == area)
        perf = (
            rows.filter(pl.col("month") < 12)
            .group_by("provider")
            .agg(pl.col("n_job_outcomes").sum() / pl.col("n_attachments").sum())
            .sort("provider")
        )
        rates = perf["n_job_outcomes"].to_list()
        best = perf["provider"][int(np.argmax(rates))]
        assert rates[0] != rates[1]
        shares = rows.filter(pl.col("month") == 13).sort("provider")
        share = dict(zip(shares["provider"], shares["market_share"], strict=True))
        assert share[best] == pytest.approx(0.6)
        assert sum(share.values()) == pytest.approx(1.0)
        # the better prime takes on more of the referrals made after the shift
        late = rows.filter((pl.col("month") >= 15) & (pl.col("month") < 24))
        n = late.group_by("provider").agg(pl.col("n_attachments").sum())
        counts = dict(zip(n["provider"], n["n_attachments"], strict=True))
        other = next(p for p in counts if p != best)
        assert counts[best] > 1.2 * counts[other]


# --------------------------------------------------------------------------- financial strain


def test_a_provider_whose_cash_runs_out_cuts_advisers(wp):
    strained = override(
        wp,
        {
            "providers.provider.strain_cash_weeks": 1000.0,
            "providers.provider.cut_fraction": 0.2,
            "providers.provider.caseload_per_adviser": 10.0,
            "providers.provider.adviser_minutes_per_week": 150.0,  # so capacity binds
        },
    )
    easy = sim.run(
        override(
            wp,
            {
                "providers.provider.caseload_per_adviser": 10.0,
                "providers.provider.adviser_minutes_per_week": 150.0,
            },
        ),
        n_claimants=2000,
        seed=8,
    )
    hard = sim.run(strained, n_claimants=2000, seed=8)
    for p, rows in hard.providers.group_by("provider"):
        heads = rows.sort("month")["n_advisers"].to_numpy()
        assert np.all(np.diff(heads) <= 0), p
    before = easy.providers.group_by("provider").agg(pl.col("n_advisers").min())
    after = hard.providers.group_by("provider").agg(pl.col("n_advisers").min())
    assert after["n_advisers"].sum() < before["n_advisers"].sum()
    assert _value(hard.summary, "provider_adviser_cuts") > 0
    assert _value(easy.summary, "provider_adviser_cuts") == 0
    # fewer advisers, less contact
    assert _value(hard.summary, "adviser_minutes_per_claimant") < _value(
        easy.summary, "adviser_minutes_per_claimant"
    )


def test_a_provider_that_runs_out_of_cash_exits_and_its_caseload_moves(wp):
    sc = override(
        wp,
        {
            "providers.primes_per_area": [2, 2, 3],
            "providers.provider.strain_cash_weeks": 60.0,
            "providers.provider.exit_cash_weeks": 50.0,
        },
    )
    out = simulate(sc, 3000, seed=9)
    for area in out.areas_built:
        exited = [p for p in area.primes if not p.live]
        # one prime leaves first; the last one standing cannot leave
        assert 1 <= len(exited) <= len(area.primes) - 1
        for p in exited:
            heir = p.successor
            while heir is not None and not heir.live:
                heir = heir.successor
            assert heir is not None and heir.live
            assert p.exit_month is not None
            assert not p.active.any()
            # nobody is taken on after the month it left
            assert p.n_attached[p.exit_month + 1 :].sum() == 0
            assert p.market_share[p.exit_month + 1 :].max() == 0.0
    journey = out.records.frame()
    # every claimant still reaches the end of follow-up, and the caseload books balance
    assert journey["horizon_at"].null_count() == 0
    total_area = sum(p.caseload_area for p in out.providers)
    assert total_area == pytest.approx(journey["caseload_days"].sum(), rel=1e-9)
    assert all(p.n_active == 0 for p in out.providers)


# --------------------------------------------------------------------------- supply chains


def _supply_chain(wp, fee: float, fee_ends: bool):
    changes = {
        "providers.subcontracting": {
            "management_fee_share": fee,
            "condition_effect_multiplier": 2.0,
            "specialist": {"policy": "needs_based", "caseload_per_adviser": 60.0},
        }
    }
    if fee_ends:  # no attachment fee from the start
        changes["contract.attachment_fee_end_month"] = wp.run.start_month
    return override(wp, changes)


def test_specialists_pay_their_prime_a_management_fee(wp):
    fee = 0.2
    res = sim.run(_supply_chain(wp, fee, fee_ends=True), n_claimants=3000, seed=12)
    prov = res.providers
    kinds = ["income_attachment_gbp", "income_outcome_gbp", "income_sustainment_gbp"]
    spec = prov.filter(pl.col("role") == "specialist")
    assert spec.height > 0
    assert prov["n_passed_on"].sum() > 0
    spec_net = spec.select(pl.sum_horizontal(kinds).sum()).item()
    fees = prov.filter(pl.col("role") == "prime")["income_management_fee_gbp"].sum()
    assert fees == pytest.approx(fee / (1.0 - fee) * spec_net, rel=1e-9)
    # the purchaser pays what the providers receive, fees included
    all_income = prov.select(pl.sum_horizontal([*kinds, "income_management_fee_gbp"]).sum()).item()
    assert all_income == pytest.approx(res.ledger["payments_gbp"].sum(), rel=1e-9)


def test_primes_pass_on_more_when_the_attachment_fee_ends(wp):
    """Subcontracting by choice: with a fee for every attachment a prime keeps claimants
    it would not serve (the fee covers their bare minimum); without it, it passes the
    furthest on for the management fee. No rule names a group."""
    kept = sim.run(_supply_chain(wp, 0.2, fee_ends=False), n_claimants=3000, seed=12)
    ended = sim.run(_supply_chain(wp, 0.2, fee_ends=True), n_claimants=3000, seed=12)
    assert ended.providers["n_passed_on"].sum() > kept.providers["n_passed_on"].sum()
    passed = ended.ledger.filter(pl.col("provider") >= 0)
    assert passed.height > 0


def _bid_chain(wp, fee: float, fee_ends: bool, planned_share: float):
    """A supply chain whose specialists staffed for ``planned_share`` of each prime's
    referrals (the bid), with 13 weeks of working capital, leaving when cash runs out."""
    return override(
        _supply_chain(wp, fee, fee_ends),
        {
            "providers.subcontracting.planned_share": planned_share,
            "providers.subcontracting.specialist.working_capital_weeks": 13.0,
            "providers.subcontracting.specialist.exit_cash_weeks": 0.0,
        },
    )


def test_a_starved_specialist_runs_down_its_cash_and_leaves(wp):
    """With the attachment fee paid for every referral and a 17.5% management fee, each
    prime keeps everyone; its specialist, staffed for 30% of the prime's referrals, gets
    none, pays its advisers from its working capital and leaves at the first month end
    with cash below zero: 13 weeks of costs last until (m + 1) months pass 13 weeks."""
    out = simulate(_bid_chain(wp, 0.175, fee_ends=False, planned_share=0.3), 3000, seed=12)
    specialists = [p for p in out.providers if p.prime is not None]
    assert specialists
    assert sum(int(p.prime.n_passed_on.sum()) for p in specialists) == 0
    weeks_per_month = DAYS_PER_MONTH / 7.0
    months_lasting = math.floor(13.0 / weeks_per_month)  # month ends with cash >= 0
    for spec in specialists:
        assert spec.n_attached.sum() == 0
        first = int(spec.first_day / DAYS_PER_MONTH)
        assert spec.exit_month == first + months_lasting
        weekly = spec.weekly_cost_gbp
        expected = weekly * (13.0 - weeks_per_month * np.arange(1, months_lasting + 2))
        assert spec.cash()[first : first + months_lasting + 1] == pytest.approx(expected)


def test_the_bid_share_sets_the_specialists_plan_not_its_referrals(wp):
    """The specialist's planned caseload is the bid's share of its prime's planned
    referrals (keyed, so the same members whatever the fees); what it is sent is the
    prime's choice at each attachment."""
    runs = [
        simulate(_bid_chain(wp, fee, ends, planned_share=0.3), 3000, seed=12)
        for fee, ends in ((0.175, False), (0.5, True))
    ]
    plans = [[p.planned.copy() for p in out.providers if p.prime is not None] for out in runs]
    assert all((a == b).all() for a, b in zip(*plans, strict=True))
    for out in runs:
        for spec in (p for p in out.providers if p.prime is not None):
            mine = spec.prime.planned | spec.planned
            share = spec.planned.sum() / mine.sum()
            assert abs(share - 0.3) < 4.0 * math.sqrt(0.3 * 0.7 / mine.sum())
    fed = runs[1]
    passed = sum(int(p.n_passed_on.sum()) for p in fed.providers if p.prime is None)
    attached = sum(int(p.n_attached.sum()) for p in fed.providers if p.prime is not None)
    assert passed == attached > 0


# --------------------------------------------------------------------------- service fees


@pytest.fixture(scope="module")
def pathways_fees():
    """Provider-led Pathways with its service fee tied to activities: a fee per attended
    WFI for the first six, and one per CMP start (pathways_provider.toml)."""
    sc = load_scenario(SCENARIOS / "pathways_provider.toml")
    return sc, sim.run(sc, n_claimants=1500, seed=4)


def test_service_fees_are_paid_for_the_activity(pathways_fees):
    """Each claimant's service fees are the interview fee for each attended provider
    interview up to the paid number, plus the intervention fee for each CMP start; the
    providers' books hold the same sums, and payments add every kind of fee."""
    sc, res = pathways_fees
    led = res.ledger.filter(pl.col("attached_at").is_not_null())
    minutes = sc.providers.provider.interview_minutes
    groups = sc.contract.groups
    fee = pl.col("group").replace_strict({k: g.interview_fee_gbp for k, g in groups.items()})
    paid = pl.col("group").replace_strict({k: g.max_paid_interviews for k, g in groups.items()})
    cmp_fee = next(iv.service_fee_gbp for iv in sc.interventions if iv.name == "cmp")
    n_prov = (pl.col("adviser_minutes") / minutes).round(0)  # provider interviews attended
    expected = fee * pl.min_horizontal(n_prov, paid) + cmp_fee * pl.col("n_interventions")
    got = led.select(pl.col("service_fees_gbp"), expected.alias("expected"))
    np.testing.assert_allclose(got["service_fees_gbp"], got["expected"], rtol=1e-12)
    assert (led["adviser_minutes"] > 6 * minutes).any() and (led["n_interventions"] > 0).any()
    books = res.providers["income_service_gbp"].sum()
    assert books == pytest.approx(res.ledger["service_fees_gbp"].sum(), rel=1e-12)
    parts = ["attachment_fee_gbp", "outcome_fee_gbp", "sustainment_fees_gbp", "service_fees_gbp"]
    np.testing.assert_allclose(
        res.ledger["payments_gbp"], res.ledger.select(pl.sum_horizontal(parts).alias("x"))["x"]
    )


def test_interview_fees_buy_the_paid_interviews(pathways_fees):
    """A fee per WFI above the cost of its minutes makes the paid interviews worth
    delivering: with the same prices as an attachment fee instead, a payment-maximising
    provider gives its claimants fewer of the first six interviews (CRN: same seed)."""
    sc, _ = pathways_fees
    provider = {"policy": "payment_maximising"}
    by_activity = override(sc, {"providers.provider": provider})
    by_attachment = override(
        by_activity,
        {
            f"contract.groups.{name}": {
                "attachment_fee_gbp": 6 * g.interview_fee_gbp,
                "interview_fee_gbp": 0.0,
                "max_paid_interviews": 0,
            }
            for name, g in sc.contract.groups.items()
        },
    )
    minutes = sc.providers.provider.interview_minutes

    def first_six(sc_):
        led = sim.run(sc_, n_claimants=1500, seed=4).ledger
        n = (led["adviser_minutes"] / minutes).round(0).clip(upper_bound=6)
        return float(n.mean())

    assert first_six(by_activity) > first_six(by_attachment)


# --------------------------------------------------------------------------- sanctions


def test_the_ladder_is_the_one_in_force_on_the_day_of_the_failure(wp):
    """JSA before October 2012: 2 weeks; from it: 4 weeks (SA03, SA02)."""
    sc = one_failure(
        wp,
        sanctions__decision_days=14.0,
        run__start_month="2012-04",
        sanctions__regime_changes=[
            {"from_month": "2012-10", "ladder_jsa": "jsa_2012_lower", "ladder_esa": "esa_2012"}
        ],
    )
    res = sim.run(sc, n_claimants=40, seed=5, event_log=True)
    change = 6 * DAYS_PER_MONTH
    seen = set()
    for row in res.ledger.iter_rows(named=True):
        f = times_of(res.events, row["claimant_id"], "fta")[0]
        weeks = 4.0 if f >= change else 2.0
        seen.add(weeks)
        assert_close(row["days_sanctioned"], 7.0 * weeks)
    assert seen == {2.0, 4.0}


def test_hardship_pays_its_share_of_the_sanction_after_the_wait(wp):
    sc = one_failure(
        wp,
        sanctions__decision_days=14.0,
        sanctions__hardship={"p_claim": 1.0, "after_days": 3.0, "fraction_of_sanction": 0.6},
    )
    res = sim.run(sc, n_claimants=12, seed=5)
    for row in res.ledger.iter_rows(named=True):
        spell = 14.0
        hardship = 0.6 * (spell - 3.0) * JSA_DAILY
        assert_close(row["hardship_paid_gbp"], hardship)
        expected = JSA_DAILY * (row["days_on_benefit"] - spell) + hardship
        assert_close(row["benefit_paid_gbp"], expected)


def test_failures_at_voluntary_interviews_are_not_referred(wp):
    sc = one_failure(
        wp,
        sanctions__decision_days=14.0,
        attendance__p_attend=0.3,
        attendance__logit_per_prior_fta=0.0,
        jcp__n_mandatory_interviews=3,
    )
    res = sim.run(sc, n_claimants=30, seed=6, event_log=True)
    n_late = 0
    for row in res.ledger.iter_rows(named=True):
        i, r = row["claimant_id"], row["referred_at"]
        third = r + 3 * 14.0
        refs = times_of(res.events, i, "sanction_referral")
        assert np.all(refs <= third + 1e-9), i
        n_late += int(np.sum(times_of(res.events, i, "fta") > third + 1e-9))
    assert n_late > 100  # plenty of failures later on, none referred


# --------------------------------------------------------------------------- interview phases


def _pathways_calendar(r: float, horizon: float) -> list[float]:
    """Six interviews from day r + 56 every 28 days, then every 182 days to the horizon."""
    out = [r + 56.0 + 28.0 * j for j in range(6)]
    t = out[-1] + 182.0
    while t < horizon:
        out.append(t)
        t += 182.0
    return out


def _pathways_jcp(wp, **overrides: object):
    """Bare JCP offer with Pathways' phases: six interviews from day 56 every 28, then 182."""
    return bare(
        wp,
        employment__entry_rate_per_day=TINY_RATE,
        jcp__first_interview_days=56.0,
        jcp__interview_interval_days=28.0,
        jcp__n_interviews=6,
        jcp__interval_after_days=182.0,
        **overrides,
    )


def test_jcp_interview_phases_follow_the_schedule(wp):
    """Pathways' JCP offer: six WFIs from week 8 at four-week intervals, then every 26 weeks."""
    sc = _pathways_jcp(wp)
    res = sim.run(sc, n_claimants=5, seed=2, event_log=True)
    for row in res.ledger.iter_rows(named=True):
        got = times_of(res.events, row["claimant_id"], "interview")
        expected = _pathways_calendar(row["referred_at"], row["horizon_at"])
        np.testing.assert_allclose(got, expected, atol=1e-9)


# --------------------------------------------------------------------------- interventions


def _intervention(wp, rate: float, **iv: object):
    spec = {"name": "placement", "delivered_by": "jcp", "start_after_days": 0.0, **iv}
    return bare(wp, employment__entry_rate_per_day=rate, interventions=[spec])


def test_lock_in_stops_job_entry_while_on_the_intervention(wp):
    sc = _intervention(wp, 0.02, duration_days=100.0, entry_multiplier_during=0.0)
    led = sim.run(sc, n_claimants=500, seed=3).ledger
    wait = (led["first_job_at"] - led["referred_at"]).to_numpy()
    assert np.nanmin(wait) >= 100.0 - 1e-9
    assert (led["n_interventions"] == 1).all()


def test_completing_the_intervention_moves_the_hazard_as_its_distance_change_says(wp):
    """Constant hazard r, halved distance-change: after completion at D the hazard is 2r,
    so P(no job by t) = exp(-r D - 2 r (t - D)) for t > D."""
    r, d = 0.004, 60.0
    sc = _intervention(wp, r, duration_days=d, distance_change=-math.log(2.0))
    led = sim.run(sc, n_claimants=6000, seed=4).ledger
    wait = (led["first_job_at"] - led["referred_at"]).fill_null(1e9).to_numpy()
    for t in (30.0, 150.0, 300.0):
        expected = math.exp(-r * t) if t <= d else math.exp(-r * d - 2.0 * r * (t - d))
        got = float(np.mean(wait > t))
        se = math.sqrt(expected * (1.0 - expected) / len(wait))
        assert abs(got - expected) < 4.0 * se, (t, got, expected)


def test_daily_signing_raises_failures_and_sanctions(wp):
    common = {
        "attendance__p_attend": 0.97,
        "sanctions__enabled": True,
        "employment__entry_rate_per_day": 0.002,
    }
    plain = bare(wp, **common)
    daily = bare(
        wp,
        **common,
        interventions=[
            {
                "name": "dwsr",
                "delivered_by": "jcp",
                "duration_days": 91.0,
                "interview_interval_days": 1.0,
                "interview_minutes": 5.0,
                "cost_gbp": 100.0,
            }
        ],
    )
    a = sim.run(plain, n_claimants=1000, seed=5).ledger
    b = sim.run(daily, n_claimants=1000, seed=5).ledger
    assert b["n_fta"].sum() > 1.3 * a["n_fta"].sum()
    # ... but less than in proportion to contacts: each daily contact is less often missed
    per_contact = [x["n_fta"].sum() / (x["n_fta"].sum() + x["n_interviews"].sum()) for x in (a, b)]
    assert per_contact[1] < 0.5 * per_contact[0]
    assert b["n_sanctions"].sum() > a["n_sanctions"].sum()
    assert b["intervention_cost_gbp"].sum() == pytest.approx(100.0 * b["n_interventions"].sum())


def test_a_programme_intervention_is_the_providers_cost(wp):
    sc = override(
        wp,
        {
            "interventions": [
                {
                    "name": "cmp",
                    "needs_condition": True,
                    "p_take_up": 0.5,
                    "start_after_days": 56.0,
                    "duration_days": 91.0,
                    "distance_change": -0.2,
                    "cost_gbp": 300.0,
                }
            ]
        },
    )
    res = sim.run(sc, n_claimants=2000, seed=6)
    started = res.ledger["n_interventions"].sum()
    assert started > 50
    assert res.providers["cost_interventions_gbp"].sum() == pytest.approx(300.0 * started)
    assert res.ledger["intervention_cost_gbp"].sum() == 0.0
    # only claimants with a condition who attached
    took = res.ledger.filter(pl.col("n_interventions") > 0)
    assert (took["condition"] != "none").all() and took["attached_at"].null_count() == 0


# --------------------------------------------------------------------------- trial arms


def test_trial_arms_are_randomised_and_paired(wp):
    arms = {
        "intensive": {"share": 0.5, "jcp": {"interview_interval_days": 7.0}},
        "control": {"share": 0.5},
    }
    trial = bare(wp, employment__entry_rate_per_day=0.003, arms=arms)
    all_control = override(trial, {"arms.intensive.share": 0.0, "arms.control.share": 1.0})
    a = sim.run(trial, n_claimants=2000, seed=7)
    b = sim.run(all_control, n_claimants=2000, seed=7)
    share = (a.ledger["arm"] == "intensive").mean()
    assert 0.45 < share < 0.55
    assert (b.ledger["arm"] == "control").all()
    # control-arm claimants of the trial have exactly their records in the all-control run
    ctrl = a.ledger.filter(pl.col("arm") == "control").drop("arm")
    same = b.ledger.filter(pl.col("claimant_id").is_in(ctrl["claimant_id"].implode())).drop("arm")
    assert ctrl.equals(same)
    # summary by arm
    minutes = _value(a.summary, "n_referrals", "arm=intensive")
    assert minutes == pytest.approx(share * 2000)


def test_the_jcp_calendar_resumes_after_an_intervention_that_replaced_it(wp):
    """Daily signing for 30 days from referral, then the Pathways-style offer goes on where its
    calendar has got to: no restart of the six interviews."""
    sc = _pathways_jcp(
        wp,
        interventions=[
            {
                "name": "daily",
                "delivered_by": "jcp",
                "duration_days": 30.0,
                "interview_interval_days": 1.0,
            }
        ],
    )
    res = sim.run(sc, n_claimants=4, seed=2, event_log=True)
    for row in res.ledger.iter_rows(named=True):
        r = row["referred_at"]
        daily = [r + 1.0 * j for j in range(1, 30)]
        got = times_of(res.events, row["claimant_id"], "interview")
        expected = daily + _pathways_calendar(r, row["horizon_at"])
        np.testing.assert_allclose(got, expected, atol=1e-9)
