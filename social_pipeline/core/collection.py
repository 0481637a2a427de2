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
    return collected_at.hour == 0 and collected_at.dayofweek == 0
