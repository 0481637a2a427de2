"""`make bench` section `scale` and `make bench-scale`: an agency's history (bench/scale_history.py) at
10k -> 10M snapshots (100M with `make bench-scale`), on a DuckDB file and on the lake, measured in
subprocesses for their own peak memory:

* rebuild: the full rebuild through Dagster (post tables, then the weekly job over every week, reports
  with their files: bench/worker.py `analytics`);
* hourly: one more collection hour (the posts the cadence has due) and every asset of the
  hourly_collection job downstream of the raw tables, after one untimed warm-up hour;
* weekly: the weekly_reporting job for the history's last week, every account.

Beside each, its floor: one DuckDB query over the raw tables computing the same figures (no Dagster, no
files), timed in a fresh process, its answers then asserted equal to our tables. On the file the rebuilt
tables are also compared with the seed-style baseline (bench/baseline_sqlite.py) on a sample of accounts.

`python -m bench.scale --sizes 10k 1M` runs it alone (JSON to data/bench/scale.json);
`python -m bench.scale --write-docs data/bench/scale.json` writes its table and chart into
docs/performance.md and docs/performance_scale.svg."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb
import pandas as pd

from bench.scale_history import HISTORY_END, SIZES, SOURCE
from bench.worker import QUIET, peak_rss_mb

BENCH_SIZES = ("10k", "100k", "1M", "10M")
SCALE_SIZES = (*BENCH_SIZES, "100M")
QUICK_SIZES = ("10k", "100k")
REPEATS = 3
# From this size the full rebuild runs once (its time grows with the history; the others thrice).
REBUILD_ONCE_FROM = 10_000_000
# The rebuild is compared with the seed-style baseline on this many accounts.
BASELINE_ACCOUNTS = 3
HOURLY_DOWNSTREAM = ("post_snapshots", "post_performance", "post_lifecycle", "post_follower_gain", "post_alerts")
BACKENDS = ("file", "lake")
SECTIONS = ("rebuild", "hourly", "weekly")
DOCS_PAGE = Path("docs/performance.md")
DOCS_CHART = Path("docs/performance_scale.svg")
DOCS_BEGIN, DOCS_END = "<!-- scale:begin (python -m bench.scale --write-docs) -->", "<!-- scale:end -->"


# ----- the floors: one query over the raw tables each -------------------------------------------
# A post's figures at its latest snapshot, as post_performance gives them (plain SQL, no macros).
_LATEST_SQL = """
    SELECT post_id, arg_max(impressions, collected_at) AS impressions,
           arg_max(likes + retweets + replies + COALESCE(quotes, 0), collected_at) AS engagements
    FROM raw.tweet_metrics
    WHERE COALESCE(status, 'ok') = 'ok' {filter}
    GROUP BY post_id
"""
_HOUR_POSTS_SQL = "SELECT post_id FROM raw.tweet_metrics WHERE partition_key = $key"
_RATE_SQL = (
    "CASE WHEN impressions IS NULL THEN NULL WHEN impressions <= 0 THEN 0.0 ELSE engagements * 100.0 / impressions END"
)

FLOOR_SQL = {
    # The figures of the posts the new hour collected.
    "hourly": f"""
        SELECT post_id, impressions, engagements, {_RATE_SQL} AS engagement_rate_pct
        FROM ({_LATEST_SQL.format(filter=f"AND post_id IN ({_HOUR_POSTS_SQL})")})
    """,
    # One week's user summary for every account: posts, impressions, engagements, mean rate.
    "weekly": f"""
        WITH week_posts AS (
            SELECT post_id, user_id FROM raw.posts
            WHERE published_at >= $week::TIMESTAMP AND published_at < $week::TIMESTAMP + INTERVAL 7 DAY
        )
        SELECT user_id, $week::TIMESTAMP AS period_start, count(*) AS total_posts,
               COALESCE(sum(impressions), 0)::BIGINT AS total_impressions,
               COALESCE(sum(engagements), 0)::BIGINT AS total_engagements,
               avg(COALESCE({_RATE_SQL}, 0.0)) AS avg_engagement_rate_pct
        FROM week_posts
        LEFT JOIN ({_LATEST_SQL.format(filter="AND post_id IN (SELECT post_id FROM week_posts)")}) USING (post_id)
        GROUP BY user_id
    """,
    # Every post's figures and every account's weekly summary in the weeks, one row per post.
    "rebuild": f"""
        SELECT post_id, user_id, date_trunc('week', published_at) AS period_start, impressions, engagements,
               {_RATE_SQL} AS engagement_rate_pct,
               count(*) OVER w AS total_posts,
               COALESCE(sum(impressions) OVER w, 0)::BIGINT AS total_impressions,
               COALESCE(sum(engagements) OVER w, 0)::BIGINT AS total_engagements,
               avg(COALESCE({_RATE_SQL}, 0.0)) OVER w AS avg_engagement_rate_pct
        FROM raw.posts LEFT JOIN ({_LATEST_SQL.format(filter="")}) USING (post_id)
        WHERE published_at >= $first_week::TIMESTAMP AND published_at < $weeks_end::TIMESTAMP
        WINDOW w AS (PARTITION BY user_id, date_trunc('week', published_at))
    """,
}

# Rows of the floor's answer our tables do not give (keys missing either side, or figures differing).
_POSTS_DIFFER_SQL = """
    SELECT count(*) FROM floor_answer AS f FULL JOIN analytics.post_performance AS o USING (post_id)
    WHERE {scope} AND (f.post_id IS NULL OR o.post_id IS NULL OR f.impressions IS DISTINCT FROM o.impressions
           OR f.engagements IS DISTINCT FROM o.engagements
           OR abs(f.engagement_rate_pct - o.engagement_rate_pct) > 1e-9)
