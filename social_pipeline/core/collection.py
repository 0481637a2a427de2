"""When a post's metrics are collected, and the hourly partition each collection belongs to.

Cadence (each API call costs money), configurable: hourly while a post is younger than
X_TRACK_HOURLY_DAYS (7), daily (at 00:00 UTC) until X_TRACK_DAILY_DAYS (30), then weekly
(Mondays 00:00 UTC) until X_TRACK_MAX_DAYS (unset: for as long as the post exists).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

HOURLY_UNTIL_DAYS = 7
DAILY_UNTIL_DAYS = 30
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"


@dataclass(frozen=True)
class TrackingCadence:
    """Ages (days) at which a post's collection slows down: hourly up to `hourly_days`, daily up to
    `daily_days`, weekly up to `max_days` (None: no end)."""

    hourly_days: int = HOURLY_UNTIL_DAYS
    daily_days: int = DAILY_UNTIL_DAYS
    max_days: int | None = None

    def __post_init__(self):
        if not 0 <= self.hourly_days <= self.daily_days:
            raise ValueError(f"X_TRACK_HOURLY_DAYS={self.hourly_days} and X_TRACK_DAILY_DAYS={self.daily_days}: "
                             "need 0 <= hourly days <= daily days")
        if self.max_days is not None and self.max_days < self.daily_days:
            raise ValueError(f"X_TRACK_MAX_DAYS={self.max_days} is below X_TRACK_DAILY_DAYS={self.daily_days}: "
                             "tracking would stop before the daily phase ends")

    def sql_params(self) -> dict:
        """The parameters of due_posts.sql."""
        return {"hourly_days": self.hourly_days, "daily_days": self.daily_days, "max_days": self.max_days}


def collection_time(partition_start: pd.Timestamp) -> pd.Timestamp:
    """An hourly partition [start, start+1h) is collected when its hour closes."""
    return pd.Timestamp(partition_start) + pd.Timedelta(hours=1)


def partition_key_for_collection(collected_at: pd.Timestamp) -> str:
    return (pd.Timestamp(collected_at) - pd.Timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT)


def is_due(published_at: pd.Timestamp, collected_at: pd.Timestamp,
           cadence: TrackingCadence = TrackingCadence()) -> bool:
    """The Python statement of the rule in `due_posts.sql`, for tests and docs."""
    age = pd.Timestamp(collected_at) - pd.Timestamp(published_at)
    collected_at = pd.Timestamp(collected_at)
    if age <= pd.Timedelta(0):
        return False
    if cadence.max_days is not None and age > pd.Timedelta(days=cadence.max_days):
        return False
    if age <= pd.Timedelta(days=cadence.hourly_days):
        return True
    if age <= pd.Timedelta(days=cadence.daily_days):
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
