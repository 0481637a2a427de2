"""Real Dagster runs with the Bluesky source (and with X beside it) against a respx fake of the AppView."""

import dagster as dg
import duckdb
import httpx
import pandas as pd
import pytest
import respx

from social_pipeline.defs.analytics import assets as analytics
from social_pipeline.defs.common import HOURLY_PARTITIONS, PARTITION_KEY_FORMAT, add_partition_keys
from social_pipeline.defs.ingestion import assets as ingestion
from social_pipeline.resources.bluesky import BlueskySourceResource
from social_pipeline.resources.source_choice import source_resource_from_env
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.composite import CompositeSource
from social_pipeline.sources.simulated import SimulatedSource
from social_pipeline_tests.helpers import ALICE, APPVIEW, CAROL, IMAGES, XRPC, post_view, repost_of, uri

FOLLOWERS = 400


def iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def appview():
    now = pd.Timestamp.now("UTC").tz_localize(None).floor("h")
    image_post = post_view(ALICE, "3kp0000000002", iso(now - pd.Timedelta(hours=5)), embed=IMAGES)
    text_post = post_view(ALICE, "3kp0000000001", iso(now - pd.Timedelta(hours=30)))
    counts = {
        uri(ALICE, "3kp0000000002"): dict(likes=30, reposts=4, replies=2, quotes=1),  # 30+4+2+1 = 37
        uri(ALICE, "3kp0000000001"): dict(likes=10, reposts=0, replies=2, quotes=0),
    }  # 12

    def get_posts(request: httpx.Request) -> httpx.Response:
        views = [
            post_view(ALICE, u.rsplit("/", 1)[1], "2026-01-01T00:00:00Z", **counts[u])
            for u in request.url.params.get_list("uris")
            if u in counts
        ]
        return httpx.Response(200, json={"posts": views})

    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
            return_value=httpx.Response(
                200,
                json={
                    "feed": [
                        {"post": image_post},
                        repost_of(
                            post_view(CAROL, "3kq0000000001", iso(now - pd.Timedelta(hours=6)), likes=999),
                            ALICE,
                            iso(now - pd.Timedelta(hours=6)),
                        ),
                        {"post": text_post},
                    ]
                },
            )
        )
        mock.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
            return_value=httpx.Response(
                200, json={**ALICE, "followersCount": FOLLOWERS, "followsCount": 10, "postsCount": 2}
            )
        )
        mock.get(f"{XRPC}/app.bsky.feed.getPosts").mock(side_effect=get_posts)
        yield mock


def test_bluesky_posts_metrics_and_followers_land_with_a_per_follower_rate(appview, tmp_path):
    db = str(tmp_path / "warehouse.duckdb")
    resources = {
        "warehouse": WarehouseResource(database=db),
        "source": BlueskySourceResource(
            bluesky_handles="alice.bsky.social", bluesky_appview_url=APPVIEW, history_days=7
        ),
    }
    assert dg.materialize([ingestion.raw_posts, ingestion.raw_account_snapshots], resources=resources).success
    key = (pd.Timestamp.now("UTC").tz_localize(None).floor("h") - pd.Timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT)
    instance = dg.DagsterInstance.ephemeral()
    add_partition_keys(instance, HOURLY_PARTITIONS, [key])
    assert dg.materialize(
        [ingestion.raw_tweet_metrics], resources=resources, partition_key=key, instance=instance
    ).success
    assert dg.materialize([analytics.post_snapshots, analytics.post_performance], resources=resources).success

    con = duckdb.connect(db, read_only=True)
    try:
        posts = con.execute("SELECT post_id, content_type, network, source FROM raw.posts ORDER BY post_id").fetchall()
        performance = con.execute(
            "SELECT post_id, network, engagement_basis, impressions, engagements, engagement_rate_pct "
            "FROM analytics.post_performance ORDER BY post_id"
        ).fetchall()
        followers = con.execute("SELECT user_id, followers, network FROM raw.account_snapshots").fetchall()
        metric_networks = con.execute("SELECT DISTINCT network FROM raw.tweet_metrics").fetchall()
    finally:
        con.close()
    # The repost of Carol's post is not Alice's post.
    assert posts == [
        (uri(ALICE, "3kp0000000001"), "text", "bluesky", "bluesky"),
        (uri(ALICE, "3kp0000000002"), "image", "bluesky", "bluesky"),
    ]
    assert followers == [("alice.bsky.social", FOLLOWERS, "bluesky")]
    assert metric_networks == [("bluesky",)]
    assert performance == [
        (uri(ALICE, "3kp0000000001"), "bluesky", "followers", None, 12, pytest.approx(12 / 400 * 100)),
        (uri(ALICE, "3kp0000000002"), "bluesky", "followers", None, 37, pytest.approx(37 / 400 * 100)),
    ]


def test_one_deployment_lists_both_networks(monkeypatch):
    monkeypatch.setenv("BLUESKY_HANDLES", "alice.bsky.social")
    resource = source_resource_from_env("x_api, bluesky")
    assert resource.sources == "x_api,bluesky"
    with pytest.raises(ValueError, match="combines each of bluesky, x_api at most once"):
        source_resource_from_env("x_api,simulated")


def test_the_composite_keeps_one_source_when_the_other_fails(appview):
    from social_pipeline.sources.bluesky import BlueskySettings, BlueskySource

    appview.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(return_value=httpx.Response(503))
    simulated = SimulatedSource(num_accounts=1)
    composite = CompositeSource(
        [simulated, BlueskySource(["alice.bsky.social"], BlueskySettings(appview_url=APPVIEW, max_attempts=1))]
    )
    assert composite.user_ids() == [*simulated.user_ids(), "alice.bsky.social"]
    start, end = pd.Timestamp("2026-11-10"), pd.Timestamp("2026-11-18")
    with pytest.raises(Exception, match="bluesky: getAuthorFeed \\(alice.bsky.social\\) failed") as failure:
        composite.fetch_posts(composite.user_ids(), start, end)
    kept = failure.value.partial_posts
    assert sorted(kept["post_id"]) == sorted(simulated.fetch_posts(simulated.user_ids(), start, end)["post_id"])


def test_the_app_password_arrives_as_an_env_var_and_never_shows(monkeypatch):
    monkeypatch.setenv("BLUESKY_HANDLES", "alice.bsky.social")
    monkeypatch.setenv("BLUESKY_HANDLE", "alice.bsky.social")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    resource = source_resource_from_env("bluesky")
    assert isinstance(resource.bluesky_app_password, dg.EnvVar)
    assert "abcd-efgh" not in repr(resource) and "abcd-efgh" not in repr(resource.settings())


def test_a_composite_run_resolves_each_nested_source_and_names_the_one_misconfigured(tmp_path, monkeypatch):
    monkeypatch.setenv("BLUESKY_HANDLES", "alice.bsky.social")
    for name in ("X_BEARER_TOKEN", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    resources = {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": source_resource_from_env("x_api,bluesky"),
    }
    result = dg.materialize([ingestion.raw_posts], resources=resources, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("raw_posts").error
    assert "SOCIAL_PIPELINE_SOURCE=x_api" in failure.message and "abcd" not in failure.message
