"""Write a LinkedIn download (core/linkedin_exports.py) into the raw.linkedin_* tables, in one transaction.

LinkedIn's files do not say whose account they are: the account is the handle given with
`social-pipeline ingest --account HANDLE` or the inbox subfolder the file was dropped in
(`inbox/<handle>/`); without one the file is rejected and nothing is written.

Idempotent like every import (set-based, inside DuckDB):
* connections, messages and invitations are only added: a row whose key (below) is stored for the
  account is not written again, so re-ingesting an archive writes nothing and a newer one adds only
  its new rows;
* a workbook's posts are a time series: a post whose figures equal a stored row's writes nothing,
  other figures are a further row at the workbook's time (as X re-downloads do);
* a workbook's days replace the stored days they cover when their figures differ.

A workbook's posts are also posts of the `linkedin` network in the shared post tables (raw.posts, and a
raw.tweet_metrics row for each new or changed figure, with the stated engagements as a total), keyed by
their activity URN (`urn:li:activity:...`) so they never collide with X ids; its daily followers are the
account's raw.account_snapshots rows of that network, counted back and forward from the stated total.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from social_pipeline.core.collection import PARTITION_KEY_FORMAT
from social_pipeline.core.exports import ExportError
from social_pipeline.core.linkedin_exports import LinkedInFile, looks_like_linkedin, parse_linkedin_file
from social_pipeline.core.schema import TABLES as TABLE_DEFINITIONS
from social_pipeline.core.timezones import store_account_timezones
from social_pipeline.sources.ingest_ledger import IngestOutcome, already_ingested
from social_pipeline.warehouse.write_conflicts import write_transaction

# What makes a row the same row in a later archive (besides the account).
ROW_KEYS = {
    "connections": ("first_name", "last_name", "profile_url", "connected_on"),
    "messages": ("conversation_id", "sent_at", "sender", "content"),
    "invitations": ("sender", "recipient", "sent_at", "direction"),
}
POST_FIGURES = ("impressions", "engagements")
DAILY_FIGURES = ("impressions", "engagements", "new_followers", "total_followers")
TABLES = (
    "raw.linkedin_connections",
    "raw.linkedin_messages",
    "raw.linkedin_invitations",
    "raw.linkedin_post_metrics",
    "raw.linkedin_daily",
    "ops.ingested_files",
    "raw.accounts",
    "raw.posts",
    "raw.tweet_metrics",
    "raw.account_snapshots",
)
NETWORK = "linkedin"
# Weekly analytics are rebuilt for new rows of at most this long before the ingestion (an archive
# holds connections from many years back; the recruiter figures look 30 days back).
REFRESH_DAYS = 90
NO_ACCOUNT = (
    "LinkedIn's files do not say whose account they are: ingest it with `social-pipeline ingest "
    "--account HANDLE FILE`, or drop it into the inbox subfolder named after the handle "
    "(inbox/<handle>/)"
)


def _same(columns, left: str = "t", right: str = "i") -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in columns)


def _stage(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, extra: dict, name: str) -> None:
    """`frame` plus `extra` as the temp table `name`, each column cast to `table`'s type (a column the
    file left all blank would otherwise come in untyped)."""
    frame = frame.assign(**extra)
    con.register("incoming_frame", frame)
    casts = ", ".join(
        f"CAST({column} AS {sql_type.replace(' NOT NULL', '')}) AS {column}"
        for column, sql_type in TABLE_DEFINITIONS[table]
        if column in frame.columns
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {casts} FROM incoming_frame")
    con.unregister("incoming_frame")


def _add_rows(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, extra: dict) -> int:
    """Insert the rows whose key is not stored for the account; returns how many."""
    if frame.empty:
        return 0
    table = f"raw.linkedin_{name}"
    _stage(con, table, frame, extra, "incoming_rows")
    inserted = con.execute(
        f"""
        INSERT INTO {table} BY NAME
        SELECT * FROM incoming_rows AS i
        WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t.user_id = i.user_id AND {_same(ROW_KEYS[name])})
        QUALIFY row_number() OVER (PARTITION BY {", ".join(ROW_KEYS[name])}) = 1
        """
    ).fetchone()
    assert inserted is not None  # an INSERT reports how many rows it wrote
    written = inserted[0]
    con.execute("DROP TABLE incoming_rows")
    return int(written)


def _write_shared_posts(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """The new and changed posts of the temp table post_changes as posts of the `linkedin` network: a
    raw.posts row when the post is new there, a raw.tweet_metrics snapshot for each new or changed figure."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE linkedin_posts AS
        SELECT COALESCE('urn:li:activity:' || nullif(regexp_extract(post_url, 'activity[:-]([0-9]+)', 1), ''),
                        post_url) AS post_id, *
        FROM post_changes WHERE change <> 'unchanged'
        """
    )
    con.execute(
        """
        INSERT INTO raw.posts BY NAME
        SELECT post_id, user_id, published_on::TIMESTAMP AS published_at, FALSE AS published_time_known,
               $source AS source, ingested_at, $network AS network
        FROM linkedin_posts AS i
        WHERE published_on IS NOT NULL AND NOT EXISTS (SELECT 1 FROM raw.posts AS t WHERE t.post_id = i.post_id)
        """,
        {"source": source, "network": NETWORK},
    )
    con.execute(
        """
        INSERT INTO raw.tweet_metrics BY NAME
        SELECT post_id, collected_at, impressions, engagements, $source AS source,
               strftime(date_trunc('hour', collected_at), $key_format) AS partition_key,
               ingested_at AS written_at, $network AS network
        FROM linkedin_posts WHERE post_id IN (SELECT post_id FROM raw.posts)
        """,
        {"source": source, "network": NETWORK, "key_format": PARTITION_KEY_FORMAT},
    )
    con.execute("DROP TABLE linkedin_posts")


def _write_followers(con: duckdb.DuckDBPyConnection, account: str, source: str) -> None:
    """The account's daily followers (raw.linkedin_daily) as its raw.account_snapshots rows of the `linkedin`
    network, rebuilt: the newest stated total, less the new followers of the days after each earlier day (plus
    those up to each later day). Nothing without a stated total."""
    con.execute(
        "DELETE FROM raw.account_snapshots WHERE user_id = $account AND network = $network AND source = $source",
        {"account": account, "network": NETWORK, "source": source},
    )
    con.execute(
        """
        INSERT INTO raw.account_snapshots BY NAME
        WITH days AS (
            SELECT day, total_followers, sum(COALESCE(new_followers, 0)) OVER (ORDER BY day) AS running
            FROM raw.linkedin_daily WHERE user_id = $account
        ),
        anchor AS (SELECT max_by(total_followers, day) AS total, max_by(running, day) AS running
                   FROM days WHERE total_followers IS NOT NULL)
        SELECT $account AS user_id, d.day::TIMESTAMP AS collected_at, a.total + d.running - a.running AS followers,
               $source AS source, $network AS network
        FROM days AS d CROSS JOIN anchor AS a
        WHERE a.total IS NOT NULL
        """,
        {"account": account, "network": NETWORK, "source": source},
    )


def _write_posts(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, extra: dict, source: str) -> dict[str, int]:
    if frame.empty:
        return {"new": 0, "updated": 0}
    _stage(con, "raw.linkedin_post_metrics", frame, extra, "incoming_posts")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE post_changes AS
        SELECT i.*,
               CASE WHEN NOT EXISTS (SELECT 1 FROM raw.linkedin_post_metrics AS t
                                     WHERE t.user_id = i.user_id AND t.post_url = i.post_url) THEN 'new'
                    WHEN EXISTS (SELECT 1 FROM raw.linkedin_post_metrics AS t
                                 WHERE t.user_id = i.user_id AND t.post_url = i.post_url AND {_same(POST_FIGURES)})
                    THEN 'unchanged'
                    ELSE 'updated' END AS change
        FROM incoming_posts AS i
        """
    )
    con.execute("DROP TABLE incoming_posts")
    _write_shared_posts(con, source)
    return _insert_changes(con, "raw.linkedin_post_metrics", "post_changes")


