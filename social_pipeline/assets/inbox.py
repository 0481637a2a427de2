"""The inbox: X export files and profile-activity sheets dropped in a folder, ingested by a sensor.

The sensor (running by default) launches one `inbox_ingestion` run per new file; the run
ingests it in one transaction (resources/inbox_files.py), moves it to processed/ or
rejected/, then refreshes post_snapshots and post_performance.

A rejected or row-less file is a handled outcome: the run succeeds, its metadata says what
happened and the `file_was_ingested` check warns. A locked warehouse is not the file's fault:
the file stays in the inbox, the run fails (a real outage, seen by the failure sensor) and the
sensor tries the file again later. A run only ever touches files directly inside the inbox.
"""

import time
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
from ..resources.warehouse import WarehouseResource, is_lock_error, wait_until_unlocked
from .common import WAREHOUSE_POOL, asset_labels, code_version, table_definition_metadata, table_metadata


EARLIEST_DAY_KEY = "earliest_affected_day"

# Retries cover transient trouble such as another process holding the DuckDB file; a bad file is not retried.
INBOX_RETRIES = 3
# A file left in the inbox by a finished run (the warehouse was locked) gets a new run after this pause.
LOCKED_RETRY_AFTER_SECONDS = 120
FILE_CHECK = "file_was_ingested"
# Identifies one dropped file (content and modification time) across the runs that try it.
FILE_ID_TAG = "inbox/file_id"


class InboxFileConfig(dg.Config):
    path: str = Field(description="The dropped file to ingest (the sensor fills this in)")
    lock_wait_seconds: float = Field(default=60.0, description="How long to wait for another process to release "
                                     "the warehouse before leaving the file in the inbox for a later run")


LOCK_POLL_SECONDS = 1.0


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
    check_specs=[dg.AssetCheckSpec(FILE_CHECK, asset="inbox_files", description="Warns when the run's file was "
                                   "rejected (the reason is in the metadata and in `rejected/<name>.error.txt`) or "
                                   "had no rows.")],
)
def inbox_files(context: dg.AssetExecutionContext, config: InboxFileConfig, warehouse: WarehouseResource):
    inbox = inbox_path().resolve()
    path = Path(config.path).resolve()
    if path.parent != inbox:
        # Run config can name any path; only the configured inbox's own files are ever moved.
        raise dg.Failure(description=f"{config.path} is not a file in the inbox {inbox}: nothing was touched "
                                     "(the inbox_files run only ingests files directly inside SOCIAL_PIPELINE_INBOX)",
                         allow_retries=False)
    if not path.is_file():
        raise dg.Failure(description=f"{path} is no longer in the inbox (handled by an earlier run, or removed)",
                         allow_retries=False)
    try:
        outcome = _ingest_when_unlocked(warehouse, path, config.lock_wait_seconds)
    except dg.Failure:
        raise
    except Exception as exc:
        if context.retry_number < INBOX_RETRIES:
            raise
        if path.is_file():
            # Out of retries: the file leaves the inbox with the reason beside it; nothing was written.
            settle(IngestOutcome(path, "rejected", message=f"unexpected error after {INBOX_RETRIES + 1} attempts: "
                                 f"{type(exc).__name__}: {exc}"))
        raise
    context.log.info(outcome.describe())
    for note in outcome.notes:
        context.log.info(note)
    handled = {"rejected": f"rejected, nothing was written: {outcome.message} (moved to {outcome.moved_to}, reason "
                           f"in {outcome.moved_to.name if outcome.moved_to else ''}.error.txt)",
               "empty": f"no rows: {outcome.message}"}
    if outcome.status in handled:
        context.log.warning(f"{outcome.path.name}: {handled[outcome.status]}")
    with warehouse.get_connection() as con:
        # The ledger row this run wrote: none for a duplicate.
        ledger = table_metadata(con, "ops.ingested_files", "content_sha256 = $sha" if outcome.status == "ingested"
                                else "FALSE", {"sha": outcome.sha256} if outcome.status == "ingested" else {},
                                order_by="ingested_at DESC")
    check = dg.AssetCheckResult(
        check_name=FILE_CHECK, passed=outcome.status not in handled, severity=dg.AssetCheckSeverity.WARN,
        description=f"{outcome.path.name}: {handled.get(outcome.status) or outcome.describe()}")
    return dg.MaterializeResult(check_results=[check], metadata={
        **ledger,
        "file": dg.MetadataValue.text(outcome.path.name),
        "outcome": dg.MetadataValue.text(outcome.status),
        "reason": dg.MetadataValue.text(outcome.message if outcome.status in handled else ""),
        "kind": dg.MetadataValue.text(outcome.kind or ""),
        # The file's rows stored into the raw tables (0 for a duplicate or a rejected file).
        "file_rows_ingested": dg.MetadataValue.int(outcome.rows),
        "rows_new": dg.MetadataValue.int(outcome.rows_new),
        "rows_updated": dg.MetadataValue.int(outcome.rows_updated),
        "rows_unchanged": dg.MetadataValue.int(outcome.rows_unchanged),
        "snapshot_time": dg.MetadataValue.text(str(outcome.snapshot_time or "")),
        "users": dg.MetadataValue.text(", ".join(outcome.users)),
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in outcome.notes) or "_none_"),
        "content_sha256": dg.MetadataValue.text(outcome.sha256),
        # Read by the refresh_weekly_after_inbox sensor: weeks from this day's on are rebuilt.
        EARLIEST_DAY_KEY: dg.MetadataValue.text(outcome.earliest_day.strftime("%Y-%m-%d") if outcome.earliest_day is not None else ""),
    })


