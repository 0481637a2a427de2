"""Ingest dropped files into the warehouse: one transaction per file, a ledger against repeats.

Used by the inbox sensor's runs and by `social-pipeline ingest`. A file is recognised by its
header (core/exports.py). Good files are written in ONE transaction together with their
ledger row in ops.ingested_files (keyed by the content's sha256), so a file is either wholly
in the warehouse or not at all, and the same content dropped again writes nothing.
In the inbox, a file then moves to `processed/`, or to `rejected/` beside a
`<name>.error.txt` that names the problem and the line.

What a file writes, row by row, against what is stored (IngestOutcome.rows_new / _updated / _unchanged):
a post seen for the first time is new; a known post whose figures differ from its latest stored
ones is updated, as a further snapshot (raw tables are append-only, and the snapshots are the
post's time series); a row equal to the stored figures writes nothing. A re-download of a range
whose capped time (core/exports.py) is already taken by other figures: the file ingested later wins
unless its own time (its modification time, kept in the ledger) is before that of the file that
stored those figures. It then becomes a later snapshot, stamped at the first of its modification
time and the time of ingestion that lies after the taken time; an older download is not written.
Each case is a note of the outcome naming the files and times.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd

from social_pipeline.core.clock import utc_now
from social_pipeline.core.exports import ExportError, ParsedFile, later_snapshot_time, parse_file
from social_pipeline.core.files import write_atomically
from social_pipeline.core.metrics import COUNT_COLUMNS
from social_pipeline.core.timezones import store_account_timezones
from social_pipeline.sources.ingest_ledger import IngestOutcome, already_ingested
from social_pipeline.sources.linkedin_ingest import ingest_if_linkedin
from social_pipeline.warehouse.write_conflicts import write_transaction

# Files still being written (browser downloads, editors) are left alone until they settle.
IGNORED_SUFFIXES = (".crdownload", ".part", ".partial", ".tmp", ".download", "~")
SETTLE_SECONDS = 5.0


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


HANDLED_FOLDERS = ("processed", "rejected")


def pending_files(inbox: Path, settle_seconds: float = SETTLE_SECONDS) -> list[Path]:
    """Files waiting in the inbox or in an account's subfolder `inbox/<handle>/` (not in processed/ or
    rejected/), oldest first."""
    if not inbox.is_dir():
        return []
    now = time.time()
    folders = [inbox] + [
        p for p in inbox.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in HANDLED_FOLDERS
    ]
    files = [
        p
        for folder in folders
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith(IGNORED_SUFFIXES)
        and not p.name.endswith(".error.txt")
        and now - p.stat().st_mtime >= settle_seconds
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def account_of(inbox: Path, path: Path) -> str | None:
    """The handle an inbox file belongs to: its subfolder's name (`inbox/<handle>/file`), else None."""
    return path.parent.name if path.parent.resolve() != inbox.resolve() else None


def _modified_at(path: Path) -> pd.Timestamp:
    return pd.Timestamp(path.stat().st_mtime, unit="s")


def _same_figures(columns, left: str = "i", right: str = "r") -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in columns)


def _classify_metrics(con: duckdb.DuckDBPyConnection, own_time: pd.Timestamp) -> pd.DataFrame:
    """Each row of `incoming_metrics` against what is stored: new | unchanged | updated | clash (other
    figures at the same time and source, from a file not modified after this one, `own_time`) | older
    (the same, from a file modified after this one: this is the older download). A clash names the
    stored file (`stored_file`, `stored_file_time`: its modification time, else its snapshot time)."""
    return con.execute(
        f"""
        WITH stored_files AS (
            SELECT kind, ingested_at, string_agg(file_name, ', ') AS file_name,
                   max(COALESCE(file_modified_at, snapshot_time)) AS file_time
            FROM ops.ingested_files GROUP BY ALL),
        clash AS (
            SELECT t.*, f.file_name AS stored_file, f.file_time AS stored_file_time
            FROM raw.tweet_metrics AS t JOIN incoming_metrics AS i
              ON t.post_id = i.post_id AND t.collected_at = i.collected_at AND t.source = i.source
            LEFT JOIN stored_files AS f ON f.kind = t.source AND f.ingested_at = t.written_at),
        latest AS (
            SELECT * FROM raw.tweet_metrics
            WHERE post_id IN (SELECT post_id FROM incoming_metrics) AND COALESCE(status, 'ok') = 'ok'
              AND post_id NOT IN (SELECT post_id FROM clash)
            QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY collected_at DESC, source) = 1),
        reference AS (SELECT *, TRUE AS clashes FROM clash UNION ALL BY NAME SELECT *, FALSE AS clashes FROM latest)
        SELECT i.post_id, r.stored_file, r.stored_file_time,
               CASE WHEN r.post_id IS NULL THEN 'new'
                    WHEN {_same_figures(COUNT_COLUMNS)} THEN 'unchanged'
                    WHEN NOT r.clashes THEN 'updated'
                    WHEN r.stored_file_time > $own_time THEN 'older'
                    ELSE 'clash' END AS change
        FROM incoming_metrics AS i LEFT JOIN reference AS r USING (post_id)
        """,
        {"own_time": own_time},
    ).df()


