"""Batches: determinism across backends, null reform, resume after SIGKILL, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from sim.batch import OutputConflict, run_batch
from sim.batch_spec import load_batch
from sim.scenario import ScenarioError
from sim.store import StoreError
from sim.tasks import expected_cost, longest_first, plan_tasks, run_task, write_task

ROOT = Path(__file__).resolve().parents[1]


def write_batch(tmp: Path, **overrides: object) -> Path:
    """A small batch of the WP scenario and its counterfactual, in ``tmp``."""
    spec = {
        "name": "small",
        "scenarios": [
            str(ROOT / "scenarios/work_programme.toml"),
            str(ROOT / "scenarios/jcp_offer.toml"),
        ],
        "baseline": "jcp_offer",
        "replications": 2,
        "claimants": 1200,
        "seed": 42,
        "claimants_per_task": 600,
        **overrides,
    }
    lines = []
    for key, value in spec.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = tmp / "batch.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def digest(folder: Path, pattern: str = "*.parquet") -> dict[str, str]:
    """sha256 of every matching file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob(pattern))
        if not p.name.startswith(".")
    }


def test_plan_is_fixed_and_shards_cover_all_areas(tmp_path: Path) -> None:
    batch = load_batch(write_batch(tmp_path))
    tasks = plan_tasks(batch, range(2))
    assert len(tasks) == 2 * 2 * 2  # replicates x scenarios x shards
    for name in ("work_programme", "jcp_offer"):
        areas = sorted(a for t in tasks if t.scenario == name and t.replicate == 0 for a in t.areas)
        assert areas == list(range(18))
    assert [t.part for t in tasks] == [t.part for t in plan_tasks(batch, range(2))]


def test_longest_tasks_are_handed_out_first(tmp_path: Path) -> None:
    batch = load_batch(write_batch(tmp_path, claimants=3000, claimants_per_task=1000))
    tasks = plan_tasks(batch, range(2))
    ordered = longest_first(tasks)
    assert sorted(t.part for t in ordered) == sorted(t.part for t in tasks)
    costs = [expected_cost(t) for t in ordered]
    assert costs == sorted(costs, reverse=True)
    # a Work Programme shard costs more than the same shard under the JCP offer
    wp, jcp = (next(t for t in tasks if t.scenario == s) for s in ("work_programme", "jcp_offer"))
    assert wp.areas == jcp.areas and expected_cost(wp) > expected_cost(jcp)
    # ties keep the planned order
    same = [t for t in ordered if expected_cost(t) == costs[0]]
    assert same == [t for t in tasks if expected_cost(t) == costs[0]]


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("serial")
    batch = load_batch(write_batch(tmp))
    report = run_batch(batch, tmp / "out", workers=1)
    assert not report.failed
    return tmp / "out"


