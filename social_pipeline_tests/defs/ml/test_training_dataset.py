"""ml.training_dataset: hand-computed point-in-time features, and no leak from later posts."""

import dagster as dg
import duckdb
import pandas as pd
import pytest

from social_pipeline.defs.ml import assets as ml
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import add_post, refresh_post_tables

T = pd.Timestamp
H72 = pd.Timedelta(hours=72)


def add_collection(con, post_id, collected_at, impressions, likes):
    con.execute(
        "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes, source, "
        "status, partition_key, written_at) VALUES ($id, $c, $i, $l, 0, 0, 0, 'test', 'ok', $key, $c)",
        {
            "id": post_id,
            "c": T(collected_at),
            "i": impressions,
            "l": likes,
            "key": (T(collected_at) - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M"),
        },
    )


def add_followers(con, user_id, at, followers):
    con.execute(
        "INSERT INTO raw.account_snapshots (user_id, collected_at, followers, source) VALUES ($u, $t, $f, 'test')",
        {"u": user_id, "t": T(at), "f": followers},
    )


# post, published_at, impressions at 72 h, likes, retweets (engagement rate = (likes + retweets) / impressions)
POSTS = [
    ("p1", "2026-11-01 10:00", 1000, 40, 10),  # rate 0.05
    ("p2", "2026-11-03 09:00", 2000, 150, 50),  # rate 0.10; published before p1 settled (11-04 10:00)
    ("p3", "2026-11-05 12:00", 3000, 30, 0),  # sees p1 only (p2 settles 11-06 09:00)
    ("p4", "2026-11-07 00:00", 500, 5, 0),  # sees p1 and p2 (p3 settles 11-08 12:00)
]


@pytest.fixture
def warehouse_rows(db_path):
    con = connect(db_path)
    for post_id, published, impressions, likes, retweets in POSTS:
        text = "Hello #DuckDB @dagster 🚀 https://example.com" if post_id == "p3" else f"post {post_id}"
        add_post(
            con,
            post_id,
            "u1",
            published,
            impressions,
            likes=likes,
            retweets=retweets,
            text=text,
            collected_at=T(published) + H72,
        )
        # An earlier collection must not be taken as the outcome, nor one past the settle window.
        add_collection(con, post_id, T(published) + pd.Timedelta(hours=24), impressions // 2, likes // 2)
        add_collection(con, post_id, T(published) + pd.Timedelta(hours=100), impressions * 2, likes * 2)
    # Too young to have settled: no collection at 72 h yet.
    add_post(con, "p5", "u1", "2026-11-09 00:00", 100, collected_at="2026-11-10 00:00")
    for at, followers in [("2026-11-01 00:00", 500), ("2026-11-05 00:00", 600), ("2026-11-08 00:00", 700)]:
        add_followers(con, "u1", at, followers)
    refresh_post_tables(con)
    con.close()
    return db_path


def build(db_path):
    result = dg.materialize([ml.training_dataset], resources={"warehouse": WarehouseResource(database=db_path)})
    assert result.success
    con = duckdb.connect(db_path, read_only=True)
    try:
        return (
            con.execute("SELECT * FROM ml.training_dataset WHERE NOT is_synthetic ORDER BY published_at")
            .df()
            .set_index("post_id")
        )
    finally:
        con.close()


def test_point_in_time_features_by_hand(warehouse_rows):
    rows = build(warehouse_rows)
    assert list(rows.index) == ["p1", "p2", "p3", "p4"]  # p5 has not settled
    assert not rows.is_synthetic.any()
    assert list(rows.reach) == [1000, 2000, 3000, 500]  # the 72 h collection, not the 24 h or 100 h one
    assert list(rows.likes) == [40, 150, 30, 5]
    assert rows.engagement_rate.tolist() == pytest.approx([0.05, 0.10, 0.01, 0.01])
    assert list(rows.user_followers) == [500, 500, 600, 600]
    assert list(rows.user_settled_posts) == [0, 0, 1, 2]
    assert rows.user_avg_engagement_rate.isna().tolist() == [True, True, False, False]
    assert rows.loc["p3", "user_avg_engagement_rate"] == pytest.approx(0.05)
    assert rows.loc["p4", "user_avg_engagement_rate"] == pytest.approx(0.075)
    assert rows.loc["p4", "user_avg_reach"] == pytest.approx(1500)
    assert rows.loc["p4", "user_avg_likes"] == pytest.approx(95)
    p3 = rows.loc["p3"]
    assert (p3.hour, p3.day_of_week, p3.daypart) == (12, 3, "afternoon")  # 2026-11-05 is a Thursday
    assert (p3.num_hashtags, p3.num_mentions, p3.num_emojis, p3.has_link) == (1, 1, 1, 1)
    assert (p3.post_text_len, p3.post_text_words) == (len("Hello #DuckDB @dagster 🚀 https://example.com"), 5)


def test_later_posts_cannot_change_earlier_rows(warehouse_rows):
    before = build(warehouse_rows)
    con = connect(warehouse_rows)
    # Rewrite every figure of p3 and p4, add followers and a new post after p2 was published.
    con.execute(
        "UPDATE raw.tweet_metrics SET impressions = impressions * 10, likes = likes * 7 WHERE post_id IN ('p3', 'p4')"
    )
    add_followers(con, "u1", "2026-11-05 06:00", 99_999)
    add_post(con, "p6", "u1", "2026-11-05 13:00", 10, likes=10, collected_at=T("2026-11-05 13:00") + H72)
    refresh_post_tables(con)
    con.close()
    after = build(warehouse_rows)
    earlier = ["p1", "p2"]
    columns = [c for c in before.columns if c != "built_at"]
    pd.testing.assert_frame_equal(before.loc[earlier, columns], after.loc[earlier, columns])
    # The changes do reach the later rows, so the comparison above could have failed.
    assert after.loc["p4", "reach"] == 5000
    assert after.loc["p4", "user_followers"] == 99_999
    assert after.loc["p3", "user_followers"] == 99_999


def test_rebuild_is_idempotent(warehouse_rows):
    first = build(warehouse_rows)
    second = build(warehouse_rows)
    columns = [c for c in first.columns if c != "built_at"]
    pd.testing.assert_frame_equal(first[columns], second[columns])


def test_cold_start_rows_are_flagged_and_sized_to_the_threshold(warehouse_rows):
    build(warehouse_rows)
    con = duckdb.connect(warehouse_rows, read_only=True)
    try:
        synthetic = con.execute("SELECT * FROM ml.training_dataset WHERE is_synthetic").df()
    finally:
        con.close()
    # u1 has 4 real settled posts: the generator fills up to the threshold, at u1's own figures.
    assert len(synthetic) == ml.COLD_START_MIN_REAL_ROWS - 4
    assert set(synthetic.user_id) == {"u1"}
    assert set(synthetic.source) == {"synthetic"}
    assert synthetic.published_at.isna().all()  # never in a time-based test set
    assert (synthetic.user_followers == 600).all()  # the newest real row's followers
    assert synthetic.user_avg_engagement_rate.iloc[0] == pytest.approx((0.05 + 0.10 + 0.01 + 0.01) / 4)


def test_bluesky_posts_are_rows_with_likes_and_no_reach(warehouse_rows):
    # A settled Bluesky post: likes known, no impressions, a per-follower rate of (60 + 20) / 800 = 10 %.
    con = connect(warehouse_rows)
    published = T("2026-11-02 08:00")
    add_post(
        con,
        "at://did:plc:b/app.bsky.feed.post/1",
        "b.bsky.social",
        published,
        None,
        likes=60,
        retweets=20,
        collected_at=published + H72,
    )
    con.execute("UPDATE raw.posts SET network = 'bluesky' WHERE post_id LIKE 'at://%'")
    con.execute("UPDATE raw.tweet_metrics SET network = 'bluesky' WHERE post_id LIKE 'at://%'")
    con.execute(
        "INSERT INTO raw.account_snapshots (user_id, collected_at, followers, source, network) "
        "VALUES ('b.bsky.social', '2026-11-01 00:00', 800, 'test', 'bluesky')"
    )
    refresh_post_tables(con)
    rate, basis = con.execute(
        "SELECT engagement_rate_pct, engagement_basis FROM analytics.post_performance WHERE post_id LIKE 'at://%'"
    ).fetchone()
    con.close()
    assert (rate, basis) == (pytest.approx(10.0), "followers")
    real = build(warehouse_rows)
    assert sorted(real.index) == ["at://did:plc:b/app.bsky.feed.post/1", "p1", "p2", "p3", "p4"]
    bluesky = real.loc["at://did:plc:b/app.bsky.feed.post/1"]
    assert (bluesky.network, bluesky.engagement_basis) == ("bluesky", "followers")
    assert pd.isna(bluesky.reach) and pd.isna(bluesky.user_avg_reach)
    assert (bluesky.likes, bluesky.user_followers) == (60, 800)
    assert bluesky.engagement_rate == pytest.approx(0.10)  # per follower
    # The X posts keep their basis, and the Bluesky post changes none of their user figures.
    assert set(real.drop(index=bluesky.name).network) == {"x"}
    assert set(real.drop(index=bluesky.name).engagement_basis) == {"impressions"}
    assert real.loc["p4", "user_avg_engagement_rate"] == pytest.approx(0.075)
    con = duckdb.connect(warehouse_rows, read_only=True)
    try:
        synthetic = con.execute(
            "SELECT user_id, network, engagement_basis, count(*) FROM ml.training_dataset WHERE is_synthetic "
            "GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    # The generator makes X posts: cold-start rows for u1, none made up for the Bluesky account.
    assert synthetic == [("u1", "x", "impressions", ml.COLD_START_MIN_REAL_ROWS - 4)]
