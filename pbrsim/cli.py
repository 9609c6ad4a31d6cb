"""The ``pbrsim`` command line.

Every command reports bad input (a missing or invalid scenario, an argument out
of range, an output folder holding other results) as one clear message per
problem on standard error and exits with status 2, without a traceback and
without touching results already written.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

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


def say(text: str) -> None:
    """Print ``text`` on standard output as it is: no markup, no highlighting.

    Messages carry file names, keys and values (a pattern such as ``^[a-z]*$``, a
    path with brackets) that rich would otherwise read as markup and drop.
    """
    out_console.print(text, markup=False, highlight=False, soft_wrap=True)


def complain(label: str, message: str) -> None:
    """Print ``label`` (in bold red) and ``message`` (as it is) on standard error."""
    err_console.print(
        Text.assemble((label, "bold red"), " ", message), highlight=False, soft_wrap=True
    )


def fail(*messages: str) -> NoReturn:
    """Print each message on standard error (as it is, no markup) and exit with status 2."""
    for message in messages:
        complain("error:", message)
    raise typer.Exit(code=2)


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as err:
        fail(*(str(p) for p in err.problems))


def _is_batch_file(path: Path) -> bool:
    """True if ``path`` reads as TOML with a ``scenarios`` list, which only batch files have."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # load_scenario reports what is wrong with the file
    return isinstance(raw.get("scenarios"), list)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario or batch TOML files to check.")],
) -> None:
    """Check scenario and batch files; print each one's hash, or every problem found.

    A batch file (one with a ``scenarios`` list) is checked as a batch: its keys, and
    every scenario it names, resolved.
    """
    from sim.batch_spec import load_batch

    problems: list[str] = []
    for path in files:
        try:
            if _is_batch_file(path):
                batch = load_batch(path)
                names = ", ".join(batch.scenarios)
                say(
                    f"ok  {path}  (batch {batch.spec.name}: scenarios {names}; "
                    f"baseline {', '.join(batch.comparisons)}; {batch.hash[:12]})"
                )
            else:
                sc = load_scenario(path)
                say(f"ok  {path}  ({sc.name}, {scenario_hash(sc)[:12]})")
        except ScenarioError as err:
            problems.extend(str(p) for p in err.problems)
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
    table = Table(title=Text(f"{name}: summary by payment group"), title_justify="left")
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
        table.add_row(*(Text(c) for c in (group, *cells)))
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
    say(
        f"{claimants:,} claimants in {m['simulation_seconds']:.1f} s "
        f"({claimants / max(m['simulation_seconds'], 1e-9):,.0f}/s, "
        f"{m['n_sim_events'] / claimants:.1f} events each); wrote {len(paths)} files to {out}"
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
    shared_fs: Annotated[
        bool,
        typer.Option(
            "--shared-fs",
            help="The --scheduler's workers see --out at the same path: each writes its "
            "own parts instead of sending them back.",
        ),
    ] = False,
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
    from sim.batch import OutputConflict, run_batch
    from sim.batch_spec import load_batch
    from sim.estimates import comparison_dir
    from sim.executors import BatchStopped, stop_on_signals

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
                    shared_fs=shared_fs,
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
            complain("task failed:", f"{task.part}: {msg}")
        err_console.print(
            "rerun with --resume to redo the failed tasks", markup=False, highlight=False
        )
        raise typer.Exit(code=1)
    _print_impacts(pl.read_parquet(out / "impacts.parquet"))
    for name in spec.comparisons[1:]:
        say(f"impacts against {name} in {comparison_dir(out, name)}")
    page = _write_report(out)
    say(
        f"{report.n_tasks} tasks ({report.n_skipped} already done, "
        f"{report.n_redone} redone after failing verification), "
        f"{report.replications} replications, {report.wall_seconds:.1f} s; results in {out}; "
        f"report in {page}"
    )


def _write_report(out: Path) -> Path:
    from reports.build import build_report

    try:
        return build_report(out)
    except StoreError as err:
        fail(str(err))
    except ValueError as err:
        fail(f"{out}: {err}")


def _batch_manifest(out: Path, command: str) -> dict[str, Any]:
    """The manifest of a batch output folder; fail (status 2) on any other folder.

    A single run's folder (``pbrsim run``) is named as such: the report and the
    comparisons need a batch's replications and partitioned ledgers.
    """
    from sim.store import BatchStore

    manifest = out / "manifest.json"
    if not manifest.exists():
        fail(f"{out}: no manifest.json, so not a batch output folder")
    try:
        BatchStore(out).read_manifest()  # validated: a wrong field is one line naming it
    except StoreError as err:
        fail(str(err))
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        fail(f"{manifest}: unreadable ({err})")
    if not isinstance(meta, dict):
        fail(f"{manifest}: not a batch manifest (a JSON object)")
    if "batch" not in meta and (out / "ledger.parquet").exists():
        fail(
            f"{out}: a single run's folder (pbrsim run); pbrsim {command} needs a batch "
            "output folder (pbrsim batch BATCH.toml --out DIR)"
        )
    if "batch" not in meta or not (out / "ledger").is_dir():
        fail(f"{out}: not a batch output folder (no batch in manifest.json or no ledger/)")
    return meta


@app.command()
def report(
    out: Annotated[Path, typer.Argument(help="A batch's output folder.")],
) -> None:
    """Write OUT/report/report.html (offline, self-contained) and each figure's PNG, SVG, CSV.

    Only a batch folder has a report (it needs replications for its intervals); a single
    run's folder is refused with status 2.
    """
    _batch_manifest(out, "report")
    say(f"report in {_write_report(out)}")


_SHOWN_EFFECTS = (
    "job_outcome_rate",
    "days_in_work",
    "benefit_savings_gbp",
    "payments_gbp",
    "deadweight_share",
    "cost_per_additional_outcome_gbp",
)


def _num(value: float | None, spec: str = ",.4g") -> str:
    """``value`` formatted with ``spec``, or ``-`` for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return "-"
    return format(value, spec)


def _print_impacts(impacts: pl.DataFrame) -> None:
    """Print the main effects for all referrals; the title names the frame's own baseline."""
    baselines = sorted(set(impacts["baseline"].to_list()))
    show = impacts.filter(
        pl.col("effect").is_in(_SHOWN_EFFECTS)
        & ((pl.col("horizon_months") == 24) | pl.col("horizon_months").is_null())
        & (pl.col("group") == "all")
    )
    title = f"paired impacts against {', '.join(baselines) or '-'} (all referrals, 95% CI)"
    table = Table(title=Text(title), title_justify="left")
    notes = "note" in show.columns and show["note"].null_count() < show.height
    for col in ("scenario", "effect", "mean", "95% CI", *(["note"] if notes else [])):
        table.add_column(col, justify="right" if col in ("mean", "95% CI") else "left")
    for row in show.iter_rows(named=True):
        lo, hi = row["ci_low"], row["ci_high"]
        ci = "-" if lo is None or hi is None else f"[{_num(lo)}, {_num(hi)}]"
        cells = [row["scenario"], row["effect"], _num(row["mean"]), ci]
        if notes:
            cells.append(row["note"] or "")
        table.add_row(*(Text(c) for c in cells))
    out_console.print(table)


@app.command()
def compare(
    out: Annotated[Path, typer.Argument(help="A batch's output folder.")],
    baseline: Annotated[
        str | None,
        typer.Option(help="Baseline scenario name (default: every baseline of the batch)."),
    ] = None,
) -> None:
    """Estimate paired impacts against a baseline into OUT/compare/baseline=NAME/.

    The batch's own impacts.*, summary.* and manifest.json are left as they are.
    """
    from sim.estimates import compare as compare_outputs
    from sim.estimates import comparison_dir

    meta = _batch_manifest(out, "compare")
    manifest = out / "manifest.json"
    if baseline is not None:
        names = [baseline]
    else:
        given = meta.get("baselines") or [meta.get("baseline")]
        names = given if all(isinstance(n, str) for n in given) else []
        if not names:
            fail(f"{manifest}: names no baseline; pass --baseline")
    for name in names:
        try:
            impacts = compare_outputs(out, name)
        except StoreError as err:
            fail(str(err))
        except ValueError as err:
            fail(f"--baseline {name}: {err}")
        _print_impacts(impacts)
        say(f"wrote impacts.parquet and impacts.csv to {comparison_dir(out, name)}")


@app.command()
def calibrate(
    spec: Annotated[
        Path, typer.Argument(help="Calibration spec TOML, e.g. calibration/work_programme.toml.")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder: fit report and evaluation cache.")
    ] = Path("out/calibration"),
    method: Annotated[
        str | None,
        typer.Option(help="optimiser, abc, both or history_matching (default: the spec's method)."),
    ] = None,
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    dask_local: DaskLocalOption = None,
    resume: Annotated[
        bool, typer.Option(help="Replay evaluations cached in --out (default) or redo them.")
    ] = True,
    write_scenario: Annotated[
        bool, typer.Option(help="Write the calibrated scenario files named in the spec.")
    ] = True,
    leave_out: Annotated[
        str | None,
        typer.Option(
            help="A programme (its scenario's name) whose targets are reported, not fitted."
        ),
    ] = None,
) -> None:
    """Fit the free parameters of a scenario to published figures; write the fitted scenario."""
    # the calibration package builds on sim; it is imported only when this command runs
    from calibration.cli import calibrate as run_calibration

    if method is not None and method not in ("optimiser", "abc", "both", "history_matching"):
        fail(f"--method = {method}: must be optimiser, abc, both or history_matching")
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
            leave_out=leave_out,
        )
    except ScenarioError as err:
        fail(*(str(p) for p in err.problems))
    except ValueError as err:
        fail(str(err))
    except CalibrationError as err:
        fail(str(err))
    say(result.report)
    for path in result.scenario_files:
        say(f"wrote {path}")


