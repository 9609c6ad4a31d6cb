"""One joint fit across programmes (issue 14): shared behavioural parameters, each
programme's own inputs as data, and recovery of known parameters from a different start.

Two small programmes, the Work Programme and Provider-led Pathways, share the job-entry
hazard; one parameter (the distance of Pathways' less severe new claimants) names
nothing in the Work Programme and is that programme's input there. Targets are
simulated at known values; the optimiser, started elsewhere, must recover them.
"""

from __future__ import annotations

import csv
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from test_calibration import BASE_ROW, OPTS, write_csv

from calibration.cli import calibrate
from calibration.evaluate import Evaluator, make_executor
from calibration.spec import load_spec
from sim.scenario import ScenarioError, load_scenario

WP = ROOT / "scenarios" / "work_programme.toml"
PW = ROOT / "scenarios" / "pathways_provider.toml"
PW_JCP = ROOT / "scenarios" / "pathways_jcp.toml"

TRUTH = {"entry_rate": 0.004, "pw_distance": 1.0}
START = {"entry_rate": 0.002, "pw_distance": 2.0}

SMALL = 'extends = "{base}"\nname = "{name}"\n[run]\ncohort_months = 3\n'

PARAMS = """
[parameters.entry_rate]
keys = ["employment.entry_rate_per_day"]
lower = 0.001
upper = 0.012
scale = "log"
prior = "loguniform"
start = {entry_rate}
reason = "shared job-entry hazard"

[parameters.pw_distance]
keys = ["population.groups.new_claim_less_severe.distance_mean"]
lower = 0.0
upper = 3.0
start = {pw_distance}
reason = "Pathways only"
"""

TARGETS = [
    ("W12", "all", "12", "job_entry_rate", "small_wp"),
    ("W24", "all", "24", "job_outcome_rate", "small_wp"),
    ("P12", "new_claim_less_severe", "12", "job_entry_rate", "small_pw"),
    ("Q12", "new_claim_more_severe", "12", "job_entry_rate", "small_pw"),
]


def _case(root: Path, values: dict[str, float], start: dict[str, float]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "small_wp.toml").write_text(SMALL.format(base=WP, name="small_wp"))
    (root / "small_pw.toml").write_text(SMALL.format(base=PW, name="small_pw"))
    (root / "small_pw_jcp.toml").write_text(SMALL.format(base=PW_JCP, name="small_pw_jcp"))
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
        for tid, pop, horizon, measure, scenario in TARGETS
    ]
    write_csv(root / "targets.csv", rows)
    spec = """name = "joint"
targets = "targets.csv"
scenario = "small_wp.toml"
claimants = 600
seed = 3
calibrated_scenario = "calibrated/small_wp.toml"
[[programmes]]
scenario = "small_pw.toml"
counterfactual = "small_pw_jcp.toml"
calibrated_scenario = "calibrated/small_pw.toml"
calibrated_counterfactual = "calibrated/small_pw_jcp.toml"
[objective]
model_sd_relative = 0.05
[optimiser]
max_evaluations = 30
fd_step = 0.04
tolerance = 0.01
"""
    (root / "spec.toml").write_text(spec + PARAMS.format(**start))
    return root / "spec.toml"


def test_keys_are_set_where_they_name_something(tmp_path: Path) -> None:
    cal = load_spec(_case(tmp_path, {}, START))
    wp, pw = cal.for_programme(0), cal.for_programme(1)
    assert [p.keys for p in wp.parameters] == [("employment.entry_rate_per_day",), ()]
    assert [p.keys for p in pw.parameters] == [
        ("employment.entry_rate_per_day",),
        ("population.groups.new_claim_less_severe.distance_mean",),
    ]
    assert set(cal.scenarios()) == {"small_wp", "small_pw", "small_pw_jcp"}


