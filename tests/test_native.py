"""The compiled journey (mypyc, built by setup.py) and the pure-Python one agree bit for bit."""

from __future__ import annotations

import hashlib

import pytest

import sim.model as model
from sim.journey import Journey as PureJourney
from sim.model import simulate
from sim.scenario import override


def _native_or_skip() -> type:
    cls = model.journey_class.__wrapped__()  # type: ignore[attr-defined]
    if cls is PureJourney:
        pytest.skip("the compiled journey is not built here (pip install -e . builds it)")
    return cls


def _digest(sc, n: int, native: bool, monkeypatch) -> str:
    cls = model.journey_class.__wrapped__() if native else PureJourney  # type: ignore[attr-defined]
    monkeypatch.setattr(model, "journey_class", lambda: cls)
    out = simulate(sc, n, seed=3)
    return hashlib.sha256(out.records.data.tobytes()).hexdigest()


def test_pure_python_is_chosen_when_asked(monkeypatch):
    monkeypatch.setenv("PBRSIM_PURE_PYTHON", "1")
    assert model.journey_class.__wrapped__() is PureJourney  # type: ignore[attr-defined]


@pytest.mark.parametrize("variant", ["as_shipped", "every_mechanism"])
def test_compiled_and_pure_journeys_give_identical_records(wp, monkeypatch, variant):
    _native_or_skip()
    sc = wp
    if variant == "every_mechanism":
        sc = override(
            wp,
            {
                "sanctions.hardship": {"p_claim": 0.5},
                "sanctions.regime_changes": [
                    {
                        "from_month": "2012-10",
                        "ladder_jsa": "jsa_2012_lower",
                        "ladder_esa": "esa_2012",
                    }
                ],
                "providers.provider.n_mandatory_interviews": 4,
                "providers.provider.strain_cash_weeks": 20.0,
                "contract.market_share_shift": 0.05,
                "interventions": [
                    {
                        "name": "cmp",
                        "needs_condition": True,
                        "p_take_up": 0.3,
                        "start_after_days": 30.0,
                        "distance_change": -0.3,
                        "cost_gbp": 200.0,
                    },
                    {
                        "name": "daily",
                        "delivered_by": "jcp",
                        "p_take_up": 0.2,
                        "duration_days": 20.0,
                        "interview_interval_days": 1.0,
                    },
                ],
            },
        )
    native = _digest(sc, 1500, True, monkeypatch)
    pure = _digest(sc, 1500, False, monkeypatch)
    assert native == pure
