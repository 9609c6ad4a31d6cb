"""sim.store: the batch folder's paths, done markers with hashes, verification, manifest."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pbrsim.cli import app
from sim.store import ESTIMATES, TABLES, BatchStore, Manifest, StoreError

PART = "scenario=a/replicate=0/part-000"


def parquet(n_rows: int) -> bytes:
    buf = io.BytesIO()
    pl.DataFrame({"claimant_id": list(range(n_rows))}).write_parquet(buf)
    return buf.getvalue()


def filled(out: Path, parts: tuple[str, ...] = (PART,)) -> BatchStore:
    """A batch folder with one task per part and a manifest."""
    folder = BatchStore(out)
    for k, part in enumerate(parts):
        folder.write_task(part, {t: parquet(3 + k) for t in TABLES}, {"shard": k})
    folder.write_manifest({"batch_hash": "h", "baseline": "a"})
    return folder


def test_paths_are_built_in_one_place(tmp_path: Path) -> None:
    folder = BatchStore(tmp_path)
    assert folder.part_path("ledger", PART) == tmp_path / "ledger" / f"{PART}.parquet"
    assert folder.marker_path(PART) == tmp_path / "_tasks" / f"{PART}.json"
    assert folder.replicate_folder("monthly", "a", 2) == tmp_path / "monthly/scenario=a/replicate=2"
    assert folder.estimate_path("impacts.csv") == tmp_path / "impacts.csv"
    with pytest.raises(ValueError, match="none of"):
        folder.estimate_path("ledger.parquet")


def test_a_finished_task_verifies_and_its_marker_holds_the_hashes(tmp_path: Path) -> None:
    folder = filled(tmp_path)
    assert folder.task_fault(PART) is None
    folder.verify()
    files = json.loads(folder.marker_path(PART).read_text())["files"]
    assert sorted(files) == sorted(f"{t}/{PART}.parquet" for t in TABLES)


@pytest.mark.parametrize(
    ("damage", "named", "fragment"),
    [
        ("truncate part", f"ledger/{PART}.parquet", "damaged"),
        ("delete part", f"monthly/{PART}.parquet", "missing"),
        ("delete marker", f"_tasks/{PART}.json", "missing"),
        ("damage marker", f"_tasks/{PART}.json", "not valid JSON"),
        ("old marker", f"_tasks/{PART}.json", "without part hashes"),
        ("marker lists too little", f"_tasks/{PART}.json", "expected"),
    ],
)
def test_task_fault_names_the_file(tmp_path: Path, damage: str, named: str, fragment: str) -> None:
    folder = filled(tmp_path)
    target = tmp_path / named
    if damage == "truncate part":
        target.write_bytes(target.read_bytes()[:100])
    elif damage.startswith("delete"):
        target.unlink()
    elif damage == "damage marker":
        target.write_text("{")
    elif damage == "old marker":  # as pbrsim wrote them before part hashes
        target.write_text('{"n_rows": 3, "shard": 0}')
    else:
        data = json.loads(target.read_text())
        data["files"].pop(f"providers/{PART}.parquet")
        target.write_text(json.dumps(data))
    fault = folder.task_fault(PART)
    assert fault is not None and fault.path == target and fragment in str(fault)
    assert "\n" not in str(fault)


def test_verify_refuses_unmarked_and_stray_files(tmp_path: Path) -> None:
    folder = filled(tmp_path)
    unmarked = folder.part_path("ledger", "scenario=a/replicate=1/part-000")
    unmarked.parent.mkdir(parents=True)
    unmarked.write_bytes(parquet(2))
    with pytest.raises(StoreError, match="no done marker lists it") as info:
        folder.verify()
    assert info.value.path == unmarked
    unmarked.unlink()
    stray = tmp_path / "ledger" / "notes.parquet"
    stray.write_bytes(parquet(1))
    with pytest.raises(StoreError, match="not a partition file") as info:
        folder.verify()
    assert info.value.path == stray


def test_verify_counts_the_other_faults_on_the_same_line(tmp_path: Path) -> None:
    parts = (PART, "scenario=a/replicate=0/part-001")
    folder = filled(tmp_path, parts)
    for part in parts:
        folder.part_path("ledger", part).write_bytes(b"x")
    with pytest.raises(StoreError) as info:
        folder.verify()
    assert info.value.path == folder.part_path("ledger", PART)
    assert str(info.value).endswith("(and 1 more file at fault)")


def test_a_folder_without_markers_is_checked_for_readable_parquet(tmp_path: Path) -> None:
    folder = BatchStore(tmp_path)
    path = folder.part_path("ledger", PART)
    path.parent.mkdir(parents=True)
    path.write_bytes(parquet(4))
    folder.verify()  # no markers, no batch hash: a hand-made folder
    path.write_bytes(parquet(4)[:100])
    with pytest.raises(StoreError, match="not a readable Parquet file") as info:
        folder.verify()
    assert info.value.path == path


def test_parts_are_parsed_and_sorted(tmp_path: Path) -> None:
    parts = ("scenario=b/replicate=1/part-001", "scenario=a/replicate=10/part-000", PART)
    folder = filled(tmp_path, parts)
    found = folder.parts("ledger")
    assert [(p.scenario, p.replicate, p.shard) for p in found] == [
        ("a", 0, 0),
        ("a", 10, 0),
        ("b", 1, 1),
    ]
    assert [p.scenario for p in folder.parts("ledger", "b")] == ["b"]


def test_manifest_is_validated_naming_the_key(tmp_path: Path) -> None:
    folder = filled(tmp_path)
    assert folder.read_manifest() == Manifest(batch_hash="h", baseline="a")
    folder.manifest_path.write_text(json.dumps({"scenarios": {"a": {"parked_gap_days": "7"}}}))
    with pytest.raises(StoreError) as info:
        folder.read_manifest()
    assert info.value.path == folder.manifest_path
    assert "scenarios.a.parked_gap_days = '7'" in str(info.value)
    result = CliRunner().invoke(app, ["compare", str(tmp_path), "--baseline", "a"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "parked_gap_days" in lines[0]
    assert "Traceback" not in result.output


def test_manifest_keeps_keys_it_does_not_name(tmp_path: Path) -> None:
    folder = BatchStore(tmp_path)
    folder.write_manifest({"status": "complete", "versions": {"polars": "1"}})
    assert json.loads(folder.manifest_path.read_text()) == {
        "status": "complete",
        "versions": {"polars": "1"},
    }


def test_clear_removes_only_batch_results(tmp_path: Path) -> None:
    folder = filled(tmp_path)
    for name in ESTIMATES:
        (tmp_path / name).write_text("x")
    (tmp_path / "report").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    folder.clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
