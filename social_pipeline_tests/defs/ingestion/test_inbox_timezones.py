"""A configured zone reaches accounts that only come from export files: `social-pipeline ingest` and the
inbox sensor's runs write `raw.accounts`, and the best posting times are ranked in local hours."""

import dagster as dg

from social_pipeline.app.cli import main
from social_pipeline.definitions import defs
from social_pipeline.defs.ingestion.sensors import inbox_sensor
from social_pipeline.resources.sources import simulated_source_from_env
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import drop, file_stores_under, refresh_weekly, sensor_context

ZONES = "nyc_writer=America/New_York"
# Four posts of an account no source collects. New York is UTC-5 after 2026-11-01: Tuesday 23:xx UTC is
# Tuesday 18:xx local, Wednesday 14:xx UTC is Wednesday 09:xx local.
EXPORT = "tweet_activity_metrics_nyc_writer_20261101_20261115_en.csv"
ROWS = [
    ("2117530719482806301", "2026-11-03 23:10 +0000", 100, 10),  # Tue 18 local: 10 %
    ("2117530719482806302", "2026-11-10 23:40 +0000", 100, 6),  # Tue 18 local: 6 %
    ("2117530719482806303", "2026-11-04 14:00 +0000", 100, 50),  # Wed 09 local: 50 %
    ("2117530719482806304", "2026-11-11 14:20 +0000", 100, 30),
]  # Wed 09 local: 30 %
CONTENT = (
    '"Tweet id","Tweet permalink","time","impressions","engagements","retweets","replies","likes"\n'
    + "".join(
        f'"{post}","https://twitter.com/nyc_writer/status/{post}","{time}","{impressions}.0","{engagements}.0",'
        f'"0.0","0.0","{engagements}.0"\n'
        for post, time, impressions, engagements in ROWS
    )
).encode()
# (rank, day_of_week_local, hour_local, timezone, hour_utc, avg rate %, posts) of the newest week:
# local slots, UTC beside.
LOCAL_BEST_TIMES = [(1, 2, 9, "America/New_York", 14, 40.0, 2), (2, 1, 18, "America/New_York", 23, 8.0, 2)]


def stored_zones_and_best_times(db: str):
    con = connect(db, read_only=True)
    try:
        zones = con.execute("SELECT user_id, timezone FROM raw.accounts ORDER BY 1").fetchall()
        best = con.execute(
            "SELECT rank, day_of_week_local, hour_local, timezone, hour_utc, round(avg_engagement_rate_pct, 6), "
            "posts_count "
            "FROM analytics.best_posting_times WHERE user_id = 'nyc_writer' "
            "AND window_end = (SELECT max(window_end) FROM analytics.best_posting_times) ORDER BY rank"
        ).fetchall()
    finally:
        con.close()
    return zones, best


def test_cli_ingest_stores_the_configured_zone_and_ranks_local_hours(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.setenv("SOCIAL_PIPELINE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("SOCIAL_PIPELINE_ACCOUNT_TIMEZONES", ZONES)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    export = tmp_path / EXPORT
    export.write_bytes(CONTENT)
    assert main(["ingest", str(export)]) == 0
    assert "1 files: 1 ingested (4 rows new" in capsys.readouterr().out
    zones, best = stored_zones_and_best_times(db)
    assert zones == [("nyc_writer", "America/New_York")]
    assert best == LOCAL_BEST_TIMES
    report = (tmp_path / "reports" / "nyc_writer" / "2026-11-09.md").read_text()
    assert "Wednesday 09:00" in report and "America/New_York" in report


def test_cli_ingest_refuses_an_unknown_configured_zone_naming_the_account(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.setenv("SOCIAL_PIPELINE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("SOCIAL_PIPELINE_ACCOUNT_TIMEZONES", "nyc_writer=America/New_Yrok")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    export = tmp_path / EXPORT
    export.write_bytes(CONTENT)
    assert main(["ingest", str(export)]) == 2
    err = capsys.readouterr().err
    assert "unknown time zone 'America/New_Yrok' for account 'nyc_writer'" in err and "Nothing was ingested" in err
    assert not (tmp_path / "w.duckdb").exists()  # checked before the warehouse is opened


def test_inbox_sensor_run_stores_the_configured_zone_and_ranks_local_hours(tmp_path, monkeypatch):
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    monkeypatch.setenv("SOCIAL_PIPELINE_ACCOUNT_TIMEZONES", ZONES)
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    # As the code location binds it when SOCIAL_PIPELINE_ACCOUNT_TIMEZONES is set.
    resources = {
        "warehouse": WarehouseResource(database=db),
        "file_stores": stores,
        "source": simulated_source_from_env(),
    }
    with dg.instance_for_test() as instance:
        drop(inbox, EXPORT, CONTENT)
        (request,) = inbox_sensor(sensor_context(instance, stores))
        ingested = defs.resolve_job_def("inbox_ingestion").execute_in_process(
            run_config=request.run_config, instance=instance, tags=request.tags, resources=resources
        )
        assert ingested.success
        assert stored_zones_and_best_times(db)[0] == [("nyc_writer", "America/New_York")]
        (weekly_request,) = refresh_weekly(instance, ingested, db)
        weekly = defs.resolve_job_def("weekly_reporting").execute_in_process(
            instance=instance, tags=weekly_request.tags, resources=resources
        )
        assert weekly.success
    assert stored_zones_and_best_times(db)[1] == LOCAL_BEST_TIMES
