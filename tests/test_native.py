"""The compiled engine (mypyc, built by setup.py) and the pure-Python one agree bit for bit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import sim.model as model
from sim.model import PURE, simulate
from sim.native_build import NATIVE_MODULES, native_copy_text, source_digest
from sim.scenario import override

SIM = Path(model.__file__).resolve().parent


def _native_or_skip() -> model.Engine:
    kit = model.engine.__wrapped__()  # type: ignore[attr-defined]
    if kit is PURE:
        pytest.skip("the compiled engine is not built here (pip install -e . builds it)")
    return kit


def _digest(sc, n: int, native: bool, monkeypatch) -> str:
    kit = model.engine.__wrapped__() if native else PURE  # type: ignore[attr-defined]
    monkeypatch.setattr(model, "engine", lambda: kit)
    out = simulate(sc, n, seed=3)
    return hashlib.sha256(out.records.data.tobytes()).hexdigest()


def test_pure_python_is_chosen_when_asked(monkeypatch):
    monkeypatch.setenv("PBRSIM_PURE_PYTHON", "1")
    assert model.engine.__wrapped__() is PURE  # type: ignore[attr-defined]


def test_compiled_engine_uses_compiled_classes():
    kit = _native_or_skip()
    assert kit.name == "compiled"
    for cls in (kit.journey, kit.context, kit.entry_hazard, kit.step_hazard):
        assert cls.__module__.startswith("sim._native_")


def test_copies_point_at_each_other_and_carry_the_stamp():
    text = (SIM / "journey.py").read_text()
    copy = native_copy_text(text, "abc")
    assert "from sim._native_contract import" in copy
    assert "from sim.contract import" not in copy
    assert copy.rstrip().splitlines()[-2] == 'SOURCE_SHA256 = "abc"'
    assert len(source_digest(SIM)) == 64
    assert set(NATIVE_MODULES) >= {"journey", "context", "hazards", "rng"}


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


def test_a_stale_build_is_not_used(monkeypatch):
    """Sources edited since the compile: pure Python, with a warning saying how to rebuild."""
    _native_or_skip()
    monkeypatch.delenv("PBRSIM_PURE_PYTHON", raising=False)
    monkeypatch.setattr(model, "source_digest", lambda _dir: "0" * 64)
    with pytest.warns(UserWarning, match="pip install -e"):
        assert model.engine.__wrapped__() is PURE  # type: ignore[attr-defined]


def test_a_build_that_fails_to_load_falls_back_to_pure_python(monkeypatch):
    def broken(name: str) -> object:
        raise RuntimeError(f"cannot load {name}")

    monkeypatch.delenv("PBRSIM_PURE_PYTHON", raising=False)
    monkeypatch.setattr(model.importlib, "import_module", broken)
    with pytest.warns(UserWarning, match="did not load"):
        assert model.engine.__wrapped__() is PURE  # type: ignore[attr-defined]
