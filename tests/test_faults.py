"""Faults injected into batches: what breaks must stop cleanly and be finished by --resume.

* SIGTERM mid-batch: one line, non-zero exit, finished tasks kept; ``--resume`` ends with
  the bytes of an uninterrupted run.
* A scenario file changed between a run and its resume: refused, one line naming the file.
* No space left on the device while writing: one line naming the file, exit 2, the results
  already written untouched.
* A Dask worker killed mid-task: the task is retried and the bytes are a serial run's.

Every batch here is the same small one (two scenarios copied into the test's folder, 2
replications of 1,800 claimants in tasks of 150: 48 tasks), so one serial run is the
reference for all.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_batch import digest, write_batch
from typer.testing import CliRunner, Result

from pbrsim.cli import app
from sim import store
from sim.batch import run_batch
from sim.batch_spec import load_batch
from sim.executors import BatchStopped, stop_on_signals

ROOT = Path(__file__).resolve().parents[1]
PBRSIM = [sys.executable, "-c", "from pbrsim.cli import app; app()"]
N_TASKS = 2 * 2 * 12  # replications x scenarios x shards of 150 claimants


def make_batch(folder: Path, **overrides: object) -> Path:
    """The fault tests' batch: WP and its JCP counterfactual, copied into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("work_programme.toml", "jcp_offer.toml"):
        shutil.copy(ROOT / "scenarios" / name, folder / name)
    spec: dict[str, object] = {
        "scenarios": ["work_programme.toml", "jcp_offer.toml"],
        "claimants": 1800,
        "claimants_per_task": 150,
        **overrides,
    }
    return write_batch(folder, **spec)