def _ingest_when_unlocked(warehouse: WarehouseResource, path: Path, wait_seconds: float) -> IngestOutcome:
    """Another process holding the DuckDB file is not the file's fault: wait a while, then leave the
    file in the inbox (the sensor launches it again) and fail the run, which the failure sensor reports."""
    try:
        wait_until_unlocked(warehouse.database, wait_seconds, LOCK_POLL_SECONDS)
        with warehouse.get_connection() as con:
            return process_inbox_file(con, path)
    except Exception as exc:
        if not is_lock_error(exc):
            raise
        raise dg.Failure(
            description=f"the warehouse stayed locked by another process for {wait_seconds:.0f} s or more; "
                        f"{path.name} stays in the inbox (not rejected: the file is not at fault) and the inbox "
                        f"sensor tries it again in about {LOCKED_RETRY_AFTER_SECONDS} s. Nothing was written. ({exc})",
            allow_retries=False) from exc


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
        file_id = f"{sha}:{path.stat().st_mtime_ns}"
        attempt = _next_attempt(context.instance, file_id)
        if attempt is None:
            continue
        requests.append(dg.RunRequest(
            run_key=file_id if attempt == 0 else f"{file_id}:retry-{attempt}",
            run_config={"ops": {"inbox_files": {"config": {"path": str(path.resolve())}}}},
            tags={"inbox/file": path.name, "inbox/sha256": sha, FILE_ID_TAG: file_id},
        ))
    if not requests:
        return dg.SkipReason(f"{len(files)} files in {inbox} wait: a run for them is under way, or the warehouse "
                             f"was locked and they are tried again {LOCKED_RETRY_AFTER_SECONDS} s after that run")
    return requests


def _next_attempt(instance: dg.DagsterInstance, file_id: str, now: float | None = None) -> int | None:
    """0 for a file no run has tried; n when its n earlier runs have all ended and it is still in the
    inbox (the warehouse was locked), once the pause has passed; None while it must wait."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={FILE_ID_TAG: file_id}))
    if not records:
        return 0
    if any(not r.dagster_run.is_finished for r in records):
        return None
    ended = max((r.end_time or 0) for r in records)
    now = time.time() if now is None else now
    return len(records) if now - ended >= LOCKED_RETRY_AFTER_SECONDS else None


defs = dg.Definitions(assets=[inbox_files], jobs=[inbox_ingestion_job], sensors=[inbox_sensor])
