"""Where posts and metrics come from: one protocol, several implementations.

Every source answers the same four questions, in bulk (never one call per post):
posts published in a window, cumulative metrics for many posts at once, account
figures (followers), and profile activity. Frames come back with the column names of
the raw tables in `core/schema.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd

from social_pipeline.core.exports import PROFILE_FIGURES
from social_pipeline.core.metrics import COUNT_COLUMNS

POST_COLUMNS = [
    "post_id",
    "user_id",
    "text",
    "content_type",
    "media_type",
    "num_media_items",
    "published_at",
    "published_time_known",
]
METRIC_COLUMNS = ["post_id", "collected_at", *COUNT_COLUMNS, "status", "payload"]
ACCOUNT_COLUMNS = ["user_id", "collected_at", "followers", "following", "post_count"]
PROFILE_COLUMNS = ["user_id", "platform", "snapshot_date", *PROFILE_FIGURES]
# The X API client's defaults, here so that configuring its resource does not import tweepy.
# X answers in well under a second; a connection silent for longer than this is dead, not slow.
DEFAULT_X_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_X_READ_TIMEOUT_SECONDS = 30.0
DEFAULT_X_MAX_RETRIES = 4  # per call, after a 429, 5xx or network error
# What X costs and how often posts are read: resource field -> environment variable, shared by the
# source resource (as dg.EnvVar) and `social-pipeline x-cost` (read directly).
X_PRICE_ENV_VARS = {
    "x_price_post_read_usd": "X_PRICE_POST_READ_USD",
    "x_price_user_read_usd": "X_PRICE_USER_READ_USD",
    "x_price_owned_read_usd": "X_PRICE_OWNED_READ_USD",
}
X_BUDGET_ENV_VARS = {
    "x_budget_usd_per_day": "X_BUDGET_USD_PER_DAY",
    "x_budget_usd_per_month": "X_BUDGET_USD_PER_MONTH",
}
TRACKING_ENV_VARS = {
    "x_track_hourly_days": "X_TRACK_HOURLY_DAYS",
    "x_track_daily_days": "X_TRACK_DAILY_DAYS",
    "x_track_max_days": "X_TRACK_MAX_DAYS",
}


@dataclass
class MetricsBatch:
    """Metrics for many posts plus what fetching them cost."""

    frame: pd.DataFrame  # METRIC_COLUMNS
    requests_made: int = 0
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class PostSource(Protocol):
    name: str
    # False for live APIs: they only know "now", so an old partition cannot be re-collected.
    can_backfill: bool

    def user_ids(self) -> list[str]: ...

    def fetch_posts(self, user_ids: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame: ...

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        """`requests` has post_id and collected_at; a live source gets one collected_at (now)."""
        ...

    def fetch_account_figures(self, user_ids: list[str], collected_at: list[pd.Timestamp]) -> pd.DataFrame: ...

    def fetch_profile_activity(self, user_ids: list[str], days: list[pd.Timestamp]) -> pd.DataFrame: ...


DEFAULT_NETWORK = "x"  # the warehouse's default too: rows from before networks were named are X's


def with_network(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a network on every row: a source that names none (X, the simulated X accounts) is X."""
    if "network" not in frame.columns:
        return frame.assign(network=DEFAULT_NETWORK)
    return frame.assign(network=frame["network"].fillna(DEFAULT_NETWORK))
