"""`social-pipeline`: what a person does outside the Dagster UI.

`social-pipeline run` materialises the whole asset graph on the embedded default (the
simulated source) through real Dagster runs, one run per partitioned job over a range,
and prints what it wrote. Runs are recorded in `DAGSTER_HOME` when it is set, so
`make dev` shows them afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from social_pipeline.app.stale_runs import fail_runs_of_dead_runners, runner_tags
from social_pipeline.core.clock import utc_now
from social_pipeline.core.collection import PARTITION_KEY_FORMAT


def _persistent_instance():
    """The DAGSTER_HOME instance that `make dev` shows, or None when DAGSTER_HOME is unset."""
    from dagster import DagsterInstance

    if not os.environ.get("DAGSTER_HOME"):
        return None
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    instance = DagsterInstance.get()
    # A run an earlier `social-pipeline run` left STARTED when it was killed holds the writers' pool.
    for run_id in fail_runs_of_dead_runners(instance):
        print(f"run {run_id[:8]} was left unfinished by a process that is gone: marked failed", file=sys.stderr)
    return instance


def ensure_warehouse_pool(instance=None, database: str | None = None) -> None:
    """Give the writers' pool its limit in DAGSTER_HOME's instance now, through Dagster's CLI
    (`dagster instance concurrency set`; the instance's Python API has no call for it). Dagster
    sets a pool's default_limit lazily, after the queue daemon has read the pools on that tick:
    on a new instance two writer runs queued together were both launched on the first tick.
    A DuckDB file takes one writer process: one run. A lake takes writers at once (their conflicting
    commits are retried): LAKE_WRITER_RUNS. `instance` (tests) is set through its own DAGSTER_HOME."""
    import subprocess

    from social_pipeline.defs.common import WAREHOUSE_POOL, WAREHOUSE_POOL_LIMIT
    from social_pipeline.warehouse.connection import database_path
    from social_pipeline.warehouse.lake import LAKE_WRITER_RUNS, is_lake

    limit = LAKE_WRITER_RUNS if is_lake(database or database_path()) else WAREHOUSE_POOL_LIMIT
    env = dict(os.environ)
    if instance is not None and instance.root_directory:
        env["DAGSTER_HOME"] = instance.root_directory
    command = ["dagster", "instance", "concurrency", "set", WAREHOUSE_POOL, str(limit)]
    done = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(
            f"`{' '.join(command)}` failed on DAGSTER_HOME={env.get('DAGSTER_HOME')} "
            f"(exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        )


def cmd_init_instance(args: argparse.Namespace) -> int:
    """`make dev` runs this first: DAGSTER_HOME's instance with the writers' pool limit in place."""
    if _persistent_instance() is None:
        print("DAGSTER_HOME is not set: nothing to prepare", file=sys.stderr)
        return 2
    ensure_warehouse_pool()
    return 0


def run_plan(as_of: pd.Timestamp, days: int, bi_copy: bool = True) -> list[tuple[str, str | None, str | None]]:
    """(job name, first partition key, last partition key) in the order they must run;
    unpartitioned jobs (model training) have no keys."""
    end = as_of.floor("h")
    start = end - pd.Timedelta(days=days)
    from social_pipeline.defs.common import complete_weeks

    plan: list[tuple[str, str | None, str | None]] = [
        (
            "hourly_collection",
            start.strftime(PARTITION_KEY_FORMAT),
            (end - pd.Timedelta(hours=1)).strftime(PARTITION_KEY_FORMAT),
        ),
    ]
    weeks = complete_weeks(start, end)
    if weeks:
        plan.append(("weekly_reporting", weeks[0], weeks[-1]))
    plan.append(("ml_training", None, None))
    # The prediction log (empty on a fresh machine) and, last, the BI copy of everything above.
    plan.append(("prediction_feedback", None, None))
    if bi_copy:  # a lake is read live
        plan.append(("publish_bi_copy", None, None))
    return plan


def materialize_all(
    as_of: pd.Timestamp, days: int, log=print, quiet_level: str = "WARNING", instance=None, database: str | None = None
) -> list[dict]:
    """Run the plan on DAGSTER_HOME's instance (an in-memory one when it is unset), so every
    partition of the history is recorded where `make dev` shows it. The history's collection keys
    (whole days and ISO weeks, hours at its ends) and its weeks that hold data are added as
    partitions first; each job runs once per range of them.
    `instance` and `database` (a warehouse other than SOCIAL_PIPELINE_DB's) are for tests and benches."""
    from dagster import DagsterInstance

    from social_pipeline.defs.common import (
        HOURLY_PARTITIONS,
        WEEKLY_PARTITIONS,
        add_partition_keys,
        collection_plan,
        storage_ranges,
        weeks_with_data,
    )
    from social_pipeline.warehouse.connection import connect, database_path
    from social_pipeline.warehouse.lake import is_lake

    instance = instance or _persistent_instance() or DagsterInstance.ephemeral()
    database = database or database_path()
    results = []
    for job_name, first_key, last_key in run_plan(as_of, days, bi_copy=not is_lake(database)):
        if job_name == "hourly_collection":
            assert first_key is not None and last_key is not None  # the plan gives a partitioned job its range
            # Whole days and weeks of the history as one partition each, hours at its ends.
            keys = collection_plan(
                instance,
                pd.to_datetime(first_key, format=PARTITION_KEY_FORMAT),
                pd.to_datetime(last_key, format=PARTITION_KEY_FORMAT) + pd.Timedelta(hours=1),
            )
            add_partition_keys(instance, HOURLY_PARTITIONS, keys)
            ranges = storage_ranges(instance, HOURLY_PARTITIONS, keys)
        elif job_name == "weekly_reporting":
            assert first_key is not None and last_key is not None
            with connect(database, read_only=True) as con:
                keys = [k for k in weeks_with_data(con, pd.Timestamp(first_key), as_of) if k <= last_key]
            add_partition_keys(instance, WEEKLY_PARTITIONS, keys)
            ranges = storage_ranges(instance, WEEKLY_PARTITIONS, keys)
        else:
            ranges = [None]
        for key_range in ranges:
            results.append(_run_job(job_name, key_range, as_of, days, instance, log, quiet_level, database))
    return results


def _run_job(job_name, key_range, as_of, days, instance, log, quiet_level, database) -> dict:
    from social_pipeline.definitions import defs
    from social_pipeline.defs.common import partition_range_tags
    from social_pipeline.resources.files import file_stores_resource_from_env
    from social_pipeline.resources.sources import simulated_source_from_env
    from social_pipeline.resources.warehouse import WarehouseResource

    # Always simulated: a replayed history needs a source that can answer "as of" any hour.
    # Its clock is the run's as-of time, so reruns give the same warehouse.
    source = simulated_source_from_env(clock=str(as_of.floor("h")), history_days=days)
    job = defs.resolve_job_def(job_name)
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        resources={
            "source": source,
            "file_stores": file_stores_resource_from_env(),
            "warehouse": WarehouseResource(database=database),
        },
        run_config={"loggers": {"console": {"config": {"log_level": quiet_level}}}},
        tags={**(partition_range_tags(*key_range) if key_range else {}), **runner_tags()},
    )
    seconds = time.perf_counter() - started
    where = "recorded in DAGSTER_HOME" if instance.is_persistent else "in-memory instance"
    what = f"partitions {key_range[0]} .. {key_range[1]}" if key_range else "unpartitioned"
    checks = result.get_asset_check_evaluations()
    failed = [
        f"{c.asset_check_key.asset_key.to_user_string()}:{c.asset_check_key.name}" for c in checks if not c.passed
    ]
    verdict = f", checks {len(checks) - len(failed)}/{len(checks)} passed" + (
        f" (failed: {', '.join(failed)})" if failed else ""
    )
    log(f"  {job_name}: {what}, {where} ({seconds:.1f} s, run {result.run_id[:8]}{verdict if checks else ''})")
    return {"job": job_name, "seconds": seconds, "run_id": result.run_id, "success": result.success}


def table_counts(database: str) -> pd.DataFrame:
    from social_pipeline.core.sql_files import scalar
    from social_pipeline.warehouse.connection import connect

    with connect(database, read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'analytics', 'ml', 'ops') ORDER BY 1, 2"
        ).fetchall()
        rows = [(f"{s}.{t}", scalar(con, f'SELECT count(*) FROM "{s}"."{t}"')) for s, t in tables]
    return pd.DataFrame(rows, columns=["table", "rows"])


