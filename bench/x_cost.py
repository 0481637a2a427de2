"""`make bench` section x_cost: what 1,000 post-snapshots cost at X's rates under the default cadence, through
the X source against an HTTP fake that answers like X (a timeline returns every post in its window).

One authenticated account posting 3 times a day in a steady state, collected every hour of a (non-Monday) day:
- all lookups: every due post through GET /2/tweets (post reads), the route before owned reads;
- owned timeline: the account's posts of the hourly phase through its own timeline (owned reads), the rest
  through lookups;
- floor: every snapshot an owned read.
Dollars are the source's own record (ops.x_api_usage's figures) of the post reads, list price."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pandas as pd
import responses

from social_pipeline.core.collection import TrackingCadence, is_due
from social_pipeline.core.x_cost import POST_LOOKUP, USER_TIMELINE, XPrices
from social_pipeline.core.x_payloads import TWITTER_EPOCH_MS, published_at_from_id
from social_pipeline.sources.x_api import XApiSource, XCredentials

API = "https://api.twitter.com/2"
DAY = pd.Timestamp("2026-11-17")  # a Tuesday: no weekly reads
POSTS_PER_DAY = 3
CREDENTIALS = XCredentials(consumer_key="ck", consumer_secret="cs", access_token="at", access_token_secret="ats")


def _snowflake(at: pd.Timestamp) -> str:
    return str((int(at.value // 1_000_000) - TWITTER_EPOCH_MS) << 22)


def tweet_payload(post_id: str) -> dict:
    """One post as X's lookup and timeline answer it, with fixed public metrics."""
    return {
        "id": post_id,
        "text": "t",
        "edit_history_tweet_ids": [post_id],
        "public_metrics": {
            "like_count": 1,
            "retweet_count": 0,
            "reply_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 10,
        },
    }


def _fake_x(fake: responses.RequestsMock, posts: list[str]) -> None:
    def lookup(request):
        asked = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
        return 200, {}, json.dumps({"data": [tweet_payload(i) for i in asked]})

    def timeline(request):
        query = parse_qs(urlparse(request.url).query)
        start, end = (pd.Timestamp(query[k][0]).tz_localize(None) for k in ("start_time", "end_time"))
        inside = [p for p in sorted(posts, reverse=True) if start <= published_at_from_id(p) <= end]
        offset = int(query.get("pagination_token", ["0"])[0])
        page = inside[offset : offset + 100]
        meta = {"result_count": len(page), **({"next_token": str(offset + 100)} if offset + 100 < len(inside) else {})}
        return 200, {}, json.dumps({"data": [tweet_payload(p) for p in page], "meta": meta})

    fake.add_callback(responses.GET, f"{API}/tweets", callback=lookup)
    fake.add_callback(responses.GET, f"{API}/users/42/tweets", callback=timeline)
    fake.get(f"{API}/users/me", json={"data": {"id": "42", "name": "A", "username": "alice_data"}})


def _one_day(owned_timeline_days: float, cadence: TrackingCadence) -> tuple[int, float]:
    """Post-snapshots collected and the USD of the post reads over the 24 hourly collections of DAY."""
    published = pd.date_range(
        DAY - pd.Timedelta(days=cadence.daily_days + 1),
        DAY + pd.Timedelta(days=1),
        freq=pd.Timedelta(hours=24 / POSTS_PER_DAY),
        inclusive="left",
    )
    posts = [_snowflake(at + pd.Timedelta(minutes=7)) for at in published]
    snapshots, usd = 0, 0.0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        _fake_x(fake, posts)
        for hour in range(1, 25):
            now = DAY + pd.Timedelta(hours=hour)
            due = [p for p in posts if is_due(published_at_from_id(p), now, cadence)]
            source = XApiSource(
                CREDENTIALS,
                usernames="alice_data",
                sleep=lambda s: None,
                clock=lambda now=now: now,
                owned_timeline_days=owned_timeline_days,
            )
            batch = source.fetch_metrics(pd.DataFrame({"post_id": due, "user_id": "alice_data", "collected_at": now}))
            snapshots += len(batch.frame)
            usd += sum(u.estimated_usd for u in source.usage if u.endpoint in (POST_LOOKUP, USER_TIMELINE))
    return snapshots, usd


def x_cost() -> list[dict]:
    cadence, prices = TrackingCadence(), XPrices()
    rows = []
    for route, days in (("all lookups (before owned reads)", 0), ("owned timeline + lookups", cadence.hourly_days)):
        snapshots, usd = _one_day(days, cadence)
        rows.append(
            {
                "route": route,
                "snapshots_per_day": snapshots,
                "usd_per_day": usd,
                "usd_per_1000_snapshots": 1_000 * usd / snapshots,
            }
        )
    rows.append(
        {
            "route": "floor: every snapshot an owned read",
            "snapshots_per_day": rows[0]["snapshots_per_day"],
            "usd_per_day": rows[0]["snapshots_per_day"] * prices.owned_read_usd,
            "usd_per_1000_snapshots": 1_000 * prices.owned_read_usd,
        }
    )
    return rows


if __name__ == "__main__":
    print(pd.DataFrame(x_cost()).to_markdown(index=False, floatfmt=".3g"))
