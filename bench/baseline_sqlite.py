"""The baseline: the analytics seed's way of working. Per-user and per-post Python loops over rows
fetched one query at a time from SQLite, the seed's formulas applied in Python: for each user and
week, `get_user_analytics_summary` (the week's posts, then one metrics query per post, as the seed's
`calculate_engagement_rate` does) and `identify_best_posting_times` over the 90 days before the
week's end (again one query per post), then `generate_weekly_report`'s top 5 posts and
recommendations (the profile views of the week, one more query). The answers are the pipeline's,
so both can be compared."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta

from social_pipeline.core.metrics import engagement_rate_pct, engagements
from social_pipeline.core.recommendations import recommendations
from social_pipeline.core.reports import DAY_NAMES

BEST_TIMES_WINDOW_DAYS = 90
_FORMAT = "%Y-%m-%d %H:%M:%S"


class SeedStyleAnalytics:
    def __init__(self, sqlite_path: str):
        self.con = sqlite3.connect(sqlite_path)

    def close(self) -> None:
        self.con.close()

    def post_figures(self, post_id: str) -> tuple[int, int, float] | None:
        """calculate_engagement_rate: the post's latest metrics, one query."""
        row = self.con.execute(
            "SELECT impressions, likes, retweets, replies, quotes FROM tweet_metrics "
            "WHERE post_id = ? ORDER BY collected_at DESC LIMIT 1",
            (post_id,),
        ).fetchone()
        if row is None:
            return None
        impressions, likes, retweets, replies, quotes = row
        return (
            impressions,
            engagements(likes, retweets, replies, quotes),
            engagement_rate_pct(likes, retweets, replies, quotes, impressions),
        )

    def posts(self, user_id: str, start: datetime, end: datetime) -> list[tuple]:
        return self.con.execute(
            "SELECT post_id, published_at, content_type FROM posts WHERE user_id = ? "
            "AND published_at >= ? AND published_at < ?",
            (user_id, start.strftime(_FORMAT), end.strftime(_FORMAT)),
        ).fetchall()

    def user_summary(self, user_id: str, start: datetime, end: datetime) -> dict:
        posts = [(p, t, self.post_figures(p)) for p, _, t in self.posts(user_id, start, end)]
        posts = [(p, t, f) for p, t, f in posts if f]
        figures = [f for _, _, f in posts]
        # generate_weekly_report's top posts: by rate, then engagements, then id (the pipeline's tie rule).
        top = sorted(posts, key=lambda x: (-x[2][2], -x[2][1], x[0]))[:5]
        return {
            "total_posts": len(figures),
            "total_impressions": sum(f[0] for f in figures),
            "total_engagements": sum(f[1] for f in figures),
            "avg_engagement_rate_pct": sum(f[2] for f in figures) / len(figures) if figures else 0.0,
            "content_types": sorted({t for _, t, _ in posts if t is not None}),
            "top_post_ids": [p for p, _, _ in top],
        }

    def profile_views(self, user_id: str, start: datetime, end: datetime) -> int:
        row = self.con.execute(
            "SELECT sum(profile_views) FROM profile_activity WHERE user_id = ? "
            "AND snapshot_date >= ? AND snapshot_date < ?",
            (user_id, start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")),
        ).fetchall()
        return int(row[0][0] or 0)

    def best_posting_times(self, user_id: str, end: datetime) -> list[tuple]:
        slots = defaultdict(list)
        for post_id, published_at, _ in self.posts(user_id, end - timedelta(days=BEST_TIMES_WINDOW_DAYS), end):
            figures = self.post_figures(post_id)
            if figures:
                published = datetime.strptime(published_at, _FORMAT)
                slots[(published.weekday(), published.hour)].append(figures)
        ranked = sorted(
            (
                (dow, hour, len(v), sum(f[2] for f in v) / len(v), sum(f[1] for f in v))
                for (dow, hour), v in slots.items()
                if len(v) >= 2
            ),
            key=lambda s: (-s[3], -s[2], -s[4], s[0], s[1]),
        )
        return [(dow, hour, n, rate) for dow, hour, n, rate, _ in ranked[:10]]


def run_baseline(sqlite_path: str, week_starts: list[str], user_fraction: float = 1.0) -> dict:
    """Every user's weekly summaries and best posting times, and each post's latest figures.
    `user_fraction` < 1 runs the first share of users (for the largest size, scaled up after)."""
    with contextlib.closing(SeedStyleAnalytics(sqlite_path)) as seed:
        users = [row[0] for row in seed.con.execute("SELECT DISTINCT user_id FROM posts ORDER BY user_id")]
        users = users[: max(1, int(round(len(users) * user_fraction)))]
        weeks = [datetime.strptime(w, "%Y-%m-%d") for w in week_starts]
        posts_out, weeks_out, best_out, reports_out = {}, {}, {}, {}
        for user_id in users:
            for week in weeks:
                end = week + timedelta(days=7)
                summary = seed.user_summary(user_id, week, end)
                best = seed.best_posting_times(user_id, end)
                weeks_out[(user_id, week.strftime("%Y-%m-%d"))] = summary
                best_out[(user_id, end.strftime("%Y-%m-%d"))] = best
                slots = [
                    {"day_name": DAY_NAMES[d], "hour": h, "posts_count": n, "avg_engagement_rate": r}
                    for d, h, n, r in best
                ]
                reports_out[(user_id, week.strftime("%Y-%m-%d"))] = {
                    "top_post_ids": summary["top_post_ids"],
                    "recommendations": recommendations(
                        summary["total_posts"],
                        summary["avg_engagement_rate_pct"],
                        summary["content_types"],
                        slots,
                        seed.profile_views(user_id, week, end),
                    ),
                }
            for post_id, _, _ in seed.posts(user_id, datetime.min, datetime.max):
                figures = seed.post_figures(post_id)
                if figures:
                    posts_out[post_id] = figures
        return {"users": users, "posts": posts_out, "weeks": weeks_out, "best_times": best_out, "reports": reports_out}
