"""One owner of a batch output folder: its paths, done markers with hashes, checks, manifest.

A batch (:mod:`sim.batch`) writes into an output folder ``OUT``::

    OUT/manifest.json                                   # Manifest: what ran, how, its status
    OUT/<table>/scenario=S/replicate=R/part-K.parquet   # table in TABLES, one part per task
    OUT/_tasks/scenario=S/replicate=R/part-K.json       # the task's done marker, written last
    OUT/impacts.parquet, impacts.csv, summary.parquet, summary.csv   # the estimates
    OUT/report/, OUT/calibration/                       # the report and a calibration fit

:class:`BatchStore` is the only code that builds these paths. Every file is written
atomically (a temporary sibling renamed into place). A task's done marker records the
SHA-256 of every part file the task wrote
(``"files": {"ledger/scenario=S/replicate=R/part-K.parquet": "<hex>", ...}``), so a
part that was cut short, changed or lost after its task finished is caught:
:meth:`BatchStore.task_fault` tells a resumed batch which tasks to redo, and
:meth:`BatchStore.verify` stops the estimates and the report from reading a part that
is not what its task wrote. Every problem is a :class:`StoreError` naming one file, on
one line.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.outputs import atomic_write

__all__ = [
    "ESTIMATES",
    "MARKERS",
    "TABLES",
    "BatchStore",
    "Manifest",
    "Part",
    "ScenarioRecord",
    "StoreError",
    "file_sha256",
    "read_json",
    "read_parquet",
    "write_atomic",
]

TABLES = ("ledger", "providers", "monthly")
"""Tables every task writes one part of."""

MARKERS = "_tasks"
"""Folder of the done markers."""

ESTIMATES = (
    "impacts.parquet",
    "impacts.csv",
    "summary.parquet",
    "summary.csv",
    "data_dictionary.csv",
)
"""Files the estimates write (:func:`sim.estimates.write_estimates`), and the data dictionary."""

_FOLDERS = (*TABLES, MARKERS, "report", "calibration", "compare")
_PART_RE = re.compile(r"scenario=([^/]+)/replicate=(\d+)/part-(\d+)\.parquet")
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

    def __reduce__(self) -> tuple[type[StoreError], tuple[Path, str]]:
        """Pickle as its two arguments (so that it crosses to and from worker processes)."""
        return (type(self), (self.path, self.message))


# --------------------------------------------------------------------------- the manifest


class ScenarioRecord(BaseModel):
    """What the manifest keeps of one scenario of a batch."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    hash: str | None = None
    """:func:`sim.scenario.scenario_hash` of the resolved scenario."""
    regime: str | None = None
    parked_gap_days: float | None = None
    """``records.parked_gap_days``: days without provider contact that make a claimant parked."""
    resolved: dict[str, Any] = Field(default_factory=dict)
    """The resolved scenario, as JSON."""


