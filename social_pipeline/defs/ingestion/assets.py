"""Group `ingestion`: raw posts, metrics, account snapshots and profile activity into DuckDB."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from social_pipeline.core.clock import utc_now
from social_pipeline.core.collection import PARTITION_KEY_FORMAT, live_collection_refusal
from social_pipeline.core.metrics import sanitize_counts
from social_pipeline.core.sql_files import scalar, sql_loader
from social_pipeline.core.timezones import store_account_timezones
from social_pipeline.defs.common import (
    HOURLY_PARTITIONS,
    SINGLE_RUN,
    WAREHOUSE_POOL,
    AssetOptions,
    asset_labels,
    code_version,
    partition_range,
    table_definition_metadata,
    table_metadata,
)
from social_pipeline.defs.ingestion.x_usage import apply_budget, record_x_usage
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.sources import SourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.inbox_files import HANDLED_FOLDERS, IngestOutcome, account_of, process_inbox_file, settle
from social_pipeline.sources.protocol import with_network
from social_pipeline.warehouse.connection import is_lock_error, wait_until_unlocked
from social_pipeline.warehouse.write_conflicts import write_transaction

sql = sql_loader(__file__)

COLLECTION = AssetOptions(
    group_name="ingestion",
    partitions_def=HOURLY_PARTITIONS,
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    **asset_labels("data_platform", "raw", "hourly"),
)
# Catch-up assets: each run appends what is new since the last one, up to the source's now.
# One hourly-partitioned asset per collection keeps Dagster's per-partition bookkeeping
# (two events per asset and partition) small enough for fast history backfills.
CATCH_UP = AssetOptions(
    group_name="ingestion",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    **asset_labels("data_platform", "raw", "hourly"),
)


def _catch_up_start(con, query: str, params: dict, fallback: pd.Timestamp) -> pd.Timestamp:
    last = scalar(con, query, params)
    return pd.Timestamp(last) if last is not None else fallback


def _collection_times(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Each hourly partition is collected when its hour closes: start+1h, ..., end."""
    return pd.date_range(start + pd.Timedelta(hours=1), end, freq="h")


def _partition_keys(collected_at: pd.Series) -> pd.Series:
    return (pd.to_datetime(collected_at) - pd.Timedelta(hours=1)).dt.strftime(PARTITION_KEY_FORMAT)


@dg.asset(
    description="Posts as the source reports them, fetched since the newest one stored (a first run "
    "goes back `history_days`). Append-only: a post already stored is never rewritten.",
    metadata=table_definition_metadata("raw.posts"),
    code_version=code_version("1"),
    **CATCH_UP,
)
def raw_posts(context: dg.AssetExecutionContext, source: SourceResource, warehouse: WarehouseResource):
    src = source.get_source()
    now = source.now()
    with warehouse.get_connection() as con:
        # After a fetch that failed part-way, from where that one started: its stored pages are the newest.
        start = _catch_up_start(
            con,
            """SELECT coalesce((SELECT min(fetched_from) FROM ops.unfinished_post_fetches WHERE source = $source),
                               (SELECT max(published_at) FROM raw.posts WHERE source = $source))""",
            {"source": src.name},
            now - pd.Timedelta(days=source.history_days),
        )
        apply_budget(con, source, src, context.run.run_id)
    failure = None
    warehouse.release()  # the fetch may wait on the network: the file is free meanwhile
    try:
        posts = src.fetch_posts(src.user_ids(), start, now)
    except Exception as exc:
        # A live source that fails mid-way hands over the pages it already fetched: store them.
        posts, failure = getattr(exc, "partial_posts", None), exc
        if posts is None:
            raise
    posts = with_network(posts).assign(source=src.name, ingested_at=utc_now())

    def write_posts(con):
        fetch = {"source": src.name, "start": start}
        if failure is None:
            con.execute(
                "DELETE FROM ops.unfinished_post_fetches WHERE source = $source AND fetched_from >= $start", fetch
            )
        else:
            con.execute(
                "INSERT INTO ops.unfinished_post_fetches (source, fetched_from, posts_kept, problem, "
                "failed_at) VALUES ($source, $start, $kept, $problem, $now)",
                {**fetch, "kept": len(posts), "problem": str(failure)[:2000], "now": utc_now()},
            )
        con.register("incoming_posts", posts)
        con.execute(
            """
            INSERT INTO raw.posts BY NAME
            SELECT post_id::VARCHAR AS post_id, user_id, text, content_type, media_type,
                   num_media_items, published_at, published_time_known, source, ingested_at, network
            FROM incoming_posts
            WHERE post_id::VARCHAR NOT IN (SELECT post_id FROM raw.posts)
            """
        )
        con.unregister("incoming_posts")
        # The run stamps its rows with one ingested_at (none when nothing was fetched: NaT matches nothing).
        meta = table_metadata(
            con,
            "raw.posts",
            "ingested_at = $ingested_at",
            {"ingested_at": posts["ingested_at"].max()},
            order_by="published_at DESC",
        )
        return {**meta, **record_x_usage(con, src, context.run.run_id)}

    with warehouse.get_connection() as con:
        meta = write_transaction(con, write_posts, "raw.posts")
    meta["fetched_since"] = dg.MetadataValue.text(str(start))
    if failure is not None:
        raise dg.Failure(
            description=f"{failure} ({len(posts)} posts fetched before the failure are stored; the "
            f"next run fetches again from {start}, so none in between are skipped)",
            metadata=meta,
        )
    return dg.MaterializeResult(metadata=meta)


