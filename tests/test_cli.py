"""The command line: files written, and bad input as status 2 with no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from test_scenario import CASES, Case, _copy_base, _write
from typer.testing import CliRunner

from pbrsim.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_writes_its_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = invoke(
        "run",
        str(ROOT / "scenarios/work_programme.toml"),
        "-n",
        "400",
        "--out",
        str(out),
        "--event-log",
    )
    assert code == 0, stderr
    names = {
        "ledger.parquet",
        "summary.parquet",
        "summary.csv",
        "providers.parquet",
        "monthly.parquet",
        "events.parquet",
        "manifest.json",
    }
    assert names <= {p.name for p in out.iterdir()}
    summary = pl.read_csv(out / "summary.csv")
    assert summary.columns == ["metric", "group", "horizon_months", "value"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_claimants"] == 400 and manifest["seed"] == 1
    assert "summary by payment group" in stdout


def test_run_refuses_to_overwrite_results(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        invoke("run", str(ROOT / "scenarios/jcp_offer.toml"), "-n", "200", "--out", str(out))[0]
        == 0
    )
    before = (out / "ledger.parquet").read_bytes()
    code, _, stderr = invoke(
        "run", str(ROOT / "scenarios/jcp_offer.toml"), "-n", "300", "--out", str(out)
    )
    assert code == 2 and "--overwrite" in stderr and "Traceback" not in stderr
    assert (out / "ledger.parquet").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-n", "0"], "--claimants = 0"),
        (["--seed", "-4"], "--seed = -4"),
        (["--replicate", "-1"], "--replicate = -1"),
    ],
)
def test_run_bad_arguments(tmp_path: Path, args: list[str], fragment: str) -> None:
    code, _, stderr = invoke(
        "run", str(ROOT / "scenarios/work_programme.toml"), *args, "--out", str(tmp_path / "o")
    )
    assert code == 2 and fragment in stderr and "Traceback" not in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_broken_scenarios_exit_2_naming_file_key_value(
    tmp_path: Path, case: Case, command: str
) -> None:
    _copy_base(tmp_path)
    for name, text in case.files.items():
        _write(tmp_path, name, text)
    if case.top.endswith("/"):
        (tmp_path / case.top).mkdir()
    path = str(tmp_path / case.top.rstrip("/"))
    args = [path] if command == "validate" else [path, "-n", "50", "--out", str(tmp_path / "o")]
    code, _, stderr = invoke(command, *args)
    assert code == 2
    assert "Traceback" not in stderr
    flat = " ".join(stderr.split())
    assert str(tmp_path / case.file) in flat
    if case.key:
        assert f"{case.key} = " in flat and case.value in flat
    assert not (tmp_path / "o").exists()


def test_validate_ok_prints_hash() -> None:
    code, stdout, _ = invoke("validate", str(ROOT / "scenarios/work_programme.toml"))
    assert code == 0 and "ok" in stdout and "work_programme" in stdout


def test_compare_without_manifest_exits_2(tmp_path: Path) -> None:
    code, _, stderr = invoke("compare", str(tmp_path))
    assert code == 2 and "manifest.json" in stderr and "Traceback" not in stderr


def test_error_text_is_printed_as_is_not_read_as_markup(tmp_path: Path) -> None:
    """A pattern such as ``^[a-z][a-z0-9_]*$`` or a path with brackets reaches the user whole."""
    path = tmp_path / "hyphen.toml"
    path.write_text(f'extends = "{ROOT / "scenarios/work_programme.toml"}"\nname = "wp-x"\n')
    code, _, stderr = invoke("validate", str(path))
    assert code == 2 and "Traceback" not in stderr
    flat = " ".join(stderr.split())
    assert "name = 'wp-x'" in flat and "'^[a-z][a-z0-9_]*$'" in flat, flat
    odd = tmp_path / "[bold]odd[/]" / "missing.toml"
    code, _, stderr = invoke("validate", str(odd))
    assert code == 2 and str(odd) in " ".join(stderr.split())


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Work Programme against its counterfactual: 2 replications of 300 claimants."""
    from sim.batch import run_batch
    from sim.batch_spec import load_batch

    tmp = tmp_path_factory.mktemp("small_batch")
    spec = {
        "name": "small",
        "scenarios": [
            str(ROOT / "scenarios/work_programme.toml"),
            str(ROOT / "scenarios/jcp_offer.toml"),
        ],
        "baseline": "jcp_offer",
        "replications": 2,
        "claimants": 300,
        "seed": 3,
    }
    path = tmp / "small.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items()))
    run_batch(load_batch(path), tmp / "out", workers=1)
    return tmp / "out"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_compare_against_another_baseline_leaves_the_batch_alone(
    small_batch: Path, tmp_path: Path
) -> None:
    """Against the programme the counterfactual's outcomes fall: no cost ratio, printed as -."""
    out = tmp_path / "out"
    shutil.copytree(small_batch, out)
    before = _files(out)
    code, stdout, stderr = invoke("compare", str(out), "--baseline", "work_programme")
    assert code == 0, stderr
    flat = " ".join(stdout.split())
    assert "paired impacts against work_programme" in flat
    assert "cost_per_additional_outcome_gbp │ - │ - │ no ratio" in flat
    assert _files(out) == before  # impacts.*, summary.*, manifest.json: same bytes
    folder = out / "compare" / "baseline=work_programme"
    impacts = pl.read_parquet(folder / "impacts.parquet")
    assert set(impacts["baseline"]) == {"work_programme"} and (folder / "impacts.csv").exists()
    # with no --baseline, the batch's own baselines: the same bytes the batch wrote
    primary = out / "compare" / "baseline=jcp_offer" / "impacts.parquet"
    written = primary.read_bytes()
    code, stdout, _ = invoke("compare", str(out))
    assert code == 0 and "paired impacts against jcp_offer" in " ".join(stdout.split())
    assert primary.read_bytes() == written == (out / "impacts.parquet").read_bytes()


