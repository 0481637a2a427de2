"""When a post's metrics are collected, and the hourly partition each collection belongs to.

Cadence (each API call costs money): hourly while a post is younger than 7 days, daily
(at 00:00 UTC) until it is 30 days old, then weekly (Mondays 00:00 UTC).
"""

from __future__ import annotations

import pandas as pd

HOURLY_UNTIL_DAYS = 7
DAILY_UNTIL_DAYS = 30
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"


def collection_time(partition_start: pd.Timestamp) -> pd.Timestamp:
    """An hourly partition [start, start+1h) is collected when its hour closes."""
    return pd.Timestamp(partition_start) + pd.Timedelta(hours=1)


def partition_key_for_collection(collected_at: pd.Timestamp) -> str:
    return (pd.Timestamp(collected_at) - pd.Timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT)


def is_due(published_at: pd.Timestamp, collected_at: pd.Timestamp) -> bool:
    """The Python statement of the rule in `due_posts.sql`, for tests and docs."""
    age = pd.Timestamp(collected_at) - pd.Timestamp(published_at)
    collected_at = pd.Timestamp(collected_at)
    if age <= pd.Timedelta(0):
        return False
    if age <= pd.Timedelta(days=HOURLY_UNTIL_DAYS):
        return True
    if age <= pd.Timedelta(days=DAILY_UNTIL_DAYS):
        return collected_at.hour == 0
    return collected_at.hour == 0 and collected_at.day_of_week == 0


# A live API answers with figures as of now. Collecting a partition whose collection time is
# further back would file today's figures under an old time, so it is refused.
LIVE_COLLECTION_TOLERANCE = pd.Timedelta(hours=2)


def live_collection_refusal(first_key: str, last_key: str, collection_time: pd.Timestamp, now: pd.Timestamp,
                            source_name: str, tolerance: pd.Timedelta = LIVE_COLLECTION_TOLERANCE) -> str | None:
    """Why a live (non-backfilling) source must not collect these partitions, or None if it may."""
    if first_key != last_key:
        return (f"source {source_name!r} reports figures as of now and cannot backfill: refusing the partition "
                f"range {first_key} .. {last_key}. Materialise only the latest hourly partition (the schedule does), "
                "or use X analytics export files for history.")
    late = pd.Timestamp(now) - pd.Timestamp(collection_time)
    if late > tolerance:
        return (f"source {source_name!r} reports figures as of now ({pd.Timestamp(now):%Y-%m-%d %H:%M} UTC), but "
                f"partition {first_key} is collected at {pd.Timestamp(collection_time):%Y-%m-%d %H:%M} UTC, "
                f"{late.total_seconds() / 3600:.1f} h ago (tolerance {tolerance.total_seconds() / 3600:g} h): storing "
                "today's figures under that time would be wrong. Use an X analytics export file for the past.")
    return None
