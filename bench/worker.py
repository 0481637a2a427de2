"""One measurement in its own process, so its peak memory (RSS, DuckDB's native memory included)
is its own: `python -m bench.worker <analytics|analytics_sql|hourly|hourly_path|noop> ...`
prints JSON."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from social_pipeline.core.clock import utc_now
from social_pipeline.core.collection import PARTITION_KEY_FORMAT
from social_pipeline.defs.common import WEEKLY_PARTITIONS, partition_range_tags
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's getrusage carries the launcher's peak into a child
    across exec, so the process's own high-water mark (VmHWM) is read where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def analytics(database: str, first_week: str, last_week: str) -> dict:
    """Full recompute with the assets' own code: post_snapshots (full refresh), post_performance, then
    the weekly job (user_summary, engagement_by_content_type, best_posting_times, recruiter_metrics,
    weekly_report with its files) over every week, as one run each."""
    from social_pipeline.definitions import defs
    from social_pipeline.defs.analytics.assets import post_performance, post_snapshots

    warehouse = WarehouseResource(database=database)
    started = time.perf_counter()
    result = dg.materialize(
        [post_snapshots, post_performance],
        resources={"warehouse": warehouse},
        run_config={**QUIET, "ops": {"post_snapshots": {"config": {"full_refresh": True}}}},
    )
    assert result.success
    posts_seconds = time.perf_counter() - started
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(
        WEEKLY_PARTITIONS.name, [d.strftime("%Y-%m-%d") for d in pd.date_range(first_week, last_week, freq="7D")]
    )
    weekly = defs.resolve_job_def("weekly_reporting").execute_in_process(
        resources={"warehouse": warehouse},
        run_config=QUIET,
        instance=instance,
        tags=partition_range_tags(first_week, last_week),
    )
    assert weekly.success
    total = time.perf_counter() - started
    return {
        "seconds": total,
        "post_tables_seconds": posts_seconds,
        "weekly_seconds": total - posts_seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def analytics_sql(database: str, first_week: str, last_week: str) -> dict:
    """The same computations as the baseline, with the assets' own SQL straight in DuckDB (no
    orchestration): post_snapshots (full), post_performance, user_summary and best_posting_times
    for every week. (The reports, compared with the baseline's too, come from the Dagster path.)"""
    from social_pipeline.core import analytics_queries as q
    from social_pipeline.core.analytics_queries import sql_text as sql
    from social_pipeline.warehouse.connection import transaction

    weeks = {"first_week_start": pd.Timestamp(first_week), "weeks_end": pd.Timestamp(last_week) + pd.Timedelta(days=7)}
    with connect(database) as con:
        started = time.perf_counter()
        with transaction(con):
            con.execute("CREATE OR REPLACE TEMP VIEW refresh_raw AS SELECT * FROM raw.tweet_metrics")
            con.execute("DELETE FROM analytics.post_snapshots")
            con.execute(f"INSERT INTO analytics.post_snapshots BY NAME {sql('post_snapshots')}")
            con.execute(f"CREATE OR REPLACE TABLE analytics.post_performance AS {sql('post_performance')}")
            for table, query in (
                ("analytics.user_summary", q.user_summary_query(q.report_periods_sql())),
                ("analytics.best_posting_times", q.best_times_query(q.report_periods_sql())),
            ):
                con.execute(f"DELETE FROM {table}")
                con.execute(f"INSERT INTO {table} BY NAME {query}", q.used_params(query, weeks))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def weekly_report_json(database: str, first_week: str, last_week: str) -> None:
    """Each weekly report's JSON, as the weekly_report asset builds it, without its files (for the
    bench's own tests, which compare reports without a Dagster run)."""
    from social_pipeline.core import analytics_queries as q

    weeks = {"first_week_start": pd.Timestamp(first_week), "weeks_end": pd.Timestamp(last_week) + pd.Timedelta(days=7)}
    with connect(database) as con:
        reports = q.weekly_reports(con, q.report_periods_sql(), weeks, utc_now())
        rows = pd.DataFrame(
            [
                {
                    "user_id": r["user_id"],
                    "week_start": pd.Timestamp(r["report_period"]["start"]).date(),
                    "generated_at": pd.Timestamp(r["generated_at"]),
                    "report_json": q.report_json(r),
                    "report_markdown": "",
                    "markdown_path": "",
                    "html_path": "",
                }
                for r in reports
            ],
            columns=q.WEEKLY_REPORT_COLUMNS,
        )
        con.execute("DELETE FROM analytics.weekly_reports")
        con.register("incoming_reports", rows)
        con.execute("INSERT INTO analytics.weekly_reports BY NAME SELECT * FROM incoming_reports")
        con.unregister("incoming_reports")


def _add_collection(database: str, new_snapshots: int) -> None:
    """One more hourly collection on top of the history: the newest `new_snapshots` posts (an hourly
    collection reaches the posts younger than 7 days) get a new snapshot, the same number whatever
    the history's size."""
    with connect(database) as con:
        newest = con.execute("SELECT max(collected_at) FROM raw.tweet_metrics").fetchall()[0][0]
        collected_at = pd.Timestamp(newest) + pd.Timedelta(hours=1)
        key = (collected_at - pd.Timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT)
        con.execute(
            """
            INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes,
                                           source, status, partition_key, written_at)
            SELECT post_id, $at, impressions + 1, likes, retweets, replies, quotes, source, 'ok', $key, $at
            FROM raw.tweet_metrics
            WHERE post_id IN (SELECT post_id FROM raw.posts ORDER BY published_at DESC, post_id LIMIT $n)
            QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY collected_at DESC) = 1
        """,
            {"at": collected_at, "key": key, "n": new_snapshots},
        )


def hourly(database: str, new_snapshots: int) -> dict:
    """`_add_collection`, then post_snapshots (incremental) and post_performance refresh, as the hourly job does."""
    from social_pipeline.defs.analytics.assets import post_performance, post_snapshots

    _add_collection(database, new_snapshots)
    started = time.perf_counter()
    result = dg.materialize(
        [post_snapshots, post_performance],
        resources={"warehouse": WarehouseResource(database=database)},
        run_config=QUIET,
    )
    assert result.success
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def hourly_path(database: str, new_snapshots: int) -> dict:
    """`hourly`'s new collection, then every asset the hourly_collection job refreshes after the raw ones
    (post_snapshots, post_performance, post_lifecycle, post_follower_gain, post_alerts) and their checks,
    in one run; per-step seconds beside the total. The raw assets' own writes are the inserted hour."""
    from social_pipeline.defs.analytics import checks as analytics_checks
    from social_pipeline.defs.analytics.assets import post_performance, post_snapshots
    from social_pipeline.defs.analytics.follower_gain import post_follower_gain
    from social_pipeline.defs.analytics.lifecycle import post_lifecycle
    from social_pipeline.defs.ingestion import checks as ingestion_checks
    from social_pipeline.defs.ops.alerts import post_alerts
    from social_pipeline.resources.alerts import AlertChannelsResource
    from social_pipeline.resources.smtp import SmtpResource

    _add_collection(database, new_snapshots)
    started = time.perf_counter()
    result = dg.materialize(
        [
            post_snapshots,
            post_performance,
            post_lifecycle,
            post_follower_gain,
            post_alerts,
            analytics_checks.engagement_rate_within_bounds,
            analytics_checks.engagement_rates_plausible,
            analytics_checks.every_post_has_a_snapshot,
            ingestion_checks.cumulative_metrics_never_decrease,
        ],
        resources={
            "warehouse": WarehouseResource(database=database),
            "alert_channels": AlertChannelsResource(),
            "smtp": SmtpResource(),
        },
        run_config=QUIET,
    )
    assert result.success
    steps = {
        event.step_key: round(getattr(event.event_specific_data, "duration_ms", 0.0) / 1000, 3)
        for event in result.all_events
        if event.event_type_value == "STEP_SUCCESS"
    }
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb(), "step_seconds": steps}


