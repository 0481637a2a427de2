"""Recruiter metrics from LinkedIn's data archive, the profile-activity file where it has no figure, and the
weekly report saying which figure came from where."""

from __future__ import annotations

import pandas as pd
import pytest

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.reports import render_html, render_markdown
from social_pipeline.sources.inbox_files import ingest_file
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    MESSAGES_NEWER,
    OWNER,
    archive_zip,
    connections_csv,
    csv_bytes,
    invitations_csv,
    message_row,
    messages_csv,
    refresh_post_tables,
)

NOW = pd.Timestamp("2026-08-10 12:00")
PERIOD = {"period_start": pd.Timestamp("2026-08-03"), "period_end": pd.Timestamp("2026-08-10")}
CONNECTED = [
    "10 Aug 2026",  # the as_of day itself: not closed yet, not counted
    "9 Aug 2026",
    "3 Aug 2026",  # 7 and 30 days
    "2 Aug 2026",
    "11 Jul 2026",  # 30 days only
    "10 Jul 2026",
]  # 31 days before: out
INVITED = [
    ("A", OWNER, "8/9/26, 9:14 AM", "INCOMING"),
    ("B", OWNER, "7/20/26, 8:00 AM", "INCOMING"),
    (OWNER, "C", "8/5/26, 8:00 AM", "OUTGOING"),
    ("D", OWNER, "8/10/26, 1:00 AM", "INCOMING"),
]


def _message(conversation, sender, to, when, subject=""):
    return message_row(MESSAGES_NEWER, conversation, sender, to, f"2026-{when}:00 UTC", subject)


MESSAGES = [
    _message("c1", "Rita Recruiter", OWNER, "08-05 09:00", "Role at Acme"),  # InMail
    _message("c1", OWNER, "Rita Recruiter", "08-05 10:00", "Re: Role at Acme"),
    _message("c2", "Bob Builder", OWNER, "08-06 09:00"),  # no subject: an ordinary message
    _message("c3", OWNER, "Carl Contact", "08-07 09:00", "Hello"),  # opened by the owner
    _message("c3", "Carl Contact", OWNER, "08-07 10:00", "Re: Hello"),
    _message("c4", "Rob Recruiter", OWNER, "07-01 09:00", "Old role"),  # InMail, 40 days back
    _message("c5", "Sam Sourcer", OWNER, "08-08 09:00", "Staff engineer"),  # InMail
]
PROFILE = [
    [
        "user_id",
        "platform",
        "snapshot_date",
        "profile_views",
        "connections_new",
        "connection_requests",
        "inmails_received",
        "recruiter_messages",
    ],
    ["ada", "linkedin", "2026-08-04", "40", "7", "9", "5", "3"],
    ["ada", "linkedin", "2026-07-28", "60", "0", "0", "0", "0"],
    ["bob", "linkedin", "2026-08-04", "10", "7", "9", "5", "3"],
]


@pytest.fixture
def con(tmp_path):
    connection = connect(str(tmp_path / "w.duckdb"))
    for name, content, account in (
        (
            "archive.zip",
            archive_zip(
                {
                    "Connections.csv": connections_csv([(f"P{i}", "Q", on) for i, on in enumerate(CONNECTED)]),
                    "Invitations.csv": invitations_csv(INVITED),
                    "messages.csv": messages_csv(MESSAGES),
                }
            ),
            "ada",
        ),
        ("messages.csv", messages_csv(MESSAGES), "cy"),
        ("profile_activity.csv", csv_bytes(PROFILE), None),
    ):
        (tmp_path / name).write_bytes(content)
        assert ingest_file(connection, tmp_path / name, default_user=account, now=NOW).status == "ingested"
    yield connection
    connection.close()


def metrics(con, user: str) -> dict:
    rows = q.frame(con, q.recruiter_query(q.ONE_PERIOD_SQL), {"user_id": user, **PERIOD})
    return rows.iloc[0].to_dict()


def test_archive_figures_with_profile_views_from_the_profile_file(con):
    row = metrics(con, "ada")
    assert {
        k: row[k]
        for k in (
            "new_connections_7d",
            "new_connections_30d",
            "invitations_received_7d",
            "invitations_received_30d",
            "inmails_received",
            "recruiter_engagements",
        )
    } == {
        "new_connections_7d": 2,
        "new_connections_30d": 4,
        "invitations_received_7d": 1,
        "invitations_received_30d": 2,
        "inmails_received": 2,  # c1 and c5 (not the profile file's 5)
        "recruiter_engagements": 5,
    }  # 2 InMails + the profile file's 3 recruiter messages
    assert (row["profile_views_7d"], row["profile_views_30d"], row["estimated_recruiter_reach"]) == (40, 100, 10)
    assert row["view_change_pct"] == pytest.approx(-100 / 3)
    assert (
        row["profile_views_source"],
        row["connections_source"],
        row["invitations_source"],
        row["inmails_source"],
    ) == ("profile_activity", "linkedin_archive", "linkedin_archive", "linkedin_archive")


def test_without_an_archive_the_profile_file_gives_the_figures(con):
    row = metrics(con, "bob")
    assert (
        row["new_connections_7d"],
        row["invitations_received_7d"],
        row["invitations_received_30d"],
        row["inmails_received"],
    ) == (7, 9, 9, 5)
    assert (row["connections_source"], row["inmails_source"]) == ("profile_activity", "profile_activity")


def test_without_a_profile_file_views_have_no_source(con):
    row = metrics(con, "cy")
    assert (row["profile_views_30d"], row["estimated_recruiter_reach"], row["inmails_received"]) == (0, 0, 2)
    assert pd.isna(row["profile_views_source"]) and pd.isna(row["connections_source"])
    assert row["inmails_source"] == "linkedin_archive"


def test_the_weekly_report_says_where_each_figure_came_from(con):
    refresh_post_tables(con)
    (report,) = q.weekly_reports(con, q.ONE_PERIOD_SQL, {"user_id": "ada", **PERIOD}, NOW)
    assert report["recruiter_figures"] == {
        "new_connections_7d": 2,
        "new_connections_30d": 4,
        "invitations_received_7d": 1,
        "invitations_received_30d": 2,
        "sources": {
            "profile_views": "profile_activity",
            "connections": "linkedin_archive",
            "invitations": "linkedin_archive",
            "inmails": "linkedin_archive",
        },
    }
    markdown = render_markdown(report)
    assert "| New connections (30 days)" in markdown and "LinkedIn archive: Connections.csv (Connected On)" in markdown
    assert "a conversation whose first message was received and has a subject" in markdown
    assert "| Profile views (30 days)" in markdown and "profile-activity file" in markdown
    assert "LinkedIn archive: Invitations.csv (incoming)" in render_html(report)
