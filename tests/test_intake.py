"""Whole-programme intake: the payment-group mix by calendar period, drawn per referral.

A referral's group comes from the mix in force in its referral month, with one keyed
uniform per referral whatever the mix, so a mix that repeats the groups' shares draws
exactly the population drawn without periods (common random numbers).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config import month_index
from sim.population import build_population
from sim.rng import Streams
from sim.scenario import override

N = 40_000


def _mix(wp, periods):
    return override(wp, {"run.cohort_months": 24, "population.mix_by_period": periods})


def test_a_mix_that_repeats_the_shares_draws_the_same_population(wp):
    base = override(wp, {"run.cohort_months": 24})
    shares = {name: g.share for name, g in wp.population.groups.items()}
    same = _mix(wp, [{"from_month": "2012-01", "shares": shares}])
    a = build_population(base, 5000, Streams(3, 0))
    b = build_population(same, 5000, Streams(3, 0))
    np.testing.assert_array_equal(a.group, b.group)
    np.testing.assert_array_equal(a.referred_at, b.referred_at)
    np.testing.assert_array_equal(a.distance, b.distance)


def test_groups_follow_the_mix_in_force_in_the_referral_month(wp):
    """Before the first period the groups' shares; from it, its mix (a group it does not
    name gets nobody); each share within 4 binomial SDs."""
    names = list(wp.population.groups)
    only_two = {names[0]: 3.0, names[1]: 1.0}
    sc = _mix(wp, [{"from_month": "2012-06", "shares": only_two}])
    pop = build_population(sc, N, Streams(11, 0))
    month = np.floor(pop.referred_at / (365.25 / 12.0)).astype(int)
    switch = month_index("2012-06") - month_index(sc.run.start_month)
    before, after = month < switch, month >= switch
    assert before.any() and after.any()
    assert set(np.unique(pop.group[after]).tolist()) == {0, 1}
    p0 = float(np.mean(pop.group[after] == 0))
    n_after = int(after.sum())
    assert abs(p0 - 0.75) < 4.0 * math.sqrt(0.75 * 0.25 / n_after)
    for k, name in enumerate(names):
        share = wp.population.groups[name].share
        got = float(np.mean(pop.group[before] == k))
        assert abs(got - share) < 4.0 * math.sqrt(share * (1 - share) / before.sum()) + 1e-12


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        (
            [{"from_month": "2012-06", "shares": {"nobody": 1.0}}],
            "unknown group(s) ['nobody']",
        ),
        (
            [
                {"from_month": "2013-01", "shares": {"jsa_25_plus": 1.0}},
                {"from_month": "2012-01", "shares": {"jsa_25_plus": 1.0}},
            ],
            "from_month must increase",
        ),
        ([{"from_month": "2012-06", "shares": {"jsa_25_plus": 0.0}}], "must not all be zero"),
    ],
)
def test_a_bad_mix_is_refused_naming_it(wp, periods, message):
    with pytest.raises(Exception, match=None) as info:
        _mix(wp, periods)
    assert message in str(info.value)


def test_the_whole_programme_intake_keeps_the_published_volumes():
    """wp_whole_programme.toml: 70 monthly cohorts whose weights give WP20's 785,360
    referrals in the first 12 months, WP14's 877,880 in 14 and WP18's 1.95 million."""
    from conftest import SCENARIOS

    from sim.scenario import load_scenario

    sc = load_scenario(SCENARIOS / "wp_whole_programme.toml")
    w = np.asarray(sc.run.referral_weights)
    assert sc.run.cohort_months == len(w) == 70
    assert month_index(sc.run.start_month) + 69 == month_index("2017-03")
    scale = 1.95e6 / w.sum()
    assert w[:12].sum() * scale == pytest.approx(785_360, rel=1e-3)
    assert w[:14].sum() * scale == pytest.approx(877_880, rel=1e-3)


def test_the_joint_spec_loads_every_programme():
    from conftest import ROOT

    from calibration.spec import load_spec

    cal = load_spec(ROOT / "calibration" / "joint.toml")
    names = {cal.for_programme(k).scenario.name for k in range(len(cal.others) + 1)}
    assert names == {
        "wp_whole_programme",
        "pathways_provider",
        "svltu",
        "ndyp",
        "nd25plus",
        "wp_sanctions_pre_2012",
        "wp_sanctions_2012",
        "work_programme",  # no targets: the fit writes its calibrated scenarios only
        "help_to_work",  # no targets, as work_programme
    }
    targeted = {t.scenario for t in cal.targets}
    assert not targeted & {"work_programme", "jcp_offer", "help_to_work", "htw_jcp_offer"}
    assert {t.scenario for t in cal.targets} <= set(cal.scenarios())
    shared = next(p for p in cal.parameters if p.name == "unemployment_elasticity")
    for k in range(len(cal.others) + 1):
        view = cal.for_programme(k)
        [param] = [p for p in view.parameters if p.name == shared.name]
        assert param.keys == ("labour_market.unemployment_elasticity",)
        assert view.scenario.labour_market.series == "uk_unemployment_rate"
