"""The README's examples run as written (with fewer claimants)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    """Fenced code blocks of a language in the README."""
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    (code,) = blocks("python")
    code = code.replace("20_000", "300")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].ledger.height == 300  # type: ignore[attr-defined]


def test_quick_start_is_two_commands_naming_real_files() -> None:
    commands = [b.strip() for b in blocks("bash")[:2]]
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    run, test = commands
    assert "pbrsim batch" in run and "pip install -e ." in run
    assert "./check" in test and '".[dev]"' in test
    for word in shlex.split(run):
        if word.endswith(".toml"):
            assert (ROOT / word).exists(), word
    ci = (ROOT / ".ci" / "run").read_text()
    assert '".[dev]"' in ci and "./check" in ci  # CI runs the README's test command
