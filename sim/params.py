"""The scenario parameter reference, generated from the configuration models.

Every leaf of :class:`sim.config.Scenario` (a number, text, switch or list of them) with
its dotted name, type, unit, default, allowed values and description (the attribute
docstring in the model). Tables keyed by name appear once with ``*`` for the name
(``population.groups.*.share``), lists of tables with ``[]`` (``interventions[].name``).
``pbrsim params`` prints it; :func:`scenario_schema` is the JSON schema editors use.
"""

from __future__ import annotations

import fnmatch
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.config import Scenario

__all__ = ["Param", "find", "parameters", "scenario_schema", "unit_of"]

_UNITS = (
    ("_gbp_per_week", "GBP a week"),
    ("_gbp", "GBP"),
    ("_per_day", "per day"),
    ("_days", "days"),
    ("_weeks", "weeks"),
    ("_months", "months"),
    ("_percent", "percent"),
    ("minutes_per_week", "minutes a week"),
    ("_minutes", "minutes"),
    ("_per_adviser_hour_per_week", "per adviser hour a week"),
)


@dataclass(frozen=True)
class Param:
    """One scenario parameter of the reference."""

    name: str
    type: str
    unit: str
    default: str
    allowed: str
    description: str


def unit_of(name: str, allowed: str) -> str:
    """The unit a parameter's name (or its bounds) implies: ``_gbp`` is GBP, ``p_`` a
    probability, and so on; empty when the name carries none."""
    leaf = name.rsplit(".", 1)[-1].removesuffix("[]")
    for suffix, unit in _UNITS:
        if leaf.endswith(suffix):
            return unit
    if leaf.startswith("p_") or leaf.startswith("share") or allowed == "0 to 1":
        return "probability"
    if leaf.startswith("n_"):
        return "count"
    return ""


def _strip(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``None`` (and whether None was allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(get_args(annotation))
    return annotation, False


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _allowed(field: FieldInfo, annotation: Any) -> str:
    bounds = []
    for meta in field.metadata:
        for kind, attr, op in (
            (Ge, "ge", ">="),
            (Gt, "gt", ">"),
            (Le, "le", "<="),
            (Lt, "lt", "<"),
        ):
            if isinstance(meta, kind):
                bounds.append(f"{op} {getattr(meta, attr)}")
        pattern = getattr(meta, "pattern", None)
        if pattern:
            bounds.append(f"matches {pattern}")
    if get_origin(annotation) is Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if bounds == [">= 0.0", "<= 1.0"]:
        return "0 to 1"
    return ", ".join(bounds)


_SCALARS = {"float": "number", "int": "whole number", "str": "text", "bool": "switch"}


def _type_name(annotation: Any) -> str:
    annotation, optional = _strip(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        name = "choice"
    elif origin is typing.Annotated:
        name = _type_name(args[0])
    elif origin is list and args:
        name = f"list of {_type_name(args[0])}"
    elif origin is dict and len(args) == 2:
        name = f"table of {_type_name(args[1])}"
    else:
        raw = getattr(annotation, "__name__", str(annotation))
        name = _SCALARS.get(raw, raw)
    return f"{name} or none" if optional else name


def _default(field: FieldInfo) -> str:
    if field.default is not PydanticUndefined:
        return repr(field.default)
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
        return repr(value.model_dump() if isinstance(value, BaseModel) else value)
    return "(required)"


def _walk(model: type[BaseModel], prefix: str) -> typing.Iterator[Param]:
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        annotation, _ = _strip(field.annotation)
        inner = _model_of(annotation)
        origin = get_origin(annotation)
        args = get_args(annotation)
        if inner is not None:
            yield from _walk(inner, f"{dotted}.")
            continue
        if origin is dict and args and _model_of(_strip(args[1])[0]) is not None:
            yield from _walk(_strip(args[1])[0], f"{dotted}.*.")
            continue
        if origin is list and args and _model_of(_strip(args[0])[0]) is not None:
            yield from _walk(_strip(args[0])[0], f"{dotted}[].")
            continue
        allowed = _allowed(field, annotation)
        if not allowed and origin is typing.Annotated:  # bounds inside an optional
            allowed = _allowed(FieldInfo.from_annotation(annotation), args[0])
        if origin is list and args:
            element, _ = _strip(args[0])
            allowed = allowed or _allowed(FieldInfo.from_annotation(args[0]), element)
        yield Param(
            name=dotted,
            type=_type_name(field.annotation),
            unit=unit_of(dotted, allowed),
            default=_default(field),
            allowed=allowed,
            description=" ".join((field.description or "").split()),
        )


def parameters() -> list[Param]:
    """Every leaf parameter of a scenario, in the models' order."""
    return list(_walk(Scenario, ""))


def find(pattern: str | None) -> list[Param]:
    """The parameters whose dotted name matches ``pattern`` (a glob, or a substring)."""
    found = parameters()
    if not pattern:
        return found
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    return [p for p in found if fnmatch.fnmatchcase(p.name, glob)]


def _optional_everywhere(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _optional_everywhere(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_optional_everywhere(v) for v in node]
    return node


def scenario_schema() -> dict[str, Any]:
    """The JSON schema of a scenario file, for editors to complete and check.

    Types, bounds, choices and unknown keys are checked; nothing is required, since a
    file that ``extends`` another sets only what it changes (the loader checks the
    merged scenario).
    """
    schema: dict[str, Any] = _optional_everywhere(Scenario.model_json_schema())
    schema["title"] = "pbrsim scenario"
    return schema
