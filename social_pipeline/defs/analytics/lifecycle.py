"""post_lifecycle: each post's figures at fixed ages and each account's typical curve, incrementally."""

import dagster as dg
import pandas as pd

from social_pipeline.core.lifecycle import LIFECYCLE_TABLE, lifecycle_params, store_half_lives
from social_pipeline.core.lifecycle import sql as core_lifecycle_sql
from social_pipeline.core.sql_files import scalar, sql_loader
from social_pipeline.defs.analytics.assets import post_snapshots
from social_pipeline.defs.common import (
    WAREHOUSE_POOL,
    asset_labels,
    code_version,
    preview_table,
    table_definition_metadata,
    table_metadata,
)
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.write_conflicts import write_transaction

sql = sql_loader(__file__)


class PostLifecycleConfig(dg.Config):
    full_refresh: bool = False


def refresh_post_lifecycle(con, full_refresh: bool = False) -> dict:
    """Recompute the lifecycle rows of the posts whose snapshots changed, and the curves of their
    accounts, in the caller's transaction. Returns {posts_compared, posts_refreshed, accounts_refreshed}.
    Leaves the temp table `lifecycle_rows` (the rows written) for the caller's metadata."""
    params = lifecycle_params()
    # The posts to compare: those post_snapshots queued since the last run (what this run takes from the
    # queue; rows queued meanwhile stay), or every post on a full refresh or while the table is empty.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lifecycle_queue AS "
        "SELECT post_id, queued_at, earliest_snapshot_time FROM ops.post_refresh_queue WHERE table_name = $table",
        {"table": LIFECYCLE_TABLE},
    )
    every_post = full_refresh or not scalar(con, f"SELECT count(*) FROM {LIFECYCLE_TABLE}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lifecycle_candidates AS "
        + (
            "SELECT post_id, NULL::TIMESTAMP AS published_at FROM "
            f"(SELECT post_id FROM analytics.post_snapshots UNION SELECT post_id FROM {LIFECYCLE_TABLE})"
            if every_post
            else sql("post_lifecycle_candidates")
        ),
        {} if every_post else {"week_age_hours": params["week_age_hours"]},
    )
    # The candidates' snapshots and stored rows: from the day before the earliest publication among them on,
    # when each is a stored post (a day: a post's time may be refined within its day, after its snapshots
    # were written). Both tables are written in time order, so DuckDB reads only the row groups of that
    # stretch.
    snapshots_from = (
        None
        if every_post
        else scalar(
            con,
            "SELECT CASE WHEN count(published_at) = count(*) THEN min(published_at) - INTERVAL 1 DAY END "
            "FROM lifecycle_candidates",
        )
    )
    since = "" if snapshots_from is None else f" AND snapshot_time >= TIMESTAMP '{pd.Timestamp(snapshots_from)}'"
    con.execute(
        "CREATE OR REPLACE TEMP VIEW lifecycle_snapshots AS SELECT * FROM analytics.post_snapshots "
        f"WHERE hours_since_published >= 0{since}"  # a date-only post has no age
    )
    # A row's snapshot is at or after its post's publication.
    con.execute(f"CREATE OR REPLACE TEMP VIEW lifecycle_stored AS SELECT * FROM {LIFECYCLE_TABLE} WHERE TRUE{since}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE lifecycle_refresh AS {sql('post_lifecycle_refresh_posts')}",
        {"week_age_hours": params["week_age_hours"], "full_refresh": full_refresh},
    )
    # The refreshed posts' rows are staged: the half-lives, the accounts and the metadata read them there.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lifecycle_rows AS "
        f"SELECT *, NULL::DOUBLE AS half_life_hours FROM ({sql('post_lifecycle')})",
        params,
    )
    store_half_lives(con, params["week_age_hours"])
    # An account's curves read only its posts observed for the whole week (a row at the week's age): they
    # change when such a post is refreshed, so its accounts are taken before the rows are replaced (a post
    # may have gone) and after (a post may just have completed its week).
    week = {"week_age_hours": params["week_age_hours"]}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lifecycle_accounts AS "
        "SELECT user_id FROM lifecycle_stored WHERE age_hours = $week_age_hours "
        "AND post_id IN (SELECT post_id FROM lifecycle_refresh) "
        "UNION ALL SELECT user_id FROM lifecycle_rows WHERE age_hours = $week_age_hours",
        week,
    )
    con.execute(f"DELETE FROM {LIFECYCLE_TABLE} WHERE post_id IN (SELECT post_id FROM lifecycle_refresh){since}")
    # In time order, as post_snapshots writes: the lookups above skip the row groups before `since`.
    con.execute(f"INSERT INTO {LIFECYCLE_TABLE} BY NAME SELECT * FROM lifecycle_rows ORDER BY snapshot_time")
    con.execute(
        "DELETE FROM analytics.account_lifecycle_curves WHERE user_id IN (SELECT user_id FROM lifecycle_accounts)"
    )
    con.execute(
        f"INSERT INTO analytics.account_lifecycle_curves BY NAME {sql('account_lifecycle_curves')}",
        {"week_age_hours": params["week_age_hours"]},
    )
    counts = {
        "posts_compared": int(scalar(con, "SELECT count(*) FROM lifecycle_candidates")),
        "posts_refreshed": int(scalar(con, "SELECT count(*) FROM lifecycle_refresh")),
        "accounts_refreshed": int(scalar(con, "SELECT count(DISTINCT user_id) FROM lifecycle_accounts")),
    }
    con.execute(
        "DELETE FROM ops.post_refresh_queue AS q USING lifecycle_queue AS t "
        "WHERE q.table_name = $table AND q.post_id = t.post_id AND q.queued_at = t.queued_at",
        {"table": LIFECYCLE_TABLE},
    )
    for table in ("lifecycle_accounts", "lifecycle_candidates", "lifecycle_queue", "lifecycle_refresh"):
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP VIEW lifecycle_snapshots")
    con.execute("DROP VIEW lifecycle_stored")
    return counts


