"""The documentation's tutorial runs as written (with fewer claimants and replications).

Its commands are read from ``docs/tutorial.md``: the main job, ``validate`` and ``params``,
then the reform and batch files it shows, written to a temporary folder with their paths
pointed at the repository, and the batch run with its report.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from conftest import ROOT
from typer.testing import CliRunner

from pbrsim.cli import app

TUTORIAL = (ROOT / "docs" / "tutorial.md").read_text()
SMALL = ["--claimants", "300", "--replications", "2", "--workers", "1"]
runner = CliRunner()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TUTORIAL, flags=re.S)


def pbrsim_commands() -> list[list[str]]:
    """Every ``pbrsim ...`` command of the bash blocks, split into words."""
    out = []
    for block in blocks("bash"):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part)
                if words and words[0] == "pbrsim":
                    out.append(words[1:])
    return out


def run(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_the_tutorial_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    commands = pbrsim_commands()
    assert [c[0] for c in commands] == ["batch", "validate", "params"]
    batch, validate, params = commands
    out = tmp_path / "main"
    run([*[w if w != "out/work_programme" else str(out) for w in batch], *SMALL])
    assert (out / "report" / "report.html").is_file()
    run(validate)
    assert "Scenario parameters (10)" in run(params)  # the contract.groups.* keys

    reform, batch_file = blocks("toml")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "batches").mkdir()
    calibrated = ROOT / "scenarios" / "calibrated"
    (tmp_path / "scenarios" / "my_reform.toml").write_text(
        reform.replace(
            '"calibrated/work_programme.toml"', f'"{calibrated / "work_programme.toml"}"'
        )
    )
    (tmp_path / "batches" / "my_reform.toml").write_text(
        batch_file.replace('"../scenarios/calibrated/', f'"{calibrated}/')
    )
    mine = tmp_path / "mine"
    run(["batch", str(tmp_path / "batches" / "my_reform.toml"), "--out", str(mine), *SMALL])
    assert (mine / "report" / "report.html").is_file()
    assert (mine / "compare" / "baseline=work_programme" / "impacts.parquet").is_file()