@app.command()
def params(
    pattern: Annotated[
        str | None,
        typer.Argument(help="A glob or substring of dotted names, e.g. 'providers.economics.*'."),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option(help="Write the scenario files' JSON schema here instead.")
    ] = None,
) -> None:
    """Print the scenario parameter reference: name, type, unit, default, allowed, meaning."""
    from sim.params import find, scenario_schema

    if schema is not None:
        from sim.outputs import atomic_write

        text = json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"
        atomic_write(schema, lambda p: p.write_text(text))
        say(f"wrote {schema}")
        return
    found = find(pattern)
    if not found:
        fail(f"no scenario parameter matches {pattern!r}; try `pbrsim params` for them all")
    table = Table(title=f"Scenario parameters ({len(found)})", title_justify="left")
    for col in ("parameter", "type", "unit", "default", "allowed", "description"):
        table.add_column(col, overflow="fold")
    for p in found:
        table.add_row(
            *(escape(v) for v in (p.name, p.type, p.unit, p.default, p.allowed, p.description))
        )
    out_console.print(table)


def _check_summary(table: pl.DataFrame) -> Table:
    out = Table(title="Simulated against published (out of sample)", title_justify="left")
    for col in ("figure", "published", "band", "simulated", "95% interval", "agrees"):
        out.add_column(col, overflow="fold")
    for row in table.iter_rows(named=True):
        lo, hi = row["published_low"], row["published_high"]
        out.add_row(
            escape(str(row["target_id"])),
            _num(row["published"]),
            f"{_num(lo)} - {_num(hi)}",
            _num(row["simulated"]),
            f"{_num(row['simulated_low'])} - {_num(row['simulated_high'])}",
            "yes" if row["agrees"] else "no",
        )
    return out