@dg.asset(
    deps=[post_snapshots],
    group_name="analytics",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="One row per post and age (1, 3, 6, 24, 72 and 168 h): cumulative impressions and "
    "engagements from the newest snapshot at or before that age, with that snapshot's own age "
    "(`snapshot_age_hours`), nothing interpolated; the 168 h row holds the post's half-life. "
    "Also rebuilds `analytics.account_lifecycle_curves` "
    "(per account: the median share of 7-day impressions reached at each age, and the half-life). "
    "Incremental: only posts with new snapshots are recomputed (set `full_refresh` to rebuild all).",
    metadata=table_definition_metadata("analytics.post_lifecycle"),
    code_version=code_version(
        "2",
        sql("post_lifecycle_candidates"),
        sql("post_lifecycle_refresh_posts"),
        sql("post_lifecycle"),
        core_lifecycle_sql("lifecycle_half_lives"),
        sql("account_lifecycle_curves"),
    ),
    **asset_labels("data_platform", "analytics", "hourly"),
)
def post_lifecycle(context: dg.AssetExecutionContext, config: PostLifecycleConfig, warehouse: WarehouseResource):
    def write_lifecycle(con):
        counts = refresh_post_lifecycle(con, config.full_refresh)
        meta = table_metadata(
            con, LIFECYCLE_TABLE, order_by="snapshot_time DESC, post_id, age_hours", written_rows="lifecycle_rows"
        )
        con.execute("DROP TABLE lifecycle_rows")
        curves = con.execute("SELECT * FROM analytics.account_lifecycle_curves ORDER BY user_id, age_hours").df()
        return meta, counts, curves

    with warehouse.get_connection() as con:
        meta, counts, curves = write_transaction(con, write_lifecycle, "analytics.post_lifecycle")
    meta["posts_compared"] = dg.MetadataValue.int(counts["posts_compared"])
    meta["posts_refreshed"] = dg.MetadataValue.int(counts["posts_refreshed"])
    meta["accounts_refreshed"] = dg.MetadataValue.int(counts["accounts_refreshed"])
    meta["account_lifecycle_curves"] = preview_table(curves.head(60))
    return dg.MaterializeResult(metadata=meta)
