"""Files people drop in the inbox: X analytics exports and profile-activity sheets. Pure parsing.

Three kinds, recognised by their header row (never by file name or column position):

* `x_export_classic` -- X's `tweet_activity_metrics_<user>_<start>_<end>_en.csv`: "Tweet id",
  "Tweet permalink", "Tweet text", "time" (`2021-11-30 16:00 +0000`), "impressions",
  "engagements", "engagement rate", "retweets", "replies", "likes", "user profile clicks",
  "url clicks", "media views", then "promoted ..." columns. Counts look like "1777.0";
  "-" means not applicable (stored as NULL).
* `x_export_content` -- the newer `account_analytics_content_<start>_<end>.csv`: "Post id",
  "Date" (`Tue, Jul 14, 2026`: a day, no time), "Post text", "Post Link", "Impressions",
  "Likes", "Engagements", "Bookmarks", "Shares", "New follows", "Replies", "Reposts",
  "Profile visits", "URL Clicks", ... in any order. Posts get published_time_known = False
  and hour-based analytics leave them out.
* `profile_activity` -- our template for figures no API offers (LinkedIn): one row per user,
  platform and day; see PROFILE_TEMPLATE_COLUMNS and data/inbox-samples/.

The file's own "engagements" and "engagement rate" are not copied: we compute them from the
components like every other source. The whole original row is kept as the payload.

What time a file's figures stand for: they are lifetime totals as of the download (the
date range only selects which posts are listed), so the file's modification time -- set by
the browser when it saved the download -- is the evidence. A file copied later gets a newer
modification time, so it is capped at the end (23:59 UTC) of the range's last day when the
file name carries a range: X's default ranges end on the day of the download, and an old
export copied into the inbox months later must not claim today's date. It is never earlier
than the newest post in the file, and never later than the time of ingestion. The hourly partition is
the one containing that time. A later download of the same range, capped at the same time, is
re-stamped by the writer (sources/inbox_files.py) with the later evidence, see `later_snapshot_time`.

Odd rows (what real exports contain):
* X's placeholder rows (`,,,https://x.com/<handle>/status/undefined,0,0,...`: no post id, date or
  text, every count 0) are skipped with a note that counts them. Any other row without an id is refused.
* Reposts (text `RT @handle: ...`) are skipped with a note: their counts are the original post's,
  not the account's (the X API path leaves them out the same way, core/x_payloads.is_repost).
* A publication date after the time of ingestion (beyond a small clock skew) is refused: one row
  must not move the warehouse's "now". So is a count above a 64-bit integer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from .clock import naive_utc, utc_now
from .collection import PARTITION_KEY_FORMAT
from .metrics import COUNT_COLUMNS
from .x_payloads import REPOST_TEXT, handle_from_link

CLASSIC = "x_export_classic"
CONTENT = "x_export_content"
PROFILE = "profile_activity"

PROFILE_FIGURES = (
    "profile_views",
    "connections_new",
    "connection_requests",
    "search_appearances",
    "inmails_received",
    "recruiter_messages",
    "profile_saves",
    "conversations_started",
    "interviews_scheduled",
)
PROFILE_TEMPLATE_COLUMNS = ("user_id", "platform", "snapshot_date", *PROFILE_FIGURES)

# Normalised header name -> our count column.
CLASSIC_COUNTS = {
    "impressions": "impressions",
    "likes": "likes",
    "retweets": "retweets",
    "replies": "replies",
    "user profile clicks": "profile_clicks",
    "url clicks": "url_clicks",
    "media views": "media_views",
    "bookmarks": "bookmarks",
    "quotes": "quotes",
}
CONTENT_COUNTS = {
    "impressions": "impressions",
    "likes": "likes",
    "reposts": "retweets",
    "replies": "replies",
    "bookmarks": "bookmarks",
    "profile visits": "profile_clicks",
    "url clicks": "url_clicks",
    "media views": "media_views",
    "quotes": "quotes",
}
# The newer export's followers gained per post, stored beside the counts (post_follower_gain prefers it).
PER_POST_FOLLOWS = {"new follows": "new_follows"}
REQUIRED = {
    CLASSIC: {"tweet id", "time", "impressions"},
    CONTENT: {"post id", "date", "impressions"},
    PROFILE: {"user_id", "platform", "snapshot_date"},
}
NOT_APPLICABLE = {"", "-", "–"}
# The warehouse's counts are BIGINT.
MAX_COUNT = 2**63 - 1
# A post may be stamped this far after our clock (the exporting machine's clock may run ahead).
CLOCK_SKEW = pd.Timedelta(minutes=10)
# A date-only post (newer export) is dated in the account's time zone, up to 14 h ahead of UTC.
DATE_ONLY_SKEW = pd.Timedelta(days=1)


class ExportError(ValueError):
    """A file we refuse, with the problem and the line (1-based, as an editor shows it)."""

    def __init__(self, problem: str, line: int | None = None):
        self.problem = problem
        self.line = line
        super().__init__(f"line {line}: {problem}" if line else problem)


@dataclass
class ParsedFile:
    kind: str
    posts: pd.DataFrame  # raw.posts columns (without source / ingested_at)
    metrics: pd.DataFrame  # raw.tweet_metrics columns (without source / partition_key / written_at)
    profile: pd.DataFrame  # raw.profile_activity columns (without source_file / ingested_at)
    snapshot_time: pd.Timestamp | None = None
    partition_key: str | None = None
    notes: list[str] = field(default_factory=list)
    # Evidence for a later snapshot time when the first one is taken (see later_snapshot_time).
    modified_at: pd.Timestamp | None = None
    parsed_at: pd.Timestamp | None = None

    def own_time(self) -> pd.Timestamp | None:
        """When the file was downloaded, as far as it tells: its modification time, never after its
        ingestion; the time of ingestion when it has none (None for a profile file, which has neither)."""
        times = [pd.Timestamp(t) for t in (self.modified_at, self.parsed_at) if t is not None]
        return min(times) if times else None

    def restamp(self, snapshot: pd.Timestamp) -> None:
        """Give every metric row of the file another snapshot time (and its hourly partition)."""
        self.snapshot_time = snapshot
        self.partition_key = snapshot.floor("h").strftime(PARTITION_KEY_FORMAT)
        self.metrics["collected_at"] = snapshot

    @property
    def rows(self) -> int:
        return len(self.profile) if self.kind == PROFILE else len(self.metrics)


def _normalise(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("\ufeff", "")).strip().lower()


def recognise(header: list[str]) -> str:
    names = {_normalise(h) for h in header}
    for kind, required in REQUIRED.items():
        if required <= names:
            return kind
    shown = ", ".join(repr(h) for h in header[:8]) + (" ..." if len(header) > 8 else "")
    raise ExportError(
        "unrecognised header: expected an X analytics export (classic: 'Tweet id', 'time', 'impressions', ...; "
        "newer: 'Post id', 'Date', 'Impressions', ...) or a profile-activity file (user_id, platform, "
        f"snapshot_date, {', '.join(PROFILE_FIGURES[:3])}, ...); found {shown}",
        line=1,
    )


def _decode(content: bytes) -> str:
    if not content.strip():
        raise ExportError("the file is empty", line=1)
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8-sig")  # X's exports start with a BOM
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise ExportError(f"not UTF-8 text (byte {content[exc.start]:#x})", line=line) from None


def read_rows(content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line where the row starts, fields)]). Multi-line quoted text is one row."""
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    next_start = 1
    while True:
        start = next_start
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "end of data" in str(exc) or "EOF" in str(exc):
                raise ExportError(
                    "the file ends inside a quoted field: it looks truncated mid-row", line=start
                ) from None
            raise ExportError(f"malformed CSV ({exc})", line=reader.line_num) from None
        next_start = reader.line_num + 1
        if not record or all(not f.strip() for f in record):
            continue
        if header is None:
            header = record
        else:
            rows.append((start, record))
    if header is None:
        raise ExportError("the file is empty", line=1)
    return header, rows


