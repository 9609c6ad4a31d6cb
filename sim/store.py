"""The files of a batch output folder: partitions, done markers with content hashes, checks.

A batch (:mod:`sim.batch`) writes into an output folder ``OUT``::

    OUT/manifest.json
    OUT/<table>/scenario=S/replicate=R/part-K.parquet   # table in TABLES, one per task
    OUT/_tasks/scenario=S/replicate=R/part-K.json       # the task's done marker, written last

Every file is written atomically (a temporary sibling renamed into place). A task's
done marker records the SHA-256 of every part file the task wrote
(``"files": {"ledger/scenario=S/replicate=R/part-K.parquet": "<hex>", ...}``), so a
part that was cut short, changed or lost after its task finished is caught:
:func:`task_fault` tells a resumed batch which tasks to redo, and :func:`verify`
stops the estimates and the report from reading a part that is not what its task
wrote. Every problem is a :class:`StoreError` naming one file, on one line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from sim.outputs import atomic_write

__all__ = [
    "MARKERS",
    "TABLES",
    "StoreError",
    "file_sha256",
    "forget_task",
    "marker_path",
    "part_path",
    "read_json",
    "read_parquet",
    "task_fault",
    "verify",
    "write_atomic",
    "write_task_files",
]

TABLES = ("ledger", "providers", "monthly")
"""Tables every task writes one part of."""

MARKERS = "_tasks"
"""Folder of the done markers."""

_CHUNK_BYTES = 1 << 20


class StoreError(ValueError):
    """A file of an output folder cannot be read, written or trusted.

    ``str(err)`` is one line, ``"{path}: {message}"``.

    Parameters
    ----------
    path : Path
        The file at fault.
    message : str
        What is wrong with it, and what to do where that is not obvious.
    """

    def __init__(self, path: Path, message: str) -> None:
        self.path = Path(path)
        self.message = " ".join(message.split())  # one line, whatever the cause says
        super().__init__(f"{self.path}: {self.message}")


# --------------------------------------------------------------------------- paths


def part_path(out: Path, table: str, part: str) -> Path:
    """Path of a task's part of ``table``; ``part`` is ``scenario=S/replicate=R/part-K``."""
    return Path(out) / table / f"{part}.parquet"


def marker_path(out: Path, part: str) -> Path:
    """Path of the done marker of the task writing ``part``."""
    return Path(out) / MARKERS / f"{part}.json"


def _visible(paths: list[Path]) -> list[Path]:
    """``paths`` without temporary files (``.name.tmp-PID``), sorted."""
    return sorted(p for p in paths if not p.name.startswith("."))


# --------------------------------------------------------------------------- writing


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Write ``path`` atomically (see :func:`sim.outputs.atomic_write`).

    Raises
    ------
    StoreError
        If the file cannot be written (no space left, no permission, ...); the file
        as it was before, if any, is left in place and no temporary file remains.
    """
    try:
        atomic_write(path, write)
    except OSError as err:
        reason = err.strerror or str(err)
        raise StoreError(path, f"cannot write ({reason}); files written before are kept") from None


def _write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (the one place a part's bytes reach the disk)."""
    with path.open("wb") as fh:
        fh.write(data)


def _bytes_writer(data: bytes) -> Callable[[Path], None]:
    return lambda p: _write_bytes(p, data)


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes.

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def write_task_files(
    out: Path, part: str, tables: Mapping[str, bytes], meta: Mapping[str, object]
) -> None:
    """Write a task's parts atomically, then its done marker with their SHA-256.

    Parameters
    ----------
    out : Path
        Output folder.
    part : str
        ``scenario=S/replicate=R/part-K``.
    tables : Mapping
        Parquet bytes by table name (every name of :data:`TABLES`).
    meta : Mapping
        Facts about the task kept in its marker (JSON-serialisable).

    Raises
    ------
    StoreError
        If a file cannot be written. The marker is written only after every part,
        so a task stopped half-way never looks finished.
    """
    files = {}
    for table, data in tables.items():
        path = part_path(out, table, part)
        write_atomic(path, _bytes_writer(data))
        files[path.relative_to(out).as_posix()] = hashlib.sha256(data).hexdigest()
    text = json.dumps({**meta, "files": files}, sort_keys=True) + "\n"
    write_atomic(marker_path(out, part), lambda p: p.write_text(text))


def forget_task(out: Path, part: str) -> None:
    """Remove the done marker of the task writing ``part`` (before redoing the task).

    Raises
    ------
    StoreError
        If the marker exists and cannot be removed.
    """
    marker = marker_path(out, part)
    try:
        marker.unlink(missing_ok=True)
    except OSError as err:
        raise StoreError(marker, f"cannot remove: {err.strerror or err}") from None