def print_report_paths(database: str) -> None:
    """Where the newest weekly reports are, one line per user."""
    from social_pipeline.warehouse.connection import connect

    with connect(database, read_only=True) as con:
        rows = con.execute(
            "SELECT user_id, week_start, html_path FROM analytics.weekly_reports "
            "WHERE week_start = (SELECT max(week_start) FROM analytics.weekly_reports) ORDER BY user_id"
        ).fetchall()
    if not rows:
        print("\nNo weekly report yet: the history holds no complete week (Monday to Sunday).")
        return
    print(f"\nWeekly reports for the week of {rows[0][1]} (open the HTML in a browser):")
    for user_id, _, html_path in rows:
        print(f"  {user_id}: {html_path}")


def print_model_figures(database: str) -> None:
    """The newest models' held-out figures beside the baseline's, one line per model."""
    from social_pipeline.core import model_registry
    from social_pipeline.warehouse.connection import connect

    with connect(database, read_only=True) as con:
        rows = [model_registry.latest(con, name) for name in ("reach_model", "likes_model")]
    if not any(rows):
        print("\nNo model yet: too few posts have settled.")
        return
    print("\nModels, on the newest held-out posts (baseline: each user's trailing mean):")
    for row in filter(None, rows):
        m = row["metrics"]
        print(
            f"  {row['model_name']} {row['version']}: R² {m['r2']:.3f} (baseline {m['baseline_r2']:.3f}), "
            f"MAE {m['mae']:,.1f} (baseline {m['baseline_mae']:,.1f}), p10-p90 coverage "
            f"{m['interval_coverage']:.0%}, {row['n_train']} train / {row['n_test']} test posts"
            + ("" if row.get("promoted") is not False else ": NOT promoted (failed its checks), not served")
        )