def _unavailable_posts(con, first_collection: pd.Timestamp) -> list[str]:
    """Posts whose latest report before `first_collection` says they are gone (unavailable_posts.sql)."""
    # The earliest such report first: the query's scan of 'ok' reports starts there.
    reports_from = scalar(
        con,
        "SELECT min(collected_at) FROM raw.tweet_metrics WHERE status <> 'ok' AND collected_at < $first",
        {"first": first_collection},
    )
    if reports_from is None:
        return []
    rows = con.execute(
        sql("unavailable_posts"), {"first_collection": first_collection, "reports_from": reports_from}
    ).fetchall()
    return [row[0] for row in rows]


@dg.asset(
    deps=[raw_posts],
    # The hourly schedule runs at :05; two hours without a collection means it has stalled.
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)),
    description="Cumulative metrics of every post due for collection (hourly below X_TRACK_HOURLY_DAYS = 7 days "
    "of age, daily below X_TRACK_DAILY_DAYS = 30, then weekly until X_TRACK_MAX_DAYS, unset: no end), fetched in "
    "batches. Keeps each post's payload as received.",
    metadata=table_definition_metadata("raw.tweet_metrics"),
    code_version=code_version("1", sql("due_posts"), sql("unavailable_posts")),
    **COLLECTION,
)
def raw_tweet_metrics(context: dg.AssetExecutionContext, source: SourceResource, warehouse: WarehouseResource):
    # A day or week of history stamps and replaces its rows by their collection hours, as hourly keys do.
    first_hour, last_hour, start, end = partition_range(context)
    src = source.get_source()
    if not src.can_backfill:
        refusal = live_collection_refusal(first_hour, last_hour, end, utc_now(), src.name)
        if refusal:
            raise dg.Failure(description=refusal)
    user_ids = src.user_ids()
    times = _collection_times(start, end)
    with warehouse.get_connection() as con:
        due = con.execute(
            sql("due_posts"),
            {
                "first_collection": times[0],
                "last_collection": times[-1],
                "user_ids": user_ids,
                "unavailable": _unavailable_posts(con, times[0]),
                **source.cadence().sql_params(),
            },
        ).df()
        apply_budget(con, source, src, context.run.run_id)
    # user_id lets a live source tell whose posts it may read non-public metrics of.
    failure = None
    warehouse.release()  # the fetch may wait on the network: the file is free meanwhile
    try:
        batch = src.fetch_metrics(due[["post_id", "user_id", "collected_at"]])
    except Exception as exc:
        # A live source that fails mid-way hands over the batches it already paid for: store them.
        batch, failure = getattr(exc, "partial_batch", None), exc
        if batch is None:
            raise
    for note in batch.notes[:20]:
        context.log.warning(f"{src.name}: {note}")
    metrics, problems = sanitize_counts(batch.frame)
    for problem in problems[:50]:
        context.log.warning(f"rejected count from {src.name}: {problem}")
    if len(problems) > 50:
        context.log.warning(f"... and {len(problems) - 50} more rejected counts")
    # A live source stamps its rows with the real "now"; they belong to the partition being run.
    keys = _partition_keys(metrics["collected_at"]).to_numpy() if src.can_backfill else last_hour
    metrics = with_network(metrics).assign(source=src.name, partition_key=keys, written_at=utc_now())

    def write_tweet_metrics(con):
        con.register("incoming_metrics", metrics)
        # Re-running a partition replaces exactly what that partition wrote before; a run that failed
        # part-way replaces only the posts it fetched, the others keep what an earlier run stored.
        con.execute(
            "DELETE FROM raw.tweet_metrics WHERE source = $source AND partition_key BETWEEN $first AND $last"
            + (" AND post_id IN (SELECT post_id FROM incoming_metrics)" if failure is not None else ""),
            {"source": src.name, "first": first_hour, "last": last_hour},
        )
        con.execute("INSERT INTO raw.tweet_metrics BY NAME SELECT * FROM incoming_metrics")
        con.unregister("incoming_metrics")
        meta = table_metadata(
            con,
            "raw.tweet_metrics",
            "source = $source AND partition_key BETWEEN $first AND $last",
            {"source": src.name, "first": first_hour, "last": last_hour},
            order_by="collected_at, post_id",
            context=context,
        )
        return {**meta, **record_x_usage(con, src, context.run.run_id)}

    with warehouse.get_connection() as con:
        meta = write_transaction(con, write_tweet_metrics, "raw.tweet_metrics")
    meta.update(
        {
            "posts_due": dg.MetadataValue.int(len(due)),
            "api_requests": dg.MetadataValue.int(batch.requests_made),
            "rejected_counts": dg.MetadataValue.int(len(problems)),
            "unavailable_posts": dg.MetadataValue.int(int((metrics["status"] != "ok").sum())),
        }
    )
    if failure is not None:
        raise dg.Failure(
            description=f"{failure} ({len(metrics)} of {len(due)} posts were fetched before the "
            "failure and are stored)",
            metadata=meta,
        )
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    description="Follower figures of every account: one snapshot per run for a live source; the "
    "simulated source fills in every hour since the last snapshot. Also writes `raw.accounts`, each "
    "account's time zone (`SOCIAL_PIPELINE_ACCOUNT_TIMEZONES`; default UTC).",
    metadata=table_definition_metadata("raw.account_snapshots"),
    code_version=code_version("2"),
    **CATCH_UP,
)
def raw_account_snapshots(context: dg.AssetExecutionContext, source: SourceResource, warehouse: WarehouseResource):
    src = source.get_source()
    now = source.now()
    if src.can_backfill:
        with warehouse.get_connection() as con:
            last = _catch_up_start(
                con,
                "SELECT max(collected_at) FROM raw.account_snapshots WHERE source = $source",
                {"source": src.name},
                now - pd.Timedelta(days=source.history_days),
            )
        times = list(pd.date_range(last.floor("h") + pd.Timedelta(hours=1), now.floor("h"), freq="h"))
    else:
        times = [now]
        with warehouse.get_connection() as con:
            apply_budget(con, source, src, context.run.run_id)
    user_ids = src.user_ids()
    warehouse.release()  # the fetch may wait on the network: the file is free meanwhile
    figures = src.fetch_account_figures(user_ids, times)
    figures, problems = sanitize_counts(figures, ("followers", "following", "post_count"), id_column="user_id")
    for problem in problems:
        context.log.warning(f"rejected account figure from {src.name}: {problem}")
    figures = with_network(figures).assign(source=src.name)
    zones = source.timezones(src, user_ids)

    def write_account_snapshots(con):
        con.register("incoming_accounts", figures)
        # Idempotent on (user, time, source): a repeated run adds nothing twice.
        con.execute(
            """
            INSERT INTO raw.account_snapshots BY NAME
            SELECT * FROM incoming_accounts AS i
            WHERE NOT EXISTS (SELECT 1 FROM raw.account_snapshots AS t
                              WHERE t.user_id = i.user_id AND t.collected_at = i.collected_at
                                AND t.source = i.source)
            """
        )
        con.unregister("incoming_accounts")
        store_account_timezones(con, zones, src.name, now)
        # The run's rows: this source's snapshots from its first new time on (nothing older is written).
        written = "source = $source AND collected_at >= $first" if len(figures) else "FALSE"
        meta = table_metadata(
            con,
            "raw.account_snapshots",
            written,
            {"source": src.name, "first": figures["collected_at"].min()} if len(figures) else {},
            order_by="collected_at DESC, user_id",
        )
        return {**meta, **record_x_usage(con, src, context.run.run_id)}

    with warehouse.get_connection() as con:
        meta = write_transaction(con, write_account_snapshots, "raw.account_snapshots")
    meta["snapshots_fetched"] = dg.MetadataValue.int(len(figures))
    meta["account_timezones"] = dg.MetadataValue.json(zones)
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    description="Daily profile activity (views, InMails, connection requests ...) for every closed UTC "
    "day since the last one stored. The X API has no such figures; profile CSV files fill it instead.",
    metadata=table_definition_metadata("raw.profile_activity"),
    code_version=code_version("1"),
    **CATCH_UP,
)
def raw_profile_activity(context: dg.AssetExecutionContext, source: SourceResource, warehouse: WarehouseResource):
    src = source.get_source()
    now = source.now()
    with warehouse.get_connection() as con:
        last = _catch_up_start(
            con,
            "SELECT max(snapshot_date) FROM raw.profile_activity WHERE source_file = $source",
            {"source": src.name},
            now - pd.Timedelta(days=source.history_days + 1),
        )
    closed_days = list(pd.date_range(last.normalize() + pd.Timedelta(days=1), now.normalize() - pd.Timedelta(days=1)))
    warehouse.release()  # the fetch may wait on the network: the file is free meanwhile
    activity = src.fetch_profile_activity(src.user_ids(), closed_days)
    activity, problems = sanitize_counts(
        activity, tuple(c for c in activity.columns if c not in ("user_id", "platform", "snapshot_date")), "user_id"
    )
    for problem in problems:
        context.log.warning(f"rejected profile figure from {src.name}: {problem}")
    activity = activity.assign(source_file=src.name, ingested_at=utc_now())

    def write_profile_activity(con):
        con.register("incoming_activity", activity)
        # Idempotent on (user, platform, date, source): a re-run replaces the same day's row.
        con.execute(
            """
            DELETE FROM raw.profile_activity AS t
            USING incoming_activity AS i
            WHERE t.user_id = i.user_id AND t.platform = i.platform
              AND t.snapshot_date = i.snapshot_date::DATE AND t.source_file = i.source_file
            """
        )
        con.execute("INSERT INTO raw.profile_activity BY NAME SELECT * FROM incoming_activity")
        con.unregister("incoming_activity")
        # The run's rows: this source's days from the first closed day on (replaced or new).
        written = "source_file = $source AND snapshot_date >= $first_day" if len(activity) else "FALSE"
        meta = table_metadata(
            con,
            "raw.profile_activity",
            written,
            {"source": src.name, "first_day": min(closed_days).date()} if len(activity) else {},
            order_by="snapshot_date DESC, user_id",
        )
        return meta

    with warehouse.get_connection() as con:
        meta = write_transaction(con, write_profile_activity, "raw.profile_activity")
    meta["days_recorded"] = dg.MetadataValue.int(len(closed_days))
    return dg.MaterializeResult(metadata=meta)


