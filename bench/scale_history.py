"""An agency's history for the scale benchmarks: `accounts` accounts posting once a day for `days` days,
each post collected under the real cadence (core/collection.py: hourly while younger than 7 days, daily
at 00:00 UTC to 30 days, weekly on Mondays 00:00 UTC after that), written set-based by DuckDB straight
into the raw tables, a range of accounts at a time so memory stays bounded whatever the size.

Figures are hash-based, so the same arguments write the same rows; cumulative figures grow with the
post's age. Writing again replaces the accounts' rows (idempotent).

`python -m bench.scale_history DATABASE --size 10M` (or `--accounts N --days D`) writes one."""

from __future__ import annotations

import argparse
import json
import time

import duckdb
import pandas as pd

from social_pipeline.core.collection import DAILY_UNTIL_DAYS, HOURLY_UNTIL_DAYS, PARTITION_KEY_FORMAT
from social_pipeline.warehouse.connection import connect, transaction

HISTORY_END = pd.Timestamp("2026-11-16 00:00")  # a Monday: the history holds complete weeks
SOURCE = "bench_scale"
# Snapshots a range of accounts writes at most in one statement (bounds the memory of a write).
CHUNK_SNAPSHOTS = 4_000_000
# Snapshots are written account by account into this table, then moved into raw.tweet_metrics in
# collection order, ORDERED_STRETCH_DAYS of collection times (about 7M snapshots at 100M) per sort.
STAGED_METRICS = "main.scale_metrics_by_account"
ORDERED_STRETCH_DAYS = 30
CONTENT_TYPES = "['text', 'image', 'video', 'thread', 'link', 'poll']"

# History sizes (snapshots, about) -> (accounts, days). From 1M up the agency's 1,000 accounts, so one
# more collection hour is the same new work at every size (the posts younger than 7 days); below, fewer
# accounts. Posts past 30 days stay collected weekly, so 100M needs 460 days of posting.
SIZES: dict[str, tuple[int, int]] = {
    "10k": (10, 10),
    "100k": (100, 10),
    "1M": (1_000, 10),
    "10M": (1_000, 57),
    "100M": (1_000, 460),
}


# The collection times due for one post (`p`, with published_at) up to $end, one list per cadence phase.
_DUE_LISTS_SQL = f"""
    generate_series(date_trunc('hour', p.published_at) + INTERVAL 1 HOUR,
                    date_trunc('hour', p.published_at) + INTERVAL {HOURLY_UNTIL_DAYS * 24} HOUR, INTERVAL 1 HOUR)
    || generate_series(date_trunc('day', p.published_at + INTERVAL {HOURLY_UNTIL_DAYS} DAY) + INTERVAL 1 DAY,
                       p.published_at + INTERVAL {DAILY_UNTIL_DAYS} DAY, INTERVAL 1 DAY)
    || generate_series(date_trunc('week', p.published_at + INTERVAL {DAILY_UNTIL_DAYS} DAY) + INTERVAL 7 DAY,
                       greatest($end, p.published_at + INTERVAL {DAILY_UNTIL_DAYS} DAY), INTERVAL 7 DAY)
"""

# Cumulative figures at an age: a final figure approached as 1 - exp(-age / 24 h), so never decreasing.
_METRICS_SELECT_SQL = f"""
    SELECT post_id, collected_at, impressions,
           floor(impressions * rate * 0.6)::BIGINT AS likes, floor(impressions * rate * 0.2)::BIGINT AS retweets,
           floor(impressions * rate * 0.15)::BIGINT AS replies, floor(impressions * rate * 0.05)::BIGINT AS quotes,
           '{SOURCE}' AS source, NULL AS payload, 'ok' AS status,
           strftime(collected_at - INTERVAL 1 HOUR, '{PARTITION_KEY_FORMAT}') AS partition_key,
           collected_at AS written_at
    FROM (
        SELECT post_id, rate, collected_at,
               floor(final_impressions
                     * (1 - exp(-epoch(collected_at - published_at) / 86400.0)))::BIGINT AS impressions
        FROM due
    )
"""

_METRIC_COLUMNS = (
    "post_id, collected_at, impressions, likes, retweets, replies, quotes, source, payload, status, "
    "partition_key, written_at"
)


def _post_figures_sql(posts: str) -> str:
    """Each post's final impressions (an account's reach times the post's luck) and engagement rate."""
    return f"""
        SELECT post_id, published_at,
               ((1000 + hash(user_id, 'reach') % 50000) * (0.3 + (hash(post_id, 'luck') % 1700) / 1000.0))::BIGINT
                   AS final_impressions,
               0.01 + (hash(post_id, 'rate') % 1000) / 10000.0 AS rate
        FROM {posts}
    """


