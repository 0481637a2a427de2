"""Shared wiring for asset modules: partitions, SQL files, metadata."""


import hashlib
import math
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from ..resources.warehouse import scalar

from ..core.collection import PARTITION_KEY_FORMAT
from ..core.schema import table_columns

# `backfill_policy` is beta in Dagster 1.13 and warns once per asset at every load. The project
# depends on it knowingly (a range of partitions in one run); this silences that one warning only.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` of function `asset` is currently in beta",
                        category=dg.BetaWarning)

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


def code_version(version: str, *queries: str) -> str:
    """An asset's code version: a version bumped by hand when its Python logic changes, plus a hash
    of the SQL it runs, so an edited query shows as changed code in the UI without a bump."""
    if not queries:
        return version
    return f"{version}+sql.{hashlib.sha256(chr(0).join(queries).encode()).hexdigest()[:10]}"


def asset_labels(team: str, layer: str, cadence: str) -> dict:
    """Owners and tags a team filters the catalog by: who answers for it, its layer (raw,
    analytics, report, ml, ops) and when it is refreshed (hourly, weekly, per_file, ...)."""
    return {"owners": [f"team:{team}"], "tags": {"layer": layer, "cadence": cadence}}


def column_schema(table: str) -> dg.TableSchema:
    """The table's columns, types and descriptions from core/schema.py, for the Columns tab."""
    return dg.TableSchema(columns=[
        dg.TableColumn(name, sql_type.split()[0], description=description,
                       constraints=dg.TableColumnConstraints(nullable="NOT NULL" not in sql_type))
        for name, sql_type, description in table_columns(table)
    ])


def table_definition_metadata(table: str) -> dict:
    """Definition metadata of an asset that writes one warehouse table: its name and columns,
    shown before anything has run."""
    return {"dagster/table_name": dg.MetadataValue.text(table),
            "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(table))}


PREVIEW_TEXT_CHARS = 80


def _preview_value(value):
    """A value a TableRecord accepts (str, int, float, bool or None), long text shortened."""
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        return round(value, 4)
    if not isinstance(value, (bool, int, str)):
        value = str(value)
    if isinstance(value, str) and len(value) > PREVIEW_TEXT_CHARS:
        return value[:PREVIEW_TEXT_CHARS - 1] + "…"
    return value


def preview_table(frame: pd.DataFrame, schema: dg.TableSchema | None = None) -> dg.TableMetadataValue:
    """A small frame as a table in the UI, typed as in the schema where it has the column. Names and
    types only: the descriptions are in `dagster/column_schema` and would double every event's size."""
    types = {column.name: column.type for column in schema.columns} if schema else {}
    columns = [dg.TableColumn(name, types.get(name, str(dtype))) for name, dtype in frame.dtypes.items()]
    records = [dg.TableRecord({name: _preview_value(value) for name, value in row.items()})
               for row in frame.astype(object).to_dict("records")]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, where: str = "TRUE", params=None,
                   order_by: str | None = None, preview_rows: int = 5,
                   context: dg.AssetExecutionContext | None = None) -> dict:
    """Materialization metadata of an asset that writes `table`: `where` selects the rows this run
    wrote. The table's total is `dagster/row_count`, the run's rows `rows_written_this_run`.

    A run of a range of partitions (a backfill) records the same metadata on every partition in it,
    so only a run of one partition (or an unpartitioned one) gets `dagster/partition_row_count` and
    the `preview` of its rows: on a range they would describe the range, not the partition, and a
    90-day backfill would store the preview 2,160 times."""
    params = params or {}
    written = int(scalar(con, f"SELECT count(*) FROM {table} WHERE {where}", params))
    total = int(scalar(con, f"SELECT count(*) FROM {table}"))
    schema = column_schema(table)
    meta = {
        "dagster/table_name": dg.MetadataValue.text(table),
        "dagster/column_schema": dg.MetadataValue.table_schema(schema),
        "dagster/row_count": dg.MetadataValue.int(total),
        "rows_written_this_run": dg.MetadataValue.int(written),
    }
    key_range = context.partition_key_range if context is not None and context.has_partition_key_range else None
    if key_range is not None and key_range.start != key_range.end:
        return meta
    if key_range is not None:
        meta["dagster/partition_row_count"] = dg.MetadataValue.int(written)
    order = f"ORDER BY {order_by}" if order_by else ""
    # Raw JSON stays out of the preview; long text is shortened.
    shown = [c.name for c in schema.columns if c.type != "JSON"]
    preview = con.execute(f"SELECT {', '.join(shown)} FROM {table} WHERE {where} {order} LIMIT {preview_rows}",
                          params).df()
    meta["preview"] = preview_table(preview, schema)
    return meta
