"""post_follower_gain against a hand-built account series, and X's own per-post count where given."""

import dagster as dg
import pandas as pd

from social_pipeline.defs.analytics.follower_gain import post_follower_gain
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import add_lifecycle_post

START = pd.Timestamp("2026-11-01 00:00")


def followers_at(hour: int) -> int:
    """+2 an hour, and 5 more in each of the 6 hours after the post of 10:30 (steps ending 11:00 .. 16:00)."""
    return 1000 + 2 * hour + 5 * min(max(hour - 10, 0), 6)


def test_gain_is_the_24_hours_change_less_the_usual_growth(db_path):
    con = connect(db_path)
    for hour in range(49):  # hourly, 2026-11-01 00:00 .. 2026-11-03 00:00
        con.execute(
            "INSERT INTO raw.account_snapshots (user_id, collected_at, followers, source) "
            "VALUES ('u1', $at, $followers, 'test')",
            {"at": START + pd.Timedelta(hours=hour), "followers": followers_at(hour)},
        )
    add_lifecycle_post(con, "p1", START + pd.Timedelta(hours=10, minutes=30))
    add_lifecycle_post(con, "late", START + pd.Timedelta(hours=44))  # its 24 h are not observed yet: no row
    # p3's export gave New follows twice: the newest figure wins over the follower series.
    add_lifecycle_post(con, "p3", START + pd.Timedelta(hours=18))
    for collected_at, follows in [(START + pd.Timedelta(hours=30), 5), (START + pd.Timedelta(hours=40), 12)]:
        con.execute(
            "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, source, status, new_follows) "
            "VALUES ('p3', $at, 100, 'x_export_content', 'ok', $follows)",
            {"at": collected_at, "follows": follows},
        )
    con.close()

    warehouse = WarehouseResource(database=db_path)
    result = dg.materialize([post_follower_gain], resources={"warehouse": warehouse})
    assert result.success
    with warehouse.get_connection() as con:
        rows = con.execute(
            "SELECT post_id, followers_gained, method, followers_before, followers_after, window_hours, "
            "baseline_hourly_gain FROM analytics.post_follower_gain ORDER BY post_id"
        ).fetchall()
    # p1: 1,020 at 10:00 -> 1,098 at 10:00 the next day = 78; the usual growth is 2 an hour (the median
    # of the 45 one-hour steps without a post: 40 of +2, 5 of +7), so 78 - 2 x 24 = 30.
    assert rows == [
        ("p1", 30.0, "account_snapshots", 1020, 1098, 24.0, 2.0),
        ("p3", 12.0, "x_export_new_follows", 1066, 1114, 24.0, 2.0),
    ]
    metadata = result.asset_materializations_for_node("post_follower_gain")[0].metadata
    assert (metadata["posts_by_account_snapshots"].value, metadata["posts_by_x_export_new_follows"].value) == (1, 1)
