"""Helpers shared by the tests: the fixed clock and file stores, Dagster runs of collection and of
the inbox, hand-built warehouse rows, HTTP-level fakes of the X API, a draft post, the browser, and a
throwaway PostgreSQL server. Test modules import them from here, never from one another."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import itertools
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pandas as pd
import pytest
import responses
import yaml

from social_pipeline.core.analytics_queries import sql_text
from social_pipeline.core.synthetic import generate_notebook_posts
from social_pipeline.core.x_payloads import TWITTER_EPOCH_MS
from social_pipeline.definitions import defs
from social_pipeline.defs.analytics import assets as analytics
from social_pipeline.defs.analytics.checks import (
    engagement_rate_within_bounds,
    engagement_rates_plausible,
    every_post_has_a_snapshot,
)
from social_pipeline.defs.common import (
    HOURLY_PARTITIONS,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    add_partition_keys,
)
from social_pipeline.defs.ingestion import assets as ingestion
from social_pipeline.defs.ingestion.checks import cumulative_metrics_never_decrease
from social_pipeline.defs.reporting.sensors import refresh_weekly_after_inbox
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.sources import SimulatedSourceResource, XApiSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.x_api import XCredentials
from social_pipeline.warehouse.connection import connect

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
# A fixed simulated clock keeps every test deterministic.
CLOCK = pd.Timestamp("2026-11-18 12:00")


def file_stores_under(root, **fields) -> FileStoresResource:
    """Reports, models, the BI copy, ops files and the inbox under `root`; `fields` override them."""
    root = Path(root)
    return FileStoresResource(
        **{
            "reports_dir": str(root / "reports"),
            "models_dir": str(root / "models"),
            "ops_dir": str(root / "ops"),
            "bi_database": str(root / "bi" / "warehouse.duckdb"),
            "inbox_dir": str(root / "inbox"),
            **fields,
        }
    )


def repository_outputs() -> dict:
    """Modification times of the files the pipeline writes under the repository's data/."""
    return {
        str(p): p.stat().st_mtime_ns
        for p in REPO_DATA.rglob("*")
        if p.is_file() and p.relative_to(REPO_DATA).parts[0] not in ("dagster_home", "inbox-samples")
    }


# ----- collection runs ----------------------------------------------------------------------------
ASSETS = [
    ingestion.raw_posts,
    ingestion.raw_tweet_metrics,
    ingestion.raw_account_snapshots,
    ingestion.raw_profile_activity,
    analytics.post_snapshots,
    analytics.post_performance,
]
FIRST_KEY, LAST_KEY = "2026-11-15-12:00", "2026-11-18-11:00"  # 72 hourly collections up to CLOCK


def with_hours(first, last=None, instance=None):
    """An instance (in-memory unless given) whose collection partitions include first .. last."""
    instance = instance or dg.DagsterInstance.ephemeral()
    add_partition_keys(instance, HOURLY_PARTITIONS, [first, last or first])
    return instance


def collect(resources, first=FIRST_KEY, last=LAST_KEY, assets=ASSETS, instance=None):
    result = dg.materialize(
        assets,
        resources=resources,
        instance=with_hours(first, last, instance),
        tags={PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last},
    )
    assert result.success
    return result


# ----- fixtures built once for the whole session ---------------------------------------------------