def test_batch_writes_partitions_summary_and_impacts(serial_run: Path) -> None:
    for name in ("work_programme", "jcp_offer"):
        for r in range(2):
            parts = list(
                (serial_run / "ledger" / f"scenario={name}" / f"replicate={r}").glob("*.parquet")
            )
            assert len(parts) == 2
    for f in ("impacts.parquet", "impacts.csv", "summary.parquet", "summary.csv", "manifest.json"):
        assert (serial_run / f).exists(), f
    manifest = json.loads((serial_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert set(manifest["scenarios"]) == {"work_programme", "jcp_offer"}
    assert manifest["versions"]["polars"] == pl.__version__
    ledger = pl.read_parquet(serial_run / "ledger" / "**" / "*.parquet", hive_partitioning=True)
    assert ledger.height == 2 * 2 * 1200
    assert ledger.group_by("scenario", "replicate").len()["len"].to_list() == [1200] * 4


def test_two_local_workers_are_bit_identical(serial_run: Path, tmp_path: Path) -> None:
    batch = load_batch(write_batch(tmp_path))
    run_batch(batch, tmp_path / "out", workers=2)
    assert digest(tmp_path / "out") == digest(serial_run)
    assert digest(tmp_path / "out", "*.csv") == digest(serial_run, "*.csv")


def test_local_pool_returns_every_task_once_and_reports_failures(tmp_path: Path) -> None:
    """This process and two spawned workers share the queue; a failed task does not stop it."""
    import dataclasses

    from sim.executors import run_local

    tasks = plan_tasks(
        load_batch(write_batch(tmp_path, claimants=300, claimants_per_task=100)), [0]
    )
    broken = dataclasses.replace(tasks[-1], n_claimants=0)  # simulate() refuses it
    tasks = [*tasks[:-1], broken]
    outcomes = list(run_local(tasks, workers=3))
    assert sorted(t.part for t, _, _ in outcomes) == sorted(t.part for t in tasks)
    failed = [t for t, out, err in outcomes if err is not None]
    assert failed == [broken]
    assert all(out is not None and out.n_rows > 0 for t, out, _ in outcomes if t != broken)


def test_a_worker_writing_its_own_parts_writes_what_the_runner_would(tmp_path: Path) -> None:
    """``run_task(task, out)`` (a shared file system) writes the bytes the runner writes from
    the returned ones, and sends back no tables."""
    batch = load_batch(write_batch(tmp_path))
    task = plan_tasks(batch, range(1))[0]
    sent = run_task(task)
    write_task(tmp_path / "runner", task, sent)
    kept = run_task(task, str(tmp_path / "worker"))
    assert kept.written and not sent.written
    assert kept.ledger == kept.providers == kept.monthly == b""
    assert (kept.n_rows, kept.n_sim_events) == (sent.n_rows, sent.n_sim_events)
    assert digest(tmp_path / "worker") == digest(tmp_path / "runner") != {}


def test_a_store_error_crosses_process_boundaries_intact() -> None:
    err = StoreError(Path("/out/ledger/part-000.parquet"), "No space left on device")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is StoreError and str(back) == str(err) and back.path == err.path


def test_dask_local_cluster_is_bit_identical(serial_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    batch = load_batch(write_batch(tmp_path))
    run_batch(batch, tmp_path / "out", dask_local=2)
    assert digest(tmp_path / "out") == digest(serial_run)


def test_null_reform_gives_exactly_zero_differences(tmp_path: Path) -> None:
    copy = tmp_path / "wp_copy.toml"
    copy.write_text(f'extends = "{ROOT / "scenarios/work_programme.toml"}"\nname = "wp_copy"\n')
    path = write_batch(
        tmp_path,
        scenarios=[str(ROOT / "scenarios/work_programme.toml"), str(copy)],
        baseline="work_programme",
        claimants=800,
        claimants_per_task=800,
    )
    run_batch(load_batch(path), tmp_path / "out", workers=1)
    ledger = pl.read_parquet(
        tmp_path / "out" / "ledger" / "**" / "*.parquet", hive_partitioning=True
    )
    a = (
        ledger.filter(pl.col("scenario") == "work_programme")
        .drop("scenario")
        .sort("replicate", "claimant_id")
    )
    b = (
        ledger.filter(pl.col("scenario") == "wp_copy")
        .drop("scenario")
        .sort("replicate", "claimant_id")
    )
    assert a.equals(b)  # every claimant, every column
    impacts = pl.read_parquet(tmp_path / "out" / "impacts.parquet")
    diffs = impacts.filter(
        pl.col("effect").is_in(
            [
                "job_outcome_rate",
                "days_in_work",
                "days_on_benefit",
                "n_sanctions",
                "payments_gbp",
                "benefit_savings_gbp",
            ]
        )
    )
    assert diffs.height > 0
    assert (diffs["mean"] == 0.0).all() and (diffs["sd"].fill_null(0.0) == 0.0).all()


def test_existing_results_are_protected(serial_run: Path, tmp_path: Path) -> None:
    batch = load_batch(write_batch(tmp_path))
    before = digest(serial_run)
    with pytest.raises(OutputConflict, match="already holds batch results"):
        run_batch(batch, serial_run, workers=1)
    other = load_batch(write_batch(tmp_path, seed=43))
    with pytest.raises(OutputConflict, match="different batch"):
        run_batch(other, serial_run, workers=1, resume=True)
    assert digest(serial_run) == before


def test_resume_skips_finished_tasks(serial_run: Path, tmp_path: Path) -> None:
    batch = load_batch(write_batch(tmp_path))
    out = tmp_path / "out"
    run_batch(batch, out, workers=1)
    # lose two tasks' markers and one partition: resume must redo exactly those
    markers = sorted((out / "_tasks").rglob("*.json"))
    for m in markers[:2]:
        m.unlink()
    report = run_batch(batch, out, workers=1, resume=True)
    assert report.n_skipped == len(markers) - 2
    assert digest(out) == digest(serial_run)


def _pbrsim(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pbrsim ARGS`` in a fresh interpreter to the end, capturing its output."""
    return subprocess.run(
        [sys.executable, "-c", "from pbrsim.cli import app; app()", *args],
        capture_output=True,
        text=True,
    )


def _cli(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from pbrsim.cli import app; app()", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_sigkill_then_resume_gives_identical_impacts(serial_run: Path, tmp_path: Path) -> None:
    path = write_batch(tmp_path)
    out = tmp_path / "out"
    proc = _cli("batch", str(path), "--out", str(out), "--workers", "1", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "_tasks").rglob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "impacts.parquet").exists()
    resumed = _cli(
        "batch", str(path), "--out", str(out), "--workers", "1", "--resume", cwd=tmp_path
    )
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    assert (out / "impacts.parquet").read_bytes() == (serial_run / "impacts.parquet").read_bytes()
    assert (out / "impacts.csv").read_bytes() == (serial_run / "impacts.csv").read_bytes()
    assert digest(out) == digest(serial_run)


BASE = {"name": "b", "scenarios": ["WP"], "replications": 1, "claimants": 10, "seed": 1}


def render(spec: dict[str, object]) -> str:
    """A batch file's text from a dict (strings and lists as JSON, which TOML accepts)."""
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items())


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"scenarios": []}, "scenarios", "at least 1"),
        ({"replications": 0}, "replications", "greater than or equal to 1"),
        ({"seed": -1}, "seed", "greater than or equal to 0"),
        ({"workers": 3}, "workers", "unknown key"),
        ({"scenarios": ["missing.toml"]}, "", "file not found"),
        ({"baseline": "nope"}, "baseline", "is none of the scenarios"),
        ({"scenarios": ["WP", "WP"]}, "scenarios[1]", "a second scenario"),
        ({"replications": "4"}, "replications", "integer"),
        ({"claimants_per_task": 5}, "claimants_per_task", "greater than or equal to 100"),
        ({"calibration_fit": "nope.csv"}, "calibration_fit", "file not found"),
        ({"baselines": ["nope"]}, "baselines[0]", "is none of the scenarios"),
        ({"baselines": ["work_programme"] * 2}, "baselines", "names a scenario twice"),
        ({"baselines": []}, "baselines", "at least 1"),
        ({"baseline": "work_programme", "baselines": ["work_programme"]}, "", "not both"),
    ],
    ids=[
        "no-scenarios",
        "zero-reps",
        "negative-seed",
        "unknown-key",
        "missing-scenario",
        "bad-baseline",
        "duplicate-scenario",
        "string-for-int",
        "tiny-tasks",
        "missing-calibration-fit",
        "unknown-baselines",
        "repeated-baselines",
        "empty-baselines",
        "baseline-and-baselines",
    ],
)
def test_bad_batch_files(
    tmp_path: Path, changes: dict[str, object], key: str, fragment: str
) -> None:
    wp = str(ROOT / "scenarios/work_programme.toml")
    spec = {**BASE, **changes}
    spec["scenarios"] = [wp if s == "WP" else s for s in spec["scenarios"]]  # type: ignore[attr-defined]
    path = tmp_path / "bad.toml"
    path.write_text(render(spec))
    with pytest.raises(ScenarioError) as info:
        load_batch(path)
    problems = info.value.problems
    assert any(p.key == key and fragment in str(p) for p in problems), [str(p) for p in problems]


