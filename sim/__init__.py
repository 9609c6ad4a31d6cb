"""pbrsim: discrete-event microsimulation of welfare-to-work programmes paid by results."""

from importlib import metadata

from sim.api import RunResult, run
from sim.config import Scenario
from sim.scenario import ScenarioError, load_scenario, override

try:
    __version__ = metadata.version("pbrsim")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "override",
    "run",
]
