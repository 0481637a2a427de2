"""Schedules and sensors: what runs the pipeline unattended."""

import json
import os
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from pydantic import Field

from .core.publish import bi_path, publish_copy
from .paths import ops_dir
from .assets.common import (HOUR, HOURLY_PARTITIONS, WAREHOUSE_POOL, WEEK, WEEKLY_PARTITIONS, add_partition_keys,
                            asset_labels, code_version, hour_key, partition_range_tags, preview_table, week_key,
                            weekly_refresh)
from .assets.ml import SETTLE_AGE_HOURS, ml_training_job, prediction_outcomes_job
from .assets.inbox import EARLIEST_DAY_KEY, inbox_files, inbox_ingestion_job
from .assets.reporting import weekly_reporting_job
from .jobs import hourly_collection_job
from .resources.lake import is_lake
from .resources.warehouse import WarehouseResource, connect, database_path, is_lock_error, scalar

# The partitions are dynamic (see assets/common.py), so each schedule adds the key it runs first.
@dg.schedule(
    job=hourly_collection_job,
    name="hourly_collection_schedule",
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="At :05 every hour, collect the hour that just closed: new posts, follower figures, "
    "and metrics of every due post (hourly below 7 days of age, daily at 00:00 UTC below 30 days, "
    "then Mondays 00:00 UTC), then refresh post_snapshots and post_performance. Adds the hour as a "
    "partition (and any hours missed since the last one, which then show as missing).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def hourly_collection_schedule(context: dg.ScheduleEvaluationContext):
    closed = pd.Timestamp(context.scheduled_execution_time).tz_convert("UTC").tz_localize(None).floor("h") - HOUR
    key = hour_key(closed)
    add_partition_keys(context.instance, HOURLY_PARTITIONS, [key])
    return dg.RunRequest(run_key=key, partition_key=key)


@dg.schedule(
    job=weekly_reporting_job,
    name="weekly_report_schedule",
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    description="Mondays at 06:00 UTC, build the weekly analytics and the reports (Markdown and HTML "
    "files in data/reports) for the week that just ended (Monday to Sunday), adding it as a partition.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def weekly_report_schedule(context: dg.ScheduleEvaluationContext):
    now = pd.Timestamp(context.scheduled_execution_time).tz_convert("UTC").tz_localize(None)
    key = week_key(now - WEEK)
    add_partition_keys(context.instance, WEEKLY_PARTITIONS, [key])
    return dg.RunRequest(run_key=key, partition_key=key)


weekly_retraining_schedule = dg.ScheduleDefinition(
    name="weekly_retraining_schedule",
    job=ml_training_job,
    cron_schedule="0 7 * * 1",
    execution_timezone="UTC",
    description="Mondays at 07:00 UTC (after the weekly report), rebuild ml.training_dataset and retrain the "
    "reach and likes models on every post settled so far; the asset checks compare each new model with "
    "the baseline and with the model it replaces.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

prediction_feedback_schedule = dg.ScheduleDefinition(
    name="prediction_feedback_schedule",
    job=prediction_outcomes_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    description="Daily at 03:30 UTC, load the served predictions into ml.predictions and join those whose "
    "post has settled to the actual reach and likes (ml.prediction_outcomes); warns on drift.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# Retrain between the weekly runs once this many posts have settled since the last model's data:
# about a week of posting for the simulated accounts, and enough to move a model trained on hundreds.
NEW_LABELS_TO_RETRAIN = 50

NEW_LABELS_SQL = f"""
SELECT count(DISTINCT post_id), max(snapshot_time)
FROM analytics.post_snapshots
WHERE hours_since_published >= {SETTLE_AGE_HOURS} AND hours_since_published < {SETTLE_AGE_HOURS} + 24
  AND snapshot_time > COALESCE(
      (SELECT max(labelled_through) FROM ml.model_registry WHERE model_name = 'reach_model'),
      TIMESTAMP '1970-01-01')
"""


@dg.sensor(
    job=ml_training_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Retrains when at least {NEW_LABELS_TO_RETRAIN} posts have reached their settled outcome "
    f"({SETTLE_AGE_HOURS} h) since the data of the current model. Reads the BI copy, so it never waits for "
    "or blocks a run that writes the warehouse.",
)
def retrain_on_new_labels(context: dg.SensorEvaluationContext):
    # A lake is read live; a DuckDB file through its BI copy, which no run locks.
    database = database_path()
    if not is_lake(database):
        if not Path(bi_path()).exists():
            return dg.SkipReason(f"no BI copy at {bi_path()} yet: nothing has been collected")
        database = bi_path()
    con = connect(database, read_only=True)
    try:
        if not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ml' "
                           "AND table_name = 'model_registry' AND database_name = current_database()"):
            return dg.SkipReason(f"{'the lake' if is_lake(database) else 'the BI copy'} has no ml tables yet")
        new_labels, newest = con.execute(NEW_LABELS_SQL).fetchall()[0]
    finally:
        con.close()
    if new_labels < NEW_LABELS_TO_RETRAIN:
        return dg.SkipReason(f"{new_labels} newly settled posts since the current model; "
                             f"retraining at {NEW_LABELS_TO_RETRAIN}")
    # One run per state of the data: the same newest label never triggers twice.
    return dg.RunRequest(run_key=f"labels-through-{newest}", tags={"trigger": "new_labels"})


# ----- weekly analytics after a dropped file -----------------------------------------------
LOCK_ATTEMPTS, LOCK_WAIT_SECONDS = 10, 2
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
    days = [r.dagster_event.step_materialization_data.materialization.metadata.get(EARLIEST_DAY_KEY)
            for r in records if r.dagster_event.asset_key == inbox_files.key]
    days = [pd.Timestamp(d.value) for d in days if d is not None and d.value]
    if not days:
        return dg.SkipReason(f"run {run_id[:8]} wrote no new rows (a duplicate file)")
    # Which weeks hold data: read-only, between runs. Dagster consumes the event even if this tick
    # fails, so a run holding the lock is waited for a while, then every week from the file's on is taken.
    now = pd.Timestamp.now("UTC").tz_localize(None)
    con = None
    for attempt in range(LOCK_ATTEMPTS):
        try:
            con = connect(warehouse.database, read_only=True)
            break
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise
            time.sleep(LOCK_WAIT_SECONDS)
    if con is None:
        context.log.warning(f"the warehouse stayed locked for {LOCK_ATTEMPTS * LOCK_WAIT_SECONDS} s: adding every "
                            f"complete week from {min(days).date()} on as a partition")
    try:
        ranges = weekly_refresh(context.instance, con, min(days), now)
    finally:
        if con is not None:
            con.close()
    if not ranges:
        return dg.SkipReason(f"the file's earliest day {min(days).date()} is in a week not yet complete")
    return [dg.RunRequest(run_key=f"weekly-after-{run_id}-{first}",
                          tags={**partition_range_tags(first, last), "trigger": "inbox"})
            for first, last in ranges]


# ----- BI copy ------------------------------------------------------------------------
@dg.asset(
    group_name="ops",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="A read-only copy of the warehouse for BI tools at `SOCIAL_PIPELINE_BI_DB` "
    "(default `data/bi/warehouse.duckdb`), swapped in atomically after each successful run. "
    "Readers of the copy never block the pipeline and are never blocked by it.",
    code_version=code_version("1"),
    **asset_labels("data_platform", "ops", "after_each_run"),
)
def bi_warehouse_copy(warehouse: WarehouseResource) -> dg.MaterializeResult:
    if is_lake(warehouse.database):
        raise dg.Failure(description="The warehouse is a DuckLake: BI tools read it live (social_pipeline.connect("
                                     "read_only=True)), with snapshot isolation; it has no BI copy to publish.")
    with warehouse.get_connection() as con:
        published = publish_copy(con, bi_path())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(published["path"]),
            "tables": published["tables"],
            # The copy is a whole database, not one table: its tables and their rows.
            "table_rows": preview_table(pd.DataFrame(list(published["table_rows"].items()), columns=["table", "rows"])),
            "total_rows": sum(published["table_rows"].values()),
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
    if is_lake(database_path()):
        return dg.SkipReason("a DuckLake warehouse is read live: no BI copy")
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


defs = dg.Definitions(
    assets=[bi_warehouse_copy],
    jobs=[publish_bi_copy_job],
    schedules=[hourly_collection_schedule, weekly_report_schedule, weekly_retraining_schedule,
               prediction_feedback_schedule],
    sensors=[publish_bi_copy_after_success, record_and_notify_run_failure, retrain_on_new_labels,
             refresh_weekly_after_inbox],
)
