"""X API v2 JSON -> our raw columns. Pure functions: no network, no Dagster.

Mapping is tolerant: X has renamed fields (`retweet_count` -> `repost_count`) and omits
metrics it does not serve (non-public metrics after 30 days). A metric that is absent is
NULL (unknown), never 0.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from .clock import naive_utc

# Tweet ids are snowflakes: the high bits are milliseconds since X's epoch.
TWITTER_EPOCH_MS = 1288834974657
# X serves non_public_metrics and organic_metrics only for posts younger than this.
NON_PUBLIC_METRICS_MAX_AGE = pd.Timedelta(days=30)
# How X writes a repost's text, in API responses and in both export layouts.
REPOST_TEXT = re.compile(r"RT @\w{1,15}:")


def is_repost(tweet: dict) -> bool:
    """A repost of someone's post: its public counts (retweets, likes) are the original's, so it is
    not one of the account's own posts. Quote posts and replies are the account's own."""
    if any(ref.get("type") == "retweeted" for ref in tweet.get("referenced_tweets") or []):
        return True
    return bool(REPOST_TEXT.match(tweet.get("text") or "")) and not tweet.get("referenced_tweets")


def _first(*values):
    return next((v for v in values if v is not None), None)


def metrics_from_tweet(data: dict) -> dict:
    """Cumulative counts of one tweet object (`public_metrics` and, when served, the private ones)."""
    public = data.get("public_metrics") or {}
    private = data.get("non_public_metrics") or {}
    organic = data.get("organic_metrics") or {}
    return {
        "impressions": _first(
            public.get("impression_count"), private.get("impression_count"), organic.get("impression_count")
        ),
        "likes": _first(public.get("like_count"), organic.get("like_count")),
        "retweets": _first(
            public.get("retweet_count"),
            public.get("repost_count"),
            organic.get("retweet_count"),
            organic.get("repost_count"),
        ),
        "replies": _first(public.get("reply_count"), organic.get("reply_count")),
        "quotes": _first(public.get("quote_count"), organic.get("quote_count")),
        "bookmarks": public.get("bookmark_count"),
        "url_clicks": _first(private.get("url_link_clicks"), organic.get("url_link_clicks")),
        "profile_clicks": _first(private.get("user_profile_clicks"), organic.get("user_profile_clicks")),
        # A media-level metric (media.public_metrics.view_count); not requested per tweet.
        "media_views": None,
    }


def status_from_error(error: dict) -> str:
    """deleted | protected | not_found for an entry of a v2 response's `errors`.

    X reports a deleted post as "resource-not-found" too; only an explicit mention of
    deletion is called deleted.
    """
    kind = str(error.get("type", ""))
    text = f"{error.get('title', '')} {error.get('detail', '')}".lower()
    if "not-authorized" in kind or "protected" in text or "authorization" in text:
        return "protected"
    if "deleted" in text:
        return "deleted"
    return "not_found"


def error_post_id(error: dict) -> str | None:
    value = error.get("resource_id") or error.get("value")
    return str(value) if value is not None else None


def referenced_keys(tweet: dict) -> set[str]:
    """Ids and media keys a tweet object points at: what its response's `includes` and `errors` may describe."""
    attachments = tweet.get("attachments") or {}
    keys = [
        tweet.get("author_id"),
        tweet.get("in_reply_to_user_id"),
        (tweet.get("geo") or {}).get("place_id"),
        *(r.get("id") for r in tweet.get("referenced_tweets") or []),
        *(m.get("id") for m in (tweet.get("entities") or {}).get("mentions") or []),
        *(attachments.get("media_keys") or []),
        *(attachments.get("poll_ids") or []),
    ]
    return {str(k) for k in keys if k is not None}


def post_response_slice(tweet: dict, includes: dict, errors: list[dict], meta: dict | None) -> dict:
    """The part of one v2 response that concerns one post, in the response's own shape: its `data`,
    the `includes` entries and `errors` about what it references (an expanded author, a deleted
    quoted post), and the response's `meta`. Empty parts are left out to keep the row small."""
    refs = referenced_keys(tweet)
    kept = {
        key: [e for e in entries if str(e.get("media_key") or e.get("id")) in refs]
        for key, entries in (includes or {}).items()
    }
    result: dict[str, Any] = {"data": tweet}
    if any(kept.values()):
        result["includes"] = {key: entries for key, entries in kept.items() if entries}
    related = [e for e in errors or [] if error_post_id(e) in refs]
    if related:
        result["errors"] = related
    if meta:
        result["meta"] = meta
    return result


def published_at_from_id(post_id: str) -> pd.Timestamp | None:
    """Naive-UTC creation time encoded in a snowflake id; None for a non-snowflake id."""
    try:
        number = int(post_id)
    except (TypeError, ValueError):
        return None
    if number < 2**22:
        return None
    return pd.Timestamp((number >> 22) + TWITTER_EPOCH_MS, unit="ms")


def parse_created_at(value: str | None) -> pd.Timestamp | None:
    if not value:
        return None
    return naive_utc(value)


def post_from_tweet(data: dict, user_id: str, media_types: dict[str, str]) -> dict:
    """One raw.posts row. `media_types` maps media_key -> X media type from `includes.media`."""
    attachments = data.get("attachments") or {}
    media_keys = attachments.get("media_keys") or []
    kinds = {media_types.get(key, "") for key in media_keys}
    if kinds & {"video", "animated_gif"}:
        media_type = "video"
    elif "photo" in kinds:
        media_type = "image"
    else:
        media_type = "none"
    referenced = {ref.get("type") for ref in data.get("referenced_tweets") or []}
    urls = [u for u in (data.get("entities") or {}).get("urls") or [] if not u.get("media_key")]
    if attachments.get("poll_ids"):
        content_type = "poll"
    elif media_type != "none":
        content_type = media_type
    elif "replied_to" in referenced and data.get("in_reply_to_user_id") == data.get("author_id"):
        content_type = "thread"
    elif urls:
        content_type = "link"
    else:
        content_type = "text"
    return {
        "post_id": str(data["id"]),
        "user_id": user_id,
        "text": data.get("text"),
        "content_type": content_type,
        "media_type": media_type,
        "num_media_items": len(media_keys),
        "published_at": parse_created_at(data.get("created_at")) or published_at_from_id(data["id"]),
        "published_time_known": True,
    }


def handle_from_link(link: str | None) -> str | None:
    """`https://x.com/<handle>/status/<id>` (or twitter.com) -> lower-case handle."""
    if not link:
        return None
    parts = [p for p in urlparse(link.strip()).path.split("/") if p]
    if len(parts) >= 3 and parts[1] == "status":
        return parts[0].lower()
    return None
