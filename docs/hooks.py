"""MkDocs hook: write the generated reference pages before each build.

The parameter reference comes from :mod:`sim.params`, the output columns from
:func:`sim.schema.data_dictionary`, the command line from each command's ``--help``;
none of them is edited by hand, so none can drift from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from pbrsim.cli import app
from sim.params import parameters
from sim.schema import data_dictionary

HERE = Path(__file__).parent
COMMANDS = ("batch", "run", "compare", "report", "validate", "calibrate", "check", "params")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parameters_page() -> str:
    lines = [
        "# Scenario parameters",
        "",
        "Every parameter a scenario file can set, generated from the configuration models "
        "(`pbrsim params` prints the same). `*` stands for a table entry's name "
        "(a payment group, a ladder), `[]` for each entry of a list.",
        "",
        "| parameter | type | unit | default | allowed | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in parameters():
        allowed = f"`{p.allowed}`" if p.allowed else ""
        cells = (f"`{p.name}`", p.type, p.unit, f"`{p.default}`", allowed, p.description)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def outputs_page() -> str:
    lines = ["# Output files and columns", ""]
    for layout, title in (("batch", "A batch folder"), ("run", "A single run's folder")):
        lines += [
            f"## {title}",
            "",
            "| file | name | kind | type | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in data_dictionary(layout).iter_rows():
            lines.append("| " + " | ".join(_cell(str(c)) for c in row) + " |")
        lines.append("")
    return "\n".join(lines)


def cli_page() -> str:
    runner = CliRunner()
    lines = [
        "# Command line",
        "",
        "Each command's `--help`, as the installed `pbrsim` prints it.",
        "",
    ]
    for name in COMMANDS:
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
        lines += [f"## pbrsim {name}", "", "```text", result.stdout.rstrip(), "```", ""]
    return "\n".join(lines)


def on_pre_build(config: Any) -> None:
    """Write the generated pages (MkDocs calls this before reading the docs folder)."""
    pages = {
        "parameters.md": parameters_page(),
        "outputs.md": outputs_page(),
        "cli.md": cli_page(),
    }
    for name, text in pages.items():
        path = HERE / "reference" / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
