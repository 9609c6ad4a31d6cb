"""Calibration: targets and spec validation, mapping, objective, ABC, recovery, resume.

The recovery tests run a small scenario (2 areas, 3 referral months, 500 claimants)
in this process: targets are simulated from known parameters, then calibrated from
another start. Both use the same seed (common random numbers), so the known
parameters are the exact minimum and the test checks that the optimiser and ABC find
them; a different seed would add target noise that one realisation cannot test.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from calibration.abc import abc_pmc
from calibration.cli import CalibrationResult, calibrate
from calibration.evaluate import Evaluator, area_shards, make_executor
from calibration.mapping import (
    MEASURES,
    Moment,
    attachment_rate,
    combine,
    first_job_loss_share,
    job_entry_rate,
    job_outcome_rate,
    job_outcome_share_to_date,
    sanctions_per_claimant_month,
    select,
    sustained_share,
)
from calibration.objective import Objective
from calibration.report import FIT_COLUMNS
from calibration.spec import AbcSettings, ObjectiveSettings, Parameter, expand_key, load_spec
from calibration.targets import MEASURE_RULES, load_targets
from sim.contract import DAYS_PER_MONTH
from sim.hazards import StepHazard
from sim.rng import Streams
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
WP = ROOT / "scenarios" / "work_programme.toml"
JCP = ROOT / "scenarios" / "jcp_offer.toml"
SPEC = ROOT / "calibration" / "work_programme.toml"

TRUTH = {"entry_rate": 0.004, "job_loss_rate": 0.004, "p_refer": 0.4}
START = {"entry_rate": 0.002, "job_loss_rate": 0.0015, "p_refer": 0.8}

# --------------------------------------------------------------------------- helpers

BASE_ROW = {
    "target_id": "T1",
    "label": "outcome 24m",
    "programme": "Work Programme",
    "population": "all",
    "cohort": "all",
    "period": "test",
    "horizon_months": "24",
    "measure": "job_outcome_rate",
    "value": "30.0",
    "unit": "percent",
    "exactness": "rounded",
    "low": "",
    "high": "",
    "scenario": "work_programme",
    "weight": "1",
    "source": "test",
    "notes": "",
}


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    cols = columns or list(BASE_ROW)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Any]:
    wp, jcp = load_scenario(WP), load_scenario(JCP)
    return {wp.name: wp, jcp.name: jcp}


def problems_of(err: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return [str(p) for p in err.value.problems]


# --------------------------------------------------------------------------- targets


def test_shipped_spec_and_targets_load() -> None:
    cal = load_spec(SPEC)
    assert 6 <= len(cal.targets) <= 12
    names = {p.name for p in cal.parameters}
    assert {"entry_rate", "distance_sd", "adviser_effect", "job_loss_rate", "p_attend"} <= names
    sd = next(p for p in cal.parameters if p.name == "distance_sd")
    assert len(sd.keys) == len(cal.scenario.population.groups)
    lm = next(p for p in cal.parameters if p.name == "unemployment_elasticity")
    assert lm.keys == ("labour_market.unemployment_elasticity",)
    assert all(t.source for t in cal.targets)


def test_targets_missing_column(tmp_path: Path, scenarios: dict[str, Any]) -> None:
    cols = [c for c in BASE_ROW if c != "unit"]
    path = write_csv(tmp_path / "t.csv", [BASE_ROW], cols)
    with pytest.raises(ScenarioError) as err:
        load_targets(path, scenarios)
    (msg,) = problems_of(err)
    assert str(path) in msg and "column unit" in msg and "missing" in msg


def test_targets_unknown_unit_population_measure(tmp_path: Path, scenarios: dict[str, Any]) -> None:
    rows = [
        BASE_ROW | {"target_id": "A", "unit": "pct"},
        BASE_ROW | {"target_id": "B", "population": "jsa_18_24+martians"},
        BASE_ROW | {"target_id": "C", "measure": "happiness_index"},
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(ScenarioError) as err:
        load_targets(path, scenarios)
    msgs = problems_of(err)
    assert any("row 2 (A), column unit = 'pct'" in m and "unknown unit" in m for m in msgs)
    assert any(
        "row 3 (B), column population = 'jsa_18_24+martians'" in m and "'martians'" in m
        for m in msgs
    )
    assert any("row 4 (C), column measure = 'happiness_index'" in m for m in msgs)
    assert all(m.startswith(str(path)) for m in msgs)


def test_targets_other_checks(tmp_path: Path, scenarios: dict[str, Any]) -> None:
    rows = [
        BASE_ROW | {"target_id": "A", "scenario": "jcp_offer", "measure": "attachment_rate"},
        BASE_ROW | {"target_id": "B", "exactness": "range", "low": "40", "high": "50"},
        BASE_ROW | {"target_id": "C", "cohort": "2013-01", "horizon_months": "12"},
        BASE_ROW | {"target_id": "D", "measure": "sanctions_per_claimant_month"},
        BASE_ROW | {"target_id": "D", "unit": "per_claimant_month"},
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(ScenarioError) as err:
        load_targets(path, scenarios)
    text = "\n".join(problems_of(err))
    assert "cannot produce it" in text  # attachment under the JCP regime
    assert "must lie in the range" in text
    assert "monthly cohorts" in text
    assert "takes no horizon" in text
    assert "duplicate of row" in text
    assert "is given in percent or proportion" in text


def test_target_intervals_and_sds(tmp_path: Path, scenarios: dict[str, Any]) -> None:
    rows = [
        BASE_ROW | {"target_id": "R", "value": "36.4"},
        BASE_ROW | {"target_id": "G", "exactness": "range", "value": "60", "low": "60"},
        BASE_ROW | {"target_id": "B", "exactness": "about", "value": "5"},
    ]
    r, g, b = load_targets(write_csv(tmp_path / "t.csv", rows), scenarios)
    assert r.model_interval() == pytest.approx((0.364, 0.364))
    assert r.published_sd() == pytest.approx(0.001 / math.sqrt(12))
    assert g.model_interval() == (pytest.approx(0.6), math.inf)
    assert b.published_sd() == pytest.approx(0.005)


# --------------------------------------------------------------------------- spec


def _spec_text(**over: str) -> str:
    params = over.pop(
        "params",
        """
