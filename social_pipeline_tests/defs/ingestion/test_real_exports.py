"""Files shaped like real X exports, with their quirks, through `social-pipeline ingest` and the inbox
sensor's runs; a repost on the X API path through the `responses` HTTP fake; the inbox under a lock."""

import json
import os
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import responses

from social_pipeline.app.cli import main
from social_pipeline.core.clock import utc_now
from social_pipeline.defs.analytics.assets import post_performance, post_snapshots
from social_pipeline.defs.analytics.checks import engagement_rate_within_bounds, engagement_rates_plausible
from social_pipeline.defs.ingestion import sensors as inbox_module
from social_pipeline.defs.ingestion.assets import raw_posts
from social_pipeline.defs.ingestion.sensors import inbox_sensor
from social_pipeline.defs.ops.sensors import record_and_notify_run_failure
from social_pipeline.resources.smtp import SmtpResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    API,
    NOW,
    _x_resources,
    file_check,
    file_stores_under,
    run,
    sensor_context,
    snowflake,
    tweet,
    tweets_callback,
    users_response,
    with_hours,
)

CLASSIC_HEAD = (
    '\ufeff"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements","engagement rate",'
    '"retweets","replies","likes","user profile clicks","url clicks","media views"\n'
)
CONTENT_HEAD = (
    "Date,Post id,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,"
    "Replies,Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks\n"
)
PLACEHOLDER = ",,,https://x.com/alice_data/status/undefined," + ",".join(["0"] * 13) + "\n"


def classic(post_id, when, text, impressions, likes, retweets=1, replies=0):
    return (
        f'"{post_id}","https://twitter.com/alice_data/status/{post_id}","{text}","{when} +0000",'
        f'"{impressions}.0","0.0","0.0","{retweets}.0","{replies}.0","{likes}.0","0.0","0.0","-"\n'
    )


def content(post_id, day, text, impressions, likes, reposts=0, replies=0):
    return (
        f'"{day}",{post_id},"{text}",https://x.com/alice_data/status/{post_id},{impressions},{likes},0,0,0,0,'
        f"{replies},{reposts},0,0,0,0,0\n"
    )


# Names as X gives them; the newest figures are stamped at the range's end (23:59 UTC) or the download.
HISTORY = "tweet_activity_metrics_alice_data_20161101_20161130_en.csv"
NEWER = "account_analytics_content_2026-10-23_2026-11-22.csv"
FILES = {
    # Years back: an old post with likes and 0 impressions, one with 7 engagements on 2 impressions.
    HISTORY: CLASSIC_HEAD
    + classic("798218359567810560", "2016-11-14 17:02", "old but gold", 350, 9)
    + classic("799306587337805824", "2016-11-17 17:06", "before X counted views", 0, 12)
    + classic("800740163011850240", "2016-11-21 16:02", "two views, seven engagements", 2, 5, retweets=2)
    + classic("801087227040636928", "2016-11-22 15:01", "RT @bob: a repost counts the original's figures", 2, 0, 49),
    # The newer layout with X's placeholder rows between and after the real ones.
    NEWER: CONTENT_HEAD
    + content("2122253338014646279", "Mon, Nov 16, 2026", "Monday notes", 1210, 33, 2, 5)
    + PLACEHOLDER
    + content("2122993213240246279", "Wed, Nov 18, 2026", "a thread", 860, 12, 0, 9)
    + PLACEHOLDER
    + content("2123733088465846279", "Fri, Nov 20, 2026", "few views", 2, 5, 2)
    + PLACEHOLDER,
    "overflow.csv": CLASSIC_HEAD
    + classic("2117530719482806272", "2026-11-03 08:14", "fine", 10, 1)
    + classic("2117530719482806273", "2026-11-03 09:14", "huge", "99999999999999999999", 1),
    "future.csv": CLASSIC_HEAD
    + classic("2117530719482806274", "2026-11-03 08:14", "fine", 10, 1)
    + classic("2117530719482806275", "2031-06-01 09:00", "from the future", 10, 1),
    "header_only.csv": CONTENT_HEAD,
}
# Dropped (and downloaded) on 2026-11-25: after each range's end, before the test's real "now".
DOWNLOADED = pd.Timestamp("2026-11-25 10:00").timestamp()


