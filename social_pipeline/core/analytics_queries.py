"""The analytics seed's queries, composed from the SQL files in `core/sql/`, and the weekly
report assembled from their (small) results.

One implementation for everyone: the Dagster assets write these queries' results into the
`analytics.*` tables, and `AnalyticsCollector` runs the very same text for one user. Every
query reads a relation `periods(user_id, period_start, period_end)` given as SQL text, so a
weekly partition, a rolling 30-day view and an ad-hoc date range are the same query.
No Dagster here.
"""

from __future__ import annotations

import json
import math
import operator
import re
from typing import Any, cast

import duckdb
import pandas as pd

from .recommendations import recommendations
from .reports import DAY_NAMES
from .sql_files import sql_loader
from .timezones import DEFAULT_TIMEZONE

BEST_TIMES_WINDOW_DAYS = 90
HISTORY_WEEKS = 8
WEEKLY_REPORT_COLUMNS = [
    "user_id",
    "week_start",
    "generated_at",
    "report_json",
    "report_markdown",
    "markdown_path",
    "html_path",
]

# periods for one user and one explicit range (the Python API).
ONE_PERIOD_SQL = (
    "SELECT $user_id::VARCHAR AS user_id, $period_start::TIMESTAMP AS period_start, "
    "$period_end::TIMESTAMP AS period_end"
)


sql_text = sql_loader(__file__)


def compose(final: str, periods_sql: str, *ctes: str) -> str:
    """WITH periods AS (<periods_sql>), <cte> AS (<cte>.sql), ... <final>.sql"""
    parts = [f"periods AS (\n{periods_sql}\n)"] + [f"{name} AS (\n{sql_text(name)}\n)" for name in ctes]
    return "WITH " + ",\n".join(parts) + "\n" + sql_text(final)


def window_periods(periods_sql: str, days: int) -> str:
    """The `days` before each period's end: the 90-day window of best posting times."""
    return f"SELECT user_id, period_end - INTERVAL {int(days)} DAY AS period_start, period_end FROM (\n{periods_sql}\n)"


def history_periods(periods_sql: str, weeks: int) -> str:
    """Each period and the `weeks - 1` same-length periods before it (week-over-week trends)."""
    return (
        f"SELECT DISTINCT p.user_id, p.period_start - k * (p.period_end - p.period_start) AS period_start, "
        f"p.period_end - k * (p.period_end - p.period_start) AS period_end "
        f"FROM (\n{periods_sql}\n) AS p, range({int(weeks)}) AS r(k)"
    )


def user_summary_query(periods_sql: str) -> str:
    return compose("user_summary", periods_sql, "period_posts")


def content_type_query(periods_sql: str) -> str:
    return compose("engagement_by_content_type", periods_sql, "period_posts")


def best_times_query(periods_sql: str) -> str:
    return compose(
        "best_posting_times", window_periods(periods_sql, BEST_TIMES_WINDOW_DAYS), "period_posts", "posting_slots"
    )


def heatmap_query(periods_sql: str) -> str:
    return compose("posting_slots", window_periods(periods_sql, BEST_TIMES_WINDOW_DAYS), "period_posts")


def recruiter_query(periods_sql: str) -> str:
    return compose("recruiter_metrics", periods_sql, "profile_days", "linkedin_recruiter_days")


def top_posts_query(periods_sql: str) -> str:
    return compose("top_posts", periods_sql, "period_posts")


def report_periods_sql() -> str:
    """periods for the weekly assets: $first_week_start, $weeks_end."""
    return sql_text("report_periods")


def used_params(query: str, params: dict) -> dict:
    """DuckDB refuses named parameters a query does not use: pass only those it names."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", query)}


def frame(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> pd.DataFrame:
    return con.execute(query, used_params(query, params or {})).df()


# ----- rows -> the seed's dicts ----------------------------------------------------------
def _iso(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).isoformat()


def _int(value) -> int:
    # int() first: a report converts about a million values, and pd.isna on each cost more than the rest.
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):  # NaN, pd.NA, NaT
        if pd.isna(value):
            return 0
        raise


def _float(value) -> float:
    if value is None:
        return 0.0
    try:
        number = float(value)
    except TypeError:  # pd.NA, NaT
        if pd.isna(value):
            return 0.0
        raise
    return 0.0 if math.isnan(number) else number


# Networks that count no impressions: their engagement rates are per follower at posting time.
FOLLOWERS_BASIS_NETWORKS = ("bluesky",)


def engagement_basis(network) -> str:
    """What a network's engagement rates divide by: followers (Bluesky) or impressions."""
    return "followers" if network in FOLLOWERS_BASIS_NETWORKS else "impressions"


