"""The inbox: X export files and profile-activity sheets dropped in a folder, ingested by a sensor.

The sensor (running by default) launches one `inbox_ingestion` run per new file; the run
ingests it in one transaction (resources/inbox_files.py), moves it to processed/ or
rejected/, then refreshes post_snapshots and post_performance.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from ..resources.inbox_files import (
    IngestOutcome,
    content_sha256,
    inbox_path,
    pending_files,
    process_inbox_file,
    settle,
)
from ..resources.warehouse import WarehouseResource
from .common import WAREHOUSE_POOL, asset_labels, code_version, table_definition_metadata, table_metadata


EARLIEST_DAY_KEY = "earliest_affected_day"

# Retries cover transient trouble such as another run holding the DuckDB file; a bad file is not retried.
INBOX_RETRIES = 3


class InboxFileConfig(dg.Config):
    path: str = Field(description="The dropped file to ingest (the sensor fills this in)")


@dg.asset(
    group_name="ingestion",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Files dropped in the inbox (`SOCIAL_PIPELINE_INBOX`, default `data/inbox`): X analytics exports "
    "(classic and newer format) into `raw.posts` / `raw.tweet_metrics`, profile-activity sheets into "
    "`raw.profile_activity`; each ingested content recorded in `ops.ingested_files` (the table this asset "
    "shows) and never ingested twice.",
    metadata=table_definition_metadata("ops.ingested_files"),
    code_version=code_version("1"),
    **asset_labels("data_platform", "raw", "per_file"),
    retry_policy=dg.RetryPolicy(max_retries=INBOX_RETRIES, delay=5, backoff=dg.Backoff.EXPONENTIAL),
)
def inbox_files(context: dg.AssetExecutionContext, config: InboxFileConfig, warehouse: WarehouseResource):
    path = Path(config.path)
    if not path.is_file():
        raise dg.Failure(description=f"{path} is no longer in the inbox (handled by an earlier run, or removed)",
                         allow_retries=False)
    try:
        with warehouse.get_connection() as con:
            outcome = process_inbox_file(con, path)
    except Exception as exc:
        if context.retry_number >= INBOX_RETRIES and path.is_file():
            # Out of retries: the file leaves the inbox with the reason beside it; nothing was written.
            settle(IngestOutcome(path, "rejected", message=f"unexpected error after {INBOX_RETRIES + 1} attempts: "
                                 f"{type(exc).__name__}: {exc}"))
        raise
    context.log.info(outcome.describe())
    if outcome.status == "rejected":
        raise dg.Failure(description=f"{outcome.describe()} (moved to {outcome.moved_to}, reason in "
                                     f"{outcome.moved_to.name}.error.txt); nothing was written.",
                         allow_retries=False)
    for note in outcome.notes:
        context.log.info(note)
    with warehouse.get_connection() as con:
        # The ledger row this run wrote: none for a duplicate.
        ledger = table_metadata(con, "ops.ingested_files", "content_sha256 = $sha" if outcome.status == "ingested"
                                else "FALSE", {"sha": outcome.sha256} if outcome.status == "ingested" else {},
                                order_by="ingested_at DESC")
    return dg.MaterializeResult(metadata={
        **ledger,
        "file": dg.MetadataValue.text(outcome.path.name),
        "outcome": dg.MetadataValue.text(outcome.status),
        "kind": dg.MetadataValue.text(outcome.kind or ""),
        # The file's rows stored into the raw tables (0 for a duplicate).
        "file_rows_ingested": dg.MetadataValue.int(outcome.rows),
        "snapshot_time": dg.MetadataValue.text(str(outcome.snapshot_time or "")),
        "users": dg.MetadataValue.text(", ".join(outcome.users)),
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in outcome.notes) or "_none_"),
        "content_sha256": dg.MetadataValue.text(outcome.sha256),
        # Read by the refresh_weekly_after_inbox sensor: weeks from this day's on are rebuilt.
        EARLIEST_DAY_KEY: dg.MetadataValue.text(outcome.earliest_day.strftime("%Y-%m-%d") if outcome.earliest_day is not None else ""),
    })


inbox_ingestion_job = dg.define_asset_job(
    "inbox_ingestion",
    selection=dg.AssetSelection.assets("inbox_files", "post_snapshots", "post_performance"),
    description="Ingest one dropped file, then bring post_snapshots and post_performance up to date.",
    executor_def=dg.in_process_executor,
)


@dg.sensor(
    job=inbox_ingestion_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Launches an inbox_ingestion run per new file in SOCIAL_PIPELINE_INBOX (default data/inbox).",
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    inbox = inbox_path()
    inbox.mkdir(parents=True, exist_ok=True)  # so people see where to drop files
    files = pending_files(inbox)
    if not files:
        return dg.SkipReason(f"no new files in {inbox}")
    requests, seen = [], set()
    for path in files:
        sha = content_sha256(path.read_bytes())
        if sha in seen:  # the same content twice in one tick: the second waits and then is a duplicate
            continue
        seen.add(sha)
        # Content hash plus modification time: the same content dropped again later gets a run
        # (which finds it in the ledger and changes nothing) instead of lying in the inbox forever.
        requests.append(dg.RunRequest(
            run_key=f"{sha}:{path.stat().st_mtime_ns}",
            run_config={"ops": {"inbox_files": {"config": {"path": str(path.resolve())}}}},
            tags={"inbox/file": path.name, "inbox/sha256": sha},
        ))
    return requests


defs = dg.Definitions(assets=[inbox_files], jobs=[inbox_ingestion_job], sensors=[inbox_sensor])
