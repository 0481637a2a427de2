"""Shared wiring for asset modules: partitions, SQL files, metadata."""


from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from ..resources.warehouse import scalar

from ..core.collection import PARTITION_KEY_FORMAT

SQL_DIR = Path(__file__).parent / "sql"

# Hourly metric collections. Each partition is the collection that runs when its hour closes.
HOURLY_PARTITIONS = dg.HourlyPartitionsDefinition(start_date="2026-01-01-00:00", fmt=PARTITION_KEY_FORMAT)
# Every asset that writes the warehouse joins this pool; the instance (data/dagster_home/dagster.yaml)
# limits it to one run at a time, because a DuckDB file takes one writer process.
WAREHOUSE_POOL = "duckdb_warehouse"
# A range of partitions (a backfill) runs as one run and one SQL pass.
SINGLE_RUN = dg.BackfillPolicy.single_run()


def sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def partition_range_tags(first_key: str, last_key: str) -> dict[str, str]:
    """Run tags that make one run of a partitioned job cover first_key .. last_key (a single-run backfill)."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    return {ASSET_PARTITION_RANGE_START_TAG: first_key, ASSET_PARTITION_RANGE_END_TAG: last_key}


def partition_range(context: dg.AssetExecutionContext) -> tuple[str, str, pd.Timestamp, pd.Timestamp]:
    """(first key, last key, window start, window end), naive UTC, for one key or a range."""
    key_range = context.partition_key_range
    window = context.partition_time_window
    start = pd.Timestamp(window.start).tz_convert("UTC").tz_localize(None)
    end = pd.Timestamp(window.end).tz_convert("UTC").tz_localize(None)
    return key_range.start, key_range.end, start, end


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, where: str = "TRUE", params=None,
                   order_by: str | None = None, preview_rows: int = 5) -> dict:
    """Row counts and a small preview for the Dagster UI."""
    params = params or {}
    written = scalar(con, f"SELECT count(*) FROM {table} WHERE {where}", params)
    total = scalar(con, f"SELECT count(*) FROM {table}")
    order = f"ORDER BY {order_by}" if order_by else ""
    preview = con.execute(f"SELECT * FROM {table} WHERE {where} {order} LIMIT {preview_rows}", params).df()
    preview = preview.drop(columns=[c for c in ("payload", "text") if c in preview.columns])
    return {
        "dagster/row_count": dg.MetadataValue.int(int(total)),
        "rows_written": dg.MetadataValue.int(int(written)),
        "table": dg.MetadataValue.text(table),
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "_no rows_"),
    }
