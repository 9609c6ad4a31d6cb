"""Load, merge and validate scenario files.

A scenario is a TOML file validated into :class:`sim.config.Scenario`. A file
may name a base file with ``extends = "base.toml"`` (relative to its own
directory; bases may themselves extend). The chain is deep-merged from the
root base down: tables merge key by key, and any other value (arrays
included) in a child replaces the base's value.

Every problem found is reported at once in a :class:`ScenarioError`, each as a
:class:`Problem` naming the file that set the offending key, the dotted key,
the value as written and what was expected. Files are validated in pydantic's
strict mode, so a quoted number (``"0.003"``) or ``1`` for a boolean is an
error rather than silently coerced; :func:`override` validates in lax mode so
that values typed on a command line (``"0.01"``) are accepted.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tomllib
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sim.config import Scenario

__all__ = [
    "Problem",
    "ScenarioError",
    "load_scenario",
    "override",
    "resolved_dict",
    "scenario_files",
    "scenario_from_dict",
    "scenario_hash",
]

Loc = tuple[int | str, ...]
Provenance = dict[str, str]

_REPR_LIMIT = 200
_TOKEN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*")
_INDEX_RE = re.compile(r"\[(\d+)\]")
_PIECE_RE = re.compile(r"([^\[\]]+)((?:\[\d+\])*)")
_PATTERN_HINTS = {
    r"^\d{4}-(0[1-9]|1[0-2])$": 'expected a calendar month "YYYY-MM" with MM from 01 to 12',
    r"^[a-z][a-z0-9_]*$": "expected a lower_snake_case name",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario.

    Attributes
    ----------
    file : str
        Path of the file that set the offending key (the top file if unknown).
    key : str
        Dotted key, list indices as ``[i]``, e.g. ``employment.entry_duration_bands[1].multiplier``.
    value : object
        The offending value as written, or None if it is missing.
    message : str
        What was expected.
    """

    file: str
    key: str
    value: object
    message: str

    def __str__(self) -> str:
        """Return ``"{file}: {key} = {value!r}: {message}"`` on one line.

        A value whose repr is longer than 200 characters (a whole table, for a
        table-level error) is cut short and ends with ``" ..."``. Characters that
        do not print (a line break, NUL, a direction override) in the file, key or
        message are shown escaped, as in a repr, so the line stays one line. A
        problem with the file as a whole (no key, no value) is ``"{file}: {message}"``.
        """
        file, key, message = _printable(self.file), _printable(self.key), _printable(self.message)
        if not self.key and self.value is None:
            return f"{file}: {message}"
        shown = repr(self.value)
        if len(shown) > _REPR_LIMIT:
            shown = shown[: _REPR_LIMIT - 4] + " ..."
        return f"{file}: {key} = {shown}: {message}"


def _printable(text: str) -> str:
    """``text`` with each character that does not print escaped as in a repr."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` lists everything found.

    Parameters
    ----------
    problems : list of Problem
        Every problem found (at least one). ``str(err)`` is one problem per line.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------- public API


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The scenario TOML file.

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        If the file or a base it extends is missing, unreadable, not valid TOML
        or part of a circular ``extends`` chain; or if the merged scenario fails
        validation or ``[sources]`` names a key that is not a parameter. All
        validation problems are reported together.
    """
    merged, provenance = resolved_dict(path)
    return _validate(merged, provenance, top=str(path), strict=True)


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> Scenario:
    """Validate an already-merged scenario dict (strictly, as a file is).

    Parameters
    ----------
    data : Mapping
        The scenario as nested dicts, as TOML would give it. ``extends`` is not followed.
    source : str
        Reported as the file of every problem.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If validation fails or ``sources`` names a key that is not a parameter.
    """
    raw = dict(data)
    return _validate(raw, _mark({}, raw, "", source), top=source, strict=True)


def override(
    scenario: Scenario, changes: Mapping[str, object], *, source: str = "<override>"
) -> Scenario:
    """Return a copy of ``scenario`` with dotted keys replaced, re-validated.

    Parameters
    ----------
    scenario : Scenario
        The scenario to start from (not modified).
    changes : Mapping
        ``{dotted_key: new_value}``, e.g. ``{"providers.provider.policy": "uniform"}``.
        A key may end in list indices (``"run.referral_weights[0]"``). Only keys
        that already exist in ``scenario.model_dump()`` may be set. Values are
        validated in pydantic's lax mode, so ``"0.01"`` is accepted for a float.
    source : str
        Reported as the file of every problem.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If a key names nothing in the scenario (the message lists the valid keys
        at that level), or if the changed scenario fails validation.
    """
    data = scenario.model_dump()
    problems = [p for key, value in changes.items() if (p := _set(data, key, value, source))]
    if problems:
        raise ScenarioError(problems)
    return _validate(data, _mark({}, data, "", source), top=source, strict=False)


