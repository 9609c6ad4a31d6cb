"""Batch files: a batch's validated spec and the scenarios it names.

A batch file (TOML) names its scenarios (one of them the baseline, or several
the baselines), the number of replications, claimants and the root seed.
:func:`load_batch` reads it and every scenario it names, and reports every problem
found at once. :attr:`Batch.hash` identifies the results a batch gives, and
:attr:`Batch.inputs` the files it was read from, so that a resume refused for a
changed file can name the file.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.config import Scenario
from sim.scenario import Problem, ScenarioError, load_scenario, scenario_files, scenario_hash

__all__ = [
    "OVERRIDABLE",
    "Adaptive",
    "Batch",
    "BatchSpec",
    "load_batch",
]

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Adaptive(_Model):
    """Add replications until a paired impact is estimated precisely enough."""

    effect: str = "job_outcome_rate"
    """Effect name in ``impacts.parquet`` (see :mod:`sim.estimates`)."""
    group: str = "all"
    horizon_months: int | None = 24
    """The effect's horizon; ignored for an effect that has none (days in work, payments)."""
    target_half_width: float = Field(gt=0.0)
    """Stop once the 95% CI half-width of the effect is at most this."""
    max_replications: int = Field(ge=2, le=10_000)
    step: int = Field(2, ge=1, le=1000)
    """Replications added per round."""


class BatchSpec(_Model):
    """A validated batch file."""

    name: Name
    description: str = ""
    scenarios: list[str] = Field(min_length=1)
    """Scenario files, relative to the batch file."""
    baseline: Name | None = None
    """Name of the baseline (counterfactual) scenario; default the last one listed."""
    baselines: list[Name] | None = Field(None, min_length=1)
    """Instead of ``baseline``: several baselines, each scenario's impacts are estimated
    against every one; the first is the primary (``OUT/impacts.*``, the report)."""
    replications: int = Field(ge=1, le=10_000)
    claimants: int = Field(ge=1, le=100_000_000)
    seed: int = Field(ge=0, lt=2**63)
    claimants_per_task: int = Field(25_000, ge=100)
    """Target claimants per task; each (scenario, replicate) is split into shards of areas."""
    adaptive: Adaptive | None = None
    calibration_fit: str | None = None
    """A calibration's fit table (CSV or Parquet, relative to the batch file) to show in the
    report: it is copied to ``OUT/calibration/fit.<ext>``."""

    @field_validator("baselines")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) < len(value):
            raise ValueError("names a scenario twice")
        return value

    @model_validator(mode="after")
    def _one_way_to_name_baselines(self) -> BatchSpec:
        if self.baseline is not None and self.baselines is not None:
            raise ValueError("give baseline (one name) or baselines (a list), not both")
        return self

    @model_validator(mode="after")
    def _adaptive_cap(self) -> BatchSpec:
        if self.adaptive is not None and self.adaptive.max_replications < self.replications:
            raise ValueError(
                f"adaptive.max_replications ({self.adaptive.max_replications}) must be at least "
                f"replications ({self.replications})"
            )
        return self


OVERRIDABLE = ("replications", "claimants", "seed")
"""Batch keys a run may override from the command line (``pbrsim batch --claimants N``)."""