def every_file(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def everything(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` but the manifest (which a run rewrites)."""
    return {k: v for k, v in every_file(folder).items() if k != "manifest.json"}


def one_line(result: Result) -> str:
    """The single non-empty line a failed command printed on stderr."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Digest of the Parquet and CSV files of an uninterrupted serial run."""
    tmp = tmp_path_factory.mktemp("reference")
    report = run_batch(load_batch(make_batch(tmp)), tmp / "out", workers=1)
    assert report.n_tasks == N_TASKS and not report.failed
    return {**digest(tmp / "out"), **digest(tmp / "out", "*.csv")}


def results(out: Path) -> dict[str, str]:
    return {**digest(out), **digest(out, "*.csv")}


def markers(out: Path) -> list[Path]:
    return sorted(p for p in (out / "_tasks").rglob("*.json") if not p.name.startswith("."))


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_stops_cleanly_and_resume_finishes_identically(
    reference: dict[str, str], tmp_path: Path
) -> None:
    path = make_batch(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*PBRSIM, "batch", str(path), "--out", str(out), "--workers", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and len(markers(out)) < 2:
            time.sleep(0.02)
        assert proc.poll() is None, "the batch ended before it could be stopped"
        os.kill(proc.pid, signal.SIGTERM)  # the runner only, as a service manager would
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "SIGTERM" in lines[0] and "--resume" in lines[0]
    # the spawned worker went with the runner
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("a worker process outlived the stopped batch")
    # finished tasks are kept, verified; nothing after them was estimated
    kept = markers(out)
    assert 2 <= len(kept) < N_TASKS
    assert not (out / "impacts.parquet").exists()
    parts = [str(m.relative_to(out / "_tasks").with_suffix("")) for m in kept]
    assert all(store.BatchStore(out).task_fault(part) is None for part in parts)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and manifest["stopped_by"] == "SIGTERM"

    report = run_batch(load_batch(path), out, workers=1, resume=True)
    assert report.n_skipped == len(kept) and report.n_redone == 0
    assert results(out) == reference


def test_a_signal_inside_a_running_simulation_stops_the_batch(tmp_path: Path) -> None:
    """The signal lands in SimPy's event loop, which re-raises a copy of the exception."""
    path = make_batch(tmp_path)
    out = tmp_path / "out"
    armed: list[bool] = []

    def arm(_task: object, ok: bool) -> None:
        if ok and not armed:  # mid-way through the next task, run in this process
            signal.setitimer(signal.ITIMER_REAL, 0.03)
            armed.append(True)

    with pytest.raises(BatchStopped) as info, stop_on_signals([signal.SIGALRM]):
        run_batch(load_batch(path), out, workers=1, on_done=arm)
    assert str(info.value) == "stopped by SIGALRM"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and manifest["failed_tasks"] == []
    assert 1 <= len(markers(out)) < N_TASKS
    copy = type(info.value)(*info.value.args)
    assert (copy.signum, str(copy)) == (info.value.signum, str(info.value))


# --------------------------------------------------------------------------- changed inputs


@pytest.mark.parametrize("changed", ["jcp_offer.toml", "work_programme.toml"])
def test_resume_after_a_scenario_file_changed_is_refused_naming_it(
    tmp_path: Path, changed: str
) -> None:
    """Whether the scenario's own file changed or the base it extends."""
    path = make_batch(tmp_path, claimants=600, claimants_per_task=600)
    out = tmp_path / "out"
    run_batch(load_batch(path), out, workers=1)
    file = tmp_path / changed
    file.write_text(file.read_text().replace('description = "', 'description = "edited: ', 1))
    before = every_file(out)
    result = invoke("batch", str(path), "--out", str(out), "--workers", "1", "--resume")
    assert result.exit_code == 2
    line = one_line(result)
    assert str(file.resolve()) in line and "changed" in line
    assert every_file(out) == before  # the manifest too: nothing was touched


# --------------------------------------------------------------------------- full disk


class DiskFull:
    """A stand-in for :func:`sim.store._write_bytes` that runs out of space.

    The first ``ok`` writes succeed; every later one writes half its bytes to the
    temporary file and raises ENOSPC, as a full disk does.
    """

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.calls = 0

    def __call__(self, path: Path, data: bytes) -> None:
        self.calls += 1
        if self.calls > self.ok:
            path.write_bytes(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        path.write_bytes(data)


@pytest.mark.parametrize("ok", [0, 2])
def test_no_space_left_is_one_line_and_keeps_earlier_results(
    reference: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ok: int
) -> None:
    """A resume redoing two tasks runs out of space at its first write, or after one part."""
    path = make_batch(tmp_path)
    out = tmp_path / "out"
    run_batch(load_batch(path), out, workers=1)
    lost = markers(out)[:2]
    for marker in lost:  # these two tasks must be redone
        marker.unlink()
    before = everything(out)

    disk = DiskFull(ok)
    monkeypatch.setattr(store, "_write_bytes", disk)
    result = invoke("batch", str(path), "--out", str(out), "--workers", "1", "--resume")
    assert result.exit_code == 2
    line = one_line(result)
    assert "No space left on device" in line and ".parquet" in line
    assert disk.calls == ok + 1
    assert everything(out) == before  # nothing written before was changed or removed
    assert not [p for p in out.rglob(".*tmp*")], "a temporary file was left behind"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "No space left on device" in manifest["error"]

    monkeypatch.undo()
    report = run_batch(load_batch(path), out, workers=1, resume=True)
    assert report.n_skipped == N_TASKS - 2
    assert results(out) == reference


# --------------------------------------------------------------------------- Dask worker lost


@pytest.mark.slow
def test_dask_worker_killed_mid_task_is_retried(reference: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from distributed import Client

    from sim.executors import start_local_cluster

    path = make_batch(tmp_path)
    out = tmp_path / "out"
    cluster = start_local_cluster(2)
    client = Client(cluster)
    killed: dict[str, object] = {}

    def kill_a_busy_worker() -> None:
        pids = client.run(os.getpid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = [a for a, keys in client.processing().items() if keys]
            if busy and markers(out):
                killed["tasks"] = client.processing()[busy[0]]
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed["pid"] = pids[busy[0]]
                killed["done_at_kill"] = len(markers(out))
            time.sleep(0.01)

    try:
        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        report = run_batch(load_batch(path), out, scheduler=cluster.scheduler_address)
        killer.join()
        pids_after = set(client.run(os.getpid).values())
    finally:
        client.close()
        cluster.close()
    assert killed, "no worker was killed"
    assert killed["tasks"] and 1 <= killed["done_at_kill"] < N_TASKS  # type: ignore[operator]
    assert killed["pid"] not in pids_after  # the nanny started a new worker process
    assert not report.failed
    assert results(out) == reference


def test_hashes_in_markers_are_the_parts_sha256(tmp_path: Path) -> None:
    path = make_batch(tmp_path, claimants=300, claimants_per_task=300, replications=1)
    out = tmp_path / "out"
    run_batch(load_batch(path), out, workers=1)
    for marker in markers(out):
        files = json.loads(marker.read_text())["files"]
        assert sorted(f.split("/")[0] for f in files) == sorted(store.TABLES)
        for rel, sha in files.items():
            assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha
