"""The scale history: the real cadence's collection times, counts per post, figures that never decrease,
the same rows when written again, and one more collection hour."""

import duckdb
import pandas as pd
import pytest

from bench.scale_history import HISTORY_END, write_collection_hour, write_scale_history
from social_pipeline.core.collection import is_due
from social_pipeline.warehouse.connection import connect


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    database = str(tmp_path_factory.mktemp("scale") / "scale.duckdb")
    # 2 accounts a range: the 3 accounts take two ranges.
    written = write_scale_history(database, accounts=3, days=40, chunk_snapshots=2 * 40 * (168 + 30 + 40 // 7))
    return database, written


def _collections(database: str, post_id: str) -> list[pd.Timestamp]:
    with duckdb.connect(database, read_only=True) as con:
        rows = con.execute(
            "SELECT collected_at FROM raw.tweet_metrics WHERE post_id = $p ORDER BY collected_at", {"p": post_id}
        ).fetchall()
    return [pd.Timestamp(r[0]) for r in rows]


def test_one_posts_collections_follow_the_cadence_by_hand(small):
    database, _ = small
    with duckdb.connect(database, read_only=True) as con:
        published = con.execute("SELECT published_at FROM raw.posts WHERE post_id = 'p1_0'").fetchall()[0][0]
    assert pd.Timestamp(published) == pd.Timestamp("2026-10-07 16:59")
    hourly = list(pd.date_range("2026-10-07 17:00", "2026-10-14 16:00", freq="h"))  # age 1 min .. 6 d 23 h 01
    daily = list(pd.date_range("2026-10-15 00:00", "2026-11-06 00:00", freq="D"))  # age 7 d 7 h .. 29 d 7 h
    weekly = [pd.Timestamp("2026-11-09"), pd.Timestamp("2026-11-16")]  # Mondays past 30 days, to the end
    assert (len(hourly), len(daily)) == (168, 23)
    assert _collections(database, "p1_0") == hourly + daily + weekly


def test_every_post_has_the_collections_is_due_gives(small):
    database, written = small
    hours = pd.date_range(written["start"], written["end"], freq="h")
    with duckdb.connect(database, read_only=True) as con:
        posts = con.execute("SELECT post_id, published_at FROM raw.posts ORDER BY post_id").fetchall()
        counts = dict(con.execute("SELECT post_id, count(*) FROM raw.tweet_metrics GROUP BY post_id").fetchall())
    assert len(posts) == 3 * 40 == written["posts"]
    for post_id, published in posts[::7]:
        expected = [h for h in hours if is_due(published, h)]
        assert _collections(database, post_id) == expected, post_id
    # Young posts only hourly: the one published on the last day has at most 24 collections.
    assert counts["p0_39"] <= 24 and counts["p0_0"] == 168 + 23 + len(
        pd.date_range("2026-11-09", HISTORY_END, freq="7D")
    )
    assert sum(counts.values()) == written["snapshots"]


def test_figures_never_decrease_with_age(small):
    database, _ = small
    with duckdb.connect(database, read_only=True) as con:
        decreases, zero_rows, positive_finals = con.execute("""
            SELECT count(*) FILTER (WHERE impressions < prev_impressions OR likes < prev_likes
                                     OR retweets < prev_retweets OR replies < prev_replies),
                   count(*) FILTER (WHERE impressions IS NULL),
                   count(DISTINCT post_id) FILTER (WHERE impressions > 0)
            FROM (SELECT *, lag(impressions) OVER w AS prev_impressions, lag(likes) OVER w AS prev_likes,
                         lag(retweets) OVER w AS prev_retweets, lag(replies) OVER w AS prev_replies
                  FROM raw.tweet_metrics WINDOW w AS (PARTITION BY post_id ORDER BY collected_at))
        """).fetchall()[0]
    assert (decreases, zero_rows, positive_finals) == (0, 0, 120)


def test_writing_again_gives_the_same_rows(small, tmp_path):
    database, written = small
    again = str(tmp_path / "again.duckdb")
    write_scale_history(again, accounts=3, days=40)
    write_scale_history(again, accounts=3, days=40)  # twice: replaces, adds nothing
    checksum = (
        "SELECT count(*), sum(hash(post_id, collected_at, impressions, likes, retweets, replies, quotes, "
        "partition_key)) FROM raw.tweet_metrics"
    )
    others = "SELECT (SELECT count(*) FROM raw.posts), (SELECT count(*) FROM raw.account_snapshots), " + (
        "(SELECT count(*) FROM raw.profile_activity), (SELECT count(*) FROM raw.accounts)"
    )
    with duckdb.connect(database, read_only=True) as a, duckdb.connect(again, read_only=True) as b:
        assert a.execute(checksum).fetchall() == b.execute(checksum).fetchall()
        # Follower figures hourly, as the hourly collection writes them: 3 accounts x 40 days x 24 hours.
        assert a.execute(others).fetchall() == b.execute(others).fetchall() == [(120, 3 * 40 * 24, 120, 3)]
    assert a is not b and written["snapshots"] > 0


def test_one_more_collection_hour_writes_the_posts_due_then(small, tmp_path):
    database, _ = small
    copy = str(tmp_path / "copy.duckdb")
    write_scale_history(copy, accounts=3, days=40)
    at = HISTORY_END + pd.Timedelta(hours=1)
    with connect(copy) as con:
        written = write_collection_hour(con, at)
        posts = con.execute("SELECT post_id, published_at FROM raw.posts").fetchall()
        new = con.execute(
            "SELECT m.post_id, m.impressions >= (SELECT max(impressions) FROM raw.tweet_metrics o "
            "WHERE o.post_id = m.post_id AND o.collected_at < m.collected_at), partition_key "
            "FROM raw.tweet_metrics m WHERE collected_at = $at",
            {"at": at},
        ).fetchall()
        # The hour's follower figures: one per account, continuing each account's growth.
        figures = con.execute(
            "SELECT user_id, followers - (SELECT followers FROM raw.account_snapshots o WHERE o.user_id = a.user_id "
            "AND o.collected_at = $at - INTERVAL 1 HOUR) FROM raw.account_snapshots a WHERE collected_at = $at "
            "ORDER BY user_id",
            {"at": at},
        ).fetchall()
    assert [user for user, _ in figures] == ["u0", "u1", "u2"] and all(0 <= gain <= 1 for _, gain in figures)
    due = sorted(p for p, published in posts if is_due(published, at))
    assert written == len(due) == len(new) and 3 * 6 <= written <= 3 * 8  # the posts younger than 7 days
    assert sorted(p for p, _, _ in new) == due
    assert all(grew for _, grew, _ in new) and {k for _, _, k in new} == {"2026-11-16-00:00"}


def test_the_raw_rows_lie_in_collection_order_as_hourly_collections_append_them(small):
    """Written account by account, the rows would interleave the whole history in every stretch of the
    table; in collection order DuckDB can skip the row groups a query's time bounds rule out."""
    database, written = small
    with duckdb.connect(database, read_only=True) as con:
        out_of_order = con.execute(
            "SELECT count(*) FROM (SELECT written_at < lag(written_at) OVER (ORDER BY rowid) AS earlier "
            "FROM raw.tweet_metrics) WHERE earlier"
        ).fetchall()[0][0]
        staged = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'scale_metrics_by_account'"
        ).fetchall()[0][0]
        rows = con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchall()[0][0]
        figures_out_of_order = con.execute(
            "SELECT count(*) FROM (SELECT collected_at < lag(collected_at) OVER (ORDER BY rowid) AS earlier "
            "FROM raw.account_snapshots) WHERE earlier"
        ).fetchall()[0][0]
    assert out_of_order == figures_out_of_order == 0
    assert staged == 0  # the staging table is gone
    assert rows == written["snapshots"]