def _files_named(rows: pd.DataFrame) -> str:
    return (
        ", ".join(
            f"{name} (modified {time:%Y-%m-%d %H:%M})"
            for name, time in rows[["stored_file", "stored_file_time"]].drop_duplicates().itertuples(index=False)
            if pd.notna(name)
        )
        or "another source"
    )


def _write_posts(con: duckdb.DuckDBPyConnection, parsed: ParsedFile, now: pd.Timestamp) -> dict[str, int]:
    """The file ingested later wins, unless its own time (modification time) says it is the older
    download: figures of it that clash with stored ones at the same time become a later snapshot."""
    own_time = parsed.own_time()
    assert own_time is not None  # an X export always has its time of ingestion
    con.register("incoming_metrics", parsed.metrics.assign(source=parsed.kind))
    changes = _classify_metrics(con, own_time)
    older_ids: set = set()
    while True:
        older = changes[changes["change"] == "older"]
        if len(older):
            older_ids |= set(older["post_id"])
            parsed.notes.append(
                f"{len(older)} rows not written: {_files_named(older)} stored other figures for the same time "
                f"({parsed.snapshot_time}) and was modified after this file ({own_time:%Y-%m-%d %H:%M}), so "
                "this file is the older download"
            )
        clash = changes[changes["change"] == "clash"]
        if clash.empty:
            break
        taken = parsed.snapshot_time
        assert taken is not None  # an X export is always stamped
        later = later_snapshot_time(parsed, taken)
        if later is None:
            changes.loc[changes["change"] == "clash", "change"] = "no_later_time"
            parsed.notes.append(
                f"{len(clash)} rows not written: {_files_named(clash)} stored other figures for "
                f"the same time ({taken}), and neither this file's modification time nor the "
                "time of ingestion lies after it"
            )
            break
        stamp, evidence = later
        parsed.restamp(stamp)
        parsed.notes.append(
            f"{len(clash)} rows have other figures than {_files_named(clash)}, ingested earlier, "
            f"for the same time ({taken}); this file is not older by its modification time "
            f"({own_time:%Y-%m-%d %H:%M}), so its figures are a later snapshot: it is stamped "
            f"{stamp} ({evidence})"
        )
        con.register("incoming_metrics", parsed.metrics.assign(source=parsed.kind))
        changes = _classify_metrics(con, own_time)
        changes.loc[changes["post_id"].isin(older_ids), "change"] = "older_noted"  # sticky, noted once
    con.unregister("incoming_metrics")
    older = int(changes["change"].isin(["older", "older_noted", "no_later_time"]).sum())
    written = set(changes.loc[changes["change"].isin(["new", "updated"]), "post_id"])
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
    metrics = parsed.metrics[parsed.metrics["post_id"].isin(written)]
    con.register(
        "incoming_metrics", metrics.assign(source=parsed.kind, partition_key=parsed.partition_key, written_at=now)
    )
    con.execute("INSERT INTO raw.tweet_metrics BY NAME SELECT * FROM incoming_metrics")
    con.unregister("incoming_metrics")
    counts = changes["change"].value_counts()
    parsed.posts = parsed.posts[parsed.posts["post_id"].isin(written)]  # what the outcome reports on
    return {
        "new": int(counts.get("new", 0)),
        "updated": int(counts.get("updated", 0)),
        "unchanged": int(counts.get("unchanged", 0)) + older,
    }


