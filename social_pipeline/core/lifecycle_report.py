"""The weekly report's lifecycle sections: the account's typical curve with the week's posts against
it, the week's early alerts, and the posts that brought followers. Plain Python over DuckDB."""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from .lifecycle import LIFECYCLE_AGES_HOURS
from .sql_files import sql_loader

sql = sql_loader(__file__)
FOLLOWER_POSTS_SHOWN = 5


def add_lifecycle_sections(con: duckdb.DuckDBPyConnection, reports: list[dict]) -> None:
    """Add `lifecycle` ({typical: [[age, impressions]], posts: [{post_id, text, points}]}), `post_alerts`
    and `follower_posts` to each report (user_id and report_period as weekly_reports gives them)."""
    if not reports:
        return
    keys = pd.DataFrame(
        {
            "user_id": [r["user_id"] for r in reports],
            "period_start": [pd.Timestamp(r["report_period"]["start"]) for r in reports],
            "period_end": [pd.Timestamp(r["report_period"]["end"]) for r in reports],
        }
    )
    con.register("report_keys", keys)
    try:
        paths = con.execute(sql("report_lifecycle")).df()
        rows = con.execute(sql("report_alerts_and_followers")).df()
    finally:
        con.unregister("report_keys")
    paths_by, rows_by = _by_report(paths), _by_report(rows)
    for report in reports:
        key = (report["user_id"], pd.Timestamp(report["report_period"]["start"]))
        path = paths_by.get(key, [])
        posts: dict[str, list[dict]] = {}
        for r in path:
            if r["series"] != "typical":
                posts.setdefault(r["series"], []).append(r)
        report["lifecycle"] = {
            "typical": [[int(r["age_hours"]), float(r["impressions"])] for r in path if r["series"] == "typical"],
            "posts": [
                {
                    "post_id": post_id,
                    "text": str(posts[post_id][0]["text"] or ""),
                    "points": [[int(r["age_hours"]), int(r["impressions"])] for r in posts[post_id]],
                }
                for post_id in sorted(posts)
            ],
        }
        found = rows_by.get(key, [])
        report["post_alerts"] = [
            {
                "post_id": r["post_id"],
                "text": str(r["text"] or ""),
                "direction": r["direction"],
                "age_hours": int(r["age_hours"]),
                "actual_impressions": int(r["actual_impressions"]),
                "expected_low": round(float(r["expected_low"])),
                "expected_high": round(float(r["expected_high"])),
            }
            for r in found
            if r["kind"] == "alert"
        ]
        followers = [r for r in found if r["kind"] == "followers"][:FOLLOWER_POSTS_SHOWN]
        report["follower_posts"] = [
            {
                "post_id": r["post_id"],
                "text": str(r["text"] or ""),
                "followers_gained": round(float(r["followers_gained"]), 1),
                "method": r["method"],
            }
            for r in followers
        ]


def _by_report(rows: pd.DataFrame) -> dict[tuple, list[dict]]:
    """(user_id, period_start) -> that report's rows as dicts, in the query's order."""
    grouped: dict[tuple, list[dict]] = {}
    for row in rows.to_dict("records"):
        grouped.setdefault((row["user_id"], pd.Timestamp(row["period_start"])), []).append(row)
    return grouped


def lifecycle_layout(lifecycle: dict) -> dict:
    """The lifecycle chart's geometry: ages on a log axis (1 h .. 7 d), impressions on a log10(1 + x) axis;
    the typical path as a thick line, each of the week's posts as a thin one."""
    width, height, left, right, top, bottom = 640, 260, 56, 24, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    first, last = math.log(LIFECYCLE_AGES_HOURS[0]), math.log(LIFECYCLE_AGES_HOURS[-1])
    values = [i for _, i in lifecycle.get("typical", [])] + [
        i for post in lifecycle.get("posts", []) for _, i in post["points"]
    ]
    top_value = max([math.log10(1 + max(v, 0)) for v in values] + [1.0])

    def x(age):
        return round(left + plot_w * (math.log(age) - first) / (last - first), 1)

    def y(value):
        return round(top + plot_h * (1 - math.log10(1 + max(value, 0)) / top_value), 1)

    def line(points):
        return " ".join(f"{x(a)},{y(i)}" for a, i in points)

    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "baseline": top + plot_h,
        "ages": [(x(a), f"{a} h" if a < 24 else f"{a // 24} d") for a in LIFECYCLE_AGES_HOURS],
        "ticks": [(y(10**d - 1), f"{10**d:,}") for d in range(int(top_value) + 1)],
        "typical": line(lifecycle.get("typical", [])),
        "posts": [
            {
                "points": line(post["points"]),
                "title": f"{post['post_id']}: {post['text'][:80]}",
                "last_x": x(post["points"][-1][0]),
                "last_y": y(post["points"][-1][1]),
            }
            for post in lifecycle.get("posts", [])
            if post["points"]
        ],
    }