def cmd_run(args: argparse.Namespace) -> int:
    from social_pipeline.warehouse.connection import database_path
    from social_pipeline.warehouse.file_stores import file_stores_from_env
    from social_pipeline.warehouse.lake import is_lake, redacted

    database = database_path()
    as_of = pd.Timestamp(args.as_of) if args.as_of else utc_now()
    print(f"social_pipeline: materialising {args.days} days of simulated history into {redacted(database)}")
    started = time.perf_counter()
    materialize_all(as_of, args.days)
    print(f"done in {time.perf_counter() - started:.1f} s\n")
    print(table_counts(database).to_string(index=False))
    print_report_paths(database)
    print_model_figures(database)
    readers = (
        '  python -c "from social_pipeline import connect; print(connect(read_only=True).sql('
        "'select * from analytics.post_performance limit 5'))\"\n"
        "  BI tools: the same connect(read_only=True): the lake, live, with snapshot isolation\n"
        if is_lake(database)
        else f'  duckdb {database} "select * from analytics.post_performance limit 5"\n'
        f"  BI tools: open the read-only copy {file_stores_from_env().bi_database_path()}"
        " (republished after every run)\n"
    )
    print(
        "\nWhere to look next:\n"
        + readers
        + "  make dev    -> the Dagster UI at http://127.0.0.1:3000 (these runs are in its Runs tab)\n"
        "  make test   -> the test suite"
    )
    return 0


def refresh_analytics(database: str, earliest_day: pd.Timestamp | None = None, log=print) -> bool:
    """Bring post_snapshots (incremental) and post_performance up to date after an ingestion, then,
    as the refresh_weekly_after_inbox sensor does, add the weeks that now hold data as partitions and
    rebuild every weekly partition from `earliest_day`'s week on."""
    import dagster as dg

    from social_pipeline.definitions import defs
    from social_pipeline.defs.common import partition_range_tags, weekly_refresh
    from social_pipeline.resources.files import file_stores_resource_from_env
    from social_pipeline.resources.warehouse import WarehouseResource
    from social_pipeline.warehouse.connection import connect

    warehouse = WarehouseResource(database=database)
    # This process's environment names the folders, whatever it was when the definitions loaded.
    resources = {"warehouse": warehouse, "file_stores": file_stores_resource_from_env()}
    instance = _persistent_instance() or dg.DagsterInstance.ephemeral()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = defs.resolve_job_def("post_tables_refresh").execute_in_process(
        instance=instance, resources=resources, run_config=quiet, raise_on_error=False, tags=runner_tags()
    )
    log(f"  analytics refreshed: post_snapshots, post_performance ({'ok' if result.success else 'FAILED'})")
    if not result.success or earliest_day is None:
        return result.success
    with connect(database, read_only=True) as con:
        ranges = weekly_refresh(instance, con, earliest_day, utc_now())
    success = True
    for first, last in ranges:
        weekly = defs.resolve_job_def("weekly_reporting").execute_in_process(
            instance=instance,
            resources=resources,
            run_config=quiet,
            raise_on_error=False,
            tags={**partition_range_tags(first, last), **runner_tags()},
        )
        log(
            f"  weekly analytics and reports rebuilt for the weeks {first} .. {last} "
            f"({'ok' if weekly.success else 'FAILED'})"
        )
        success = success and weekly.success
    return success


