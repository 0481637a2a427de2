"""LinkedIn downloads into the warehouse: the account, idempotency, newer downloads, bad input, a real size."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pandas as pd
import pytest

from social_pipeline.sources.inbox_files import ingest_file
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    CONNECTIONS,
    DAILY,
    INVITATIONS,
    MESSAGES,
    MESSAGES_NEWER,
    MESSAGES_OLDER,
    OWNER,
    TOP_ENGAGEMENTS,
    TOP_IMPRESSIONS,
    archive_zip,
    connections_csv,
    invitations_csv,
    message_row,
    messages_csv,
    stamp,
    the_archive,
    workbook_xlsx,
)

NOW = pd.Timestamp("2026-08-10 12:00")
TABLES = (
    "raw.linkedin_connections",
    "raw.linkedin_messages",
    "raw.linkedin_invitations",
    "raw.linkedin_post_metrics",
    "raw.linkedin_daily",
    "ops.ingested_files",
)


@pytest.fixture
def con(tmp_path):
    connection = connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def counts(con) -> dict[str, int]:
    return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def ingest(con, tmp_path, name: str, content: bytes, account: str | None = "ada", now=NOW):
    path = tmp_path / name
    path.write_bytes(content)
    return ingest_file(con, path, default_user=account, now=now)


def test_archive_is_stored_for_the_account_and_the_same_archive_again_writes_nothing(con, tmp_path):
    outcome = ingest(con, tmp_path, "Basic_LinkedInDataExport_08-10-2026.zip", the_archive())
    assert (outcome.status, outcome.kind, outcome.rows_new, outcome.users) == (
        "ingested",
        "linkedin_archive",
        8,
        ["ada"],
    )
    assert counts(con) == {
        "raw.linkedin_connections": 3,
        "raw.linkedin_messages": 3,
        "raw.linkedin_invitations": 2,
        "raw.linkedin_post_metrics": 0,
        "raw.linkedin_daily": 0,
        "ops.ingested_files": 1,
    }
    assert con.execute("SELECT connected_on::VARCHAR, user_id FROM raw.linkedin_connections ORDER BY 1").fetchall() == [
        ("2022-02-07", "ada"),
        ("2024-03-12", "ada"),
        ("2026-08-03", "ada"),
    ]
    assert con.execute("SELECT direction, count(*) FROM raw.linkedin_messages GROUP BY 1 ORDER BY 1").fetchall() == [
        ("received", 2),
        ("sent", 1),
    ]
    # Recent new rows ask for the weekly analytics from their first day on (at most 90 days back).
    assert outcome.earliest_day == NOW.normalize() - pd.Timedelta(days=90)

    again = ingest(con, tmp_path, "copy.zip", the_archive())
    assert again.status == "duplicate"
    # The same rows in another archive (other bytes: the members in another order) write nothing either.
    reordered = archive_zip(
        {
            "messages.csv": messages_csv(MESSAGES),
            "Invitations.csv": invitations_csv(INVITATIONS),
            "Connections.csv": connections_csv(CONNECTIONS),
        }
    )
    same_rows = ingest(con, tmp_path, "reordered.zip", reordered)
    assert (same_rows.status, same_rows.rows_new, same_rows.rows_unchanged) == ("ingested", 0, 8)
    assert counts(con)["raw.linkedin_connections"] == 3 and counts(con)["raw.linkedin_messages"] == 3


def test_a_newer_archive_adds_only_its_new_rows(con, tmp_path):
    ingest(con, tmp_path, "first.zip", the_archive())
    newer = the_archive(
        connections=CONNECTIONS + [("Barbara", "Liskov", "9 Aug 2026")],
        # A later year's layout: no SENDER PROFILE URL, no draft column.
        messages=[
            message_row(MESSAGES_OLDER, *m)
            for m in (
                ("c1", "Rita Recruiter", OWNER, "2026-08-01 02:00:00 UTC", "Role at Acme"),
                ("c1", OWNER, "Rita Recruiter", "2026-08-01 09:30:00 UTC"),
                ("c2", "Bob Builder", OWNER, "2026-08-02 10:00:00 UTC"),
                ("c3", "Rob Recruiter", OWNER, "2026-08-09 08:00:00 UTC", "Staff engineer role"),
            )
        ],
        header=MESSAGES_OLDER,
        invitations=INVITATIONS,
    )
    outcome = ingest(con, tmp_path, "newer.zip", newer)
    assert (outcome.rows_new, outcome.rows_unchanged) == (2, 8)
    assert con.execute(
        "SELECT first_name FROM raw.linkedin_connections WHERE source_file = 'newer.zip'"
    ).fetchall() == [("Barbara",)]
    assert con.execute(
        "SELECT conversation_id FROM raw.linkedin_messages WHERE source_file = 'newer.zip'"
    ).fetchall() == [("c3",)]


def test_one_csv_at_a_time(con, tmp_path):
    outcome = ingest(con, tmp_path, "Connections.csv", connections_csv(CONNECTIONS))
    assert (outcome.kind, outcome.rows_new) == ("linkedin_connections", 3)
    outcome = ingest(con, tmp_path, "Invitations.csv", invitations_csv(INVITATIONS))
    assert (outcome.kind, outcome.rows_new) == ("linkedin_invitations", 2)
    assert con.execute("SELECT sender FROM raw.linkedin_invitations WHERE direction = 'incoming'").fetchall() == [
        ("Rita Recruiter",)
    ]


def test_without_an_account_the_file_is_rejected_saying_so(con, tmp_path):
    outcome = ingest(con, tmp_path, "Connections.csv", connections_csv(CONNECTIONS), account=None)
    assert outcome.status == "rejected"
    assert "do not say whose account they are" in outcome.message and "--account HANDLE" in outcome.message
    assert "inbox/<handle>/" in outcome.message
    assert set(counts(con).values()) == {0}


def test_a_newer_workbook_updates_the_figures_of_the_same_posts(con, tmp_path):
    first = ingest(
        con,
        tmp_path,
        "Content_2026-07-11_2026-08-09.xlsx",
        workbook_xlsx(TOP_ENGAGEMENTS, TOP_IMPRESSIONS, DAILY, total_followers=1200),
        now=NOW - pd.Timedelta(days=1),
    )
    assert (first.kind, first.rows_new, first.rows_updated) == ("linkedin_content_analytics", 4, 0)
    # The next day's download: post 2 gained figures, post 1 did not; one more day; a higher total.
    newer = workbook_xlsx(
        [TOP_ENGAGEMENTS[0], (TOP_ENGAGEMENTS[1][0], "8/2/2026", 15)],
        [(TOP_IMPRESSIONS[0][0], "8/2/2026", 1000), TOP_IMPRESSIONS[1]],
        DAILY + [("8/3/2026", 300, 9, 1)],
        total_followers=1201,
    )
    second = ingest(con, tmp_path, "Content_2026-07-12_2026-08-10.xlsx", newer)
    latest = con.execute(
        "SELECT post_url[-1:], impressions, engagements FROM raw.linkedin_post_metrics "
        "QUALIFY row_number() OVER (PARTITION BY post_url ORDER BY collected_at DESC) = 1 ORDER BY 1"
    ).fetchall()
    assert latest == [("1", 700, 40), ("2", 1000, 15)]
    assert con.execute("SELECT count(*) FROM raw.linkedin_post_metrics WHERE post_url LIKE '%:2'").fetchone()[0] == 2
    days = con.execute(
        "SELECT day::VARCHAR, impressions, new_followers, total_followers FROM raw.linkedin_daily ORDER BY day"
    ).fetchall()
    assert days == [("2026-08-01", 500, 3, None), ("2026-08-02", 800, 5, 1200), ("2026-08-03", 300, 1, 1201)]
    # New: the day 8/3. Updated: post 2. Unchanged: post 1, the days 8/1 and 8/2 (8/2 no longer carries the
    # total in this workbook, and the total stored for it stays).
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (1, 1, 3)


BAD_INPUTS = {
    "truncated archive": ("late.zip", lambda: the_archive()[:200], "download looks truncated"),
    "empty archive": ("empty.zip", lambda: archive_zip({}), "the LinkedIn archive is empty"),
    "truncated workbook": ("late.xlsx", lambda: workbook_xlsx(TOP_ENGAGEMENTS, [], DAILY)[:-300], "truncated"),
    "missing sheet": (
        "nosheet.xlsx",
        lambda: workbook_xlsx(TOP_ENGAGEMENTS, [], DAILY, sheets=("ENGAGEMENT", "FOLLOWERS")),
        "no sheet 'TOP POSTS'",
    ),
    "moved header": (
        "moved.xlsx",
        lambda: workbook_xlsx(TOP_ENGAGEMENTS, [], DAILY, header_row=30),
        "sheet 'TOP POSTS': no header row",
    ),
    "other date form": (
        "Connections.csv",
        lambda: connections_csv([("Grace", "Hopper", "March 12, 2024")]),
        "line 5: column 'Connected On': unparsable date 'March 12, 2024'",
    ),
    "another language": (
        "Connections.csv",
        lambda: connections_csv(
            [("Grace", "Hopper", "12 mars 2024")],
            header=["Prénom", "Nom", "URL", "Adresse e-mail", "Entreprise", "Poste", "Date de connexion"],
        ),
        "found 'Prénom', 'Nom', 'URL', 'Adresse e-mail'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_rejected_naming_the_problem_and_nothing_stored_changes(con, tmp_path, case):
    ingest(con, tmp_path, "good.zip", the_archive())
    ingest(con, tmp_path, "good.xlsx", workbook_xlsx(TOP_ENGAGEMENTS, TOP_IMPRESSIONS, DAILY))
    before = counts(con)
    stored = con.execute("SELECT * FROM raw.linkedin_daily ORDER BY day").fetchall()
    name, content, problem = BAD_INPUTS[case]
    outcome = ingest(con, tmp_path, name, content())
    assert outcome.status == "rejected"
    assert problem in outcome.message
    assert counts(con) == before
    assert con.execute("SELECT * FROM raw.linkedin_daily ORDER BY day").fetchall() == stored


def test_a_real_sized_archive(con, tmp_path):
    start = datetime(2020, 1, 1)
    connections = [
        (f"First{i}", f"Last{i}", (start + timedelta(hours=7 * i)).strftime("%d %b %Y")) for i in range(5000)
    ]
    messages = []
    for i in range(20_000):
        conversation, other = f"conv-{i // 4}", f"Person {i // 4}"
        sender, to = (other, OWNER) if i % 2 == 0 else (OWNER, other)
        messages.append(
            message_row(
                MESSAGES_NEWER,
                conversation,
                sender,
                to,
                stamp(start + timedelta(minutes=90 * i)),
                "Opportunity" if i % 4 == 0 else "",
                content=f"message {i}",
            )
        )
    archive = the_archive(connections=connections, messages=messages)
    began = time.perf_counter()
    outcome = ingest(con, tmp_path, "big.zip", archive)
    seconds = time.perf_counter() - began
    print(f"\n5,000 connections + 20,000 messages + 2 invitations ingested in {seconds:.2f} s")
    assert outcome.status == "ingested", outcome.message
    assert counts(con)["raw.linkedin_connections"] == 5000
    assert counts(con)["raw.linkedin_messages"] == 20_000
    received = con.execute("SELECT count(*) FROM raw.linkedin_messages WHERE direction = 'received'").fetchone()[0]
    assert received == 10_000
    again = ingest(con, tmp_path, "big-again.zip", the_archive(connections=connections[::-1], messages=messages))
    assert (again.rows_new, again.rows_unchanged) == (0, 25_002)


def test_a_follower_total_stated_for_a_day_without_figures_is_a_row_of_its_own(con, tmp_path):
    # FOLLOWERS states the total on 8/3, a day the daily sheets do not list.
    content = workbook_xlsx([], [], DAILY, total_followers=990, total_on="8/3/2026")
    outcome = ingest(con, tmp_path, "totals.xlsx", content)
    assert (outcome.rows_new, outcome.rows_unchanged) == (3, 0)
    assert con.execute(
        "SELECT day::VARCHAR, impressions, total_followers FROM raw.linkedin_daily ORDER BY day"
    ).fetchall() == [("2026-08-01", 500, None), ("2026-08-02", 800, None), ("2026-08-03", None, 990)]