"""
_WEEKS_DIFFER_SQL = """
    SELECT count(*) FROM (SELECT DISTINCT user_id, period_start, total_posts, total_impressions, total_engagements,
                                          avg_engagement_rate_pct FROM floor_answer) AS f
    FULL JOIN (SELECT * FROM analytics.user_summary WHERE total_posts > 0 AND {scope}) AS o
      USING (user_id, period_start)
    WHERE f.user_id IS NULL OR o.user_id IS NULL
       OR (f.total_posts, f.total_impressions, f.total_engagements)
          IS DISTINCT FROM (o.total_posts, o.total_impressions, o.total_engagements)
       OR abs(f.avg_engagement_rate_pct - o.avg_engagement_rate_pct) > 1e-9
"""


def floor(database: str, section: str, params: dict) -> dict:
    """The section's floor query, timed, then its answer against our tables (untimed)."""
    from social_pipeline.core.analytics_queries import used_params
    from social_pipeline.warehouse.connection import connect

    query = FLOOR_SQL[section]
    with connect(database) as con:
        started = time.perf_counter()
        answer = con.execute(query, used_params(query, params)).to_arrow_table()
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
        con.register("floor_answer_arrow", answer)
        con.execute("CREATE OR REPLACE TEMP TABLE floor_answer AS SELECT * FROM floor_answer_arrow")
        differ = {}
        if section in ("hourly", "rebuild"):
            scope = (
                f"o.post_id IN ({_HOUR_POSTS_SQL})"
                if section == "hourly"
                else "(o.post_id IS NULL OR o.published_at >= $first_week::TIMESTAMP "
                "AND o.published_at < $weeks_end::TIMESTAMP)"
            )
            sql = _POSTS_DIFFER_SQL.format(scope=scope)
            differ["posts_differing"] = con.execute(sql, used_params(sql, params)).fetchall()[0][0]
        if section in ("weekly", "rebuild"):
            scope = (
                "period_start = $week::TIMESTAMP"
                if section == "weekly"
                else "period_start >= $first_week::TIMESTAMP AND period_start < $weeks_end::TIMESTAMP"
            )
            sql = _WEEKS_DIFFER_SQL.format(scope=scope)
            differ["user_weeks_differing"] = con.execute(sql, used_params(sql, params)).fetchall()[0][0]
    return {"seconds": seconds, "peak_rss_mb": peak, "rows": answer.num_rows, **differ}


# ----- ours: the Dagster runs -------------------------------------------------------------------
def generate(database: str, accounts: int, days: int) -> dict:
    from bench.scale_history import write_scale_history

    written = write_scale_history(database, accounts, days)
    return {**written, "peak_rss_mb": peak_rss_mb()}


def rebuild(database: str, first_week: str, last_week: str) -> dict:
    from bench.worker import analytics

    return analytics(database, first_week, last_week)


def _run_resources(database: str, file_stores=None) -> dict:
    """The warehouse asked for and the file stores (the environment's unless given)."""
    from social_pipeline.resources.files import file_stores_resource_from_env
    from social_pipeline.resources.warehouse import WarehouseResource

    return {
        "warehouse": WarehouseResource(database=database),
        "file_stores": file_stores or file_stores_resource_from_env(),
    }