@app.command()
def check(
    figures: Annotated[
        Path,
        typer.Argument(help="Published figures in the targets format (calibration/targets.py)."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for check.csv, check.parquet and the figure "
            "(default: FROM/check with --from, where the report finds it; else out/check)."
        ),
    ] = None,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Read the rows' scenarios from this batch output folder instead of running "
            "them (every replicate it holds).",
        ),
    ] = None,
    replications: Annotated[int, typer.Option(min=1, help="Replications of each scenario.")] = 4,
    claimants: Annotated[int, typer.Option(min=10, help="Referrals per replication.")] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Root seed.")] = 1,
    scenarios: Annotated[
        Path, typer.Option(help="Folder of scenario files (calibrated/NAME.toml first).")
    ] = Path("scenarios"),
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    dask_local: DaskLocalOption = None,
) -> None:
    """Run (or, with --from, read) the scenarios a file of published figures names and
    compare each figure."""
    from calibration.check import prepare, prepare_from_batch, read_check, run_check, summarise
    from calibration.evaluate import make_executor
    from reports.build import write_check_figure
    from sim.outputs import atomic_write

    if out is None:
        out = Path("out/check") if from_dir is None else from_dir / "check"
    try:
        if from_dir is not None:
            inputs = prepare_from_batch(figures, from_dir)
            table = read_check(inputs, from_dir)
        else:
            inputs = prepare(figures, scenarios)
            _check_executor(workers, scheduler, dask_local)
            executor, _ = make_executor(workers, scheduler, dask_local)
            table = run_check(
                inputs, executor, replicates=replications, claimants=claimants, seed=seed
            )
    except ScenarioError as err:
        fail(*(str(p) for p in err.problems))
    except (RuntimeError, StoreError) as err:
        fail(str(err))
    atomic_write(out / "check.parquet", lambda p: table.write_parquet(p))
    atomic_write(out / "check.csv", lambda p: table.write_csv(p))
    write_check_figure(table, out)
    out_console.print(_check_summary(table))
    summary = summarise(table)
    say(
        f"{summary.n_agree} of {summary.n_rows} figures agree; median |difference| "
        f"{_num(summary.median_abs_difference)}; worst {summary.worst_target} "
        f"({_num(summary.worst_difference)}); wrote {out}"
    )


def main() -> None:  # pragma: no cover - console entry point
    """Entry point that turns any unexpected error in argument parsing into status 2."""
    sys.exit(app())
