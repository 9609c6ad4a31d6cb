"""The parameter reference (``pbrsim params``) and the scenario files' JSON schema."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from pbrsim.cli import app
from sim.market_config import Economics
from sim.params import find, parameters, scenario_schema

SCHEMA_FILE = ROOT / "scenarios" / "scenario.schema.json"
runner = CliRunner()


def test_every_field_of_a_model_is_a_row_once() -> None:
    names = [p.name for p in parameters()]
    assert len(names) == len(set(names))
    assert {f"providers.economics.{f}" for f in Economics.model_fields} <= set(names)
    assert "population.groups.*.share" in names and "interventions[].name" in names


@pytest.mark.parametrize(
    ("name", "type_", "unit", "default", "allowed"),
    [
        ("contract.groups.*.interview_fee_gbp", "number", "GBP", "0.0", ">= 0.0"),
        ("attendance.p_attend", "number", "probability", "0.9", "0 to 1"),
        ("providers.economics.headcount", "choice", "", "'planned'", "'planned' | 'margin'"),
        ("providers.economics.hiring_lag_days", "number", "days", "56.0", ">= 0.0"),
        ("providers.beliefs.bid_outcome_rate", "number or none", "", "None", "> 0.0, < 1.0"),
        ("providers.primes_per_area", "list of whole number", "", "[2]", ">= 1, <= 10"),
    ],
)
def test_reference_rows_as_a_table(name, type_, unit, default, allowed) -> None:
    [row] = [p for p in parameters() if p.name == name]
    assert (row.type, row.unit, row.default, row.allowed) == (type_, unit, default, allowed)


def test_most_parameters_say_what_they_mean() -> None:
    rows = parameters()
    described = [p for p in rows if p.description]
    assert len(described) / len(rows) > 0.7
    [fee] = find("contract.groups.*.interview_fee_gbp")
    assert "PW18" in fee.description


def test_params_command_prints_matches_and_refuses_none() -> None:
    result = runner.invoke(app, ["params", "economics"])
    assert result.exit_code == 0 and "providers.economics.headcount" in result.stdout
    result = runner.invoke(app, ["params", "no_such_thing"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "no_such_thing" in result.stderr


def test_the_shipped_schema_is_the_generated_one(tmp_path: Path) -> None:
    """Regenerate with ``pbrsim params --schema scenarios/scenario.schema.json``."""
    assert json.loads(SCHEMA_FILE.read_text()) == scenario_schema()
    out = tmp_path / "s.json"
    assert runner.invoke(app, ["params", "--schema", str(out)]).exit_code == 0
    assert out.read_text() == SCHEMA_FILE.read_text()


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").rglob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_file_meets_the_schema(path: Path) -> None:
    jsonschema.validate(tomllib.loads(path.read_text()), scenario_schema())


@pytest.mark.parametrize(
    "bad",
    [
        {"unknown_key": 1},
        {"providers": {"economics": {"headcount": "whenever"}}},
        {"attendance": {"p_attend": 1.5}},
        {"run": {"start_month": "2011-13"}},
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(bad: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, scenario_schema())
