"""The X API source through tweepy's real request and parsing code; HTTP faked by `responses`."""

import json
import logging
import socket
import threading
import time
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pandas as pd
import pytest
import responses

from social_pipeline.compat.post_metrics_collector import collect_post_metrics, collect_posts_metrics
from social_pipeline.defs.analytics.assets import post_performance, post_snapshots
from social_pipeline.defs.ingestion.assets import raw_posts, raw_tweet_metrics
from social_pipeline.resources.sources import XApiSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.x_api import RateLimitError, XApiError, XApiSource, XCredentials, XPermissionError
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    API,
    BEARER,
    NOW,
    TIMELINE,
    TWEETS,
    USER_CONTEXT,
    _x_resources,
    serve_timeline,
    snowflake,
    timeline_page,
    tweet,
    tweets_callback,
    users_response,
    with_hours,
)


def old_ids(count: int) -> list[str]:
    return [snowflake(pd.Timestamp("2025-03-01"), n) for n in range(count)]


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
    assert frame.loc[ids[2], ["impressions", "likes", "retweets", "replies", "quotes", "bookmarks"]].tolist() == [
        100,
        3,
        1,
        2,
        0,
        1,
    ]
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
    responses.get(
        TWEETS,
        json={
            "data": [tweet(ids[0]), tweet(ids[3])],
            "errors": [
                {
                    "value": ids[1],
                    "detail": f"Could not find tweet with ids: [{ids[1]}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": ids[1],
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                },
                {
                    "value": ids[2],
                    "detail": f"Sorry, you are not authorized to see the Tweet with ids: [{ids[2]}].",
                    "title": "Authorization Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": ids[2],
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
                },
            ],
        },
    )
    frame = source().fetch_metrics(metric_requests(ids)).frame.set_index("post_id")
    assert frame["status"].to_dict() == {ids[0]: "ok", ids[3]: "ok", ids[1]: "not_found", ids[2]: "protected"}
    assert frame.loc[ids[1], ["impressions", "likes"]].isna().all()
    assert "Not Found Error" in frame.loc[ids[1], "payload"]
    assert frame.loc[ids[3], "likes"] == 3