class Manifest(BaseModel):
    """``OUT/manifest.json``, validated.

    Every field is optional, so that a folder assembled by hand (a few keys) is still
    read; a field that is present must have its type. Keys not named here are kept.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    batch: str | None = None
    batch_file: str | None = None
    batch_text: str | None = None
    batch_hash: str | None = None
    """Hash of the batch spec and its resolved scenarios: same hash, same results."""
    overrides: dict[str, int] = Field(default_factory=dict)
    input_files: dict[str, str] = Field(default_factory=dict)
    """SHA-256 of the batch file and every scenario file it read, by absolute path."""
    baseline: str | None = None
    seed: int | None = None
    claimants: int | None = None
    replications: int | None = None
    scenarios: dict[str, ScenarioRecord] = Field(default_factory=dict)
    status: Literal["running", "complete", "failed", "stopped"] | None = None


def _manifest_problem(path: Path, err: ValidationError) -> StoreError:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    shown = repr(first.get("input"))
    shown = shown if len(shown) <= 80 else shown[:76] + " ..."
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return StoreError(path, f"damaged: {key} = {shown}: {first['msg']}{more}")


# --------------------------------------------------------------------------- files


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


# --------------------------------------------------------------------------- the folder


@dataclass(frozen=True)
class Part:
    """One partition file of a table."""

    scenario: str
    replicate: int
    shard: int
    path: Path


@dataclass(frozen=True)
class BatchStore:
    """The files of one batch output folder.

    Parameters
    ----------
    out : Path
        The output folder (need not exist yet).
    """

    out: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))

    # ------------------------------------------------------------------ paths
    @property
    def manifest_path(self) -> Path:
        """``OUT/manifest.json``."""
        return self.out / "manifest.json"

    def part_path(self, table: str, part: str) -> Path:
        """Path of a task's part of ``table``; ``part`` is ``scenario=S/replicate=R/part-K``."""
        return self.out / table / f"{part}.parquet"

    def marker_path(self, part: str) -> Path:
        """Path of the done marker of the task writing ``part``."""
        return self.out / MARKERS / f"{part}.json"

    def replicate_folder(self, table: str, scenario: str, replicate: int) -> Path:
        """Folder of the parts of ``table`` for one (scenario, replicate)."""
        return self.out / table / f"scenario={scenario}" / f"replicate={replicate}"

    def estimate_path(self, name: str) -> Path:
        """Path of one of the :data:`ESTIMATES` files."""
        if name not in ESTIMATES:
            raise ValueError(f"{name!r} is none of {ESTIMATES}")
        return self.out / name

    def calibration_fit_path(self, suffix: str) -> Path:
        """Where a batch keeps the calibration fit it shows (``.csv`` or ``.parquet``)."""
        return self.out / "calibration" / f"fit{suffix}"

    def _files(self, table: str) -> list[Path]:
        """Every ``.parquet`` file under ``table``, without temporary files, sorted."""
        found = (self.out / table).glob("**/*.parquet")
        return sorted(p for p in found if not p.name.startswith("."))

    def parts(self, table: str, scenario: str | None = None) -> list[Part]:
        """Every partition file of ``table`` (of one scenario if given), sorted by path.

        Raises
        ------
        StoreError
            Naming a ``.parquet`` file under the table that is not a partition
            (``scenario=S/replicate=R/part-K.parquet``).
        """
        found = []
        for path in self._files(table):
            match = _PART_RE.fullmatch(path.relative_to(self.out / table).as_posix())
            if match is None:
                raise StoreError(
                    path, "not a partition file (expected scenario=S/replicate=R/part-K.parquet)"
                )
            name, replicate, shard = match.group(1), int(match.group(2)), int(match.group(3))
            if scenario is None or name == scenario:
                found.append(Part(name, replicate, shard, path))
        return found

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> Manifest | None:
        """The validated manifest, or None if there is none.

        Raises
        ------
        StoreError
            If it cannot be read, is not a JSON object, or a field has the wrong type
            (the message names the key and its value).
        """
        path = self.manifest_path
        if not path.exists():
            return None
        try:
            return Manifest.model_validate(read_json(path))
        except ValidationError as err:
            raise _manifest_problem(path, err) from None

    def write_manifest(self, data: Mapping[str, Any]) -> None:
        """Validate ``data`` as a :class:`Manifest` and write it atomically.

        Raises
        ------
        pydantic.ValidationError
            If ``data`` is not a valid manifest (a bug in the caller).
        StoreError
            If it cannot be written.
        """
        manifest = Manifest.model_validate(dict(data))
        dumped = manifest.model_dump(mode="json", exclude_unset=True)
        text = json.dumps(dumped, indent=2, sort_keys=True) + "\n"
        write_atomic(self.manifest_path, lambda p: p.write_text(text))

    # ------------------------------------------------------------------ tasks
    def write_task(
        self, part: str, tables: Mapping[str, bytes], meta: Mapping[str, object]
    ) -> None:
        """Write a task's parts atomically, then its done marker with their SHA-256.

        Parameters
        ----------
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
            path = self.part_path(table, part)
            write_atomic(path, _bytes_writer(data))
            files[path.relative_to(self.out).as_posix()] = hashlib.sha256(data).hexdigest()
        text = json.dumps({**meta, "files": files}, sort_keys=True) + "\n"
        write_atomic(self.marker_path(part), lambda p: p.write_text(text))

    def forget_task(self, part: str) -> None:
        """Remove the done marker of the task writing ``part`` (before redoing the task).

        Raises
        ------
        StoreError
            If the marker exists and cannot be removed.
        """
        marker = self.marker_path(part)
        try:
            marker.unlink(missing_ok=True)
        except OSError as err:
            raise StoreError(marker, f"cannot remove: {err.strerror or err}") from None

    def _listed_files(self, marker: Path) -> dict[str, str]:
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

    def _check_file(self, rel: str, sha256: str, marker: Path) -> None:
        """Raise StoreError naming ``OUT/rel`` if it is missing or not the bytes hashed."""
        path = self.out / rel
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

    def task_fault(self, part: str) -> StoreError | None:
        """Check that the task writing ``part`` finished and its files are intact.

        Returns
        -------
        StoreError or None
            None if the task's done marker lists exactly its parts of :data:`TABLES`
            and each has the SHA-256 recorded; otherwise the first problem found (a
            missing marker, a damaged marker, a missing or damaged part), not raised.
        """
        marker = self.marker_path(part)
        if not marker.exists():
            return StoreError(marker, "missing: the task did not finish")
        try:
            files = self._listed_files(marker)
            expected = {self.part_path(t, part).relative_to(self.out).as_posix() for t in TABLES}
            if set(files) != expected:
                raise StoreError(marker, f"lists {sorted(files)}, expected {sorted(expected)}")
            for rel in sorted(files):
                self._check_file(rel, files[rel], marker)
        except StoreError as fault:
            return fault
        return None

    # ------------------------------------------------------------------ the whole folder
    def verify(self) -> None:
        """Check every result file of the folder before anything reads it.

        In a batch folder (one with done markers, or whose manifest has a
        ``batch_hash``), every part of :data:`TABLES` must be listed by a done marker
        and have the SHA-256 it records, and every file a marker lists must exist. In
        a folder of partitions without markers (assembled by hand or by a test),
        every part must at least be readable Parquet. Every ``.parquet`` file under a
        table must be a partition, and ``OUT/manifest.json``, if present, a valid
        :class:`Manifest`.

        Raises
        ------
        StoreError
            Naming the first file at fault (in sorted order), and how many more there
            are, on one line.
        """
        manifest = self.read_manifest()
        markers = sorted(
            p for p in (self.out / MARKERS).glob("**/*.json") if not p.name.startswith(".")
        )
        faults: list[StoreError] = []
        parts: list[Path] = []
        for table in TABLES:
            try:
                parts += [p.path for p in self.parts(table)]
            except StoreError as fault:
                faults.append(fault)
        if markers or (manifest is not None and manifest.batch_hash is not None):
            listed: set[Path] = set()
            for marker in markers:
                try:
                    files = self._listed_files(marker)
                    listed.update(self.out / rel for rel in files)
                    for rel in sorted(files):
                        self._check_file(rel, files[rel], marker)
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
            plural = "s" if n_more > 1 else ""
            more = f" (and {n_more} more file{plural} at fault)" if n_more else ""
            raise StoreError(first.path, first.message + more)

    def clear(self) -> None:
        """Remove every result of a batch from the folder (for ``--overwrite``).

        Only what a batch writes goes: the tables, done markers, report, calibration
        fit, estimates and manifest. Anything else in the folder stays.
        """
        for sub in _FOLDERS:
            shutil.rmtree(self.out / sub, ignore_errors=True)
        for name in (*ESTIMATES, self.manifest_path.name):
            (self.out / name).unlink(missing_ok=True)