# ----- the inbox ------------------------------------------------------------------
# A file left in the inbox by a finished run (the warehouse was locked) gets a new run after this pause.
LOCKED_RETRY_AFTER_SECONDS = 120
EARLIEST_DAY_KEY = "earliest_affected_day"


# Retries cover transient trouble such as another process holding the DuckDB file; a bad file is not retried.
INBOX_RETRIES = 3


FILE_CHECK = "file_was_ingested"


class InboxFileConfig(dg.Config):
    path: str = Field(description="The dropped file to ingest (the sensor fills this in)")
    lock_wait_seconds: float = Field(
        default=60.0,
        description="How long to wait for another process to release "
        "the warehouse before leaving the file in the inbox for a later run",
    )


LOCK_POLL_SECONDS = 1.0


@dg.asset(
    group_name="ingestion",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Files dropped in the inbox (`SOCIAL_PIPELINE_INBOX`, default `data/inbox`): X analytics exports "
    "(classic and newer format) into `raw.posts` / `raw.tweet_metrics`, profile-activity sheets into "
    "`raw.profile_activity`, LinkedIn's data archive and content analytics workbook (in the account's "
    "subfolder `inbox/<handle>/`) into the `raw.linkedin_*` tables; each ingested content recorded in "
    "`ops.ingested_files` (the table this asset shows) and never ingested twice. The configured zones "
    "(`SOCIAL_PIPELINE_ACCOUNT_TIMEZONES`) go to `raw.accounts` with each file, so an account known only "
    "from exports is read in its own zone.",
    metadata=table_definition_metadata("ops.ingested_files"),
    code_version=code_version("2"),
    **asset_labels("data_platform", "raw", "per_file"),
    retry_policy=dg.RetryPolicy(max_retries=INBOX_RETRIES, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    check_specs=[
        dg.AssetCheckSpec(
            FILE_CHECK,
            asset="inbox_files",
            description="Warns when the run's file was "
            "rejected (the reason is in the metadata and in `rejected/<name>.error.txt`) or "
            "had no rows.",
        )
    ],
)
def inbox_files(
    context: dg.AssetExecutionContext,
    config: InboxFileConfig,
    warehouse: WarehouseResource,
    file_stores: FileStoresResource,
    source: SourceResource,
):
    inbox = file_stores.inbox_path().resolve()
    path = Path(config.path).resolve()
    if path.parent != inbox and (path.parent.parent != inbox or path.parent.name in HANDLED_FOLDERS):
        # Run config can name any path; only the configured inbox's own files are ever moved.
        raise dg.Failure(
            description=f"{config.path} is not a file in the inbox {inbox}: nothing was touched "
            "(the inbox_files run only ingests files directly inside SOCIAL_PIPELINE_INBOX "
            "or in an account's subfolder of it)",
            allow_retries=False,
        )
    if not path.is_file():
        raise dg.Failure(
            description=f"{path} is no longer in the inbox (handled by an earlier run, or removed)", allow_retries=False
        )
    try:
        # The configured zones (SOCIAL_PIPELINE_ACCOUNT_TIMEZONES) reach accounts known only from files.
        outcome = _ingest_when_unlocked(
            warehouse, path, config.lock_wait_seconds, source.configured_timezones(), account_of(inbox, path)
        )
    except dg.Failure:
        raise
    except Exception as exc:
        if context.retry_number < INBOX_RETRIES:
            raise
        if path.is_file():
            # Out of retries: the file leaves the inbox with the reason beside it; nothing was written.
            settle(
                IngestOutcome(
                    path,
                    "rejected",
                    message=f"unexpected error after {INBOX_RETRIES + 1} attempts: {type(exc).__name__}: {exc}",
                )
            )
        raise
    context.log.info(outcome.describe())
    for note in outcome.notes:
        context.log.info(note)
    handled = {
        "rejected": f"rejected, nothing was written: {outcome.message} (moved to {outcome.moved_to}, reason "
        f"in {outcome.moved_to.name if outcome.moved_to else ''}.error.txt)",
        "empty": f"no rows: {outcome.message}",
    }
    if outcome.status in handled:
        context.log.warning(f"{outcome.path.name}: {handled[outcome.status]}")
    with warehouse.get_connection() as con:
        # The ledger row this run wrote: none for a duplicate.
        ledger = table_metadata(
            con,
            "ops.ingested_files",
            "content_sha256 = $sha" if outcome.status == "ingested" else "FALSE",
            {"sha": outcome.sha256} if outcome.status == "ingested" else {},
            order_by="ingested_at DESC",
        )
    check = dg.AssetCheckResult(
        check_name=FILE_CHECK,
        passed=outcome.status not in handled,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{outcome.path.name}: {handled.get(outcome.status) or outcome.describe()}",
    )
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            **ledger,
            "file": dg.MetadataValue.text(outcome.path.name),
            "outcome": dg.MetadataValue.text(outcome.status),
            "reason": dg.MetadataValue.text(outcome.message if outcome.status in handled else ""),
            "kind": dg.MetadataValue.text(outcome.kind or ""),
            # The file's rows stored into the raw tables (0 for a duplicate or a rejected file).
            "file_rows_ingested": dg.MetadataValue.int(outcome.rows),
            "rows_new": dg.MetadataValue.int(outcome.rows_new),
            "rows_updated": dg.MetadataValue.int(outcome.rows_updated),
            "rows_unchanged": dg.MetadataValue.int(outcome.rows_unchanged),
            "snapshot_time": dg.MetadataValue.text(str(outcome.snapshot_time or "")),
            "users": dg.MetadataValue.text(", ".join(outcome.users)),
            "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in outcome.notes) or "_none_"),
            "content_sha256": dg.MetadataValue.text(outcome.sha256),
            # Read by the refresh_weekly_after_inbox sensor: weeks from this day's on are rebuilt.
            EARLIEST_DAY_KEY: dg.MetadataValue.text(
                outcome.earliest_day.strftime("%Y-%m-%d") if outcome.earliest_day is not None else ""
            ),
        },
    )


def _ingest_when_unlocked(
    warehouse: WarehouseResource,
    path: Path,
    wait_seconds: float,
    account_timezones: dict[str, str],
    account: str | None = None,
) -> IngestOutcome:
    """Another process holding the DuckDB file is not the file's fault: wait a while, then leave the
    file in the inbox (the sensor launches it again) and fail the run, which the failure sensor reports."""
    try:
        wait_until_unlocked(warehouse.database, wait_seconds, LOCK_POLL_SECONDS)
        with warehouse.get_connection() as con:
            return process_inbox_file(con, path, default_user=account, account_timezones=account_timezones)
    except Exception as exc:
        if not is_lock_error(exc):
            raise
        raise dg.Failure(
            description=f"the warehouse stayed locked by another process for {wait_seconds:.0f} s or more; "
            f"{path.name} stays in the inbox (not rejected: the file is not at fault) and the inbox "
            f"sensor tries it again in about {LOCKED_RETRY_AFTER_SECONDS} s. Nothing was written. ({exc})",
            allow_retries=False,
        ) from exc