@dataclass(frozen=True)
class Batch:
    """A batch file with its scenarios loaded."""

    path: Path
    spec: BatchSpec
    scenarios: dict[str, Scenario]
    baseline: str
    """The primary baseline."""
    overrides: dict[str, int] = field(default_factory=dict)
    """Keys of the file replaced for this run (they are part of the spec and its hash)."""
    baselines: tuple[str, ...] = ()
    """Every baseline, the primary first (empty: only ``baseline``)."""

    @property
    def comparisons(self) -> tuple[str, ...]:
        """The baselines impacts are estimated against, the primary first."""
        return self.baselines or (self.baseline,)

    files: dict[str, Path] = field(default_factory=dict)
    """Each scenario's file, by scenario name."""
    inputs: dict[str, str] = field(default_factory=dict)
    """SHA-256 of the batch file and of every scenario file and base it extends, by the
    file's absolute path: which file changed, when a resume finds a different batch."""

    @property
    def hash(self) -> str:
        """Hash of the spec and every resolved scenario: same hash, same results."""
        # a file without `baselines` hashes as it did before the key existed
        unset = set() if self.spec.baselines is not None else {"baselines"}
        payload = {
            "spec": self.spec.model_dump(mode="json", exclude={"description", "adaptive", *unset}),
            "scenarios": {n: scenario_hash(s) for n, s in sorted(self.scenarios.items())},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _problems_from_validation(
    path: Path, err: ValidationError, overrides: dict[str, int]
) -> list[Problem]:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown key; valid keys here: {', '.join(BatchSpec.model_fields)}"
        where = f"{path} (--{key} on the command line)" if key in overrides else str(path)
        # an error of the file as a whole has no key: its input is the whole table
        problems.append(Problem(where, key, e.get("input") if key else None, msg))
    return problems


def load_batch(path: str | Path, overrides: dict[str, int] | None = None) -> Batch:
    """Read and validate a batch file and the scenarios it names.

    Parameters
    ----------
    path : str or Path
    overrides : dict, optional
        Values replacing the file's ``replications``, ``claimants`` or ``seed`` for
        this run, validated like the file's own.

    Raises
    ------
    sim.scenario.ScenarioError
        With every problem found: a missing or malformed batch file, a bad key or
        value (including an override), a scenario file that is missing or invalid,
        two scenarios with the same name, or a baseline that is not one of them.
    ValueError
        If ``overrides`` names a key outside :data:`OVERRIDABLE`.
    """
    overrides = dict(overrides or {})
    bad = sorted(set(overrides) - set(OVERRIDABLE))
    if bad:
        raise ValueError(f"overrides {bad} not in {list(OVERRIDABLE)}")
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(str(path), "", None, f"cannot read: {err}")]) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([Problem(str(path), "", None, f"invalid TOML: {err}")]) from None
    try:
        spec = BatchSpec.model_validate({**raw, **overrides}, strict=True)
    except ValidationError as err:
        raise ScenarioError(_problems_from_validation(path, err, overrides)) from None
    problems: list[Problem] = []
    scenarios: dict[str, Scenario] = {}
    files: dict[str, Path] = {}
    inputs = {str(path.resolve()): hashlib.sha256(path.read_bytes()).hexdigest()}
    for j, rel in enumerate(spec.scenarios):
        try:
            sc = load_scenario(path.parent / rel)
            inputs.update(_input_hashes(path.parent / rel))
        except ScenarioError as err:
            problems.extend(err.problems)
            continue
        if sc.name in scenarios:
            problems.append(
                Problem(str(path), f"scenarios[{j}]", rel, f"a second scenario named {sc.name!r}")
            )
        scenarios[sc.name] = sc
        files[sc.name] = path.parent / rel
    if spec.calibration_fit is not None and not (path.parent / spec.calibration_fit).is_file():
        problems.append(
            Problem(str(path), "calibration_fit", spec.calibration_fit, "file not found")
        )
    if spec.baselines is not None:
        named = [(f"baselines[{j}]", b) for j, b in enumerate(spec.baselines)]
    else:
        named = [("baseline", spec.baseline or (list(scenarios)[-1] if scenarios else ""))]
    for key, name in named if not problems else []:
        if name not in scenarios:
            problems.append(
                Problem(str(path), key, name, f"is none of the scenarios {sorted(scenarios)}")
            )
    if problems:
        raise ScenarioError(problems)
    baselines = tuple(name for _, name in named)
    return Batch(
        path, spec, scenarios, baselines[0], overrides, baselines, files=files, inputs=inputs
    )


def _input_hashes(scenario_file: Path) -> dict[str, str]:
    """SHA-256 of a scenario file and each base it extends, by absolute path.

    Raises
    ------
    ScenarioError
        If a file of the chain cannot be read.
    """
    hashes = {}
    for file in scenario_files(scenario_file):
        try:
            hashes[str(file.resolve())] = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as err:
            raise ScenarioError([Problem(str(file), "", None, f"cannot read: {err}")]) from None
    return hashes
