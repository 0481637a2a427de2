"""LinkedIn's downloads through the inbox sensor (an account's subfolder) and `social-pipeline ingest --account`."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from social_pipeline.app.cli import main
from social_pipeline.definitions import defs
from social_pipeline.defs.common import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from social_pipeline.defs.ingestion.sensors import inbox_sensor
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    CONNECTIONS,
    DAILY,
    MESSAGES_NEWER,
    OWNER,
    TOP_ENGAGEMENTS,
    TOP_IMPRESSIONS,
    archive_zip,
    connections_csv,
    csv_bytes,
    drop,
    file_stores_under,
    invitations_csv,
    message_row,
    messages_csv,
    refresh_weekly,
    run,
    sensor_context,
    stamp,
    the_archive,
    workbook_xlsx,
)


def test_the_sensor_ingests_an_accounts_subfolder_and_rejects_linkedin_files_without_one(tmp_path):
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    (inbox / "ada").mkdir(parents=True)
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    drop(inbox / "ada", "Basic_LinkedInDataExport_08-10-2026.zip", the_archive())
    drop(inbox / "ada", "Content_2026-07-11_2026-08-09.xlsx", workbook_xlsx(TOP_ENGAGEMENTS, TOP_IMPRESSIONS, DAILY))
    drop(inbox, "Connections_without_account.zip", the_archive(connections=CONNECTIONS[:1]))
    with dg.instance_for_test() as instance:
        requests = inbox_sensor(sensor_context(instance, stores))
        assert sorted(r.tags["inbox/file"] for r in requests) == [
            "Basic_LinkedInDataExport_08-10-2026.zip",
            "Connections_without_account.zip",
            "Content_2026-07-11_2026-08-09.xlsx",
        ]
        results = {r.tags["inbox/file"]: run(r, db, instance, stores) for r in requests}
        assert all(result.success for result in results.values())
    archive = results["Basic_LinkedInDataExport_08-10-2026.zip"].asset_materializations_for_node("inbox_files")
    meta = archive[0].metadata
    assert (meta["outcome"].value, meta["kind"].value, meta["rows_new"].value, meta["users"].value) == (
        "ingested",
        "linkedin_archive",
        8,
        "ada",
    )
    # The archive without an account went to rejected/ with the reason beside it; nothing of it was written.
    error = (inbox / "rejected" / "Connections_without_account.zip.error.txt").read_text()
    assert "do not say whose account they are" in error and "inbox/<handle>/" in error
    assert sorted(p.name for p in (inbox / "ada" / "processed").iterdir()) == [
        "Basic_LinkedInDataExport_08-10-2026.zip",
        "Content_2026-07-11_2026-08-09.xlsx",
    ]
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT user_id, count(*) FROM raw.linkedin_connections GROUP BY 1").fetchall() == [
            ("ada", 3)
        ]
        assert con.execute("SELECT user_id, count(*) FROM raw.linkedin_post_metrics GROUP BY 1").fetchall() == [
            ("ada", 2)
        ]
        assert con.execute("SELECT count(*) FROM ops.ingested_files").fetchone()[0] == 2
    # Handled files are not picked up again.
    with dg.instance_for_test() as instance:
        assert isinstance(inbox_sensor(sensor_context(instance, stores)), dg.SkipReason)


def test_cli_ingest_takes_the_account(tmp_path, monkeypatch, capsys, cli_outputs):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    archive = tmp_path / "Basic_LinkedInDataExport.zip"
    archive.write_bytes(the_archive())
    assert main(["ingest", str(archive)]) == 1
    assert "REJECTED Basic_LinkedInDataExport.zip: LinkedIn's files do not say whose account" in capsys.readouterr().err
    assert main(["ingest", "--account", "ada", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "ingested Basic_LinkedInDataExport.zip: linkedin_archive, 8 rows new" in out
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.linkedin_messages WHERE user_id = 'ada'").fetchone()[0] == 3


def test_from_the_inbox_to_the_weekly_report(tmp_path):
    """A user drops the archive into inbox/<handle>/ and a profile-activity file into the inbox: the weekly
    analytics the inbox run asks for hold the archive's recruiter figures and the report names their sources."""
    today = pd.Timestamp.now("UTC").tz_localize(None).normalize()
    week_end = today - pd.Timedelta(days=today.day_of_week)  # the last complete week ends this Monday
    day = lambda days_before: week_end - pd.Timedelta(days=days_before)  # noqa: E731
    archive = archive_zip(
        {
            "Connections.csv": connections_csv(
                [
                    ("A", "One", day(2).strftime("%d %b %Y")),
                    ("B", "Two", day(10).strftime("%d %b %Y")),
                    ("C", "Three", day(40).strftime("%d %b %Y")),
                ]
            ),
            "messages.csv": messages_csv(
                [
                    message_row(
                        MESSAGES_NEWER,
                        "c1",
                        "Rita Recruiter",
                        OWNER,
                        stamp(day(3) + pd.Timedelta(hours=9)),
                        "A role for you",
                    ),
                    message_row(MESSAGES_NEWER, "c2", "Bob", OWNER, stamp(day(4) + pd.Timedelta(hours=9))),
                ]
            ),
            "Invitations.csv": invitations_csv(
                [("Rita Recruiter", OWNER, (day(5) + pd.Timedelta(hours=9)).strftime("%m/%d/%y, %I:%M %p"), "INCOMING")]
            ),
        }
    )
    profile = csv_bytes(
        [
            ["user_id", "platform", "snapshot_date", "profile_views"],
            ["ada", "linkedin", day(1).strftime("%Y-%m-%d"), "120"],
            ["ada", "linkedin", day(20).strftime("%Y-%m-%d"), "80"],
        ]
    )
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    (inbox / "ada").mkdir(parents=True)
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    drop(inbox / "ada", "Basic_LinkedInDataExport.zip", archive)
    drop(inbox, "profile_activity_ada.csv", profile, age_seconds=120)
    with dg.instance_for_test() as instance:
        requests = inbox_sensor(sensor_context(instance, stores))
        results = [run(r, db, instance, stores) for r in requests]
        assert [r.success for r in results] == [True, True]
        (weekly,) = refresh_weekly(instance, results[-1], db)  # the archive, dropped last
        assert weekly.tags[PARTITION_RANGE_START_TAG] == day(40 + day(40).day_of_week).strftime("%Y-%m-%d")
        assert weekly.tags[PARTITION_RANGE_END_TAG] == day(7).strftime("%Y-%m-%d")
        reporting = defs.resolve_job_def("weekly_reporting").execute_in_process(
            instance=instance,
            tags=weekly.tags,
            resources={"warehouse": WarehouseResource(database=db), "file_stores": stores},
        )
        assert reporting.success
    with connect(db, read_only=True) as con:
        row = con.execute(
            "SELECT new_connections_7d, new_connections_30d, invitations_received_7d, inmails_received, "
            "profile_views_30d, estimated_recruiter_reach, connections_source, profile_views_source "
            "FROM analytics.recruiter_metrics WHERE user_id = 'ada' AND as_of = $end",
            {"end": week_end},
        ).fetchone()
        markdown = con.execute(
            "SELECT report_markdown FROM analytics.weekly_reports WHERE user_id = 'ada' AND week_start = $start",
            {"start": day(7)},
        ).fetchone()[0]
    assert row == (1, 2, 1, 1, 200, 20, "linkedin_archive", "profile_activity")
    assert "| New connections (30 days)" in markdown and "LinkedIn archive: Connections.csv" in markdown