def write(folder: Path, name: str, text: str | None = None, mtime: float = DOWNLOADED) -> Path:
    path = folder / name
    path.write_text(FILES[name] if text is None else text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def performance(db: str) -> dict:
    con = connect(db, read_only=True)
    try:
        rows = con.execute(
            "SELECT post_id, impressions, likes, engagement_rate_pct, engagement_rate_flag "
            "FROM analytics.post_performance ORDER BY post_id"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


# Every post of the two good files, with its figures, rate and flag (the repost and placeholders are not posts).
EXPECTED = {
    "2122253338014646279": (1210, 33, pytest.approx(40 / 1210 * 100), None),
    "2122993213240246279": (860, 12, pytest.approx(21 / 860 * 100), None),
    "2123733088465846279": (2, 5, 350.0, "engagements_exceed_impressions"),
    "798218359567810560": (350, 9, pytest.approx(10 / 350 * 100), None),
    "799306587337805824": (0, 12, 0.0, "engagements_without_impressions"),
    "800740163011850240": (2, 5, 350.0, "engagements_exceed_impressions"),
}


def test_cli_ingests_real_exports_skips_their_quirks_and_refuses_the_impossible(
    tmp_path, monkeypatch, capsys, cli_outputs
):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = [str(write(tmp_path, name)) for name in FILES]
    assert main(["ingest", *paths]) == 1
    out = capsys.readouterr()
    assert f"ingested {NEWER}: x_export_content, 3 rows new, 0 updated, 0 unchanged" in out.out
    assert "3 placeholder rows X writes into its exports" in out.out and "skipped: line(s) 3, 5, 7" in out.out
    assert "1 reposts skipped (their counts are the original post's, not this account's): line(s) 5" in out.out
    assert (
        "REJECTED overflow.csv: line 3: column 'impressions': '99999999999999999999.0' is too large for a count"
    ) in out.err
    assert (
        "REJECTED future.csv: line 3: column 'time': '2031-06-01 09:00 +0000' is after the time of ingestion" in out.err
    )
    assert "NO ROWS in header_only.csv: the file has a header but no rows; nothing was written" in out.out
    assert (
        "5 files: 2 ingested (6 rows new, 0 updated, 0 unchanged), 0 already ingested, 1 without rows, "
        "2 rejected" in out.out
    )
    # The files before the rejected ones are complete, analytics included; the flagged posts do not block
    # the weekly reports: the week of 2026-11-16 averages (40/1210 + 21/860 + 350%) / 3, as the seed does.
    assert "analytics refreshed: post_snapshots, post_performance (ok)" in out.out
    [weekly] = [line for line in out.out.splitlines() if "weekly analytics and reports rebuilt" in line]
    assert weekly.endswith("(ok)")
    assert performance(db) == EXPECTED
    con = connect(db, read_only=True)
    week = con.execute(
        "SELECT total_posts, avg_engagement_rate_pct FROM analytics.user_summary "
        "WHERE user_id = 'alice_data' AND period_start = '2026-11-16'"
    ).fetchall()
    reports = con.execute("SELECT count(*) FROM analytics.weekly_reports WHERE week_start = '2026-11-16'").fetchall()
    con.close()
    assert week == [(3, pytest.approx((40 / 1210 * 100 + 21 / 860 * 100 + 350.0) / 3))] and reports == [(1,)]
    con = connect(db, read_only=True)
    ledger = con.execute(
        "SELECT file_name, rows_new, rows_updated, rows_unchanged FROM ops.ingested_files ORDER BY 1"
    ).fetchall()
    newest = con.execute("SELECT max(snapshot_time) FROM analytics.post_snapshots").fetchall()[0][0]
    con.close()
    assert ledger == [(NEWER, 3, 0, 0), (HISTORY, 3, 0, 0)]  # the header-only file is not in the ledger
    assert newest == pd.Timestamp("2026-11-22 23:59")  # no row moved "now" (the 2031 post was refused)


def test_inbox_runs_handle_each_odd_file_without_a_red_run(tmp_path):
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    for name in FILES:
        write(inbox, name)
    with nullcontext(dg.DagsterInstance.ephemeral()) as instance:
        requests = inbox_sensor(sensor_context(instance, stores))
        results = {r.tags["inbox/file"]: run(r, db, instance, stores) for r in requests}
        assert sorted(results) == sorted(FILES)
        assert all(result.success for result in results.values())
        outcome = {
            name: (r.asset_materializations_for_node("inbox_files")[0].metadata["outcome"].value, file_check(r).passed)
            for name, r in results.items()
        }
        assert outcome == {
            HISTORY: ("ingested", True),
            NEWER: ("ingested", True),
            "overflow.csv": ("rejected", False),
            "future.csv": ("rejected", False),
            "header_only.csv": ("empty", False),
        }
        # Rejected at once: no retry of a file's own problem.
        assert not [e for e in results["overflow.csv"].all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        error = (inbox / "rejected" / "overflow.csv.error.txt").read_text()
        assert "line 3: column 'impressions': '99999999999999999999.0' is too large for a count" in error
        assert (
            "header_only.csv: no rows: the file has a header but no rows"
            in file_check(results["header_only.csv"]).description
        )
        notes = results[NEWER].asset_materializations_for_node("inbox_files")[0].metadata["notes"].value
        assert "3 placeholder rows" in notes
        checks = {c.check_name: c for c in results[HISTORY].get_asset_check_evaluations()}
        assert checks["engagement_rate_within_bounds"].passed
        assert not checks["engagement_rates_plausible"].passed
        assert (
            "799306587337805824 (13 engagements on 0 impressions), 800740163011850240 (7 engagements on 2 "
            "impressions)" in checks["engagement_rates_plausible"].description
        )
    assert performance(db) == EXPECTED
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == sorted([HISTORY, NEWER, "header_only.csv"])


REDOWNLOAD = "tweet_activity_metrics_alice_data_20261101_20261122_en.csv"


def downloads():
    """The same range downloaded on 2026-11-23 and again on 2026-11-27 with higher counts."""
    first = (
        CLASSIC_HEAD
        + classic("2117530719482806272", "2026-11-03 08:14", "a", 100, 5)
        + classic("2117530719482806276", "2026-11-10 08:14", "b", 40, 2)
    )
    later = (
        CLASSIC_HEAD
        + classic("2117530719482806272", "2026-11-03 08:14", "a", 180, 9)
        + classic("2117530719482806276", "2026-11-10 08:14", "b", 40, 2)
    )
    return (first, pd.Timestamp("2026-11-23 08:00").timestamp()), (later, pd.Timestamp("2026-11-27 19:30").timestamp())


def latest_figures(db):
    con = connect(db, read_only=True)
    try:
        return con.execute(
            "SELECT post_id, snapshot_time, impressions, likes FROM analytics.post_snapshots "
            "ORDER BY post_id, snapshot_time"
        ).fetchall()
    finally:
        con.close()


def download_ingester(way, tmp_path, monkeypatch, capsys):
    """(ingest, db): ingest(text, mtime) writes REDOWNLOAD with that modification time and ingests it the
    `way` given (`social-pipeline ingest --move`, or the inbox sensor's run), giving its counts and notes."""
    db, inbox = str(tmp_path / "w.duckdb"), tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    instance = dg.DagsterInstance.ephemeral()

    def ingest(text, mtime):
        path = write(inbox, REDOWNLOAD, text, mtime)
        if way == "cli":
            main(["ingest", str(path), "--move"])
            return capsys.readouterr().out
        [request] = inbox_sensor(sensor_context(instance, stores))
        meta = run(request, db, instance, stores).asset_materializations_for_node("inbox_files")[0].metadata
        return (
            f"{meta['rows_new'].value} rows new, {meta['rows_updated'].value} updated, "
            f"{meta['rows_unchanged'].value} unchanged\n{meta['notes'].value}"
        )

    return ingest, db


@pytest.mark.parametrize("way", ["cli", "sensor"])
def test_a_later_download_of_the_same_range_becomes_a_later_snapshot(tmp_path, monkeypatch, capsys, way, cli_outputs):
    ingest, db = download_ingester(way, tmp_path, monkeypatch, capsys)
    (first, first_mtime), (later, later_mtime) = downloads()
    older_copy = first.replace('"100.0"', '"90.0"')  # an even older download, ingested last

    assert "2 rows new, 0 updated, 0 unchanged" in ingest(first, first_mtime)
    assert "0 rows new, 1 updated, 1 unchanged" in ingest(later, later_mtime)
    # Lower figures at the same capped time: an older download, not written (counted unchanged).
    assert "0 rows new, 0 updated, 2 unchanged" in ingest(older_copy, first_mtime - 3600)
    range_end, downloaded = pd.Timestamp("2026-11-22 23:59"), pd.Timestamp("2026-11-27 19:30")
    assert latest_figures(db) == [
        ("2117530719482806272", range_end, 100, 5),
        ("2117530719482806272", downloaded, 180, 9),
        ("2117530719482806276", range_end, 40, 2),
    ]


@pytest.mark.parametrize("way", ["cli", "sensor"])
def test_downloads_with_one_modification_time_each_win_over_the_one_ingested_before(
    tmp_path, monkeypatch, capsys, way, cli_outputs
):
    """Three downloads of one range unpacked from one zip (one modification time, after the range's end),
    ingested one after another with rising figures: each later one is written as a later snapshot and
    says where it was stamped; none is dropped as an "older download"."""
    ingest, db = download_ingester(way, tmp_path, monkeypatch, capsys)
    unpacked = pd.Timestamp("2026-11-25 10:00")
    (first, _), (second, _) = downloads()
    third = second.replace('"180.0"', '"260.0"')

    assert "2 rows new, 0 updated, 0 unchanged" in ingest(first, unpacked.timestamp())
    out = ingest(second, unpacked.timestamp())
    assert "0 rows new, 1 updated, 1 unchanged" in out and "lower figures" not in out
    assert "is stamped 2026-11-25 10:00:00 (its modification time)" in out
    before_third = utc_now().floor("min")
    out = ingest(third, unpacked.timestamp())
    assert "0 rows new, 1 updated, 1 unchanged" in out and "lower figures" not in out
    assert "older download" not in out and "is stamped" in out and "(the time of ingestion)" in out
    snapshots = latest_figures(db)
    range_end = pd.Timestamp("2026-11-22 23:59")
    assert [row[0::2] for row in snapshots] == [
        ("2117530719482806272", 100),
        ("2117530719482806272", 180),
        ("2117530719482806272", 260),
        ("2117530719482806276", 40),
    ]
    assert [row[1] for row in snapshots[:2]] + [snapshots[3][1]] == [range_end, unpacked, range_end]
    assert snapshots[2][1] >= before_third  # the third download: at its ingestion
    assert performance(db)["2117530719482806272"][0] == 260


def test_two_downloads_unpacked_and_ingested_in_one_minute_keep_the_later_figures(
    tmp_path, monkeypatch, capsys, cli_outputs
):
    """X's default export ends today; both downloads of it, unpacked from one zip a moment ago, are ingested
    in one call: the second has higher figures and is the newer snapshot."""
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    if utc_now().second >= 50:  # both files must be ingested within the minute they were unpacked in
        time.sleep(61 - utc_now().second)
    unpacked = utc_now()
    today, yesterday = unpacked.normalize(), unpacked.normalize() - pd.Timedelta(days=1)
    name = f"tweet_activity_metrics_alice_data_{(today - pd.Timedelta(days=27)):%Y%m%d}_{today:%Y%m%d}_en.csv"
    first = CLASSIC_HEAD + classic("2117530719482806272", f"{yesterday:%Y-%m-%d} 08:14", "a", 100, 5)
    second = CLASSIC_HEAD + classic("2117530719482806272", f"{yesterday:%Y-%m-%d} 08:14", "a", 180, 9)
    (tmp_path / "zip").mkdir()
    paths = [
        write(tmp_path, name, first, unpacked.timestamp()),
        write(tmp_path / "zip", name, second, unpacked.timestamp()),
    ]
    assert main(["ingest", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert "lower figures" not in out and "older download" not in out
    assert "1 rows new, 0 updated, 0 unchanged" in out and "0 rows new, 1 updated, 0 unchanged" in out
    assert "(the time of ingestion)" in out
    [first_row, second_row] = latest_figures(db)
    assert (first_row[2:], second_row[2:]) == ((100, 5), (180, 9))
    first_time, second_time = first_row[1], second_row[1]
    assert first_time == unpacked.floor("min") < second_time <= utc_now()
    assert performance(db)["2117530719482806272"][:2] == (180, 9)


def test_a_locked_warehouse_leaves_the_file_in_the_inbox_and_the_sensor_tries_again(tmp_path, monkeypatch):
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    path = write(inbox, NEWER)
    connect(db).close()  # the file exists; another process then holds it, as a notebook or the CLI would
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; con = duckdb.connect({db!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with nullcontext(dg.DagsterInstance.ephemeral()) as instance:
        try:
            assert holder.stdout.readline().strip() == "held"
            [request] = inbox_sensor(sensor_context(instance, stores))
            request.run_config["ops"]["inbox_files"]["config"]["lock_wait_seconds"] = 1.0
            locked = run(request, db, instance, stores)
            assert not locked.success  # an outage, red, for the failure sensor: but not the file's fault
            [failure] = locked.get_step_failure_events()
            message = failure.event_specific_data.error.message
            assert f"{NEWER} stays in the inbox (not rejected: the file is not at fault)" in message
            assert path.exists() and not (inbox / "rejected").exists()
            # A real failure: the failure sensor records it (and would email).
            failed = next(
                e
                for e in instance.all_logs(locked.run_id)
                if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
            )
            record_and_notify_run_failure(
                dg.build_run_status_sensor_context(
                    sensor_name="record_and_notify_run_failure",
                    dagster_instance=instance,
                    dagster_run=instance.get_run_by_id(locked.run_id),
                    dagster_event=failed.dagster_event,
                    resources={"smtp": SmtpResource(), "file_stores": stores},
                ).for_run_failure()
            )
            [record] = [json.loads(line) for line in stores.run_failures_path().read_text().splitlines()]
            assert record["run_id"] == locked.run_id and record["job_name"] == "inbox_ingestion"
            # Right after, the sensor waits; once the pause has passed it launches the file again.
            waiting = inbox_sensor(sensor_context(instance, stores))
            assert isinstance(waiting, dg.SkipReason) and "tried again 120 s after that run" in waiting.skip_message
            monkeypatch.setattr(inbox_module, "LOCKED_RETRY_AFTER_SECONDS", 0)
            [retry] = inbox_sensor(sensor_context(instance, stores))
            assert retry.run_key == f"{request.run_key}:retry-1"
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        assert run(retry, db, instance, stores).success
    assert not path.exists() and (inbox / "processed" / NEWER).exists()
    assert len(performance(db)) == 3


def test_a_run_config_pointing_outside_the_inbox_touches_nothing(tmp_path):
    inbox, elsewhere, db = tmp_path / "inbox", tmp_path / "elsewhere", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    elsewhere.mkdir()
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    outside = write(elsewhere, "overflow.csv")
    processed = inbox / "processed"
    processed.mkdir()
    inside_processed = write(processed, NEWER)
    with nullcontext(dg.DagsterInstance.ephemeral()) as instance:
        for target in (outside, inside_processed):
            result = run(
                dg.RunRequest(run_config={"ops": {"inbox_files": {"config": {"path": str(target)}}}}),
                db,
                instance,
                stores,
            )
            assert not result.success
            message = result.get_step_failure_events()[0].event_specific_data.error.message
            assert f"{target} is not a file in the inbox {inbox.resolve()}: nothing was touched" in message
    assert outside.exists() and inside_processed.exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["overflow.csv"]  # no rejected/ made there


@responses.activate
def test_a_repost_in_the_x_api_timeline_is_left_out_like_in_the_exports(tmp_path):
    responses.get(f"{API}/users/by", json=users_response())
    own, repost = snowflake(NOW - pd.Timedelta(hours=5)), snowflake(NOW - pd.Timedelta(hours=4))
    created = (NOW - pd.Timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # X's shape of a repost: referenced_tweets 'retweeted', "RT @..." text, the original's retweet count.
    reposted = tweet(
        repost,
        likes=0,
        reposts=49,
        replies=0,
        impressions=2,
        created_at=created,
        text="RT @bob: the original",
        referenced_tweets=[{"type": "retweeted", "id": "1"}],
    )
    responses.get(
        f"{API}/users/42/tweets", json={"data": [reposted, tweet(own, created_at=created)], "meta": {"result_count": 2}}
    )
    responses.add_callback(responses.GET, f"{API}/tweets", callback=tweets_callback)
    key = (NOW.floor("h") - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
    from social_pipeline.defs.ingestion.assets import raw_tweet_metrics

    result = dg.materialize(
        [
            raw_posts,
            raw_tweet_metrics,
            post_snapshots,
            post_performance,
            engagement_rate_within_bounds,
            engagement_rates_plausible,
        ],
        resources=_x_resources(tmp_path),
        partition_key=key,
        instance=with_hours(key),
    )
    assert result.success
    assert list(performance(str(tmp_path / "w.duckdb"))) == [own]
    assert all(c.passed for c in result.get_asset_check_evaluations())