def write_scale_history(
    database: str, accounts: int, days: int, end: pd.Timestamp = HISTORY_END, chunk_snapshots: int = CHUNK_SNAPSHOTS
) -> dict:
    """Write the history into `database`; returns what was written (counts, start, end, seconds)."""
    if accounts < 1 or days < 1:
        raise ValueError(f"a scale history needs at least one account and one day: accounts={accounts}, days={days}")
    end = pd.Timestamp(end)
    start = end - pd.Timedelta(days=days)
    per_account = days * (HOURLY_UNTIL_DAYS * 24 + DAILY_UNTIL_DAYS + days // 7)
    chunk_accounts = max(1, chunk_snapshots // per_account)
    started = time.perf_counter()
    with connect(database) as con:
        con.execute(f"CREATE OR REPLACE TABLE {STAGED_METRICS} AS SELECT * FROM raw.tweet_metrics LIMIT 0")
        for first in range(0, accounts, chunk_accounts):
            last = min(accounts, first + chunk_accounts)
            with transaction(con):
                _write_accounts(con, first, last, days, start, end)
        _append_in_collection_order(con, start, end)
        with transaction(con):
            _write_follower_figures(con, accounts, start, end)
    return {
        **history_counts(database),
        "accounts": accounts,
        "days": days,
        "start": start,
        "end": end,
        "seconds": time.perf_counter() - started,
    }


def _append_in_collection_order(con: duckdb.DuckDBPyConnection, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Move the staged snapshots into raw.tweet_metrics a stretch of collection times at a time, each sorted,
    so the table lies in collection order as hourly collections append it: DuckDB then skips the row groups
    a query's time bounds rule out, as it does on a real warehouse."""
    for stretch_start in pd.date_range(start, end, freq=f"{ORDERED_STRETCH_DAYS}D"):
        with transaction(con):
            con.execute(
                f"INSERT INTO raw.tweet_metrics ({_METRIC_COLUMNS}) SELECT {_METRIC_COLUMNS} FROM {STAGED_METRICS} "
                "WHERE written_at >= $start AND written_at < $end ORDER BY written_at, post_id",
                {"start": stretch_start, "end": stretch_start + pd.Timedelta(days=ORDERED_STRETCH_DAYS)},
            )
    con.execute(f"DROP TABLE {STAGED_METRICS}")


# Each account's followers at a time: its own start and growth rate, the same formula for the history
# and for each collection hour after it. `a` is the account's number (user id `u<a>`).
_FOLLOWERS_SQL = (
    "1000 + hash(a, 'followers') % 100000 "
    "+ (date_diff('hour', TIMESTAMP '2020-01-01', collected_at) * (1 + hash(a, 'growth') % 20)) // 24"
)


def _write_follower_figures(con: duckdb.DuckDBPyConnection, accounts: int, start, end) -> None:
    """Every account's follower figures each hour, as the hourly collection (raw_account_snapshots) writes
    them, in time order as those runs append them."""
    con.execute(f"DELETE FROM raw.account_snapshots WHERE source = '{SOURCE}'")
    con.execute(
        f"""
        INSERT INTO raw.account_snapshots (user_id, collected_at, followers, following, post_count, source)
        SELECT 'u' || a, collected_at, {_FOLLOWERS_SQL}, 100, date_diff('day', $start, collected_at) + 1,
               '{SOURCE}'
        FROM range($accounts) AS t(a), generate_series($first_hour, $end, INTERVAL 1 HOUR) AS g(collected_at)
        ORDER BY collected_at, a
        """,
        {"accounts": accounts, "start": start, "first_hour": start + pd.Timedelta(hours=1), "end": end},
    )


def _write_accounts(
    con: duckdb.DuckDBPyConnection, first: int, last: int, days: int, start: pd.Timestamp, end: pd.Timestamp
) -> None:
    params = {"first": first, "last": last, "days": days, "start": start}
    users = "(SELECT 'u' || a FROM range($first, $last) AS t(a))"
    con.execute(
        f"DELETE FROM raw.tweet_metrics WHERE source = '{SOURCE}' AND post_id IN "
        f"(SELECT post_id FROM raw.posts WHERE source = '{SOURCE}' AND user_id IN {users})",
        {"first": first, "last": last},
    )
    for table in ("raw.posts", "raw.accounts"):
        con.execute(
            f"DELETE FROM {table} WHERE source = '{SOURCE}' AND user_id IN {users}", {"first": first, "last": last}
        )
    con.execute(
        f"DELETE FROM raw.profile_activity WHERE source_file = '{SOURCE}' AND user_id IN {users}",
        {"first": first, "last": last},
    )
    # One post a day per account: mostly in working hours (7:00-20:59 UTC), one in ten at any hour.
    con.execute(
        f"""
        INSERT INTO raw.posts (post_id, user_id, text, content_type, media_type, num_media_items, published_at,
                               published_time_known, source, ingested_at)
        SELECT 'p' || a || '_' || d, 'u' || a, 'bench post ' || a || '_' || d,
               {CONTENT_TYPES}[1 + (hash(a, d, 'type') % 6)::INT],
               CASE hash(a, d, 'type') % 6 WHEN 1 THEN 'image' WHEN 2 THEN 'video' ELSE 'none' END,
               CASE WHEN hash(a, d, 'type') % 6 IN (1, 2) THEN 1 ELSE 0 END,
               $start + to_days(d::INT)
                   + to_hours((CASE WHEN hash(a, d, 'night') % 10 = 0 THEN hash(a, d, 'hour') % 24
                               ELSE 7 + hash(a, d, 'hour') % 14 END)::BIGINT)
                   + to_minutes((hash(a, d, 'minute') % 60)::BIGINT),
               TRUE, '{SOURCE}', $start + to_days(d::INT)
        FROM range($first, $last) AS t(a), range($days) AS r(d)
        """,
        params,
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE scale_posts AS {_post_figures_sql(f"raw.posts WHERE source = '{SOURCE}'")}
            AND user_id IN {users}
        """,
        {"first": first, "last": last},
    )
    con.execute(
        f"""
        INSERT INTO {STAGED_METRICS} ({_METRIC_COLUMNS})
        WITH due AS (
            SELECT * FROM (
                SELECT p.post_id, p.published_at, p.final_impressions, p.rate,
                       unnest({_DUE_LISTS_SQL}) AS collected_at
                FROM scale_posts AS p
            )
            WHERE collected_at <= $end
        )
        {_METRICS_SELECT_SQL}
        """,
        {"end": end},
    )
    con.execute("DROP TABLE scale_posts")
    # Profile activity daily, every account read in UTC (followers: _write_follower_figures).
    con.execute(
        f"""
        INSERT INTO raw.profile_activity (user_id, platform, snapshot_date, profile_views, connection_requests,
                                          inmails_received, source_file, ingested_at)
        SELECT 'u' || a, 'linkedin', ($start + to_days(d::INT))::DATE, 10 + hash(a, d) % 40, hash(a, d) % 3,
               hash(a, d) % 2, '{SOURCE}', $end
        FROM range($first, $last) AS t(a), range($days) AS r(d)
        """,
        {**params, "end": end},
    )
    con.execute(
        f"INSERT INTO raw.accounts (user_id, timezone, source, updated_at) "
        f"SELECT 'u' || a, 'UTC', '{SOURCE}', $end FROM range($first, $last) AS t(a)",
        {"first": first, "last": last, "end": end},
    )


def write_collection_hour(con: duckdb.DuckDBPyConnection, collected_at: pd.Timestamp) -> int:
    """One more hourly collection at `collected_at`: a snapshot for every scale post the cadence has due
    then (core/collection.py's is_due, with the figures the history's formula gives at that age).
    Returns the snapshots written."""
    collected_at = pd.Timestamp(collected_at)
    written = con.execute(
        f"""
        INSERT INTO raw.tweet_metrics ({_METRIC_COLUMNS})
        WITH due AS (
            SELECT p.*, $at AS collected_at
            FROM ({_post_figures_sql(f"raw.posts WHERE source = '{SOURCE}'")}) AS p
            WHERE p.published_at < $at
              AND (p.published_at >= $at - INTERVAL {HOURLY_UNTIL_DAYS} DAY
                   OR (hour($at) = 0 AND p.published_at >= $at - INTERVAL {DAILY_UNTIL_DAYS} DAY)
                   OR (hour($at) = 0 AND isodow($at) = 1))
        )
        {_METRICS_SELECT_SQL}
        """,
        {"at": collected_at},
    ).fetchall()
    # The hour's follower figures, one per scale account, as raw_account_snapshots writes them.
    con.execute(
        f"""
        INSERT INTO raw.account_snapshots (user_id, collected_at, followers, following, post_count, source)
        SELECT user_id, collected_at, {_FOLLOWERS_SQL}, 100, NULL, '{SOURCE}'
        FROM (SELECT DISTINCT user_id, substr(user_id, 2)::BIGINT AS a, $at AS collected_at
              FROM raw.posts WHERE source = '{SOURCE}')
        """,
        {"at": collected_at},
    )
    return int(written[0][0])


def history_counts(database: str) -> dict:
    with connect(database, read_only=True) as con:
        posts, snapshots = con.execute(
            f"SELECT (SELECT count(*) FROM raw.posts WHERE source = '{SOURCE}'), "
            f"(SELECT count(*) FROM raw.tweet_metrics WHERE source = '{SOURCE}')"
        ).fetchall()[0]
    return {"posts": int(posts), "snapshots": int(snapshots)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a scale history into a DuckDB warehouse.")
    parser.add_argument("database")
    parser.add_argument("--size", choices=list(SIZES))
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--days", type=int)
    args = parser.parse_args(argv)
    accounts, days = SIZES[args.size] if args.size else (args.accounts, args.days)
    if accounts is None or days is None:
        parser.error("give --size, or --accounts and --days")
    print(json.dumps(write_scale_history(args.database, accounts, days), default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
