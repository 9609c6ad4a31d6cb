"""Shared fixtures and scenario builders for the engine-level tests.

``bare(scenario, ...)`` strips a scenario down to "everything off but a constant
job-entry hazard", so that closed forms and exact timelines can be checked. Tests
import it directly (``from conftest import bare``); the scenario fixtures are
session-scoped because scenarios are frozen.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from sim.config import AGE_BANDS, Scenario
from sim.scenario import load_scenario, override, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
WP_PATH = SCENARIOS / "work_programme.toml"
JCP_PATH = SCENARIOS / "jcp_offer.toml"

BARE_GROUP = "jsa_25_plus"
"""Default single payment group of a bare scenario (qualifying days 182)."""

TINY_RATE = 1e-12
"""A job-entry rate that is zero for every practical purpose (it must be > 0)."""


@pytest.fixture(scope="session")
def wp() -> Scenario:
    """The Work Programme scenario as shipped."""
    return load_scenario(WP_PATH)


@pytest.fixture(scope="session")
def jcp() -> Scenario:
    """The Jobcentre Plus counterfactual as shipped."""
    return load_scenario(JCP_PATH)


# --------------------------------------------------------------------------- builders


def single_group_population(data: dict[str, Any], group: str) -> dict[str, Any]:
    """Return ``data['population']`` with only ``group`` (share 1), at distance exactly 0.

    No health conditions, no age-band shifts, everyone attaches.
    """
    pop = data["population"]
    g = dict(pop["groups"][group])
    g.update(share=1.0, distance_mean=0.0, distance_sd=0.0, p_health_condition=0.0, p_attach=1.0)
    zero_band = {"distance_shift": 0.0, "attendance_logit_shift": 0.0}
    return {
        **pop,
        "groups": {group: g},
        "age_bands": {b: dict(zero_band) for b in AGE_BANDS},
    }


def single_group_contract(data: dict[str, Any], group: str) -> dict[str, Any]:
    """Return ``data['contract']`` pricing only ``group``."""
    contract = data["contract"]
    return {**contract, "groups": {group: dict(contract["groups"][group])}}


def switched_off(data: dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` with every behavioural mechanism but job entry switched off."""
    out = dict(data)
    out["employment"] = {
        **data["employment"],
        "entry_duration_bands": [],
        "job_loss_tenure_bands": [],
        "effect_per_adviser_hour_per_week": 0.0,
        "entry_multiplier_sanctioned": 1.0,
        "entry_multiplier_off_benefit": 1.0,
        "job_loss_rate_per_day": 0.0,
        "job_loss_distance_coef": 0.0,
    }
    requirements = {
        **data["sanctions"]["requirements"],
        "job_search": {
            **data["sanctions"]["requirements"]["job_search"],
            "doubt_rate_per_day": 0.0,
        },
        "leaving_job": {**data["sanctions"]["requirements"]["leaving_job"], "p_per_job_end": 0.0},
    }
    out["sanctions"] = {**data["sanctions"], "enabled": False, "requirements": requirements}
    out["attendance"] = {**data["attendance"], "p_attend": 1.0, "logit_per_prior_fta": 0.0}
    out["offflow"] = {**data["offflow"], "rate_per_day": 0.0}
    out["benefit_dynamics"] = {**data["benefit_dynamics"], "p_close_on_failure_to_sign": 0.0}
    out["retention"] = {
        **data["retention"],
        "loss_multiplier_esa": 1.0,
        "loss_multiplier_jsa": 1.0,
        "age_multipliers": {},
        "condition_multipliers": {},
    }
    out["labour_market"] = {"index_by_month": [1.0]}
    out["providers"] = {
        **data["providers"],
        "provider": {**data["providers"]["provider"], "signal_noise_sd": 0.0},
    }
    return out


def bare(
    scenario: Scenario,
    changes: dict[str, object] | None = None,
    *,
    regime: str = "jcp",
    group: str = BARE_GROUP,
    **overrides: object,
) -> Scenario:
    """Return ``scenario`` with everything off but a constant job-entry hazard.

    One payment group (``group``, share 1, distance 0, no conditions, no age
    shifts, p_attach 1), no signal noise, labour-market index 1, no duration or
    tenure bands, no adviser effect, no sanctions, certain attendance, no
    off-flow and no job loss. Then ``changes`` (dotted keys) and ``overrides``
    (keyword arguments with ``__`` for the dots, e.g.
    ``employment__entry_rate_per_day=0.004``) are applied, validated.
    """
    data = scenario.model_dump()
    data = switched_off(data)
    data.update(
        name="bare",
        description="everything off but a constant job-entry hazard",
        extends=None,
        regime=regime,
        sources={},
        population=single_group_population(data, group),
        contract=single_group_contract(data, group),
    )
    sc = scenario_from_dict(data, source="<bare>")
    all_changes = dict(changes or {})
    all_changes.update({k.replace("__", "."): v for k, v in overrides.items()})
    return override(sc, all_changes) if all_changes else sc


def one_failure(wp: Scenario, **overrides: object) -> Scenario:
    """JCP only; the first interview is almost surely missed and then none ever is; every
    referral ends in a sanction that is never overturned."""
    settings = {
        "employment__entry_rate_per_day": TINY_RATE,
        "attendance__p_attend": 0.01,
        "attendance__logit_per_prior_fta": 50.0,
        "sanctions__enabled": True,
        "sanctions__p_refer": 1.0,
        "sanctions__p_adverse": 1.0,
        "sanctions__p_good_reason_rejected": 1.0,
        "sanctions__p_overturn_wrong": 0.0,
        "sanctions__p_overturn_right": 0.0,
    }
    return bare(wp, **{**settings, **overrides})


def with_policy(scenario: Scenario, policy: str, **dotted: object) -> Scenario:
    """``scenario`` with the providers' triage policy set (and more dotted overrides)."""
    return override(scenario, {"providers.provider.policy": policy, **dotted})


# --------------------------------------------------------------------------- frame helpers


def times_of(events: pl.DataFrame, claimant: int, event: str) -> np.ndarray:
    """Times of one claimant's events of one kind, in log order."""
    sel = events.filter((pl.col("claimant_id") == claimant) & (pl.col("event") == event))
    return sel["t"].to_numpy()


def sequence_of(events: pl.DataFrame, claimant: int) -> list[tuple[str, float, float]]:
    """One claimant's log as ``(event, t, value)`` tuples in log order."""
    sel = events.filter(pl.col("claimant_id") == claimant)
    return list(zip(sel["event"].cast(pl.Utf8), sel["t"], sel["value"], strict=True))


def assert_close(actual: float, expected: float, rel: float = 1e-9, abs_: float = 1e-9) -> None:
    """Assert two floats agree to ``rel`` (relative) or ``abs_`` (absolute)."""
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_), (actual, expected)
