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
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from sim.config import Scenario
from sim.scenario import ScenarioError, load_scenario, scenario_hash
from sim.store import StoreError

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
    """Print each message on standard error and exit with status 2.

    Messages are printed as they are: brackets in them (a key named ``[/]``, say) are
    not rich markup.
    """
    for message in messages:
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _load(path: Path) -> Scenario:
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


WorkersOption = Annotated[
    int, typer.Option(help="Local worker processes (this process is one of them).")
]
SchedulerOption = Annotated[
    str | None, typer.Option(help="Address of a Dask scheduler, e.g. tcp://host:8786.")
]
DaskLocalOption = Annotated[
    int | None, typer.Option("--dask-local", help="Start a Dask LocalCluster of N workers.")
]


def _check_executor(workers: int, scheduler: str | None, dask_local: int | None) -> None:
    """Fail (status 2) on executor options that cannot be honoured together."""
    if workers < 1:
        fail(f"--workers = {workers}: must be at least 1")
    if dask_local is not None and dask_local < 1:
        fail(f"--dask-local = {dask_local}: must be at least 1")
    if scheduler is not None and dask_local is not None:
        fail("--scheduler and --dask-local: give one or the other")


@app.command()
def batch(
    batch_file: Annotated[Path, typer.Argument(help="Batch TOML file.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/batch"),
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    dask_local: DaskLocalOption = None,
    resume: Annotated[
        bool, typer.Option(help="Skip finished tasks in --out, redo the rest.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace earlier results in --out.")] = False,
    replications: Annotated[
        int | None, typer.Option(help="Replications, instead of the batch file's.")
    ] = None,
    claimants: Annotated[
        int | None, typer.Option(help="Claimants per run, instead of the batch file's.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Root seed, instead of the batch file's.")
    ] = None,
) -> None:
    """Run scenarios x replications as tasks, then write paired impacts and a summary."""
    from sim.batch import BatchStopped, OutputConflict, load_batch, run_batch, stop_on_signals

    _check_executor(workers, scheduler, dask_local)
    if resume and overwrite:
        fail("--resume and --overwrite: give one or the other")
    given = {"replications": replications, "claimants": claimants, "seed": seed}
    try:
        spec = load_batch(batch_file, {k: v for k, v in given.items() if v is not None})
    except ScenarioError as err:
        fail(*(str(p) for p in err.problems))
    counts = {"done": 0, "failed": 0}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} tasks"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    ) as bar:
        task_id = bar.add_task(spec.spec.name, total=0, status="")

        def on_plan(n: int) -> None:
            bar.update(task_id, total=(bar.tasks[0].total or 0) + n)

        def on_done(_task: object, ok: bool) -> None:
            counts["done" if ok else "failed"] += 1
            bar.update(
                task_id, advance=1, status=f"done {counts['done']} failed {counts['failed']}"
            )

        try:
            with stop_on_signals():
                report = run_batch(
                    spec,
                    out,
                    workers=workers,
                    scheduler=scheduler,
                    dask_local=dask_local,
                    resume=resume,
                    overwrite=overwrite,
                    on_plan=on_plan,
                    on_done=on_done,
                )
        except OutputConflict as err:
            fail(f"--out {out}: {err}")
        except StoreError as err:
            fail(str(err))
        except BatchStopped as stop:
            bar.stop()
            err_console.print(
                f"[bold red]stopped:[/] {stop.signal_name} after {counts['done']} tasks; "
                f"finished tasks are kept in {escape(str(out))}; rerun with --resume to finish",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=128 + stop.signum) from None
    if report.failed:
        for task, msg in report.failed:
            err_console.print(
                f"[bold red]task failed:[/] {task.part}: {escape(msg)}", highlight=False
            )
        err_console.print("rerun with --resume to redo the failed tasks", highlight=False)
        raise typer.Exit(code=1)
    _print_impacts(out, spec.baseline)
    page = _write_report(out)
    out_console.print(
        f"{report.n_tasks} tasks ({report.n_skipped} already done, "
        f"{report.n_redone} redone after failing verification), "
        f"{report.replications} replications, {report.wall_seconds:.1f} s; results in {out}; "
        f"report in {page}",
        highlight=False,
    )


