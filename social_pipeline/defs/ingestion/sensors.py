"""The inbox: X export files and profile-activity sheets dropped in a folder, ingested by a sensor.

The sensor (running by default) launches one `inbox_ingestion` run per new file; the run
ingests it in one transaction (sources/inbox_files.py), moves it to processed/ or
rejected/, then refreshes post_snapshots and post_performance.

A rejected or row-less file is a handled outcome: the run succeeds, its metadata says what
happened and the `file_was_ingested` check warns. A locked warehouse is not the file's fault:
the file stays in the inbox, the run fails (a real outage, seen by the failure sensor) and the
sensor tries the file again later. A run only ever touches files directly inside the inbox.
"""

import time

import dagster as dg

from social_pipeline.defs.ingestion.assets import LOCKED_RETRY_AFTER_SECONDS
from social_pipeline.defs.ingestion.jobs import inbox_ingestion_job
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.sources.inbox_files import content_sha256, pending_files

# Identifies one dropped file (content and modification time) across the runs that try it.
FILE_ID_TAG = "inbox/file_id"


@dg.sensor(
    job=inbox_ingestion_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Launches an inbox_ingestion run per new file in SOCIAL_PIPELINE_INBOX (default data/inbox).",
)
def inbox_sensor(context: dg.SensorEvaluationContext, file_stores: FileStoresResource):
    inbox = file_stores.inbox_path()
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
        requests.append(
            dg.RunRequest(
                run_key=file_id if attempt == 0 else f"{file_id}:retry-{attempt}",
                run_config={"ops": {"inbox_files": {"config": {"path": str(path.resolve())}}}},
                tags={"inbox/file": path.name, "inbox/sha256": sha, FILE_ID_TAG: file_id},
            )
        )
    if not requests:
        return dg.SkipReason(
            f"{len(files)} files in {inbox} wait: a run for them is under way, or the warehouse "
            f"was locked and they are tried again {LOCKED_RETRY_AFTER_SECONDS} s after that run"
        )
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
