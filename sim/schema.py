"""What every output table holds: one schema, and one description per column.

A run (:func:`sim.outputs.write_run`) and a batch (:mod:`sim.batch`,
:mod:`sim.estimates`) write these tables. Every Parquet file carries its table's
column descriptions as Arrow field metadata (key ``description``) and Parquet
statistics, and every file of a partitioned folder (``ledger/``, ``providers/``,
``monthly/``, ``compare/``) has the same columns and types, even when it holds no
rows (a scenario under the Jobcentre Plus regime has no providers), so DuckDB,
polars or pyarrow read a whole folder at once. :func:`data_dictionary` lists every
column and every metric, effect and event name with its description; it is written
beside the outputs as ``data_dictionary.csv``.

The descriptions come from the modules that compute the values:
:data:`sim.records.LEDGER_FIELDS`, :data:`sim.metrics.METRICS` and
:data:`sim.estimates.EFFECTS`; provider and monthly columns are described here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa

from sim.events import EVENT_DESCRIPTIONS
from sim.metrics import METRICS
from sim.records import EVENT_CODES, JOURNEY_FIELDS, LEDGER_FIELDS, POPULATION_FIELDS

__all__ = [
    "EVENT_DESCRIPTIONS",
    "SCHEMAS",
    "TABLE_FIELDS",
    "data_dictionary",
    "parquet_bytes",
    "parquet_writer",
]

_F, _I, _S, _B = pl.Float64(), pl.Int64(), pl.String(), pl.Boolean()

HIVE_FIELDS: dict[str, str] = {
    "scenario": "scenario name (Hive partition key scenario=S in the folder path)",
    "replicate": "replicate number; replicate r of every scenario shares its random keys "
    "(Hive partition key replicate=R in the folder path)",
}
"""Columns a batch's partitioned folders carry in their paths, not in their files."""

_POPULATION_TYPES: dict[str, pl.DataType] = {
    "claimant_id": _I,
    "group": _S,
    "group_code": _I,
    "benefit": _S,
    "age_band": _S,
    "condition": _S,
    "weekly_rate_gbp": _F,
    "distance": _F,
    "signal": _F,
    "area": _I,
    "provider": _I,
    "arm": _S,
    "referred_at": _F,
}

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    **{name: _POPULATION_TYPES[name] for name in POPULATION_FIELDS},
    **{name: _I if name.startswith("n_") else _F for name in JOURNEY_FIELDS},
}
"""One row per claimant (see :data:`sim.records.LEDGER_FIELDS`)."""

