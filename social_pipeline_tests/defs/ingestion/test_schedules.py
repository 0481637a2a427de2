"""The hourly collection schedule."""

import dagster as dg
import pandas as pd

from social_pipeline.definitions import defs
from social_pipeline.defs.common import HOURLY_PARTITIONS, add_partition_keys


def test_hourly_schedule_collects_the_hour_that_just_closed():
    schedule = defs.resolve_schedule_def("hourly_collection_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-11-18-09:00"])
        # As a context manager: the context opens its own instance, which must be closed again.
        with dg.build_schedule_context(
            instance=instance,
            repository_def=defs.get_repository_def(),
            scheduled_execution_time=pd.Timestamp("2026-11-18 13:05", tz="UTC"),
        ) as context:
            requests = list(schedule.evaluate_tick(context).run_requests)
        assert [r.partition_key for r in requests] == ["2026-11-18-12:00"]
        # The hour becomes a partition, and so do the two the daemon missed (they show as missing).
        assert instance.get_dynamic_partitions(HOURLY_PARTITIONS.name) == [
            "2026-11-18-09:00",
            "2026-11-18-10:00",
            "2026-11-18-11:00",
            "2026-11-18-12:00",
        ]


def test_hourly_schedule_after_a_history_of_days_and_weeks_adds_hours_from_its_end():
    schedule = defs.resolve_schedule_def("hourly_collection_schedule")
    with dg.instance_for_test() as instance:
        # make run's history ends in whole days and weeks: the schedule carries on in hours from 2026-11-18 00:00.
        add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-W46", "2026-11-16", "2026-11-17"])
        with dg.build_schedule_context(
            instance=instance,
            repository_def=defs.get_repository_def(),
            scheduled_execution_time=pd.Timestamp("2026-11-18 02:05", tz="UTC"),
        ) as context:
            requests = list(schedule.evaluate_tick(context).run_requests)
        assert [r.partition_key for r in requests] == ["2026-11-18-01:00"]
        assert instance.get_dynamic_partitions(HOURLY_PARTITIONS.name) == [
            "2026-W46",
            "2026-11-16",
            "2026-11-17",
            "2026-11-18-00:00",
            "2026-11-18-01:00",
        ]
