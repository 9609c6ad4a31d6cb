"""Writing run outputs: Parquet and CSV files written atomically, and a manifest."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from sim.api import RunResult

__all__ = ["atomic_write", "git_revision", "write_run"]


def git_revision(path: Path | None = None) -> str | None:
    """Return the git commit of the working tree at ``path`` (None if not a checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=path or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Write ``path`` by writing a temporary sibling and renaming it into place.

    A reader never sees a half-written file, and a crash leaves any earlier file intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _parquet(df: pl.DataFrame) -> Callable[[Path], None]:
    return lambda p: df.write_parquet(p, compression="zstd", statistics=False)


def write_run(result: RunResult, out_dir: Path) -> list[Path]:
    """Write a run's files into ``out_dir`` and return their paths.

    Files: ``ledger.parquet``, ``summary.parquet``, ``summary.csv``,
    ``providers.parquet``, ``monthly.parquet``, ``events.parquet`` (if the log was kept) and
    ``manifest.json``, which is written last.
    """
    out_dir = Path(out_dir)
    paths = []
    frames = {
        "ledger.parquet": result.ledger,
        "summary.parquet": result.summary,
        "providers.parquet": result.providers,
        "monthly.parquet": result.monthly,
    }
    if result.events is not None:
        frames["events.parquet"] = result.events
    for name, df in frames.items():
        atomic_write(out_dir / name, _parquet(df))
        paths.append(out_dir / name)
    atomic_write(out_dir / "summary.csv", result.summary.write_csv)
    paths.append(out_dir / "summary.csv")
    manifest = {**result.manifest, "git_revision": git_revision(), "files": [p.name for p in paths]}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write(out_dir / "manifest.json", lambda p: p.write_text(text))
    paths.append(out_dir / "manifest.json")
    return paths