PROVIDER_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "provider": (_I, "provider index (global)"),
    "area": (_I, "contract package area index"),
    "role": (_S, "'prime' or 'specialist' (a prime's subcontractor)"),
    "prime": (_I, "index of the prime provider: itself, or a specialist's prime"),
    "month": (_I, "contract month, 0 = the month of the first referrals"),
    "income_attachment_gbp": (_F, "attachment fees received in the month"),
    "income_outcome_gbp": (_F, "job outcome fees received in the month"),
    "income_sustainment_gbp": (_F, "sustainment fees received in the month"),
    "income_service_gbp": (
        _F,
        "service fees for activities the contract pays for (attended interviews up to "
        "max_paid_interviews, interventions started) received in the month",
    ),
    "income_management_fee_gbp": (_F, "a prime's management fees from its specialists"),
    "cost_advisers_gbp": (_F, "adviser salaries in the month"),
    "cost_overhead_gbp": (_F, "overheads in the month (in proportion to adviser costs)"),
    "cost_interviews_gbp": (_F, "cost of the interviews held in the month"),
    "cost_interventions_gbp": (_F, "cost of programme-delivered interventions started"),
    "adviser_minutes": (_F, "adviser minutes in attended interviews in the month"),
    "n_advisers": (_F, "advisers employed in the month, in full-time equivalents"),
    "cash_balance_gbp": (_F, "cash at the month's end (starts at working_capital_weeks of costs)"),
    "n_attachments": (_I, "claimants attached in the month"),
    "n_job_outcomes": (_I, "job outcomes claimed in the month"),
    "market_share": (_F, "share of the area's new referrals allocated to this provider"),
    "exited": (_B, "the provider has left the market by this month"),
    "strain_cut": (_B, "the provider cut advisers this month under financial strain"),
    "n_advisers_target": (
        _F,
        "headcount (FTE) the expected margin supported at a headcount review this month "
        "(providers.economics.headcount = 'margin'); NaN: no review",
    ),
    "n_passed_on": (_I, "claimants a prime passed to its specialist this month, by choice"),
    "belief_effect_per_adviser_hour_per_week": (
        _F,
        "the provider's belief of its effect per adviser hour a week at its last review "
        "in the month (posterior mean; NaN: no review)",
    ),
    "belief_entry_rate_per_day": (
        _F,
        "the provider's mean belief of its caseload's job-entry hazard per day without "
        "service, at today's labour market, at its last review in the month",
    ),
    "expected_income_gbp": (
        _F,
        "outcome value the provider expected its caseload's job starts to bring in a month, "
        "at its last review in the month (its beliefs and its service)",
    ),
    "expected_margin_gbp": (
        _F,
        "expected_income_gbp less the month's costs: the margin the provider expected",
    ),
    "margin_gbp": (_F, "income less costs in the month: the margin it got"),
    "service_budget_gbp": (
        _F,
        "what the provider set out to spend on delivery in the month at its last review: "
        "advisers and overheads at its headcount then, plus the interview costs of the "
        "minutes a week its triage allocated (NaN: no review)",
    ),
    "efficiency": (_F, "the provider's adviser effectiveness (multiplies the true effect)"),
    "by_group": (
        pl.List(
            pl.Struct(
                {
                    "group": _S,
                    "participant_days": _F,
                    "adviser_minutes": _F,
                    "belief_entry_rate_per_day": _F,
                }
            )
        ),
        "per payment group: days its members spent on the active caseload, adviser minutes "
        "they were given, and the provider's mean belief of their job-entry hazard per day "
        "without service at its last review (NaN: none) in the month (records only: no "
        "decision reads the group)",
    ),
}
"""Provider ledger columns (:meth:`sim.provider.Provider.ledger`): type and description."""

MONTHLY_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "month": (_I, "calendar month index, 0 = run.start_month"),
    "month_start": (_S, "the calendar month, YYYY-MM"),
    "event": (_S, "event name (see the event rows of this dictionary)"),
    "n": (_I, "events of that kind in the month"),
}
"""Event counts by calendar month (:func:`sim.records.monthly_frame`)."""

EVENT_LOG_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "claimant_id": (_I, "claimant id"),
    "t": (_F, "simulation day of the event"),
    "event": (pl.Enum(list(EVENT_CODES)), "event name (see the event rows)"),
    "value": (_F, "event value (sanction_decision: 1 for a wrong decision)"),
}

RUN_SUMMARY_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "metric": (_S, "metric name (see the metric rows of this dictionary)"),
    "group": (_S, "payment group, 'all', signal quintile 'signal_qK' or trial arm 'arm=NAME'"),
    "horizon_months": (_I, "months since referral the metric counts (null: whole follow-up)"),
    "value": (_F, "the metric's value"),
}

_STAT_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "n_replicates": (_I, "replicates with a value"),
    "mean": (_F, "mean over replicates"),
    "sd": (_F, "standard deviation over replicates (ddof=1)"),
    "ci_low": (_F, "lower end of the 95% Student t interval over replicates"),
    "ci_high": (_F, "upper end of the 95% Student t interval over replicates"),
}

SUMMARY_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "scenario": (_S, "scenario name"),
    **{k: v for k, v in RUN_SUMMARY_FIELDS.items() if k != "value"},
    **_STAT_FIELDS,
}
"""Columns of a batch's ``summary.*`` (:func:`sim.estimates.summary_over_replicates`)."""

