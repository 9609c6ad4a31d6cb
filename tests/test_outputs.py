"""Output files any tool reads: one schema per folder, statistics, described columns.

A small batch (the Work Programme and its Jobcentre Plus counterfactual, which has no
providers, both as baselines) is read folder by folder with DuckDB and with polars,
as a user would; every Parquet file must carry Parquet statistics and each column's
description, and ``data_dictionary.csv`` must describe every column, metric, effect
and event the files hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

import sim
from sim.outputs import write_run
from sim.records import EVENT_CODES
from sim.schema import EVENT_DESCRIPTIONS, SCHEMAS, data_dictionary, parquet_bytes

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("ledger", "providers", "monthly", "compare")
"""Every partitioned folder of a batch."""


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim.batch import run_batch
    from sim.batch_spec import load_batch

    tmp = tmp_path_factory.mktemp("outputs")
    spec = {
        "name": "outputs",
        "scenarios": [
            str(ROOT / "scenarios/work_programme.toml"),
            str(ROOT / "scenarios/jcp_offer.toml"),
        ],
        "baselines": ["jcp_offer", "work_programme"],
        "replications": 2,
        "claimants": 300,
        "seed": 5,
        "claimants_per_task": 150,
    }
    path = tmp / "outputs.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items()))
    run_batch(load_batch(path), tmp / "out", workers=1)
    return tmp / "out"


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_folder_reads_whole_with_duckdb_and_polars(batch: Path, folder: str) -> None:
    pattern = str(batch / folder / "**" / "*.parquet")
    con = duckdb.connect()
    duck = con.sql(f"SELECT * FROM read_parquet('{pattern}', hive_partitioning=true)").pl()
    polars = pl.read_parquet(pattern, hive_partitioning=True)
    assert duck.height == polars.height > 0
    assert sorted(duck.columns) == sorted(polars.columns)
    if folder == "compare":
        assert set(polars["baseline"]) == {"jcp_offer", "work_programme"}
        assert set(polars.columns) == set(SCHEMAS["impacts"])
        return
    assert set(polars["scenario"]) <= {"work_programme", "jcp_offer"}
    assert set(polars.columns) == {*SCHEMAS[folder], "scenario", "replicate"}  # type: ignore[index]
    counts = con.sql(
        f"SELECT scenario, count(*) AS n FROM read_parquet('{pattern}', hive_partitioning=true) "
        "GROUP BY scenario ORDER BY scenario"
    ).fetchall()
    if folder == "ledger":
        assert counts == [("jcp_offer", 600), ("work_programme", 600)]
    if folder == "providers":
        # the counterfactual has no providers: its files hold no rows, but every column
        assert [s for s, _ in counts] == ["work_programme"]
        empty = next((batch / "providers" / "scenario=jcp_offer").rglob("*.parquet"))
        assert pq.read_schema(empty).names == list(SCHEMAS["providers"])


def test_every_parquet_file_has_statistics_and_described_columns(batch: Path) -> None:
    files = sorted(batch.rglob("*.parquet"))
    assert len(files) > 20
    for path in files:
        schema = pq.read_schema(path)
        for field in schema:
            meta = field.metadata or {}
            assert meta.get(b"description"), f"{path}: {field.name} has no description"
        meta = pq.ParquetFile(path).metadata
        if meta.num_rows:
            stats = meta.row_group(0).column(0).statistics
            assert stats is not None and stats.has_min_max, f"{path}: no statistics"


def test_data_dictionary_describes_every_column_and_name(batch: Path) -> None:
    dictionary = pl.read_csv(batch / "data_dictionary.csv")
    assert dictionary.equals(data_dictionary("batch"))
    assert dictionary["description"].null_count() == 0
    names = {(f, n) for f, n in dictionary.select("file", "name").iter_rows()}
    for folder in ("ledger", "providers", "monthly"):
        df = pl.read_parquet(batch / folder / "**" / "*.parquet", hive_partitioning=True)
        assert {(f"{folder}/", c) for c in df.columns} <= names, folder
    for name in ("summary", "impacts"):
        df = pl.read_parquet(batch / f"{name}.parquet")
        assert {(f"{name}.parquet", c) for c in df.columns} <= names, name
    metrics = set(pl.read_parquet(batch / "summary.parquet")["metric"])
    effects = set(pl.read_parquet(batch / "impacts.parquet")["effect"])
    events = set(pl.read_parquet(batch / "monthly" / "**" / "*.parquet")["event"])
    kinds = dict(dictionary.group_by("kind").agg(pl.col("name")).iter_rows())
    assert metrics <= set(kinds["metric"])
    assert effects <= set(kinds["effect"])
    assert events <= set(kinds["event"])
    assert set(EVENT_DESCRIPTIONS) == set(EVENT_CODES)


def test_a_single_run_of_the_counterfactual_writes_typed_files(tmp_path: Path) -> None:
    result = sim.run(ROOT / "scenarios/jcp_offer.toml", n_claimants=200, seed=1, event_log=True)
    write_run(result, tmp_path)
    providers = pl.read_parquet(tmp_path / "providers.parquet")
    assert providers.height == 0 and dict(providers.schema) == SCHEMAS["providers"]
    tables = {
        "ledger": "ledger",
        "providers": "providers",
        "monthly": "monthly",
        "summary": "run_summary",
        "events": "events",
    }
    for file, table in tables.items():
        got = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path / file}.parquet')").pl()
        assert got.columns == list(SCHEMAS[table]), file  # type: ignore[index]
    dictionary = pl.read_csv(tmp_path / "data_dictionary.csv")
    assert dictionary.equals(data_dictionary("run"))


def test_run_frames_have_exactly_their_schemas() -> None:
    result = sim.run(
        ROOT / "scenarios/work_programme.toml", n_claimants=300, seed=2, event_log=True
    )
    assert result.events is not None
    frames = {
        "ledger": result.ledger,
        "providers": result.providers,
        "monthly": result.monthly,
        "run_summary": result.summary,
        "events": result.events,
    }
    for table, df in frames.items():
        assert dict(df.schema) == SCHEMAS[table], table  # type: ignore[index]
        assert list(df.schema) == list(SCHEMAS[table]), table  # type: ignore[index]


def test_a_frame_without_its_schema_is_refused() -> None:
    monthly = pl.DataFrame(schema=SCHEMAS["monthly"])
    assert pq.read_schema(pa_buffer(parquet_bytes(monthly, "monthly"))).names == list(
        SCHEMAS["monthly"]
    )
    with pytest.raises(ValueError, match="monthly frame does not have its schema"):
        parquet_bytes(monthly.drop("n"), "monthly")
    with pytest.raises(ValueError, match="out of order"):
        parquet_bytes(monthly.select("n", "month", "month_start", "event"), "monthly")
    with pytest.raises(ValueError, match="layout"):
        data_dictionary("other")  # type: ignore[arg-type]


def pa_buffer(data: bytes) -> object:
    import pyarrow as pa

    return pa.BufferReader(data)
