"""The packages are layers: each imports only the ones below it.

``pbrsim`` (the command line) sits on ``reports``, which sits on ``calibration``, which
sits on ``sim``. Inside ``sim``, the batch modules are layers too: the batch file
(``sim.batch_spec``) under its tasks (``sim.tasks``) under the executors
(``sim.executors``) under the runner (``sim.batch``). Every import statement of every
module, at any depth (also those inside functions), is read with :mod:`ast`, so a lazy
import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS = ("sim", "calibration", "reports", "pbrsim")
"""Bottom to top: a package may import only itself and the packages before it."""

BATCH_LAYERS = ("sim.batch_spec", "sim.tasks", "sim.executors", "sim.batch")
"""Bottom to top: a batch module may import only the batch modules before it."""


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every absolute import in a module (relative imports stay inside)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_imported_packages_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os.path\nfrom . import x\ndef f():\n    from pbrsim.cli import app\n"
        "    import reports.build as b\n"
    )
    assert imported_packages(module) == {"os", "pbrsim", "reports"}


def imported_modules(path: Path) -> set[str]:
    """Dotted names of every absolute import in a module, ``from a import b`` as ``a.b`` too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_imported_modules_sees_from_imports_of_modules(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import sim.tasks\ndef f():\n    from sim import batch\n")
    assert imported_modules(module) == {"sim.tasks", "sim", "sim.batch"}


@pytest.mark.parametrize("module", BATCH_LAYERS)
def test_no_batch_module_imports_one_above_it(module: str) -> None:
    path = ROOT / (module.replace(".", "/") + ".py")
    above = set(BATCH_LAYERS[BATCH_LAYERS.index(module) + 1 :])
    assert not imported_modules(path) & above, f"{module} imports {imported_modules(path) & above}"


def test_no_other_sim_module_imports_the_batch_runner() -> None:
    users = {
        str(m.relative_to(ROOT))
        for m in sorted((ROOT / "sim").rglob("*.py"))
        if m.name != "batch.py" and "sim.batch" in imported_modules(m)
    }
    assert not users, f"sim modules import the batch runner: {sorted(users)}"


@pytest.mark.parametrize("package", LAYERS)
def test_no_package_imports_a_layer_above_it(package: str) -> None:
    above = set(LAYERS[LAYERS.index(package) + 1 :])
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules under {package}/"
    bad = {
        str(m.relative_to(ROOT)): sorted(imported_packages(m) & above)
        for m in modules
        if imported_packages(m) & above
    }
    assert not bad, f"{package} imports a layer above it: {bad}"


def test_the_command_line_lives_in_pbrsim() -> None:
    assert not (ROOT / "sim" / "cli.py").exists()
    text = (ROOT / "pyproject.toml").read_text()
    assert 'pbrsim = "pbrsim.cli:app"' in text
