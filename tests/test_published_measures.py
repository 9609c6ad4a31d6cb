"""Measures computed as published for the New Deals and the sanction regimes (issue 14).

Each measure is checked against a hand count on a small hand-built ledger: sanction
referrals per claimant-month (SA05, SA12), referral-to-sanction conversion (SA11),
sanctions per sanctioned claimant (SA15), New Deal leavers' sustained-job shares by
stage and to date (ND01, ND02, ND04), first-exit destinations (RT05) and any spell off
benefit within a window (WP54).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import polars as pl
import pytest

from calibration.mapping import (
    MEASURES,
    Moment,
    first_exit_share,
    first_exits,
    leaver_sustained_job_share,
    measure,
    off_benefit_spell_rate,
    programme_stages,
    referral_sanction_conversion,
    sanction_referrals_per_claimant_month,
    sanctions_per_claimant_month,
    sanctions_per_sanctioned_claimant,
)
from calibration.objective import Objective
from calibration.spec import ObjectiveSettings
from calibration.targets import REQUIRED_COLUMNS, load_targets
from sim.contract import DAYS_PER_MONTH
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
NDYP = ROOT / "scenarios" / "ndyp.toml"
NDYP_JCP = ROOT / "scenarios" / "ndyp_jcp_offer.toml"
WP = ROOT / "scenarios" / "work_programme.toml"
NONE = None


def _ledger() -> pl.DataFrame:
    """Eight NDYP-like referrals: attached on day 10 (the Gateway to day 122, the option
    to day 304, the programme to day 402), followed to day 730.

    0 job on day 50 (Gateway), no repeat claim: sustained
    1 job on day 80 (Gateway), claims again 91 days later: not sustained
    2 stops claiming on day 60 (Gateway)
    3 job on day 200 (option), claims again on day 400: sustained
    4 claim closed after a missed signing on day 150 (option), job on day 170
    5 never attached, job on day 30
    6 job on day 500, after the programme ended
    7 never leaves benefit
    """
    d = DAYS_PER_MONTH
    return pl.DataFrame(
        {
            "claimant_id": list(range(8)),
            "group": ["jsa_18_24"] * 8,
            "referred_at": [0.0] * 8,
            "attached_at": [10.0, 10.0, 10.0, 10.0, 10.0, NONE, 10.0, 10.0],
            "programme_end_at": [402.0] * 8,
            "horizon_at": [730.0] * 8,
            "first_job_at": [50.0, 80.0, NONE, 200.0, 170.0, 30.0, 500.0, NONE],
            "offflow_at": [NONE, NONE, 60.0, NONE, 150.0, NONE, NONE, NONE],
            "offflow_reason": [0, 0, 1, 0, 2, 0, 0, 0],
            "first_reclaim_at": [NONE, 171.0, NONE, 400.0, NONE, NONE, NONE, NONE],
            "days_on_benefit": [10 * d, 5 * d, 5 * d, 0.0, 0.0, 0.0, 0.0, 0.0],
            "n_sanction_referrals": [4, 0, 2, 0, 1, 0, 0, 3],
            "n_sanctions": [3, 0, 1, 0, 0, 0, 0, 1],
        }
    )


def test_sanction_referrals_share_the_sanction_rates_denominator() -> None:
    """10 referrals and 5 sanctions over 20 claimant-months on benefit."""
    led = _ledger()
    refs = sanction_referrals_per_claimant_month(led)
    sanc = sanctions_per_claimant_month(led)
    assert refs.value == pytest.approx(10 / 20)
    assert sanc.value == pytest.approx(5 / 20)
    assert refs.n == sanc.n == pytest.approx(20.0)
    assert refs.se > 0.0
    assert math.isnan(sanction_referrals_per_claimant_month(led.head(0)).value)


def test_conversion_is_adverse_decisions_over_referrals() -> None:
    m = referral_sanction_conversion(_ledger())
    assert m.value == pytest.approx(5 / 10)
    assert m.n == 10.0
    assert m.se >= math.sqrt(0.5 * 0.5 / 10) - 1e-12
    assert math.isnan(referral_sanction_conversion(_ledger().head(2).tail(1)).value)


def test_sanctions_per_sanctioned_claimant() -> None:
    """Claimants 0, 2 and 7 were sanctioned: 3, 1 and 1 times."""
    m = sanctions_per_sanctioned_claimant(_ledger())
    assert m.value == pytest.approx(5 / 3)
    assert m.n == 3.0
    sd = math.sqrt(((3 - 5 / 3) ** 2 + 2 * (1 - 5 / 3) ** 2) / 2)
    assert m.se == pytest.approx(max(sd, 1.0) / math.sqrt(3))
    assert math.isnan(sanctions_per_sanctioned_claimant(_ledger()[4:7]).value)


def test_first_exits() -> None:
    ex = first_exits(_ledger())
    assert ex["exit_at"].to_list() == [50.0, 80.0, 60.0, 200.0, 150.0, 30.0, 500.0, None]
    assert ex["exit_to_job"].to_list() == [True, True, False, True, False, True, True, False]
    # 1 claims again exactly 91 days after its job started: not sustained
    assert ex["exit_sustained"].to_list() == [True, False, False, True, False, True, True, False]


def test_leavers_by_stage_and_to_date() -> None:
    led = _ledger()
    gateway = leaver_sustained_job_share(led, (0.0, 112.0))  # leavers 0, 1, 2
    assert gateway.value == pytest.approx(1 / 3)
    assert gateway.n == 3.0
    option = leaver_sustained_job_share(led, (112.0, 294.0))  # leavers 3, 4
    assert option.value == pytest.approx(1 / 2)
    assert option.n == 2.0
    every = leaver_sustained_job_share(led)  # 5 never attached, 6 left after the programme
    assert every.value == pytest.approx(2 / 5)
    assert every.n == 5.0
    assert leaver_sustained_job_share(led, before_day=61.0).value == pytest.approx(1 / 2)
    # a leaver with less than 13 weeks of follow-up after leaving is not counted
    short = led.with_columns(horizon_at=pl.lit(150.0))
    assert leaver_sustained_job_share(short).n == 1.0  # only 0 (80 + 91, 60 + 91 > 150)


def test_first_exit_destinations_and_spells_off_benefit() -> None:
    led = _ledger()
    assert first_exit_share(led, "job").value == pytest.approx(5 / 7)
    assert first_exit_share(led, "failed_to_sign").value == pytest.approx(1 / 7)
    with pytest.raises(ValueError, match="unknown destination"):
        first_exit_share(led, "prison")
    # starters: everyone but 5; first exits by day 100: 0, 1, 2; by day 200: and 3, 4
    assert off_benefit_spell_rate(led, 100.0).value == pytest.approx(3 / 7)
    assert off_benefit_spell_rate(led, 200.0).value == pytest.approx(5 / 7)


def _targets_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    base = {
        "target_id": "ND",
        "programme": "NDYP",
        "population": "all",
        "cohort": "all",
        "horizon_months": "",
        "measure": "leaver_sustained_job_share_gateway",
        "value": "43.6",
        "unit": "percent",
        "exactness": "rounded",
        "low": "",
        "high": "",
        "scenario": "ndyp",
        "weight": "1",
        "source": "test",
        "notes": "",
    }
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(REQUIRED_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows([base | r for r in rows])
    return path


def test_stage_measures_take_the_stages_from_the_scenario(tmp_path: Path) -> None:
    nd = load_scenario(NDYP)
    assert programme_stages(nd) == {
        "gateway": (0.0, 112.0),
        "option": (112.0, 294.0),
        "all": (0.0, math.inf),
    }
    rows = [
        {"target_id": "G"},
        {"target_id": "O", "measure": "leaver_sustained_job_share_option"},
        {"target_id": "E", "measure": "leaver_sustained_job_share_to_date"},
        {"target_id": "E2", "measure": "leaver_sustained_job_share_to_date"}
        | {"cohort": "1999-04..1999-05"},
    ]
    targets = load_targets(_targets_csv(tmp_path / "t.csv", rows), {nd.name: nd})
    led = _ledger()
    got = {t.target_id: MEASURES[t.measure](t, led, nd).value for t in targets}
    assert got["G"] == pytest.approx(1 / 3)
    assert got["O"] == pytest.approx(1 / 2)
    assert got["E"] == pytest.approx(2 / 5)  # the run's 24 months: every leaver
    # leavers by the end of 1999-05 (day 60.875): 0 (day 50, sustained) and 2 (day 60)
    assert got["E2"] == pytest.approx(1 / 2)


def test_stage_and_programme_measures_are_refused_where_they_cannot_be_computed(
    tmp_path: Path,
) -> None:
    nd, jcp, wp = load_scenario(NDYP), load_scenario(NDYP_JCP), load_scenario(WP)
    scenarios = {nd.name: nd, jcp.name: jcp, wp.name: wp}
    rows = [
        {"target_id": "A", "scenario": "ndyp_jcp_offer"},  # leavers of the programme only
        {"target_id": "A2", "scenario": "work_programme"},  # no option after a Gateway
        {"target_id": "B", "measure": "sanctions_per_sanctioned_claimant"},  # unit
        {"target_id": "C", "measure": "off_benefit_spell_rate"},  # needs a horizon
    ]
    with pytest.raises(ScenarioError) as err:
        load_targets(_targets_csv(tmp_path / "t.csv", rows), scenarios)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "cannot produce it" in text
    assert "has no stages" in text
    assert "is given in per_claimant" in text
    assert "needs a horizon" in text


def test_the_objective_scales_each_kind_of_measures_simulation_se(tmp_path: Path) -> None:
    """A mean per claimant keeps the start point's se; a referral rate is scaled as a
    Poisson se to the published rate, as the sanction rate is."""
    jcp = load_scenario(NDYP_JCP)
    rows = [
        {"target_id": "M", "measure": "sanctions_per_sanctioned_claimant"}
        | {"unit": "per_claimant", "value": "1.81", "scenario": "ndyp_jcp_offer"},
        {"target_id": "R", "measure": "sanction_referrals_per_claimant_month"}
        | {"unit": "percent", "value": "12", "scenario": "ndyp_jcp_offer"},
    ]
    targets = load_targets(_targets_csv(tmp_path / "t.csv", rows), {jcp.name: jcp})
    start = {targets[0].key: Moment(1.5, 0.05, 100.0), targets[1].key: Moment(0.06, 0.002, 1e4)}
    obj = Objective.at_start(targets, start, ObjectiveSettings(model_sd_relative=0.0))
    rounding_sd = 0.01 / math.sqrt(12.0)
    assert obj.sd[0] == pytest.approx(math.hypot(rounding_sd, 0.05))
    # "12" percent is rounded to 1 point: the same 0.01 / sqrt(12) in model units
    assert obj.sd[1] == pytest.approx(math.hypot(rounding_sd, 0.002 * math.sqrt(2.0)))


SVLTU = ROOT / "scenarios" / "svltu.toml"


def test_a_trial_arm_population_selects_that_arms_referrals(tmp_path: Path) -> None:
    """``arm:NAME`` restricts a target to one arm (SVLTU's arms are held-out checks)."""
    sv = load_scenario(SVLTU)
    base = {"scenario": "svltu", "measure": "job_entry_rate", "horizon_months": "6"}
    rows = [
        base | {"target_id": "O", "population": "arm:ocm"},
        base | {"target_id": "C", "population": "jsa_completers+arm:cap+arm:control"},
        base | {"target_id": "A", "population": "all"},
    ]
    targets = load_targets(_targets_csv(tmp_path / "t.csv", rows), {sv.name: sv})
    assert [t.arms for t in targets] == [("ocm",), ("cap", "control"), ()]
    d = DAYS_PER_MONTH
    led = pl.DataFrame(
        {
            "group": ["jsa_completers"] * 6,
            "arm": ["ocm", "ocm", "cap", "cap", "control", "control"],
            "referred_at": [0.0] * 6,
            # jobs: ocm one of two, cap none, control both (one after 6 months)
            "first_job_at": [30.0, NONE, NONE, NONE, 10.0, 7 * d],
        }
    )
    got = {t.target_id: measure(t, led, sv).value for t in targets}
    assert got == {"O": 0.5, "C": pytest.approx(1 / 4), "A": pytest.approx(2 / 6)}


def test_an_arm_the_scenario_lacks_is_one_line(tmp_path: Path) -> None:
    sv, wp = load_scenario(SVLTU), load_scenario(WP)
    rows = [
        {"target_id": "X", "scenario": "svltu", "population": "arm:placebo"},
        {"target_id": "Y", "scenario": "work_programme", "population": "all+arm:ocm"},
    ]
    rows = [r | {"measure": "job_entry_rate", "horizon_months": "6"} for r in rows]
    with pytest.raises(ScenarioError) as err:
        load_targets(_targets_csv(tmp_path / "t.csv", rows), {sv.name: sv, wp.name: wp})
    text = [str(p) for p in err.value.problems]
    assert any(
        "row 2 (X), column population = 'arm:placebo'" in m
        and "no trial arm 'placebo'; valid: arm:ocm, arm:cap, arm:control" in m
        for m in text
    )
    assert any("(Y), column population = 'all+arm:ocm'" in m and "no trial arms" in m for m in text)