def test_a_key_that_names_nothing_anywhere_is_refused(tmp_path: Path) -> None:
    spec = _case(tmp_path, {}, START)
    text = spec.read_text().replace("new_claim_less_severe.distance_mean", "nobody.distance_mean")
    spec.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_spec(spec)
    [problem] = info.value.problems
    assert problem.key == "parameters.pw_distance.keys[0]"
    assert "names nothing in the scenario" in problem.message


def test_a_parameter_restricted_to_a_programme_sets_its_keys_there_alone(tmp_path: Path) -> None:
    """``programmes = [...]``: the restricted parameter sets the keys in its programmes, in
    place of an unrestricted parameter naming the same keys, which keeps the others."""
    spec = _case(tmp_path, {}, START)
    spec.write_text(
        spec.read_text()
        + """
[parameters.pw_entry_rate]
keys = ["employment.entry_rate_per_day"]
programmes = ["small_pw"]
lower = 0.001
upper = 0.012
start = 0.003
reason = "Pathways' own entry rate"
"""
    )
    cal = load_spec(spec)
    wp, pw = cal.for_programme(0), cal.for_programme(1)
    assert [p.keys for p in wp.parameters] == [("employment.entry_rate_per_day",), (), ()]
    assert [p.keys for p in pw.parameters] == [
        (),
        ("population.groups.new_claim_less_severe.distance_mean",),
        ("employment.entry_rate_per_day",),
    ]


def test_a_restriction_to_an_unknown_programme_is_refused(tmp_path: Path) -> None:
    spec = _case(tmp_path, {}, START)
    text = spec.read_text().replace(
        'reason = "Pathways only"', 'reason = "Pathways only"\nprogrammes = ["nowhere"]'
    )
    spec.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_spec(spec)
    [problem] = info.value.problems
    assert problem.key == "parameters.pw_distance.programmes"
    assert problem.value == "nowhere" and "small_pw" in problem.message


@pytest.fixture(scope="module")
def joint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("joint")
    truth = load_spec(_case(base / "truth", {}, TRUTH))
    executor, shards = make_executor(1, None, None)
    ev = Evaluator(truth, base / "cache", executor, shards).evaluate([truth.z_start()])[0]
    values = {t.target_id: ev.moments[t.key].value for t in truth.targets}
    spec = _case(base / "fit", values, START)
    return {"spec": spec, "result": calibrate(spec, base / "out", method="optimiser", **OPTS)}


def test_the_joint_fit_recovers_known_parameters(joint: dict[str, Any]) -> None:
    res = joint["result"]
    assert res.objective < res.objective_start
    for row in res.parameters.iter_rows(named=True):
        truth = TRUTH[row["parameter"]]
        assert row["estimate_low"] <= truth <= row["estimate_high"], row
        assert row["estimate"] == pytest.approx(truth, rel=0.1, abs=0.05)


def test_each_programme_gets_its_calibrated_scenario(joint: dict[str, Any]) -> None:
    root = joint["spec"].parent
    wp = load_scenario(root / "calibrated" / "small_wp.toml")
    pw = load_scenario(root / "calibrated" / "small_pw.toml")
    est = {r["parameter"]: r["estimate"] for r in joint["result"].parameters.iter_rows(named=True)}
    assert wp.employment.entry_rate_per_day == pytest.approx(est["entry_rate"], rel=1e-5)
    assert pw.employment.entry_rate_per_day == wp.employment.entry_rate_per_day
    group = pw.population.groups["new_claim_less_severe"]
    assert group.distance_mean == pytest.approx(est["pw_distance"], rel=1e-5, abs=1e-6)
    assert "new_claim_less_severe" not in wp.population.groups