# sysexits' EX_TEMPFAIL: nothing was tried and a retry may work (1 means a file was rejected).
EXIT_WAREHOUSE_LOCKED = 75


def cmd_ingest(args: argparse.Namespace) -> int:
    """The inbox ingestion once, without the daemon: same recognition, ledger and rejection rules."""
    import duckdb

    from social_pipeline.core.timezones import TIMEZONES_ENV_VAR, parse_account_timezones
    from social_pipeline.sources.inbox_files import ingest_file, settle
    from social_pipeline.warehouse.connection import connect, database_path, is_lock_error
    from social_pipeline.warehouse.file_stores import file_stores_from_env
    from social_pipeline.warehouse.lake import redacted

    try:
        # As the inbox sensor's runs: the configured zones reach accounts known only from these files.
        zones = parse_account_timezones(os.environ.get(TIMEZONES_ENV_VAR))
    except ValueError as exc:
        print(f"social-pipeline ingest: {exc}. Nothing was ingested.", file=sys.stderr)
        return 2
    database = database_path()
    try:
        con = connect(database)
    except duckdb.IOException as exc:
        if not is_lock_error(exc):
            raise
        # DuckDB allows one writer process per file: usually a Dagster run is writing right now.
        print(
            f"social-pipeline ingest: the warehouse {database} is locked by another process (most likely a "
            f"Dagster run). Nothing was ingested. Retry when that run has finished, or drop the files in "
            f"{file_stores_from_env().inbox_path()}/ and the inbox sensor ingests them between runs.\n  ({exc})",
            file=sys.stderr,
        )
        return EXIT_WAREHOUSE_LOCKED
    outcomes = []
    try:
        with con:
            for name in args.files:
                outcome = ingest_file(con, Path(name), default_user=args.user, account_timezones=zones)
                if args.move and outcome.path.exists():
                    settle(outcome)
                outcomes.append(outcome)
                print(
                    outcome.describe() + (f" -> {outcome.moved_to}" if outcome.moved_to else ""),
                    file=sys.stderr if outcome.status == "rejected" else sys.stdout,
                )
                for note in outcome.notes if outcome.status != "empty" else ():
                    print(f"    {note}")
    finally:
        # Even when a later file failed unexpectedly, the files committed before it get their analytics.
        refreshed = _refresh_after_ingest(database, outcomes)
    rejected = sum(o.status == "rejected" for o in outcomes)
    empty = sum(o.status == "empty" for o in outcomes)
    print(
        f"{len(outcomes)} files: {sum(o.status == 'ingested' for o in outcomes)} ingested "
        f"({sum(o.rows_new for o in outcomes)} rows new, {sum(o.rows_updated for o in outcomes)} updated, "
        f"{sum(o.rows_unchanged for o in outcomes)} unchanged), "
        f"{sum(o.status == 'duplicate' for o in outcomes)} already ingested, "
        + (f"{empty} without rows, " if empty else "")
        + f"{rejected} rejected ({redacted(database)})"
    )
    return 1 if rejected or not refreshed else 0


def _refresh_after_ingest(database: str, outcomes) -> bool:
    ingested = [o for o in outcomes if o.status == "ingested" and o.rows]
    if not ingested:
        return True
    days = [o.earliest_day for o in ingested if o.earliest_day is not None]
    return refresh_analytics(database, min(days) if days else None)


