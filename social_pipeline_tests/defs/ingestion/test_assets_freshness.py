"""The freshness policy of the hourly collection."""

import dagster as dg

from social_pipeline.definitions import defs


def test_collection_has_a_freshness_policy():
    node = defs.resolve_asset_graph().get(dg.AssetKey("raw_tweet_metrics"))
    policy = node.freshness_policy
    assert policy.fail_window.to_timedelta().total_seconds() == 3 * 3600
    assert policy.warn_window.to_timedelta().total_seconds() == 2 * 3600