def scenario_hash(scenario: Scenario) -> str:
    """Return the SHA-256 hex digest of the scenario's canonical JSON.

    The JSON is ``scenario.model_dump(mode="json")`` with sorted keys and no
    whitespace; nothing is excluded, so any change of value (or of name,
    description or sources) changes the hash.
    """
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolved_dict(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a scenario file and the chain of files it extends, and merge them.

    Parameters
    ----------
    path : str or Path
        The top scenario file.

    Returns
    -------
    merged : dict
        The merged raw TOML (not validated). ``extends`` is as written in the top file.
    provenance : dict
        ``{dotted_key: file}`` for every key and table in ``merged``; a table is
        attributed to the most-derived file that set anything inside it.

    Raises
    ------
    ScenarioError
        If a file in the chain is missing, is a directory, cannot be read, is not
        UTF-8 or not valid TOML, has a non-string ``extends``, or the chain is circular.
    """
    chain = _read_chain(Path(path))
    merged: dict[str, Any] = {}
    provenance: Provenance = {}
    for file, data in chain:
        merged = _merge(merged, data, provenance, file, "")
    return merged, provenance


def scenario_files(path: str | Path) -> list[Path]:
    """Return a scenario file and every base it extends, top first.

    Parameters
    ----------
    path : str or Path
        The top scenario file.

    Returns
    -------
    list of Path
        The files whose contents make the scenario (``path`` first, then its base,
        that base's base, ...), as paths relative to where ``path`` is.

    Raises
    ------
    ScenarioError
        As :func:`resolved_dict`.
    """
    return [Path(file) for file, _ in reversed(_read_chain(Path(path)))]


# --------------------------------------------------------------------------- reading


def _read_chain(top: Path) -> list[tuple[str, dict[str, Any]]]:
    """Return ``[(file, data), ...]`` from the root base down to ``top``."""
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: list[Path] = []
    path, data = top, _read_toml(str(top))
    while True:
        chain.append((str(path), data))
        seen.append(path.resolve())
        base = _base_of(path, data)
        if base is None:
            return chain[::-1]
        _check_cycle(path, data["extends"], base, seen, [p for p, _ in chain])
        data = _read_toml(str(base), extended_by=(str(path), data["extends"]))
        path = base


def _base_of(path: Path, data: dict[str, Any]) -> Path | None:
    """Return the path ``data`` extends (relative to ``path``'s directory), or None."""
    ref = data.get("extends")
    if ref is None:
        return None
    if not isinstance(ref, str) or not ref or "\x00" in ref:
        raise ScenarioError(
            [Problem(str(path), "extends", ref, "expected the path of a base scenario file")]
        )
    return Path(os.path.normpath(path.parent / ref))


def _check_cycle(path: Path, ref: str, base: Path, seen: list[Path], files: list[str]) -> None:
    """Raise if ``base`` is already in the chain being read (``files``, top first)."""
    resolved = base.resolve()
    if resolved not in seen:
        return
    start = seen.index(resolved)
    loop = [*files[start:], str(base)]
    names = [Path(f).name for f in loop]
    shown = names if len(set(names)) == len(set(seen[start:])) else loop
    message = "circular extends: " + " -> ".join(shown)
    raise ScenarioError([Problem(str(path), "extends", ref, message)])


def _read_toml(file: str, *, extended_by: tuple[str, str] | None = None) -> dict[str, Any]:
    """Parse one TOML file.

    ``extended_by`` is ``(extending file, its extends value)`` for a base file; a
    base that cannot be opened (missing, a directory, unreadable) is then reported
    against the extending file's ``extends`` key, which is where the fix goes. A
    base that opens but does not parse is reported against the base itself.
    """

    def unopenable(message: str) -> ScenarioError:
        if extended_by is not None:
            parent, ref = extended_by
            return ScenarioError([Problem(parent, "extends", ref, f"{message}: {file}")])
        return ScenarioError([Problem(file, "", None, message)])

    try:
        with open(file, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise unopenable("file not found") from None
    except IsADirectoryError:
        raise unopenable("is a directory, not a scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem(file, "", None, f"invalid TOML: {exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(file, "", None, f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise unopenable(f"cannot read: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- merging


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _mark(provenance: Provenance, value: object, key: str, file: str) -> Provenance:
    """Attribute ``key`` and, if ``value`` is a table, everything under it to ``file``."""
    if key:
        provenance[key] = file
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(provenance, v, _join(key, str(k)), file)
    return provenance


def _merge(
    base: dict[str, Any], child: dict[str, Any], provenance: Provenance, file: str, prefix: str
) -> dict[str, Any]:
    """Deep-merge ``child`` (from ``file``) over ``base``, updating ``provenance``."""
    out = dict(base)
    for k, v in child.items():
        key = _join(prefix, k)
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            provenance[key] = file
            out[k] = _merge(out[k], v, provenance, file, key)
        else:
            for stale in [p for p in provenance if p.startswith(key + ".")]:
                del provenance[stale]
            out[k] = v
            _mark(provenance, v, key, file)
    return out


# --------------------------------------------------------------------------- validation


def _validate(data: dict[str, Any], provenance: Provenance, *, top: str, strict: bool) -> Scenario:
    """Validate merged ``data``; raise ScenarioError with every problem found."""
    problems: list[Problem] = []
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data, strict=strict)
    except ValidationError as exc:
        problems = [_problem(err, data, provenance, top) for err in exc.errors()]
    problems += _source_problems(data, provenance, top)
    if problems or scenario is None:
        raise ScenarioError(problems)
    return scenario


def _format_loc(loc: Loc) -> str:
    """``("a", "b", 1, "c")`` -> ``"a.b[1].c"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = _join(out, part)
    return out


def _file_for(loc: Loc, provenance: Provenance, top: str) -> str:
    """The file that set ``loc`` or its nearest enclosing table, else ``top``."""
    for n in range(len(loc), 0, -1):
        file = provenance.get(_format_loc(loc[:n]))
        if file is not None:
            return file
    return top


def _lookup(data: object, loc: Loc) -> tuple[bool, object]:
    """Return ``(found, value)`` for ``loc`` in nested dicts and lists."""
    node: Any = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return False, None
        node = node[part]
    return True, node


def _refine(loc: Loc, message: str, data: dict[str, Any]) -> Loc:
    """Point a table-level error at the key its message starts with, if that key exists.

    ``"ladder_jsa = 'nope' is not ..."`` at ``sanctions`` becomes
    ``sanctions.ladder_jsa``; ``"contract.groups has no ..."`` at the root becomes
    ``contract.groups``.
    """
    match = _TOKEN_RE.match(message)
    if match is None:
        return loc
    parts = tuple(match.group(0).rstrip(".").split("."))
    candidates = [loc + parts] + ([parts] if len(parts) > 1 else [])
    for candidate in candidates:
        if _lookup(data, candidate)[0]:
            return candidate
    return loc


def _problem(err: ErrorDetails, data: dict[str, Any], provenance: Provenance, top: str) -> Problem:
    """Turn one pydantic error into a Problem."""
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    value: object = err.get("input")
    message = _message(err, loc)
    if kind == "value_error" and isinstance(value, dict):
        refined = _refine(loc, message, data)
        if refined != loc:
            loc, value = refined, _lookup(data, refined)[1]
    elif kind == "missing":
        value = None
        message = "required key is missing"
    return Problem(_file_for(loc, provenance, top), _format_loc(loc), value, message)


def _message(err: ErrorDetails, loc: Loc) -> str:
    """The expectation to report for one pydantic error."""
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return _unknown_key_message(str(loc[-1]), _valid_keys(loc[:-1]))
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(err.get("ctx", {}).get("pattern", "")))
        return f"{hint} ({msg})" if hint else msg
    return msg


def _unknown_key_message(key: str, valid: list[str]) -> str:
    """``unknown key 'x'; valid keys here: a, b`` plus a close match if there is one."""
    message = f"unknown key {key!r}; valid keys here: {', '.join(valid) or '(none)'}"
    close = difflib.get_close_matches(key, valid, n=1)
    return message + (f"; did you mean {close[0]!r}?" if close else "")


# --------------------------------------------------------------------------- schema walking


def _unwrap(annotation: Any) -> list[Any]:
    """Strip ``Annotated`` and split ``X | None`` into its non-None members."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for a in get_args(annotation) if a is not type(None) for m in _unwrap(a)]
    return [annotation]


def _child(annotation: Any, part: int | str) -> Any:
    """The annotation of ``part`` inside a value annotated ``annotation``, or None."""
    for ann in _unwrap(annotation):
        origin = get_origin(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(part, str):
            field = ann.model_fields.get(part)
            return None if field is None else field.annotation
        if origin is dict and isinstance(part, str):
            return get_args(ann)[1]
        if origin is list and isinstance(part, int):
            return get_args(ann)[0]
    return None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class validating the table at ``loc`` in a Scenario, if any."""
    annotation: Any = Scenario
    for part in loc:
        annotation = _child(annotation, part)
    for ann in _unwrap(annotation):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann
    return None


def _valid_keys(loc: Loc) -> list[str]:
    """Sorted field names of the model at ``loc`` (empty if there is none)."""
    model = _model_at(loc)
    return sorted(model.model_fields) if model is not None else []


def _parameter_paths(annotation: Any, data: object, prefix: str) -> Iterator[str]:
    """Every dotted key a scenario with raw ``data`` has, defaults included.

    Walks the schema, descending into dict-valued tables (e.g. population
    groups) by the keys present in ``data``; this equals the keys of the
    flattened ``model_dump()`` of a valid scenario, and still works when
    validation failed.
    """
    for ann in _unwrap(annotation):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for name, field in ann.model_fields.items():
                key = _join(prefix, name)
                yield key
                sub = data.get(name) if isinstance(data, dict) else None
                yield from _parameter_paths(field.annotation, sub, key)
        elif get_origin(ann) is dict and isinstance(data, dict):
            for name, sub in data.items():
                key = _join(prefix, str(name))
                yield key
                yield from _parameter_paths(get_args(ann)[1], sub, key)


def _source_problems(data: dict[str, Any], provenance: Provenance, top: str) -> list[Problem]:
    """A Problem for each ``[sources]`` key that names no parameter of the scenario."""
    sources = data.get("sources")
    if not isinstance(sources, dict):
        return []
    valid = {p for p in _parameter_paths(Scenario, data, "") if p.split(".")[0] != "sources"}
    problems = []
    for key, note in sources.items():
        if key in valid:
            continue
        close = difflib.get_close_matches(str(key), sorted(valid), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        file = provenance.get(f"sources.{key}", top)
        message = f"names no parameter of this scenario{hint}"
        problems.append(Problem(file, f"sources.{key}", note, message))
    return problems


# --------------------------------------------------------------------------- overrides


def _parse_key(dotted: str) -> list[str | int] | None:
    """``"a.b[1].c"`` -> ``["a", "b", 1, "c"]``; None if the key is malformed."""
    parts: list[str | int] = []
    for piece in dotted.split("."):
        match = _PIECE_RE.fullmatch(piece)
        if match is None:
            return None
        parts.append(match.group(1))
        parts.extend(int(i) for i in _INDEX_RE.findall(match.group(2)))
    return parts


def _step(node: object, parts: list[str | int], i: int) -> tuple[object, int] | None:
    """Descend one key from ``parts[i]``; return (child, next index) or None.

    A dict key containing dots (e.g. a ``sources`` entry) is matched by joining
    as many following parts as needed.
    """
    part = parts[i]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return part, i + 1
    if isinstance(node, dict) and isinstance(part, str):
        for j in range(i + 1, len(parts) + 1):
            if not all(isinstance(p, str) for p in parts[i:j]):
                break
            name = ".".join(str(p) for p in parts[i:j])
            if name in node:
                return name, j
    return None


def _set(data: dict[str, Any], dotted: str, value: object, source: str) -> Problem | None:
    """Set ``dotted`` in ``data`` in place; return a Problem if it names nothing."""
    parts = _parse_key(dotted)
    if parts is None:
        return Problem(source, dotted, value, "malformed key; expected e.g. 'a.b.c' or 'a.b[0].c'")
    node: Any = data
    i = 0
    while True:
        found = _step(node, parts, i)
        if found is None:
            return Problem(source, dotted, value, _no_such_key(node, parts[i]))
        where, i = found
        if i == len(parts):
            node[where] = value
            return None
        node = node[where]


def _no_such_key(node: object, part: str | int) -> str:
    """Why ``part`` cannot be found in ``node``."""
    if isinstance(node, dict):
        return _unknown_key_message(str(part), sorted(str(k) for k in node))
    if isinstance(node, list):
        return f"index {part!r} is not in a list of length {len(node)}"
    return f"{part!r} is inside a value that is not a table"
