"""Refreshes the weekly tables and reports after an inbox file brings older weeks.

A sensor, not an automation condition: the weeks to rebuild come from the file (its earliest day, in
the inbox run's metadata) and from the warehouse (the weeks that now hold data, which it first adds as
partitions). A condition sees only that post_performance updated, which every hourly collection does
too: `eager()` on the weekly assets requested every weekly partition of all five after one hourly run,
and no condition adds a dynamic partition.
"""

import contextlib

import dagster as dg
import duckdb
import pandas as pd

from social_pipeline.core.clock import utc_now
from social_pipeline.defs.common import partition_range_tags, weekly_refresh
from social_pipeline.defs.ingestion.assets import EARLIEST_DAY_KEY, inbox_files
from social_pipeline.defs.ingestion.jobs import inbox_ingestion_job
from social_pipeline.defs.reporting.jobs import weekly_reporting_job
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect, is_lock_error


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[inbox_ingestion_job],
    request_job=weekly_reporting_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a dropped file is ingested, add the weeks that now hold data (any year) as "
    "weekly partitions and rebuild the weekly analytics and reports of every weekly partition from "
    "the file's earliest week on (one run per range of partitions).",
)
def refresh_weekly_after_inbox(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    run_id = context.dagster_run.run_id
    records = context.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    events = [r.dagster_event for r in records if r.dagster_event is not None]
    days = [
        e.step_materialization_data.materialization.metadata.get(EARLIEST_DAY_KEY)
        for e in events
        if e.asset_key == inbox_files.key
    ]
    days = [pd.Timestamp(str(d.value)) for d in days if d is not None and d.value]
    if not days:
        return dg.SkipReason(f"run {run_id[:8]} wrote no new rows (a duplicate file)")
    # Which weeks hold data: read-only, between runs. The tick never waits for a run holding the file's lock:
    # a run-status sensor's cursor moves past this run whatever the tick returns (a SkipReason would lose the
    # refresh), so then every complete week from the file's on is taken instead.
    now = utc_now()
    try:
        con = connect(warehouse.database, read_only=True)
    except duckdb.IOException as exc:
        if not is_lock_error(exc):
            raise
        con = None
        context.log.warning(
            f"the warehouse is locked by a run: adding every complete week from {min(days).date()} on as a partition"
        )
    with con if con is not None else contextlib.nullcontext():
        ranges = weekly_refresh(context.instance, con, min(days), now)
    if not ranges:
        return dg.SkipReason(f"the file's earliest day {min(days).date()} is in a week not yet complete")
    return [
        dg.RunRequest(
            run_key=f"weekly-after-{run_id}-{first}", tags={**partition_range_tags(first, last), "trigger": "inbox"}
        )
        for first, last in ranges
    ]
