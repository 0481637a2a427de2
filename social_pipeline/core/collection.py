"""When a post's metrics are collected, and the collection partition each collection belongs to.

Cadence (each API call costs money), configurable: hourly while a post is younger than
X_TRACK_HOURLY_DAYS (7), daily (at 00:00 UTC) until X_TRACK_DAILY_DAYS (30), then weekly
(Mondays 00:00 UTC) until X_TRACK_MAX_DAYS (unset: for as long as the post exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

HOURLY_UNTIL_DAYS = 7
DAILY_UNTIL_DAYS = 30
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"

# A collection partition key covers an hour (live collection), or a whole day or ISO week (backfilled
# history: Dagster's bookkeeping per partition, not the collection, dominates a backfill of hours).
# Rows stay stamped with their collection hour (PARTITION_KEY_FORMAT) whatever key wrote them.
DAY_KEY_FORMAT = "%Y-%m-%d"
ISO_WEEK_KEY_FORMAT = "%G-W%V"  # Monday 00:00 UTC to the next Monday
HOUR, DAY, WEEK = pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(days=7)
# Widest first: how collection_keys covers a span.
_KEY_WIDTHS = ((ISO_WEEK_KEY_FORMAT, WEEK), (DAY_KEY_FORMAT, DAY), (PARTITION_KEY_FORMAT, HOUR))


def _key_start(key: str, fmt: str) -> pd.Timestamp | None:
    try:
        if fmt == ISO_WEEK_KEY_FORMAT:
            start = datetime.strptime(key + "-1", fmt + "-%u")
        else:
            start = datetime.strptime(key, fmt)
    except ValueError:
        return None
    # strptime takes "2026-9-1" too; a key is only ever written one way, and an hour starts at :00.
    return pd.Timestamp(start) if start.strftime(fmt) == key and start.minute == 0 else None


def collection_window(key: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end), naive UTC, of a collection partition key: an hour (`2026-09-01-13:00`), a day
    (`2026-09-01`) or an ISO week (`2026-W37`)."""
    for fmt, width in _KEY_WIDTHS:
        start = _key_start(key, fmt)
        if start is not None:
            return start, start + width
    raise ValueError(
        f"collection partition key {key!r} is neither an hour (%Y-%m-%d-%H:%M), a day (%Y-%m-%d) "
        "nor an ISO week (%G-W%V, e.g. 2026-W37)"
    )


def _fits(start: pd.Timestamp, width: pd.Timedelta, end: pd.Timestamp) -> bool:
    aligned = (width == HOUR or start == start.normalize()) and (width != WEEK or start.day_of_week == 0)
    return aligned and start + width <= end


def collection_keys(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """The fewest keys that cover [start, end) (whole hours) without gap or overlap, oldest first:
    hours up to the first midnight, days up to the first Monday, whole weeks, then days and hours."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start != start.floor("h") or end != end.floor("h"):
        raise ValueError(f"collection partitions cover whole hours: {start} .. {end} does not start and end on one")
    keys = []
    while start < end:
        fmt, width = next((fmt, width) for fmt, width in _KEY_WIDTHS if _fits(start, width, end))
        keys.append(start.strftime(fmt))
        start += width
    return keys


@dataclass(frozen=True)
class TrackingCadence:
    """Ages (days) at which a post's collection slows down: hourly up to `hourly_days`, daily up to
    `daily_days`, weekly up to `max_days` (None: no end)."""

    hourly_days: int = HOURLY_UNTIL_DAYS
    daily_days: int = DAILY_UNTIL_DAYS
    max_days: int | None = None

    def __post_init__(self):
        if not 0 <= self.hourly_days <= self.daily_days:
            raise ValueError(
                f"X_TRACK_HOURLY_DAYS={self.hourly_days} and X_TRACK_DAILY_DAYS={self.daily_days}: "
                "need 0 <= hourly days <= daily days"
            )
        if self.max_days is not None and self.max_days < self.daily_days:
            raise ValueError(
                f"X_TRACK_MAX_DAYS={self.max_days} is below X_TRACK_DAILY_DAYS={self.daily_days}: "
                "tracking would stop before the daily phase ends"
            )

    def sql_params(self) -> dict:
        """The parameters of due_posts.sql."""
        return {"hourly_days": self.hourly_days, "daily_days": self.daily_days, "max_days": self.max_days}


def collection_time(partition_start: pd.Timestamp) -> pd.Timestamp:
    """An hourly partition [start, start+1h) is collected when its hour closes."""
    return pd.Timestamp(partition_start) + pd.Timedelta(hours=1)


def partition_key_for_collection(collected_at: pd.Timestamp) -> str:
    return (pd.Timestamp(collected_at) - pd.Timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT)


def is_due(
    published_at: pd.Timestamp, collected_at: pd.Timestamp, cadence: TrackingCadence = TrackingCadence()
) -> bool:
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


def live_collection_refusal(
    first_key: str,
    last_key: str,
    collection_time: pd.Timestamp,
    now: pd.Timestamp,
    source_name: str,
    tolerance: pd.Timedelta = LIVE_COLLECTION_TOLERANCE,
) -> str | None:
    """Why a live (non-backfilling) source must not collect these partitions, or None if it may."""
    if first_key != last_key:
        return (
            f"source {source_name!r} reports figures as of now and cannot backfill: refusing the partition "
            f"range {first_key} .. {last_key}. Materialise only the latest hourly partition (the schedule does), "
            "or use X analytics export files for history."
        )
    late = pd.Timestamp(now) - pd.Timestamp(collection_time)
    if late > tolerance:
        return (
            f"source {source_name!r} reports figures as of now ({pd.Timestamp(now):%Y-%m-%d %H:%M} UTC), but "
            f"partition {first_key} is collected at {pd.Timestamp(collection_time):%Y-%m-%d %H:%M} UTC, "
            f"{late.total_seconds() / 3600:.1f} h ago (tolerance {tolerance.total_seconds() / 3600:g} h): storing "
            "today's figures under that time would be wrong. Use an X analytics export file for the past."
        )
    return None
