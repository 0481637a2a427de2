"""post_follower_gain against a hand-built account series, and X's own per-post count where given."""

from pathlib import Path

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


# ----- refreshed from what changed, equal to the whole-history query --------------------------------
WHOLE_HISTORY_SQL = (Path(__file__).parent / "sql" / "post_follower_gain_whole_history.sql").read_text()


def add_figures(con, user_id: str, hours, followers_of, source: str = "test") -> None:
    con.executemany(
        "INSERT INTO raw.account_snapshots (user_id, collected_at, followers, source) VALUES (?, ?, ?, ?)",
        [(user_id, START + pd.Timedelta(hours=h), followers_of(h), source) for h in hours],
    )


def refresh(warehouse) -> dict:
    result = dg.materialize([post_follower_gain], resources={"warehouse": warehouse})
    assert result.success
    metadata = result.asset_materializations_for_node("post_follower_gain")[0].metadata
    with warehouse.get_connection() as con:
        stored = con.execute("SELECT * FROM analytics.post_follower_gain ORDER BY post_id").fetchall()
        expected = con.execute(f"SELECT * FROM ({WHOLE_HISTORY_SQL}) ORDER BY post_id").fetchall()
        windows = con.execute("SELECT count(*) FROM ops.follower_post_windows").fetchone()[0]
        posts = con.execute("SELECT count(*) FROM raw.posts").fetchone()[0]
    assert stored == expected
    assert windows == posts
    read = ("history_scanned", "new_follower_figures", "posts_read", "posts_recomputed", "rows_written_this_run")
    return {"rows": stored, **{k: metadata[k].value for k in read}}


def test_each_run_reads_only_new_figures_and_open_windows_and_equals_the_whole_history_query(db_path):
    def u1(hour):  # +2 an hour, +5 more in the 6 hours after 10:30, a lost hour (h 30) and a jump at h 60
        return 1000 + 2 * hour + 5 * min(max(hour - 10, 0), 6) + 7 * (hour >= 60)

    def u2(hour):
        return 500 + (hour % 3)

    con = connect(db_path)
    add_figures(con, "u1", [h for h in range(49) if h != 30], u1)
    add_figures(con, "u2", range(49), u2)
    # A figure half an hour off the hour and one without followers: neither makes a one-hour step.
    con.execute(
        "INSERT INTO raw.account_snapshots (user_id, collected_at, followers, source) VALUES "
        "('u2', $half, 777, 'other'), ('u2', $none, NULL, 'other')",
        {"half": START + pd.Timedelta(hours=20, minutes=30), "none": START + pd.Timedelta(hours=21, minutes=30)},
    )
    add_lifecycle_post(con, "p1", START + pd.Timedelta(hours=10, minutes=30))
    add_lifecycle_post(con, "p2", START + pd.Timedelta(hours=12))  # on a figure's time: the next step holds it
    add_lifecycle_post(con, "q1", START + pd.Timedelta(hours=5, minutes=10), user_id="u2")
    add_lifecycle_post(con, "open", START + pd.Timedelta(hours=40))  # 24 h not yet observed
    con.close()
    warehouse = WarehouseResource(database=db_path)

    first = refresh(warehouse)
    # Every figure read: u1's 48, u2's 49 and the half-hour one.
    assert (first["history_scanned"], first["posts_read"], first["new_follower_figures"]) == (True, 4, 98)
    # Hand-computed: u1 has 46 one-hour steps (none ends at 30:00 or 31:00, the lost hour); p1, p2 and
    # `open` fall in those ending 11:00 (+7), 13:00 (+7) and 41:00 (+2). Left: 39 of +2, 4 of +7, median 2.
    # p1: 1,020 at 10:00 to 1,098 at 34:00, 78 - 2 x 24 = 30; p2: 1,034 at 12:00 to 1,102 at 36:00, 20.
    assert [r[:1] + r[3:] for r in first["rows"][:2]] == [
        ("p1", 30.0, "account_snapshots", 1020, 1098, 24.0, 2.0),
        ("p2", 20.0, "account_snapshots", 1034, 1102, 24.0, 2.0),
    ]
    assert [r[0] for r in first["rows"]] == ["p1", "p2", "q1"]

    # Two more days: new figures only. `open` closes its window; a new post; one post moves an hour.
    con = connect(db_path)
    add_figures(con, "u1", range(49, 73), u1)
    add_figures(con, "u2", range(49, 73), u2)
    add_lifecycle_post(con, "p4", START + pd.Timedelta(hours=50, minutes=15))
    con.execute("UPDATE raw.posts SET published_at = published_at + INTERVAL 1 HOUR WHERE post_id = 'p2'")
    con.close()
    second = refresh(warehouse)
    assert not second["history_scanned"] and second["new_follower_figures"] == 48
    # Read again: `open` (window open at the last run), p4 (new), p2 (moved).
    assert second["posts_read"] == 3
    assert "open" in [r[0] for r in second["rows"]]

    # Nothing new: nothing read but the post whose window is still open (p4), the one row looked at.
    third = refresh(warehouse)
    assert (third["history_scanned"], third["new_follower_figures"], third["posts_read"]) == (False, 0, 1)
    # p4 has no row yet: its one recomputed post writes none.
    assert (third["posts_recomputed"], third["rows_written_this_run"]) == (1, 0) and third["rows"] == second["rows"]

    # A figure written into the past (the lost hour): every figure is read again.
    con = connect(db_path)
    add_figures(con, "u1", [30], u1)
    con.close()
    late = refresh(warehouse)
    assert late["history_scanned"] and late["posts_read"] == 5

    # A changed figure, as many rows as before: the hash sees it.
    con = connect(db_path)
    con.execute(
        "UPDATE raw.account_snapshots SET followers = followers + 40 WHERE user_id = 'u1' AND collected_at = $at",
        {"at": START + pd.Timedelta(hours=34)},
    )
    con.close()
    assert refresh(warehouse)["history_scanned"]

    # A post removed: its window goes too (refresh asserts one window per post).
    con = connect(db_path)
    con.execute("DELETE FROM raw.posts WHERE post_id = 'p1'")
    con.close()
    removed = refresh(warehouse)
    assert not removed["history_scanned"] and "p1" not in [r[0] for r in removed["rows"]]

    # X's export gives p2's New follows, then a newer export another figure: the export's count wins.
    for collected_at, follows in [(60, 9), (70, 11)]:
        con = connect(db_path)
        con.execute(
            "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, source, status, new_follows) "
            "VALUES ('p2', $at, 100, 'x_export_content', 'ok', $follows)",
            {"at": START + pd.Timedelta(hours=collected_at), "follows": follows},
        )
        con.close()
        exported = refresh(warehouse)
        p2 = next(r for r in exported["rows"] if r[0] == "p2")
        assert (p2[3], p2[4], exported["history_scanned"]) == (follows, "x_export_new_follows", False)
        assert exported["rows_written_this_run"] >= 1