def _check_widths(header: list[str], rows: list[tuple[int, list[str]]]) -> None:
    for index, (line, record) in enumerate(rows):
        if len(record) == len(header):
            continue
        if len(record) < len(header) and index == len(rows) - 1:
            raise ExportError(
                f"the last row has {len(record)} of {len(header)} columns: the file looks truncated mid-row", line=line
            )
        raise ExportError(f"the row has {len(record)} columns, the header has {len(header)}", line=line)


def parse_count(value: str, column: str, line: int) -> int | None:
    text = value.strip()
    if text in NOT_APPLICABLE:
        return None
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.0+)?", text):
        text = text.replace(",", "")
    try:
        number = Decimal(text)  # exact: a float would round 9223372036854775807 up past the limit
    except InvalidOperation:
        raise ExportError(f"column {column!r}: {value!r} is not a count", line=line) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ExportError(f"column {column!r}: {value!r} is not a whole count", line=line)
    if number < 0:
        raise ExportError(f"column {column!r}: negative count {value!r}", line=line)
    if number > MAX_COUNT:
        raise ExportError(f"column {column!r}: {value!r} is too large for a count (more than {MAX_COUNT:,})", line=line)
    return int(number)


def _parse_time(value: str, column: str, line: int) -> pd.Timestamp:
    text = value.strip()
    for fmt in ("%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M"):
        try:
            stamp = pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
        return naive_utc(stamp)
    raise ExportError(
        f"column {column!r}: unparsable time {value!r} (expected like '2021-11-30 16:00 +0000')", line=line
    )