def test_compare_unknown_baseline_exits_2_and_writes_nothing(
    small_batch: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(small_batch, out)
    shutil.rmtree(out / "compare")
    code, _, stderr = invoke("compare", str(out), "--baseline", "nope")
    assert code == 2 and "Traceback" not in stderr
    flat = " ".join(stderr.split())
    assert "--baseline nope" in flat and "jcp_offer" in flat and "work_programme" in flat
    assert not (out / "compare").exists()


@pytest.mark.parametrize("command", ["report", "compare"])
def test_a_single_run_folder_is_refused_in_one_line(tmp_path: Path, command: str) -> None:
    out = tmp_path / "run"
    assert (
        invoke("run", str(ROOT / "scenarios/jcp_offer.toml"), "-n", "100", "--out", str(out))[0]
        == 0
    )
    before = sorted(p.name for p in out.iterdir())
    code, _, stderr = invoke(command, str(out))
    assert code == 2 and "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "a single run's folder (pbrsim run)" in lines[0] and "needs a batch" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == before  # no report/, no compare/


def test_validate_checks_a_batch_file_as_a_batch() -> None:
    code, stdout, stderr = invoke("validate", str(ROOT / "batches/pathways.toml"))
    assert code == 0, stderr
    lines = stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ok")
    assert "batch pathways" in lines[0] and "pathways_provider, pathways_jcp" in lines[0]
    assert "baseline pathways_jcp" in lines[0]


def test_validate_reports_a_broken_batch_file_as_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        'name = "b"\nscenarios = ["missing.toml"]\nreplications = 0\nclaimants = 10\nseed = 1\n'
    )
    code, _, stderr = invoke("validate", str(path), str(ROOT / "scenarios/jcp_offer.toml"))
    assert code == 2 and "Traceback" not in stderr
    flat = " ".join(stderr.split())
    assert "replications = 0" in flat and "greater than or equal to 1" in flat
    assert "unknown key" not in flat and "required key is missing" not in flat
