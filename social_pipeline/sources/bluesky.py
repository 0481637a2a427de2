"""Bluesky through the AT Protocol SDK (`atproto`): paging, batching and retries, no Dagster.

Three XRPC queries, each through the SDK's `Client`:
- `app.bsky.feed.getAuthorFeed`, paged by cursor (100 items a page), for an account's posts;
  reposts are skipped (their counts are another post's), quotes and replies are kept;
- `app.bsky.feed.getPosts`, 25 URIs a call, for the cumulative counts of many posts at once;
  a URI the AppView leaves out of the answer is a deleted post (`not_found`);
- `app.bsky.actor.getProfile` for follower figures.

The public AppView needs no login. Every call goes through one tenacity policy: a 5xx, a
dropped or silent connection or an unreadable body is retried with exponential backoff; a
429 waits until its `ratelimit-reset` (never longer than `max_rate_limit_wait_seconds`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar, cast

import pandas as pd
import tenacity

from social_pipeline.core.clock import naive_utc, utc_now
from social_pipeline.sources.protocol import (
    ACCOUNT_COLUMNS,
    METRIC_COLUMNS,
    POST_COLUMNS,
    PROFILE_COLUMNS,
    MetricsBatch,
)

# The SDK takes seconds to import (every lexicon model); it is imported where a call is made, so
# loading the definitions does not pay for it.
if TYPE_CHECKING:
    from atproto import Client, models
    from atproto_client.exceptions import RateLimitExceededError

NETWORK = "bluesky"
DEFAULT_APPVIEW_URL = "https://public.api.bsky.app"
# The PDS an app-password login goes to; it then proxies the app.bsky queries to its AppView.
DEFAULT_LOGIN_SERVICE_URL = "https://bsky.social"
GET_POSTS_BATCH_SIZE = 25  # the lexicon's maximum number of URIs per getPosts call
FEED_PAGE_SIZE = 100  # the lexicon's maximum getAuthorFeed limit
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_ATTEMPTS = 5  # per call: the first try and four retries
# Bluesky's windows are 5 minutes; a reset much further away is not worth blocking a run for.
DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS = 6 * 60

T = TypeVar("T")


class BlueskyError(RuntimeError):
    """A Bluesky call failed for good; the message names the call and what to do."""

    # What the failed fetch had already received, handed over with the error.
    partial_batch: MetricsBatch | None = None
    partial_posts: pd.DataFrame | None = None


class BlueskyRateLimitError(BlueskyError):
    def __init__(self, message: str, reset_at: datetime | None = None):
        super().__init__(message)
        self.reset_at = reset_at


class HandleNotFoundError(BlueskyError):
    """The AppView knows no account by this handle (a typo, a renamed or deleted account)."""


class _Unreadable(Exception):
    """An answer that arrived but could not be parsed (a body cut short); worth one more try."""


@dataclass
class BlueskySettings:
    appview_url: str = DEFAULT_APPVIEW_URL
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_rate_limit_wait_seconds: float = DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS
    login_handle: str | None = None
    app_password: str | None = field(default=None, repr=False)


def make_client(settings: BlueskySettings) -> Client:
    """An atproto Client with connect/read timeouts; logged in when an app password is given."""
    import httpx
    from atproto import Client
    from atproto_client.exceptions import RequestErrorBase
    from atproto_client.request import Request

    timeout = httpx.Timeout(settings.read_timeout_seconds, connect=settings.connect_timeout_seconds)
    request = Request(timeout=timeout)
    if settings.login_handle and settings.app_password:
        client = Client(DEFAULT_LOGIN_SERVICE_URL, request=request)
        try:
            client.login(settings.login_handle, settings.app_password)
        except RequestErrorBase as exc:
            # The SDK's message carries the server's error, never the password.
            raise BlueskyError(
                f"BLUESKY_HANDLE={settings.login_handle}: login with the app password failed "
                f"({exc}); check BLUESKY_APP_PASSWORD"
            ) from None
        return client
    return Client(settings.appview_url, request=request)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    from atproto_client.exceptions import NetworkError, RateLimitExceededError, RequestException

    if isinstance(exc, RateLimitExceededError):
        return True
    if isinstance(exc, (NetworkError, _Unreadable)):  # timeouts, dropped connections, 502
        return True
    status = _status(exc)
    return isinstance(exc, RequestException) and status is not None and status >= 500


def _seconds_until_reset(exc: RateLimitExceededError, now: datetime) -> float | None:
    if exc.reset_at is not None:
        return max((exc.reset_at - now).total_seconds(), 0.0)
    return exc.retry_after


class BlueskyCalls:
    """Every XRPC call the source makes, each under the retry policy; counts the requests sent."""

    def __init__(
        self,
        client: Client,
        settings: BlueskySettings,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.client = client
        self.settings = settings
        self.requests_made = 0
        self._sleep = sleep if sleep is not None else tenacity.nap.sleep
        self._clock = clock if clock is not None else (lambda: datetime.now(UTC))

    def _wait_seconds(self, state: tenacity.RetryCallState) -> float:
        from atproto_client.exceptions import RateLimitExceededError

        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitExceededError):
            wait = _seconds_until_reset(exc, self._clock())
            if wait is not None:
                return wait + 1.0  # the window resets at the start of that second
        return min(2.0**state.attempt_number, 60.0)

    def call(self, what: str, function: Callable[..., T], **params) -> T:
        """`function(**params)`, retried under the policy; a lasting failure is a BlueskyError naming `what`."""
        from atproto_client.exceptions import (
            BadRequestError,
            ModelError,
            NetworkError,
            RateLimitExceededError,
            RequestErrorBase,
        )

        def attempt() -> T:
            self.requests_made += 1
            try:
                return function(**params)
            except RateLimitExceededError as exc:
                wait = _seconds_until_reset(exc, self._clock())
                if wait is not None and wait > self.settings.max_rate_limit_wait_seconds:
                    raise BlueskyRateLimitError(
                        f"{what}: Bluesky's rate limit resets only at {exc.reset_at or f'{wait:.0f} s from now'}, "
                        f"later than the {self.settings.max_rate_limit_wait_seconds:.0f} s a run waits; the next "
                        "run goes on from here (or log in with BLUESKY_HANDLE + BLUESKY_APP_PASSWORD for a "
                        "higher limit)",
                        reset_at=exc.reset_at,
                    ) from None
                raise
            except (ValueError, ModelError) as exc:
                # The SDK parses the body before we see it: a body cut short arrives as a JSON error.
                raise _Unreadable(f"unreadable answer: {exc}") from exc

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.max_attempts),
            wait=self._wait_seconds,
            retry=tenacity.retry_if_exception(_retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except BlueskyError:
            raise
        except RateLimitExceededError as exc:
            raise BlueskyRateLimitError(
                f"{what}: still rate-limited (HTTP 429) after {self.settings.max_attempts} attempts",
                reset_at=exc.reset_at,
            ) from None
        except BadRequestError as exc:
            if "not found" in str(exc).lower() or "could not locate" in str(exc).lower():
                raise HandleNotFoundError(
                    f"{what}: Bluesky knows no such account ({exc}); check BLUESKY_HANDLES "
                    "(full handles such as alice.bsky.social)"
                ) from None
            raise BlueskyError(f"{what}: Bluesky refused the request ({exc})") from None
        except (RequestErrorBase, _Unreadable) as exc:
            kind = "timed out" if isinstance(exc, NetworkError) and exc.response is None else "failed"
            raise BlueskyError(
                f"{what} {kind} after {self.settings.max_attempts} attempts "
                f"({type(exc).__name__}: {exc or exc.__cause__})"
            ) from None

    # ---- the three queries ------------------------------------------------------------
    def author_feed(
        self, handle: str, since: pd.Timestamp, notes: list[str], page_done: Callable[[list[dict]], None]
    ) -> None:
        """The account's own posts (quotes and replies included, reposts skipped) published after
        `since` (naive UTC), newest first; each page's rows go to `page_done` as soon as they arrive."""
        from atproto import models

        cursor, seen_cursors = None, set()
        while True:
            what = f"getAuthorFeed ({handle})"
            page = self.call(what, self.client.get_author_feed, actor=handle, cursor=cursor, limit=FEED_PAGE_SIZE)
            rows, oldest = [], None
            for item in page.feed:
                # Without include_pins the only reason getAuthorFeed gives is a repost's.
                reason = cast("models.AppBskyFeedDefs.ReasonRepost | None", item.reason)
                sorted_at = naive_utc(reason.indexed_at if reason is not None else item.post.indexed_at)
                oldest = sorted_at if oldest is None else min(oldest, sorted_at)
                if isinstance(item.reason, models.AppBskyFeedDefs.ReasonRepost):
                    continue  # a repost's counts belong to the original post
                row = post_row(item.post, handle)
                if row["published_at"] > since:
                    rows.append(row)
            page_done(rows)
            if not page.cursor or not page.feed or (oldest is not None and oldest <= since):
                return
            if page.cursor in seen_cursors:
                notes.append(f"{what}: the AppView returned cursor {page.cursor!r} twice; paging stopped there")
                return
            seen_cursors.add(page.cursor)
            cursor = page.cursor

    def post_counts(self, uris: list[str]) -> list[dict]:
        """One row per URI with its counts now; a URI missing from the answer is `not_found`."""
        page = self.call(f"getPosts ({len(uris)} URIs)", self.client.get_posts, uris=uris)
        found = {post.uri: post for post in page.posts}
        rows = []
        for uri in uris:
            post = found.get(uri)
            if post is None:
                rows.append(
                    {
                        "post_id": uri,
                        **dict.fromkeys(BLUESKY_COUNTS.values()),
                        "impressions": None,
                        "status": "not_found",
                        "payload": None,
                    }
                )
                continue
            counts = {column: getattr(post, attribute) for attribute, column in BLUESKY_COUNTS.items()}
            rows.append(
                {
                    "post_id": uri,
                    **counts,
                    "impressions": None,
                    "status": "ok",
                    "payload": json.dumps(
                        post.model_dump(mode="json", by_alias=True, exclude_none=True), ensure_ascii=False
                    ),
                }
            )
        return rows

    def profile(self, handle: str) -> dict:
        profile = self.call(f"getProfile ({handle})", self.client.get_profile, actor=handle)
        return {
            "user_id": handle,
            "followers": profile.followers_count,
            "following": profile.follows_count,
            "post_count": profile.posts_count,
        }


