"""Schedules and sensors: what runs the pipeline unattended."""

import json
import os
import smtplib
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from .core.publish import bi_path, publish_copy
from .assets.common import WAREHOUSE_POOL
from .assets.reporting import weekly_reporting_job
from .jobs import hourly_collection_job
from .resources.warehouse import WarehouseResource

hourly_collection_schedule = dg.build_schedule_from_partitioned_job(
    hourly_collection_job,
    name="hourly_collection_schedule",
    description="At :05 every hour, collect the hour that just closed: new posts, follower figures, "
    "and metrics of every due post (hourly below 7 days of age, daily at 00:00 UTC below 30 days, "
    "then Mondays 00:00 UTC), then refresh post_snapshots and post_performance.",
    minute_of_hour=5,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

weekly_report_schedule = dg.build_schedule_from_partitioned_job(
    weekly_reporting_job,
    name="weekly_report_schedule",
    description="Mondays at 06:00 UTC, build the weekly analytics and the reports (Markdown and HTML "
    "files in data/reports) for the week that just ended (Monday to Sunday).",
    day_of_week=1,
    hour_of_day=6,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


# ----- BI copy ------------------------------------------------------------------------
@dg.asset(
    group_name="ops",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="A read-only copy of the warehouse for BI tools at SOCIAL_PIPELINE_BI_DB "
    "(default data/bi/warehouse.duckdb), swapped in atomically after each successful run. "
    "Readers of the copy never block the pipeline and are never blocked by it.",
)
def bi_warehouse_copy(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        published = publish_copy(con, bi_path())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(published["path"]),
            "tables": published["tables"],
            "size_mb": round(published["bytes"] / 1e6, 2),
        }
    )


publish_bi_copy_job = dg.define_asset_job(
    "publish_bi_copy", selection=[bi_warehouse_copy], description="Publish the BI copy of the warehouse."
)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_job=publish_bi_copy_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After every successful run that wrote the warehouse, publish the BI copy.",
)
def publish_bi_copy_after_success(context: dg.RunStatusSensorContext):
    if context.dagster_run.job_name == publish_bi_copy_job.name:
        return dg.SkipReason("the publish run itself")
    return dg.RunRequest(run_key=f"bi-after-{context.dagster_run.run_id}")


# ----- failures -----------------------------------------------------------------------
class SmtpResource(dg.ConfigurableResource):
    """Email over SMTP. Notifications are off while `host` is empty."""

    host: str = Field(default="", description="SMTP server; empty disables email")
    port: int = 25
    sender: str = "social-pipeline@localhost"
    recipients: list[str] = Field(default_factory=list)
    username: str | None = None
    password: str | None = None
    use_starttls: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.recipients)

    def send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self.sender, ", ".join(self.recipients)
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as client:
            if self.use_starttls:
                client.starttls()
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(message)


def smtp_from_env() -> SmtpResource:
    recipients = [r.strip() for r in os.environ.get("SOCIAL_PIPELINE_SMTP_TO", "").split(",") if r.strip()]
    password = dg.EnvVar("SOCIAL_PIPELINE_SMTP_PASSWORD") if os.environ.get("SOCIAL_PIPELINE_SMTP_PASSWORD") else None
    return SmtpResource(
        host=os.environ.get("SOCIAL_PIPELINE_SMTP_HOST", ""),
        port=int(os.environ.get("SOCIAL_PIPELINE_SMTP_PORT", "25")),
        sender=os.environ.get("SOCIAL_PIPELINE_SMTP_FROM", "social-pipeline@localhost"),
        recipients=recipients,
        username=os.environ.get("SOCIAL_PIPELINE_SMTP_USER") or None,
        password=password,
        use_starttls=os.environ.get("SOCIAL_PIPELINE_SMTP_STARTTLS", "") == "1",
    )


def failures_log_path() -> Path:
    return Path(os.environ.get("SOCIAL_PIPELINE_OPS_DIR", "data/ops")) / "run_failures.jsonl"


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


defs = dg.Definitions(
    assets=[bi_warehouse_copy],
    jobs=[publish_bi_copy_job],
    schedules=[hourly_collection_schedule, weekly_report_schedule],
    sensors=[publish_bi_copy_after_success, record_and_notify_run_failure],
)