def post_dict(row) -> dict:
    """A post as the seed's reports show it: `content` and `engagement_rate` (percent). A post of a
    network that counts no impressions has impressions None (unknown), never 0."""
    basis = engagement_basis(row.get("network"))
    return {
        "post_id": str(row["post_id"]),
        "content": row["text"] if isinstance(row["text"], str) else "",
        "content_type": row["content_type"] if isinstance(row["content_type"], str) else None,
        "published_at": _iso(row["published_at"]),
        "impressions": None if basis == "followers" else _int(row["impressions"]),
        "likes": _int(row["likes"]),
        "retweets": _int(row["retweets"]),
        "replies": _int(row["replies"]),
        "quotes": _int(row["quotes"]),
        "engagements": _int(row["engagements"]),
        "engagement_rate": _float(row["engagement_rate_pct"]),
        "engagement_basis": basis,
        "weighted_engagement_score": _float(row["weighted_engagement_score"]),
    }


def slot_dict(row) -> dict:
    """A slot as the seed's identify_best_posting_times returns it (`day_of_week`, `hour`), read on the
    account's clock (the row's day_of_week_local and hour_local), plus its `timezone` and `hour_utc`."""
    return {
        "day_of_week": int(row["day_of_week_local"]),
        "day_name": DAY_NAMES[int(row["day_of_week_local"])],
        "hour": int(row["hour_local"]),
        "avg_engagement_rate": _float(row["avg_engagement_rate_pct"]),
        "posts_count": int(row["posts_count"]),
        "total_impressions": _int(row["total_impressions"]),
        "total_engagements": _int(row["total_engagements"]),
        # day_of_week and hour are read in this zone (the account's; UTC by default).
        "timezone": str(row["timezone"]),
        **({"hour_utc": int(row["hour_utc"])} if "hour_utc" in row else {}),
    }


def account_timezones(con) -> dict[str, str]:
    """user_id -> the account's IANA zone (raw.accounts); accounts without a row are UTC."""
    return dict(con.execute("SELECT user_id, timezone FROM raw.accounts").fetchall())


def account_networks(con) -> dict[str, str]:
    """user_id -> the network its posts are on (an account's weeks never mix networks)."""
    return dict(con.execute("SELECT user_id, any_value(network) FROM raw.posts GROUP BY user_id").fetchall())


RECRUITER_COUNTS = (
    "profile_views_7d",
    "profile_views_30d",
    "connection_requests",
    "inmails_received",
    "recruiter_engagements",
    "profile_saves",
    "conversations_started",
    "interviews_scheduled",
    "estimated_recruiter_reach",
)


def recruiter_dict(row) -> dict:
    """The seed's keys; view_change_pct is None when the previous week had no views."""
    if row is None:
        return {**{k: 0 for k in RECRUITER_COUNTS}, "view_change_pct": None}
    change = row["view_change_pct"]
    return {
        **{k: _int(row[k]) for k in RECRUITER_COUNTS},
        "view_change_pct": None if change is None or pd.isna(change) else float(change),
    }


# Beside the seed's recruiter_metrics (whose keys are its contract): LinkedIn archive figures and sources.
RECRUITER_FIGURES = ("new_connections_7d", "new_connections_30d", "invitations_received_7d", "invitations_received_30d")
RECRUITER_SOURCES = ("profile_views_source", "connections_source", "invitations_source", "inmails_source")


def recruiter_figures_dict(row) -> dict:
    """The figures beyond the seed's, and where each recruiter figure came from (None: no source)."""
    if row is None:
        return {
            **{k: 0 for k in RECRUITER_FIGURES},
            "sources": {k.removesuffix("_source"): None for k in RECRUITER_SOURCES},
        }
    return {
        **{k: _int(row[k]) for k in RECRUITER_FIGURES},
        "sources": {k.removesuffix("_source"): None if pd.isna(row[k]) else str(row[k]) for k in RECRUITER_SOURCES},
    }


