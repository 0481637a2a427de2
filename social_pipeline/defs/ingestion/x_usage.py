"""The X API's bill in the warehouse: each run's reads into ops.x_api_usage, and the budget that counts
what other runs spent the same day and month. Only sources that record usage (the X API) take part."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from social_pipeline.core.clock import utc_now
from social_pipeline.core.x_cost import SPEND_BY_ACCOUNT_SQL, usage_frame
from social_pipeline.resources.sources import SourceResource


def apply_budget(con, source: SourceResource, src, run_id: str) -> None:
    """Gives a budgeted source what earlier runs spent today and this month (UTC), so its budget counts them."""
    if not hasattr(src, "budget") or not hasattr(source, "budget"):
        return
    today = src.clock().normalize()
    spent = con.execute(
        """SELECT coalesce(sum(estimated_usd) FILTER (WHERE day = $today::DATE), 0),
                  coalesce(sum(estimated_usd), 0)
           FROM ops.x_api_usage
           WHERE day >= date_trunc('month', $today::DATE) AND day <= $today::DATE AND run_id <> $run_id""",
        {"today": today, "run_id": run_id},
    ).fetchone()
    src.budget = source.budget(float(spent[0]), float(spent[1]))


def record_x_usage(con, src, run_id: str) -> dict:
    """Adds the source's reads not yet recorded to the run's rows of ops.x_api_usage (one per day, endpoint,
    account and kind of read) and returns the run's totals as metadata. Call inside the write transaction."""
    if not hasattr(src, "take_usage"):
        return {}
    incoming = usage_frame(src.take_usage(), run_id).assign(recorded_at=utc_now())
    if len(incoming):
        con.register("incoming_usage", incoming)
        merged = con.execute(
            """SELECT i.day::DATE AS day, i.endpoint, i.user_id, i.read_kind, i.run_id,
                      i.request_count + coalesce(o.request_count, 0) AS request_count,
                      i.resources + coalesce(o.resources, 0) AS resources,
                      i.estimated_usd + coalesce(o.estimated_usd, 0) AS estimated_usd, i.recorded_at
               FROM incoming_usage AS i
               LEFT JOIN ops.x_api_usage AS o
                 ON o.day = i.day::DATE AND o.endpoint = i.endpoint AND o.user_id = i.user_id
                AND o.read_kind = i.read_kind AND o.run_id = i.run_id"""
        ).df()
        con.execute("""DELETE FROM ops.x_api_usage AS o USING incoming_usage AS i
                       WHERE o.day = i.day::DATE AND o.endpoint = i.endpoint AND o.user_id = i.user_id
                         AND o.read_kind = i.read_kind AND o.run_id = i.run_id""")
        con.unregister("incoming_usage")
        con.register("merged_usage", merged)
        con.execute("INSERT INTO ops.x_api_usage BY NAME SELECT * FROM merged_usage")
        con.unregister("merged_usage")
    return run_usage_metadata(con, run_id)


def run_usage_metadata(con, run_id: str) -> dict:
    totals = con.execute(
        "SELECT coalesce(sum(request_count), 0), coalesce(sum(resources), 0), "
        "coalesce(sum(estimated_usd), 0) FROM ops.x_api_usage WHERE run_id = $run_id",
        {"run_id": run_id},
    ).fetchone()
    # The week so far: the last 7 UTC days, today included.
    today = utc_now().normalize()
    week = con.execute(
        SPEND_BY_ACCOUNT_SQL, {"start": today - pd.Timedelta(days=6), "end": today + pd.Timedelta(days=1)}
    ).df()
    return {
        "x_api_usd_last_7_days_by_account": dg.MetadataValue.json(
            {r.user_id: round(float(r.usd), 4) for r in week.itertuples()}
        ),
        "x_api_requests_this_run": dg.MetadataValue.int(int(totals[0])),
        "x_api_resources_this_run": dg.MetadataValue.int(int(totals[1])),
        "x_api_usd_this_run": dg.MetadataValue.float(round(float(totals[2]), 6)),
    }