def built_once(tmp_path_factory, name: str, build) -> Path:
    """The folder `build(folder)` filled, built once per test session: under pytest-xdist the workers share
    the session's temporary root, and the first to get here builds while the others wait on a file lock
    (an expensive fixture, such as a trained warehouse, is then built once, not once per worker).
    Callers copy what they may change out of it."""
    own = tmp_path_factory.getbasetemp()
    # Each xdist worker's basetemp is a popen-gwN folder inside the session's; alone, the session's own.
    root = own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own
    # A dash: no test's own tmp_path (named after the test, \W replaced by _) is ever called so.
    folder, done = root / f"{name}-once", root / f"{name}-once.built"
    with open(root / f"{name}-once.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed part-way
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


# 42 days of simulated history up to CLOCK: enough settled posts for models that beat the baseline.
HISTORY_42_DAYS = {"first": "2026-10-07-12:00", "last": "2026-11-18-11:00"}


def build_collected_history(root: Path) -> None:
    """42 days collected into root/warehouse.duckdb (conftest.py's collected_history)."""
    warehouse = WarehouseResource(database=str(root / "warehouse.duckdb"))
    collect(
        {"warehouse": warehouse, "source": SimulatedSourceResource(clock=str(CLOCK), history_days=42)},
        **HISTORY_42_DAYS,
    )
    _closed_whole(root)


def build_trained_warehouse(root: Path, collected: Path) -> None:
    """conftest.py's trained_warehouse: the collected history copied, ml_training run, the BI copy published."""
    from social_pipeline.core.publish import publish_copy

    paths = {"db": str(root / "warehouse.duckdb"), "bi": str(root / "bi.duckdb"), "models": str(root / "models")}
    shutil.copyfile(collected / "warehouse.duckdb", paths["db"])
    warehouse = WarehouseResource(database=paths["db"])
    result = defs.resolve_job_def("ml_training").execute_in_process(
        resources={"warehouse": warehouse, "file_stores": file_stores_under(root, models_dir=paths["models"])},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    con = connect(paths["db"])
    assert con.execute("SELECT bool_and(promoted) FROM ml.model_registry").fetchall() == [(True,)]
    try:
        publish_copy(con, paths["bi"])
    finally:
        con.close()
    _closed_whole(root)


def _closed_whole(root: Path) -> None:
    # Copies of a closed DuckDB file are whole: its write-ahead log was checkpointed into it.
    assert not list(root.glob("*.wal")), f"a DuckDB file in {root} is still open"


# ----- the order the tests start in ---------------------------------------------------------------
# The slowest modules (20 s or more each on 2 cores: Dagster's daemon and CLI in subprocesses, the lake,
# trained models), longest first. Under pytest-xdist the suite ends when its busier worker does: a long
# test handed out last would run alone while the other worker idles. conftest.py starts these first.
SLOWEST_MODULES_FIRST = [
    "social_pipeline_tests/warehouse/test_lake.py",
    "social_pipeline_tests/app/test_stuck_runs.py",
    "social_pipeline_tests/defs/test_common_pool.py",
    "social_pipeline_tests/defs/test_common_partitions.py",
    "social_pipeline_tests/defs/ml/test_ml_assets.py",
    "social_pipeline_tests/app/test_cli_crash_safety.py",
    "social_pipeline_tests/core/test_models.py",
    "social_pipeline_tests/core/test_simulation.py",
    "social_pipeline_tests/app/test_cli_predict.py",
    "social_pipeline_tests/defs/ingestion/test_real_exports.py",
    "social_pipeline_tests/defs/test_common_metadata.py",
    "social_pipeline_tests/defs/ingestion/test_inbox.py",
    "social_pipeline_tests/app/test_api.py",
    "social_pipeline_tests/defs/ingestion/test_linkedin_inbox.py",
    "social_pipeline_tests/defs/ingestion/test_assets.py",
    "social_pipeline_tests/core/test_core_imports_no_dagster.py",
]


def slowest_modules_first(items: list) -> None:
    """Sort collected test items in place: SLOWEST_MODULES_FIRST in its order, then the rest as collected."""
    rank = {module: i for i, module in enumerate(SLOWEST_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


# ----- the inbox and its runs ---------------------------------------------------------------------
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "inbox-samples"


def drop(inbox: Path, name: str, content: bytes | None = None, age_seconds: float = 60) -> Path:
    path = inbox / name
    if content is None:
        shutil.copyfile(SAMPLES / name, path)
    else:
        path.write_bytes(content)
    settled = time.time() - age_seconds
    os.utime(path, (settled, settled))
    return path


def run(request: dg.RunRequest, db: str, instance, file_stores):
    return defs.resolve_job_def("inbox_ingestion").execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags=request.tags,
        raise_on_error=False,
        resources={"warehouse": WarehouseResource(database=db), "file_stores": file_stores},
    )


def sensor_context(instance, file_stores):
    return dg.build_sensor_context(instance=instance, resources={"file_stores": file_stores})


def file_check(result):
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "file_was_ingested"]
    return check


def refresh_weekly(instance, result, db):
    """What refresh_weekly_after_inbox asks for after this inbox run."""
    run = instance.get_run_by_id(result.run_id)
    event = next(
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_SUCCESS"
    )
    # The warehouse resource has a teardown (it closes a run's open file), so its context is entered.
    with dg.build_run_status_sensor_context(
        sensor_name="refresh_weekly_after_inbox",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event.dagster_event,
        resources={"warehouse": WarehouseResource(database=db)},
    ) as context:
        return refresh_weekly_after_inbox(context)


# ----- data-quality checks on hand-inserted rows --------------------------------------------------
ANALYTICS_CHECKS = [
    cumulative_metrics_never_decrease,
    engagement_rate_within_bounds,
    engagement_rates_plausible,
    every_post_has_a_snapshot,
]


def insert(db_path, posts=(), metrics=()):
    """posts: (post_id, published_at); metrics: (post_id, collected_at, impressions, likes, status)."""
    con = connect(db_path)
    try:
        for post_id, published in posts:
            con.execute(
                "INSERT INTO raw.posts (post_id, user_id, text, published_at, source, ingested_at) "
                "VALUES (?, 'u1', 'hi', ?::TIMESTAMP, 'test', now())",
                [post_id, published],
            )
        for post_id, collected, impressions, likes, status in metrics:
            con.execute(
                "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, "
                "quotes, source, status, partition_key, written_at) "
                "VALUES (?, ?::TIMESTAMP, ?, ?, 1, 1, 0, 'test', ?, strftime(?::TIMESTAMP, '%Y-%m-%d-%H:00'), now())",
                [post_id, collected, impressions, likes, status, collected],
            )
    finally:
        con.close()


def run_analytics(db_path):
    return dg.materialize(
        [analytics.post_snapshots, analytics.post_performance, *ANALYTICS_CHECKS],
        resources={"warehouse": WarehouseResource(database=db_path)},
        raise_on_error=False,
    )


def evaluation(result, name):
    [found] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return found


def materialized(result):
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


GOOD = (
    [("p1", "2026-11-16 10:00")],
    [("p1", "2026-11-16 11:00", 100, 5, "ok"), ("p1", "2026-11-16 12:00", 150, 6, "ok")],
)


# ----- hand-built warehouse rows with known answers -----------------------------------------------
PROFILE_COUNTERS = (
    "connections_new",
    "connection_requests",
    "search_appearances",
    "inmails_received",
    "recruiter_messages",
    "profile_saves",
    "conversations_started",
    "interviews_scheduled",
)


def add_post(
    con,
    post_id,
    user_id,
    published_at,
    impressions,
    likes=0,
    retweets=0,
    replies=0,
    quotes=0,
    content_type="text",
    text=None,
    time_known=True,
    collected_at=None,
):
    """A post and one metrics collection (by default a day after publication)."""
    published_at = pd.Timestamp(published_at)
    collected_at = pd.Timestamp(collected_at) if collected_at else published_at + pd.Timedelta(days=1)
    con.execute(
        "INSERT INTO raw.posts (post_id, user_id, text, content_type, media_type, num_media_items, published_at, "
        "published_time_known, source, ingested_at) "
        "VALUES ($id, $user, $text, $ct, 'none', 0, $at, $known, 'test', $at)",
        {
            "id": str(post_id),
            "user": user_id,
            "text": text or f"post {post_id}",
            "ct": content_type,
            "at": published_at,
            "known": time_known,
        },
    )
    con.execute(
        "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes, source, "
        "status, partition_key, written_at) VALUES ($id, $c, $i, $l, $r, $p, $q, 'test', 'ok', $key, $c)",
        {
            "id": str(post_id),
            "c": collected_at,
            "i": impressions,
            "l": likes,
            "r": retweets,
            "p": replies,
            "q": quotes,
            "key": (collected_at - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M"),
        },
    )


def add_profile_day(con, user_id, day, views, **counters):
    values = {c: counters.get(c, 0) for c in PROFILE_COUNTERS}
    con.execute(
        f"INSERT INTO raw.profile_activity (user_id, platform, snapshot_date, profile_views, {', '.join(values)}, "
        f"source_file, ingested_at) VALUES ($user, 'linkedin', $day, $views, {', '.join('$' + c for c in values)}, "
        "'test', now()::TIMESTAMP)",
        {"user": user_id, "day": pd.Timestamp(day).date(), "views": views, **values},
    )


def write_lifecycle_rows_without_half_lives(con) -> None:
    """post_lifecycle rows as a warehouse from before the half_life_hours column holds them: p1 reaches
    half of its 200 impressions at its 3 h snapshot."""
    con.execute(
        "INSERT INTO analytics.post_snapshots (post_id, user_id, snapshot_time, hours_since_published, "
        "impressions) VALUES ('p1', 'u1', '2026-11-16 01:00', 1, 50), ('p1', 'u1', '2026-11-16 03:00', 3, 120), "
        "('p1', 'u1', '2026-11-23 00:00', 168, 200)"
    )
    con.execute(
        "INSERT INTO analytics.post_lifecycle (post_id, user_id, age_hours, snapshot_time, snapshot_age_hours, "
        "impressions, snapshots_used, observed_through_hours) VALUES "
        "('p1', 'u1', 24, '2026-11-16 03:00', 3, 120, 3, 168), ('p1', 'u1', 168, '2026-11-23 00:00', 168, 200, 3, 168)"
    )
    con.execute("ALTER TABLE analytics.post_lifecycle DROP COLUMN half_life_hours")


HALF_LIVES_QUERY = "SELECT age_hours, half_life_hours FROM analytics.post_lifecycle ORDER BY age_hours"
HALF_LIVES_AFTER_MIGRATION = [(24, None), (168, 3.0)]


def refresh_post_tables(con):
    """What post_snapshots (full refresh) and post_performance do, with the foundation's SQL."""
    con.execute("CREATE OR REPLACE TEMP VIEW refresh_raw AS SELECT * FROM raw.tweet_metrics")
    con.execute("DELETE FROM analytics.post_snapshots")
    con.execute(f"INSERT INTO analytics.post_snapshots BY NAME {sql_text('post_snapshots')}")
    con.execute(f"CREATE OR REPLACE TABLE analytics.post_performance AS {sql_text('post_performance')}")
    con.execute("DROP VIEW refresh_raw")


# ----- the X API through HTTP-level fakes ---------------------------------------------------------
API = "https://api.twitter.com/2"
NOW = pd.Timestamp.now("UTC").tz_localize(None)


def snowflake(at: pd.Timestamp, n: int = 0) -> str:
    return str(((int(pd.Timestamp(at).value // 1_000_000) - TWITTER_EPOCH_MS) << 22) + n)


def tweet(post_id: str, likes=3, reposts=1, replies=2, quotes=0, impressions=100, renamed=False, **extra) -> dict:
    metrics = {"like_count": likes, "reply_count": replies, "quote_count": quotes, "bookmark_count": 1}
    metrics["repost_count" if renamed else "retweet_count"] = reposts
    if impressions is not None:
        metrics["impression_count"] = impressions
    return {
        "id": post_id,
        "text": f"post {post_id}",
        "edit_history_tweet_ids": [post_id],
        "public_metrics": metrics,
        **extra,
    }


def tweets_callback(request):
    """Answers get_tweets for whatever ids were asked, like X does."""
    ids = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
    return 200, {"content-type": "application/json"}, json.dumps({"data": [tweet(i) for i in ids]})


def users_response(handle="Alice_Data", user_id="42", followers=1234):
    return {
        "data": [
            {
                "id": user_id,
                "name": "Alice",
                "username": handle,
                "public_metrics": {"followers_count": followers, "following_count": 10, "tweet_count": 77},
            }
        ]
    }


def _x_resources(tmp_path):
    return {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": XApiSourceResource(x_bearer_token="secret-bearer-token-123", x_usernames="alice_data"),
    }


# ----- the prediction API and the browser ---------------------------------------------------------
DRAFT = {
    "post_text": "Shipping our new #DuckDB pipeline today with @dagster, benchmarks inside 🚀",
    "media_type": "image",
    "num_media_items": 1,
    "scheduled_time": "2026-11-25T18:00:00Z",
    "user_followers": 40_000,
    "user_avg_engagement_rate": 0.03,
}


def chromium_binary() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed; CI must install it (see .ci/run)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


# ----- a throwaway PostgreSQL server --------------------------------------------------------------
# initdb into a temporary folder, listening only on a Unix socket there, stopped and removed afterwards.
# Each pytest-xdist worker starts its own, so their socket folders (and ports, which only name the
# socket file) never meet. PostgreSQL refuses to run as root: when the tests run as root, initdb and
# pg_ctl run as the `postgres` user (runuser, else su), and the folder is theirs.

# Numbers the DuckLake catalogs a test process creates on its server.
LAKE_NUMBERS = itertools.count()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


SERVER_USER = "postgres"
START_TIMEOUT_SECONDS = 60
# Enough for several DuckDB processes (each holds a few catalog connections) plus a Dagster instance.
MAX_CONNECTIONS = 200


class PostgresUnavailable(RuntimeError):
    """initdb/pg_ctl are not installed, or there is no user to run them as."""


def server_bindir() -> Path:
    """The folder of initdb and pg_ctl: PATH first, else `pg_config --bindir` (Debian keeps them in
    /usr/lib/postgresql/<major>/bin, off PATH)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        )
        if (bindir / "initdb").exists():
            return bindir
    # Debian's pg_config may come from libpq-dev, of another major version than the server installed.
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0
    )
    if installed:
        return installed[-1].parent
    raise PostgresUnavailable(
        "PostgreSQL's initdb is neither on PATH nor in `pg_config --bindir`; "
        "install the server (Debian: apt-get install postgresql)"
    )


class PostgresServer:
    """One server; `create_database(name)` gives a libpq connection string to a new database."""

    def __init__(self, root: Path | None = None, port: int = 5432):
        self.bindir = server_bindir()
        self.as_other_user = os.geteuid() == 0
        if self.as_other_user:
            try:
                self.user = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise PostgresUnavailable(
                    f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
                ) from exc
        # Directly under the temp folder: pytest's own tmp folders are mode 0700 to root, which the
        # postgres user could not enter. Short, too: a Unix socket path has ~100 characters at most.
        self.root = Path(tempfile.mkdtemp(prefix="sp-pg-", dir=root))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root
        self.port = port  # names the socket file (.s.PGSQL.<port>); libpq picks it by the port
        self.databases: list[str] = []
        self.running = False
        if self.as_other_user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _command(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        if not self.as_other_user:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", SERVER_USER, "--", *argv]
        return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(self, program: str, *args: str) -> str:
        completed = subprocess.run(self._command(program, *args), capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({completed.returncode}): "
                f"{completed.stderr.strip() or completed.stdout.strip()}"
            )
        return completed.stdout

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data_dir), "-U", SERVER_USER, "--auth=trust", "--encoding=UTF8", "--no-sync")
        # No TCP at all: the socket folder alone is the address. Durability is traded for speed
        # (a throwaway server), never used outside the tests.
        options = (
            f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' "
            f"-c max_connections={MAX_CONNECTIONS} -c shared_buffers=16MB -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "start",
        )
        self.running = True
        return self

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def libpq(self, database: str = "postgres") -> str:
        """A libpq key=value connection string (DuckDB's ATTACH 'postgres:...' and psycopg take it)."""
        return f"host={self.socket_dir} port={self.port} user={SERVER_USER} dbname={database}"

    def create_database(self, name: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
        self._run("createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", SERVER_USER, name)
        self.databases.append(name)
        return self.libpq(name)

    def stop(self) -> None:
        if self.running:
            # immediate: the tests' connections may still be open; the data is thrown away anyway.
            subprocess.run(
                self._command("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                text=True,
            )
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


# Dagster's daemon in a test, as `make dev` runs it: real processes driven through the public CLI.


@contextlib.contextmanager
def running_daemon(env: dict, log_path: Path):
    """`dagster-daemon run` on the project's code location, as `make dev` runs it, in its own process
    group (its code server and run workers included), stopped and reaped on exit. Its output goes to
    `log_path`, shown by a failing test's assertion when it reads it."""
    repo = REPO_DATA.parent
    with open(log_path, "w") as log:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(repo / "workspace.yaml")],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield daemon
        finally:
            for sig, wait_seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(daemon.pid, sig)
                    daemon.wait(timeout=wait_seconds)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue


def wait_until(condition, timeout_seconds: float, what: str, poll_seconds: float = 0.2):
    """Poll `condition` until it returns something true (returned), failing the test after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_seconds)
    pytest.fail(f"not within {timeout_seconds} s: {what}")


def project_home(tmp_path, monkeypatch, dequeue_interval_seconds: int = 1) -> Path:
    """DAGSTER_HOME with the project's dagster.yaml, its queue polled every second (not every 5 s), and
    the warehouse and inbox under tmp_path: what `make dev`'s daemon uses, for a daemon in a test."""
    config = yaml.safe_load((REPO_DATA / "dagster_home" / "dagster.yaml").read_text())
    config["run_coordinator"]["config"] = {"dequeue_interval_seconds": dequeue_interval_seconds}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SOCIAL_PIPELINE_INBOX", str(tmp_path / "inbox"))
    return home


def launch(*jobs: str) -> None:
    """Submit a run of each of `jobs` as people do (`dagster job launch`, one process each, all at once,
    as from several terminals): the runs wait in the instance's queue. Each process starts a code
    server of its own for some seconds; side by side they take about as long as one."""
    repo = REPO_DATA.parent
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dagster", "job", "launch", "-w", str(repo / "workspace.yaml"), "-j", job],
            env={**os.environ},
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for job in jobs
    ]
    for job, process in zip(jobs, processes, strict=True):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"dagster job launch -j {job}: {stderr.decode(errors='replace')[-2000:]}"


# LinkedIn downloads built in the tests, to the layouts real archives and workbooks have.

CONNECTIONS_HEADER = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
CONNECTIONS_NOTES = [
    ["Notes:"],
    [
        "When exporting your connection data, you may notice that some of the email addresses are missing. "
        "You will only see email addresses for connections who have allowed their connections to see or "
        "download their email address using this setting https://www.linkedin.com/psettings/privacy/email. "
        "You can learn more here https://www.linkedin.com/help/linkedin/answer/261"
    ],
    [],
]
MESSAGES_NEWER = [
    "CONVERSATION ID",
    "CONVERSATION TITLE",
    "FROM",
    "SENDER PROFILE URL",
    "TO",
    "RECIPIENT PROFILE URLS",
    "DATE",
    "SUBJECT",
    "CONTENT",
    "FOLDER",
    "ATTACHMENTS",
    "IS MESSAGE DRAFT",
    "IS CONVERSATION DRAFT",
]
MESSAGES_OLDER = ["CONVERSATION ID", "CONVERSATION TITLE", "FROM", "TO", "DATE", "SUBJECT", "CONTENT", "FOLDER"]
INVITATIONS_HEADER = ["From", "To", "Sent At", "Message", "Direction", "inviterProfileUrl", "inviteeProfileUrl"]
OWNER = "Ada Lovelace"


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def connections_csv(
    connections: list[tuple[str, str, str]],
    preamble: list[list[str]] | None = None,
    header: list[str] = CONNECTIONS_HEADER,
) -> bytes:
    """connections: (first name, last name, Connected On as written)."""
    rows = [
        [first, last, f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}", "", "Acme", "Engineer", on]
        for first, last, on in connections
    ]
    return csv_bytes((CONNECTIONS_NOTES if preamble is None else preamble) + [header] + rows)


def message_row(
    header: list[str],
    conversation: str,
    sender: str,
    to: str,
    date: str,
    subject: str = "",
    content: str = "hello",
    draft: str = "No",
) -> list[str]:
    values = {
        "CONVERSATION ID": conversation,
        "CONVERSATION TITLE": "",
        "FROM": sender,
        "SENDER PROFILE URL": f"https://www.linkedin.com/in/{sender.lower().replace(' ', '-')}",
        "TO": to,
        "RECIPIENT PROFILE URLS": "",
        "DATE": date,
        "SUBJECT": subject,
        "CONTENT": content,
        "FOLDER": "INBOX",
        "ATTACHMENTS": "",
        "IS MESSAGE DRAFT": draft,
        "IS CONVERSATION DRAFT": "No",
    }
    return [values[h] for h in header]


def messages_csv(rows: list[list[str]], header: list[str] = MESSAGES_NEWER) -> bytes:
    return csv_bytes([header] + rows)


def invitations_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    """rows: (from, to, Sent At as written, INCOMING | OUTGOING)."""
    return csv_bytes([INVITATIONS_HEADER] + [[f, t, at, "", d, "", ""] for f, t, at, d in rows])


def archive_zip(members: dict[str, bytes], packed_at: tuple = (2026, 8, 10, 12, 0, 0)) -> bytes:
    """A zip of `members`, each stamped `packed_at`: the same members give the same bytes, as one
    download does (zipfile would stamp the current time, which moves between two calls)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=packed_at), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def workbook_xlsx(
    top_by_engagements: list[tuple[str, str, int]],
    top_by_impressions: list[tuple[str, str, int]],
    daily: list[tuple[str, int, int, int]],
    total_followers: int = 1200,
    total_on: str | None = None,
    header_row: int = 3,
    sheets: tuple[str, ...] = ("DISCOVERY", "ENGAGEMENT", "TOP POSTS", "FOLLOWERS", "DEMOGRAPHICS"),
) -> bytes:
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
            sheet.append(
                ["Post URL", "Post publish date", "Engagements", None, "Post URL", "Post publish date", "Impressions"]
            )
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


CONNECTIONS = [("Grace", "Hopper", "12 Mar 2024"), ("Alan", "Turing", "7-Feb-22"), ("Edsger", "Dijkstra", "2026-08-03")]
MESSAGES = [
    message_row(MESSAGES_NEWER, "c1", "Rita Recruiter", OWNER, "2026-08-01 02:00:00 UTC", "Role at Acme"),
    message_row(MESSAGES_NEWER, "c1", OWNER, "Rita Recruiter", "2026-08-01 09:30:00 UTC"),
    message_row(MESSAGES_NEWER, "c2", "Bob Builder", OWNER, "2026-08-02 10:00:00 UTC"),
]
INVITATIONS = [
    ("Rita Recruiter", OWNER, "8/3/26, 9:14 AM", "INCOMING"),
    (OWNER, "Bob Builder", "8/4/26, 4:05 PM", "OUTGOING"),
]


def the_archive(connections=CONNECTIONS, messages=MESSAGES, invitations=INVITATIONS, header=MESSAGES_NEWER) -> bytes:
    return archive_zip(
        {
            "Connections.csv": connections_csv(connections),
            "messages.csv": messages_csv(messages, header),
            "Invitations.csv": invitations_csv(invitations),
        }
    )


TOP_ENGAGEMENTS = [
    ("https://www.linkedin.com/feed/update/urn:li:activity:1", "8/1/2026", 40),
    ("https://www.linkedin.com/feed/update/urn:li:activity:2", "8/2/2026", 12),
]
TOP_IMPRESSIONS = [
    ("https://www.linkedin.com/feed/update/urn:li:activity:2", "8/2/2026", 900),
    ("https://www.linkedin.com/feed/update/urn:li:activity:1", "8/1/2026", 700),
]
DAILY = [("8/1/2026", 500, 20, 3), ("8/2/2026", 800, 41, 5)]


# The X API's timeline and credentials, for the tests of the X source and its bill.

TWEETS = f"{API}/tweets"
BEARER = XCredentials(bearer_token="secret-bearer-token-123")
USER_CONTEXT = XCredentials(
    consumer_key="ck-secret", consumer_secret="cs-secret", access_token="at-secret", access_token_secret="ats-secret"
)


def timeline_page(hours_ago: list[int], next_token=None) -> dict:
    posts = [
        tweet(
            snowflake(NOW - pd.Timedelta(hours=h)),
            created_at=(NOW - pd.Timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
        for h in hours_ago
    ]
    return {"data": posts, "meta": {"result_count": len(posts), **({"next_token": next_token} if next_token else {})}}


TIMELINE = f"{API}/users/42/tweets"


def serve_timeline(pages: dict):
    """Answers get_users_tweets from `pages`: pagination token (None = first page) -> (status, body)."""

    def callback(request):
        token = parse_qs(urlparse(request.url).query).get("pagination_token", [None])[0]
        status, body = pages[token]
        return status, {"content-type": "application/json"}, body if isinstance(body, str) else json.dumps(body)

    responses.add_callback(responses.GET, TIMELINE, callback=callback)


# Bluesky's AppView, faked: bodies shaped as the lexicons define them.

APPVIEW = "https://appview.test"
XRPC = f"{APPVIEW}/xrpc"
ALICE = {"did": "did:plc:alice1111111111111111", "handle": "alice.bsky.social", "displayName": "Alice"}
CAROL = {"did": "did:plc:carol2222222222222222", "handle": "carol.example.com"}
JSON_TYPE = {"content-type": "application/json"}
CID = "bafyreib2rxk3rh6kzwq6uvc5rrsj3ghjaaqbpt3yk7ptaqowxyzrqigxfq"


def uri(author: dict, rkey: str) -> str:
    return f"at://{author['did']}/app.bsky.feed.post/{rkey}"


def post_view(
    author: dict,
    rkey: str,
    created_at: str,
    likes=0,
    reposts=0,
    replies=0,
    quotes=0,
    text="hello",
    embed: dict | None = None,
    reply_to: str | None = None,
    **extra,
) -> dict:
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created_at, "langs": ["en"]}
    if reply_to:
        ref = {"uri": reply_to, "cid": CID}
        record["reply"] = {"root": ref, "parent": ref}
    view = {
        "$type": "app.bsky.feed.defs#postView",
        "uri": uri(author, rkey),
        "cid": CID,
        "author": {**author, "labels": [], "createdAt": "2024-01-01T00:00:00.000Z"},
        "record": record,
        "replyCount": replies,
        "repostCount": reposts,
        "likeCount": likes,
        "quoteCount": quotes,
        "indexedAt": created_at,
        "labels": [],
        **extra,
    }
    if embed:
        view["embed"] = embed
    return view


IMAGES = {
    "$type": "app.bsky.embed.images#view",
    "images": [
        {"thumb": "https://cdn.test/t1.jpg", "fullsize": "https://cdn.test/f1.jpg", "alt": ""},
        {"thumb": "https://cdn.test/t2.jpg", "fullsize": "https://cdn.test/f2.jpg", "alt": "a chart"},
    ],
}
QUOTE = {
    "$type": "app.bsky.embed.record#view",
    "record": {
        "$type": "app.bsky.embed.record#viewRecord",
        "uri": uri(CAROL, "3kq0000000001"),
        "cid": CID,
        "author": CAROL,
        "value": {"$type": "app.bsky.feed.post", "text": "quoted", "createdAt": "2026-11-01T08:00:00Z"},
        "indexedAt": "2026-11-01T08:00:00Z",
    },
}


def repost_of(post: dict, by: dict, at: str) -> dict:
    return {"post": post, "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": by, "indexedAt": at}}


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# A small post history with gaps, for the lifecycle, alerts and follower-gain tests.

LIFECYCLE_PUBLISHED = pd.Timestamp("2026-11-01 10:00")
LIFECYCLE_YOUNG_PUBLISHED = pd.Timestamp("2026-11-08 07:00")
# (post, published_at, [(age in hours, impressions)]): post a has gaps, post b one snapshot per age.
LIFECYCLE_HISTORY = [
    ("a", LIFECYCLE_PUBLISHED, [(0.5, 50), (2, 200), (5.5, 400), (23, 700), (30, 800), (100, 950), (170, 1000)]),
    ("b", LIFECYCLE_PUBLISHED, [(1, 100), (3, 300), (6, 500), (24, 800), (72, 900), (168, 1000)]),
    ("c", LIFECYCLE_YOUNG_PUBLISHED, [(0.5, 10), (2, 40)]),
]


def add_lifecycle_post(con, post_id, published_at, user_id="u1"):
    con.execute(
        "INSERT INTO raw.posts (post_id, user_id, text, content_type, media_type, num_media_items, "
        "published_at, source, ingested_at) VALUES ($id, $user, 'hello', 'text', 'none', 0, $at, 'test', $at)",
        {"id": post_id, "user": user_id, "at": published_at},
    )


def add_lifecycle_snapshot(con, post_id, published_at, age_hours, impressions, written_at=None):
    collected_at = published_at + pd.Timedelta(hours=age_hours)
    con.execute(
        "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes, "
        "source, status, partition_key, written_at) VALUES ($id, $c, $i, $l, 0, 0, 0, 'test', 'ok', $key, $w)",
        {
            "id": post_id,
            "c": collected_at,
            "i": impressions,
            "l": impressions // 10,
            "key": collected_at.floor("h").strftime("%Y-%m-%d-%H:%M"),
            "w": written_at or collected_at,
        },
    )


# The HTML report in a real headless Chromium.


def open_in_chromium(html_file, profile_dir) -> tuple[str, str]:
    """(DOM after load, browser log). Console messages are logged as `CONSOLE(...)` lines."""
    completed = subprocess.run(
        [
            chromium_binary(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile_dir}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            html_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout, completed.stderr


def console_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line]


# A weekly report's JSON, as the report tests build it.

HOSTILE = "<script>alert('x')</script> Q&A | \"quoted\""


def sample_report(**changes) -> dict:
    base = {
        "user_id": "ana<&>",
        "generated_at": "2026-03-09T01:00:00",
        "timezone": "UTC",
        "report_period": {"start": "2026-03-02T00:00:00", "end": "2026-03-09T00:00:00"},
        "summary": {"total_posts": 2, "total_impressions": 1400, "total_engagements": 64, "avg_engagement_rate": 3.5},
        "recruiter_metrics": {"profile_views_7d": 28, "estimated_recruiter_reach": 12},
        "trends": {
            "posts_change": 1,
            "impressions_change_pct": 40.0,
            "engagements_change_pct": None,
            "engagement_rate_change_pts": -0.5,
            "profile_views_change_pct": 0.0,
        },
        "top_posts": [
            {
                "content": HOSTILE,
                "content_type": "video & <i>",
                "impressions": 1000,
                "engagements": 60,
                "engagement_rate": 6.0,
            },
            {
                "content": "Chart of the week",
                "content_type": "image",
                "impressions": 400,
                "engagements": 4,
                "engagement_rate": 1.0,
            },
        ],
        "engagement_breakdown": {
            "video & <i>": {"posts": 1, "impressions": 1000, "engagements": 60, "avg_engagement_rate": 6.0}
        },
        "best_times": [{"day_name": "Monday", "hour": 9, "avg_engagement_rate": 3.0, "posts_count": 2}],
        "recommendations": [f"Keep posting {HOSTILE}"],
        "weekly_history": [{"week_start": "2026-03-02", "total_posts": 2, "avg_engagement_rate": 3.5}],
        "engagement_heatmap": [{"day_of_week": 0, "hour": 9, "avg_engagement_rate": 3.0, "posts_count": 2}],
    }
    return {**base, **changes}


# ----- models on two networks ---------------------------------------------------------------------
BLUESKY_LIKES_FACTOR = 3.0


def two_network_posts(n: int = 800, bluesky_from: int = 600) -> pd.DataFrame:
    """The notebook generator's posts (seed 5), rows from `bluesky_from` on on Bluesky: no reach, and
    BLUESKY_LIKES_FACTOR times the likes, so the network has an effect of known size on likes."""
    frame = generate_notebook_posts(n, seed=5).assign(network="x")
    bluesky = frame.index >= bluesky_from
    frame.loc[bluesky, "network"] = "bluesky"
    frame["reach"] = frame["reach"].astype("Float64").mask(bluesky)
    frame.loc[bluesky, "likes"] = (frame.loc[bluesky, "likes"] * BLUESKY_LIKES_FACTOR).round()
    return frame


# The seed's prediction contract: the keys every answer carries (API, CLI and the core function).
CONTRACT_KEYS = {
    "suggested_hashtags",
    "suggested_description",
    "predicted_reach",
    "predicted_likes",
    "predicted_engagement_rate",
    "explanations",
}