# A period's content types, best average engagement rate first (ties: by name).
BREAKDOWN_ORDER = {"avg_engagement_rate_pct": False, "content_type": True}


def breakdown_dict(ordered_rows: list[dict]) -> dict:
    """content type -> its figures, from one period's engagement_by_content_type rows in report order."""
    return {
        str(r["content_type"]): {
            "posts": int(r["posts"]),
            "impressions": _int(r["impressions"]),
            "engagements": _int(r["engagements"]),
            "avg_engagement_rate": _float(r["avg_engagement_rate_pct"]),
        }
        for r in ordered_rows
    }


def empty_summary(period_start=None, period_end=None) -> dict:
    """The seed's empty structure: what a user without posts in the range gets."""
    return {
        "total_posts": 0,
        "total_impressions": 0,
        "total_engagements": 0,
        "avg_engagement_rate": 0.0,
        "best_post": None,
        "worst_post": None,
        "engagement_by_type": {},
        "time_range": {"start": _iso(period_start), "end": _iso(period_end)},
    }


def pct_change(current, previous) -> float | None:
    """Week-over-week change in percent; None when the previous week was 0 (no base to compare)."""
    if not previous:
        return None
    return (float(current) - float(previous)) * 100.0 / float(previous)


def week_over_week(current: dict, previous: dict, recruiter: dict) -> dict:
    return {
        "posts_change": int(current["total_posts"]) - int(previous["total_posts"]),
        "impressions_change_pct": pct_change(current["total_impressions"], previous["total_impressions"]),
        "engagements_change_pct": pct_change(current["total_engagements"], previous["total_engagements"]),
        "engagement_rate_change_pts": float(current["avg_engagement_rate"]) - float(previous["avg_engagement_rate"]),
        "profile_views_change_pct": recruiter.get("view_change_pct"),
    }


