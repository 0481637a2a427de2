"""The automation condition sensor (the BI copy after the warehouse changed); record and mail failed runs."""

import json

import dagster as dg
import pandas as pd

from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.smtp import SmtpResource

# Evaluates the assets' automation conditions (the BI copy's: republished after the warehouse
# changed), on by default as the run-status sensor it replaces was.
declarative_automation = dg.AutomationConditionSensorDefinition(
    "declarative_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the automation conditions of the assets (every 30 s): the BI copy is requested "
    "once after the warehouse changed, when no run writing it is in progress.",
)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run in data/ops/run_failures.jsonl (a file, so recording never "
    "competes with runs for the warehouse lock) and emails when SOCIAL_PIPELINE_SMTP_HOST is set.",
)
def record_and_notify_run_failure(
    context: dg.RunFailureSensorContext, smtp: SmtpResource, file_stores: FileStoresResource
):
    run = context.dagster_run
    error = "\n\n".join([context.failure_event.message or "run failed", *_step_failures(context.instance, run.run_id)])
    record = {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "failed_at": pd.Timestamp.now("UTC").isoformat(),
        "partition": run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start"),
        "error": error,
    }
    path = file_stores.run_failures_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    if smtp.enabled:
        smtp.send(
            subject=f"[social_pipeline] run failed: {run.job_name}",
            body=f"Run {run.run_id} of {run.job_name} failed at {record['failed_at']}.\n\n{error}\n",
        )


def _step_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """What each failed step said (an X budget stop names the budget, what was spent and skipped): the run's
    own failure message only lists the steps."""
    failures = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = record.dagster_event.step_failure_data if record.dagster_event else None
        said = (data.user_failure_data.description if data and data.user_failure_data else None) or (
            data.error.message.strip() if data and data.error else None
        )
        if said:
            failures.append(f"{record.step_key}: {said}")
    return failures
