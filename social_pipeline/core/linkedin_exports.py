"""LinkedIn's own downloads: the data archive (a zip of CSVs) and the content analytics workbook. Pure parsing.

Recognised by content, never by file name:

* `linkedin_connections` -- `Connections.csv`: a preamble of 2-3 lines (`Notes:`, a quoted note, a
  blank line) before `First Name,Last Name,URL,Email Address,Company,Position,Connected On`.
  `Connected On` reads `12 Mar 2024`; older archives write `7-Feb-22` or `2024-03-12`.
* `linkedin_messages` -- `messages.csv`: `CONVERSATION ID,CONVERSATION TITLE,FROM,[SENDER PROFILE URL,]TO,
  [RECIPIENT PROFILE URLS,]DATE,SUBJECT,CONTENT,FOLDER[,ATTACHMENTS,IS MESSAGE DRAFT,...]`: the columns vary
  by year, so only CONVERSATION ID, FROM, TO, DATE and CONTENT are required. `DATE` reads
  `2026-08-01 02:00:00 UTC`.
* `linkedin_invitations` -- `Invitations.csv`: `From,To,Sent At,Message,Direction,inviterProfileUrl,
  inviteeProfileUrl`; `Sent At` reads `3/12/24, 9:14 AM` (UTC), Direction `INCOMING` or `OUTGOING`.
* `linkedin_archive` -- the whole zip: the members above are parsed, every other member (Profile.csv,
  Positions.csv, ...) is left out with a note.
* `linkedin_content_analytics` -- the creator analytics `.xlsx`: sheets `TOP POSTS` (two lists side by
  side, one ranked by engagements and one by impressions, joined here by post URL), `ENGAGEMENT` (daily
  impressions and engagements) and `FOLLOWERS` (daily new followers, and a `Total followers on M/D/YYYY`
  line). `DISCOVERY` and `DEMOGRAPHICS` are not used. Headers are found by their names, anywhere in
  the first rows, since the layout moves between versions.

messages.csv does not say which participant is the account's owner: the owner is the name taking part in
the most conversations (ties: the name that received the most messages), and a message from anyone else
is `received`. These files do not name the account either; the caller supplies it.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import cast

import pandas as pd

from .clock import utc_now
from .exports import ExportError, parse_count, read_rows

CONNECTIONS = "linkedin_connections"
MESSAGES = "linkedin_messages"
INVITATIONS = "linkedin_invitations"
ARCHIVE = "linkedin_archive"
CONTENT_ANALYTICS = "linkedin_content_analytics"
KINDS = (CONNECTIONS, MESSAGES, INVITATIONS, ARCHIVE, CONTENT_ANALYTICS)

# Normalised header name -> our column, per CSV kind; REQUIRED_COLUMNS recognise the kind.
CSV_COLUMNS = {
    CONNECTIONS: {
        "first name": "first_name",
        "last name": "last_name",
        "url": "profile_url",
        "email address": "email_address",
        "company": "company",
        "position": "position",
        "connected on": "connected_on",
    },
    MESSAGES: {
        "conversation id": "conversation_id",
        "conversation title": "conversation_title",
        "from": "sender",
        "sender profile url": "sender_profile_url",
        "to": "recipients",
        "recipient profile urls": "recipient_profile_urls",
        "date": "sent_at",
        "subject": "subject",
        "content": "content",
        "folder": "folder",
        "is message draft": "is_draft",
    },
    INVITATIONS: {
        "from": "sender",
        "to": "recipient",
        "sent at": "sent_at",
        "message": "message",
        "direction": "direction",
        "inviterprofileurl": "inviter_profile_url",
        "inviteeprofileurl": "invitee_profile_url",
    },
}
REQUIRED_COLUMNS = {
    CONNECTIONS: {"first name", "last name", "url", "connected on"},
    MESSAGES: {"conversation id", "from", "to", "date", "content"},
    INVITATIONS: {"from", "to", "sent at", "direction"},
}
# The archive's member names, used only to explain a member whose header is not recognised.
ARCHIVE_MEMBERS = {"connections.csv": CONNECTIONS, "messages.csv": MESSAGES, "invitations.csv": INVITATIONS}
# The preamble of Connections.csv is 2-3 lines; a header further down is not LinkedIn's layout.
HEADER_SEARCH_ROWS = 5
SHEET_HEADER_SEARCH_ROWS = 15
DATE_FORMATS = {
    CONNECTIONS: ("%d %b %Y", "%d-%b-%y", "%Y-%m-%d"),
    MESSAGES: ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M UTC"),
    INVITATIONS: ("%m/%d/%y, %I:%M %p", "%m/%d/%Y, %I:%M %p", "%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S"),
}
DATE_EXAMPLES = {
    CONNECTIONS: "'12 Mar 2024', '7-Feb-22' or '2024-03-12'",
    MESSAGES: "'2026-08-01 02:00:00 UTC'",
    INVITATIONS: "'3/12/24, 9:14 AM'",
}
DIRECTIONS = {"incoming": "incoming", "outgoing": "outgoing"}
SHEET_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%d/%m/%Y")
REQUIRED_SHEETS = ("TOP POSTS", "ENGAGEMENT", "FOLLOWERS")
# A date this far after the time of ingestion is refused (the exporting machine's clock may run ahead).
CLOCK_SKEW = pd.Timedelta(days=1)

FRAME_COLUMNS = {
    "connections": ["first_name", "last_name", "profile_url", "email_address", "company", "position", "connected_on"],
    "messages": [
        "conversation_id",
        "conversation_title",
        "sender",
        "sender_profile_url",
        "recipients",
        "recipient_profile_urls",
        "sent_at",
        "subject",
        "content",
        "folder",
        "is_draft",
        "direction",
    ],
    "invitations": [
        "sender",
        "recipient",
        "sent_at",
        "message",
        "direction",
        "inviter_profile_url",
        "invitee_profile_url",
    ],
    "posts": ["post_url", "published_on", "impressions", "engagements"],
    "daily": ["day", "impressions", "engagements", "new_followers"],
}


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=FRAME_COLUMNS[name])


@dataclass
class LinkedInFile:
    kind: str
    connections: pd.DataFrame = field(default_factory=lambda: _empty("connections"))
    messages: pd.DataFrame = field(default_factory=lambda: _empty("messages"))
    invitations: pd.DataFrame = field(default_factory=lambda: _empty("invitations"))
    posts: pd.DataFrame = field(default_factory=lambda: _empty("posts"))
    daily: pd.DataFrame = field(default_factory=lambda: _empty("daily"))
    total_followers: int | None = None
    total_followers_on: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(getattr(self, name)) for name in FRAME_COLUMNS)


def _name(header: str) -> str:
    return re.sub(r"\s+", " ", str(header).replace("\ufeff", "")).strip().lower()


def _shown(header) -> str:
    cells = [repr(str(h)) for h in header if h is not None and str(h).strip()]
    return ", ".join(cells[:10]) + (" ..." if len(cells) > 10 else "")


def _kind_of_header(header: list[str]) -> str | None:
    names = {_name(h) for h in header}
    # Invitations share FROM/TO with messages: the more specific set wins.
    for kind in (MESSAGES, INVITATIONS, CONNECTIONS):
        if REQUIRED_COLUMNS[kind] <= names:
            return kind
    return None


def _is_connections_preamble(records: list[list[str]]) -> bool:
    return bool(records) and _name(records[0][0] if records[0] else "").startswith("notes")


def _recognise(header: list[str], rows: list[tuple[int, list[str]]]) -> tuple[str, int] | None:
    """(kind, index of the header among the file's non-blank records), or None for a CSV that is not
    LinkedIn's. A file opening with Connections.csv's `Notes:` preamble but no known header is refused
    here, naming the columns found (a download in another language, say)."""
    records = [header] + [record for _, record in rows[:HEADER_SEARCH_ROWS]]
    for index, record in enumerate(records[:HEADER_SEARCH_ROWS]):
        kind = _kind_of_header(record)
        if kind is not None:
            return kind, index
    if _is_connections_preamble(records):
        after = next((r for r in records[1:] if len(r) > 1), records[-1])
        raise ExportError(
            "a LinkedIn Connections.csv (it opens with the 'Notes:' preamble) without its header "
            "'First Name, Last Name, URL, Email Address, Company, Position, Connected On' "
            f"(English column names); found {_shown(after)}"
        )
    return None


def recognise_csv(content: bytes) -> tuple[str, int] | None:
    """_recognise for a file's bytes; None too for a file that is no readable CSV."""
    try:
        header, rows = read_rows(content)
    except ExportError:
        return None
    return _recognise(header, rows)


def is_zip(content: bytes) -> bool:
    return content[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def looks_like_linkedin(content: bytes) -> bool:
    """A zip (the archive, the workbook) or a CSV in one of LinkedIn's layouts."""
    return is_zip(content) or recognise_csv(content) is not None


def _parse_times(values: pd.Series, kind: str, column: str, lines: pd.Series, now: pd.Timestamp) -> pd.Series:
    """Every value in one of the kind's formats (vectorised: one pass per format), else an error at the
    first line that fits none, or that lies after the time of ingestion."""
    text = values.fillna("").astype(str).str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS[kind]:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        first = cast(int, bad.idxmax())  # the frame's rows are numbered from 0
        raise ExportError(
            f"column {column!r}: unparsable date {values[first]!r} (expected like {DATE_EXAMPLES[kind]})",
            line=int(lines[first]),
        )
    future = parsed > now + CLOCK_SKEW
    if future.any():
        first = cast(int, future.idxmax())  # the frame's rows are numbered from 0
        raise ExportError(
            f"column {column!r}: {values[first]!r} is after the time of ingestion ({now:%Y-%m-%d %H:%M} UTC)",
            line=int(lines[first]),
        )
    return parsed


def _message_directions(messages: pd.DataFrame) -> pd.Series:
    """'received' for a message whose sender is not the account's owner (see the module docstring)."""
    recipients = (
        messages[["conversation_id", "recipients"]]
        .assign(name=messages["recipients"].fillna("").str.split(","))
        .explode("name")
    )
    recipients["name"] = recipients["name"].str.strip()
    senders = messages[["conversation_id"]].assign(name=messages["sender"].fillna("").str.strip())
    everyone = pd.concat([senders.assign(received=0), recipients[["conversation_id", "name"]].assign(received=1)])
    everyone = everyone[everyone["name"] != ""]
    if everyone.empty:
        return pd.Series("received", index=messages.index)
    ranking = (
        everyone.groupby("name")
        .agg(conversations=("conversation_id", "nunique"), received=("received", "sum"))
        .reset_index()
    )
    owner = ranking.sort_values(["conversations", "received", "name"], ascending=[False, False, True]).iloc[0]
    sent = messages["sender"].fillna("").str.strip() == owner["name"]
    return sent.map({True: "sent", False: "received"})


def parse_csv(content: bytes, now: pd.Timestamp | None = None) -> LinkedInFile:
    """One of the archive's CSVs. Raises ExportError naming the problem and line."""
    header, rows = read_rows(content)
    found = _recognise(header, rows)
    if found is None:
        raise ExportError(
            "not one of LinkedIn's archive files (Connections.csv, messages.csv, Invitations.csv; "
            f"their English column names); found {_shown(header)}",
            line=1,
        )
    return _parse_rows(header, rows, found, now)


def _parse_rows(
    header: list[str], rows: list[tuple[int, list[str]]], found: tuple[str, int], now: pd.Timestamp | None
) -> LinkedInFile:
    now = utc_now() if now is None else pd.Timestamp(now)
    kind, header_index = found
    records = [(1, header)] + rows
    header_line, header = records[header_index]
    body = records[header_index + 1 :]
    names = [_name(h) for h in header]
    if len(set(names)) != len(names):
        raise ExportError("a column appears twice in the header", line=header_line)
    for index, (line, record) in enumerate(body):
        if len(record) != len(header):
            truncated = index == len(body) - 1 and len(record) < len(header)
            raise ExportError(
                f"the row has {len(record)} columns, the header has {len(header)}"
                + (": the file looks truncated mid-row" if truncated else ""),
                line=line,
            )
    ours = CSV_COLUMNS[kind]
    frame = pd.DataFrame([record for _, record in body], columns=names, dtype=object)
    frame = frame[[n for n in names if n in ours]].rename(columns=ours)
    lines = pd.Series([line for line, _ in body], dtype="int64")
    frame = frame.where(frame.apply(lambda column: column.str.strip().ne("")), None)  # blank cells: NULL
    result = LinkedInFile(kind)
    if kind == CONNECTIONS:
        days = _parse_times(frame["connected_on"], kind, header[names.index("connected on")], lines, now)
        frame["connected_on"] = days.dt.date
        result.connections = _dedupe(frame.reindex(columns=FRAME_COLUMNS["connections"]), result.notes)
    elif kind == MESSAGES:
        frame["sent_at"] = _parse_times(frame["sent_at"], kind, header[names.index("date")], lines, now)
        drafts = frame["is_draft"] if "is_draft" in frame else pd.Series(None, index=frame.index, dtype=object)
        frame["is_draft"] = drafts.fillna("").astype(str).str.strip().str.lower().isin(["yes", "true"])
        frame["direction"] = _message_directions(frame) if len(frame) else pd.Series(dtype=object)
        result.messages = _dedupe(frame.reindex(columns=FRAME_COLUMNS["messages"]), result.notes)
    else:
        frame["sent_at"] = _parse_times(frame["sent_at"], kind, header[names.index("sent at")], lines, now)
        direction = frame["direction"].fillna("").astype(str).str.strip().str.lower()
        unknown = ~direction.isin(list(DIRECTIONS))
        if unknown.any():
            first = cast(int, unknown.idxmax())  # the frame's rows are numbered from 0
            raise ExportError(
                f"column 'Direction': {frame['direction'][first]!r} is neither INCOMING nor OUTGOING",
                line=int(lines[first]),
            )
        frame["direction"] = direction
        result.invitations = _dedupe(frame.reindex(columns=FRAME_COLUMNS["invitations"]), result.notes)
    return result


def _dedupe(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Identical repeated rows say nothing new: one is kept."""
    kept = frame.drop_duplicates(ignore_index=True)
    if len(kept) < len(frame):
        notes.append(f"{len(frame) - len(kept)} repeated identical rows dropped")
    return kept


def _open_zip(content: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ExportError(
            f"a zip file (LinkedIn archive or .xlsx) that cannot be opened: its end is missing, "
            f"the download looks truncated ({exc})"
        ) from None


def is_workbook(archive: zipfile.ZipFile) -> bool:
    return "xl/workbook.xml" in archive.namelist()


def parse_archive(content: bytes, now: pd.Timestamp | None = None) -> LinkedInFile:
    """The data archive's zip: Connections.csv, messages.csv and Invitations.csv, found by content."""
    now = utc_now() if now is None else pd.Timestamp(now)
    archive = _open_zip(content)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if not members:
        raise ExportError("the LinkedIn archive is empty: it holds no files")
    result, skipped = LinkedInFile(ARCHIVE), []
    for member in members:
        try:
            data = archive.read(member)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ExportError(
                f"{member.filename} in the archive cannot be read: the archive looks truncated or damaged ({exc})"
            ) from None
        expected = ARCHIVE_MEMBERS.get(PurePosixPath(member.filename).name.lower())
        try:
            header, rows, found = [], [], None
            if member.filename.lower().endswith(".csv"):
                try:
                    header, rows = read_rows(data)
                except ExportError:
                    if expected:
                        raise
                else:
                    found = _recognise(header, rows)
            if found is None and expected:
                raise ExportError(
                    f"not in LinkedIn's {PurePosixPath(member.filename).name} layout (its English "
                    f"column names {', '.join(sorted(REQUIRED_COLUMNS[expected]))}); "
                    f"found {_shown(header)}",
                    line=1,
                )
            if found is None:
                skipped.append(member.filename)
                continue
            part = _parse_rows(header, rows, found, now)
        except ExportError as exc:
            raise ExportError(f"{member.filename} in the archive: {exc}") from None
        for name in ("connections", "messages", "invitations"):
            frame = getattr(part, name)
            if len(frame):
                setattr(
                    result,
                    name,
                    pd.concat([getattr(result, name), frame], ignore_index=True)
                    if len(getattr(result, name))
                    else frame,
                )
        result.notes.extend(f"{member.filename}: {note}" for note in part.notes)
    if len(skipped) == len(members):
        raise ExportError(
            "the archive holds none of LinkedIn's Connections.csv, messages.csv or Invitations.csv "
            f"(found {', '.join(m.filename for m in members[:8])})"
        )
    if skipped:
        result.notes.append(
            f"{len(skipped)} other archive files not used: {', '.join(skipped[:8])}"
            + (" ..." if len(skipped) > 8 else "")
        )
    return result


# ----- the content analytics workbook ----------------------------------------------------------------


def _cell_date(value, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for fmt in SHEET_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ExportError(f"{where}: unparsable date {value!r} (expected like '1/15/2024' or '2024-01-15')")


def _cell_count(value, column: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ExportError(f"{where}: column {column!r}: {value!r} is not a count")
    if isinstance(value, (int, float)):
        value = repr(value)
    try:
        return parse_count(str(value), column, 0)
    except ExportError as exc:
        raise ExportError(f"{where}: {exc.problem}") from None


def _sheet(workbook, wanted: str):
    by_name = {_name(name): name for name in workbook.sheetnames}
    found = by_name.get(_name(wanted))
    if found is None:
        raise ExportError(
            f"the workbook has no sheet {wanted!r} (LinkedIn's content analytics export has "
            f"{', '.join(REQUIRED_SHEETS)}); found sheets {', '.join(map(repr, workbook.sheetnames))}"
        )
    return workbook[found]


def _find_header(rows: list[tuple], sheet: str, needed: tuple[str, ...]) -> int:
    for index, row in enumerate(rows[:SHEET_HEADER_SEARCH_ROWS]):
        names = {_name(c) for c in row if c is not None}
        if set(needed) <= names:
            return index
    raise ExportError(
        f"sheet {sheet!r}: no header row with {', '.join(repr(n.title()) for n in needed)} in its "
        f"first {SHEET_HEADER_SEARCH_ROWS} rows"
    )


def _top_posts(rows: list[tuple]) -> pd.DataFrame:
    """Two lists side by side, each a block starting at a 'Post URL' column; joined by URL."""
    sheet = "TOP POSTS"
    at = _find_header(rows, sheet, ("post url",))
    header = [_name(c) if c is not None else "" for c in rows[at]]
    starts = [i for i, n in enumerate(header) if n == "post url"] + [len(header)]
    lists: dict[str, pd.DataFrame] = {}
    for start, end in zip(starts, starts[1:], strict=False):
        block = {n: i for i, n in enumerate(header[start:end], start) if n}
        figure = "engagements" if "engagements" in block else "impressions" if "impressions" in block else None
        if figure is None or "post publish date" not in block:
            raise ExportError(
                f"sheet {sheet!r}, row {at + 1}: the list starting at column {start + 1} lacks "
                "'Post publish date' and 'Engagements' or 'Impressions'"
            )
        if figure in lists:
            raise ExportError(f"sheet {sheet!r}, row {at + 1}: two lists ranked by {figure}")
        records = []
        for number, row in enumerate(rows[at + 1 :], at + 2):
            url = row[start] if start < len(row) else None
            if url is None or not str(url).strip():
                continue
            where = f"sheet {sheet!r}, row {number}"
            records.append(
                {
                    "post_url": str(url).strip(),
                    "published_on": _cell_date(row[block["post publish date"]], where),
                    figure: _cell_count(row[block[figure]], figure.title(), where),
                }
            )
        lists[figure] = pd.DataFrame(records, columns=["post_url", "published_on", figure]).drop_duplicates("post_url")
    if not lists:
        raise ExportError(f"sheet {sheet!r}: no list of posts")
    frames = list(lists.values())
    joined = frames[0]
    for other in frames[1:]:
        joined = joined.merge(other, on="post_url", how="outer", suffixes=("", "_other"))
        joined["published_on"] = joined["published_on"].fillna(joined.pop("published_on_other"))
    return joined.reindex(columns=FRAME_COLUMNS["posts"])


def _daily(rows: list[tuple], sheet: str, figures: dict[str, str]) -> pd.DataFrame:
    at = _find_header(rows, sheet, ("date", *figures))
    header = {_name(c): i for i, c in enumerate(rows[at]) if c is not None}
    records = []
    for number, row in enumerate(rows[at + 1 :], at + 2):
        cell = row[header["date"]] if header["date"] < len(row) else None
        if cell is None or not str(cell).strip():
            continue
        where = f"sheet {sheet!r}, row {number}"
        records.append(
            {
                "day": _cell_date(cell, where),
                **{
                    ours: _cell_count(row[header[theirs]] if header[theirs] < len(row) else None, theirs.title(), where)
                    for theirs, ours in figures.items()
                },
            }
        )
    frame = pd.DataFrame(records, columns=["day", *figures.values()])
    repeated = frame["day"].duplicated()
    if repeated.any():
        raise ExportError(f"sheet {sheet!r}: the day {frame['day'][cast(int, repeated.idxmax())]} appears twice")
    return frame


def _total_followers(rows: list[tuple]) -> tuple[int | None, pd.Timestamp | None]:
    for row in rows[:SHEET_HEADER_SEARCH_ROWS]:
        for index, cell in enumerate(row):
            found = re.match(r"\s*total followers on (\d{1,2}/\d{1,2}/\d{4})", str(cell or ""), re.I)
            if found:
                value = next((c for c in row[index + 1 :] if c is not None and str(c).strip()), None)
                total = _cell_count(value, "Total followers", "sheet 'FOLLOWERS'")
                return total, pd.Timestamp(datetime.strptime(found.group(1), "%m/%d/%Y"))
    return None, None


def parse_workbook(content: bytes, now: pd.Timestamp | None = None) -> LinkedInFile:
    """The content analytics .xlsx. Raises ExportError naming the sheet and row."""
    from openpyxl import load_workbook

    now = utc_now() if now is None else pd.Timestamp(now)
    _open_zip(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as exc:
        raise ExportError(f"the .xlsx workbook cannot be read: it looks truncated or damaged ({exc})") from None
    try:
        sheets = {
            name: [tuple(r) for r in _sheet(workbook, name).iter_rows(values_only=True)] for name in REQUIRED_SHEETS
        }
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise ExportError(f"the .xlsx workbook cannot be read: it looks truncated or damaged ({exc})") from None
    finally:
        workbook.close()
    result = LinkedInFile(CONTENT_ANALYTICS)
    result.posts = _top_posts(sheets["TOP POSTS"])
    engagement = _daily(
        sheets["ENGAGEMENT"], "ENGAGEMENT", {"impressions": "impressions", "engagements": "engagements"}
    )
    followers = _daily(sheets["FOLLOWERS"], "FOLLOWERS", {"new followers": "new_followers"})
    result.daily = engagement.merge(followers, on="day", how="outer").reindex(columns=FRAME_COLUMNS["daily"])
    result.total_followers, result.total_followers_on = _total_followers(sheets["FOLLOWERS"])
    latest = max([*result.posts["published_on"], *result.daily["day"]], default=None)
    if latest is not None and pd.Timestamp(latest) > now + CLOCK_SKEW:
        raise ExportError(f"a date ({latest}) after the time of ingestion ({now:%Y-%m-%d %H:%M} UTC)")
    for column in ("impressions", "engagements"):
        result.posts[column] = result.posts[column].astype("Int64")
    for column in ("impressions", "engagements", "new_followers"):
        result.daily[column] = result.daily[column].astype("Int64")
    return result


def parse_linkedin_file(content: bytes, now: pd.Timestamp | None = None) -> LinkedInFile:
    """Recognise and parse one LinkedIn download: the archive zip, the workbook, or one of the CSVs."""
    if is_zip(content):
        return parse_workbook(content, now) if is_workbook(_open_zip(content)) else parse_archive(content, now)
    return parse_csv(content, now)