def _insert_changes(con: duckdb.DuckDBPyConnection, table: str, changes: str) -> dict[str, int]:
    """Insert the new and updated rows of the temp table `changes` (a `change` column says which) into `table`."""
    con.execute(f"INSERT INTO {table} BY NAME SELECT * EXCLUDE (change) FROM {changes} WHERE change <> 'unchanged'")
    counts = dict(con.execute(f"SELECT change, count(*) FROM {changes} GROUP BY ALL").fetchall())
    con.execute(f"DROP TABLE {changes}")
    return {"new": int(counts.get("new", 0)), "updated": int(counts.get("updated", 0))}


def _write_daily(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, extra: dict) -> dict[str, int]:
    if frame.empty:
        return {"new": 0, "updated": 0}
    _stage(con, "raw.linkedin_daily", frame, extra, "incoming_days")
    # A workbook states the follower total for one day only: a later one keeps the stored total.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE day_changes AS
        SELECT i.* REPLACE (COALESCE(i.total_followers, t.total_followers) AS total_followers),
               CASE WHEN t.day IS NULL THEN 'new'
                    WHEN {_same(DAILY_FIGURES[:3])}
                         AND (i.total_followers IS NULL OR i.total_followers = t.total_followers) THEN 'unchanged'
                    ELSE 'updated' END AS change
        FROM incoming_days AS i
        LEFT JOIN raw.linkedin_daily AS t ON t.user_id = i.user_id AND t.day = i.day
        """
    )
    con.execute("DROP TABLE incoming_days")
    con.execute(
        "DELETE FROM raw.linkedin_daily AS t USING day_changes AS i "
        "WHERE i.change = 'updated' AND t.user_id = i.user_id AND t.day = i.day"
    )
    return _insert_changes(con, "raw.linkedin_daily", "day_changes")


def _earliest_day(parsed: LinkedInFile, now: pd.Timestamp) -> pd.Timestamp | None:
    days = [
        pd.to_datetime(parsed.connections["connected_on"]),
        parsed.messages["sent_at"],
        parsed.invitations["sent_at"],
        pd.to_datetime(parsed.posts["published_on"]),
        pd.to_datetime(parsed.daily["day"]),
    ]
    earliest = min((d.min() for d in days if len(d)), default=None)
    if earliest is None or pd.isna(earliest):
        return None
    return max(pd.Timestamp(earliest).normalize(), (now - pd.Timedelta(days=REFRESH_DAYS)).normalize())


def _write(
    con: duckdb.DuckDBPyConnection,
    parsed: LinkedInFile,
    path: Path,
    sha: str,
    account: str,
    now: pd.Timestamp,
    collected_at: pd.Timestamp,
) -> dict[str, int]:
    extra = {"user_id": account, "source_file": path.name, "ingested_at": now}
    added = sum(_add_rows(con, name, getattr(parsed, name), extra) for name in ROW_KEYS)
    daily = parsed.daily.assign(total_followers=pd.Series(pd.NA, index=parsed.daily.index, dtype="Int64"))
    if parsed.total_followers is not None:
        assert parsed.total_followers_on is not None  # the total is read with its date
        on = parsed.total_followers_on.date()
        daily.loc[daily["day"] == on, "total_followers"] = parsed.total_followers
        if not (daily["day"] == on).any():
            daily = pd.concat(
                [daily, pd.DataFrame([{"day": on, "total_followers": parsed.total_followers}])], ignore_index=True
            )
    posts = _write_posts(con, parsed.posts, {**extra, "collected_at": collected_at}, parsed.kind)
    days = _write_daily(con, daily, extra)
    if len(daily):
        _write_followers(con, account, parsed.kind)
    changes = {"new": added + posts["new"] + days["new"], "updated": posts["updated"] + days["updated"]}
    rows = parsed.rows - len(parsed.daily) + len(daily)  # with the day that only states the follower total
    changes["unchanged"] = rows - changes["new"] - changes["updated"]
    con.execute(
        "INSERT INTO ops.ingested_files BY NAME SELECT $sha AS content_sha256, $name AS file_name, $path AS path, "
        "$kind AS kind, $rows AS rows, $snapshot AS snapshot_time, $now AS ingested_at, "
        "$new AS rows_new, $updated AS rows_updated, $unchanged AS rows_unchanged",
        {
            "sha": sha,
            "name": path.name,
            "path": str(path),
            "kind": parsed.kind,
            "rows": rows,
            "snapshot": collected_at if len(parsed.posts) else None,
            "now": now,
            **changes,
        },
    )
    return changes


def ingest_if_linkedin(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    content: bytes,
    sha: str,
    account: str | None,
    now: pd.Timestamp,
    modified_at: pd.Timestamp | None,
    account_timezones: dict[str, str] | None = None,
) -> IngestOutcome | None:
    """Ingest `content` when it is one of LinkedIn's downloads; None when it is not (another kind of file).
    `account_timezones` (the configured zones) go to raw.accounts in the file's transaction."""
    try:
        if not looks_like_linkedin(content):
            return None
        parsed = parse_linkedin_file(content, now)
    except ExportError as exc:
        return IngestOutcome(path, "rejected", sha, message=str(exc))
    account = (account or "").strip().lstrip("@").lower()
    if not account:
        return IngestOutcome(path, "rejected", sha, parsed.kind, message=NO_ACCOUNT)
    if parsed.rows == 0:
        return IngestOutcome(
            path, "empty", sha, parsed.kind, notes=parsed.notes, message="the file has a header but no rows"
        )
    collected_at = min(pd.Timestamp(modified_at or now), pd.Timestamp(now)).floor("min")

    def write_file(con):
        earlier = already_ingested(con, sha)  # another writer may have been first
        if earlier:
            return earlier, None
        store_account_timezones(con, account_timezones or {}, parsed.kind, now)
        return None, _write(con, parsed, path, sha, account, now, collected_at)

    earlier, changes = write_transaction(con, write_file, f"ingest {path.name}", claims=TABLES)
    if earlier:
        return IngestOutcome(path, "duplicate", sha, message=earlier)
    assert changes is not None  # written, as no other writer was first
    written = changes["new"] + changes["updated"]
    return IngestOutcome(
        path,
        "ingested",
        sha,
        parsed.kind,
        written,
        changes["new"],
        changes["updated"],
        changes["unchanged"],
        snapshot_time=collected_at if len(parsed.posts) else None,
        users=[account],
        notes=parsed.notes,
        earliest_day=_earliest_day(parsed, now) if written else None,
    )