IMPACT_FIELDS: dict[str, tuple[pl.DataType, str]] = {
    "scenario": (_S, "scenario compared with the baseline"),
    "baseline": (_S, "the baseline (counterfactual) scenario the impact is measured against"),
    "effect": (_S, "effect name (see the effect rows of this dictionary)"),
    "group": (_S, "payment group, 'all' or quintile 'distance_qK' of distance from work"),
    "horizon_months": (_I, "months since referral the effect counts (null: whole follow-up)"),
    "n_replicates": (_I, "replicates in which the paired effect is defined"),
    "mean": (_F, "mean over replicates of the paired effect (cost ratios: ratio of means)"),
    "sd": (_F, "standard deviation over replicates (ddof=1; null for the cost ratios)"),
    "ci_low": (_F, "lower end of the paired 95% t interval (cost ratios: Fieller's interval)"),
    "ci_high": (_F, "upper end of the paired 95% t interval (cost ratios: Fieller's interval)"),
    "unpaired_ci_low": (_F, "lower end of the unpaired (Welch) 95% interval, for comparison"),
    "unpaired_ci_high": (_F, "upper end of the unpaired (Welch) 95% interval"),
    "note": (_S, "why a value is withheld (null otherwise)"),
}
"""Columns of ``impacts.*`` (:func:`sim.estimates.paired_impacts`)."""

Table = Literal["ledger", "providers", "monthly", "events", "run_summary", "summary", "impacts"]

SCHEMAS: dict[Table, dict[str, pl.DataType]] = {
    "ledger": LEDGER_SCHEMA,
    "providers": {k: t for k, (t, _) in PROVIDER_FIELDS.items()},
    "monthly": {k: t for k, (t, _) in MONTHLY_FIELDS.items()},
    "events": {k: t for k, (t, _) in EVENT_LOG_FIELDS.items()},
    "run_summary": {k: t for k, (t, _) in RUN_SUMMARY_FIELDS.items()},
    "summary": {k: t for k, (t, _) in SUMMARY_FIELDS.items()},
    "impacts": {k: t for k, (t, _) in IMPACT_FIELDS.items()},
}
"""Column types of every output table, in column order."""

TABLE_FIELDS: dict[Table, dict[str, str]] = {
    "ledger": LEDGER_FIELDS,
    "providers": {k: d for k, (_, d) in PROVIDER_FIELDS.items()},
    "monthly": {k: d for k, (_, d) in MONTHLY_FIELDS.items()},
    "events": {k: d for k, (_, d) in EVENT_LOG_FIELDS.items()},
    "run_summary": {k: d for k, (_, d) in RUN_SUMMARY_FIELDS.items()},
    "summary": {k: d for k, (_, d) in SUMMARY_FIELDS.items()},
    "impacts": {k: d for k, (_, d) in IMPACT_FIELDS.items()},
}
"""Column descriptions of every output table."""


def _arrow_schema(df: pl.DataFrame, table: Table) -> pa.Schema:
    """The frame's Arrow schema with each column's description as field metadata.

    Raises
    ------
    ValueError
        If the frame's columns or types are not those of :data:`SCHEMAS` ``[table]``.
    """
    want = SCHEMAS[table]
    got = dict(df.schema)
    if got != want:
        diff = {
            c: (str(got.get(c, "missing")), str(want.get(c, "not in the schema")))
            for c in dict.fromkeys([*got, *want])
            if got.get(c) != want.get(c)
        }
        raise ValueError(f"{table} frame does not have its schema: {diff}")
    if list(got) != list(want):
        raise ValueError(f"{table} frame has its columns out of order: {list(got)}")
    described = TABLE_FIELDS[table]
    fields = [
        f.with_metadata({"description": described[f.name]}) for f in df.head(0).to_arrow().schema
    ]
    return pa.schema(fields, metadata={"pbrsim.table": table})


