"""The Bluesky source (`SOCIAL_PIPELINE_SOURCE=bluesky`) and the composite of several sources.

`BlueskySource` answers the source protocol of `sources.py` with the calls of
`social_pipeline/bluesky_client.py`; `BlueskySourceResource` only configures it. Post ids are
the posts' `at://` URIs, so they can never collide with X's numeric ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import dagster as dg
import pandas as pd
from pydantic import Field, PrivateAttr

from ..bluesky_client import (
    DEFAULT_APPVIEW_URL,
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_READ_TIMEOUT_SECONDS,
    GET_POSTS_BATCH_SIZE,
    NETWORK,
    BlueskyCalls,
    BlueskyError,
    BlueskySettings,
    HandleNotFoundError,
    make_client,
)
from ..core.clock import utc_now
from .env import env_settings, env_var_settings
from .sources import (
    ACCOUNT_COLUMNS,
    METRIC_COLUMNS,
    POST_COLUMNS,
    PROFILE_COLUMNS,
    MetricsBatch,
    SourceResource,
    _shared_source_settings,
)


def parse_handles(value: str | None) -> list[str]:
    """`alice.bsky.social, @Bob.example.com` -> ['alice.bsky.social', 'bob.example.com']."""
    handles = [h.strip().lstrip("@").lower() for h in (value or "").split(",") if h.strip()]
    bad = [h for h in handles if "." not in h]
    if bad:
        raise ValueError(f"BLUESKY_HANDLES: {', '.join(bad)} is not a full Bluesky handle (alice.bsky.social)")
    return list(dict.fromkeys(handles))


class BlueskySource:
    """Live Bluesky figures: it only knows "now", so old partitions cannot be re-collected."""

    name = NETWORK
    can_backfill = False

    def __init__(self, handles: list[str], settings: BlueskySettings | None = None, client=None,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], datetime] | None = None):
        self.handles = handles
        self.settings = settings or BlueskySettings()
        self.calls = BlueskyCalls(client or make_client(self.settings), self.settings, sleep=sleep, clock=clock)

    def user_ids(self) -> list[str]:
        return list(self.handles)

    def fetch_posts(self, user_ids: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        rows: list[dict] = []
        notes: list[str] = []
        unresolved: list[str] = []

        def posts() -> pd.DataFrame:
            frame = pd.DataFrame(rows, columns=POST_COLUMNS)
            if len(frame):
                frame = frame[frame["published_at"] <= pd.Timestamp(end)]
            return frame.drop_duplicates("post_id").reset_index(drop=True).assign(network=NETWORK)

        try:
            for handle in (h for h in user_ids if h in self.handles):
                try:
                    self.calls.author_feed(handle, pd.Timestamp(start), notes, rows.extend)
                except HandleNotFoundError as exc:
                    unresolved.append(str(exc))  # the other accounts are still read
        except BlueskyError as exc:
            # The pages that arrived before the failure are handed over, as the X source does.
            exc.partial_posts = posts()
            raise
        if unresolved:
            error = BlueskyError("; ".join(unresolved))
            error.partial_posts = posts()
            raise error
        return posts()

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        """Counts now, 25 URIs per getPosts call; the requested collected_at is ignored (a live API
        only knows now)."""
        started = self.calls.requests_made
        uris = [u for u in requests["post_id"].astype(str).drop_duplicates() if u.startswith("at://")]
        rows: list[dict] = []

        def batch() -> MetricsBatch:
            frame = pd.DataFrame(rows, columns=[c for c in METRIC_COLUMNS if c != "collected_at"])
            frame.insert(1, "collected_at", utc_now())
            return MetricsBatch(frame=frame[METRIC_COLUMNS].assign(network=NETWORK),
                                requests_made=self.calls.requests_made - started)

        try:
            for offset in range(0, len(uris), GET_POSTS_BATCH_SIZE):
                rows.extend(self.calls.post_counts(uris[offset:offset + GET_POSTS_BATCH_SIZE]))
        except BlueskyError as exc:
            exc.partial_batch = batch()  # batches already fetched are kept
            raise
        return batch()

    def fetch_account_figures(self, user_ids: list[str], collected_at: list[pd.Timestamp]) -> pd.DataFrame:
        """Follower figures now, one getProfile per account; an account that does not resolve is left out."""
        now = utc_now()
        rows = []
        for handle in (h for h in user_ids if h in self.handles):
            try:
                rows.append({**self.calls.profile(handle), "collected_at": now})
            except HandleNotFoundError:
                continue  # raw_posts fails naming it; the other accounts' figures are still kept
        return pd.DataFrame(rows, columns=ACCOUNT_COLUMNS).assign(network=NETWORK)

    def fetch_profile_activity(self, user_ids, days) -> pd.DataFrame:
        """Bluesky has no profile-activity figures."""
        return pd.DataFrame(columns=PROFILE_COLUMNS)


class BlueskySourceResource(SourceResource):
    """Bluesky through the AT Protocol SDK (`SOCIAL_PIPELINE_SOURCE=bluesky`). The public AppView needs no
    login; an app password (a dg.EnvVar) raises the rate limits."""

    bluesky_handles: str | None = Field(default=None, description="BLUESKY_HANDLES: comma-separated handles "
                                        "(alice.bsky.social,bob.example.com)")
    bluesky_appview_url: str = Field(default=DEFAULT_APPVIEW_URL, description="BLUESKY_APPVIEW_URL: the AppView "
                                     "read without a login")
    bluesky_handle: str | None = Field(default=None, description="BLUESKY_HANDLE: the account an app password "
                                       "logs in as (optional)")
    bluesky_app_password: str | None = Field(default=None, repr=False, description="BLUESKY_APP_PASSWORD "
                                             "(optional; an app password, never the account password)")
    bluesky_connect_timeout_seconds: float = Field(default=DEFAULT_CONNECT_TIMEOUT_SECONDS, gt=0,
                                                   description="BLUESKY_CONNECT_TIMEOUT_SECONDS, per attempt")
    bluesky_read_timeout_seconds: float = Field(default=DEFAULT_READ_TIMEOUT_SECONDS, gt=0,
                                                description="BLUESKY_READ_TIMEOUT_SECONDS, per attempt")
    bluesky_max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, description="BLUESKY_MAX_ATTEMPTS: "
                                      "tries of one call after a 429, 5xx, timeout or unreadable answer")
    _bluesky_source: object = PrivateAttr(default=None)

    def settings(self) -> BlueskySettings:
        return BlueskySettings(
            appview_url=self.bluesky_appview_url, connect_timeout_seconds=self.bluesky_connect_timeout_seconds,
            read_timeout_seconds=self.bluesky_read_timeout_seconds, max_attempts=self.bluesky_max_attempts,
            login_handle=self.bluesky_handle, app_password=self.bluesky_app_password)

    def get_source(self) -> BlueskySource:
        if self._bluesky_source is None:
            try:
                handles = parse_handles(self.bluesky_handles)
                if not handles:
                    raise ValueError("BLUESKY_HANDLES is not set: name the accounts to collect")
                self._bluesky_source = BlueskySource(handles, self.settings())
            except (ValueError, BlueskyError) as exc:
                raise dg.Failure(description=f"SOCIAL_PIPELINE_SOURCE=bluesky: {exc}") from None
        return self._bluesky_source


BLUESKY_ENV_VARS = {
    "bluesky_handles": "BLUESKY_HANDLES",
    "bluesky_appview_url": "BLUESKY_APPVIEW_URL",
    "bluesky_handle": "BLUESKY_HANDLE",
    "bluesky_app_password": "BLUESKY_APP_PASSWORD",
    "bluesky_max_attempts": "BLUESKY_MAX_ATTEMPTS",
}
BLUESKY_FLOAT_ENV_VARS = {
    "bluesky_connect_timeout_seconds": "BLUESKY_CONNECT_TIMEOUT_SECONDS",
    "bluesky_read_timeout_seconds": "BLUESKY_READ_TIMEOUT_SECONDS",
}


def bluesky_source_from_env(**overrides) -> BlueskySourceResource:
    """The Bluesky source; the app password is a dg.EnvVar reference, only when it is set."""
    return BlueskySourceResource(**{
        **_shared_source_settings(),
        **env_var_settings(BLUESKY_ENV_VARS, int_fields=("bluesky_max_attempts",)),
        **env_settings(BLUESKY_FLOAT_ENV_VARS),
        **overrides,
    })