@responses.activate
def test_each_payload_keeps_the_includes_and_errors_about_its_post():
    ids = old_ids(2)
    quoted = snowflake(pd.Timestamp("2025-02-01"))
    quoting = tweet(
        ids[0],
        author_id="11",
        attachments={"media_keys": ["3_1"]},
        referenced_tweets=[{"type": "quoted", "id": quoted}],
    )
    plain = tweet(ids[1], author_id="22")
    alice, bob = {"id": "11", "username": "alice_data", "name": "A"}, {"id": "22", "username": "bob", "name": "B"}
    photo, other = {"media_key": "3_1", "type": "photo"}, {"media_key": "3_9", "type": "video"}
    gone = {
        "value": quoted,
        "detail": f"Could not find tweet with referenced_tweets.id: [{quoted}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "referenced_tweets.id",
        "resource_id": quoted,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
    responses.get(
        TWEETS,
        json={"data": [quoting, plain], "includes": {"users": [alice, bob], "media": [photo, other]}, "errors": [gone]},
    )
    batch = source().fetch_metrics(metric_requests(ids))
    payloads = {r.post_id: json.loads(r.payload) for r in batch.frame.itertuples()}
    assert payloads[ids[0]] == {"data": quoting, "includes": {"users": [alice], "media": [photo]}, "errors": [gone]}
    assert payloads[ids[1]] == {"data": plain, "includes": {"users": [bob]}}
    # The quoted post's error is not one of ours: no row for it, and not reported as unattributed.
    assert sorted(batch.frame.post_id) == sorted(ids) and batch.notes == []


@responses.activate
def test_429_with_reset_header_waits_for_the_reset_then_succeeds():
    reset = int(time.time()) + 30
    responses.get(
        TWEETS,
        status=429,
        json={"title": "Too Many Requests", "detail": "Too Many Requests"},
        headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
    )
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

    responses.replace(
        responses.GET,
        TWEETS,
        status=429,
        json={
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": "https://api.twitter.com/2/problems/usage-capped",
        },
    )
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
    # Past the hourly phase (7 days): own posts of that age are looked up, not read from the timeline.
    young = [snowflake(NOW - pd.Timedelta(days=10), n) for n in range(2)]
    responses.get(f"{API}/users/me", json={"data": {"id": "42", "name": "Alice", "username": "Alice_Data"}})
    responses.get(
        TWEETS, status=403, json={"title": "Forbidden", "detail": "Forbidden", "type": "about:blank", "status": 403}
    )
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
    # Past the hourly phase (7 days): own posts of that age are looked up, not read from the timeline.
    young = [snowflake(NOW - pd.Timedelta(days=10), n) for n in range(2)]
    old = old_ids(2)
    responses.get(f"{API}/users/me", json={"data": {"id": "42", "name": "Alice", "username": "alice_data"}})
    private = tweet(
        young[0],
        non_public_metrics={"impression_count": 900, "url_link_clicks": 4, "user_profile_clicks": 6},
        organic_metrics={"like_count": 3, "impression_count": 900},
    )
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
    responses.get(TWEETS, body='{"data": [', content_type="application/json")
    with pytest.raises(XApiError, match="malformed JSON"):
        source().fetch_metrics(metric_requests(old_ids(1)))


@responses.activate
def test_401_names_the_credentials():
    responses.get(TWEETS, status=401, json={"title": "Unauthorized", "detail": "Unauthorized"})
    with pytest.raises(XPermissionError, match="X_BEARER_TOKEN"):
        source().fetch_metrics(metric_requests(old_ids(1)))


@responses.activate
def test_own_timeline_is_paginated_and_followers_come_in_one_call():
    responses.get(f"{API}/users/by", json=users_response())
    first, second, third = (snowflake(NOW - pd.Timedelta(hours=h)) for h in (3, 5, 30))
    page1 = {
        "data": [
            tweet(
                first,
                created_at=(NOW - pd.Timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                attachments={"media_keys": ["3_1", "3_2"]},
            ),
            tweet(
                second,
                created_at=(NOW - pd.Timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                entities={"urls": [{"expanded_url": "https://duckdb.org"}]},
            ),
        ],
        "includes": {"media": [{"media_key": "3_1", "type": "photo"}, {"media_key": "3_2", "type": "photo"}]},
        "meta": {"result_count": 2, "next_token": "PAGE2"},
    }
    page2 = {
        "data": [
            tweet(
                third,
                created_at=(NOW - pd.Timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                attachments={"poll_ids": ["9"]},
            )
        ],
        "meta": {"result_count": 1},
    }
    responses.get(
        f"{API}/users/42/tweets",
        json=page1,
        match=[responses.matchers.query_param_matcher({"max_results": "100"}, strict_match=False)],
    )
    responses.get(
        f"{API}/users/42/tweets",
        json=page2,
        match=[responses.matchers.query_param_matcher({"pagination_token": "PAGE2"}, strict_match=False)],
    )
    src = source()
    assert src.user_ids() == ["alice_data"]
    posts = src.fetch_posts(["alice_data"], NOW - pd.Timedelta(days=2), NOW)
    assert posts["post_id"].tolist() == [first, second, third]
    assert posts[["content_type", "media_type", "num_media_items"]].values.tolist() == [
        ["image", "image", 2],
        ["link", "none", 0],
        ["poll", "none", 0],
    ]
    assert (posts["user_id"] == "alice_data").all() and posts["published_time_known"].all()
    timeline_calls = [c for c in responses.calls if "/tweets" in c.request.url]
    assert len(timeline_calls) == 2 and "pagination_token=PAGE2" in timeline_calls[1].request.url
    assert "exclude=retweets" in timeline_calls[0].request.url

    figures = src.fetch_account_figures(["alice_data"], [NOW])
    assert figures[["user_id", "followers", "following", "post_count"]].values.tolist() == [
        ["alice_data", 1234, 10, 77]
    ]
    assert src.fetch_profile_activity(["alice_data"], [NOW]).empty


@responses.activate
def test_credentials_stay_out_of_logs_and_reprs(caplog):
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    with caplog.at_level(logging.DEBUG, logger="tweepy.client"):
        src = source()
        src.fetch_metrics(metric_requests(old_ids(1)))
    assert caplog.text and "Bearer ***" in caplog.text
    assert "secret-bearer-token-123" not in caplog.text
    resource = XApiSourceResource(x_bearer_token="secret-bearer-token-123")
    assert "secret-bearer-token-123" not in repr(resource) + repr(src) + repr(src.credentials)


@responses.activate
def test_seed_collect_post_metrics_shapes():
    ids = old_ids(2)
    responses.get(
        TWEETS,
        json={
            "data": [tweet(ids[0])],
            "errors": [
                {
                    "resource_id": ids[1],
                    "title": "Not Found Error",
                    "detail": "Could not find tweet",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ],
        },
    )
    results = collect_posts_metrics(ids, source())
    assert results[ids[0]]["success"] is True
    assert results[ids[0]]["metrics"] == {
        "impressions": 100,
        "likes": 3,
        "retweets": 1,
        "replies": 2,
        "quotes": 0,
        "url_clicks": None,
        "profile_clicks": None,
        "media_views": None,
    }
    assert results[ids[1]] == {"success": False, "error": f"post {ids[1]} is not_found"}
    assert len(responses.calls) == 1

    responses.replace(responses.GET, TWEETS, status=429, json={})
    with pytest.raises(RateLimitError):
        collect_post_metrics(ids[0], source())
    responses.replace(responses.GET, TWEETS, status=400, json={"errors": [{"message": "Invalid ids"}]})
    result = collect_post_metrics("abc", source())
    assert result["success"] is False and "Invalid ids" in result["error"]


@responses.activate
def test_live_source_refuses_old_partitions_and_ranges(tmp_path):
    old_key = (NOW.floor("h") - pd.Timedelta(hours=6)).strftime("%Y-%m-%d-%H:%M")
    with pytest.raises(dg.Failure, match="would be wrong") as raised:
        dg.materialize(
            [raw_tweet_metrics], resources=_x_resources(tmp_path), partition_key=old_key, instance=with_hours(old_key)
        )
    assert "export file" in str(raised.value.description)
    assert len(responses.calls) == 0  # refused before spending a request


@responses.activate
def test_live_source_refuses_a_day_key_even_of_today(tmp_path):
    # A day (or week) key is a range of hours: a source answering "as of now" cannot collect it.
    day = NOW.normalize()
    with pytest.raises(dg.Failure, match="cannot backfill") as raised:
        dg.materialize(
            [raw_tweet_metrics],
            resources=_x_resources(tmp_path),
            partition_key=f"{day:%Y-%m-%d}",
            instance=with_hours(f"{day:%Y-%m-%d}"),
        )
    assert f"range {day:%Y-%m-%d}-00:00 .. {day:%Y-%m-%d}-23:00" in str(raised.value.description)
    assert len(responses.calls) == 0


@responses.activate
def test_live_collection_of_the_current_hour_end_to_end(tmp_path):
    """raw_posts -> raw_tweet_metrics -> analytics with the X source, the hour that just closed."""
    responses.get(f"{API}/users/by", json=users_response())
    post_id = snowflake(NOW - pd.Timedelta(hours=5))
    created = (NOW - pd.Timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    responses.get(
        f"{API}/users/42/tweets", json={"data": [tweet(post_id, created_at=created)], "meta": {"result_count": 1}}
    )
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    key = (NOW.floor("h") - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
    resources = _x_resources(tmp_path)
    result = dg.materialize(
        [raw_posts, raw_tweet_metrics, post_snapshots, post_performance],
        resources=resources,
        partition_key=key,
        instance=with_hours(key),
    )
    assert result.success
    con = connect(str(tmp_path / "w.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT post_id, likes, source, partition_key, collected_at, payload FROM raw.tweet_metrics"
    ).fetchall()
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
    assert (
        live_collection_refusal("2026-11-22-09:00", "2026-11-22-09:00", pd.Timestamp("2026-11-22 10:00"), now, "x_api")
        is None
    )
    assert (
        live_collection_refusal(
            "2026-11-22-07:00",
            "2026-11-22-07:00",
            pd.Timestamp("2026-11-22 08:00"),
            pd.Timestamp("2026-11-22 09:50"),
            "x_api",
        )
        is None
    )  # 1.8 h: within tolerance
    late = live_collection_refusal(
        "2026-11-22-06:00", "2026-11-22-06:00", pd.Timestamp("2026-11-22 07:00"), now, "x_api"
    )
    assert late and "3.3 h ago" in late
    ranged = live_collection_refusal(
        "2026-11-22-08:00", "2026-11-22-09:00", pd.Timestamp("2026-11-22 10:00"), now, "x_api"
    )
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


# ---- faults: timeouts, bodies cut short, stray errors, a timeline that fails mid-way ------------
class LocalServer:
    """A real TCP server on 127.0.0.1. Each connection gets the next scripted reply (the last one
    repeats): raw bytes sent before closing, or None to accept and never answer. With
    `accept=False` it never accepts and its backlog is full, so a connect cannot complete."""

    def __init__(self, replies=(None,), accept=True, hold_seconds=10.0):
        self.replies, self.connections, self.hold_seconds = list(replies), 0, hold_seconds
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=0 if not accept else 16)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.stop = threading.Event()
        self.fillers, self.thread = [], None
        if accept:
            self.socket.settimeout(0.05)
            self.thread = threading.Thread(target=self._serve, daemon=True)
            self.thread.start()
        else:  # Linux drops further SYNs once the accept queue is full
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", self.socket.getsockname()[1]))
                self.fillers.append(filler)
            time.sleep(0.05)

    def _serve(self):
        held = []
        deadline = time.monotonic() + self.hold_seconds  # today's code would otherwise hang the test forever
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            reply = self.replies[min(self.connections, len(self.replies) - 1)]
            self.connections += 1
            if reply is None:
                held.append(connection)
                continue
            connection.recv(65536)
            connection.sendall(reply)
            connection.close()
        for connection in held:
            connection.close()

    def close(self):
        self.stop.set()
        if self.thread:
            self.thread.join()
        for filler in self.fillers:
            filler.close()
        self.socket.close()


@pytest.fixture
def local_server():
    servers = []

    def start(*args, **kwargs):
        servers.append(LocalServer(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def http_reply(body: bytes, content_length: int | None = None, status="200 OK") -> bytes:
    length = len(body) if content_length is None else content_length
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode() + body


@responses.activate
def test_every_request_carries_a_connect_and_a_read_timeout():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    source().fetch_metrics(metric_requests(old_ids(1)))
    XApiSource(BEARER, usernames="a", connect_timeout_seconds=2.5, read_timeout_seconds=7.0).fetch_metrics(
        metric_requests(old_ids(1))
    )
    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [(10.0, 30.0), (2.5, 7.0)]

    resource = XApiSourceResource(
        x_bearer_token="t0ken",
        x_usernames="a",
        x_connect_timeout_seconds=1.5,
        x_read_timeout_seconds=4.0,
        x_max_retries=2,
    )
    src = resource.get_source()
    assert (src.client.session.timeout, src.max_retries) == ((1.5, 4.0), 2)
    with pytest.raises(Exception, match="greater than 0"):
        XApiSourceResource(x_read_timeout_seconds=0)


def test_a_server_that_accepts_and_never_answers_fails_in_bounded_time(local_server):
    server = local_server([None])
    sleeps = []
    src = source(sleeps=sleeps, api_base_url=server.url, read_timeout_seconds=0.2, max_retries=2)
    started = time.monotonic()
    with pytest.raises(XApiError) as raised:
        src.fetch_metrics(metric_requests(old_ids(3)))
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert message.startswith("get_tweets (3 ids): gave up after 3 attempts")
    assert "no answer within the read timeout of 0.2 s" in message
    assert server.connections == 3 and sleeps == [2.0, 4.0]
    assert elapsed < 5  # 3 attempts x 0.2 s; without a timeout this call never returns
    assert raised.value.partial_batch.frame.empty  # nothing was fetched, nothing invented


def test_a_connection_that_cannot_be_established_times_out(local_server):
    server = local_server(accept=False)
    src = source(api_base_url=server.url, connect_timeout_seconds=0.2, max_retries=1)
    with pytest.raises(XApiError, match=r"no connection within the connect timeout of 0.2 s"):
        src.fetch_metrics(metric_requests(old_ids(1)))


def test_a_run_against_a_silent_x_api_fails_in_bounded_time_with_a_clear_message(local_server, tmp_path):
    server = local_server([None])
    resources = {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": XApiSourceResource(
            x_bearer_token="secret-bearer-token-123",
            x_usernames="alice_data",
            x_api_base_url=server.url,
            x_read_timeout_seconds=0.3,
            x_max_retries=0,
        ),
    }
    started = time.monotonic()
    result = dg.materialize([raw_posts], resources=resources, raise_on_error=False)
    elapsed = time.monotonic() - started
    assert not result.success and elapsed < 30
    error = result.failure_data_for_node("raw_posts").error
    message = (error.cause or error).message  # the user code's exception under Dagster's wrapper
    assert "get_users: gave up after 1 attempts, last: no answer within the read timeout of 0.3 s" in message
    assert "x_read_timeout_seconds" in message and "secret-bearer-token-123" not in message
    assert server.connections == 1


@responses.activate
def test_a_content_length_longer_than_the_body_is_retried_then_earlier_batches_are_kept():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    cut = b'{"data": [{"id": "1", "text": "cut shor'  # 39 bytes of a promised 5000
    responses.get(TWEETS, body=cut, headers={"Content-Length": "5000"}, content_type="application/json")
    sleeps = []
    with pytest.raises(XApiError) as raised:
        source(sleeps=sleeps).fetch_metrics(metric_requests(old_ids(150)))
    message = str(raised.value)
    assert message.startswith("get_tweets (50 ids): gave up after 5 attempts, last: network error ChunkedEncodingError")
    assert "IncompleteRead(39 bytes read, 4961 more expected)" in message
    assert sleeps == [2.0, 4.0, 8.0, 16.0]
    partial = raised.value.partial_batch
    assert sorted(partial.frame["post_id"]) == sorted(old_ids(150)[:100]) and partial.requests_made == 6


def test_a_connection_cut_mid_body_on_a_real_socket_is_retried_and_then_succeeds(local_server):
    ids = old_ids(2)
    whole = json.dumps({"data": [tweet(i, likes=5) for i in ids]}).encode()
    server = local_server([http_reply(whole[:39], content_length=len(whole)), http_reply(whole)])
    sleeps = []
    batch = source(sleeps=sleeps, api_base_url=server.url).fetch_metrics(metric_requests(ids))
    assert server.connections == 2 and sleeps == [2.0]
    assert batch.frame.set_index("post_id")["likes"].to_dict() == {ids[0]: 5, ids[1]: 5}


@responses.activate
def test_a_non_integer_rate_limit_reset_is_an_x_api_error_and_earlier_batches_survive():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    responses.get(TWEETS, status=429, json={"title": "Too Many Requests"}, headers={"x-rate-limit-reset": "soon"})
    with pytest.raises(XApiError) as raised:
        source().fetch_metrics(metric_requests(old_ids(120)))
    assert str(raised.value).startswith("get_tweets (20 ids): unexpected ValueError")
    assert "'soon'" in str(raised.value) and len(responses.calls) == 2  # not retried: it will not heal
    assert len(raised.value.partial_batch.frame) == 100


@responses.activate
def test_a_200_whose_body_is_a_json_array_is_an_x_api_error_and_earlier_batches_survive():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    responses.get(TWEETS, json=[{"id": "1"}])
    with pytest.raises(XApiError) as raised:
        source().fetch_metrics(metric_requests(old_ids(101)))
    assert str(raised.value).startswith("get_tweets (1 ids): unexpected AttributeError")
    assert len(raised.value.partial_batch.frame) == 100


@responses.activate
def test_an_answer_of_the_wrong_shape_after_parsing_is_an_x_api_error():
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    responses.get(TWEETS, json={"data": [], "errors": ["not an object"]})
    with pytest.raises(XApiError, match=r"^get_tweets \(1 ids\): unexpected AttributeError") as raised:
        source().fetch_metrics(metric_requests(old_ids(101)))
    assert len(raised.value.partial_batch.frame) == 100


def timeline_starts() -> list[str]:
    return [
        parse_qs(urlparse(c.request.url).query)["start_time"][0]
        for c in responses.calls
        if c.request.url.startswith(TIMELINE)
    ]


@responses.activate
def test_the_timeline_hands_over_the_pages_it_fetched_before_a_failure():
    responses.get(f"{API}/users/by", json=users_response())
    serve_timeline({None: (200, timeline_page([2, 3], "PAGE2")), "PAGE2": (503, "Service Unavailable")})
    with pytest.raises(XApiError, match=r"get_users_tweets \(alice_data\): gave up after 5 attempts") as raised:
        source().fetch_posts(["alice_data"], NOW - pd.Timedelta(days=2), NOW)
    partial = raised.value.partial_posts
    assert partial["post_id"].tolist() == [snowflake(NOW - pd.Timedelta(hours=h)) for h in (2, 3)]


@responses.activate
def test_raw_posts_keeps_a_failed_timeline_s_first_page_and_refetches_the_whole_window_next(tmp_path):
    responses.get(f"{API}/users/by", json=users_response())
    pages = {None: (200, timeline_page([2, 3], "PAGE2")), "PAGE2": (503, "Service Unavailable")}
    serve_timeline(pages)
    resources = {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": XApiSourceResource(x_bearer_token="t0ken", x_usernames="alice_data", x_max_retries=0),
    }

    def stored():
        con = connect(str(tmp_path / "w.duckdb"), read_only=True)
        try:
            return (
                con.execute("SELECT count(*), count(DISTINCT post_id) FROM raw.posts").fetchone(),
                con.execute("SELECT count(*) FROM ops.unfinished_post_fetches").fetchone()[0],
            )
        finally:
            con.close()

    with pytest.raises(dg.Failure) as raised:
        dg.materialize([raw_posts], resources=resources)
    assert "get_users_tweets (alice_data): gave up after 1 attempts" in raised.value.description
    assert "2 posts fetched before the failure are stored" in raised.value.description
    assert stored() == ((2, 2), 1)
    (first_start,) = set(timeline_starts())

    # X is back: the next run asks again from the failed run's start, so page 2 is not skipped.
    pages["PAGE2"] = (200, timeline_page([40, 41]))
    assert dg.materialize([raw_posts], resources=resources).success
    assert timeline_starts()[2:] == [first_start, first_start]
    assert stored() == ((4, 4), 0)

    # Nothing unfinished: the next run starts from the newest stored post, as before.
    pages[None] = (200, {"meta": {"result_count": 0}})
    assert dg.materialize([raw_posts], resources=resources).success
    newest = (NOW - pd.Timedelta(hours=2)).floor("s")
    assert pd.Timestamp(timeline_starts()[-1]).tz_localize(None) == newest


@responses.activate
def test_raw_tweet_metrics_stores_the_batches_fetched_before_a_body_cut_short(tmp_path):
    responses.get(f"{API}/users/by", json=users_response())
    hours = list(range(2, 152))  # 150 posts, all young enough for an hourly collection
    serve_timeline({None: (200, timeline_page(hours[:100], "PAGE2")), "PAGE2": (200, timeline_page(hours[100:]))})
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    responses.get(
        TWEETS,
        body=b'{"data": [{"id": "1", "text": "cut shor',
        headers={"Content-Length": "5000"},
        content_type="application/json",
    )
    resources = {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": XApiSourceResource(x_bearer_token="t0ken", x_usernames="alice_data", x_max_retries=0),
    }
    key = (NOW.floor("h") - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
    with pytest.raises(dg.Failure) as raised:
        dg.materialize([raw_posts, raw_tweet_metrics], resources=resources, partition_key=key, instance=with_hours(key))
    description = raised.value.description
    assert "gave up after 1 attempts, last: network error ChunkedEncodingError" in description
    assert "100 of 150 posts were fetched before the failure and are stored" in description
    con = connect(str(tmp_path / "w.duckdb"), read_only=True)
    stored = con.execute(
        "SELECT count(*), count(*) FILTER (status = 'ok'), min(partition_key) FROM raw.tweet_metrics"
    ).fetchone()
    con.close()
    assert stored == (100, 100, key)


@responses.activate
def test_a_token_with_a_line_break_fails_at_once_and_the_message_does_not_quote_it():
    sleeps = []
    src = XApiSource(XCredentials(bearer_token="secret-bearer-token-123\n"), usernames="a", sleep=sleeps.append)
    with pytest.raises(XApiError) as raised:
        src.fetch_metrics(metric_requests(old_ids(1)))
    message = str(raised.value)
    assert message.startswith("get_tweets (1 ids): the request could not be sent (InvalidHeader")
    assert "line breaks" in message and "secret-bearer-token" not in message
    assert sleeps == [] and len(responses.calls) == 0  # never sent, not retried


@responses.activate
def test_a_failed_rerun_of_the_hour_keeps_what_the_first_run_stored_for_posts_it_did_not_reach(tmp_path):
    responses.get(f"{API}/users/by", json=users_response())
    serve_timeline({None: (200, timeline_page([2, 3]))})
    metrics = responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    resources = {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": XApiSourceResource(x_bearer_token="t0ken", x_usernames="alice_data", x_max_retries=0),
    }
    key = (NOW.floor("h") - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
    assert dg.materialize(
        [raw_posts, raw_tweet_metrics], resources=resources, partition_key=key, instance=with_hours(key)
    ).success
    responses.remove(metrics)
    responses.get(TWEETS, body=b'{"data": [', headers={"Content-Length": "500"}, content_type="application/json")
    with pytest.raises(dg.Failure, match="0 of 2 posts were fetched"):
        dg.materialize([raw_tweet_metrics], resources=resources, partition_key=key, instance=with_hours(key))
    con = connect(str(tmp_path / "w.duckdb"), read_only=True)
    kept = con.execute(
        "SELECT count(*), min(likes) FROM raw.tweet_metrics WHERE partition_key = $key", {"key": key}
    ).fetchone()
    con.close()
    assert kept == (2, 3)