def noop(first_key: str, last_key: str) -> dict:
    """Dagster's own cost for the shape of `social-pipeline run`, with assets that do nothing: one run of
    an hourly-partitioned asset over the history's partition range (single-run backfill) and 5
    unpartitioned ones after it, one run of 5 weekly assets over its weeks, one of 2 unpartitioned."""
    from social_pipeline.defs.common import HOURLY_PARTITIONS, SINGLE_RUN, add_partition_keys, complete_weeks, hour_keys

    def chain(prefix: str, steps: int, partitioned: int = 0, **kwargs):
        def make(i):
            @dg.asset(
                name=f"{prefix}_{i}", deps=[f"{prefix}_{i - 1}"] if i else [], **(kwargs if i < partitioned else {})
            )
            def _noop():
                return dg.MaterializeResult()

            return _noop

        return [make(i) for i in range(steps)]

    first, last = pd.Timestamp(first_key), pd.Timestamp(last_key)
    weeks = complete_weeks(first, last)
    runs = [
        (
            chain("hourly", 6, 1, partitions_def=HOURLY_PARTITIONS, backfill_policy=SINGLE_RUN),
            (first.strftime(PARTITION_KEY_FORMAT), last.strftime(PARTITION_KEY_FORMAT)),
        ),
        (chain("weekly", 5, 5, partitions_def=WEEKLY_PARTITIONS, backfill_policy=SINGLE_RUN), (weeks[0], weeks[-1])),
        (chain("ml", 2), None),
    ]
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    add_partition_keys(instance, HOURLY_PARTITIONS, hour_keys(first, last))
    add_partition_keys(instance, WEEKLY_PARTITIONS, weeks)
    for assets, key_range in runs:
        tags = partition_range_tags(*key_range) if key_range else {}
        assert dg.materialize(assets, run_config=QUIET, tags=tags, instance=instance).success
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "analytics":
        out = analytics(*args)
    elif kind == "analytics_sql":
        out = analytics_sql(*args)
    elif kind == "hourly":
        out = hourly(args[0], int(args[1]))
    elif kind == "hourly_path":
        out = hourly_path(args[0], int(args[1]))
    else:
        out = noop(args[0], args[1])
    print(json.dumps(out))
