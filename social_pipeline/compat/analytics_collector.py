"""The analytics seed's Python API, `AnalyticsCollector`, backed by the DuckDB warehouse.

Same method names, parameters and return shapes as the seed, so notebooks and the platform's
existing code (the seed's weekly report e-mail, say) run unchanged. Every figure comes from
the queries the Dagster assets run (`core/analytics_queries.py`): one implementation of each
formula. Collection itself (`collect_post_metrics`, `update_post_analytics`) is the pipeline's
job (the `hourly_collection` assets), so those seed methods are not offered here.

Missing data gives the seed's safe defaults: 0.0, the empty structure, [].
Ids are strings in the warehouse; the seed's integer ids are accepted and converted.

Time windows are relative to `as_of` (default: the wall clock, UTC), as in the seed:
the summary's default range is the last 30 days, best posting times look at the last 90
days, the weekly report covers the last 7 days (the calendar weeks Monday to Sunday are in
`analytics.weekly_reports`).
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime

import duckdb
import pandas as pd

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.clock import naive_utc, utc_now
from social_pipeline.warehouse.connection import connect, database_path, is_local_file, is_lock_error
from social_pipeline.warehouse.file_stores import file_stores_from_env

SUMMARY_DEFAULT_DAYS = 30
REPORT_DAYS = 7


def _path_of(db_manager) -> str | None:
    """The seed passed a DatabaseManager: use a database path it names, else the default."""
    if db_manager is None:
        return None
    if isinstance(db_manager, (str, os.PathLike)):
        return os.fspath(db_manager)
    for attribute in ("db_path", "database_path", "database", "path"):
        value = getattr(db_manager, attribute, None)
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
    return None


class AnalyticsCollector:
    """`AnalyticsCollector()` reads `SOCIAL_PIPELINE_DB`; `AnalyticsCollector("path.duckdb")` reads that
    file; the seed's `AnalyticsCollector(db_manager, twitter_handler)` also works (the handler is not
    needed: the pipeline collects metrics)."""

    def __init__(self, db_path=None, twitter_handler=None, *, as_of: datetime | str | None = None):
        self.db_path = _path_of(db_path) or database_path()
        self.twitter_handler = twitter_handler
        self._as_of = as_of

    # ----- plumbing -------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        return naive_utc(self._as_of) if self._as_of is not None else utc_now()

    def _run(self, work):
        """Run `work(con)` on a read-only connection. A warehouse not built yet answers like an
        empty one (the seed's safe defaults), through the very same queries."""
        if is_local_file(self.db_path) and not os.path.exists(self.db_path):
            return self._on_empty_warehouse(work)
        try:
            con = connect(self.db_path, read_only=True)
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise
            con = self._bi_copy_while_locked(exc)
        with con:
            try:
                return work(con)
            except duckdb.CatalogException:  # the tables this needs have not been materialised yet
                return self._on_empty_warehouse(work)

    def _bi_copy_while_locked(self, exc: Exception) -> duckdb.DuckDBPyConnection:
        """A run is writing the warehouse (DuckDB: one writer process, no readers beside it). The
        pipeline's own warehouse has a read-only copy republished after every run: read that, and say so."""
        copy = file_stores_from_env().bi_database_path()
        if os.path.abspath(self.db_path) != os.path.abspath(database_path()) or not os.path.exists(copy):
            raise RuntimeError(
                f"{self.db_path} is locked by another process (most likely a Dagster run writing "
                f"it) and it has no BI copy to read instead; retry when the run has finished"
            ) from exc
        warnings.warn(
            f"{self.db_path} is being written by a run; reading the BI copy {copy} "
            "(the state after the last successful run)",
            stacklevel=4,
        )
        return connect(copy, read_only=True)

    @staticmethod
    def _on_empty_warehouse(work):
        with connect(":memory:") as con:
            con.execute(f"CREATE TABLE analytics.post_performance AS {q.sql_text('post_performance')}")
            return work(con)

    def _period(self, user_id, start, end) -> dict:
        return {"user_id": str(user_id), "period_start": naive_utc(start), "period_end": naive_utc(end)}

    # ----- the seed's methods ---------------------------------------------------------
    def calculate_engagement_rate(self, post_id) -> float:
        """Engagement rate in percent (0.0-100.0) from the post's latest snapshot; 0.0 when unknown."""

        def work(con):
            rows = con.execute(
                "SELECT engagement_rate_pct FROM analytics.post_performance WHERE post_id = $id", {"id": str(post_id)}
            ).fetchall()
            return float(rows[0][0]) if rows and rows[0][0] is not None else 0.0

        return self._run(work)

    def get_user_analytics_summary(self, user_id, date_range: tuple | None = None) -> dict:
        """Totals, average engagement rate, best and worst post and the content-type breakdown of
        the posts published in date_range = (start, end) (default: the last 30 days)."""
        end = self.now() if date_range is None else date_range[1]
        start = end - pd.Timedelta(days=SUMMARY_DEFAULT_DAYS) if date_range is None else date_range[0]
        params = self._period(user_id, start, end)

        def work(con):
            return next(iter(q.user_summaries(con, q.ONE_PERIOD_SQL, params).values()))

        return self._run(work)

    def identify_best_posting_times(self, user_id) -> list[dict]:
        """Up to 10 (day, hour) slots of the last 90 days with at least 2 posts, best first; day and
        hour in the account's time zone, named in each slot's `timezone` (UTC by default)."""
        params = self._period(user_id, self.now(), self.now())

        def work(con):
            rows = q.frame(con, q.best_times_query(q.ONE_PERIOD_SQL), params).sort_values("rank")
            return [q.slot_dict(r) for _, r in rows.iterrows()]

        return self._run(work)

    def track_recruiter_engagement(self, user_id) -> dict:
        """Profile views (7 and 30 days), recruiter figures (30 days), estimated reach and
        view_change_pct (None when the previous week had no views), over the closed days before now."""
        params = self._period(user_id, self.now(), self.now())

        def work(con):
            rows = q.frame(con, q.recruiter_query(q.ONE_PERIOD_SQL), params)
            return q.recruiter_dict(rows.iloc[0] if len(rows) else None)

        return self._run(work)

    def generate_weekly_report(self, user_id) -> dict:
        """The seed's weekly report for the last 7 days. A week without posts has `top_posts == []`."""
        end = self.now()
        params = self._period(user_id, end - pd.Timedelta(days=REPORT_DAYS), end)
        generated_at = utc_now()

        def work(con):
            return q.weekly_reports(con, q.ONE_PERIOD_SQL, params, generated_at)[0]

        return self._run(work)
