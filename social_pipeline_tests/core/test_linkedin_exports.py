"""LinkedIn's data archive and content analytics workbook: layouts, variants and bad input."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from social_pipeline.core.exports import ExportError
from social_pipeline.core.linkedin_exports import (
    ARCHIVE,
    CONNECTIONS,
    CONTENT_ANALYTICS,
    INVITATIONS,
    MESSAGES,
    looks_like_linkedin,
    parse_linkedin_file,
)
from social_pipeline_tests.helpers import (
    CONNECTIONS_HEADER,
    MESSAGES_NEWER,
    MESSAGES_OLDER,
    OWNER,
    archive_zip,
    connections_csv,
    csv_bytes,
    invitations_csv,
    message_row,
    messages_csv,
    workbook_xlsx,
)

NOW = pd.Timestamp("2026-08-10 12:00")


@pytest.mark.parametrize(
    "preamble",
    [
        None,  # Notes:, the note, a blank line
        [["Notes:"], ["When exporting your connection data, some email addresses may be missing."]],  # 2 lines
        [["Notes:"], ["A note."], [""], []],
    ],
)
def test_connections_with_each_preamble_and_date_form(preamble):
    content = connections_csv(
        [("Grace", "Hopper", "12 Mar 2024"), ("Alan", "Turing", "7-Feb-22"), ("Edsger", "Dijkstra", "2024-03-12")],
        preamble=preamble,
    )
    parsed = parse_linkedin_file(content, NOW)
    assert parsed.kind == CONNECTIONS
    assert list(parsed.connections["connected_on"]) == [dt.date(2024, 3, 12), dt.date(2022, 2, 7), dt.date(2024, 3, 12)]
    assert list(parsed.connections["profile_url"])[0] == "https://www.linkedin.com/in/grace-hopper"
    assert parsed.connections["email_address"].isna().all()  # blank cells are NULL
    assert parsed.rows == 3


def test_connections_date_in_another_form_names_the_line():
    content = connections_csv([("Grace", "Hopper", "12 Mar 2024"), ("Alan", "Turing", "03/12/2024")])
    with pytest.raises(ExportError, match=r"line 6: column 'Connected On': unparsable date '03/12/2024'"):
        parse_linkedin_file(content, NOW)


def test_connections_in_another_language_names_the_columns_found():
    german = ["Vorname", "Nachname", "URL", "E-Mail-Adresse", "Unternehmen", "Position", "Verbunden am"]
    content = connections_csv([("Grace", "Hopper", "12 Mär 2024")], header=german)
    with pytest.raises(ExportError, match=r"found 'Vorname', 'Nachname', 'URL', 'E-Mail-Adresse'"):
        parse_linkedin_file(content, NOW)


def test_messages_in_another_language_is_not_taken_for_linkedin():
    french = ["ID DE CONVERSATION", "DE", "À", "DATE", "CONTENU"]
    content = csv_bytes([french, ["c1", "A", "B", "2026-08-01 02:00:00 UTC", "x"]])
    assert not looks_like_linkedin(content)
    with pytest.raises(ExportError, match=r"found 'ID DE CONVERSATION', 'DE', 'À', 'DATE', 'CONTENU'"):
        parse_linkedin_file(content, NOW)


@pytest.mark.parametrize("header", [MESSAGES_NEWER, MESSAGES_OLDER])
def test_messages_older_and_newer_column_sets_and_the_owner(header):
    rows = [
        message_row(header, "c1", "Rita Recruiter", OWNER, "2026-08-01 02:00:00 UTC", "Role at Acme"),
        message_row(header, "c1", OWNER, "Rita Recruiter", "2026-08-01 09:30:00 UTC"),
        message_row(header, "c2", "Bob Builder", OWNER, "2026-08-02 10:00:00 UTC"),
        message_row(header, "c2", OWNER, "Bob Builder", "2026-08-02 11:00:00 UTC", content="draft", draft="Yes"),
    ]
    parsed = parse_linkedin_file(messages_csv(rows, header), NOW)
    assert parsed.kind == MESSAGES
    frame = parsed.messages
    assert list(frame["direction"]) == ["received", "sent", "received", "sent"]
    assert list(frame["sent_at"]) == [
        pd.Timestamp("2026-08-01 02:00"),
        pd.Timestamp("2026-08-01 09:30"),
        pd.Timestamp("2026-08-02 10:00"),
        pd.Timestamp("2026-08-02 11:00"),
    ]
    assert list(frame["subject"]) == ["Role at Acme", None, None, None]
    # Older archives have no draft column: nothing is a draft.
    assert list(frame["is_draft"]) == ([False, False, False, True] if "IS MESSAGE DRAFT" in header else [False] * 4)
    if "SENDER PROFILE URL" not in header:
        assert frame["sender_profile_url"].isna().all()


def test_messages_unparsable_date_names_the_line():
    rows = [
        message_row(MESSAGES_NEWER, "c1", "A", OWNER, "2026-08-01 02:00:00 UTC"),
        message_row(MESSAGES_NEWER, "c1", OWNER, "A", "01/08/2026 02:00"),
    ]
    with pytest.raises(ExportError, match=r"line 3: column 'DATE': unparsable date '01/08/2026 02:00'"):
        parse_linkedin_file(messages_csv(rows), NOW)


def test_invitations_directions_and_times():
    content = invitations_csv(
        [
            ("Rita Recruiter", OWNER, "8/3/26, 9:14 AM", "INCOMING"),
            (OWNER, "Bob Builder", "8/4/26, 4:05 PM", "OUTGOING"),
        ]
    )
    parsed = parse_linkedin_file(content, NOW)
    assert parsed.kind == INVITATIONS
    assert list(parsed.invitations["direction"]) == ["incoming", "outgoing"]
    assert list(parsed.invitations["sent_at"]) == [pd.Timestamp("2026-08-03 09:14"), pd.Timestamp("2026-08-04 16:05")]


def test_invitation_with_an_unknown_direction_names_the_line():
    content = invitations_csv([("A", OWNER, "8/3/26, 9:14 AM", "SIDEWAYS")])
    with pytest.raises(ExportError, match=r"line 2: column 'Direction': 'SIDEWAYS'"):
        parse_linkedin_file(content, NOW)


def test_a_date_after_ingestion_is_refused():
    content = connections_csv([("Grace", "Hopper", "12 Mar 2027")])
    with pytest.raises(ExportError, match=r"line 5: column 'Connected On': '12 Mar 2027' is after the time"):
        parse_linkedin_file(content, NOW)


def test_archive_finds_its_csvs_by_content_and_leaves_the_rest():
    archive = archive_zip(
        {
            "Connections.csv": connections_csv([("Grace", "Hopper", "12 Mar 2024")]),
            "messages.csv": messages_csv([message_row(MESSAGES_NEWER, "c1", "A", OWNER, "2026-08-01 02:00:00 UTC")]),
            "Invitations.csv": invitations_csv([("A", OWNER, "8/3/26, 9:14 AM", "INCOMING")]),
            "Profile.csv": csv_bytes([["First Name", "Last Name", "Headline"], ["Ada", "Lovelace", "Engineer"]]),
            # A renamed member is still recognised by its header.
            "old/contacts-2024.csv": connections_csv([("Alan", "Turing", "7-Feb-22")]),
        }
    )
    parsed = parse_linkedin_file(archive, NOW)
    assert parsed.kind == ARCHIVE
    assert (len(parsed.connections), len(parsed.messages), len(parsed.invitations)) == (2, 1, 1)
    assert any("Profile.csv" in note for note in parsed.notes)


def test_empty_archive():
    with pytest.raises(ExportError, match="the LinkedIn archive is empty"):
        parse_linkedin_file(archive_zip({}), NOW)


def test_archive_without_any_linkedin_csv():
    with pytest.raises(ExportError, match=r"holds none of LinkedIn's .* \(found Profile.csv\)"):
        parse_linkedin_file(archive_zip({"Profile.csv": csv_bytes([["First Name"], ["Ada"]])}), NOW)


def test_truncated_archive():
    archive = archive_zip({"Connections.csv": connections_csv([("Grace", "Hopper", "12 Mar 2024")] * 50)})
    with pytest.raises(ExportError, match="download looks truncated"):
        parse_linkedin_file(archive[: len(archive) // 2], NOW)


def test_archive_member_in_another_language_names_member_and_columns():
    german = ["Vorname", "Nachname", "URL", "E-Mail-Adresse", "Unternehmen", "Position", "Verbunden am"]
    archive = archive_zip({"Connections.csv": csv_bytes([german, ["Grace", "Hopper", "", "", "", "", "x"]])})
    with pytest.raises(
        ExportError,
        match=r"Connections.csv in the archive: line 1: not in LinkedIn's "
        r"Connections.csv layout .* found 'Vorname', 'Nachname'",
    ):
        parse_linkedin_file(archive, NOW)


def test_archive_member_error_names_member_and_line():
    archive = archive_zip({"Connections.csv": connections_csv([("Grace", "Hopper", "2024/03/12")])})
    with pytest.raises(ExportError, match=r"Connections.csv in the archive: line 5: column 'Connected On'"):
        parse_linkedin_file(archive, NOW)


DAILY = [("8/1/2026", 500, 20, 3), ("8/2/2026", 800, 41, 5)]


@pytest.mark.parametrize("header_row", [3, 6])
def test_workbook_joins_the_two_top_lists_by_url(header_row):
    content = workbook_xlsx(
        top_by_engagements=[
            ("https://www.linkedin.com/feed/update/urn:li:activity:1", "8/1/2026", 40),
            ("https://www.linkedin.com/feed/update/urn:li:activity:2", "8/2/2026", 12),
        ],
        top_by_impressions=[
            ("https://www.linkedin.com/feed/update/urn:li:activity:2", "8/2/2026", 900),
            ("https://www.linkedin.com/feed/update/urn:li:activity:3", "7/30/2026", 300),
        ],
        daily=DAILY,
        header_row=header_row,
    )
    parsed = parse_linkedin_file(content, NOW)
    assert parsed.kind == CONTENT_ANALYTICS
    posts = parsed.posts.sort_values("post_url").reset_index(drop=True)
    assert [u.rsplit(":", 1)[1] for u in posts["post_url"]] == ["1", "2", "3"]
    assert list(posts["engagements"].astype(object).where(posts["engagements"].notna(), None)) == [40, 12, None]
    assert list(posts["impressions"].astype(object).where(posts["impressions"].notna(), None)) == [None, 900, 300]
    assert list(posts["published_on"]) == [dt.date(2026, 8, 1), dt.date(2026, 8, 2), dt.date(2026, 7, 30)]
    assert list(parsed.daily["impressions"]) == [500, 800]
    assert list(parsed.daily["new_followers"]) == [3, 5]
    assert (parsed.total_followers, parsed.total_followers_on) == (1200, pd.Timestamp("2026-08-02"))


def test_workbook_missing_sheet_names_it_and_the_sheets_found():
    content = workbook_xlsx([], [], DAILY, sheets=("DISCOVERY", "ENGAGEMENT", "FOLLOWERS"))
    with pytest.raises(ExportError, match=r"no sheet 'TOP POSTS' .* found sheets 'DISCOVERY', 'ENGAGEMENT'"):
        parse_linkedin_file(content, NOW)


def test_workbook_header_moved_beyond_reach():
    content = workbook_xlsx([("https://x/1", "8/1/2026", 4)], [], DAILY, header_row=20)
    with pytest.raises(ExportError, match=r"sheet 'TOP POSTS': no header row with 'Post Url' in its first 15 rows"):
        parse_linkedin_file(content, NOW)


def test_workbook_bad_date_names_sheet_and_row():
    content = workbook_xlsx([("https://x/1", "2026.08.01", 4)], [], DAILY)
    with pytest.raises(ExportError, match=r"sheet 'TOP POSTS', row 4: unparsable date '2026.08.01'"):
        parse_linkedin_file(content, NOW)


def test_truncated_workbook():
    content = workbook_xlsx([("https://x/1", "8/1/2026", 4)], [], DAILY)
    with pytest.raises(ExportError, match="truncated"):
        parse_linkedin_file(content[: len(content) - 200], NOW)


def test_x_exports_are_not_taken_for_linkedin():
    assert not looks_like_linkedin(
        csv_bytes([["Tweet id", "time", "impressions"], ["1", "2026-08-01 10:00 +0000", "5"]])
    )
    assert looks_like_linkedin(csv_bytes([CONNECTIONS_HEADER, ["A", "B", "", "", "", "", "12 Mar 2024"]]))