def hourly(database: str, file_stores=None) -> dict:
    """One more collection hour after the newest, then the hourly_collection job's assets downstream of
    the raw tables (with their checks), as one run; only that run is timed."""
    import dagster as dg

    from bench.scale_history import write_collection_hour
    from social_pipeline.definitions import defs
    from social_pipeline.definitions import resources as deployment_resources
    from social_pipeline.warehouse.connection import connect

    with connect(database) as con:
        newest = con.execute(f"SELECT max(collected_at) FROM raw.tweet_metrics WHERE source = '{SOURCE}'").fetchall()
        collected_at = pd.Timestamp(newest[0][0]) + pd.Timedelta(hours=1)
        started = time.perf_counter()
        new_snapshots = write_collection_hour(con, collected_at)
        collect_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = dg.materialize(
        [a for a in [*(defs.assets or ()), *(defs.asset_checks or ())] if isinstance(a, dg.AssetsDefinition)],
        selection=dg.AssetSelection.assets(*HOURLY_DOWNSTREAM),
        run_config=QUIET,
        instance=dg.DagsterInstance.ephemeral(),
        resources={**deployment_resources, **_run_resources(database, file_stores)},
    )
    assert result.success
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "new_snapshots": new_snapshots,
        "checks": len(result.get_asset_check_evaluations()),
        "write_hour_seconds": collect_seconds,
        "partition_key": (collected_at - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M"),
        # Where the time goes: each asset's and check's own seconds (the rest is Dagster's orchestration).
        "step_seconds": {
            event.step_key: round(getattr(event.event_specific_data, "duration_ms", 0.0) / 1000, 3)
            for event in result.all_events
            if event.event_type_value == "STEP_SUCCESS"
        },
    }


def weekly(database: str, week: str, file_stores=None) -> dict:
    """The weekly_reporting job for one week, every account, reports with their files."""
    import dagster as dg

    from social_pipeline.definitions import defs
    from social_pipeline.defs.common import WEEKLY_PARTITIONS

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(str(WEEKLY_PARTITIONS.name), [week])
    started = time.perf_counter()
    result = defs.resolve_job_def("weekly_reporting").execute_in_process(
        run_config=QUIET, instance=instance, partition_key=week, resources=_run_resources(database, file_stores)
    )
    assert result.success
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def memory_limit(database: str) -> dict:
    from social_pipeline.warehouse.connection import connect

    with connect(database, read_only=True) as con:
        limit, threads = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()[0]
    return {"duckdb_memory_limit": limit, "duckdb_threads": threads}


