"""Build hook: compile the hot path (the claimant journey and what it calls) with mypyc.

The sources stay the one truth. At build time each module in
``sim.native_build.NATIVE_MODULES`` is copied to ``sim/_native_NAME.py``, stamped with
the SHA-256 of all their sources, and the copies are compiled together into a C
extension. :func:`sim.model.engine` uses the compiled classes only if the stamp
matches the sources it runs beside (so an edited module is never shadowed by a
stale build) and ``PBRSIM_PURE_PYTHON`` is unset; both give bit-identical results
(``tests/test_native.py``). The extension is optional: if mypyc or a C compiler is
missing, or ``PBRSIM_PURE_PYTHON=1`` is set at build time, the package installs as
pure Python.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup

ROOT = Path(__file__).resolve().parent
SIM = ROOT / "sim"


def _native_build() -> Any:
    """Load sim/native_build.py by path (the package's dependencies may not be installed)."""
    spec = importlib.util.spec_from_file_location("_pbrsim_native_build", SIM / "native_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD_COMMANDS = ("build_ext", "bdist_wheel", "editable_wheel", "build", "install", "develop")
"""Only these compile; metadata steps (egg_info, dist_info) skip mypyc's whole-program pass."""


def _native_extensions() -> list[object]:
    if os.environ.get("PBRSIM_PURE_PYTHON"):
        return []
    if not any(cmd in sys.argv[1:] for cmd in BUILD_COMMANDS):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("pbrsim: mypyc not available; installing pure Python", file=sys.stderr)
        return []
    build = _native_build()
    copies = [str(p.relative_to(ROOT)) for p in build.write_native_copies(SIM)]
    os.chdir(ROOT)
    # mypy settings of its own: the project's (pydantic plugin, strict) need the runtime
    # dependencies, which the isolated build environment does not have
    config = ROOT / "build" / "mypyc.ini"
    config.parent.mkdir(exist_ok=True)
    config.write_text("[mypy]\nignore_missing_imports = True\nfollow_imports = silent\n")
    try:
        extensions = mypycify(
            [*copies, "--config-file", str(config), "--cache-dir", os.devnull],
            opt_level="3",
            debug_level="0",
        )
    except (Exception, SystemExit) as err:  # mypyc reports type errors by exiting
        print(f"pbrsim: not compiling the hot path ({err}); pure Python", file=sys.stderr)
        for copy in copies:
            (ROOT / copy).unlink(missing_ok=True)
        return []
    for ext in extensions:
        ext.optional = True  # a failed compile leaves pure Python in use
        if sys.platform != "win32":
            # sim.rng's native draws rely on wrapping signed arithmetic, and sim.fmath's
            # results on each operation being rounded on its own (no fused multiply-add)
            flags = ["-fwrapv", "-ffp-contract=off"]
            ext.extra_compile_args = [*(ext.extra_compile_args or []), *flags]
    return list(extensions)


setup(ext_modules=_native_extensions())
