"""Synthetic warehouse histories for the benchmarks: posts x snapshots over users, written
set-based by DuckDB straight into the raw tables (the same schema the pipeline writes)."""

from __future__ import annotations

import contextlib
import sqlite3

import duckdb
import pandas as pd

from social_pipeline.core.collection import PARTITION_KEY_FORMAT
from social_pipeline.warehouse.connection import connect

HISTORY_END = pd.Timestamp("2026-11-16 00:00")  # a Monday: the history holds complete weeks
SNAPSHOT_EVERY_HOURS = 12


def history_days(posts: int) -> int:
    """Longer histories for more posts, so weeks hold realistic numbers of posts."""
    return 35 if posts <= 1_000 else 91 if posts <= 10_000 else 182


def write_history(database: str, posts: int, snapshots_per_post: int, users: int, seed: int = 1) -> dict:
    """Write `posts` posts with `snapshots_per_post` collections each; returns what was written."""
    days = history_days(posts)
    start = HISTORY_END - pd.Timedelta(days=days)
    # Posts publish in the first (days - snapshots * 12 h) of the window, so every snapshot is past.
    publish_span_s = int((days * 24 - snapshots_per_post * SNAPSHOT_EVERY_HOURS) * 3600)
    with connect(database) as con:
        con.execute(f"SELECT setseed({(seed % 100) / 100})")
        params = {"posts": posts, "users": users, "start": start, "span": publish_span_s}
        con.execute(
            """
            INSERT INTO raw.posts (post_id, user_id, text, content_type, media_type, num_media_items, published_at,
                                   published_time_known, source, ingested_at)
            SELECT 'p' || i, 'u' || (i % $users), 'bench post ' || i,
                   ['text', 'image', 'video', 'thread', 'link', 'poll'][1 + (hash(i) % 6)::INT],
                   CASE hash(i) % 6 WHEN 1 THEN 'image' WHEN 2 THEN 'video' ELSE 'none' END,
                   CASE WHEN hash(i) % 6 IN (1, 2) THEN 1 ELSE 0 END,
                   date_trunc('minute', $start + to_seconds((hash(i * 7 + 3) % $span)::BIGINT)),
                   TRUE, 'bench', $start
            FROM range($posts) AS t(i)
        """,
            params,
        )
        con.execute("""
            CREATE TEMP TABLE post_final AS
            SELECT post_id, published_at,
                   (1000 + hash(post_id) % 50000)::BIGINT AS final_impressions,
                   0.01 + (hash(post_id || 'r') % 1000) / 10000.0 AS rate
            FROM raw.posts
        """)
        con.execute(f"""
            INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes,
                                           source, payload, status, partition_key, written_at)
            SELECT post_id, collected_at, impressions,
                   floor(impressions * rate * 0.6)::BIGINT, floor(impressions * rate * 0.2)::BIGINT,
                   floor(impressions * rate * 0.15)::BIGINT, floor(impressions * rate * 0.05)::BIGINT,
                   'bench', NULL, 'ok', strftime(collected_at - INTERVAL 1 HOUR, '{PARTITION_KEY_FORMAT}'), collected_at
            FROM (
                SELECT post_id, rate,
                       date_trunc('hour', published_at) + to_hours(k * {SNAPSHOT_EVERY_HOURS}) AS collected_at,
                       floor(final_impressions * (1 - exp(-k * {SNAPSHOT_EVERY_HOURS} / 24.0)))::BIGINT AS impressions
                FROM post_final, range(1, {snapshots_per_post} + 1) AS s(k)
            )
        """)
        con.execute(
            """
            INSERT INTO raw.account_snapshots (user_id, collected_at, followers, following, post_count, source)
            SELECT 'u' || u, d, 1000 + u * 500 + datediff('day', $start, d) * 3, 100, 0, 'bench'
            FROM range($users) AS t(u), range($start, $end, INTERVAL 1 DAY) AS r(d)
        """,
            {"users": users, "start": start, "end": HISTORY_END},
        )
        con.execute(
            """
            INSERT INTO raw.profile_activity (user_id, platform, snapshot_date, profile_views, connection_requests,
                                              inmails_received, source_file, ingested_at)
            SELECT 'u' || u, 'linkedin', d::DATE, 10 + hash(u, d) % 40, hash(u, d) % 3, hash(u, d) % 2,
                   'bench', $end
            FROM range($users) AS t(u), range($start, $end, INTERVAL 1 DAY) AS r(d)
        """,
            {"users": users, "start": start, "end": HISTORY_END},
        )
        snapshots = con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchall()[0][0]
    return {
        "posts": posts,
        "snapshots": int(snapshots),
        "users": users,
        "days": days,
        "start": start,
        "end": HISTORY_END,
    }


def complete_weeks(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    from social_pipeline.defs.common import complete_weeks as weeks

    return weeks(start, end)


def export_to_sqlite(database: str, sqlite_path: str) -> None:
    """The same raw posts and metrics in a SQLite file, indexed as the seed's schema would be,
    for the seed-style baseline (setup, not timed)."""
    with duckdb.connect(database, read_only=True) as con:
        posts = con.execute(
            "SELECT post_id, user_id, content_type, strftime(published_at, '%Y-%m-%d %H:%M:%S') "
            "AS published_at FROM raw.posts"
        ).df()
        metrics = con.execute(
            "SELECT post_id, strftime(collected_at, '%Y-%m-%d %H:%M:%S') AS collected_at, "
            "impressions, likes, retweets, replies, quotes FROM raw.tweet_metrics"
        ).df()
        profile = con.execute(
            "SELECT user_id, strftime(snapshot_date, '%Y-%m-%d') AS snapshot_date, profile_views "
            "FROM raw.profile_activity"
        ).df()
    with contextlib.closing(sqlite3.connect(sqlite_path)) as lite:
        posts.to_sql("posts", lite, index=False, chunksize=50_000)
        metrics.to_sql("tweet_metrics", lite, index=False, chunksize=50_000)
        profile.to_sql("profile_activity", lite, index=False, chunksize=50_000)
        lite.execute("CREATE INDEX posts_user ON posts (user_id)")
        lite.execute("CREATE INDEX metrics_post ON tweet_metrics (post_id, collected_at)")
        lite.execute("CREATE INDEX profile_user ON profile_activity (user_id, snapshot_date)")
        lite.commit()