[parameters.entry_rate]
keys = ["employment.entry_rate_per_day"]
lower = 0.001
upper = 0.02
scale = "log"
prior = "loguniform"
start = 0.003
reason = "r"
""",
    )
    head = {
        "name": '"t"',
        "targets": f'"{ROOT / "calibration" / "targets.csv"}"',
        "scenario": f'"{WP}"',
        "counterfactual": f'"{JCP}"',
        "claimants": "100",
        "seed": "1",
    } | over
    return "\n".join(f"{k} = {v}" for k, v in head.items()) + "\n" + params


def test_spec_unknown_parameter_key(tmp_path: Path) -> None:
    params = """
[parameters.x]
keys = ["employment.entry_rate_per_dya"]
lower = 0.001
upper = 0.02
start = 0.003
reason = "r"
"""
    path = tmp_path / "s.toml"
    path.write_text(_spec_text(params=params))
    with pytest.raises(ScenarioError) as err:
        load_spec(path)
    (msg,) = problems_of(err)
    assert msg.startswith(f"{path}: parameters.x.keys[0] = 'employment.entry_rate_per_dya'")
    assert "names nothing" in msg and "did you mean 'entry_rate_per_day'" in msg


def test_spec_bad_bounds_and_settings(tmp_path: Path) -> None:
    params = """
[parameters.p]
keys = ["attendance.p_attend"]
lower = 0.5
upper = 1.2
start = 0.9
reason = "r"

