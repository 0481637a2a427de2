"""LinkedIn's downloads through the inbox sensor (an account's subfolder) and `social-pipeline ingest --account`."""

from __future__ import annotations

import dagster as dg

from social_pipeline.app.cli import main
from social_pipeline.defs.ingestion.sensors import inbox_sensor
from social_pipeline.resources.warehouse import connect
from social_pipeline_tests.conftest import file_stores_under
from social_pipeline_tests.core.test_linkedin_ingest import (
    CONNECTIONS,
    DAILY,
    TOP_ENGAGEMENTS,
    TOP_IMPRESSIONS,
    the_archive,
)
from social_pipeline_tests.defs.ingestion.test_inbox import drop, run, sensor_context
from social_pipeline_tests.linkedin_files import workbook_xlsx


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
            "Basic_LinkedInDataExport_08-10-2026.zip", "Connections_without_account.zip",
            "Content_2026-07-11_2026-08-09.xlsx"]
        results = {r.tags["inbox/file"]: run(r, db, instance, stores) for r in requests}
        assert all(result.success for result in results.values())
    archive = results["Basic_LinkedInDataExport_08-10-2026.zip"].asset_materializations_for_node("inbox_files")
    meta = archive[0].metadata
    assert (meta["outcome"].value, meta["kind"].value, meta["rows_new"].value, meta["users"].value) == (
        "ingested", "linkedin_archive", 8, "ada")
    # The archive without an account went to rejected/ with the reason beside it; nothing of it was written.
    error = (inbox / "rejected" / "Connections_without_account.zip.error.txt").read_text()
    assert "do not say whose account they are" in error and "inbox/<handle>/" in error
    assert sorted(p.name for p in (inbox / "ada" / "processed").iterdir()) == [
        "Basic_LinkedInDataExport_08-10-2026.zip", "Content_2026-07-11_2026-08-09.xlsx"]
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT user_id, count(*) FROM raw.linkedin_connections GROUP BY 1").fetchall() == [
            ("ada", 3)]
        assert con.execute("SELECT user_id, count(*) FROM raw.linkedin_post_metrics GROUP BY 1").fetchall() == [
            ("ada", 2)]
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