# ----- the seed's user summary and weekly report, for any set of periods -----------------
def _key(row) -> tuple:
    return (str(row["user_id"]), pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"]))


def _posts_by_id(con, post_ids: list[str], published_from, published_until) -> dict[str, dict]:
    """The posts, read from analytics.post_performance between the periods' bounds only."""
    if not post_ids:
        return {}
    rows = con.execute(
        "SELECT * FROM analytics.post_performance WHERE published_at >= $published_from "
        "AND published_at < $published_until AND post_id IN (SELECT unnest($ids::VARCHAR[]))",
        {"ids": post_ids, "published_from": published_from, "published_until": published_until},
    ).df()
    return {str(r["post_id"]): post_dict(r) for r in rows.to_dict("records")}


def user_summaries(con, periods_sql: str, params: dict) -> dict[tuple, dict]:
    """(user_id, period_start, period_end) -> the seed's `get_user_analytics_summary` dict."""
    totals = frame(con, user_summary_query(periods_sql), params)
    by_type = frame(con, content_type_query(periods_sql), params)
    ids = [str(i) for i in pd.concat([totals["best_post_id"], totals["worst_post_id"]]).dropna().unique()]
    posts = _posts_by_id(con, ids, totals["period_start"].min(), totals["period_end"].max())
    types_by_period = _grouped(by_type, ("user_id", "period_start", "period_end"), BREAKDOWN_ORDER)
    out = {}
    for row in totals.to_dict("records"):
        key = _key(row)
        summary = empty_summary(row["period_start"], row["period_end"])
        summary.update(
            total_posts=int(row["total_posts"]),
            total_impressions=_int(row["total_impressions"]),
            total_engagements=_int(row["total_engagements"]),
            avg_engagement_rate=_float(row["avg_engagement_rate_pct"]),
            best_post=posts.get(str(row["best_post_id"])) if pd.notna(row["best_post_id"]) else None,
            worst_post=posts.get(str(row["worst_post_id"])) if pd.notna(row["worst_post_id"]) else None,
            engagement_by_type=breakdown_dict(types_by_period.get(key, [])),
        )
        out[key] = summary
    return out


def _grouped_records(
    con, query: str, params: dict, key_columns: tuple[str, str, str], order_columns: tuple[str, ...]
) -> dict[tuple, list[dict]]:
    """As `_grouped` for the query's rows, fetched as Python values rather than through a DataFrame (the
    heat map's 30,000 rows a run cost more to box than to compute). Each key's rows are in ascending
    `order_columns` order; those columns are never NULL."""
    result = con.execute(query, used_params(query, params))
    names = [column[0] for column in result.description]
    at_key = [names.index(column) for column in key_columns]
    kept = [(i, name) for i, name in enumerate(names) if i not in at_key]
    by_key: dict[tuple, list[dict]] = {}
    for row in result.fetchall():
        by_key.setdefault(tuple(row[i] for i in at_key), []).append({name: row[i] for i, name in kept})
    order = operator.itemgetter(*order_columns)
    return {
        (str(key[0]), pd.Timestamp(key[1]), pd.Timestamp(key[2])): sorted(rows, key=order)
        for key, rows in by_key.items()
    }


def _grouped(
    rows: pd.DataFrame, key_columns: tuple[str, str, str], order_by: dict[str, bool] | None = None
) -> dict[tuple, list[dict]]:
    """(user_id, start, end) -> the rows of that key as dicts without the key columns, each key's rows in
    `order_by` order (column -> ascending; stable). One sort of the whole frame, not one per key."""
    if rows.empty:
        return {}
    if order_by:
        rows = rows.sort_values(list(order_by), ascending=list(order_by.values()), kind="stable")
    # The key columns are turned into Python values once a key, not once a row (timestamps box slowly).
    records = rows.drop(columns=list(key_columns)).to_dict("records")
    # Grouped by a list of columns, each key is a tuple (pandas-stubs say only Hashable).
    positions = cast(dict[tuple, Any], rows.groupby(list(key_columns), sort=False).indices)
    return {
        (str(key[0]), pd.Timestamp(key[1]), pd.Timestamp(key[2])): [records[i] for i in at]
        for key, at in positions.items()
    }


# The windows' posting slots, computed once for both the best times and the heat map (a temp table).
REPORT_POSTING_SLOTS = "report_posting_slots"


def _best_times_and_heatmap(
    con, periods_sql: str, params: dict
) -> tuple[dict[tuple, list[dict]], dict[tuple, list[dict]]]:
    """(user_id, window_start, window_end) -> the window's ranked best times, and -> its heat map slots
    (Monday 00:00 first). Both read one computation of `posting_slots` over the 90-day windows."""
    slots = heatmap_query(periods_sql)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REPORT_POSTING_SLOTS} AS {slots}", used_params(slots, params))
    try:
        windows = ("user_id", "window_start", "window_end")
        best_sql = f"WITH posting_slots AS (SELECT * FROM {REPORT_POSTING_SLOTS})\n{sql_text('best_posting_times')}"
        best = _grouped_records(con, best_sql, {}, windows, ("rank",))
        heat = _grouped_records(
            con, f"SELECT * FROM {REPORT_POSTING_SLOTS}", {}, windows, ("day_of_week_local", "hour_local")
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {REPORT_POSTING_SLOTS}")
    return best, heat


def weekly_reports(con, periods_sql: str, params: dict, generated_at: pd.Timestamp) -> list[dict]:
    """One report per row of `periods`, in the seed's shape, plus `user_id`,
    `engagement_heatmap` and `weekly_history` for the charts."""
    periods = frame(con, periods_sql, params)
    if periods.empty:
        return []
    summaries = user_summaries(con, history_periods(periods_sql, HISTORY_WEEKS), params)
    top = _grouped_records(
        con, top_posts_query(periods_sql), params, ("user_id", "period_start", "period_end"), ("rank",)
    )
    best, heat = _best_times_and_heatmap(con, periods_sql, params)
    recruiter = {
        (str(r["user_id"]), pd.Timestamp(r["as_of"])): r
        for r in frame(con, recruiter_query(periods_sql), params).to_dict("records")
    }
    window = pd.Timedelta(days=BEST_TIMES_WINDOW_DAYS)
    zones = account_timezones(con)
    networks = account_networks(con)
    reports = []
    for period in periods.sort_values(["user_id", "period_start"]).to_dict("records"):
        user, start, end = _key(period)
        length = end - start
        summary = summaries[(user, start, end)]
        previous = summaries[(user, start - length, end - length)]
        history = [summaries[(user, start - k * length, end - k * length)] for k in range(HISTORY_WEEKS - 1, -1, -1)]
        rec = recruiter_dict(recruiter.get((user, end)))
        figures = recruiter_figures_dict(recruiter.get((user, end)))
        best_times = [slot_dict(r) for r in best.get((user, end - window, end), [])]
        heatmap = [slot_dict(r) for r in heat.get((user, end - window, end), [])]
        top_posts = [post_dict(r) for r in top.get((user, start, end), [])]
        breakdown = summary["engagement_by_type"]
        reports.append(
            {
                "user_id": user,
                # Days and hours of best_times, the heat map and the advice; weeks stay UTC.
                "timezone": zones.get(user, DEFAULT_TIMEZONE),
                # Bluesky counts no views: its rates are per follower, never comparable with X's per impression.
                "network": networks.get(user, "x"),
                "engagement_basis": engagement_basis(networks.get(user)),
                "report_period": {"start": start.isoformat(), "end": end.isoformat(), "days": length.days},
                "summary": {
                    k: summary[k]
                    for k in (
                        "total_posts",
                        "total_impressions",
                        "total_engagements",
                        "avg_engagement_rate",
                        "best_post",
                        "worst_post",
                    )
                },
                "top_posts": top_posts,
                "engagement_breakdown": breakdown,
                "best_times": best_times,
                "recruiter_metrics": rec,
                "recruiter_figures": figures,
                "trends": week_over_week(summary, previous, rec),
                "recommendations": recommendations(
                    summary["total_posts"],
                    summary["avg_engagement_rate"],
                    list(breakdown),
                    best_times,
                    rec["profile_views_7d"],
                ),
                "generated_at": pd.Timestamp(generated_at).isoformat(),
                "engagement_heatmap": heatmap,
                "weekly_history": [
                    {
                        "week_start": h["time_range"]["start"][:10],
                        "total_posts": h["total_posts"],
                        "total_impressions": h["total_impressions"],
                        "total_engagements": h["total_engagements"],
                        "avg_engagement_rate": h["avg_engagement_rate"],
                    }
                    for h in history
                ],
            }
        )
    return reports


def report_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, sort_keys=False)