[parameters.q]
keys = ["sanctions.p_refer"]
lower = 0.0
upper = 1.0
scale = "log"
start = 0.5
reason = "r"
"""
    path = tmp_path / "s.toml"
    path.write_text(_spec_text(params=params, claimants='"many"'))
    with pytest.raises(ScenarioError) as err:
        load_spec(path)
    (msg,) = problems_of(err)
    assert "claimants = 'many'" in msg
    path.write_text(_spec_text(params=params))
    with pytest.raises(ScenarioError) as err:
        load_spec(path)
    text = "\n".join(problems_of(err))
    assert "parameters.p.upper = 1.2: gives an invalid scenario: attendance.p_attend" in text
    assert "parameters.q.lower = 0.0: a log scale or loguniform prior needs > 0" in text
    path.write_text(_spec_text() + "\n[abc]\nparticles = 5\nalpha = 0.3\n")
    with pytest.raises(ScenarioError) as err:
        load_spec(path)
    (msg,) = problems_of(err)
    assert "abc" in msg and "at least 2 must be kept" in msg


def test_slice_and_star_expansion(scenarios: dict[str, Any]) -> None:
    data = scenarios["work_programme"].model_dump()
    data["labour_market"]["index_by_month"] = [1.0] * 44
    n = len(data["labour_market"]["index_by_month"])
    keys = expand_key(data, "labour_market.index_by_month[0:20]")
    assert keys == [f"labour_market.index_by_month[{i}]" for i in range(20)]
    assert len(expand_key(data, "labour_market.index_by_month[40:]")) == n - 40
    assert expand_key(data, "employment.entry_rate_per_day") == ["employment.entry_rate_per_day"]
    groups = expand_key(data, "population.groups.*.distance_sd")
    assert groups == [f"population.groups.{g}.distance_sd" for g in data["population"]["groups"]]
    with pytest.raises(ValueError, match="does not fit"):
        expand_key(data, f"labour_market.index_by_month[0:{n + 1}]")
    with pytest.raises(ValueError, match="not a list"):
        expand_key(data, "employment.entry_rate_per_day[0:2]")


def test_parameter_transforms() -> None:
    p = Parameter("x", ("k",), 0.001, 0.1, "log", "loguniform", 0.01, "r")
    assert p.to_unit(0.01) == pytest.approx(0.5)
    assert p.from_unit(p.to_unit(0.0037)) == pytest.approx(0.0037)
    assert p.log_prior_unit(0.3) == 0.0
    q = Parameter("y", ("k",), 0.001, 0.1, "log", "uniform", 0.01, "r")
    # a uniform prior seen on a log scale puts more mass near the upper bound
    assert q.log_prior_unit(0.9) > q.log_prior_unit(0.1)
    u = np.linspace(0.01, 0.99, 50)
    draws = np.array([q.from_unit(q.sample_unit(float(x))) for x in u])
    assert np.allclose(draws, 0.001 + u * 0.099)


# --------------------------------------------------------------------------- mapping


def _ledger() -> pl.DataFrame:
    d = DAYS_PER_MONTH
    return pl.DataFrame(
        {
            "claimant_id": [0, 1, 2, 3, 4, 5],
            "group": ["a", "a", "a", "b", "b", "b"],
            "referred_at": [1.0, 10.0, 40.0, 5.0, 50.0, 70.0],
            "attached_at": [15.0, None, 140.0, 19.0, 64.0, None],
            "first_job_at": [100.0, 20.0, None, 5.0 + 13 * d, 90.0, 80.0],
            "outcome_at": [200.0, 10.0 + 12 * d, None, 5.0 + 24 * d + 1, 300.0, None],
            "horizon_at": [1000.0] * 6,
            "n_sustainment_payments": [6, 2, 0, 5, 4, 0],
            "offflow_at": [None, None, 30.0, None, 60.0, None],
            "distance": [0.0, 1.0, 0.5, 0.0, 0.0, -1.0],
            "days_on_benefit": [304.375, 304.375, 0.0, 0.0, 0.0, 0.0],
            "n_sanctions": [3, 1, 0, 0, 0, 0],
        }
    )


def test_mapping_against_hand_computations() -> None:
    led = _ledger()
    d = DAYS_PER_MONTH
    # outcome within 12 months: ids 0 (199 days), 1 (exactly 12 months), 4 (250 days)
    assert job_outcome_rate(led, 12 * d).value == pytest.approx(3 / 6)
    assert job_outcome_rate(led, 24 * d).value == pytest.approx(3 / 6)  # id 3 misses by 1 day
    assert job_entry_rate(led, 12 * d).value == pytest.approx(4 / 6)  # id 3 after 13 months
    assert attachment_rate(led, 3 * d).value == pytest.approx(3 / 6)  # 14, 14, 14 days
    assert attachment_rate(led, None).value == pytest.approx(4 / 6)
    # achievers with 5 x 28 days of follow-up after the outcome: 0, 1, 3 (outcome at 735.5)
    # and 4; 0 and 3 have >= 5 payments
    m = sustained_share(led, {"a": 28.0, "b": 28.0})
    assert (m.value, m.n) == (pytest.approx(2 / 4), 4.0)
    m = sustained_share(led, {"a": 28.0, "b": 60.0})  # 3: 1000 - 735.5 < 300
    assert (m.value, m.n) == (pytest.approx(1 / 3), 3.0)
    # first job entered from benefit: 0, 1, 3, 5 (4 left benefit on day 60 before its job)
    bands = StepHazard([0.0, 91.0], [1.0, 0.5])
    m = first_job_loss_share(led, 0.002, 0.2, bands)
    k = 0.002 * 91.0 * np.exp(0.2 * np.array([0.0, 1.0, 0.0, -1.0]))
    assert m.n == 4.0
    assert m.value == pytest.approx(float(np.mean(1.0 - np.exp(-k))))
    # 4 sanctions over 608.75 days = 20 claimant-months
    assert sanctions_per_claimant_month(led).value == pytest.approx(4 / 20)
    # selection by group and referral month
    assert select(led, ["a"], (0.0, d)).height == 2
    assert select(led, ["a", "b"], (d, 3 * d)).get_column("claimant_id").to_list() == [2, 4, 5]


def test_outcomes_to_date_count_every_outcome_before_the_day() -> None:
    """Outcomes to date over referrals to date, whatever each referral's time on the
    programme (WP20's 2.3%: outcomes by May 2012 of the Jun 2011 - May 2012 referrals)."""
    led = _ledger()
    # outcomes on days 200, 10 + 12 months (375.25), 300 and 5 + 24 months + 1 (736.0)
    assert job_outcome_share_to_date(led, 300.0).value == pytest.approx(1 / 6)
    assert job_outcome_share_to_date(led, 300.5).value == pytest.approx(2 / 6)
    assert job_outcome_share_to_date(led, 1000.0).value == pytest.approx(4 / 6)


def test_every_measure_has_a_rule() -> None:
    assert set(MEASURES) == set(MEASURE_RULES)


def test_combine_replicates() -> None:
    m = combine([Moment(0.2, 0.02, 100), Moment(0.4, 0.02, 100), Moment(math.nan, 0.0, 0)])
    assert m.value == pytest.approx(0.3)
    assert m.se == pytest.approx(math.sqrt(2) * 0.02 / 2)
    assert m.n == 200


def test_objective_range_and_point(tmp_path: Path, scenarios: dict[str, Any]) -> None:
    rows = [
        BASE_ROW | {"target_id": "P", "value": "30.0", "exactness": "exact"},
        BASE_ROW
        | {"target_id": "R", "exactness": "range", "value": "45", "low": "40", "high": "50"}
        | {"horizon_months": "12", "weight": "4"},
    ]
    p, r = load_targets(write_csv(tmp_path / "t.csv", rows), scenarios)
    start = {p.key: Moment(0.3, 0.01, 2500.0), r.key: Moment(0.45, 0.01, 2500.0)}
    obj = Objective.at_start([p, r], start, ObjectiveSettings(model_sd_relative=0.0))
    assert obj.sd[0] == pytest.approx(math.sqrt(0.3 * 0.7 / 2500))
    inside = {p.key: Moment(0.3, 0.0, 1.0), r.key: Moment(0.41, 0.0, 1.0)}
    assert obj.value(inside) == 0.0
    above = {p.key: Moment(0.3 + obj.sd[0], 0.0, 1.0), r.key: Moment(0.5 + obj.sd[1], 0.0, 1.0)}
    assert obj.errors(above) == pytest.approx([1.0, 1.0])
    assert obj.value(above) == pytest.approx(1.0 + 4.0)


# --------------------------------------------------------------------------- ABC alone


def test_abc_pmc_on_a_known_distance() -> None:
    params = [Parameter(n, ("k",), 0.0, 1.0, "linear", "uniform", 0.5, "r") for n in "ab"]
    centre = np.array([0.3, 0.7])
    calls: list[int] = []

    def distances(zs: list[np.ndarray]) -> list[float]:
        calls.append(len(zs))
        return [float(np.sum(((z - centre) / 0.05) ** 2)) for z in zs]

    settings = AbcSettings(particles=200, alpha=0.5, max_generations=5, min_acceptance=0.0)
    res = abc_pmc(distances, params, settings, Streams(seed=5, replicate=0))
    fin = res.final
    mean = fin.normalised @ fin.z
    assert calls == [200, 100, 100, 100, 100]
    assert np.all(np.diff([g.epsilon for g in res.generations]) <= 0)
    assert mean == pytest.approx(centre, abs=0.03)
    again = abc_pmc(distances, params, settings, Streams(seed=5, replicate=0))
    assert np.array_equal(again.final.z, fin.z)
    assert np.array_equal(again.final.weights, fin.weights)


# --------------------------------------------------------------------------- recovery

SMALL = """extends = "{wp}"
name = "small"
[run]
cohort_months = 3
[providers]
primes_per_area = [2, 2]
"""

PARAMS = """
[parameters.entry_rate]
keys = ["employment.entry_rate_per_day"]
lower = 0.001
upper = 0.012
scale = "log"
prior = "loguniform"
start = {entry_rate}
reason = "entry"

[parameters.job_loss_rate]
keys = ["employment.job_loss_rate_per_day"]
lower = 0.0005
upper = 0.012
scale = "log"
prior = "loguniform"
start = {job_loss_rate}
reason = "loss"

[parameters.p_refer]
keys = ["sanctions.p_refer"]
lower = 0.1
upper = 1.0
start = {p_refer}
reason = "refer"
"""

RECOVERY_TARGETS = [
    ("E12", "all", "12", "job_entry_rate", "small"),
    ("O24", "all", "24", "job_outcome_rate", "small"),
    ("L13", "JSA", "", "first_job_loss_13w_share", "small"),
    ("S", "JSA", "", "sanctions_per_claimant_month", "small_jcp"),
    ("J12", "all", "12", "job_outcome_rate", "small_jcp"),
]


def _case(root: Path, seed: int, values: dict[str, float], start: dict[str, float]) -> Path:
    """Write scenarios, targets (with ``values`` by target id) and a spec under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "small.toml").write_text(SMALL.format(wp=WP))
    (root / "small_jcp.toml").write_text(
        'extends = "small.toml"\nname = "small_jcp"\nregime = "jcp"\n'
    )
    rows = [
        BASE_ROW
        | {
            "target_id": tid,
            "population": pop,
            "horizon_months": horizon,
            "measure": measure,
            "scenario": scenario,
            "exactness": "exact",
            "value": repr(100.0 * values.get(tid, 0.1)),
        }
        for tid, pop, horizon, measure, scenario in RECOVERY_TARGETS
    ]
    write_csv(root / "targets.csv", rows)
    spec = f"""name = "recovery"
targets = "targets.csv"
scenario = "small.toml"
counterfactual = "small_jcp.toml"
claimants = 500
seed = {seed}
calibrated_scenario = "calibrated/small.toml"
calibrated_counterfactual = "calibrated/small_jcp.toml"
[objective]
model_sd_relative = 0.05
[optimiser]
max_evaluations = 40
fd_step = 0.04
tolerance = 0.01
[abc]
particles = 16
alpha = 0.5
max_generations = 3
"""
    (root / "spec.toml").write_text(spec + PARAMS.format(**start))
    return root / "spec.toml"


OPTS: dict[str, Any] = {"workers": 1, "progress": False}


@pytest.fixture(scope="module")
def known_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spec whose targets were simulated at TRUTH and whose start is START."""
    base = tmp_path_factory.mktemp("recovery")
    truth_spec = _case(base / "truth", 7, {}, TRUTH)
    cal = load_spec(truth_spec)
    executor, shards = make_executor(1, None, None)
    ev = Evaluator(cal, base / "truth" / "cache", executor, shards).evaluate([cal.z_start()])[0]
    values = {t.target_id: ev.moments[t.key].value for t in cal.targets}
    return _case(base / "fit", 7, values, START)


@pytest.fixture(scope="module")
def recovery(known_spec: Path) -> dict[str, Any]:
    """The optimiser run, a rerun into the same folder, and a fresh run elsewhere."""
    base = known_spec.parent
    first = calibrate(known_spec, base / "out", method="optimiser", **OPTS)
    again = calibrate(known_spec, base / "out", method="optimiser", **OPTS)
    fresh = calibrate(known_spec, base / "out2", method="optimiser", resume=False, **OPTS)
    return {"spec": known_spec, "first": first, "again": again, "fresh": fresh}


def test_optimiser_recovers_known_parameters(recovery: dict[str, Any]) -> None:
    res: CalibrationResult = recovery["first"]
    assert res.objective < res.objective_start
    assert res.objective < 0.05
    for row in res.parameters.iter_rows(named=True):
        truth = TRUTH[row["parameter"]]
        assert row["estimate_low"] <= truth <= row["estimate_high"], row
        assert row["estimate_low"] < row["estimate"] < row["estimate_high"]
        assert row["estimate"] == pytest.approx(truth, rel=0.05)
    assert set(res.fit.columns[:8]) == set(FIT_COLUMNS)


def test_outputs_and_calibrated_scenarios(recovery: dict[str, Any]) -> None:
    res: CalibrationResult = recovery["first"]
    for name in ("fit.parquet", "fit.csv", "parameters.csv", "correlations.csv", "history.csv"):
        assert (res.out / name).is_file(), name
    assert "Median absolute error" in (res.out / "fit_report.md").read_text()
    fitted, cf = res.scenario_files
    text = fitted.read_text()
    assert text.startswith("#") and 'extends = "../small.toml"' in text
    assert "calibrated (pbrsim calibrate" in text
    sc, cfs = load_scenario(fitted), load_scenario(cf)
    assert sc.employment.entry_rate_per_day == pytest.approx(res.estimate["entry_rate"], rel=1e-5)
    assert sc.sanctions.p_refer == pytest.approx(res.estimate["p_refer"], rel=1e-5)
    assert (cfs.name, cfs.regime) == ("small_jcp", "jcp")
    assert cfs.employment == sc.employment
    base = load_scenario(recovery["spec"].parent / "small.toml")
    assert sc.population == base.population and sc.contract == base.contract


def test_resume_replays_the_cache(recovery: dict[str, Any]) -> None:
    first, again = recovery["first"], recovery["again"]
    assert first.n_simulated > 0 and first.n_cached == 0
    assert again.n_simulated == 0
    assert again.n_cached == first.n_simulated
    assert again.estimate == first.estimate
    assert (first.out / "cache").is_dir()


def test_same_spec_twice_gives_the_same_result(recovery: dict[str, Any]) -> None:
    first, fresh = recovery["first"], recovery["fresh"]
    assert fresh.n_cached == 0 and fresh.n_simulated == first.n_simulated
    assert fresh.estimate == first.estimate
    assert fresh.fit.equals(first.fit)
    assert fresh.history.drop("cached").equals(first.history.drop("cached"))


def test_abc_posterior_covers_the_truth(known_spec: Path) -> None:
    out = known_spec.parent / "abc"
    res = calibrate(known_spec, out, method="abc", write_scenario=False, **OPTS)
    assert res.posterior is not None and res.correlations is not None
    final = res.posterior.filter(pl.col("final"))
    assert final["weight"].sum() == pytest.approx(1.0)
    for row in res.parameters.iter_rows(named=True):
        assert row["posterior_low"] <= TRUTH[row["parameter"]] <= row["posterior_high"], row
    gens = res.posterior["generation"].unique().to_list()
    assert len(gens) >= 2
    assert res.scenario_files == []


def test_area_shards() -> None:
    assert area_shards(18, 2) == [tuple(range(9)), tuple(range(9, 18))]
    assert area_shards(3, 5) == [(0,), (1,), (2,)]
    assert sum(len(s) for s in area_shards(40, 3)) == 40


def test_unknown_method_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not one of"):
        calibrate(SPEC, tmp_path, method="gradient_descent")
