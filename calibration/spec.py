"""The calibration spec: targets, scenarios, settings and free parameters (TOML).

A spec names the targets file, the base scenario and its counterfactual,
claimants per evaluation, seed and replicates, the settings of the two methods
and one ``[parameters.NAME]`` table per free parameter::

    [parameters.entry_rate]
    keys = ["employment.entry_rate_per_day"]
    lower = 0.001
    upper = 0.02
    scale = "log"          # the optimiser and the ABC kernel work in log space
    prior = "loguniform"
    start = 0.003
    reason = "base job-entry hazard; set by the level of every outcome rate"

A parameter sets every key in ``keys`` to its value. A key may end in a slice,
``"labour_market.index_by_month[0:20]"`` (Python semantics: indices 0 to 19),
and a table level may be ``*``, ``"population.groups.*.distance_sd"`` (every
payment group). Paths are relative to the spec file.

One joint fit across programmes: ``[[programmes]]`` tables name more scenarios (each
with its counterfactual and where to write its calibrated files); every parameter sets
its keys in each programme's scenario where they name something, so behavioural
parameters are shared while each programme's own inputs stay data. A key must name
something in at least one programme.

Both methods work in the unit cube: ``z = (theta - lower) / (upper - lower)``
on a linear scale, ``z = log(theta / lower) / log(upper / lower)`` on a log one.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from calibration.targets import Target, load_targets
from sim.config import Scenario
from sim.scenario import Problem, ScenarioError, load_scenario, override

__all__ = [
    "AbcSettings",
    "Calibration",
    "CalibrationSpec",
    "HistoryMatchingSettings",
    "ObjectiveSettings",
    "OptimiserSettings",
    "Parameter",
    "ParameterSpec",
    "Programme",
    "ProgrammeSpec",
    "expand_key",
    "load_spec",
]

FloatArray = npt.NDArray[np.float64]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]

_SLICE_RE = re.compile(r"^(.*)\[(\d*):(\d*)\]$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ParameterSpec(_Model):
    """One free parameter as written in the spec."""

    keys: list[str] = Field(min_length=1)
    """Dotted scenario keys it sets (slices and ``*`` allowed)."""
    lower: float
    upper: float
    scale: Literal["linear", "log"] = "linear"
    prior: Literal["uniform", "loguniform"] = "uniform"
    start: float
    """Where the optimiser starts (and the point that fixes the objective's sds)."""
    reason: str = Field(min_length=1)
    programmes: list[str] | None = Field(None, min_length=1)
    """Scenario names of the programmes whose scenarios the keys set (default: every
    programme where they name something). In those programmes a parameter restricted
    this way sets its keys instead of an unrestricted parameter naming the same keys: a
    programme's own population (say, the New Deal's 25+ entrants of 1998-2003) gets its
    own value while the other programmes share one."""


class ObjectiveSettings(_Model):
    """How published figures and the model are compared."""

    model_sd_relative: Annotated[float, Field(ge=0.0)] = 0.05
    """Model-discrepancy sd as a share of each published value (cohort and definition gaps)."""
    about_sd_relative: Annotated[float, Field(ge=0.0)] = 0.10
    """sd of an ``about`` figure as a share of its value."""


class OptimiserSettings(_Model):
    """The simulated-moments optimiser."""

    method: Literal["least_squares", "nelder_mead", "powell"] = "least_squares"
    max_evaluations: Annotated[int, Field(ge=1)] = 120
    """Evaluations (cached ones included) before the optimiser stops at its best point."""
    fd_step: Annotated[float, Field(gt=0.0, le=0.5)] = 0.03
    """Finite-difference step in the unit cube (large enough to see past simulation grain)."""
    tolerance: Annotated[float, Field(gt=0.0)] = 1e-3
    """Relative change of the objective / step in the unit cube that counts as converged."""


class AbcSettings(_Model):
    """Adaptive population Monte Carlo ABC (Lenormand, Jabot & Deffuant 2013)."""

    particles: Annotated[int, Field(ge=4)] = 60
    """Particles drawn from the prior in generation 0; later ones propose particles x (1-alpha)."""
    alpha: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    """Share of particles kept each generation: the tolerance is that quantile of the distances."""
    max_generations: Annotated[int, Field(ge=1)] = 4
    min_acceptance: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    """Stop when fewer than this share of a generation's proposals beat the last tolerance."""
    kernel_scale: Annotated[float, Field(gt=0.0)] = 2.0
    """Gaussian kernel covariance = kernel_scale x the weighted covariance of the particles."""

    @model_validator(mode="after")
    def _keeps_two(self) -> AbcSettings:
        if int(self.alpha * self.particles) < 2:
            raise ValueError(
                f"alpha x particles = {self.alpha * self.particles:.3g}: at least 2 must be kept"
            )
        return self


class HistoryMatchingSettings(_Model):
    """History matching with Gaussian-process emulators (Vernon, Goldstein & Bower 2010).

    See :mod:`calibration.history_matching`.
    """

    points_per_wave: Annotated[int, Field(ge=4, le=100_000)] = 40
    """Simulator runs designed in each wave (a space-filling design inside the NROY space)."""
    max_waves: Annotated[int, Field(ge=1, le=50)] = 3
    cutoff: Annotated[float, Field(gt=0.0, le=10.0)] = 3.0
    """A point is implausible if its ``implausibility_rank``-th largest implausibility
    exceeds this (3: Pukelsheim's three-sigma rule)."""
    implausibility_rank: Annotated[int, Field(ge=1, le=3)] = 2
    """1: the largest implausibility over targets; 2 or 3: the second or third largest,
    robust to one or two badly emulated or badly modelled targets."""
    n_candidates: Annotated[int, Field(ge=100, le=10_000_000)] = 20_000
    """Space-filling candidate points on which the NROY space is estimated."""
    min_shrink: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9
    """Stop when a wave leaves more than this share of the previous NROY space."""
    max_training_points: Annotated[int, Field(ge=10, le=5000)] = 400
    """Most recent non-implausible runs each wave's emulators are trained on."""
    emulator_restarts: Annotated[int, Field(ge=0, le=20)] = 2
    """Restarts of each emulator's hyperparameter optimiser (fixed ``random_state``)."""
    posterior_draws: Annotated[int, Field(ge=100, le=10_000_000)] = 1000
    """Particles of the sequential Monte Carlo sample of the emulator posterior. Each
    tempering stage evaluates the last wave's emulators ``mcmc_steps`` times at every
    particle: on the joint fit (12 parameters, 25 targets, 4 waves) 1,000 particles and 20
    steps took 6 stages and about 50 s on one core."""
    mcmc_steps: Annotated[int, Field(ge=1, le=100)] = 20
    """Random-walk Metropolis steps of every particle after each resampling (fewer mix
    too little across a thin NROY space: the sample's real information falls well below
    its ESS)."""
    smc_ess_share: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    """Each tempering step keeps this share of the particles as conditional ESS (smaller:
    fewer, longer steps)."""
    predictive_draws: Annotated[int, Field(ge=2, le=10_000)] = 40
    """Posterior draws simulated for the posterior predictive intervals."""
    identified_sd_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    """A parameter counts as identified if its posterior sd is below this share of its
    prior sd (both in the unit cube)."""
    seed_offset: Annotated[int, Field(ge=0, lt=2**31)] = 0
    """Added to the spec's seed for the design, candidate and posterior streams (a new
    offset gives another design with the same simulations' seed)."""


class ProgrammeSpec(_Model):
    """Another programme fitted jointly with the spec's first (``[[programmes]]``)."""

    scenario: str
    counterfactual: str | None = None
    calibrated_scenario: str | None = None
    calibrated_counterfactual: str | None = None


class CalibrationSpec(_Model):
    """A whole validated spec file."""

    name: Name
    description: str = ""
    targets: str
    scenario: str
    counterfactual: str | None = None
    claimants: Annotated[int, Field(ge=10, le=10_000_000)]
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    replicates: Annotated[int, Field(ge=1, le=1000)] = 1
    calibrated_scenario: str | None = None
    """Where to write the fitted scenario (relative to the spec)."""
    calibrated_counterfactual: str | None = None
    """Where to write the counterfactual that extends the fitted scenario."""
    objective: ObjectiveSettings = Field(default_factory=ObjectiveSettings)
    optimiser: OptimiserSettings = Field(default_factory=OptimiserSettings)
    abc: AbcSettings = Field(default_factory=AbcSettings)
    history_matching: HistoryMatchingSettings = Field(default_factory=HistoryMatchingSettings)
    method: Literal["optimiser", "abc", "both", "history_matching"] = "both"
    """The method a run uses unless the command line names another."""
    parameters: dict[Name, ParameterSpec] = Field(min_length=1)
    programmes: list[ProgrammeSpec] = Field(default_factory=list)
    """More programmes fitted jointly (see the module doc)."""


@dataclass(frozen=True)
class Parameter:
    """A free parameter with its keys expanded and its unit-cube transform."""

    name: str
    keys: tuple[str, ...]
    lower: float
    upper: float
    scale: str
    prior: str
    start: float
    reason: str

    def to_unit(self, theta: float) -> float:
        """Map a value to the unit cube."""
        if self.scale == "log":
            return math.log(theta / self.lower) / math.log(self.upper / self.lower)
        return (theta - self.lower) / (self.upper - self.lower)

    def from_unit(self, z: float) -> float:
        """Map a unit-cube coordinate (clipped to [0, 1]) to a value."""
        z = min(max(z, 0.0), 1.0)
        if self.scale == "log":
            return float(self.lower * (self.upper / self.lower) ** z)
        return self.lower + z * (self.upper - self.lower)

    def _matched(self) -> bool:
        """True if the prior is uniform on the parameter's own scale (flat in z)."""
        return (self.scale == "log") == (self.prior == "loguniform")

    def log_prior_unit(self, z: float) -> float:
        """Log density of the prior at ``z`` in unit-cube coordinates (-inf outside)."""
        if not 0.0 <= z <= 1.0:
            return -math.inf
        if self._matched():
            return 0.0
        theta = self.from_unit(z)
        span = self.upper - self.lower
        ratio = math.log(self.upper / self.lower)
        if self.prior == "uniform":  # log scale: d theta / dz = theta log(u / l)
            return math.log(theta * ratio / span)
        return math.log(span / (theta * ratio))  # loguniform prior on a linear scale

    def sample_unit(self, u: float) -> float:
        """Draw from the prior by inversion of a uniform ``u``; return it in the unit cube."""
        if self._matched():
            return u
        if self.prior == "uniform":
            return self.to_unit(self.lower + u * (self.upper - self.lower))
        return self.to_unit(self.lower * (self.upper / self.lower) ** u)


@dataclass(frozen=True)
class Programme:
    """One more programme of a joint fit: its scenarios, outputs, and each parameter's keys
    in its scenario (empty where the parameter sets nothing there)."""

    scenario_path: Path
    scenario: Scenario
    counterfactual_path: Path | None
    counterfactual: Scenario | None
    keys: tuple[tuple[str, ...], ...]
    spec: ProgrammeSpec


@dataclass(frozen=True)
class Calibration:
    """A loaded spec: settings, scenarios, targets and parameters.

    ``scenario`` and ``counterfactual`` are the first programme's; ``others`` the rest of
    a joint fit (:class:`Programme`).
    """

    path: Path
    spec: CalibrationSpec
    scenario_path: Path
    scenario: Scenario
    counterfactual_path: Path | None
    counterfactual: Scenario | None
    targets: list[Target]
    parameters: list[Parameter]
    others: tuple[Programme, ...] = ()

    def for_programme(self, k: int) -> Calibration:
        """This calibration seen from programme ``k`` (0: the first), as if it were alone:
        its scenarios, and each parameter with its keys there."""
        if k == 0:
            return self
        prog = self.others[k - 1]
        params = [
            dataclasses.replace(p, keys=keys)
            for p, keys in zip(self.parameters, prog.keys, strict=True)
        ]
        return dataclasses.replace(
            self,
            scenario_path=prog.scenario_path,
            scenario=prog.scenario,
            counterfactual_path=prog.counterfactual_path,
            counterfactual=prog.counterfactual,
            parameters=params,
            others=(),
        )

    def scenarios(self) -> dict[str, Scenario]:
        """Every programme's scenario and counterfactual by name."""
        out: dict[str, Scenario] = {}
        for k in range(len(self.others) + 1):
            view = self.for_programme(k)
            out[view.scenario.name] = view.scenario
            if view.counterfactual is not None:
                out[view.counterfactual.name] = view.counterfactual
        return out

    def resolve(self, rel: str) -> Path:
        """A path written in the spec, relative to the spec's folder."""
        return (self.path.parent / rel).resolve()

    def changes(self, z: FloatArray) -> dict[str, float]:
        """Scenario overrides ``{dotted key: value}`` for unit-cube point ``z``."""
        out: dict[str, float] = {}
        for p, zi in zip(self.parameters, z, strict=True):
            theta = p.from_unit(float(zi))
            out.update(dict.fromkeys(p.keys, theta))
        return out

    def theta(self, z: FloatArray) -> dict[str, float]:
        """Parameter values ``{name: value}`` for unit-cube point ``z``."""
        return {p.name: p.from_unit(float(zi)) for p, zi in zip(self.parameters, z, strict=True)}

    def z_start(self) -> FloatArray:
        """The spec's start point in the unit cube."""
        return np.array([p.to_unit(p.start) for p in self.parameters])


# --------------------------------------------------------------------------- key expansion


def _lookup(data: Any, parts: list[str]) -> tuple[bool, Any]:
    node = data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _expand_star(data: dict[str, Any], key: str) -> list[str]:
    """Expand ``*`` table levels against ``data``; keys without ``*`` pass through."""
    if "*" not in key.split("."):
        return [key]
    parts = key.split(".")
    at = parts.index("*")
    found, table = _lookup(data, parts[:at])
    if not found or not isinstance(table, dict) or not table:
        raise ValueError(f"'*' in {key!r} must follow a table with entries")
    prefix = ".".join(parts[:at])
    rest = ".".join(parts[at + 1 :])
    out: list[str] = []
    for name in table:
        out += _expand_star(data, ".".join(x for x in (prefix, str(name), rest) if x))
    return out


def expand_key(data: dict[str, Any], key: str) -> list[str]:
    """Expand one spec key into dotted scenario keys.

    Parameters
    ----------
    data : dict
        The scenario as ``model_dump()`` (for table entries and list lengths).
    key : str
        ``"a.b"``, ``"a.b[3]"``, ``"a.b[0:20]"`` (indices 0-19; ``[5:]`` to the end) or
        with ``*`` for every entry of a table.

    Returns
    -------
    list of str
        Keys without slices or ``*``.

    Raises
    ------
    ValueError
        If a slice is not on a list, is empty or runs past the list's end, or ``*``
        does not follow a table.
    """
    out: list[str] = []
    for k in _expand_star(data, key):
        match = _SLICE_RE.match(k)
        if match is None:
            out.append(k)
            continue
        base = match.group(1)
        found, value = _lookup(data, base.split("."))
        if not found or not isinstance(value, list):
            raise ValueError(f"slice on {base!r}, which is not a list in the scenario")
        start = int(match.group(2) or 0)
        stop = int(match.group(3)) if match.group(3) else len(value)
        if not 0 <= start < stop <= len(value):
            raise ValueError(
                f"slice [{start}:{stop}] does not fit {base!r} (a list of {len(value)} values)"
            )
        out += [f"{base}[{i}]" for i in range(start, stop)]
    return out


# --------------------------------------------------------------------------- loading


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([Problem(str(path), "", None, f"cannot read: {err}")]) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([Problem(str(path), "", None, f"invalid TOML: {err}")]) from None


def _validate(path: Path, raw: dict[str, Any]) -> CalibrationSpec:
    try:
        return CalibrationSpec.model_validate(raw, strict=True)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "missing":
                msg = "required key is missing"
            problems.append(Problem(str(path), key, e.get("input"), msg))
        raise ScenarioError(problems) from None


def _parts(key: str) -> list[str | int] | None:
    """``"a.b[1]"`` -> ``["a", "b", 1]``; None if malformed."""
    parts: list[str | int] = []
    for piece in key.split("."):
        m = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", piece)
        if m is None:
            return None
        parts.append(m.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return parts


def _key_problem(data: dict[str, Any], key: str) -> str | None:
    """Why ``key`` cannot be set to a number in ``data``, or None if it can."""
    parts = _parts(key)
    if parts is None:
        return "malformed key; expected e.g. 'a.b.c', 'a.b[0]' or 'a.b[0:20]'"
    node: Any = data
    for part in parts:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif isinstance(node, dict):
            close = difflib.get_close_matches(str(part), [str(k) for k in node], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            valid = ", ".join(sorted(str(k) for k in node))
            return f"names nothing in the scenario: no {part!r}; valid keys here: {valid}{hint}"
        else:
            return f"names nothing in the scenario: {part!r} is not in a table or list there"
    if isinstance(node, bool) or not isinstance(node, int | float):
        return "is not a number in the scenario"
    return None


def _bound_problems(file: str, name: str, p: ParameterSpec) -> list[Problem]:
    where = f"parameters.{name}"
    problems = []
    if not p.lower < p.upper:
        problems.append(Problem(file, f"{where}.upper", p.upper, f"must exceed lower ({p.lower})"))
    elif not p.lower <= p.start <= p.upper:
        problems.append(
            Problem(file, f"{where}.start", p.start, f"must lie in [{p.lower}, {p.upper}]")
        )
    if (p.scale == "log" or p.prior == "loguniform") and p.lower <= 0.0:
        problems.append(
            Problem(file, f"{where}.lower", p.lower, "a log scale or loguniform prior needs > 0")
        )
    return problems


def _expand_one(data: dict[str, Any], key: str) -> tuple[list[str], str | None]:
    """Expand one spec key in one scenario: its keys, or why it names nothing settable."""
    try:
        expanded = expand_key(data, key)
    except ValueError as err:
        return [], str(err)
    for k in expanded:
        why = _key_problem(data, k)
        if why is not None:
            return [], f"{k!r} {why}" if k != key else why
    return expanded, None


def _expand_all(
    file: str, name: str, p: ParameterSpec, datas: list[dict[str, Any]]
) -> tuple[list[list[str]], list[Problem]]:
    """Expand a parameter's keys in every programme's scenario.

    A key may name nothing in some programmes (their own inputs); it is a problem only if
    it names nothing in any, reported with the first programme's reason.
    """
    keys: list[list[str]] = [[] for _ in datas]
    problems: list[Problem] = []
    for i, key in enumerate(p.keys):
        results = [_expand_one(d, key) for d in datas]
        if all(why is not None for _, why in results):
            problems.append(Problem(file, f"parameters.{name}.keys[{i}]", key, str(results[0][1])))
            continue
        for k, (expanded, _) in enumerate(results):
            keys[k] += expanded
    return keys, problems


def _override_problems(
    file: str, name: str, p: ParameterSpec, keys: list[str], scenario: Scenario
) -> list[Problem]:
    """Check that the start and both bounds give valid scenarios."""
    problems: list[Problem] = []
    for field in ("start", "lower", "upper"):
        value = getattr(p, field)
        try:
            override(scenario, dict.fromkeys(keys, value))
        except ScenarioError as err:
            problems += [
                Problem(
                    file,
                    f"parameters.{name}.{field}",
                    value,
                    f"gives an invalid scenario: {q.key}: {q.message}",
                )
                for q in err.problems
            ]
    return problems


def _programme_problems(file: str, name: str, p: ParameterSpec, names: list[str]) -> list[Problem]:
    """A parameter's ``programmes`` must name programmes of the spec."""
    return [
        Problem(file, f"parameters.{name}.programmes", prog, f"is not a programme here: {names}")
        for prog in p.programmes or []
        if prog not in names
    ]


def _restricted_keys(
    spec: CalibrationSpec,
    names: list[str],
    expanded: dict[str, tuple[list[list[str]], list[Problem]]],
) -> list[set[str]]:
    """Per programme, the keys that a parameter restricted to it sets."""
    out: list[set[str]] = [set() for _ in names]
    for name, p in spec.parameters.items():
        if p.programmes is None:
            continue
        for k, prog in enumerate(names):
            if prog in p.programmes:
                out[k].update(expanded[name][0][k])
    return out


def _owner_problems(file: str, name: str, keys: list[str], owner: dict[str, str]) -> list[Problem]:
    bad = []
    for key in keys:
        if key in owner and owner[key] != name:
            bad.append(Problem(file, f"parameters.{name}.keys", key, f"also set by {owner[key]!r}"))
        owner.setdefault(key, name)
    return bad


def _parameters(
    path: Path, spec: CalibrationSpec, scenarios: list[Scenario]
) -> tuple[list[Parameter], list[tuple[tuple[str, ...], ...]]]:
    """Return the parameters (keys in the first programme) and every programme's keys."""
    file = str(path)
    datas = [sc.model_dump() for sc in scenarios]
    problems: list[Problem] = []
    params: list[Parameter] = []
    per_programme: list[list[tuple[str, ...]]] = [[] for _ in scenarios]
    owners: list[dict[str, str]] = [{} for _ in scenarios]
    names = [sc.name for sc in scenarios]
    expanded = {}
    for name, p in spec.parameters.items():
        bad = _bound_problems(file, name, p) + _programme_problems(file, name, p, names)
        keys, bad_keys = _expand_all(file, name, p, datas)
        expanded[name] = (keys, bad + bad_keys)
    restricted = _restricted_keys(spec, names, expanded)
    for name, p in spec.parameters.items():
        keys, bad = expanded[name]
        for k, sc in enumerate(scenarios):
            if p.programmes is None:  # a restricted parameter sets these keys here
                keys[k] = [key for key in keys[k] if key not in restricted[k]]
            elif sc.name not in p.programmes:
                keys[k] = []
            if not bad and keys[k]:
                bad += _override_problems(file, name, p, keys[k], sc)
            bad += _owner_problems(file, name, keys[k], owners[k])
            per_programme[k].append(tuple(keys[k]))
        problems += bad
        params.append(
            Parameter(name, tuple(keys[0]), p.lower, p.upper, p.scale, p.prior, p.start, p.reason)
        )
    if problems:
        raise ScenarioError(problems)
    return params, [tuple(k) for k in per_programme]


def _pair(
    path: Path, scenario: str, counterfactual: str | None, where: str
) -> tuple[Path, Scenario, Path | None, Scenario | None]:
    base_path = (path.parent / scenario).resolve()
    base = load_scenario(base_path)
    if counterfactual is None:
        return base_path, base, None, None
    cf_path = (path.parent / counterfactual).resolve()
    cf = load_scenario(cf_path)
    if cf.name == base.name:
        raise ScenarioError([Problem(str(path), where, counterfactual, "has the scenario's name")])
    return base_path, base, cf_path, cf


def _scenarios(
    path: Path, spec: CalibrationSpec
) -> tuple[Path, Scenario, Path | None, Scenario | None]:
    return _pair(path, spec.scenario, spec.counterfactual, "counterfactual")


def _programmes(
    path: Path, spec: CalibrationSpec, first: list[Scenario]
) -> list[tuple[Path, Scenario, Path | None, Scenario | None]]:
    """Load every ``[[programmes]]`` pair; names must differ across the whole fit."""
    out = []
    seen = {sc.name for sc in first}
    for k, prog in enumerate(spec.programmes):
        pair = _pair(path, prog.scenario, prog.counterfactual, f"programmes[{k}].counterfactual")
        for sc, key in ((pair[1], "scenario"), (pair[3], "counterfactual")):
            if sc is None:
                continue
            if sc.name in seen:
                raise ScenarioError(
                    [Problem(str(path), f"programmes[{k}].{key}", sc.name, "name already used")]
                )
            seen.add(sc.name)
        out.append(pair)
    return out


def load_spec(path: str | Path) -> Calibration:
    """Read and validate a calibration spec, its scenarios and its targets.

    Parameters
    ----------
    path : str or Path
        The spec TOML file.

    Returns
    -------
    Calibration

    Raises
    ------
    sim.scenario.ScenarioError
        If the spec is missing, unreadable or not TOML; has an unknown or missing
        key or a value of the wrong type or out of range (or ABC settings that keep
        fewer than 2 particles); names a scenario or
        targets file that is missing or invalid (see :func:`calibration.targets.load_targets`);
        or a parameter has ``lower >= upper``, a start outside its bounds, a log
        scale or loguniform prior with ``lower <= 0``, a key that names nothing in
        the scenario (the message lists the valid keys there), a bad slice, a key
        that is not a number or is set by another parameter, or bounds that make
        the scenario invalid (e.g. a probability above 1).
    """
    path = Path(path)
    spec = _validate(path, _read(path))
    base_path, base, cf_path, cf = _scenarios(path, spec)
    more = _programmes(path, spec, [base] + ([cf] if cf is not None else []))
    params, keys = _parameters(path, spec, [base] + [pair[1] for pair in more])
    others = tuple(
        Programme(sp, sc, cp, c, keys[k + 1], spec.programmes[k])
        for k, (sp, sc, cp, c) in enumerate(more)
    )
    cal = Calibration(path, spec, base_path, base, cf_path, cf, [], params, others)
    targets = load_targets(
        (path.parent / spec.targets).resolve(),
        cal.scenarios(),
        about_sd_relative=spec.objective.about_sd_relative,
    )
    return dataclasses.replace(cal, targets=targets)