def parquet_writer(df: pl.DataFrame, table: Table) -> Callable[[Path | io.BytesIO], None]:
    """Return a function writing ``df`` as Parquet: zstd, statistics, described columns.

    The frame is checked against :data:`SCHEMAS` ``[table]`` first, so an empty
    frame is written with every column and type, and a frame that lost a column
    fails here rather than in a reader. The bytes depend only on the frame's
    values (it is rechunked first).

    Raises
    ------
    ValueError
        If the frame's columns or types are not those of the table.
    """
    schema = _arrow_schema(df, table)
    frame = df.rechunk()

    def write(target: Path | io.BytesIO) -> None:
        frame.write_parquet(target, compression="zstd", statistics=True, arrow_schema=schema)

    return write


def parquet_bytes(df: pl.DataFrame, table: Table) -> bytes:
    """``df`` as the bytes of a Parquet file (see :func:`parquet_writer`)."""
    buf = io.BytesIO()
    parquet_writer(df, table)(buf)
    return buf.getvalue()


_DICTIONARY_SCHEMA: dict[str, pl.DataType] = {
    "file": _S,
    "name": _S,
    "kind": _S,
    "dtype": _S,
    "description": _S,
}


def data_dictionary(layout: Literal["batch", "run"]) -> pl.DataFrame:
    """Every column, metric, effect and event name of a batch's or run's outputs.

    Parameters
    ----------
    layout : {"batch", "run"}
        A batch folder (partitioned ``ledger/`` and so on, with ``summary.*`` over
        replicates and ``impacts.*``) or a single run's folder.

    Returns
    -------
    polars.DataFrame
        Columns ``file`` (the file or folder, e.g. ``ledger/`` or ``summary.parquet``),
        ``name``, ``kind`` (``column``, ``partition column``, ``metric``, ``effect``
        or ``event``), ``dtype`` (polars type of a column, empty otherwise) and
        ``description``, in a fixed order.

    Raises
    ------
    ValueError
        If ``layout`` is neither ``"batch"`` nor ``"run"``.
    """
    from sim.estimates import EFFECTS  # sim.estimates writes through this module

    rows: list[tuple[str, str, str, str, str]] = []

    def columns(file: str, table: Table, hive: bool = False) -> None:
        if hive:
            rows.extend((file, c, "partition column", "", d) for c, d in HIVE_FIELDS.items())
        for c, d in TABLE_FIELDS[table].items():
            rows.append((file, c, "column", str(SCHEMAS[table][c]), d))

    if layout == "batch":
        columns("ledger/", "ledger", hive=True)
        columns("providers/", "providers", hive=True)
        columns("monthly/", "monthly", hive=True)
        columns("summary.parquet", "summary")
        columns("impacts.parquet", "impacts")
        rows.append(
            (
                "compare/",
                "baseline",
                "partition column",
                "",
                "baseline of the impacts in the folder (Hive key baseline=B); files as impacts",
            )
        )
    elif layout == "run":
        columns("ledger.parquet", "ledger")
        columns("providers.parquet", "providers")
        columns("monthly.parquet", "monthly")
        columns("summary.parquet", "run_summary")
        columns("events.parquet", "events")
    else:
        raise ValueError(f"layout={layout!r}: must be 'batch' or 'run'")
    summary = "summary.parquet"
    rows.extend((summary, m, "metric", "", d) for m, d in METRICS.items())
    if layout == "batch":
        rows.extend(("impacts.parquet", e, "effect", "", d) for e, d in EFFECTS.items())
    monthly = "monthly/" if layout == "batch" else "monthly.parquet"
    rows.extend((monthly, e, "event", "", EVENT_DESCRIPTIONS[e]) for e in EVENT_CODES)
    return pl.DataFrame(rows, schema=_DICTIONARY_SCHEMA, orient="row")