def cmd_predict(args: argparse.Namespace) -> int:
    """A draft from a JSON file or standard input -> the prediction contract on standard output."""
    import json

    from pydantic import ValidationError

    from social_pipeline.app.serving import NetworkMismatchError, predict
    from social_pipeline.core.model_registry import ModelNotTrainedError

    json_path: str | None = None if args.json in (None, "-") else args.json
    try:
        text = sys.stdin.read() if json_path is None else Path(json_path).read_text(encoding="utf-8")
        payload = json.loads(text)
    except FileNotFoundError:
        print(f"error: no such file: {args.json}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as error:
        print(f"error: the draft is not valid JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(payload, dict):
        print(
            "error: the draft must be a JSON object with the request fields (post_text, media_type, ...)",
            file=sys.stderr,
        )
        return 2
    try:
        response = predict(payload, log=not args.no_log)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in error.errors())
        print(f"error: invalid draft: {problems}", file=sys.stderr)
        return 2
    except NetworkMismatchError as error:
        print(f"error: invalid draft: {error}", file=sys.stderr)
        return 2
    except ModelNotTrainedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


def cmd_x_cost(args: argparse.Namespace) -> int:
    """Expected X cost per day and month: of the warehouse's X accounts, or of `--accounts` accounts posting
    `--posts-per-day` each."""
    from social_pipeline.app.x_cost_report import cadence_and_prices_from_env, render, tracked_accounts, x_cost_table
    from social_pipeline.warehouse.connection import database_path

    try:
        cadence, prices = cadence_and_prices_from_env()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.posts_per_day is not None:
        accounts = pd.DataFrame(
            {
                "user_id": [f"account_{n + 1}" for n in range(args.accounts)],
                "posts_per_day": args.posts_per_day,
                "weekly_tracked_posts": 0,
            }
        )
        if cadence.max_days is None:
            print(
                "note: X_TRACK_MAX_DAYS is unset, so weekly reads of older posts grow without end; this "
                "estimate leaves them out (set X_TRACK_MAX_DAYS to include them)",
                file=sys.stderr,
            )
        owned = accounts["user_id"].iloc[0] if args.own else None
    else:
        database = database_path()
        accounts = tracked_accounts(database, cadence, utc_now())
        if accounts.empty:
            print(
                f"no X posts in {database}: nothing is tracked yet; try --accounts N --posts-per-day R", file=sys.stderr
            )
            return 1
        owned = args.own.lower().lstrip("@") if args.own else None
    print(render(x_cost_table(accounts, cadence, prices, owned), cadence, prices))
    return 0


def main(argv: list[str] | None = None) -> int:
    # Dagster flags BackfillPolicy as beta on every import; the console is for the run's own output.
    warnings.filterwarnings("ignore", message=r".*is currently in beta.*")
    parser = argparse.ArgumentParser(prog="social-pipeline", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise the whole asset graph on the configured source")
    run.add_argument("--days", type=int, default=90, help="days of history to collect (default 90)")
    run.add_argument("--as-of", help="UTC time the run pretends is now (default: now)")
    run.set_defaults(func=cmd_run)
    ingest = sub.add_parser(
        "ingest",
        help="ingest X export, LinkedIn download or profile-activity files into "
        "SOCIAL_PIPELINE_DB once "
        "(exit 1 if any is rejected, 75 if the warehouse is locked by a run)",
    )
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument(
        "--account",
        "--user",
        dest="user",
        metavar="HANDLE",
        help="the account the files belong to: required for LinkedIn's downloads (they do not "
        "name it); for X, the handle of a newer-format export without a 'Post Link' column",
    )
    ingest.add_argument(
        "--move",
        action="store_true",
        help="move each file to processed/ or rejected/ (+ .error.txt) beside it, like the inbox",
    )
    ingest.set_defaults(func=cmd_ingest)
    predict = sub.add_parser("predict", help="predict a draft post's reach and likes (the notebook's contract)")
    predict.add_argument("--json", metavar="FILE", help="the draft as a JSON file; '-' or omitted: standard input")
    predict.add_argument("--no-log", action="store_true", help="do not record the prediction in the prediction log")
    predict.set_defaults(func=cmd_predict)
    x_cost = sub.add_parser(
        "x-cost",
        help="expected X API cost per day and month, per account and endpoint, "
        "under the configured cadence (X_TRACK_*) and rates (X_PRICE_*_USD)",
    )
    x_cost.add_argument(
        "--own",
        nargs="?",
        const="first",
        metavar="HANDLE",
        help="the authenticated account (OAuth 1.0a): its recent posts are owned reads; with "
        "--posts-per-day, the first account",
    )
    x_cost.add_argument("--accounts", type=int, default=1, help="with --posts-per-day: how many accounts")
    x_cost.add_argument(
        "--posts-per-day",
        type=float,
        help="estimate for accounts posting this often instead of the warehouse's X accounts",
    )
    x_cost.set_defaults(func=cmd_x_cost)
    init = sub.add_parser(
        "init-instance", help="prepare DAGSTER_HOME's instance (the writers' pool limit); `make dev` runs it"
    )
    init.set_defaults(func=cmd_init_instance)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
