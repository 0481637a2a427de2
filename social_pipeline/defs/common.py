"""Shared wiring for the domains' Dagster objects: partitions, the warehouse pool, metadata."""

import hashlib
import math
import warnings
from typing import TypedDict

import dagster as dg
import duckdb
import pandas as pd

from social_pipeline.core.collection import HOUR, PARTITION_KEY_FORMAT, WEEK, collection_keys, collection_window
from social_pipeline.core.schema import table_columns
from social_pipeline.core.sql_files import scalar, sql_loader

# `backfill_policy` is beta in Dagster 1.13 and warns once per asset at every load. The project
# depends on it knowingly (a range of partitions in one run); this silences that one warning only.
warnings.filterwarnings(
    "ignore", message=r"Parameter `backfill_policy` of function `asset` is currently in beta", category=dg.BetaWarning
)

# Partitions exist where data exists, not from a date fixed in code: both sets are dynamic and
# live in the Dagster instance, so `make run`, the schedules, the inbox and `social-pipeline
# ingest` add keys (add_partition_keys) and the UI shows no phantom missing months.
# Metric collections: each partition is the collections of the hours it covers, run when its last
# hour closes. Live collection adds hours (%Y-%m-%d-%H:%M); backfilled history is keyed by whole
# days (%Y-%m-%d) and ISO weeks (%G-W%V) where they fit (core/collection.py). Kept gap-free from
# the first collected hour on, so a missed hour shows as missing.
HOURLY_PARTITIONS = dg.DynamicPartitionsDefinition(name="collection_hours")
# Weeks (Monday 00:00 UTC, %Y-%m-%d) in which an account has a post or a profile day, any year,
# plus each week the weekly schedule closes. Weeks without any data are no partitions.
WEEKLY_PARTITIONS = dg.DynamicPartitionsDefinition(name="report_weeks")
WEEK_KEY_FORMAT = "%Y-%m-%d"
# Every asset that writes the warehouse joins this pool; the instance (data/dagster_home/dagster.yaml)
# limits it to one run at a time, because a DuckDB file takes one writer process.
WAREHOUSE_POOL = "duckdb_warehouse"
WAREHOUSE_POOL_LIMIT = 1
# A range of partitions (a backfill) runs as one run and one SQL pass.
SINGLE_RUN = dg.BackfillPolicy.single_run()


sql = sql_loader(__file__)


def weeks_with_data(con: duckdb.DuckDBPyConnection, from_day: pd.Timestamp, now: pd.Timestamp) -> list[str]:
    """Keys of the complete weeks, from `from_day`'s week on, in which an account has data."""
    return [row[0] for row in con.execute(sql("weeks_with_data"), {"from_day": from_day, "now": now}).fetchall()]


def weekly_refresh(
    instance: dg.DagsterInstance, con: duckdb.DuckDBPyConnection | None, from_day: pd.Timestamp, now: pd.Timestamp
) -> list[tuple[str, str]]:
    """After new data from `from_day` on: add the weeks that now hold data as partitions and return
    the ranges to rebuild, every partition from that week on (later weeks' 90-day best times and
    week-over-week trends change too). Without a connection (the warehouse stayed locked), every
    complete week from `from_day` on is added: some may hold no data, but none is left out."""
    if con is not None:
        weeks = weeks_with_data(con, from_day, now)
    else:
        mondays = pd.date_range(pd.Timestamp(week_key(from_day)), pd.Timestamp(now) - WEEK, freq="7D")
        weeks = [monday.strftime(WEEK_KEY_FORMAT) for monday in mondays]
    add_partition_keys(instance, WEEKLY_PARTITIONS, weeks)
    first = week_key(from_day)
    return storage_ranges(
        instance,
        WEEKLY_PARTITIONS,
        [k for k in instance.get_dynamic_partitions(partitions_name(WEEKLY_PARTITIONS)) if k >= first],
    )


