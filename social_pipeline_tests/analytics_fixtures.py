"""Hand-built warehouse rows with known answers for the analytics tests."""

import pandas as pd

from social_pipeline.core.analytics_queries import sql_text

PROFILE_COUNTERS = ("connections_new", "connection_requests", "search_appearances", "inmails_received",
                    "recruiter_messages", "profile_saves", "conversations_started", "interviews_scheduled")


def add_post(con, post_id, user_id, published_at, impressions, likes=0, retweets=0, replies=0, quotes=0,
             content_type="text", text=None, time_known=True, collected_at=None):
    """A post and one metrics collection (by default a day after publication)."""
    published_at = pd.Timestamp(published_at)
    collected_at = pd.Timestamp(collected_at) if collected_at else published_at + pd.Timedelta(days=1)
    con.execute(
        "INSERT INTO raw.posts (post_id, user_id, text, content_type, media_type, num_media_items, published_at, "
        "published_time_known, source, ingested_at) VALUES ($id, $user, $text, $ct, 'none', 0, $at, $known, 'test', $at)",
        {"id": str(post_id), "user": user_id, "text": text or f"post {post_id}", "ct": content_type,
         "at": published_at, "known": time_known},
    )
    con.execute(
        "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes, source, "
        "status, partition_key, written_at) VALUES ($id, $c, $i, $l, $r, $p, $q, 'test', 'ok', $key, $c)",
        {"id": str(post_id), "c": collected_at, "i": impressions, "l": likes, "r": retweets, "p": replies,
         "q": quotes, "key": (collected_at - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")},
    )


def add_profile_day(con, user_id, day, views, **counters):
    values = {c: counters.get(c, 0) for c in PROFILE_COUNTERS}
    con.execute(
        f"INSERT INTO raw.profile_activity (user_id, platform, snapshot_date, profile_views, {', '.join(values)}, "
        f"source_file, ingested_at) VALUES ($user, 'linkedin', $day, $views, {', '.join('$' + c for c in values)}, "
        "'test', now()::TIMESTAMP)",
        {"user": user_id, "day": pd.Timestamp(day).date(), "views": views, **values},
    )


def refresh_post_tables(con):
    """What post_snapshots (full refresh) and post_performance do, with the foundation's SQL."""
    con.execute("CREATE OR REPLACE TEMP TABLE refresh_keys AS SELECT DISTINCT partition_key FROM raw.tweet_metrics")
    con.execute("DELETE FROM analytics.post_snapshots")
    con.execute(f"INSERT INTO analytics.post_snapshots BY NAME {sql_text('post_snapshots')}")
    con.execute(f"CREATE OR REPLACE TABLE analytics.post_performance AS {sql_text('post_performance')}")
    con.execute("DROP TABLE refresh_keys")
