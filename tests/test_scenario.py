"""Tests for sim.scenario: loading, extends-merging, provenance and error reporting."""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.config import Scenario
from sim.scenario import (
    Problem,
    ScenarioError,
    load_scenario,
    override,
    resolved_dict,
    scenario_from_dict,
    scenario_hash,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
WP = SCENARIOS / "work_programme.toml"
JCP = SCENARIOS / "jcp_offer.toml"
CHILD = 'extends = "work_programme.toml"\nname = "child"\n'


@pytest.fixture(scope="module")
def wp() -> Scenario:
    return load_scenario(WP)


def _write(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``directory/name``; a name ending in ``/`` makes a folder instead."""
    path = directory / name
    if name.endswith("/"):
        path.mkdir()
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _copy_base(directory: Path) -> Path:
    return Path(shutil.copy(WP, directory / "work_programme.toml"))


def _without(scenario: Scenario, keys: set[str]) -> dict[str, object]:
    return {k: v for k, v in scenario.model_dump().items() if k not in keys}


def _errors(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return info.value.problems


# --------------------------------------------------------------------------- real scenarios


def test_work_programme_loads(wp: Scenario) -> None:
    assert wp.name == "work_programme"
    assert wp.regime == "programme"
    assert wp.extends is None
    assert len(wp.providers.primes_per_area) == 18


def test_jcp_offer_is_work_programme_with_jcp_regime(wp: Scenario) -> None:
    jcp = load_scenario(JCP)
    assert jcp.name == "jcp_offer"
    assert jcp.regime == "jcp"
    assert jcp.extends == "work_programme.toml"
    assert "Jobcentre Plus" in jcp.description
    assert jcp.population == wp.population
    own = {"name", "description", "regime", "extends"}
    assert _without(jcp, own) == _without(wp, own)


def test_hash_is_stable_and_sensitive(wp: Scenario) -> None:
    again = load_scenario(WP)
    assert scenario_hash(again) == scenario_hash(wp)
    assert re.fullmatch(r"[0-9a-f]{64}", scenario_hash(wp))
    changed = override(wp, {"employment.entry_rate_per_day": 0.0031})
    assert scenario_hash(changed) != scenario_hash(wp)
    assert scenario_hash(load_scenario(JCP)) != scenario_hash(wp)
    reverted = override(changed, {"employment.entry_rate_per_day": 0.003})
    assert scenario_hash(reverted) == scenario_hash(wp)


def test_hash_sees_description_and_sources(wp: Scenario) -> None:
    assert scenario_hash(override(wp, {"description": "x"})) != scenario_hash(wp)
    key = "sources.sanctions.p_adverse"
    assert scenario_hash(override(wp, {key: "other"})) != scenario_hash(wp)


# --------------------------------------------------------------------------- merging


def test_child_overrides_nested_scalar_and_keeps_the_rest(tmp_path: Path, wp: Scenario) -> None:
    _copy_base(tmp_path)
    child = _write(tmp_path, "child.toml", CHILD + '[providers.provider]\npolicy = "uniform"\n')
    s = load_scenario(child)
    assert s.name == "child"
    assert s.extends == "work_programme.toml"
    assert s.providers.provider.policy == "uniform"
    assert s.providers.provider.public_service_weight == wp.providers.provider.public_service_weight
    assert s.providers.primes_per_area == wp.providers.primes_per_area
    assert s.contract == wp.contract


def test_arrays_replace_rather_than_append(tmp_path: Path) -> None:
    _copy_base(tmp_path)
    text = CHILD + "[providers]\nprimes_per_area = [1]\n[labour_market]\nindex_by_month = [1.2]\n"
    s = load_scenario(_write(tmp_path, "child.toml", text))
    assert s.providers.primes_per_area == [1]
    assert s.labour_market.index_by_month == [1.2]


def test_inline_tables_merge_too(tmp_path: Path) -> None:
    # TOML does not distinguish inline tables, so a child's age_mix is merged
    # into the base's, not substituted: bands the child leaves out are kept.
    _copy_base(tmp_path)
    text = CHILD + '[population.groups.jsa_25_plus]\nage_mix = { "25-49" = 0.5 }\n'
    merged, _ = resolved_dict(_write(tmp_path, "child.toml", text))
    age_mix = merged["population"]["groups"]["jsa_25_plus"]["age_mix"]
    assert age_mix["25-49"] == 0.5
    assert "50+" in age_mix


def test_three_level_chain_and_provenance(tmp_path: Path, wp: Scenario) -> None:
    base = _copy_base(tmp_path)
    sub = tmp_path / "sub"
    sub.mkdir()
    mid = _write(
        tmp_path,
        "mid.toml",
        CHILD.replace("child", "mid")
        + "[attendance]\np_attend = 0.8\n[offflow]\nrate_per_day = 0.001\n",
    )
    top = _write(
        sub, "top.toml", 'extends = "../mid.toml"\nname = "top"\n[offflow]\nrate_per_day = 0.002\n'
    )
    s = load_scenario(top)
    assert (s.name, s.extends) == ("top", "../mid.toml")
    assert s.attendance.p_attend == 0.8
    assert s.offflow.rate_per_day == 0.002
    assert s.offflow.multiplier_sanctioned == wp.offflow.multiplier_sanctioned
    merged, prov = resolved_dict(top)
    assert merged["extends"] == "../mid.toml"
    assert prov["name"] == str(top)
    assert prov["attendance.p_attend"] == str(mid)
    assert prov["offflow.rate_per_day"] == str(top)
    assert prov["offflow.multiplier_sanctioned"] == str(base)
    assert prov["offflow"] == str(top)
    assert prov["population.groups.jsa_18_24.share"] == str(base)


def test_table_replaced_by_scalar_drops_stale_provenance(tmp_path: Path) -> None:
    _write(tmp_path, "base.toml", 'name = "b"\n[a]\nx = 1\n[a.b]\ny = 2\n')
    child = _write(tmp_path, "child.toml", 'extends = "base.toml"\na = 5\n')
    merged, prov = resolved_dict(child)
    assert merged == {"name": "b", "extends": "base.toml", "a": 5}
    assert set(prov) == {"name", "extends", "a"}
    assert prov["a"] == str(child)


def test_error_in_middle_file_is_attributed_to_it(tmp_path: Path) -> None:
    _copy_base(tmp_path)
    mid = _write(tmp_path, "mid.toml", CHILD + "[attendance]\np_attend = 2.0\n")
    top = _write(tmp_path, "top.toml", 'extends = "mid.toml"\nname = "top"\n')
    (problem,) = _errors(top)
    assert (problem.file, problem.key, problem.value) == (str(mid), "attendance.p_attend", 2.0)


# --------------------------------------------------------------------------- broken scenarios


@dataclass(frozen=True)
class Case:
    """A broken scenario: files to write, which to load, what must be reported."""

    files: dict[str, str]
    key: str
    file: str
    value: str
    message: str
    top: str = "child.toml"
    extra: tuple[str, ...] = field(default=())


def _standalone(edit: tuple[str, str]) -> str:
    """The work programme file with one regex substitution applied."""
    text, n = re.subn(edit[0], edit[1], WP.read_text(encoding="utf-8"), count=1, flags=re.S)
    assert n == 1, edit
    return text


BANDS = "{from_days = 0, multiplier = 1.0}, {from_days = 365, multiplier = 0.9}"
BAD_ORDER = (
    f"[employment]\nentry_duration_bands = [{BANDS}, {{from_days = 200, multiplier = 0.8}}]\n"
)
BAD_TYPE = "[employment]\nentry_duration_bands = [" + BANDS.replace("0.9", "'high'") + "]\n"
CASES: dict[str, Case] = {
    "unknown requirement route": Case(
        {"child.toml": CHILD + "[sanctions.requirements.refusing_to_smile]\np_refer = 0.5\n"},
        "sanctions.requirements.refusing_to_smile",
        "child.toml",
        "'p_refer': 0.5",
        "unknown key",
    ),
    "requirement rate out of range": Case(
        {"child.toml": CHILD + "[sanctions.requirements.job_search]\np_adverse = 1.5\n"},
        "sanctions.requirements.job_search.p_adverse",
        "child.toml",
        "1.5",
        "less than or equal to 1",
    ),
    "negative job-search doubt rate": Case(
        {"child.toml": CHILD + "[sanctions.requirements.job_search]\ndoubt_rate_per_day = -1\n"},
        "sanctions.requirements.job_search.doubt_rate_per_day",
        "child.toml",
        "-1",
        "greater than or equal to 0",
    ),
    "attendance elasticity out of range": Case(
        {"child.toml": CHILD + "[attendance]\nfrequency_elasticity = 1.5\n"},
        "attendance.frequency_elasticity",
        "child.toml",
        "1.5",
        "less than or equal to 1",
    ),
    "WCA shares over 1": Case(
        {"child.toml": CHILD + "[benefit_dynamics]\np_fit_for_work = 0.8\np_support_group = 0.4\n"},
        "benefit_dynamics.p_fit_for_work",
        "child.toml",
        "0.8",
        "must not exceed 1",
    ),
    "reclaim bands not starting at day 0": Case(
        {
            "child.toml": CHILD
            + "[benefit_dynamics]\n"
            + "reclaim_after_job = [{ from_days = 5, rate_per_day = 0.01 }]\n"
        },
        "benefit_dynamics.reclaim_after_job",
        "child.toml",
        "5",
        "must start at from_days = 0",
    ),
    "unknown ESA phase": Case(
        {"child.toml": CHILD + '[population.groups.esa_new]\nesa_phase_at_referral = "limbo"\n'},
        "population.groups.esa_new.esa_phase_at_referral",
        "child.toml",
        "'limbo'",
        "'assessment', 'wrag' or 'support'",
    ),
    "in-work support multiplier over 1": Case(
        {"child.toml": CHILD + "[retention.in_work_support]\nloss_multiplier = 1.5\n"},
        "retention.in_work_support.loss_multiplier",
        "child.toml",
        "1.5",
        "less than or equal to 1",
    ),
    "unknown headcount rule": Case(
        {"child.toml": CHILD + '[providers.economics]\nheadcount = "as_many_as_possible"\n'},
        "providers.economics.headcount",
        "child.toml",
        "'as_many_as_possible'",
        "'planned' or 'margin'",
    ),
    "bid outcome rate of 1": Case(
        {"child.toml": CHILD + "[providers.beliefs]\nbid_outcome_rate = 1.0\n"},
        "providers.beliefs.bid_outcome_rate",
        "child.toml",
        "1.0",
        "less than 1",
    ),
    "negative belief weight": Case(
        {"child.toml": CHILD + "[providers.beliefs]\nprior_exposure_days = -5\n"},
        "providers.beliefs.prior_exposure_days",
        "child.toml",
        "-5",
        "greater than 0",
    ),
    "mission weights in the wrong order": Case(
        {"child.toml": CHILD + "[providers.primes]\nmission_weight_range = [0.8, 0.2]\n"},
        "providers.primes.mission_weight_range",
        "child.toml",
        "[0.8, 0.2]",
        "must be increasing",
    ),
    "unknown consequence below the MPL": Case(
        {"child.toml": CHILD + '[contract.below_mpl]\nconsequence = "a_stern_letter"\n'},
        "contract.below_mpl.consequence",
        "child.toml",
        "'a_stern_letter'",
        "'none', 'share_penalty' or 'termination'",
    ),
    "the old subcontracting rule by group": Case(
        {
            "child.toml": CHILD
            + "[providers.subcontracting]\np_refer_by_group = { esa_new = 0.5 }\n"
        },
        "providers.subcontracting.p_refer_by_group",
        "child.toml",
        "{'esa_new': 0.5}",
        "unknown key",
    ),
    "unknown cumulation rule": Case(
        {"child.toml": CHILD + '[contract.groups.jsa_25_plus]\ncumulation = "whenever"\n'},
        "contract.groups.jsa_25_plus.cumulation",
        "child.toml",
        "'whenever'",
        "'cumulative' or 'continuous'",
    ),
    "trial arm shares not summing to 1": Case(
        {"child.toml": CHILD + "[arms.a]\nshare = 0.5\n[arms.b]\nshare = 0.4\n"},
        "arms",
        "child.toml",
        "'share': 0.4",
        "the shares must sum to 1, got 0.9",
    ),
    "a negative interview fee": Case(
        {"child.toml": CHILD + "[contract.groups.jsa_25_plus]\ninterview_fee_gbp = -5.0\n"},
        "contract.groups.jsa_25_plus.interview_fee_gbp",
        "child.toml",
        "-5.0",
        "greater than or equal to 0",
    ),
    "a fractional number of paid interviews": Case(
        {"child.toml": CHILD + "[contract.groups.jsa_25_plus]\nmax_paid_interviews = 2.5\n"},
        "contract.groups.jsa_25_plus.max_paid_interviews",
        "child.toml",
        "2.5",
        "integer",
    ),
    "a bid share above one": Case(
        {"child.toml": CHILD + "[providers.subcontracting]\nplanned_share = 1.5\n"},
        "providers.subcontracting.planned_share",
        "child.toml",
        "1.5",
        "less than or equal to 1",
    ),
    "intervention for an unknown benefit": Case(
        {"child.toml": CHILD + '[[interventions]]\nname = "cmp"\nbenefits = ["IB"]\n'},
        "interventions[0].benefits[0]",
        "child.toml",
        "'IB'",
        "'JSA' or 'ESA'",
    ),
    "sanction regime change to an unknown ladder": Case(
        {
            "child.toml": CHILD
            + "[[sanctions.regime_changes]]\n"
            + 'from_month = "2012-10"\nladder_jsa = "nope"\nladder_esa = "esa_2012"\n'
        },
        "sanctions.regime_changes",
        "child.toml",
        "'nope'",
        "regime_changes[0].ladder_jsa = 'nope' is not a defined ladder",
    ),
    "provider exits before it is strained": Case(
        {
            "child.toml": CHILD
            + "[providers.provider]\nstrain_cash_weeks = 4\nexit_cash_weeks = 10\n"
        },
        "providers.provider.exit_cash_weeks",
        "child.toml",
        "10",
        "must be below strain_cash_weeks",
    ),
    "unknown top-level key": Case(
        {"child.toml": CHILD + "bogus_key = 3\n"},
        "bogus_key",
        "child.toml",
        "3",
        "unknown key 'bogus_key'; valid keys here:",
        extra=("employment", "population", "sanctions"),
    ),
    "unknown nested key": Case(
        {"child.toml": CHILD + "[employment]\nentry_rate_per_dya = 0.01\n"},
        "employment.entry_rate_per_dya",
        "child.toml",
        "0.01",
        "did you mean 'entry_rate_per_day'?",
        extra=("job_loss_rate_per_day",),
    ),
    "unknown key in a dict-valued table": Case(
        {"child.toml": CHILD + "[population.groups.jsa_18_24]\nsharee = 0.2\n"},
        "population.groups.jsa_18_24.sharee",
        "child.toml",
        "0.2",
        "valid keys here:",
        extra=("referral_point_months", "weekly_rate_under_25_gbp"),
    ),
    "string for a float": Case(
        {"child.toml": CHILD + '[employment]\nentry_rate_per_day = "fast"\n'},
        "employment.entry_rate_per_day",
        "child.toml",
        "'fast'",
        "Input should be a valid number",
    ),
    "quoted number is not coerced": Case(
        {"child.toml": CHILD + '[employment]\nentry_rate_per_day = "0.003"\n'},
        "employment.entry_rate_per_day",
        "child.toml",
        "'0.003'",
        "Input should be a valid number",
    ),
    "string for a boolean": Case(
        {"child.toml": CHILD + '[records]\nevent_log = "yes"\n'},
        "records.event_log",
        "child.toml",
        "'yes'",
        "valid boolean",
    ),
    "probability above 1": Case(
        {"child.toml": CHILD + "[attendance]\np_attend = 1.5\n"},
        "attendance.p_attend",
        "child.toml",
        "1.5",
        "Input should be less than or equal to 1",
    ),
    "negative probability": Case(
        {"child.toml": CHILD + "[sanctions]\np_refer = -0.2\n"},
        "sanctions.p_refer",
        "child.toml",
        "-0.2",
        "Input should be greater than or equal to 0",
    ),
    "negative duration": Case(
        {"child.toml": CHILD + "[sanctions]\ndecision_days = -3\n"},
        "sanctions.decision_days",
        "child.toml",
        "-3",
        "Input should be greater than or equal to 0",
    ),
    "zero positive rate": Case(
        {"child.toml": CHILD + "[employment]\nentry_rate_per_day = 0\n"},
        "employment.entry_rate_per_day",
        "child.toml",
        "= 0:",
        "Input should be greater than 0",
    ),
    "negative positive interval": Case(
        {"child.toml": CHILD + "[jcp]\ninterview_interval_days = -14\n"},
        "jcp.interview_interval_days",
        "child.toml",
        "-14",
        "Input should be greater than 0",
    ),
    "float for an int": Case(
        {"child.toml": CHILD + "[run]\ncohort_months = 12.5\n"},
        "run.cohort_months",
        "child.toml",
        "12.5",
        "valid integer",
    ),
    "unknown policy": Case(
        {"child.toml": CHILD + '[providers.provider]\npolicy = "greedy"\n'},
        "providers.provider.policy",
        "child.toml",
        "'greedy'",
        "Input should be 'uniform', 'needs_based', 'payment_maximising' or 'mixed'",
    ),
    "bad month": Case(
        {"child.toml": CHILD + '[run]\nstart_month = "2011-13"\n'},
        "run.start_month",
        "child.toml",
        "'2011-13'",
        'calendar month "YYYY-MM"',
    ),
    "bad name": Case(
        {"child.toml": CHILD.replace('"child"', '"Bad Name"')},
        "name",
        "child.toml",
        "'Bad Name'",
        "lower_snake_case",
    ),
    "referral_weights length": Case(
        {"child.toml": CHILD + "[run]\nreferral_weights = [1, 2, 3]\n"},
        "run.referral_weights",
        "child.toml",
        "[1, 2, 3]",
        "referral_weights has 3 entries but cohort_months is ",
    ),
    "group shares do not sum to 1": Case(
        {"child.toml": CHILD + "[population.groups.jsa_18_24]\nshare = 0.5\n"},
        "population",
        "child.toml",
        "'share': 0.5",
        "group shares must sum to 1",
    ),
    "age_mix unknown band": Case(
        {
            "child.toml": CHILD
            + '[population.groups.jsa_25_plus]\nage_mix = { "25-49" = 0.72, "65+" = 0.28 }\n'
        },
        "population.groups.jsa_25_plus.age_mix",
        "child.toml",
        "'65+': 0.28",
        "unknown age band(s) ['65+']",
    ),
    "ladder not defined": Case(
        {"child.toml": CHILD + '[sanctions]\nladder_jsa = "nope"\n'},
        "sanctions.ladder_jsa",
        "child.toml",
        "'nope'",
        "is not a defined ladder; defined: ['esa_2012'",
    ),
    "min interval above max": Case(
        {"child.toml": CHILD + "[providers.provider]\nmin_interval_days = 120\n"},
        "providers.provider.min_interval_days",
        "child.toml",
        "120",
        "must not exceed max_interval_days (91",
    ),
    "bands not increasing": Case(
        {"child.toml": CHILD + BAD_ORDER},
        "employment.entry_duration_bands",
        "child.toml",
        "'from_days': 200",
        "strictly increasing from_days, got [0.0, 365.0, 200.0]",
    ),
    "wrong type in a table array element": Case(
        {"child.toml": CHILD + BAD_TYPE},
        "employment.entry_duration_bands[1].multiplier",
        "child.toml",
        "'high'",
        "Input should be a valid number",
    ),
    "wrong type for a list element": Case(
        {"child.toml": CHILD + '[providers]\nprimes_per_area = [2, "three", 2]\n'},
        "providers.primes_per_area[1]",
        "child.toml",
        "'three'",
        "valid integer",
    ),
    "contract missing a population group": Case(
        {"alone.toml": _standalone((r"\[contract\.groups\.esa_ex_ib\].*?\n\n", ""))},
        "contract.groups",
        "alone.toml",
        "jsa_18_24",
        "no prices for population group(s) ['esa_ex_ib']",
        top="alone.toml",
    ),
    "required key missing": Case(
        {"alone.toml": _standalone((r"code = 7\n", ""))},
        "population.groups.esa_ex_ib.code",
        "alone.toml",
        "None",
        "required key is missing",
        top="alone.toml",
    ),
    "unknown key in sources": Case(
        {"child.toml": CHILD + '[sources]\n"employment.entry_rate_per_dya" = "a guess"\n'},
        "sources.employment.entry_rate_per_dya",
        "child.toml",
        "'a guess'",
        "names no parameter of this scenario; did you mean 'employment.entry_rate_per_day'?",
    ),
    "missing base file": Case(
        {"child.toml": CHILD.replace("work_programme.toml", "nope.toml")},
        "extends",
        "child.toml",
        "'nope.toml'",
        "file not found: {tmp}/nope.toml",
    ),
    "base is a directory": Case(
        {"bases/": "", "child.toml": CHILD.replace("work_programme.toml", "bases")},
        "extends",
        "child.toml",
        "'bases'",
        "is a directory, not a scenario file: {tmp}/bases",
    ),
    "base is the file's own directory": Case(
        {"child.toml": CHILD.replace("work_programme.toml", ".")},
        "extends",
        "child.toml",
        "'.'",
        "is a directory, not a scenario file: {tmp}",
    ),
    "non-string extends": Case(
        {"child.toml": 'extends = 3\nname = "child"\n'},
        "extends",
        "child.toml",
        "3",
        "expected the path of a base scenario file",
    ),
    "circular extends": Case(
        {
            "a.toml": 'extends = "b.toml"\nname = "a"\n',
            "b.toml": 'extends = "a.toml"\nname = "b"\n',
        },
        "extends",
        "b.toml",
        "'a.toml'",
        "circular extends: a.toml -> b.toml -> a.toml",
        top="a.toml",
    ),
    "self extends": Case(
        {"a.toml": 'extends = "a.toml"\nname = "a"\n'},
        "extends",
        "a.toml",
        "'a.toml'",
        "circular extends: a.toml -> a.toml",
        top="a.toml",
    ),
    "TOML syntax error": Case(
        {"child.toml": CHILD + "[employment\nentry_rate_per_day = 0.01\n"},
        "",
        "child.toml",
        "None",
        "invalid TOML: ",
        extra=("line 3",),
    ),
    "TOML syntax error in base": Case(
        {"work_programme.toml": "name = \n", "child.toml": CHILD},
        "",
        "work_programme.toml",
        "None",
        "invalid TOML: ",
        extra=("line 1",),
    ),
    "missing file": Case({}, "", "absent.toml", "None", "file not found", top="absent.toml"),
    "directory instead of file": Case(
        {}, "", "child.toml", "None", "is a directory", top="child.toml/"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_broken_scenario_is_reported(tmp_path: Path, case: Case) -> None:
    _copy_base(tmp_path)
    for name, text in case.files.items():
        _write(tmp_path, name, text)
    if case.top.endswith("/"):
        (tmp_path / case.top).mkdir()
    problems = _errors(tmp_path / case.top.rstrip("/"))
    matching = [p for p in problems if p.key == case.key]
    assert matching, [str(p) for p in problems]
    problem = matching[0]
    assert problem.file == str(tmp_path / case.file)
    line = str(problem)
    assert "\n" not in line
    if case.key:
        assert line.startswith(f"{problem.file}: {case.key} = ")
        assert case.value in line
    else:
        assert line == f"{problem.file}: {problem.message}"
        assert problem.value is None
    assert case.message.format(tmp=tmp_path) in problem.message
    for fragment in case.extra:
        assert fragment in problem.message


def test_all_independent_problems_are_reported(tmp_path: Path) -> None:
    _copy_base(tmp_path)
    text = (
        CHILD
        + "[attendance]\np_attend = 1.5\n"
        + '[providers.provider]\npolicy = "greedy"\n'
        + '[sources]\n"offflow.rate" = "guess"\n'
    )
    child = _write(tmp_path, "child.toml", text)
    problems = _errors(child)
    assert sorted(p.key for p in problems) == [
        "attendance.p_attend",
        "providers.provider.policy",
        "sources.offflow.rate",
    ]
    assert {p.file for p in problems} == {str(child)}


def test_sources_may_name_defaulted_and_table_keys(tmp_path: Path) -> None:
    _copy_base(tmp_path)
    text = (
        CHILD + '[sources]\n"employment.entry_multiplier_sanctioned" = "a"\n'
        '"population.age_bands.50+.distance_shift" = "b"\n"contract.groups.esa_new" = "c"\n'
    )
    s = load_scenario(_write(tmp_path, "child.toml", text))
    assert s.sources["contract.groups.esa_new"] == "c"
    assert len(s.sources) == len(load_scenario(WP).sources) + 3


def test_long_values_are_shortened_in_str() -> None:
    problem = Problem("f.toml", "population", {"k": "v" * 500}, "bad")
    line = str(problem)
    assert line.startswith("f.toml: population = {'k': 'vvv")
    assert line.endswith(" ...: bad")
    assert len(line) < 300


# --------------------------------------------------------------------------- dicts and overrides


def test_scenario_from_dict_validates_and_names_the_source() -> None:
    data = tomllib.loads(WP.read_text(encoding="utf-8"))
    assert scenario_from_dict(data) == load_scenario(WP)
    data["attendance"]["p_attend"] = -1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="calibration")
    (problem,) = info.value.problems
    assert (problem.file, problem.key, problem.value) == ("calibration", "attendance.p_attend", -1)


def test_override_changes_nested_values(wp: Scenario) -> None:
    s = override(
        wp,
        {
            "providers.provider.policy": "uniform",
            "employment.entry_rate_per_day": 0.01,
            "employment.entry_duration_bands[1].multiplier": 0.5,
            "population.groups.jsa_18_24.p_attach": "0.9",
        },
    )
    assert s.providers.provider.policy == "uniform"
    assert s.employment.entry_rate_per_day == 0.01
    assert s.employment.entry_duration_bands[1].multiplier == 0.5
    assert s.population.groups["jsa_18_24"].p_attach == 0.9
    assert wp.providers.provider.policy == "mixed"
    assert s.contract == wp.contract


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("employment.entry_rate_per_dya", "valid keys here: effect_distance_gradient, effect_per"),
        ("population.groups.jsa_99", "valid keys here: esa_ex_ib"),
        ("run.start_month.year", "not a table"),
        ("employment.entry_duration_bands[7]", "not in a list of length"),
        ("employment..entry_rate_per_day", "malformed key"),
    ],
)
def test_override_unknown_key_raises(wp: Scenario, key: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        override(wp, {key: 1, "attendance.p_attend": 0.5})
    (problem,) = info.value.problems
    assert (problem.file, problem.key, problem.value) == ("<override>", key, 1)
    assert message in problem.message


def test_override_out_of_range_raises(wp: Scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        override(wp, {"attendance.p_attend": 1.2, "sanctions.ladder_esa": "gone"}, source="cli")
    keys = {(p.file, p.key) for p in info.value.problems}
    assert keys == {("cli", "attendance.p_attend"), ("cli", "sanctions.ladder_esa")}