def _parse_date(value: str, column: str, line: int) -> pd.Timestamp:
    text = value.strip()
    for fmt in ("%a, %b %d, %Y", "%b %d, %Y", "%Y-%m-%d"):
        try:
            return pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ExportError(
        f"column {column!r}: unparsable date {value!r} (expected like 'Tue, Jul 14, 2026' or '2026-07-14')", line=line
    )


def _post_id(value: str, column: str, line: int) -> str:
    text = value.strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit():
        raise ExportError(f"column {column!r}: {value!r} is not a post id", line=line)
    return text


def range_from_name(name: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The export's date range from its file name (`..._20211101_20211201_...` or `..._2026-06-15_2026-07-14...`)."""
    found = re.search(r"(\d{4}-?\d{2}-?\d{2})_(\d{4}-?\d{2}-?\d{2})", name)
    if not found:
        return None
    try:
        return pd.Timestamp(found.group(1)), pd.Timestamp(found.group(2))
    except ValueError:
        return None


def snapshot_time_for(
    name: str, modified_at: pd.Timestamp | None, newest_published: pd.Timestamp | None, now: pd.Timestamp
) -> pd.Timestamp:
    """The time the file's cumulative figures stand for (see the module docstring for why)."""
    candidates = [pd.Timestamp(now)]
    if modified_at is not None:
        candidates.append(pd.Timestamp(modified_at))
    date_range = range_from_name(name)
    if date_range is not None:
        candidates.append(date_range[1].normalize() + pd.Timedelta(hours=23, minutes=59))
    stamp = min(candidates)
    if newest_published is not None and stamp < newest_published:
        # Never after now: a date-only post dated today (UTC+14 accounts: tomorrow) must not move it.
        stamp = min(pd.Timestamp(newest_published), pd.Timestamp(now))
    return stamp.floor("min")


def later_snapshot_time(parsed: ParsedFile, after: pd.Timestamp) -> tuple[pd.Timestamp, str] | None:
    """A re-download of a range whose time is already taken by other figures: the first after `after` of
    the file's own time (the download: its modification time, never after ingestion) and the time of
    ingestion (to the minute, else to the microsecond), with which one it is. None when none lies after."""
    own = parsed.own_time()
    assert own is not None  # an X export always has its time of ingestion
    candidates = [(own.floor("min"), "the time of ingestion" if own == parsed.parsed_at else "its modification time")]
    if parsed.parsed_at is not None:
        candidates += [
            (pd.Timestamp(parsed.parsed_at).floor("min"), "the time of ingestion"),
            (pd.Timestamp(parsed.parsed_at), "the time of ingestion"),
        ]
    return next(((stamp, what) for stamp, what in candidates if stamp > after), None)


def _drop_duplicates(records: list[dict], key: tuple[str, ...], notes: list[str]) -> list[dict]:
    """Identical repeated rows are dropped; the same key with other figures is an error."""
    seen: dict[tuple, dict] = {}
    kept = []
    for record in records:
        identity = tuple(record[k] for k in key)
        first = seen.get(identity)
        if first is None:
            seen[identity] = record
            kept.append(record)
            continue
        if {k: v for k, v in first.items() if k != "_line"} != {k: v for k, v in record.items() if k != "_line"}:
            raise ExportError(
                f"{'/'.join(map(str, identity))} appears again with different figures (first on line {first['_line']})",
                line=record["_line"],
            )
        notes.append(f"line {record['_line']} repeats line {first['_line']}; dropped")
    return kept


def _is_placeholder(cell: dict[str, str], id_col: str, time_col: str, text_col: str, link_col: str) -> bool:
    """X's own filler row: no id, date or text, a link to `/status/undefined`, every other cell 0."""
    if any((cell.get(c) or "").strip() for c in (id_col, time_col, text_col)):
        return False
    if not (cell.get(link_col) or "").strip().rstrip("/").endswith("/status/undefined"):
        return False
    others = [v.strip() for k, v in cell.items() if k not in (id_col, time_col, text_col, link_col)]
    return all(re.fullmatch(r"0+(\.0+)?", v) for v in others)


def _user_from_name(name: str) -> str | None:
    found = re.match(r"tweet_activity_metrics_(.+?)_\d{8}_\d{8}", name)
    return found.group(1).lower() if found else None


def _parse_x(kind: str, header: list[str], rows, name: str, modified_at, now, default_user) -> ParsedFile:
    columns = {_normalise(h): i for i, h in enumerate(header)}
    counts = CLASSIC_COUNTS if kind == CLASSIC else CONTENT_COUNTS
    id_col, time_col = ("tweet id", "time") if kind == CLASSIC else ("post id", "date")
    text_col = "tweet text" if kind == CLASSIC else "post text"
    link_col = "tweet permalink" if kind == CLASSIC else "post link"
    fallback_user = (default_user or _user_from_name(name) or "").lower() or None
    records, placeholders, reposts = [], [], []
    for line, record in rows:
        cell = {h: record[i] for h, i in columns.items()}
        if _is_placeholder(cell, id_col, time_col, text_col, link_col):
            placeholders.append(line)
            continue
        post_id = _post_id(cell[id_col], header[columns[id_col]], line)
        user_id = handle_from_link(cell.get(link_col)) or fallback_user
        if user_id is None:
            raise ExportError(
                f"cannot tell whose post {post_id} is: no '{link_col}' link to read the handle "
                "from (ingest it with `social-pipeline ingest --user HANDLE FILE`)",
                line=line,
            )
        if kind == CLASSIC:
            published, known = _parse_time(cell[time_col], header[columns[time_col]], line), True
            latest_allowed = now + CLOCK_SKEW
        else:
            published, known = _parse_date(cell[time_col], header[columns[time_col]], line), False
            latest_allowed = now.normalize() + DATE_ONLY_SKEW
        if published > latest_allowed:
            raise ExportError(
                f"column {header[columns[time_col]]!r}: {cell[time_col].strip()!r} is after the time "
                f"of ingestion ({now:%Y-%m-%d %H:%M} UTC): a post cannot be published in the future",
                line=line,
            )
        figures = {
            ours: parse_count(cell[theirs], header[columns[theirs]], line)
            for theirs, ours in (counts | PER_POST_FOLLOWS).items()
            if theirs in cell
        }
        if REPOST_TEXT.match(cell.get(text_col) or ""):
            reposts.append(line)
            continue
        records.append(
            {
                "_line": line,
                "post_id": post_id,
                "user_id": user_id,
                "text": cell.get(text_col),
                "published_at": published,
                "published_time_known": known,
                **figures,
                "payload": json.dumps(dict(zip(header, record, strict=False)), ensure_ascii=False),
            }
        )
    notes: list[str] = []
    if placeholders:
        notes.append(
            f"{len(placeholders)} placeholder rows X writes into its exports (no post id, date or text, "
            f"a link to /status/undefined, every count 0) skipped: line(s) {_lines(placeholders)}"
        )
    if reposts:
        notes.append(
            f"{len(reposts)} reposts skipped (their counts are the original post's, not this account's): "
            f"line(s) {_lines(reposts)}"
        )
    records = _drop_duplicates(records, ("post_id",), notes)
    newest = max((r["published_at"] for r in records), default=None)
    snapshot = snapshot_time_for(name, modified_at, newest, now)
    posts = pd.DataFrame(records, columns=["post_id", "user_id", "text", "published_at", "published_time_known"])
    # Any: pandas-stubs leave pd.NA out of a column's accepted values; pandas fills the column with it.
    unknown_media: dict[str, Any] = {"content_type": None, "media_type": None, "num_media_items": pd.NA}
    posts = posts.assign(**unknown_media)
    metrics = pd.DataFrame(records).reindex(columns=["post_id", *COUNT_COLUMNS, "new_follows", "payload"])
    for column in (*COUNT_COLUMNS, "new_follows"):
        metrics[column] = metrics[column].astype("Int64")
    metrics.insert(1, "collected_at", snapshot)
    metrics["status"] = "ok"
    if not known_time(kind) and len(posts):
        notes.append(
            f"{len(posts)} posts have a publication date but no time of day: hour-based analytics leave them out"
        )
    return ParsedFile(
        kind,
        posts,
        metrics,
        pd.DataFrame(columns=list(PROFILE_TEMPLATE_COLUMNS)),
        snapshot,
        snapshot.floor("h").strftime(PARTITION_KEY_FORMAT),
        notes,
        modified_at,
        now,
    )


def _lines(lines: list[int], shown: int = 10) -> str:
    return ", ".join(map(str, lines[:shown])) + (" ..." if len(lines) > shown else "")


def known_time(kind: str) -> bool:
    return kind == CLASSIC


def _parse_profile(header: list[str], rows, now: pd.Timestamp) -> ParsedFile:
    names = [_normalise(h) for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if n not in PROFILE_TEMPLATE_COLUMNS]
    if unknown:
        raise ExportError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; the profile-activity template has "
            f"{', '.join(PROFILE_TEMPLATE_COLUMNS)}",
            line=1,
        )
    if len(set(names)) != len(names):
        raise ExportError("a column appears twice in the header", line=1)
    records = []
    for line, record in rows:
        cell = dict(zip(names, record, strict=False))
        user_id, platform = cell["user_id"].strip(), cell["platform"].strip().lower()
        if not user_id or not platform:
            raise ExportError("user_id and platform must not be empty", line=line)
        try:
            day = pd.Timestamp(datetime.strptime(cell["snapshot_date"].strip(), "%Y-%m-%d"))
        except ValueError:
            raise ExportError(
                f"column 'snapshot_date': unparsable date {cell['snapshot_date']!r} (expected YYYY-MM-DD)", line=line
            ) from None
        if day > now.normalize() + DATE_ONLY_SKEW:
            raise ExportError(
                f"column 'snapshot_date': {cell['snapshot_date'].strip()!r} is after the time of "
                f"ingestion ({now:%Y-%m-%d %H:%M} UTC)",
                line=line,
            )
        figures = {n: parse_count(cell[n], n, line) for n in PROFILE_FIGURES if n in cell}
        records.append({"_line": line, "user_id": user_id, "platform": platform, "snapshot_date": day, **figures})
    notes: list[str] = []
    records = _drop_duplicates(records, ("user_id", "platform", "snapshot_date"), notes)
    profile = pd.DataFrame(records).reindex(columns=list(PROFILE_TEMPLATE_COLUMNS))
    for column in PROFILE_FIGURES:
        profile[column] = profile[column].astype("Int64")
    empty_posts = pd.DataFrame(
        columns=[
            "post_id",
            "user_id",
            "text",
            "published_at",
            "published_time_known",
            "content_type",
            "media_type",
            "num_media_items",
        ]
    )
    empty_metrics = pd.DataFrame(columns=["post_id", "collected_at", *COUNT_COLUMNS, "status", "payload"])
    return ParsedFile(PROFILE, empty_posts, empty_metrics, profile, notes=notes)


def parse_file(
    content: bytes,
    name: str,
    modified_at: pd.Timestamp | None = None,
    now: pd.Timestamp | None = None,
    default_user: str | None = None,
) -> ParsedFile:
    """Recognise and parse one dropped file. Raises ExportError naming the problem and line."""
    now = utc_now() if now is None else pd.Timestamp(now)
    header, rows = read_rows(content)
    kind = recognise(header)
    if len({_normalise(h) for h in header}) != len(header):
        raise ExportError("a column appears twice in the header", line=1)
    _check_widths(header, rows)
    if kind == PROFILE:
        return _parse_profile(header, rows, now)
    return _parse_x(kind, header, rows, name, modified_at, now, default_user)