# --------------------------------------------------------------------------- reading


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object (a manifest or a done marker).

    Raises
    ------
    StoreError
        If the file is missing, unreadable, not JSON or not a JSON object.
    """
    try:
        data = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise StoreError(path, "missing") from None
    except OSError as err:
        raise StoreError(path, f"cannot read: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise StoreError(path, f"damaged: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise StoreError(path, f"damaged: expected a JSON object, found {type(data).__name__}")
    return data


def read_parquet(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """Read a Parquet file.

    Raises
    ------
    StoreError
        If the file is missing, unreadable or not valid Parquet (e.g. cut short).
    """
    try:
        return pl.read_parquet(path, columns=columns)
    except FileNotFoundError:
        raise StoreError(path, "missing") from None
    except OSError as err:
        raise StoreError(path, f"cannot read: {err.strerror or err}") from None
    except pl.exceptions.ColumnNotFoundError as err:
        raise StoreError(path, f"lacks a column: {err}") from None
    except pl.exceptions.PolarsError as err:
        raise StoreError(path, f"damaged: not a readable Parquet file ({err})") from None


def _listed_files(marker: Path) -> dict[str, str]:
    """The ``files`` a done marker lists, ``{relative path: sha256}``.

    Raises
    ------
    StoreError
        Naming the marker if it cannot be read or lists no file hashes.
    """
    files = read_json(marker).get("files")
    ok = isinstance(files, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    )
    if not ok or not files:
        raise StoreError(
            marker,
            "done marker without part hashes (damaged, or written by an older pbrsim); "
            "rerun the batch with --resume to redo its task",
        )
    return dict(files)


def _check_file(out: Path, rel: str, sha256: str, marker: Path) -> None:
    """Raise StoreError naming ``OUT/rel`` if it is missing or not the bytes hashed."""
    path = out / rel
    try:
        found = file_sha256(path)
    except FileNotFoundError:
        raise StoreError(
            path, f"missing, though its task's done marker {marker} lists it"
        ) from None
    except OSError as err:
        raise StoreError(path, f"cannot read: {err.strerror or err}") from None
    if found != sha256:
        raise StoreError(
            path,
            f"damaged: its content is not what its task wrote (sha256 {found[:12]}, "
            f"expected {sha256[:12]} from {marker})",
        )


def task_fault(out: Path, part: str) -> StoreError | None:
    """Check that the task writing ``part`` finished and its files are intact.

    Returns
    -------
    StoreError or None
        None if the task's done marker lists exactly its parts of :data:`TABLES` and
        each has the SHA-256 recorded; otherwise the first problem found (a missing
        marker, a damaged marker, a missing or damaged part), not raised.
    """
    out = Path(out)
    marker = marker_path(out, part)
    if not marker.exists():
        return StoreError(marker, "missing: the task did not finish")
    try:
        files = _listed_files(marker)
        expected = {part_path(out, t, part).relative_to(out).as_posix() for t in TABLES}
        if set(files) != expected:
            raise StoreError(marker, f"lists {sorted(files)}, expected {sorted(expected)}")
        for rel in sorted(files):
            _check_file(out, rel, files[rel], marker)
    except StoreError as fault:
        return fault
    return None


def verify(out: Path) -> None:
    """Check every result file of an output folder before anything reads it.

    In a batch folder (one with done markers, or whose manifest has a
    ``batch_hash``), every part of :data:`TABLES` must be listed by a done marker
    and have the SHA-256 it records, and every file a marker lists must exist. In a
    folder of partitions without markers (assembled by hand or by a test), every
    part must at least be readable Parquet. ``OUT/manifest.json``, if present, must
    be a JSON object.

    Raises
    ------
    StoreError
        Naming the first file at fault (in sorted order), and how many more there
        are, on one line.
    """
    out = Path(out)
    manifest = out / "manifest.json"
    batch_hash = read_json(manifest).get("batch_hash") if manifest.exists() else None
    markers = _visible(list((out / MARKERS).glob("**/*.json")))
    parts = _visible([p for t in TABLES for p in (out / t).glob("**/*.parquet")])
    faults: list[StoreError] = []
    if markers or batch_hash is not None:
        listed: set[Path] = set()
        for marker in markers:
            try:
                files = _listed_files(marker)
                listed.update(out / rel for rel in files)
                for rel in sorted(files):
                    _check_file(out, rel, files[rel], marker)
            except StoreError as fault:
                faults.append(fault)
        faults += [
            StoreError(
                p,
                "not written by a finished task (no done marker lists it); "
                "rerun the batch with --resume",
            )
            for p in parts
            if p not in listed
        ]
    else:
        for p in parts:
            try:
                pl.read_parquet_schema(p)
            except (OSError, pl.exceptions.PolarsError) as err:
                faults.append(StoreError(p, f"damaged: not a readable Parquet file ({err})"))
    if faults:
        first = min(faults, key=lambda f: str(f.path))
        n_more = len(faults) - 1
        more = f" (and {n_more} more file{'s' if n_more > 1 else ''} at fault)" if n_more else ""
        raise StoreError(first.path, first.message + more)
