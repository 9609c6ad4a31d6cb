"""Writing run outputs: Parquet and CSV files written atomically, and a manifest."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import polars as pl

from sim.api import RunResult
from sim.schema import Table, data_dictionary, parquet_writer

__all__ = ["atomic_write", "git_revision", "write_data_dictionary", "write_run"]


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


def write_data_dictionary(out_dir: Path, layout: Literal["batch", "run"]) -> Path:
    """Write ``data_dictionary.csv`` (:func:`sim.schema.data_dictionary`) and return its path."""
    path = Path(out_dir) / "data_dictionary.csv"
    atomic_write(path, data_dictionary(layout).write_csv)
    return path


def write_run(result: RunResult, out_dir: Path) -> list[Path]:
    """Write a run's files into ``out_dir`` and return their paths.

    Files: ``ledger.parquet``, ``summary.parquet``, ``summary.csv``,
    ``providers.parquet``, ``monthly.parquet``, ``events.parquet`` (if the log was kept),
    ``data_dictionary.csv`` and ``manifest.json``, which is written last. Parquet files
    carry statistics and each column's description (:mod:`sim.schema`).

    Raises
    ------
    ValueError
        If a frame lacks a column of its table (:data:`sim.schema.SCHEMAS`); nothing
        is written then.
    """
    out_dir = Path(out_dir)
    paths = []
    frames: dict[str, tuple[pl.DataFrame, Table]] = {
        "ledger.parquet": (result.ledger, "ledger"),
        "summary.parquet": (result.summary, "run_summary"),
        "providers.parquet": (result.providers, "providers"),
        "monthly.parquet": (result.monthly, "monthly"),
    }
    if result.events is not None:
        frames["events.parquet"] = (result.events, "events")
    writers = {name: parquet_writer(df, table) for name, (df, table) in frames.items()}
    for name, write in writers.items():
        atomic_write(out_dir / name, write)
        paths.append(out_dir / name)
    atomic_write(out_dir / "summary.csv", result.summary.write_csv)
    paths.append(out_dir / "summary.csv")
    paths.append(write_data_dictionary(out_dir, "run"))
    manifest = {**result.manifest, "git_revision": git_revision(), "files": [p.name for p in paths]}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write(out_dir / "manifest.json", lambda p: p.write_text(text))
    paths.append(out_dir / "manifest.json")
    return paths
