"""The X API source through tweepy's real request and parsing code; HTTP faked by `responses`."""

import json
import logging
import time
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pandas as pd
import pytest
import responses

from social_pipeline.assets.analytics import post_performance, post_snapshots
from social_pipeline.assets.ingestion import raw_posts, raw_tweet_metrics
from social_pipeline.collector_api import collect_post_metrics, collect_posts_metrics
from social_pipeline.core.x_payloads import TWITTER_EPOCH_MS
from social_pipeline.resources.sources import SourceResource
from social_pipeline.resources.warehouse import WarehouseResource, connect
from social_pipeline.resources.x_api import (
    RateLimitError,
    XApiError,
    XApiSource,
    XCredentials,
    XPermissionError,
)

from .test_assets import with_hours

API = "https://api.twitter.com/2"
TWEETS = f"{API}/tweets"
BEARER = XCredentials(bearer_token="secret-bearer-token-123")
USER_CONTEXT = XCredentials(consumer_key="ck-secret", consumer_secret="cs-secret", access_token="at-secret",
                            access_token_secret="ats-secret")
NOW = pd.Timestamp.now("UTC").tz_localize(None)


def snowflake(at: pd.Timestamp, n: int = 0) -> str:
    return str(((int(pd.Timestamp(at).value // 1_000_000) - TWITTER_EPOCH_MS) << 22) + n)


def old_ids(count: int) -> list[str]:
    return [snowflake(pd.Timestamp("2025-03-01"), n) for n in range(count)]


def tweet(post_id: str, likes=3, reposts=1, replies=2, quotes=0, impressions=100, renamed=False, **extra) -> dict:
    metrics = {"like_count": likes, "reply_count": replies, "quote_count": quotes, "bookmark_count": 1}
    metrics["repost_count" if renamed else "retweet_count"] = reposts
    if impressions is not None:
        metrics["impression_count"] = impressions
    return {"id": post_id, "text": f"post {post_id}", "edit_history_tweet_ids": [post_id],
            "public_metrics": metrics, **extra}


def tweets_callback(request):
    """Answers get_tweets for whatever ids were asked, like X does."""
    ids = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
    return 200, {"content-type": "application/json"}, json.dumps({"data": [tweet(i) for i in ids]})


def source(credentials=BEARER, sleeps=None, **kwargs) -> XApiSource:
    recorded = sleeps if sleeps is not None else []
    return XApiSource(credentials, usernames="Alice_Data", sleep=recorded.append, **kwargs)


def metric_requests(ids, user_id=None) -> pd.DataFrame:
    frame = pd.DataFrame({"post_id": ids, "collected_at": NOW})
    if user_id:
        frame["user_id"] = user_id
    return frame


@responses.activate
def test_a_100_id_batch_is_one_request_and_maps_tolerantly():
    ids = old_ids(100)
    body = [tweet(i) for i in ids]
    body[0] = tweet(ids[0], reposts=7, renamed=True)  # X's newer field name
    body[1] = tweet(ids[1], impressions=None)  # a metric X did not serve
    responses.get(TWEETS, json={"data": body})
    batch = source().fetch_metrics(metric_requests(ids))

    assert batch.requests_made == 1 and len(responses.calls) == 1
    query = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert query["ids"][0].split(",") == ids
    assert query["tweet.fields"][0].split(",") == ["public_metrics", "created_at", "author_id"]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-bearer-token-123"
    frame = batch.frame.set_index("post_id")
    assert len(frame) == 100 and (frame["status"] == "ok").all()
    assert frame.loc[ids[0], "retweets"] == 7
    assert pd.isna(frame.loc[ids[1], "impressions"])  # absent -> NULL, not 0
    assert frame.loc[ids[2], ["impressions", "likes", "retweets", "replies", "quotes", "bookmarks"]].tolist() == \
        [100, 3, 1, 2, 0, 1]
    assert pd.isna(frame.loc[ids[2], "url_clicks"])  # non-public, not requested
    assert json.loads(frame.loc[ids[2], "payload"]) == {"data": body[2]}  # the post's slice of the response
    assert (batch.frame["collected_at"] >= NOW).all()


@responses.activate
def test_250_posts_cost_3_metric_requests_not_250():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    ids = old_ids(250)
    batch = source().fetch_metrics(metric_requests(ids + ids[:10]))  # repeats are fetched once
    sizes = [len(parse_qs(urlparse(c.request.url).query)["ids"][0].split(",")) for c in responses.calls]
    assert sizes == [100, 100, 50]
    assert batch.requests_made == 3
    assert sorted(batch.frame["post_id"]) == sorted(ids)


@responses.activate
def test_partial_errors_mark_posts_and_keep_the_rest_of_the_batch():
    ids = old_ids(4)
    responses.get(TWEETS, json={
        "data": [tweet(ids[0]), tweet(ids[3])],
        "errors": [
            {"value": ids[1], "detail": f"Could not find tweet with ids: [{ids[1]}].", "title": "Not Found Error",
             "resource_type": "tweet", "parameter": "ids", "resource_id": ids[1],
             "type": "https://api.twitter.com/2/problems/resource-not-found"},
            {"value": ids[2], "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{ids[2]}].",
             "title": "Authorization Error", "resource_type": "tweet", "parameter": "ids", "resource_id": ids[2],
             "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"},
        ],
    })
    frame = source().fetch_metrics(metric_requests(ids)).frame.set_index("post_id")
    assert frame["status"].to_dict() == {ids[0]: "ok", ids[3]: "ok", ids[1]: "not_found", ids[2]: "protected"}
    assert frame.loc[ids[1], ["impressions", "likes"]].isna().all()
    assert "Not Found Error" in frame.loc[ids[1], "payload"]
    assert frame.loc[ids[3], "likes"] == 3


@responses.activate
def test_each_payload_keeps_the_includes_and_errors_about_its_post():
    ids = old_ids(2)
    quoted = snowflake(pd.Timestamp("2025-02-01"))
    quoting = tweet(ids[0], author_id="11", attachments={"media_keys": ["3_1"]},
                    referenced_tweets=[{"type": "quoted", "id": quoted}])
    plain = tweet(ids[1], author_id="22")
    alice, bob = {"id": "11", "username": "alice_data", "name": "A"}, {"id": "22", "username": "bob", "name": "B"}
    photo, other = {"media_key": "3_1", "type": "photo"}, {"media_key": "3_9", "type": "video"}
    gone = {"value": quoted, "detail": f"Could not find tweet with referenced_tweets.id: [{quoted}].",
            "title": "Not Found Error", "resource_type": "tweet", "parameter": "referenced_tweets.id",
            "resource_id": quoted, "type": "https://api.twitter.com/2/problems/resource-not-found"}
    responses.get(TWEETS, json={"data": [quoting, plain], "includes": {"users": [alice, bob], "media": [photo, other]},
                                "errors": [gone]})
    batch = source().fetch_metrics(metric_requests(ids))
    payloads = {r.post_id: json.loads(r.payload) for r in batch.frame.itertuples()}
    assert payloads[ids[0]] == {"data": quoting, "includes": {"users": [alice], "media": [photo]}, "errors": [gone]}
    assert payloads[ids[1]] == {"data": plain, "includes": {"users": [bob]}}
    # The quoted post's error is not one of ours: no row for it, and not reported as unattributed.
    assert sorted(batch.frame.post_id) == sorted(ids) and batch.notes == []


@responses.activate
def test_429_with_reset_header_waits_for_the_reset_then_succeeds():
    reset = int(time.time()) + 30
    responses.get(TWEETS, status=429, json={"title": "Too Many Requests", "detail": "Too Many Requests"},
                  headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"})
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    sleeps = []
    batch = source(sleeps=sleeps).fetch_metrics(metric_requests(old_ids(2)))
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 32
    assert batch.requests_made == 2 and (batch.frame["status"] == "ok").all()


@responses.activate
def test_429_without_reset_header_backs_off_bounded_and_names_a_usage_cap():
    responses.get(TWEETS, status=429, json={"title": "Too Many Requests"})
    sleeps = []
    with pytest.raises(RateLimitError) as raised:
        source(sleeps=sleeps).fetch_metrics(metric_requests(old_ids(2)))
    assert sleeps == [2.0, 4.0, 8.0, 16.0]  # 4 retries, exponential
    assert len(responses.calls) == 5
    assert raised.value.usage_cap_likely
    assert "usage cap" in str(raised.value)


@responses.activate
def test_429_again_after_the_reset_and_an_explicit_cap_are_called_usage_caps():
    reset = int(time.time()) + 5
    responses.get(TWEETS, status=429, json={}, headers={"x-rate-limit-reset": str(reset)})
    sleeps = []
    with pytest.raises(RateLimitError, match="after waiting for the rate-limit reset"):
        source(sleeps=sleeps).fetch_metrics(metric_requests(old_ids(1)))
    assert len(sleeps) == 1

    responses.replace(responses.GET, TWEETS, status=429,
                      json={"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
                            "type": "https://api.twitter.com/2/problems/usage-capped"})
    sleeps.clear()
    with pytest.raises(RateLimitError, match="usage cap") as raised:
        source(sleeps=sleeps).fetch_metrics(metric_requests(old_ids(1)))
    assert sleeps == [] and raised.value.usage_cap_likely  # no pointless retries


@responses.activate
def test_503_then_success_is_retried():
    responses.get(TWEETS, status=503, body="Service Unavailable")
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    sleeps = []
    batch = source(sleeps=sleeps).fetch_metrics(metric_requests(old_ids(3)))
    assert sleeps == [2.0] and batch.requests_made == 2 and len(batch.frame) == 3


@responses.activate
def test_403_for_non_public_fields_names_the_missing_user_context():
    young = [snowflake(NOW - pd.Timedelta(days=2), n) for n in range(2)]
    responses.get(f"{API}/users/me", json={"data": {"id": "42", "name": "Alice", "username": "Alice_Data"}})
    responses.get(TWEETS, status=403, json={
        "title": "Forbidden", "detail": "Forbidden", "type": "about:blank", "status": 403})
    with pytest.raises(XPermissionError) as raised:
        source(USER_CONTEXT).fetch_metrics(metric_requests(young, user_id="alice_data"))
    message = str(raised.value)
    assert "403" in message and "OAuth 1.0a user context" in message and "X_ACCESS_TOKEN" in message
    assert "at-secret" not in message
    query = parse_qs(urlparse(responses.calls[-1].request.url).query)
    assert "non_public_metrics" in query["tweet.fields"][0]
    assert responses.calls[-1].request.headers["Authorization"].startswith("OAuth ")


@responses.activate
def test_non_public_metrics_only_for_own_posts_younger_than_30_days():
    young = [snowflake(NOW - pd.Timedelta(days=3), n) for n in range(2)]
    old = old_ids(2)
    responses.get(f"{API}/users/me", json={"data": {"id": "42", "name": "Alice", "username": "alice_data"}})
    private = tweet(young[0], non_public_metrics={"impression_count": 900, "url_link_clicks": 4,
                                                   "user_profile_clicks": 6},
                    organic_metrics={"like_count": 3, "impression_count": 900})
    private["public_metrics"].pop("impression_count")
    responses.get(TWEETS, json={"data": [private, tweet(young[1])]})
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    batch = source(USER_CONTEXT).fetch_metrics(metric_requests(young + old, user_id="alice_data"))
    fields = [parse_qs(urlparse(c.request.url).query).get("tweet.fields", [""])[0] for c in responses.calls[1:]]
    assert ["non_public_metrics" in f for f in fields] == [True, False]
    frame = batch.frame.set_index("post_id")
    assert frame.loc[young[0], ["impressions", "url_clicks", "profile_clicks"]].tolist() == [900, 4, 6]
    assert batch.requests_made == 3  # get_me once + 2 metric batches


@responses.activate
def test_malformed_json_is_a_clear_error():
    responses.get(TWEETS, body="{\"data\": [", content_type="application/json")
    with pytest.raises(XApiError, match="malformed JSON"):
        source().fetch_metrics(metric_requests(old_ids(1)))


@responses.activate
def test_401_names_the_credentials():
    responses.get(TWEETS, status=401, json={"title": "Unauthorized", "detail": "Unauthorized"})
    with pytest.raises(XPermissionError, match="X_BEARER_TOKEN"):
        source().fetch_metrics(metric_requests(old_ids(1)))


def users_response(handle="Alice_Data", user_id="42", followers=1234):
    return {"data": [{"id": user_id, "name": "Alice", "username": handle,
                      "public_metrics": {"followers_count": followers, "following_count": 10, "tweet_count": 77}}]}


@responses.activate
def test_own_timeline_is_paginated_and_followers_come_in_one_call():
    responses.get(f"{API}/users/by", json=users_response())
    first, second, third = (snowflake(NOW - pd.Timedelta(hours=h)) for h in (3, 5, 30))
    page1 = {"data": [tweet(first, created_at=(NOW - pd.Timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            attachments={"media_keys": ["3_1", "3_2"]}),
                      tweet(second, created_at=(NOW - pd.Timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            entities={"urls": [{"expanded_url": "https://duckdb.org"}]})],
             "includes": {"media": [{"media_key": "3_1", "type": "photo"}, {"media_key": "3_2", "type": "photo"}]},
             "meta": {"result_count": 2, "next_token": "PAGE2"}}
    page2 = {"data": [tweet(third, created_at=(NOW - pd.Timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            attachments={"poll_ids": ["9"]})],
             "meta": {"result_count": 1}}
    responses.get(f"{API}/users/42/tweets", json=page1,
                  match=[responses.matchers.query_param_matcher({"max_results": "100"}, strict_match=False)])
    responses.get(f"{API}/users/42/tweets", json=page2,
                  match=[responses.matchers.query_param_matcher({"pagination_token": "PAGE2"}, strict_match=False)])
    src = source()
    assert src.user_ids() == ["alice_data"]
    posts = src.fetch_posts(["alice_data"], NOW - pd.Timedelta(days=2), NOW)
    assert posts["post_id"].tolist() == [first, second, third]
    assert posts[["content_type", "media_type", "num_media_items"]].values.tolist() == [
        ["image", "image", 2], ["link", "none", 0], ["poll", "none", 0]]
    assert (posts["user_id"] == "alice_data").all() and posts["published_time_known"].all()
    timeline_calls = [c for c in responses.calls if "/tweets" in c.request.url]
    assert len(timeline_calls) == 2 and "pagination_token=PAGE2" in timeline_calls[1].request.url
    assert "exclude=retweets" in timeline_calls[0].request.url

    figures = src.fetch_account_figures(["alice_data"], [NOW])
    assert figures[["user_id", "followers", "following", "post_count"]].values.tolist() == [["alice_data", 1234, 10, 77]]
    assert src.fetch_profile_activity(["alice_data"], [NOW]).empty


@responses.activate
def test_credentials_stay_out_of_logs_and_reprs(caplog):
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    with caplog.at_level(logging.DEBUG, logger="tweepy.client"):
        src = source()
        src.fetch_metrics(metric_requests(old_ids(1)))
    assert caplog.text and "Bearer ***" in caplog.text
    assert "secret-bearer-token-123" not in caplog.text
    resource = SourceResource(kind="x_api", x_bearer_token="secret-bearer-token-123")
    assert "secret-bearer-token-123" not in repr(resource) + repr(src) + repr(src.credentials)


@responses.activate
def test_seed_collect_post_metrics_shapes():
    ids = old_ids(2)
    responses.get(TWEETS, json={"data": [tweet(ids[0])], "errors": [
        {"resource_id": ids[1], "title": "Not Found Error", "detail": "Could not find tweet",
         "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    results = collect_posts_metrics(ids, source())
    assert results[ids[0]]["success"] is True
    assert results[ids[0]]["metrics"] == {"impressions": 100, "likes": 3, "retweets": 1, "replies": 2, "quotes": 0,
                                          "url_clicks": None, "profile_clicks": None, "media_views": None}
    assert results[ids[1]] == {"success": False, "error": f"post {ids[1]} is not_found"}
    assert len(responses.calls) == 1

    responses.replace(responses.GET, TWEETS, status=429, json={})
    with pytest.raises(RateLimitError):
        collect_post_metrics(ids[0], source())
    responses.replace(responses.GET, TWEETS, status=400, json={"errors": [{"message": "Invalid ids"}]})
    result = collect_post_metrics("abc", source())
    assert result["success"] is False and "Invalid ids" in result["error"]


def _x_resources(tmp_path):
    return {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": SourceResource(kind="x_api", x_bearer_token="secret-bearer-token-123", x_usernames="alice_data"),
    }


@responses.activate
def test_live_source_refuses_old_partitions_and_ranges(tmp_path):
    old_key = (NOW.floor("h") - pd.Timedelta(hours=6)).strftime("%Y-%m-%d-%H:%M")
    with pytest.raises(dg.Failure, match="would be wrong") as raised:
        dg.materialize([raw_tweet_metrics], resources=_x_resources(tmp_path), partition_key=old_key,
                       instance=with_hours(old_key))
    assert "export file" in str(raised.value.description)
    assert len(responses.calls) == 0  # refused before spending a request


@responses.activate
def test_live_collection_of_the_current_hour_end_to_end(tmp_path):
    """raw_posts -> raw_tweet_metrics -> analytics with the X source, the hour that just closed."""
    responses.get(f"{API}/users/by", json=users_response())
    post_id = snowflake(NOW - pd.Timedelta(hours=5))
    created = (NOW - pd.Timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    responses.get(f"{API}/users/42/tweets", json={"data": [tweet(post_id, created_at=created)],
                                                  "meta": {"result_count": 1}})
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    key = (NOW.floor("h") - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
    resources = _x_resources(tmp_path)
    result = dg.materialize([raw_posts, raw_tweet_metrics, post_snapshots, post_performance],
                            resources=resources, partition_key=key, instance=with_hours(key))
    assert result.success
    con = connect(str(tmp_path / "w.duckdb"), read_only=True)
    rows = con.execute("SELECT post_id, likes, source, partition_key, collected_at, payload FROM raw.tweet_metrics").fetchall()
    perf = con.execute("SELECT post_id, engagement_rate_pct FROM analytics.post_performance").fetchall()
    con.close()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(post_id, 3, "x_api", key)]
    assert pd.Timestamp(rows[0][4]) >= NOW  # stamped with the real now, not the partition end
    assert "secret" not in rows[0][5]
    assert perf == [(post_id, pytest.approx(6.0))]  # (3 + 1 + 2 + 0) / 100 * 100
    metered = result.asset_materializations_for_node("raw_tweet_metrics")[0].metadata
    assert metered["api_requests"].value == 1
    # The whole run: one account look-up, one timeline page, one metrics batch.
    assert [urlparse(c.request.url).path for c in responses.calls] == ["/2/users/by", "/2/users/42/tweets", "/2/tweets"]


def test_live_refusal_rule():
    from social_pipeline.core.collection import live_collection_refusal

    now = pd.Timestamp("2026-11-22 10:20")
    assert live_collection_refusal("2026-11-22-09:00", "2026-11-22-09:00", pd.Timestamp("2026-11-22 10:00"), now, "x_api") is None
    assert live_collection_refusal("2026-11-22-07:00", "2026-11-22-07:00", pd.Timestamp("2026-11-22 08:00"),
                                   pd.Timestamp("2026-11-22 09:50"), "x_api") is None  # 1.8 h: within tolerance
    late = live_collection_refusal("2026-11-22-06:00", "2026-11-22-06:00", pd.Timestamp("2026-11-22 07:00"), now, "x_api")
    assert late and "3.3 h ago" in late
    ranged = live_collection_refusal("2026-11-22-08:00", "2026-11-22-09:00", pd.Timestamp("2026-11-22 10:00"), now, "x_api")
    assert ranged and "cannot backfill" in ranged


@responses.activate
def test_batches_paid_for_before_a_failure_are_handed_over():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    responses.get(TWEETS, status=429, json={"title": "UsageCapExceeded", "detail": "Usage cap exceeded"})
    # responses serves registrations in order: first the callback, then the 429 for later calls.
    with pytest.raises(RateLimitError) as raised:
        source().fetch_metrics(metric_requests(old_ids(150)))
    partial = raised.value.partial_batch
    assert len(partial.frame) == 100 and partial.requests_made == 2
    assert (partial.frame["status"] == "ok").all()
