"""The analytics seed's collector API, kept for callers of `collect_post_metrics`.

Built on the batched source: `collect_posts_metrics` costs one request per 100 posts,
and `collect_post_metrics` is the one-post case of it. Shapes follow the seed:
`{'success': True, 'metrics': {...}, 'collected_at': datetime}` or
`{'success': False, 'error': str}`; a persistent rate limit raises `RateLimitError`.
Unknown figures are None (the seed's ints, but we do not invent zeros).
"""

from __future__ import annotations

import pandas as pd

from social_pipeline.core.clock import utc_now
from social_pipeline.sources.protocol import PostSource
from social_pipeline.sources.x_api import RateLimitError, XApiError

SEED_METRICS = ("impressions", "likes", "retweets", "replies", "quotes", "url_clicks", "profile_clicks", "media_views")

__all__ = ["RateLimitError", "collect_post_metrics", "collect_posts_metrics"]


def _none_if_missing(value):
    return None if value is None or pd.isna(value) else int(value)


def collect_posts_metrics(post_ids, source: PostSource) -> dict[str, dict]:
    """Seed-shaped results for many posts, fetched in batches. Raises RateLimitError."""
    post_ids = [str(p) for p in post_ids]
    now = utc_now()
    try:
        batch = source.fetch_metrics(pd.DataFrame({"post_id": post_ids, "collected_at": now}))
    except RateLimitError:
        raise
    except XApiError as exc:
        return {post_id: {"success": False, "error": str(exc)} for post_id in post_ids}
    results: dict[str, dict] = {}
    for row in batch.frame.to_dict("records"):
        if row["status"] != "ok":
            results[row["post_id"]] = {"success": False, "error": f"post {row['post_id']} is {row['status']}"}
            continue
        results[row["post_id"]] = {
            "success": True,
            "metrics": {name: _none_if_missing(row.get(name)) for name in SEED_METRICS},
            "collected_at": pd.Timestamp(row["collected_at"]).to_pydatetime(),
        }
    for post_id in post_ids:
        results.setdefault(post_id, {"success": False, "error": f"post {post_id}: no answer from {source.name}"})
    return results


def collect_post_metrics(post_id, source: PostSource) -> dict:
    """The seed's one-post call. Raises RateLimitError when the API keeps answering 429."""
    return collect_posts_metrics([post_id], source)[str(post_id)]