def test_toml_syntax_error_in_batch_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("name = \n")
    with pytest.raises(ScenarioError, match="invalid TOML"):
        load_batch(path)


def test_cli_bad_batch_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "b"\nscenarios = ["missing.toml"]\nreplications = 1\nclaimants = 10\nseed = 1\n'
    )
    proc = _pbrsim("batch", str(path), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "missing.toml" in proc.stderr and "file not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def _adaptive_batch(tmp_path: Path, target: float) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_batch(tmp_path, claimants=600, claimants_per_task=600)
    path.write_text(
        path.read_text()
        + "\n[adaptive]\n"
        # a continuous effect: a rate of 600 claimants can repeat exactly (a zero-width CI)
        + 'effect = "days_in_work"\ngroup = "all"\n'
        + f"target_half_width = {target}\nmax_replications = 6\nstep = 2\n"
    )
    return path


def test_adaptive_replications_stop_at_target_or_cap(tmp_path: Path) -> None:
    loose = run_batch(load_batch(_adaptive_batch(tmp_path / "a", 1e4)), tmp_path / "a" / "o")
    assert loose.replications == 2  # already precise enough
    tight = run_batch(load_batch(_adaptive_batch(tmp_path / "b", 1e-9)), tmp_path / "b" / "o")
    assert tight.replications == 6  # never precise enough: stops at the cap
    impacts = pl.read_parquet(tmp_path / "b" / "o" / "impacts.parquet")
    assert impacts["n_replicates"].max() == 6
    manifest = json.loads((tmp_path / "b" / "o" / "manifest.json").read_text())
    assert manifest["replications"] == 6


def test_calibration_fit_is_copied_for_the_report(tmp_path: Path) -> None:
    fit = tmp_path / "fit.csv"
    fit.write_text("target_id,label,published,simulated\nWP31,JSA 18-24,36.4,35.9\n")
    path = write_batch(tmp_path, claimants=300, claimants_per_task=300, replications=1)
    path.write_text(path.read_text() + 'calibration_fit = "fit.csv"\n')
    run_batch(load_batch(path), tmp_path / "out", workers=1)
    assert (tmp_path / "out" / "calibration" / "fit.csv").read_bytes() == fit.read_bytes()


def test_command_line_overrides_replace_file_values_and_enter_the_hash(tmp_path: Path) -> None:
    path = write_batch(tmp_path)
    plain = load_batch(path)
    small = load_batch(path, {"replications": 1, "claimants": 300, "seed": 7})
    assert (small.spec.replications, small.spec.claimants, small.spec.seed) == (1, 300, 7)
    assert small.overrides == {"replications": 1, "claimants": 300, "seed": 7}
    assert small.hash != plain.hash
    assert load_batch(path, {"claimants": 1200}).hash == plain.hash  # same value, same run
    with pytest.raises(ValueError, match="name"):
        load_batch(path, {"name": 3})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--claimants", "0", "greater than or equal to 1"),
        ("--replications", "0", "greater than or equal to 1"),
        ("--seed", "-1", "greater than or equal to 0"),
    ],
)
def test_cli_bad_override_exits_2_naming_the_flag(
    tmp_path: Path, flag: str, value: str, message: str
) -> None:
    proc = _pbrsim("batch", str(write_batch(tmp_path)), "--out", str(tmp_path / "o"), flag, value)
    assert proc.returncode == 2
    assert f"({flag} on the command line)" in proc.stderr
    assert message in proc.stderr and value in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_cli_override_runs_the_smaller_batch_and_records_it(tmp_path: Path) -> None:
    out = tmp_path / "o"
    proc = _pbrsim(
        "batch",
        str(write_batch(tmp_path)),
        "--out",
        str(out),
        *("--workers", "1", "--replications", "2", "--claimants", "300"),
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["overrides"] == {"replications": 2, "claimants": 300}
    assert manifest["claimants"] == 300
    ledger = pl.read_parquet(out / "ledger" / "**" / "*.parquet", hive_partitioning=True)
    assert ledger.height == 2 * 2 * 300


def test_several_baselines_each_get_their_impacts(tmp_path: Path) -> None:
    """The first baseline stays the batch's own impacts.*; each has its compare/ folder."""
    path = write_batch(tmp_path, claimants=300, claimants_per_task=300, baseline=None)
    text = path.read_text().replace(
        "baseline = null\n", 'baselines = ["jcp_offer", "work_programme"]\n'
    )
    path.write_text(text)
    batch = load_batch(path)
    assert batch.baseline == "jcp_offer"
    assert batch.comparisons == ("jcp_offer", "work_programme")
    out = tmp_path / "out"
    run_batch(batch, out, workers=1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["baseline"] == "jcp_offer"
    assert manifest["baselines"] == ["jcp_offer", "work_programme"]
    for name in ("jcp_offer", "work_programme"):
        impacts = pl.read_parquet(out / "compare" / f"baseline={name}" / "impacts.parquet")
        assert set(impacts["baseline"]) == {name}
        assert set(impacts["scenario"]) == {"jcp_offer", "work_programme"} - {name}
    primary = out / "compare" / "baseline=jcp_offer"
    for ext in ("parquet", "csv"):
        assert (out / f"impacts.{ext}").read_bytes() == (primary / f"impacts.{ext}").read_bytes()
    # --overwrite clears every comparison with the rest
    single = load_batch(write_batch(tmp_path, claimants=300, claimants_per_task=300))
    run_batch(single, out, workers=1, overwrite=True)
    assert [p.name for p in (out / "compare").iterdir()] == ["baseline=jcp_offer"]


# --------------------------------------------------------------------------- verified resume


def truncate(path: Path, size_bytes: int = 100) -> None:
    """Cut ``path`` to its first ``size_bytes`` bytes, as a full disk or a bad copy would."""
    with path.open("r+b") as fh:
        fh.truncate(size_bytes)


PART = Path("ledger/scenario=work_programme/replicate=1/part-000.parquet")


def test_resume_redoes_a_task_whose_part_was_damaged(serial_run: Path, tmp_path: Path) -> None:
    """A part cut short after its done marker is caught on resume and its task redone."""
    batch = load_batch(write_batch(tmp_path))
    out = tmp_path / "out"
    run_batch(batch, out, workers=1)
    truncate(out / PART)
    report = run_batch(batch, out, workers=1, resume=True)
    assert report.n_redone == 1
    assert report.n_skipped == report.n_tasks - 1
    assert digest(out) == digest(serial_run)
    assert digest(out, "*.csv") == digest(serial_run, "*.csv")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_tasks_redone_after_verification"] == 1
    assert [str(PART) in r for r in manifest["redone_tasks"]] == [True]


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("truncate", str(PART)),
        ("delete", str(PART)),
        ("flip", str(PART)),
        ("manifest", "manifest.json"),
    ],
)
def test_compare_on_damaged_results_is_one_line_naming_the_file(
    serial_run: Path, tmp_path: Path, damage: str, named: str
) -> None:
    import shutil

    from typer.testing import CliRunner

    from pbrsim.cli import app

    out = tmp_path / "out"
    shutil.copytree(serial_run, out)
    target = out / named
    if damage == "truncate":
        truncate(target)
    elif damage == "delete":
        target.unlink()
    elif damage == "flip":  # same length, one byte changed in the middle
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    else:
        target.write_text('{"baseline": "jcp_o')
    result = CliRunner().invoke(app, ["compare", str(out)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, lines
    assert str(target) in lines[0]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