# ----- the section --------------------------------------------------------------------------------
def _worker(env: dict, *args: str) -> dict:
    full_env = {**os.environ, **env}
    full_env.pop("DAGSTER_HOME", None)
    completed = subprocess.run(
        [sys.executable, "-m", "bench.scale", "worker", *args],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.scale worker {args[0]} failed:\n{completed.stderr[-4000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps({"worker": args[0], **result}, default=str), file=sys.stderr, flush=True)  # progress
    return result


def _disk_mb(database: str, data_path: str | None) -> float:
    if data_path:
        files = [p for p in Path(data_path).rglob("*") if p.is_file()]
    else:
        files = [Path(database), Path(database + ".wal")]
    return sum(p.stat().st_size for p in files if p.exists()) / 2**20


def _summary(section: str, size: str, backend: str, snapshots: int, ours: list[dict], floors: list[dict]) -> dict:
    seconds = [r["seconds"] for r in ours]
    floor_s = [r["seconds"] for r in floors]
    ratios = [o / f for o, f in zip(seconds, floor_s, strict=True)]
    return {
        "section": section,
        "size": size,
        "backend": backend,
        "snapshots": snapshots,
        "runs": len(ours),
        "ours_s_mean": sum(seconds) / len(seconds),
        "ours_s_worst": max(seconds),
        "floor_s_mean": sum(floor_s) / len(floor_s),
        "ours_vs_floor_mean": sum(ratios) / len(ratios),
        "ours_vs_floor_worst": max(ratios),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in ours),
        "floor_peak_rss_mb": max(r["peak_rss_mb"] for r in floors),
        "differing": sum(r.get("posts_differing", 0) + r.get("user_weeks_differing", 0) for r in floors),
        **({"new_snapshots": ours[-1]["new_snapshots"]} if section == "hourly" else {}),
    }


def _check_against_baseline(database: str, work: Path, weeks: list[str]) -> dict:
    """The rebuilt tables against the seed-style baseline, on the first accounts' rows alone (timed:
    the baseline's cost grows linearly with the accounts, as bench/runner.py scales it)."""
    from bench.baseline_sqlite import run_baseline
    from bench.history import export_to_sqlite
    from bench.runner import compare_answers
    from social_pipeline.warehouse.connection import connect

    sample, lite = str(work / "baseline_sample.duckdb"), str(work / "baseline_sample.sqlite")
    for path in (sample, lite):
        Path(path).unlink(missing_ok=True)
    users = [f"u{a}" for a in range(BASELINE_ACCOUNTS)]
    with connect(sample) as con:
        con.execute(f"ATTACH '{database}' AS big (READ_ONLY)")
        con.execute(
            "INSERT INTO raw.posts SELECT * FROM big.raw.posts WHERE user_id IN (SELECT unnest($u))", {"u": users}
        )
        con.execute(
            "INSERT INTO raw.tweet_metrics SELECT * FROM big.raw.tweet_metrics WHERE post_id IN "
            "(SELECT post_id FROM raw.posts)"
        )
        con.execute(
            "INSERT INTO raw.profile_activity SELECT * FROM big.raw.profile_activity "
            "WHERE user_id IN (SELECT unnest($u))",
            {"u": users},
        )
    export_to_sqlite(sample, lite)
    started = time.perf_counter()
    baseline = run_baseline(lite, weeks)
    baseline_seconds = time.perf_counter() - started
    checked = {**compare_answers(database, baseline, weeks), "baseline_sample_s": baseline_seconds}
    for path in (sample, lite):
        Path(path).unlink(missing_ok=True)
    return checked


def _measure_size(
    size: str, backend: str, work: Path, env: dict, database: str, repeats: int, sections=SECTIONS
) -> list[dict]:
    from bench.history import complete_weeks

    accounts, days = SIZES[size]
    data_path = env.get("SOCIAL_PIPELINE_LAKE_DATA_PATH")
    generated = work / "generated.json"  # a kept file's history (--keep): not written again
    if backend == "file" and generated.exists() and Path(database).exists():
        written = json.loads(generated.read_text())
    else:
        written = _worker(env, "generate", database, str(accounts), str(days))
        generated.write_text(json.dumps(written))
    snapshots = written["snapshots"]
    weeks = complete_weeks(pd.Timestamp(written["start"]), pd.Timestamp(written["end"]))
    weeks_end = str((pd.Timestamp(weeks[-1]) + pd.Timedelta(days=7)).date())
    span = {"first_week": weeks[0], "weeks_end": weeks_end}
    rows = []
    if "rebuild" in sections:
        rebuild_runs, rebuild_floors = [], []
        for _ in range(1 if snapshots >= REBUILD_ONCE_FROM else repeats):
            rebuild_runs.append(_worker(env, "rebuild", database, weeks[0], weeks[-1]))
            rebuild_floors.append(_worker(env, "floor", database, "rebuild", json.dumps(span)))
        rows.append(_summary("rebuild", size, backend, snapshots, rebuild_runs, rebuild_floors))
        if backend == "file":
            rows[-1].update(_check_against_baseline(database, work, weeks))
            rows[-1]["baseline_s_scaled"] = rows[-1]["baseline_sample_s"] * accounts / BASELINE_ACCOUNTS
            rows[-1]["rebuild_speedup_vs_baseline"] = rows[-1]["baseline_s_scaled"] / rows[-1]["ours_s_mean"]
    if "hourly" in sections:
        _worker(env, "hourly", database)  # warm-up: the first run builds post_lifecycle, post_follower_gain, ...
        hourly_runs, hourly_floors = [], []
        for _ in range(repeats):
            hourly_runs.append(_worker(env, "hourly", database))
            key = json.dumps({"key": hourly_runs[-1]["partition_key"]})
            hourly_floors.append(_worker(env, "floor", database, "hourly", key))
        rows.append(_summary("hourly", size, backend, snapshots, hourly_runs, hourly_floors))
    if "weekly" in sections:
        weekly_runs, weekly_floors = [], []
        for _ in range(repeats):
            weekly_runs.append(_worker(env, "weekly", database, weeks[-1]))
            weekly_floors.append(_worker(env, "floor", database, "weekly", json.dumps({"week": weeks[-1]})))
        rows.append(_summary("weekly", size, backend, snapshots, weekly_runs, weekly_floors))
    disk = _disk_mb(database, data_path)
    limits = _worker(env, "memory_limit", database)
    for row in rows:
        row.update(
            {
                "accounts": accounts,
                "days": days,
                "weeks": len(weeks),
                "generate_s": written["seconds"],
                "warehouse_mb": disk,
                "load_average_1m": os.getloadavg()[0],
                **limits,
            }
        )
        assert row["differing"] == 0, f"ours and the floor disagree: {row}"
    return rows


def scale_section(
    work: Path, sizes=BENCH_SIZES, backends=BACKENDS, repeats: int = REPEATS, sections=SECTIONS, keep: bool = False
) -> list[dict]:
    """Every size on each backend. Each size's folder is deleted once measured, unless `keep`: then a
    DuckDB file stays, and a later run with `keep` measures on it without writing its history again."""
    rows = []
    with ExitStack() as stack:
        server = None
        if "lake" in backends:
            from bench.lake import _server

            server = stack.enter_context(_server())
        for size in sizes:
            for backend in backends:
                folder = work / f"scale_{size}_{backend}"
                if not (keep and backend == "file"):
                    shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
                env = {
                    "SOCIAL_PIPELINE_REPORTS_DIR": str(folder / "reports"),
                    "SOCIAL_PIPELINE_OPS_DIR": str(folder / "ops"),
                }
                if backend == "lake":
                    assert server is not None
                    name = re.sub(r"\W", "_", f"bench_scale_{size}").lower()
                    database = f"ducklake:postgres:{server.create_database(name)}"
                    env["SOCIAL_PIPELINE_LAKE_DATA_PATH"] = str(folder / "lake_data")
                else:
                    database = str(folder / "warehouse.duckdb")
                env["SOCIAL_PIPELINE_DB"] = database
                env["SOCIAL_PIPELINE_BI_DB"] = str(folder / "bi.duckdb")
                measured = _measure_size(size, backend, folder, env, database, repeats, sections)
                rows.extend(measured)
                for row in measured:
                    print(json.dumps(row, default=str), flush=True)
                if not (keep and backend == "file"):
                    shutil.rmtree(folder, ignore_errors=True)
    return rows


# ----- docs: table and chart ----------------------------------------------------------------------
SECTION_NAMES = {"hourly": "hourly refresh", "weekly": "weekly job", "rebuild": "full rebuild"}


def _number(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| snapshots | section | backend | runs | ours s (mean / worst) | floor s | ours ÷ floor (mean / worst) "
        "| baseline ÷ ours | peak RSS MB | warehouse MB |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["snapshots"], list(SECTION_NAMES).index(r["section"]), r["backend"])):
        lines.append(
            f"| {r['snapshots']:,} | {SECTION_NAMES[r['section']]} | {r['backend']} | {r['runs']} | "
            f"{_number(r['ours_s_mean'])} / {_number(r['ours_s_worst'])} | {_number(r['floor_s_mean'])} | "
            f"{r['ours_vs_floor_mean']:.1f}× / {r['ours_vs_floor_worst']:.1f}× | "
            + (f"{r['rebuild_speedup_vs_baseline']:.3g}× | " if "rebuild_speedup_vs_baseline" in r else "| ")
            + f"{r['peak_rss_mb']:,.0f} | "
            f"{r['warehouse_mb']:,.0f} |"
        )
    return "\n".join(lines)


_COLOURS = {"hourly": "#1f77b4", "weekly": "#2ca02c", "rebuild": "#d62728"}


def svg_chart(rows: list[dict]) -> str:
    """Two log-log panels side by side, time and peak memory against history size; a line per section
    and backend (solid: file, dashed: lake)."""
    width, height, pad = 440, 320, 56
    sizes = sorted({r["snapshots"] for r in rows})
    x_lo, x_hi = math.floor(math.log10(min(sizes))), math.ceil(math.log10(max(sizes)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height + 40}" '
        'font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for panel, (key, label) in enumerate((("ours_s_mean", "seconds (mean)"), ("peak_rss_mb", "peak RSS, MB"))):
        values = [r[key] for r in rows]
        y_lo, y_hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        y_hi = max(y_hi, y_lo + 1)
        left = panel * width

        def x(v, left=left):
            return left + pad + (math.log10(v) - x_lo) / max(x_hi - x_lo, 1) * (width - 2 * pad)

        def y(v, y_lo=y_lo, y_hi=y_hi):
            return height - pad + 20 - (math.log10(v) - y_lo) / (y_hi - y_lo) * (height - 2 * pad)

        x0, y0, x1, y1 = x(10**x_lo), y(10**y_lo), x(10**x_hi), y(10**y_hi)
        parts.append(_text(left + width / 2, 16, f"{label} against history size", size=13))
        parts += [_line(x0, y0, x1, y0, "black"), _line(x0, y0, x0, y1, "black")]
        parts += [_text(x(10**d), y0 + 14, _short_count(10**d)) for d in range(x_lo, x_hi + 1)]
        for d in range(y_lo, y_hi + 1):
            parts += [
                _text(x0 - 4, y(10**d) + 4, f"{10.0**d:g}", anchor="end"),
                _line(x0, y(10**d), x1, y(10**d), "#ddd"),
            ]
        parts.append(_text(left + width / 2, height + 10, "snapshots in the history"))
        for section, colour in _COLOURS.items():
            for backend, dash in (("file", ""), ("lake", ' stroke-dasharray="5,3"')):
                line = sorted(
                    (r["snapshots"], r[key]) for r in rows if r["section"] == section and r["backend"] == backend
                )
                if not line:
                    continue
                points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in line)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
                parts.extend(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>' for s, v in line)
    legend_y = height + 30
    for i, (section, colour) in enumerate(_COLOURS.items()):
        left = pad + i * 150
        parts += [
            _line(left, legend_y - 4, left + 24, legend_y - 4, colour, 2),
            _text(left + 30, legend_y, SECTION_NAMES[section], "start"),
        ]
    parts.append(_text(pad + 3 * 150, legend_y, "solid: DuckDB file, dashed: lake", "start"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"/>'


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">{text}</text>'


def _short_count(n: int) -> str:
    for unit, name in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= unit:
            return f"{n // unit}{name}"
    return str(n)


def write_docs(report: dict, page: Path = DOCS_PAGE, chart: Path = DOCS_CHART) -> None:
    """The table and chart between the page's scale markers (the rest of the page is kept)."""
    rows = report["rows"]
    chart.write_text(svg_chart(rows))
    body = "\n".join(
        [
            DOCS_BEGIN,
            f"Measured on {report['cpu_count']} cores, DuckDB {report['duckdb']}, load average "
            f"{min(r['load_average_1m'] for r in rows):.1f}-{max(r['load_average_1m'] for r in rows):.1f} "
            f"during the runs; DuckDB memory_limit {rows[0]['duckdb_memory_limit']}, "
            f"threads {rows[0]['duckdb_threads']}.",
            "",
            markdown_table(rows),
            "",
            f"![time and peak memory against history size]({chart.name})",
            DOCS_END,
        ]
    )
    text = page.read_text()
    if DOCS_BEGIN in text:
        before, rest = text.split(DOCS_BEGIN, 1)
        text = before + body + rest.split(DOCS_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    page.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The agency-scale benchmark: hourly, weekly, rebuild, floors.")
    parser.add_argument("--sizes", nargs="*", choices=list(SIZES), default=list(BENCH_SIZES))
    parser.add_argument("--backends", nargs="*", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--sections", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--keep", action="store_true", help="keep the DuckDB files, and measure on kept ones")
    parser.add_argument("--work", default="data/bench/scale_work", help="folder for the warehouses (GBs at 100M)")
    parser.add_argument("--out", default="data/bench/scale.json")
    parser.add_argument("--write-docs", metavar="JSON", help="write the table and chart of a saved run into docs/")
    args = parser.parse_args(argv)
    if args.write_docs:
        write_docs(json.loads(Path(args.write_docs).read_text()))
        return 0
    started = time.perf_counter()
    rows = scale_section(Path(args.work), args.sizes, args.backends, args.repeats, args.sections, args.keep)
    report = {
        "date": pd.Timestamp.now("UTC").isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "history_end": str(HISTORY_END),
        "total_seconds": time.perf_counter() - started,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))
    print(f"\n{report['total_seconds']:.0f} s in all; written to {out}")
    return 0


def _worker_main(kind: str, args: list[str]) -> dict:
    if kind == "generate":
        return generate(args[0], int(args[1]), int(args[2]))
    if kind == "rebuild":
        return rebuild(*args)
    if kind == "hourly":
        return hourly(args[0])
    if kind == "weekly":
        return weekly(args[0], args[1])
    if kind == "floor":
        return floor(args[0], args[1], json.loads(args[2]))
    return memory_limit(args[0])


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        print(json.dumps(_worker_main(sys.argv[2], sys.argv[3:]), default=str))
    else:
        raise SystemExit(main())
