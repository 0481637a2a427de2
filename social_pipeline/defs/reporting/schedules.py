"""The weekly report schedule."""

import dagster as dg

from social_pipeline.core.clock import naive_utc
from social_pipeline.defs.common import WEEK, WEEKLY_PARTITIONS, add_partition_keys, week_key
from social_pipeline.defs.reporting.jobs import weekly_reporting_job


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
    now = naive_utc(context.scheduled_execution_time)
    key = week_key(now - WEEK)
    add_partition_keys(context.instance, WEEKLY_PARTITIONS, [key])
    return dg.RunRequest(run_key=key, partition_key=key)
