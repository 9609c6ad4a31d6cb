"""The command line: files written, and bad input as status 2 with no traceback."""

from __future__ import annotations

import json
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