def _write_report(out: Path) -> Path:
    from reports.build import build_report

    try:
        return build_report(out)
    except StoreError as err:
        fail(str(err))
    except ValueError as err:
        fail(f"{out}: {err}")


@app.command()
def report(
    out: Annotated[Path, typer.Argument(help="A batch's output folder.")],
) -> None:
    """Write OUT/report/report.html (offline, self-contained) and each figure's PNG, SVG, CSV."""
    if not (out / "manifest.json").exists():
        fail(f"{out}: no manifest.json, so not a batch output folder")
    out_console.print(f"report in {_write_report(out)}", highlight=False)


def _print_impacts(out: Path, baseline: str) -> None:
    impacts = pl.read_parquet(out / "impacts.parquet")
    show = impacts.filter(
        pl.col("effect").is_in(
            [
                "job_outcome_rate",
                "days_in_work",
                "benefit_savings_gbp",
                "payments_gbp",
                "deadweight_share",
                "cost_per_additional_outcome_gbp",
            ]
        )
        & ((pl.col("horizon_months") == 24) | pl.col("horizon_months").is_null())
        & (pl.col("group") == "all")
    )
    table = Table(
        title=f"paired impacts against {baseline} (all referrals, 95% CI)", title_justify="left"
    )
    for col in ("scenario", "effect", "mean", "95% CI"):
        table.add_column(col, justify="left" if col in ("scenario", "effect") else "right")
    for row in show.iter_rows(named=True):
        lo, hi = row["ci_low"], row["ci_high"]
        ci = "-" if lo is None else f"[{lo:,.4g}, {hi:,.4g}]"
        table.add_row(row["scenario"], row["effect"], f"{row['mean']:,.4g}", ci)
    out_console.print(table)


@app.command()
def compare(
    out: Annotated[Path, typer.Argument(help="A batch's output folder.")],
    baseline: Annotated[str | None, typer.Option(help="Baseline scenario name.")] = None,
) -> None:
    """(Re)compute paired impacts and the summary of a batch's outputs."""
    from sim.estimates import compare as compare_outputs
    from sim.store import BatchStore

    folder = BatchStore(out)
    try:
        meta = folder.read_manifest()
    except StoreError as err:
        fail(str(err))
    if meta is None:
        fail(f"{out}: no manifest.json, so not a batch output folder")
    name = baseline or meta.baseline
    if name is None:
        fail(f"{folder.manifest_path}: names no baseline; pass --baseline")
    try:
        compare_outputs(out, name)
    except StoreError as err:
        fail(str(err))
    except ValueError as err:
        fail(f"--baseline {name}: {err}")
    _print_impacts(out, name)


@app.command()
def calibrate(
    spec: Annotated[
        Path, typer.Argument(help="Calibration spec TOML, e.g. calibration/work_programme.toml.")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder: fit report and evaluation cache.")
    ] = Path("out/calibration"),
    method: Annotated[str, typer.Option(help="optimiser, abc or both.")] = "both",
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    dask_local: DaskLocalOption = None,
    resume: Annotated[
        bool, typer.Option(help="Replay evaluations cached in --out (default) or redo them.")
    ] = True,
    write_scenario: Annotated[
        bool, typer.Option(help="Write the calibrated scenario files named in the spec.")
    ] = True,
) -> None:
    """Fit the free parameters of a scenario to published figures; write the fitted scenario."""
    # the calibration package builds on sim; it is imported only when this command runs
    from calibration.cli import calibrate as run_calibration

    if method not in ("optimiser", "abc", "both"):
        fail(f"--method = {method}: must be optimiser, abc or both")
    _check_executor(workers, scheduler, dask_local)
    from calibration.evaluate import CalibrationError

    try:
        result = run_calibration(
            spec,
            out,
            method=method,
            workers=workers,
            scheduler=scheduler,
            dask_local=dask_local,
            resume=resume,
            write_scenario=write_scenario,
            progress=err_console.is_terminal,
        )
    except ScenarioError as err:
        fail(*(str(p) for p in err.problems))
    except CalibrationError as err:
        fail(str(err))
    out_console.print(result.report, highlight=False, markup=False)
    for path in result.scenario_files:
        out_console.print(f"wrote {path}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point that turns any unexpected error in argument parsing into status 2."""
    sys.exit(app())