def _write_profile(con: duckdb.DuckDBPyConnection, parsed: ParsedFile, path: Path, now: pd.Timestamp) -> dict[str, int]:
    from social_pipeline.core.exports import PROFILE_FIGURES

    con.register("incoming_profile", parsed.profile.assign(source_file=path.name, ingested_at=now))
    # Only rows that came from files are replaced by a later file (never another source's).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE profile_changes AS
        SELECT i.*, CASE WHEN r.user_id IS NULL THEN 'new' WHEN {_same_figures(PROFILE_FIGURES)} THEN 'unchanged'
                         ELSE 'updated' END AS change
        FROM incoming_profile AS i
        LEFT JOIN (SELECT * FROM raw.profile_activity WHERE source_file IN
                   (SELECT file_name FROM ops.ingested_files WHERE kind = 'profile_activity')) AS r
          ON r.user_id = i.user_id AND r.platform = i.platform AND r.snapshot_date = i.snapshot_date::DATE
        """
    )
    con.unregister("incoming_profile")
    con.execute(
        """
        DELETE FROM raw.profile_activity AS t USING profile_changes AS i
        WHERE i.change = 'updated' AND t.user_id = i.user_id AND t.platform = i.platform
          AND t.snapshot_date = i.snapshot_date::DATE
          AND t.source_file IN (SELECT file_name FROM ops.ingested_files WHERE kind = 'profile_activity')
        """
    )
    con.execute(
        "INSERT INTO raw.profile_activity BY NAME SELECT * EXCLUDE (change) FROM profile_changes "
        "WHERE change <> 'unchanged'"
    )
    counts = dict(con.execute("SELECT change, count(*) FROM profile_changes GROUP BY ALL").fetchall())
    con.execute("DROP TABLE profile_changes")
    return {k: int(counts.get(k, 0)) for k in ("new", "updated", "unchanged")}


def _write(
    con: duckdb.DuckDBPyConnection, parsed: ParsedFile, path: Path, sha: str, now: pd.Timestamp
) -> dict[str, int]:
    if parsed.kind == "profile_activity":
        changes = _write_profile(con, parsed, path, now)
    else:
        changes = _write_posts(con, parsed, now)
    con.execute(
        "INSERT INTO ops.ingested_files BY NAME SELECT $sha AS content_sha256, $name AS file_name, $path AS path, "
        "$kind AS kind, $rows AS rows, $snapshot AS snapshot_time, $key AS partition_key, $now AS ingested_at, "
        "$new AS rows_new, $updated AS rows_updated, $unchanged AS rows_unchanged, $modified AS file_modified_at",
        {
            "sha": sha,
            "name": path.name,
            "path": str(path),
            "kind": parsed.kind,
            "rows": parsed.rows,
            "snapshot": parsed.snapshot_time,
            "key": parsed.partition_key,
            "now": now,
            **changes,
            "modified": parsed.own_time(),
        },
    )
    return changes


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    default_user: str | None = None,
    now: pd.Timestamp | None = None,
    account_timezones: dict[str, str] | None = None,
) -> IngestOutcome:
    """Recognise, parse and write one file. A bad file is returned as rejected with nothing written.
    `account_timezones` (the configured zones) go to raw.accounts in the file's transaction, so an account
    known only from export files is read in its own zone."""
    path = Path(path)
    now = utc_now() if now is None else now
    try:
        content = path.read_bytes()
    except OSError as exc:
        return IngestOutcome(path, "rejected", message=f"cannot read the file ({exc.strerror})")
    sha = content_sha256(content)
    earlier = already_ingested(con, sha)
    if earlier:
        return IngestOutcome(path, "duplicate", sha, message=earlier)

    linkedin = ingest_if_linkedin(con, path, content, sha, default_user, now, _modified_at(path), account_timezones)
    if linkedin is not None:
        return linkedin
    try:
        parsed = parse_file(content, path.name, modified_at=_modified_at(path), now=now, default_user=default_user)
    except ExportError as exc:
        return IngestOutcome(path, "rejected", sha, message=str(exc))
    if parsed.rows == 0:
        # Not an error (an export of a quiet range), but not a silent success either; no ledger entry,
        # so the same file with rows added later is ingested.
        skipped = "; ".join(parsed.notes)
        return IngestOutcome(
            path,
            "empty",
            sha,
            parsed.kind,
            notes=parsed.notes,
            message="the file has a header but no rows" + (f" ({skipped})" if skipped else ""),
        )

    def write_file(con):
        earlier = already_ingested(con, sha)  # another writer may have been first
        if earlier:
            return earlier, None
        store_account_timezones(con, account_timezones or {}, parsed.kind, now)
        return earlier, _write(con, parsed, path, sha, now)

    earlier, changes = write_transaction(
        con,
        write_file,
        f"ingest {path.name}",
        claims=("raw.posts", "raw.tweet_metrics", "raw.profile_activity", "ops.ingested_files", "raw.accounts"),
    )
    if earlier:
        return IngestOutcome(path, "duplicate", sha, message=earlier)
    assert changes is not None  # written, as no other writer was first
    profile = parsed.kind == "profile_activity"
    frame = parsed.profile if profile else parsed.posts
    days = pd.to_datetime(frame["snapshot_date" if profile else "published_at"], errors="coerce")
    written = changes["new"] + changes["updated"]
    return IngestOutcome(
        path,
        "ingested",
        sha,
        parsed.kind,
        written,
        changes["new"],
        changes["updated"],
        changes["unchanged"],
        snapshot_time=parsed.snapshot_time,
        users=sorted(frame["user_id"].unique()),
        notes=parsed.notes,
        earliest_day=days.min().normalize() if written and days.notna().any() else None,
    )


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
        write_atomically(
            folder / f"{target.name}.error.txt",
            (
                f"{outcome.path.name} was rejected and nothing from it was written.\n"
                f"Problem: {outcome.message}\n"
                "Fix the problem and drop the file into the inbox again.\n"
            ),
        )
    outcome.moved_to = target
    return outcome


def process_inbox_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    default_user: str | None = None,
    account_timezones: dict[str, str] | None = None,
) -> IngestOutcome:
    """Ingest one inbox file and move it. An unexpected error (say, the warehouse is locked) leaves
    the file where it is and propagates, so the caller can retry."""
    return settle(ingest_file(con, path, default_user=default_user, account_timezones=account_timezones))
