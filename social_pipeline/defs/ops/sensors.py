"""Run-status sensors: publish the BI copy after success, record and mail failures."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd

from social_pipeline.defs.ops.jobs import publish_bi_copy_job
from social_pipeline.paths import ops_dir
from social_pipeline.resources.lake import is_lake
from social_pipeline.resources.warehouse import database_path
from social_pipeline.resources.smtp import SmtpResource


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_job=publish_bi_copy_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After every successful run that wrote the warehouse, publish the BI copy.",
)
def publish_bi_copy_after_success(context: dg.RunStatusSensorContext):
    if context.dagster_run.job_name == publish_bi_copy_job.name:
        return dg.SkipReason("the publish run itself")
    if is_lake(database_path()):
        return dg.SkipReason("a DuckLake warehouse is read live: no BI copy")
    return dg.RunRequest(run_key=f"bi-after-{context.dagster_run.run_id}")


def failures_log_path() -> Path:
    return ops_dir() / "run_failures.jsonl"


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run in data/ops/run_failures.jsonl (a file, so recording never "
    "competes with runs for the warehouse lock) and emails when SOCIAL_PIPELINE_SMTP_HOST is set.",
)
def record_and_notify_run_failure(context: dg.RunFailureSensorContext, smtp: SmtpResource):
    run = context.dagster_run
    error = context.failure_event.message or "run failed"
    record = {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "failed_at": pd.Timestamp.now("UTC").isoformat(),
        "partition": run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start"),
        "error": error,
    }
    path = failures_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    if smtp.enabled:
        smtp.send(
            subject=f"[social_pipeline] run failed: {run.job_name}",
            body=f"Run {run.run_id} of {run.job_name} failed at {record['failed_at']}.\n\n{error}\n",
        )
