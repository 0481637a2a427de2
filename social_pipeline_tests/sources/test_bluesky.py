"""The Bluesky source through the real atproto SDK against an HTTP-level fake of the AppView (respx).

The bodies are shaped as the lexicons define them: app.bsky.feed.getAuthorFeed (feed of
feedViewPost, cursor), app.bsky.feed.getPosts (posts of postView), app.bsky.actor.getProfile.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
import respx

from social_pipeline.sources.bluesky import (
    BlueskyError,
    BlueskyRateLimitError,
    BlueskySettings,
    BlueskySource,
    parse_handles,
)
from social_pipeline_tests.helpers import (
    ALICE,
    APPVIEW,
    CAROL,
    IMAGES,
    JSON_TYPE,
    QUOTE,
    XRPC,
    Sleeps,
    post_view,
    repost_of,
    uri,
)


def feed_page(items: list[dict], cursor: str | None) -> dict:
    page = {"feed": items}
    if cursor:
        page["cursor"] = cursor
    return page


def source(sleeps: Sleeps | None = None, now=datetime(2026, 11, 18, 12, 0, tzinfo=UTC), **settings) -> BlueskySource:
    return BlueskySource(
        ["alice.bsky.social"],
        BlueskySettings(appview_url=APPVIEW, **settings),
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=lambda: now,
    )


def json_response(body: dict, status: int = 200, **headers) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_author_feed_pages_skip_reposts_and_keep_quotes_replies_threads():
    own = post_view(ALICE, "3kp0000000004", "2026-11-17T09:30:00.000Z", text="four images? two", embed=IMAGES)
    quote = post_view(ALICE, "3kp0000000003", "2026-11-16T18:00:00.000Z", embed=QUOTE)
    reply = post_view(ALICE, "3kp0000000002", "2026-11-15T07:00:00Z", reply_to=uri(CAROL, "3kq0000000009"))
    thread = post_view(ALICE, "3kp0000000001", "2026-11-14T22:15:00Z", reply_to=uri(ALICE, "3kp0000000000"))
    too_old = post_view(ALICE, "3kp0000000000", "2026-11-01T10:00:00Z")
    carols = post_view(CAROL, "3kq0000000005", "2026-11-16T10:00:00Z", likes=900)
    with respx.mock(assert_all_called=True) as appview:
        route = appview.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
            side_effect=[
                json_response(
                    feed_page([{"post": own}, repost_of(carols, ALICE, "2026-11-17T08:00:00Z"), {"post": quote}], "c1")
                ),
                json_response(feed_page([{"post": reply}, {"post": thread}, {"post": too_old}], "c2")),
            ]
        )
        posts = source().fetch_posts(["alice.bsky.social"], pd.Timestamp("2026-11-10"), pd.Timestamp("2026-11-18"))
    # The second page reached a post older than the window: no third request.
    assert route.call_count == 2
    assert route.calls[0].request.url.params["actor"] == "alice.bsky.social"
    assert route.calls[0].request.url.params["limit"] == "100"
    assert route.calls[1].request.url.params["cursor"] == "c1"
    assert posts["post_id"].tolist() == [
        uri(ALICE, r) for r in ("3kp0000000004", "3kp0000000003", "3kp0000000002", "3kp0000000001")
    ]
    assert posts["content_type"].tolist() == ["image", "quote", "reply", "thread"]
    assert posts["num_media_items"].tolist() == [2, 0, 0, 0]
    assert posts["published_at"].tolist()[0] == pd.Timestamp("2026-11-17 09:30")
    assert set(posts["user_id"]) == {"alice.bsky.social"} and set(posts["network"]) == {"bluesky"}


def test_a_cursor_loop_stops_paging_with_the_posts_kept():
    first = post_view(ALICE, "3kp0000000004", "2026-11-17T09:30:00Z")
    second = post_view(ALICE, "3kp0000000003", "2026-11-17T08:30:00Z")
    with respx.mock() as appview:
        route = appview.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
            side_effect=[
                json_response(feed_page([{"post": first}], "same")),
                json_response(feed_page([{"post": second}], "same")),
                json_response(feed_page([{"post": second}], "same")),
            ]
        )
        posts = source().fetch_posts(["alice.bsky.social"], pd.Timestamp("2026-11-10"), pd.Timestamp("2026-11-18"))
    assert route.call_count == 2
    assert posts["post_id"].tolist() == [uri(ALICE, "3kp0000000004"), uri(ALICE, "3kp0000000003")]


def test_a_handle_that_does_not_resolve_fails_naming_it_and_keeps_the_other_accounts_posts():
    bob = {"did": "did:plc:bob3333333333333333333", "handle": "bob.example.com"}
    with respx.mock() as appview:

        def answer(request: httpx.Request) -> httpx.Response:
            if request.url.params["actor"] == "typo.bsky.social":
                return json_response({"error": "InvalidRequest", "message": "Profile not found"}, 400)
            return json_response(feed_page([{"post": post_view(bob, "3kb0000000001", "2026-11-17T00:00:00Z")}], None))

        appview.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(side_effect=answer)
        src = BlueskySource(
            ["typo.bsky.social", "bob.example.com"], BlueskySettings(appview_url=APPVIEW), sleep=Sleeps()
        )
        with pytest.raises(BlueskyError, match="typo.bsky.social.*no such account") as failure:
            src.fetch_posts(src.user_ids(), pd.Timestamp("2026-11-10"), pd.Timestamp("2026-11-18"))
    assert failure.value.partial_posts["post_id"].tolist() == [uri(bob, "3kb0000000001")]


def test_get_posts_batches_25_uris_and_marks_a_deleted_post_not_found():
    uris = [uri(ALICE, f"3kp{i:010d}") for i in range(30)]
    deleted = uris[7]
    with respx.mock() as appview:

        def answer(request: httpx.Request) -> httpx.Response:
            asked = request.url.params.get_list("uris")
            views = [
                post_view(
                    ALICE,
                    u.rsplit("/", 1)[1],
                    "2026-11-17T09:00:00Z",
                    likes=i,
                    reposts=2,
                    replies=1,
                    quotes=3,
                    bookmarkCount=4,
                )
                for i, u in enumerate(asked)
                if u != deleted
            ]
            return json_response({"posts": views})

        route = appview.get(f"{XRPC}/app.bsky.feed.getPosts").mock(side_effect=answer)
        batch = source().fetch_metrics(pd.DataFrame({"post_id": uris + uris[:3], "collected_at": pd.Timestamp.now()}))
    assert [len(c.request.url.params.get_list("uris")) for c in route.calls] == [25, 5]
    assert batch.requests_made == 2
    frame = batch.frame.set_index("post_id")
    assert len(frame) == 30
    assert frame.loc[deleted, "status"] == "not_found" and pd.isna(frame.loc[deleted, "likes"])
    ok = frame.loc[uris[8]]
    assert (ok["status"], ok["likes"], ok["retweets"], ok["replies"], ok["quotes"], ok["bookmarks"]) == (
        "ok",
        8,
        2,
        1,
        3,
        4,
    )
    assert pd.isna(ok["impressions"])
    assert json.loads(ok["payload"])["uri"] == uris[8]
    assert set(batch.frame["network"]) == {"bluesky"}


def test_x_ids_are_never_sent_to_bluesky():
    with respx.mock(assert_all_called=False) as appview:
        route = appview.get(f"{XRPC}/app.bsky.feed.getPosts").mock(return_value=json_response({"posts": []}))
        batch = source().fetch_metrics(
            pd.DataFrame({"post_id": ["1860000000000000001"], "collected_at": pd.Timestamp.now()})
        )
    assert route.call_count == 0 and batch.frame.empty


def test_a_429_waits_until_ratelimit_reset_then_succeeds():
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    reset = int(now.timestamp()) + 42
    sleeps = Sleeps()
    with respx.mock() as appview:
        route = appview.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
            side_effect=[
                json_response(
                    {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                    429,
                    **{"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
                ),
                json_response({**ALICE, "followersCount": 1234, "followsCount": 56, "postsCount": 789}),
            ]
        )
        figures = source(sleeps, now=now).fetch_account_figures(["alice.bsky.social"], [])
    assert route.call_count == 2
    assert sleeps == [43.0]  # until the reset second has passed
    assert figures[["user_id", "followers", "following", "post_count"]].values.tolist() == [
        ["alice.bsky.social", 1234, 56, 789]
    ]


def test_a_rate_limit_resetting_beyond_the_wait_bound_fails_at_once():
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    sleeps = Sleeps()
    with respx.mock() as appview:
        route = appview.get(f"{XRPC}/app.bsky.feed.getPosts").mock(
            return_value=json_response(
                {"error": "RateLimitExceeded"}, 429, **{"ratelimit-reset": str(int(now.timestamp()) + 3600)}
            )
        )
        with pytest.raises(BlueskyRateLimitError, match="resets only at 2026-11-18 13:00"):
            source(sleeps, now=now).fetch_metrics(
                pd.DataFrame({"post_id": [uri(ALICE, "3kp0000000001")], "collected_at": pd.Timestamp.now()})
            )
    assert route.call_count == 1 and sleeps == []


def test_5xx_is_retried_with_backoff_and_batches_already_fetched_are_kept():
    uris = [uri(ALICE, f"3kp{i:010d}") for i in range(30)]
    sleeps = Sleeps()
    with respx.mock() as appview:
        first_batch = [post_view(ALICE, u.rsplit("/", 1)[1], "2026-11-17T09:00:00Z", likes=5) for u in uris[:25]]
        route = appview.get(f"{XRPC}/app.bsky.feed.getPosts").mock(
            side_effect=[
                json_response({"posts": first_batch}),
                *[json_response({"error": "InternalServerError", "message": "Internal Server Error"}, 500)] * 3,
            ]
        )
        with pytest.raises(BlueskyError, match="getPosts \\(5 URIs\\) failed after 3 attempts") as failure:
            source(sleeps, max_attempts=3).fetch_metrics(
                pd.DataFrame({"post_id": uris, "collected_at": pd.Timestamp.now()})
            )
    assert route.call_count == 4
    assert sleeps == [2.0, 4.0]
    kept = failure.value.partial_batch
    assert kept.frame["post_id"].tolist() == uris[:25] and set(kept.frame["likes"]) == {5}
    assert kept.requests_made == 4


@pytest.mark.parametrize("fault", [httpx.ConnectTimeout, httpx.ReadTimeout])
def test_timeouts_are_retried_then_reported(fault):
    sleeps = Sleeps()
    with respx.mock() as appview:
        route = appview.get(f"{XRPC}/app.bsky.actor.getProfile").mock(side_effect=fault("silent"))
        with pytest.raises(BlueskyError, match="getProfile \\(alice.bsky.social\\) timed out after 2 attempts"):
            source(sleeps, max_attempts=2).calls.profile("alice.bsky.social")
    assert route.call_count == 2 and sleeps == [2.0]


def test_the_configured_read_timeout_ends_a_silent_answer():
    # A real local server that accepts the connection and never answers.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        src = BlueskySource(
            ["alice.bsky.social"],
            BlueskySettings(appview_url=f"http://127.0.0.1:{port}", read_timeout_seconds=0.3, max_attempts=1),
            sleep=Sleeps(),
        )
        started = time.monotonic()
        with pytest.raises(BlueskyError, match="getProfile \\(alice.bsky.social\\) timed out after 1 attempts"):
            src.calls.profile("alice.bsky.social")
    assert 0.3 <= time.monotonic() - started < 3


def test_a_truncated_body_is_retried_and_then_the_complete_answer_is_used():
    whole = json.dumps({"posts": [post_view(ALICE, "3kp0000000001", "2026-11-17T09:00:00Z", likes=11)]})
    with respx.mock() as appview:
        route = appview.get(f"{XRPC}/app.bsky.feed.getPosts").mock(
            side_effect=[
                httpx.Response(200, content=whole[: len(whole) // 2].encode(), headers=JSON_TYPE),
                httpx.Response(200, content=whole.encode(), headers=JSON_TYPE),
            ]
        )
        batch = source().fetch_metrics(
            pd.DataFrame({"post_id": [uri(ALICE, "3kp0000000001")], "collected_at": pd.Timestamp.now()})
        )
    assert route.call_count == 2
    assert batch.frame["likes"].tolist() == [11]


def test_a_body_that_stays_truncated_fails_naming_the_call():
    with respx.mock() as appview:
        appview.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
            return_value=httpx.Response(200, content=b'{"did": "did:plc:alice', headers=JSON_TYPE)
        )
        with pytest.raises(BlueskyError, match="getProfile \\(alice.bsky.social\\) failed after 2 attempts.*unreadabl"):
            source(max_attempts=2).calls.profile("alice.bsky.social")


def test_handles_are_normalised_and_a_bare_name_is_refused():
    assert parse_handles(" Alice.bsky.social, @bob.example.com,alice.bsky.social") == [
        "alice.bsky.social",
        "bob.example.com",
    ]
    with pytest.raises(ValueError, match="alice is not a full Bluesky handle"):
        parse_handles("alice")