# Post view attribute -> our count column (COUNT_COLUMNS); Bluesky counts no impressions or clicks.
BLUESKY_COUNTS = {
    "like_count": "likes",
    "repost_count": "retweets",
    "reply_count": "replies",
    "quote_count": "quotes",
    "bookmark_count": "bookmarks",
}


def _embed_kind(embed) -> tuple[str, str, int]:
    """(content kind, media_type, media items) of a post view's embed."""
    from atproto import models

    if embed is None:
        return "text", "none", 0
    if isinstance(embed, models.AppBskyEmbedRecordWithMedia.View):
        _, media_type, count = _embed_kind(embed.media)
        return "quote", media_type, count
    if isinstance(embed, models.AppBskyEmbedRecord.View):
        return "quote", "none", 0
    if isinstance(embed, models.AppBskyEmbedImages.View):
        return "image", "image", len(embed.images)
    if isinstance(embed, models.AppBskyEmbedVideo.View):
        return "video", "video", 1
    if isinstance(embed, models.AppBskyEmbedExternal.View):
        return "link", "none", 0
    return "text", "none", 0


def post_row(post: models.AppBskyFeedDefs.PostView, handle: str) -> dict:
    """One raw.posts row from a post view. content_type: `reply` (to someone else), `thread` (to
    oneself), `quote`, then `image`, `video`, `link` or `text` from the embed."""
    record = post.record
    kind, media_type, media_items = _embed_kind(post.embed)
    reply = getattr(record, "reply", None)
    if reply is not None:
        # A reply's parent URI names the parent's author DID: at://<did>/app.bsky.feed.post/<rkey>.
        parent_did = reply.parent.uri.removeprefix("at://").split("/", 1)[0]
        kind = "thread" if parent_did == post.author.did else "reply"
    created_at = getattr(record, "created_at", None) or post.indexed_at
    return {
        "post_id": post.uri,
        "user_id": handle,
        "text": getattr(record, "text", None),
        "content_type": kind,
        "media_type": media_type,
        "num_media_items": media_items,
        "published_at": naive_utc(created_at),
        "published_time_known": True,
    }


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

    def __init__(
        self,
        handles: list[str],
        settings: BlueskySettings | None = None,
        client=None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
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
            return MetricsBatch(
                frame=frame[METRIC_COLUMNS].assign(network=NETWORK), requests_made=self.calls.requests_made - started
            )

        try:
            for offset in range(0, len(uris), GET_POSTS_BATCH_SIZE):
                rows.extend(self.calls.post_counts(uris[offset : offset + GET_POSTS_BATCH_SIZE]))
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
