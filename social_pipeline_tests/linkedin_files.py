"""LinkedIn downloads built in the tests, to the layouts real archives and workbooks have."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

CONNECTIONS_HEADER = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
CONNECTIONS_NOTES = [
    ["Notes:"],
    ["When exporting your connection data, you may notice that some of the email addresses are missing. "
     "You will only see email addresses for connections who have allowed their connections to see or "
     "download their email address using this setting https://www.linkedin.com/psettings/privacy/email. "
     "You can learn more here https://www.linkedin.com/help/linkedin/answer/261"],
    [],
]
MESSAGES_NEWER = ["CONVERSATION ID", "CONVERSATION TITLE", "FROM", "SENDER PROFILE URL", "TO",
                  "RECIPIENT PROFILE URLS", "DATE", "SUBJECT", "CONTENT", "FOLDER", "ATTACHMENTS",
                  "IS MESSAGE DRAFT", "IS CONVERSATION DRAFT"]
MESSAGES_OLDER = ["CONVERSATION ID", "CONVERSATION TITLE", "FROM", "TO", "DATE", "SUBJECT", "CONTENT", "FOLDER"]
INVITATIONS_HEADER = ["From", "To", "Sent At", "Message", "Direction", "inviterProfileUrl", "inviteeProfileUrl"]
OWNER = "Ada Lovelace"


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def connections_csv(connections: list[tuple[str, str, str]], preamble: list[list[str]] | None = None,
                    header: list[str] = CONNECTIONS_HEADER) -> bytes:
    """connections: (first name, last name, Connected On as written)."""
    rows = [[first, last, f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}", "", "Acme", "Engineer",
             on] for first, last, on in connections]
    return csv_bytes((CONNECTIONS_NOTES if preamble is None else preamble) + [header] + rows)


def message_row(header: list[str], conversation: str, sender: str, to: str, date: str, subject: str = "",
                content: str = "hello", draft: str = "No") -> list[str]:
    values = {"CONVERSATION ID": conversation, "CONVERSATION TITLE": "", "FROM": sender,
              "SENDER PROFILE URL": f"https://www.linkedin.com/in/{sender.lower().replace(' ', '-')}",
              "TO": to, "RECIPIENT PROFILE URLS": "", "DATE": date, "SUBJECT": subject, "CONTENT": content,
              "FOLDER": "INBOX", "ATTACHMENTS": "", "IS MESSAGE DRAFT": draft, "IS CONVERSATION DRAFT": "No"}
    return [values[h] for h in header]


def messages_csv(rows: list[list[str]], header: list[str] = MESSAGES_NEWER) -> bytes:
    return csv_bytes([header] + rows)


def invitations_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    """rows: (from, to, Sent At as written, INCOMING | OUTGOING)."""
    return csv_bytes([INVITATIONS_HEADER] + [[f, t, at, "", d, "", ""] for f, t, at, d in rows])


def archive_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def workbook_xlsx(top_by_engagements: list[tuple[str, str, int]], top_by_impressions: list[tuple[str, str, int]],
                  daily: list[tuple[str, int, int, int]], total_followers: int = 1200, total_on: str | None = None,
                  header_row: int = 3, sheets: tuple[str, ...] = ("DISCOVERY", "ENGAGEMENT", "TOP POSTS",
                                                                  "FOLLOWERS", "DEMOGRAPHICS")) -> bytes:
    """top lists: (post URL, publish date M/D/YYYY, figure); daily: (date M/D/YYYY, impressions, engagements,
    new followers); the follower total is stated on `total_on` (default: the last day). TOP POSTS' header is on
    `header_row` (1-based)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name in sheets:
        sheet = book.create_sheet(name)
        if name == "DISCOVERY":
            sheet.append(["Overall Performance", "1/1/2026 - 1/31/2026"])
            sheet.append(["Impressions", sum(d[1] for d in daily)])
            sheet.append(["Members reached", 321])
        elif name == "ENGAGEMENT":
            sheet.append(["Date", "Impressions", "Engagements"])
            for day, impressions, engagements, _ in daily:
                sheet.append([day, impressions, engagements])
        elif name == "TOP POSTS":
            sheet.append(["Maximum of 50 posts available to include in this list"])
            for _ in range(header_row - 2):
                sheet.append([])
            sheet.append(["Post URL", "Post publish date", "Engagements", None,
                          "Post URL", "Post publish date", "Impressions"])
            for index in range(max(len(top_by_engagements), len(top_by_impressions))):
                left = list(top_by_engagements[index]) if index < len(top_by_engagements) else [None] * 3
                right = list(top_by_impressions[index]) if index < len(top_by_impressions) else [None] * 3
                sheet.append(left + [None] + right)
        elif name == "FOLLOWERS":
            last = total_on or (daily[-1][0] if daily else "1/31/2026")
            sheet.append([f"Total followers on {last}:", total_followers])
            sheet.append([])
            sheet.append(["Date", "New followers"])
            for day, _, _, new in daily:
                sheet.append([day, new])
        else:
            sheet.append(["Top Demographics", "Value", "Percentage"])
            sheet.append(["Job titles", "Software Engineer", 0.12])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stamp(at: datetime) -> str:
    """messages.csv's DATE form."""
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")