# DuckDB sums floats in parallel, in no fixed order: a rebuilt rate may differ in its last bits.
SAME_FIGURE_REL_TOL = 1e-9


def same_content(old, new) -> bool:
    """Two reports (as JSON values) say the same: equal keys in the same order, equal text and
    counts, and floats equal to SAME_FIGURE_REL_TOL."""
    if isinstance(old, float) or isinstance(new, float):
        return (
            isinstance(old, int | float)
            and isinstance(new, int | float)
            and math.isclose(old, new, rel_tol=SAME_FIGURE_REL_TOL, abs_tol=1e-12)
        )
    if isinstance(old, dict):
        return isinstance(new, dict) and list(old) == list(new) and all(same_content(old[k], new[k]) for k in old)
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(map(same_content, old, new))
    return old == new


def _rounded_json(text: str) -> dict:
    """A report's JSON with each float rounded to 12 significant digits (below DuckDB's summing noise)."""
    return json.loads(text, parse_float=lambda number: float(f"{float(number):.12g}"))


def keep_generated_at(reports: list[dict], stored: dict[tuple[str, str], tuple]) -> None:
    """A report that says the same as the one stored for its account and week keeps the stored
    `generated_at` (when its content was built), so it renders to the same files, which are then
    left alone. `stored`: (user_id, week_start %Y-%m-%d) -> (generated_at, report_json)."""
    for report in reports:
        found = stored.get((report["user_id"], report["report_period"]["start"][:10]))
        if found is None:
            continue
        stored_at, stored_json = found
        old = {k: v for k, v in _rounded_json(stored_json).items() if k != "generated_at"}
        new = {k: v for k, v in _rounded_json(report_json(report)).items() if k != "generated_at"}
        # Floats rounded, == (fast) settles nearly every report; same_content judges the rest exactly.
        if old == new or same_content(old, new):
            report["generated_at"] = pd.Timestamp(stored_at).isoformat()
