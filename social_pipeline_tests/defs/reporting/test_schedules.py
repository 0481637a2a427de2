"""The weekly report schedule."""

import dagster as dg
import pandas as pd

from social_pipeline.definitions import defs
from social_pipeline.defs.common import WEEKLY_PARTITIONS, add_partition_keys


def test_weekly_report_schedule_reports_the_week_just_ended():
    schedule = defs.resolve_schedule_def("weekly_report_schedule")
    with dg.instance_for_test() as instance:
        add_partition_keys(instance, WEEKLY_PARTITIONS, ["2026-11-02"])
        # As a context manager: the context opens its own instance, which must be closed again.
        with dg.build_schedule_context(
            instance=instance,
            repository_def=defs.get_repository_def(),
            scheduled_execution_time=pd.Timestamp("2026-11-23 06:00", tz="UTC"),
        ) as context:
            requests = list(schedule.evaluate_tick(context).run_requests)
        assert [r.partition_key for r in requests] == ["2026-11-16"]  # Monday 16th .. Sunday 22nd
        # Weeks are partitions when they hold data or the schedule closes them: no gap filling.
        assert instance.get_dynamic_partitions(WEEKLY_PARTITIONS.name) == ["2026-11-02", "2026-11-16"]
