"""The ``pbrsim`` command line.

Every command reports bad input (a missing or invalid scenario, an argument out
of range, an output folder holding other results) as one clear message per
problem on standard error and exits with status 2, without a traceback and
without touching results already written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from sim.scenario import ScenarioError, load_scenario, scenario_hash

app = typer.Typer(
    name="pbrsim",
    help="Discrete-event microsimulation of welfare-to-work programmes paid by results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console(width=None if sys.stdout.isatty() else 132)
err_console = Console(stderr=True)


def fail(*messages: str) -> NoReturn:
    """Print each message on standard error and exit with status 2."""
    for message in messages:
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _load(path: Path):  # type: ignore[no-untyped-def]
    try:
        return load_scenario(path)
    except ScenarioError as err:
        fail(*(str(p) for p in err.problems))


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario TOML files to check.")],
) -> None:
    """Check scenario files; print each one's hash, or every problem found."""
    problems: list[str] = []
    for path in files:
        try:
            sc = load_scenario(path)
        except ScenarioError as err:
            problems.extend(str(p) for p in err.problems)
            continue
        out_console.print(f"ok  {path}  ({sc.name}, {scenario_hash(sc)[:12]})", highlight=False)
    if problems:
        fail(*problems)


def _check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        fail(f"--out {out}: exists and is not a folder")
    if (out / "manifest.json").exists() and not overwrite:
        fail(
            f"--out {out}: already holds the results of a run (manifest.json); "
            "choose another folder or pass --overwrite"
        )


def _summary_table(summary: pl.DataFrame, name: str) -> Table:
    wide = summary.with_columns(
        key=pl.col("metric") + pl.col("horizon_months").cast(pl.Utf8).fill_null("")
    ).filter(pl.col("key").is_in(list(_COLUMNS)))
    table = Table(title=f"{name}: summary by payment group", title_justify="left")
    table.add_column("group")
    for label in _COLUMNS.values():
        table.add_column(label, justify="right")
    groups = [g for g in wide["group"].unique(maintain_order=True) if not g.startswith("signal")]
    for group in sorted(groups, key=lambda g: (g == "all", g)):
        row = wide.filter(pl.col("group") == group)
        cells = []
        for metric in _COLUMNS:
            hit = row.filter(pl.col("key") == metric)["value"]
            cells.append(_fmt(metric, hit[0] if len(hit) else None))
        table.add_row(group, *cells)
    return table


_COLUMNS = {
    "n_referrals": "referrals",
    "job_outcome_rate12": "outcome 12m",
    "job_outcome_rate24": "outcome 24m",
    "job_entry_rate24": "entry 24m",
    "adviser_minutes_per_caseload_week": "adviser min/wk",
    "parked_share": "parked",
    "share_ever_sanctioned": "ever sanctioned",
    "payments_per_referral_gbp": "paid/referral £",
}


def _fmt(metric: str, value: float | None) -> str:
    if value is None or value != value:
        return "-"
    if metric == "n_referrals":
        return f"{value:,.0f}"
    if "rate" in metric or "share" in metric or metric == "parked_share":
        return f"{100 * value:.1f}%"
    return f"{value:,.1f}"


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    claimants: Annotated[
        int, typer.Option("--claimants", "-n", help="Referrals to simulate.")
    ] = 20000,
    seed: Annotated[int, typer.Option(help="Root seed.")] = 1,
    replicate: Annotated[int, typer.Option(help="Replicate number.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/run"),
    event_log: Annotated[
        bool, typer.Option("--event-log", help="Also write events.parquet.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace results already in --out.")] = False,
) -> None:
    """Simulate one scenario and write ledger, summary, providers and manifest to --out."""
    from sim.api import run as run_scenario
    from sim.outputs import write_run

    if claimants < 1:
        fail(f"--claimants = {claimants}: must be at least 1")
    if not 0 <= seed < 2**63:
        fail(f"--seed = {seed}: must be in [0, 2**63)")
    if not 0 <= replicate < 2**31:
        fail(f"--replicate = {replicate}: must be in [0, 2**31)")
    _check_out_dir(out, overwrite)
    sc = _load(scenario)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} claimants"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(sc.name, total=claimants)
        result = run_scenario(
            sc,
            n_claimants=claimants,
            seed=seed,
            replicate=replicate,
            event_log=event_log or None,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    paths = write_run(result, out)
    out_console.print(_summary_table(result.summary, sc.name))
    m = result.manifest
    out_console.print(
        f"{claimants:,} claimants in {m['simulation_seconds']:.1f} s "
        f"({claimants / max(m['simulation_seconds'], 1e-9):,.0f}/s, "
        f"{m['n_sim_events'] / claimants:.1f} events each); wrote {len(paths)} files to {out}",
        highlight=False,
    )


def main() -> None:  # pragma: no cover - console entry point
    """Entry point that turns any unexpected error in argument parsing into status 2."""
    sys.exit(app())