def test_a_counterfactual_that_differs_in_a_list_extends_its_own_file(
    joint: dict[str, Any],
) -> None:
    """Pathways' JCP counterfactual differs from its base in the interventions (a list of
    tables): its calibrated file extends the counterfactual itself, with the fitted keys."""
    root = joint["spec"].parent
    path = root / "calibrated" / "small_pw_jcp.toml"
    assert 'extends = "../small_pw_jcp.toml"' in path.read_text()
    cf = load_scenario(path)
    pw = load_scenario(root / "calibrated" / "small_pw.toml")
    original = load_scenario(root / "small_pw_jcp.toml")
    assert (cf.name, cf.regime) == ("small_pw_jcp", "jcp")
    assert cf.employment.entry_rate_per_day == pw.employment.entry_rate_per_day
    assert cf.interventions == original.interventions
    group = "new_claim_less_severe"
    assert cf.population.groups[group].distance_mean == pw.population.groups[group].distance_mean


def test_leaving_a_programme_out_reports_its_targets_without_fitting_them(
    tmp_path: Path,
) -> None:
    from calibration.cli import held_out

    cal = load_spec(_case(tmp_path, {}, START))
    loo = held_out(cal, "small_pw")
    weights = {t.target_id: t.weight for t in loo.targets}
    assert weights == {"W12": 1.0, "W24": 1.0, "P12": 0.0, "Q12": 0.0}
    with pytest.raises(ValueError, match="not a programme of the spec"):
        held_out(cal, "nothing")


def _published_roles() -> dict[str, str]:
    """The role of every row of the published figures (``role=...`` opens its notes)."""
    with (ROOT / "calibration" / "published_figures.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    roles = {}
    for r in rows:
        m = re.search(r"role=([a-z_]+)", r["notes"])
        roles[r["id"]] = m.group(1) if m else "?"
    return roles


@pytest.mark.parametrize("targets", ["targets_joint.csv", "targets.csv"])
def test_fitted_targets_are_published_calibration_rows(targets: str) -> None:
    """Only a ``role=calibrate`` row is fitted: an input (an assumption a contract was
    set with, such as WP11's non-intervention rate) may be reported at weight 0."""
    roles = _published_roles()
    with (ROOT / "calibration" / targets).open(newline="") as f:
        rows = list(csv.DictReader(f))
    fitted = [(r["target_id"], roles.get(r["target_id"].split(".")[0], "?")) for r in rows]
    fitted = [
        (t, role) for (t, role), r in zip(fitted, rows, strict=True) if float(r["weight"]) > 0
    ]
    assert fitted
    assert [(t, role) for t, role in fitted if role != "calibrate"] == []


def test_published_figures_copy_is_the_shared_file() -> None:
    """``calibration/published_figures.csv`` is a byte-for-byte copy of the project's
    source of published values, so a target cites what the source says."""
    shared = ROOT.parent / "shared" / "data" / "published_figures.csv"
    if not shared.exists():
        pytest.skip("../shared is not beside the repository")
    copy = ROOT / "calibration" / "published_figures.csv"
    assert copy.read_bytes() == shared.read_bytes()


def _joint_fit_file(path: Path) -> Path | None:
    """Follow ``extends`` from a scenario file to the first file the joint fit wrote."""
    seen: set[Path] = set()
    while path not in seen:
        seen.add(path)
        text = path.read_text()
        if "`pbrsim calibrate calibration/joint.toml`" in text.split("\n", 1)[0]:
            return path
        base = tomllib.loads(text).get("extends")
        if base is None:
            return None
        path = (path.parent / base).resolve()
    return None


@pytest.mark.parametrize("batch", sorted((ROOT / "batches").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_batch_runs_on_the_joint_calibration(batch: Path) -> None:
    """Issue 14, item 5: each scenario of a shipped batch is a calibrated file the joint fit
    wrote or extends one, and the batch names the joint fit for its report."""
    spec = tomllib.loads(batch.read_text())
    for scenario in spec["scenarios"]:
        path = (batch.parent / scenario).resolve()
        assert _joint_fit_file(path) is not None, f"{batch.name}: {scenario}"
    assert spec["calibration_fit"] == "../calibration/fit_joint/fit.csv"
