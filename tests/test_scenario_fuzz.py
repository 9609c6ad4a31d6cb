"""Scenario fuzzing: ``pbrsim validate`` on mutated shipped scenarios never crashes.

Each case takes one shipped scenario file and damages it: a value of the wrong type, a
number out of range or huge, a key deleted or added, unicode (control characters,
NUL, astral planes), or the TOML text itself cut short, salted with bytes or made
invalid UTF-8. The mutated file sits beside the original so that ``extends`` still
resolves. ``pbrsim validate`` must then either accept it (exit 0: some mutations leave
a valid scenario) or reject it with exit status 2, one ``error:`` line per problem, each
naming a scenario file, and no traceback.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pbrsim.cli import app

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.relative_to(ROOT / "scenarios") for p in (ROOT / "scenarios").rglob("*.toml"))
N_CASES = 200


# --------------------------------------------------------------------------- TOML writer


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    """An inline TOML value (tables inline, on one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def dumps(doc: dict[str, Any]) -> str:
    """A TOML document with every top-level key on its own line."""
    return "".join(f"{_string(k)} = {_value(v)}\n" for k, v in doc.items())


def test_the_writer_round_trips_every_shipped_scenario() -> None:
    for rel in SHIPPED:
        doc = tomllib.loads((ROOT / "scenarios" / rel).read_text(encoding="utf-8"))
        assert tomllib.loads(dumps(doc)) == doc


# --------------------------------------------------------------------------- mutations

ANY_VALUE = st.one_of(
    st.text(max_size=12),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.just([]),
    st.just({}),
    st.dates(),
)
OUT_OF_RANGE = st.sampled_from(
    [
        *(-1, 0, -1.0, -1e-9, 1.0000001, 1e308, -1e308, 10**30, -(10**30), 2**63, -(2**63) - 1),
        *(10**400, math.inf, -math.inf, math.nan, 1e-320, 5e-324),
    ]
)
UNICODE = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from(
        [
            *("\x00", "é", "\u202e", "\x85", "🙂" * 50, "a\nb", "\\", '"', "\ufeff", "x" * 10_000),
            *("[/]", "[bold]", "[/red]x", "../..", "/"),
        ]
    ),
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every table and list inside ``node`` (the root included)."""
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if isinstance(value, dict | list):
            yield from _containers(value, (*path, key))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Path, bytes, str]:
    """(shipped file, mutated bytes, kind of mutation)."""
    rel = draw(st.sampled_from(SHIPPED))
    text = (ROOT / "scenarios" / rel).read_text(encoding="utf-8")
    kind = draw(st.sampled_from(["type", "range", "delete", "extra", "unicode", "toml"]))
    if kind == "toml":
        how = draw(st.sampled_from(["cut", "salt", "not utf-8", "duplicate", "unclosed"]))
        data = text.encode()
        at = draw(st.integers(0, len(data)))
        if how == "cut":
            out = data[:at]
        elif how == "salt":
            out = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif how == "not utf-8":
            out = data[:at] + b"\xff\xfe\xc3" + data[at:]
        elif how == "duplicate":
            out = data + b"\n" + data.splitlines()[-1] + b"\n"
        else:
            out = data[:at] + b'\n[unclosed\nx = "' + data[at:]
        return rel, out, f"toml/{how}"
    doc = tomllib.loads(text)
    where = draw(st.sampled_from(list(_containers(doc))))
    node = _at(doc, where)
    if kind == "extra":
        name = "zz" + draw(UNICODE)
        if isinstance(node, dict):
            node[name] = draw(ANY_VALUE)
        else:
            node.append(draw(ANY_VALUE))
        return rel, dumps(doc).encode(), kind
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    if not keys:
        return rel, dumps(doc).encode(), f"{kind}/empty"
    key = draw(st.sampled_from(keys))
    if kind == "delete":
        del node[key]
    elif kind == "type":
        node[key] = draw(ANY_VALUE)
    elif kind == "range":
        node[key] = draw(OUT_OF_RANGE)
    else:
        node[key] = draw(UNICODE)
    return rel, dumps(doc).encode(), kind


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped scenarios, to write mutated files beside."""
    folder = tmp_path_factory.mktemp("fuzz") / "scenarios"
    shutil.copytree(ROOT / "scenarios", folder)
    return folder


@settings(
    max_examples=N_CASES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated())
def test_validate_never_crashes_on_a_mutated_scenario(
    scenarios: Path, case: tuple[Path, bytes, str]
) -> None:
    rel, data, kind = case
    path = scenarios / rel.parent / "_fuzzed.toml"
    path.write_bytes(data)
    result = CliRunner().invoke(app, ["validate", str(path)])
    event(f"{kind}: exit {result.exit_code}")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        assert kind not in ("toml/not utf-8", "toml/unclosed"), result.output
        return
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, result.output
    assert all(line.startswith("error: ") and str(scenarios) in line for line in lines), lines
    assert any(str(path) in line for line in lines), lines


# --------------------------------------------------------------------------- what fuzzing found

FOUND = {
    # rich read the brackets as markup and raised MarkupError (a traceback, exit 1)
    "markup in a key": ('"[/]" = 1\n', "[/] = 1: unknown key '[/]'"),
    "markup in a value": ('description = "[/bold] x"\n', None),
    "markup in a wrong value": ('regime = "[/]"\n', "regime = '[/]'"),
    # U+0085 (next line) in a key split the problem over two lines
    "line break in a key": ('"zz\\u0085" = ""\n', "zz\\x85 = ''"),
    # open() raised ValueError("embedded null byte"): a traceback
    "NUL in extends": ('extends = "a\\u0000b"\n', "extends = 'a\\x00b'"),
}


@pytest.mark.parametrize(("text", "shown"), FOUND.values(), ids=list(FOUND))
def test_what_fuzzing_found(scenarios: Path, text: str, shown: str | None) -> None:
    path = scenarios / "_found.toml"
    path.write_text('extends = "work_programme.toml"\nname = "found"\n' + text, encoding="utf-8")
    if text.startswith("extends"):
        path.write_text('name = "found"\n' + text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if shown is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), lines
    assert shown in lines[0]