# The run tags with which Dagster runs a range of partitions as one run (what a single-run backfill
# sets, and the way Dagster's docs launch a range from a sensor or a script). Spelled out: Dagster
# exports no public constant for them, and execute_in_process takes one partition key only.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_range_tags(first_key: str, last_key: str) -> dict[str, str]:
    """Run tags that make one run of a partitioned job cover first_key .. last_key (a single-run backfill)."""
    return {PARTITION_RANGE_START_TAG: first_key, PARTITION_RANGE_END_TAG: last_key}


def hour_key(hour_start: pd.Timestamp) -> str:
    return pd.Timestamp(hour_start).strftime(PARTITION_KEY_FORMAT)


def week_key(day: pd.Timestamp) -> str:
    """The key of the week (Monday 00:00 UTC) holding `day`."""
    day = pd.Timestamp(day).normalize()
    return (day - pd.Timedelta(days=day.day_of_week)).strftime(WEEK_KEY_FORMAT)


def complete_weeks(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """Keys of the weeks (Monday 00:00 UTC) that lie wholly inside [start, end), as Dagster's own
    weekly partitions count them from `start`: the weeks a history of [start, end) can report."""
    weeks = dg.WeeklyPartitionsDefinition(
        start_date=pd.Timestamp(start).to_pydatetime(), day_offset=1, fmt=WEEK_KEY_FORMAT
    )
    return list(weeks.get_partition_keys(current_time=pd.Timestamp(end).to_pydatetime()))


def _window(partitions_def: dg.DynamicPartitionsDefinition, key: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A key's [start, end); a key added by hand in the UI that is no collection key (or no Monday)
    is refused by name."""
    if partitions_def.name == HOURLY_PARTITIONS.name:
        try:
            return collection_window(key)
        except ValueError as exc:
            raise dg.Failure(
                description=f"partition key {key!r} of {partitions_def.name} is not an hour, a day "
                f"or an ISO week: {exc}"
            ) from None
    try:
        start = pd.Timestamp(pd.to_datetime(key, format=WEEK_KEY_FORMAT))
    except ValueError:
        start = None
    if start is None or start.day_of_week != 0:
        raise dg.Failure(description=f"partition key {key!r} of {partitions_def.name} is not a Monday (%Y-%m-%d)")
    return start, start + WEEK


def _gap_free(partitions_def: dg.DynamicPartitionsDefinition, existing: set[str], wanted: set[str]) -> set[str]:
    """`wanted` plus the hour keys that fill every gap between the collection keys, refusing a key
    that overlaps another (two keys would write and replace the same hours' rows)."""
    windows = sorted((*_window(partitions_def, k), k) for k in existing | wanted)
    filled = set(wanted)
    for (_, end, key), (next_start, _, next_key) in zip(windows, windows[1:], strict=False):
        if next_start < end:
            new, old = (next_key, key) if next_key in wanted - existing else (key, next_key)
            raise dg.Failure(
                description=f"partition key {new!r} of {partitions_def.name} overlaps {old!r}: "
                "each collection hour belongs to one partition"
            )
        filled.update(hour_keys(end, next_start - HOUR))
    return filled


def partitions_name(partitions_def: dg.DynamicPartitionsDefinition) -> str:
    """The name the instance stores a dynamic definition's keys under (each one here is named)."""
    assert partitions_def.name is not None
    return partitions_def.name


def add_partition_keys(
    instance: dg.DagsterInstance, partitions_def: dg.DynamicPartitionsDefinition, keys: list[str]
) -> list[str]:
    """Add the keys the instance lacks, oldest first; return them. Collection keys are kept gap-free:
    adding one also adds every hour between it and the keys already there."""
    existing = set(instance.get_dynamic_partitions(partitions_name(partitions_def)))
    wanted = set(keys) - existing
    if partitions_def.name == HOURLY_PARTITIONS.name and wanted:
        wanted = _gap_free(partitions_def, existing, wanted)
    new = sorted(wanted, key=lambda k: _window(partitions_def, k))
    if new:
        instance.add_dynamic_partitions(partitions_name(partitions_def), new)
    return new


def collection_plan(instance: dg.DagsterInstance, start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """Collection keys covering [start, end), oldest first: the keys already there that overlap it
    (a re-run), and the fewest new keys (days and weeks where whole) for the rest."""
    existing = instance.get_dynamic_partitions(partitions_name(HOURLY_PARTITIONS))
    windows = sorted((*_window(HOURLY_PARTITIONS, k), k) for k in existing)
    keys, covered_until = [], pd.Timestamp(start)
    for key_start, key_end, key in (w for w in windows if w[1] > start and w[0] < end):
        if key_start > covered_until:
            keys += collection_keys(covered_until, key_start)
        keys.append(key)
        covered_until = max(covered_until, key_end)
    if covered_until < end:
        keys += collection_keys(covered_until, end)
    return keys


def hour_keys(first_hour: pd.Timestamp, last_hour: pd.Timestamp) -> list[str]:
    return [hour_key(t) for t in pd.date_range(first_hour, last_hour, freq="h")]


def storage_ranges(
    instance: dg.DagsterInstance, partitions_def: dg.DynamicPartitionsDefinition, keys: list[str]
) -> list[tuple[str, str]]:
    """`keys` as (first, last) ranges a run can target: Dagster orders dynamic keys as they were
    added, so keys added later for older data (imported history) form ranges of their own."""
    wanted = set(keys)
    hourly = partitions_def.name == HOURLY_PARTITIONS.name
    ranges, current = [], None
    for key in instance.get_dynamic_partitions(partitions_name(partitions_def)):
        # A collection run covers consecutive time; a weekly run may skip weeks without data.
        follows = current is not None and (
            not hourly or _window(partitions_def, key)[0] == _window(partitions_def, current[1])[1]
        )
        if key in wanted and current is not None and follows:
            current[1] = key
            continue
        if current is not None:
            ranges.append(tuple(current))
        current = [key, key] if key in wanted else None
    if current is not None:
        ranges.append(tuple(current))
    return ranges


def time_windows(partitions_def: dg.DynamicPartitionsDefinition, keys) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The keys' time spans merged into [start, end) windows, oldest first (naive UTC)."""
    windows: list[list[pd.Timestamp]] = []
    for start, end in sorted(_window(partitions_def, k) for k in keys):
        if windows and windows[-1][1] == start:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    return [(start, end) for start, end in windows]


def partition_range(context: dg.AssetExecutionContext) -> tuple[str, str, pd.Timestamp, pd.Timestamp]:
    """(first hour, last hour, window start, window end), naive UTC, for one collection key or a range
    of consecutive ones: the hours are the keys (%Y-%m-%d-%H:%M) the run's rows are stamped with."""
    keys = context.partition_keys
    windows = time_windows(HOURLY_PARTITIONS, keys)
    if len(windows) != 1:
        raise dg.Failure(
            description=f"the run's {len(keys)} partitions are not consecutive "
            f"({', '.join(f'{s} .. {e}' for s, e in windows)}): select one range of partitions"
        )
    start, end = windows[0]
    return hour_key(start), hour_key(end - HOUR), start, end


def code_version(version: str, *queries: str) -> str:
    """An asset's code version: a version bumped by hand when its Python logic changes, plus a hash
    of the SQL it runs, so an edited query shows as changed code in the UI without a bump."""
    if not queries:
        return version
    return f"{version}+sql.{hashlib.sha256(chr(0).join(queries).encode()).hexdigest()[:10]}"


class AssetLabels(TypedDict):
    """`asset_labels`' keyword arguments, typed so that unpacking them into a decorator is checked."""

    owners: list[str]
    tags: dict[str, str]


class AssetOptions(TypedDict, total=False):
    """Keyword arguments several assets of one group share; the decorators pass none of them again."""

    owners: list[str]
    tags: dict[str, str]
    group_name: str
    kinds: set[str]
    pool: str
    partitions_def: dg.PartitionsDefinition
    backfill_policy: dg.BackfillPolicy


def asset_labels(team: str, layer: str, cadence: str) -> AssetLabels:
    """Owners and tags a team filters the catalog by: who answers for it, its layer (raw,
    analytics, report, ml, ops) and when it is refreshed (hourly, weekly, per_file, ...)."""
    return {"owners": [f"team:{team}"], "tags": {"layer": layer, "cadence": cadence}}


def column_schema(table: str) -> dg.TableSchema:
    """The table's columns, types and descriptions from core/schema.py, for the Columns tab."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                sql_type.split()[0],
                description=description,
                constraints=dg.TableColumnConstraints(nullable="NOT NULL" not in sql_type),
            )
            for name, sql_type, description in table_columns(table)
        ]
    )


def table_definition_metadata(table: str) -> dict:
    """Definition metadata of an asset that writes one warehouse table: its name and columns,
    shown before anything has run."""
    return {
        "dagster/table_name": dg.MetadataValue.text(table),
        "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(table)),
    }


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
        return value[: PREVIEW_TEXT_CHARS - 1] + "…"
    return value


def preview_table(frame: pd.DataFrame, schema: dg.TableSchema | None = None) -> dg.TableMetadataValue:
    """A small frame as a table in the UI, typed as in the schema where it has the column. Names and
    types only: the descriptions are in `dagster/column_schema` and would double every event's size."""
    types = {column.name: column.type for column in schema.columns} if schema else {}
    columns = [dg.TableColumn(str(name), types.get(str(name), str(dtype))) for name, dtype in frame.dtypes.items()]
    records = [
        dg.TableRecord({str(name): _preview_value(value) for name, value in row.items()})
        for row in frame.astype(object).to_dict("records")
    ]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def partition_materializations(
    context: dg.AssetExecutionContext, run_metadata: dict, partition_metadata: dict[str, dict]
):
    """The run's materializations, each partition with its own metadata (`partition_metadata[key]`).

    A run of one partition returns its result. On a run of a range (a single-run backfill) Dagster
    records the one result on every partition in it, in the order the keys were added (so the last
    recorded, which the UI shows as the latest, may be an old week): that result carries only the
    run's figures and the range, and one materialization per partition follows, oldest first, with
    that partition's own metadata, so the newest partition is the latest and each lists its own."""
    keys = sorted(context.partition_keys)
    if len(keys) == 1:
        yield dg.MaterializeResult(metadata={**run_metadata, **partition_metadata.get(keys[0], {})})
        return
    yield dg.MaterializeResult(
        metadata={
            **run_metadata,
            "partition_range": dg.MetadataValue.text(
                f"{keys[0]} .. {keys[-1]} ({len(keys)} partitions; each partition's own figures follow as its own "
                "materialization)"
            ),
        }
    )
    for key in keys:
        yield dg.AssetMaterialization(
            context.asset_key, partition=key, metadata={**run_metadata, **partition_metadata.get(key, {})}
        )


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    table: str,
    where: str = "TRUE",
    params=None,
    order_by: str | None = None,
    preview_rows: int = 5,
    context: dg.AssetExecutionContext | None = None,
    written_rows: str | None = None,
) -> dict:
    """Materialization metadata of an asset that writes `table`: `where` selects the rows this run
    wrote. The table's total is `dagster/row_count`, the run's rows `rows_written_this_run`.

    A run of a range of partitions (a backfill) records the same metadata on every partition in it,
    so only a run of one partition (or an unpartitioned one) gets `dagster/partition_row_count` and
    the `preview` of its rows: on a range they would describe the range, not the partition, and a
    90-day backfill would store the preview 2,160 times.

    `written_rows` names a relation (a temp table) holding exactly the run's rows, read instead of
    filtering a large table with `where`."""
    params = params or {}
    rows = f"(SELECT * FROM {written_rows or table} WHERE {where})"
    written = int(scalar(con, f"SELECT count(*) FROM {rows}", params))
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
    preview = con.execute(f"SELECT {', '.join(shown)} FROM {rows} {order} LIMIT {preview_rows}", params).df()
    meta["preview"] = preview_table(preview, schema)
    return meta
