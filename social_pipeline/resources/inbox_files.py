"""Ingest dropped files into the warehouse: one transaction per file, a ledger against repeats.

Used by the inbox sensor's runs and by `social-pipeline ingest`. A file is recognised by its
header (core/exports.py). Good files are written in ONE transaction together with their
ledger row in ops.ingested_files (keyed by the content's sha256), so a file is either wholly
in the warehouse or not at all, and the same content dropped again writes nothing.
In the inbox, a file then moves to `processed/`, or to `rejected/` beside a
`<name>.error.txt` that names the problem and the line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ..core.exports import ExportError, ParsedFile, parse_file
from .warehouse import scalar, transaction

DEFAULT_INBOX = "data/inbox"
# Files still being written (browser downloads, editors) are left alone until they settle.
IGNORED_SUFFIXES = (".crdownload", ".part", ".partial", ".tmp", ".download", "~")
SETTLE_SECONDS = 5.0


def inbox_path() -> Path:
    """`SOCIAL_PIPELINE_INBOX`, else data/inbox (relative to the working directory)."""
    return Path(os.environ.get("SOCIAL_PIPELINE_INBOX") or DEFAULT_INBOX)


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def pending_files(inbox: Path, settle_seconds: float = SETTLE_SECONDS) -> list[Path]:
    """Files waiting in the inbox (not in processed/ or rejected/), oldest first."""
    if not inbox.is_dir():
        return []
    now = time.time()
    files = [p for p in inbox.iterdir()
             if p.is_file() and not p.name.startswith(".") and not p.name.endswith(IGNORED_SUFFIXES)
             and not p.name.endswith(".error.txt") and now - p.stat().st_mtime >= settle_seconds]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


@dataclass
class IngestOutcome:
    path: Path
    status: str  # ingested | duplicate | rejected
    sha256: str = ""
    kind: str | None = None
    rows: int = 0
    message: str = ""
    snapshot_time: pd.Timestamp | None = None
    users: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    moved_to: Path | None = None
    # The earliest publication (posts) or activity day (profile) in the file: weekly analytics
    # from that week on are out of date once it is ingested.
    earliest_day: pd.Timestamp | None = None

    def describe(self) -> str:
        if self.status == "ingested":
            when = f", figures as of {self.snapshot_time} UTC" if self.snapshot_time is not None else ""
            return f"ingested {self.path.name}: {self.kind}, {self.rows} rows{when}"
        if self.status == "duplicate":
            return f"skipped {self.path.name}: the same content was ingested before ({self.message})"
        return f"REJECTED {self.path.name}: {self.message}"


def _modified_at(path: Path) -> pd.Timestamp:
    return pd.Timestamp(path.stat().st_mtime, unit="s")


def _write(con: duckdb.DuckDBPyConnection, parsed: ParsedFile, path: Path, sha: str, now: pd.Timestamp) -> None:
    if parsed.kind == "profile_activity":
        profile = parsed.profile.assign(source_file=path.name, ingested_at=now)
        con.register("incoming_profile", profile)
        # A later file replaces earlier files' figures for the same user, platform and day.
        con.execute(
            """
            DELETE FROM raw.profile_activity AS t USING incoming_profile AS i
            WHERE t.user_id = i.user_id AND t.platform = i.platform AND t.snapshot_date = i.snapshot_date::DATE
              AND t.source_file IN (SELECT file_name FROM ops.ingested_files WHERE kind = 'profile_activity')
            """
        )
        con.execute("INSERT INTO raw.profile_activity BY NAME SELECT * FROM incoming_profile")
        con.unregister("incoming_profile")
    else:
        con.register("incoming_posts", parsed.posts.assign(source=parsed.kind, ingested_at=now))
        con.execute(
            """
            INSERT INTO raw.posts BY NAME
            SELECT post_id, user_id, text, content_type, media_type, num_media_items::INTEGER AS num_media_items,
                   published_at, published_time_known, source, ingested_at
            FROM incoming_posts WHERE post_id NOT IN (SELECT post_id FROM raw.posts)
            """
        )
        # A post known only by its date gains its time of day when a classic export knows it.
        con.execute(
            """
            UPDATE raw.posts AS p SET published_at = i.published_at, published_time_known = TRUE
            FROM incoming_posts AS i
            WHERE p.post_id = i.post_id AND NOT COALESCE(p.published_time_known, TRUE) AND i.published_time_known
            """
        )
        con.unregister("incoming_posts")
        metrics = parsed.metrics.assign(source=parsed.kind, partition_key=parsed.partition_key, written_at=now)
        con.register("incoming_metrics", metrics)
        con.execute(
            """
            INSERT INTO raw.tweet_metrics BY NAME
            SELECT * FROM incoming_metrics AS i
            WHERE NOT EXISTS (SELECT 1 FROM raw.tweet_metrics AS t WHERE t.post_id = i.post_id
                              AND t.collected_at = i.collected_at AND t.source = i.source)
            """
        )
        con.unregister("incoming_metrics")
    con.execute(
        "INSERT INTO ops.ingested_files VALUES ($sha, $name, $path, $kind, $rows, $snapshot, $key, $now)",
        {"sha": sha, "name": path.name, "path": str(path), "kind": parsed.kind, "rows": parsed.rows,
         "snapshot": parsed.snapshot_time, "key": parsed.partition_key, "now": now},
    )


def _already_ingested(con, sha: str) -> str | None:
    return scalar(con, "SELECT file_name || ' at ' || strftime(ingested_at, '%Y-%m-%d %H:%M') "
                       "FROM ops.ingested_files WHERE content_sha256 = $sha", {"sha": sha})


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, default_user: str | None = None,
                now: pd.Timestamp | None = None) -> IngestOutcome:
    """Recognise, parse and write one file. A bad file is returned as rejected with nothing written."""
    path = Path(path)
    now = pd.Timestamp.now("UTC").tz_localize(None) if now is None else now
    try:
        content = path.read_bytes()
    except OSError as exc:
        return IngestOutcome(path, "rejected", message=f"cannot read the file ({exc.strerror})")
    sha = content_sha256(content)
    earlier = _already_ingested(con, sha)
    if earlier:
        return IngestOutcome(path, "duplicate", sha, message=earlier)
    try:
        parsed = parse_file(content, path.name, modified_at=_modified_at(path), now=now, default_user=default_user)
    except ExportError as exc:
        return IngestOutcome(path, "rejected", sha, message=str(exc))
    with transaction(con):
        earlier = _already_ingested(con, sha)  # another writer may have been first
        if earlier:
            return IngestOutcome(path, "duplicate", sha, message=earlier)
        _write(con, parsed, path, sha, now)
    profile = parsed.kind == "profile_activity"
    frame = parsed.profile if profile else parsed.posts
    days = pd.to_datetime(frame["snapshot_date" if profile else "published_at"], errors="coerce")
    return IngestOutcome(path, "ingested", sha, parsed.kind, parsed.rows, snapshot_time=parsed.snapshot_time,
                         users=sorted(frame["user_id"].unique()), notes=parsed.notes,
                         earliest_day=days.min().normalize() if days.notna().any() else None)


def _free_name(folder: Path, name: str, sha: str) -> Path:
    target = folder / name
    if target.exists():
        stem, dot, suffix = name.rpartition(".")
        target = folder / (f"{stem}.{sha[:8]}.{suffix}" if dot else f"{name}.{sha[:8]}")
    counter = 1
    while target.exists():
        target = folder / f"{counter}.{target.name}"
        counter += 1
    return target


def settle(outcome: IngestOutcome) -> IngestOutcome:
    """Move a handled inbox file: ingested/duplicate -> processed/, rejected -> rejected/ + .error.txt."""
    inbox = outcome.path.parent
    folder = inbox / ("rejected" if outcome.status == "rejected" else "processed")
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, outcome.path.name, outcome.sha256 or "unread")
    shutil.move(str(outcome.path), target)
    if outcome.status == "rejected":
        (folder / f"{target.name}.error.txt").write_text(
            f"{outcome.path.name} was rejected and nothing from it was written.\n"
            f"Problem: {outcome.message}\n"
            "Fix the problem and drop the file into the inbox again.\n"
        )
    outcome.moved_to = target
    return outcome


def process_inbox_file(con: duckdb.DuckDBPyConnection, path: Path, default_user: str | None = None) -> IngestOutcome:
    """Ingest one inbox file and move it. An unexpected error (say, the warehouse is locked) leaves
    the file where it is and propagates, so the caller can retry."""
    return settle(ingest_file(con, path, default_user=default_user))
