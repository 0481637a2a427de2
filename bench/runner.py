"""`make bench` / `make bench-quick`: speed, scale and cost against baselines measured in the same run.

Every figure is a ratio against a baseline timed in this run on the same data; absolute times are
printed beside it. Correctness comparisons (our answers equal the baseline's) are assertions.
Writes data/bench/latest.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import import_module
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import responses

from bench.baseline_sqlite import run_baseline
from bench.history import complete_weeks, export_to_sqlite, write_history
from bench.lake import lake_concurrency, lake_cost
from bench.scale import BENCH_SIZES as SCALE_BENCH_SIZES
from bench.scale import QUICK_SIZES as SCALE_QUICK_SIZES
from bench.scale import scale_section
from bench.x_cost import tweet_payload

DEFAULT_SIZES = ((1_000, 3), (10_000, 10), (100_000, 50))  # posts (x 10 snapshots), users
QUICK_SIZES = ((1_000, 3), (10_000, 10))
SNAPSHOTS_PER_POST = 10
# At this many snapshots and above the baseline runs on a sample of users and is scaled up.
BASELINE_SAMPLE_FROM = 1_000_000
BASELINE_SAMPLE_FRACTION = 0.1


def _worker(*args: str, env: dict | None = None) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.worker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench worker {args[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


# ----- 1. analytics at scale -----------------------------------------------------------------
def compare_answers(database: str, baseline: dict, weeks: list[str]) -> dict:
    """Assert our tables give the baseline's answers for the users it ran on; returns counts checked."""
    users = baseline["users"]
    with duckdb.connect(database, read_only=True) as con:
        posts = con.execute(
            "SELECT post_id, impressions, engagements, engagement_rate_pct FROM "
            "analytics.post_performance WHERE user_id IN (SELECT unnest($u))",
            {"u": users},
        ).fetchall()
        summary = con.execute(
            "SELECT user_id, strftime(period_start, '%Y-%m-%d'), total_posts, total_impressions, "
            "total_engagements, avg_engagement_rate_pct FROM analytics.user_summary "
            "WHERE user_id IN (SELECT unnest($u))",
            {"u": users},
        ).fetchall()
        best = con.execute(
            "SELECT user_id, strftime(window_end, '%Y-%m-%d'), day_of_week_local, hour_local, posts_count, "
            "avg_engagement_rate_pct FROM analytics.best_posting_times "
            "WHERE user_id IN (SELECT unnest($u)) ORDER BY user_id, window_end, rank",
            {"u": users},
        ).fetchall()
        reports = con.execute(
            "SELECT user_id, strftime(week_start, '%Y-%m-%d'), report_json FROM analytics.weekly_reports "
            "WHERE user_id IN (SELECT unnest($u))",
            {"u": users},
        ).fetchall()
    assert len(posts) == len(baseline["posts"]), (len(posts), len(baseline["posts"]))
    for post_id, impressions, total, rate in posts:
        b_impressions, b_total, b_rate = baseline["posts"][post_id]
        assert (impressions, total) == (b_impressions, b_total) and math.isclose(rate, b_rate, abs_tol=1e-9), post_id
    ours_weeks = {(u, w): (n, i, e, r) for u, w, n, i, e, r in summary}
    compared = 0
    for key, expected in baseline["weeks"].items():
        if expected["total_posts"] == 0 and key not in ours_weeks:
            continue
        n, i, e, r = ours_weeks[key]
        assert (n, i, e) == (expected["total_posts"], expected["total_impressions"], expected["total_engagements"]), key
        assert math.isclose(r, expected["avg_engagement_rate_pct"], abs_tol=1e-9), key
        compared += 1
    ours_best: dict[tuple, list] = {}
    for user_id, window_end, dow, hour, n, rate in best:
        ours_best.setdefault((user_id, window_end), []).append((dow, hour, n, rate))
    for key, slots in baseline["best_times"].items():
        got = ours_best.get(key, [])
        assert [(d, h, n) for d, h, n, _ in got] == [(d, h, n) for d, h, n, _ in slots], key
        assert all(math.isclose(a[3], b[3], abs_tol=1e-9) for a, b in zip(got, slots, strict=True)), key
    ours_reports = {(u, w): json.loads(report) for u, w, report in reports}
    for key, expected in baseline["reports"].items():
        report = ours_reports[key]
        assert [p["post_id"] for p in report["top_posts"]] == expected["top_post_ids"], key
        assert report["recommendations"] == expected["recommendations"], (key, report["recommendations"], expected)
    return {
        "posts_compared": len(posts),
        "user_weeks_compared": compared,
        "best_time_windows_compared": len(baseline["best_times"]),
        "reports_compared": len(baseline["reports"]),
    }


def analytics_at_scale(work: Path, sizes) -> list[dict]:
    """ours_sql: the assets' SQL straight in DuckDB, the same computations as the baseline.
    ours_dagster: the real assets in Dagster runs, which also build engagement_by_content_type,
    recruiter_metrics and every weekly report with its Markdown and HTML files."""
    rows = []
    for posts, users in sizes:
        database = str(work / f"history_{posts}.duckdb")
        written = write_history(database, posts, SNAPSHOTS_PER_POST, users)
        weeks = complete_weeks(written["start"], written["end"])
        sql_only = _worker("analytics_sql", database, weeks[0], weeks[-1])
        ours = _worker(
            "analytics",
            database,
            weeks[0],
            weeks[-1],
            env={"SOCIAL_PIPELINE_REPORTS_DIR": str(work / f"reports_{posts}")},
        )
        lite = str(work / f"history_{posts}.sqlite")
        export_to_sqlite(database, lite)
        fraction = BASELINE_SAMPLE_FRACTION if written["snapshots"] >= BASELINE_SAMPLE_FROM else 1.0
        baseline, baseline_seconds = _timed(
            lambda lite=lite, weeks=weeks, fraction=fraction: run_baseline(lite, weeks, user_fraction=fraction)
        )
        checked = compare_answers(database, baseline, weeks)
        scaled = baseline_seconds / (len(baseline["users"]) / users)
        rows.append(
            {
                "snapshots": written["snapshots"],
                "posts": posts,
                "users": users,
                "weeks": len(weeks),
                "baseline_s": scaled,
                "baseline_measured_on": f"{len(baseline['users'])}/{users} users"
                + (" (scaled up linearly)" if fraction < 1 else ""),
                "ours_sql_s": sql_only["seconds"],
                "speedup_sql_vs_baseline": scaled / sql_only["seconds"],
                "ours_sql_peak_rss_mb": sql_only["peak_rss_mb"],
                "ours_dagster_s": ours["seconds"],
                "speedup_dagster_vs_baseline": scaled / ours["seconds"],
                "ours_dagster_peak_rss_mb": ours["peak_rss_mb"],
                **checked,
            }
        )
    return rows


# ----- 2. incremental cost -------------------------------------------------------------------
# Posts an hourly collection gets new snapshots for: the same on every history, so the ratio
# shows what the history's size alone costs.
HOURLY_NEW_SNAPSHOTS = 200


def incremental_cost(work: Path, sizes) -> list[dict]:
    rows = []
    for posts, _users in (sizes[0], sizes[-1]):
        database = str(work / f"history_{posts}.duckdb")  # built and refreshed by analytics_at_scale
        measured = _worker("hourly", database, str(HOURLY_NEW_SNAPSHOTS))
        rows.append(
            {
                "history_snapshots": posts * SNAPSHOTS_PER_POST,
                "new_snapshots": HOURLY_NEW_SNAPSHOTS,
                "hourly_refresh_s": measured["seconds"],
                "peak_rss_mb": measured["peak_rss_mb"],
            }
        )
    for row in rows:
        row["ratio_to_smallest_history"] = row["hourly_refresh_s"] / rows[0]["hourly_refresh_s"]
        row["history_ratio"] = row["history_snapshots"] / rows[0]["history_snapshots"]
    return rows


# ----- 3. API cost ---------------------------------------------------------------------------
def api_cost(posts: int = 1_000) -> list[dict]:
    """Requests for one collection of `posts` post-snapshots, counted at the HTTP fake: our batched
    X source against the seed's one call per post (collect_post_metrics)."""
    from urllib.parse import parse_qs, urlparse

    from social_pipeline.compat.post_metrics_collector import collect_post_metrics
    from social_pipeline.core.x_payloads import TWITTER_EPOCH_MS
    from social_pipeline.sources.x_api import XApiSource, XCredentials

    base_ms = int(pd.Timestamp("2025-03-01").value // 1_000_000) - TWITTER_EPOCH_MS
    ids = [str((base_ms << 22) + n) for n in range(posts)]

    def many(request):
        asked = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
        return 200, {"content-type": "application/json"}, json.dumps({"data": [tweet_payload(i) for i in asked]})

    source = XApiSource(XCredentials(bearer_token="bench-token"), usernames="bench", sleep=lambda s: None)

    def billed_posts(calls) -> int:
        """X bills reads per resource returned: the posts in each response body, counted at the fake."""
        total = 0
        for call in calls:
            data = json.loads(call.response.text).get("data") or []
            total += len(data) if isinstance(data, list) else 1
        return total

    counts, billed = {}, {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.add_callback(responses.GET, "https://api.twitter.com/2/tweets", callback=many)
        source.fetch_metrics(pd.DataFrame({"post_id": ids, "collected_at": pd.Timestamp.now()}))
        counts["ours"], billed["ours"] = len(fake.calls), billed_posts(fake.calls)
        fake.calls.reset()
        for post_id in ids:  # the seed's collector: one call per post
            collect_post_metrics(post_id, source=source)
        counts["seed"], billed["seed"] = len(fake.calls), billed_posts(fake.calls)
    per_thousand = 1_000 / posts
    return [
        {
            "path": "ours: get_tweets, 100 ids per request",
            "requests_per_1000_snapshots": counts["ours"] * per_thousand,
            "billed_post_reads_per_1000_snapshots": billed["ours"] * per_thousand,
        },
        {
            "path": "seed: one request per post",
            "requests_per_1000_snapshots": counts["seed"] * per_thousand,
            "billed_post_reads_per_1000_snapshots": billed["seed"] * per_thousand,
        },
        {
            "path": "ratio seed / ours",
            "requests_per_1000_snapshots": counts["seed"] / max(counts["ours"], 1),
            "billed_post_reads_per_1000_snapshots": billed["seed"] / max(billed["ours"], 1),
        },
    ]


# ----- 4. models -----------------------------------------------------------------------------
def models_section(quick: bool) -> list[dict]:
    from bench.models import run_model_benchmark

    # The mean and worst of each set of seeds and of all together.
    return [r for r in run_model_benchmark(quick=quick) if r["seed"] in ("mean", "worst") or quick]


# ----- 5. prediction latency -----------------------------------------------------------------
def _interleaved(ours, baseline, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of each call, ours and the baseline's in turn: shared CPU load touches both alike."""
    ours_s, baseline_s = [], []
    for _ in range(repeats):
        ours_s.append(_timed(ours)[1])
        baseline_s.append(_timed(baseline)[1])
    return np.array(ours_s), np.array(baseline_s)


def prediction_latency(quick: bool) -> list[dict]:
    from bench.notebook_baseline import notebook_features, notebook_model
    from social_pipeline.core import models
    from social_pipeline.core.prediction import predict_frame, predict_payload
    from social_pipeline.core.suggestions import HashtagHistory
    from social_pipeline.core.synthetic import generate_notebook_posts

    data = generate_notebook_posts(6000, seed=42)
    trained = models.train_models(data)
    notebook = {t: notebook_model().fit(notebook_features(data), data[t]) for t in models.TARGETS}
    payload = {
        "post_text": "Shipping #DuckDB 2.0 with @duckdb 🚀 https://example.com",
        "media_type": "image",
        "num_media_items": 1,
        "scheduled_time": "2026-07-15T19:30:00Z",
        "user_followers": 20000,
        "user_avg_engagement_rate": 0.015,
    }
    versions = {"reach_model": "bench", "likes_model": "bench"}
    repeats = 50 if quick else 300
    row = data.head(1)
    single, notebook_single = _interleaved(
        lambda: predict_payload(trained, payload, versions),
        lambda: notebook["reach"].predict(notebook_features(row)),
        repeats,
    )
    # With a user's history (300 posts of the simulated accounts' kind), as serving passes it.
    from social_pipeline.core.simulation import _compose_text

    rng = np.random.default_rng(0)
    texts = [
        _compose_text(rng, ("text", "image", "video", "thread")[i % 4], int(rng.integers(0, 4)), 1, 1)
        for i in range(300)
    ]
    history = HashtagHistory(texts, list(rng.uniform(0.5, 5.0, len(texts))))
    with_history, notebook_history = _interleaved(
        lambda: predict_payload(trained, payload, versions, history),
        lambda: notebook["reach"].predict(notebook_features(row)),
        repeats,
    )
    batch_n = 2_000 if quick else 10_000
    payloads = [dict(payload, user_followers=100 + i) for i in range(batch_n)]
    frame = generate_notebook_posts(batch_n, seed=3)
    batches, notebook_batches = _interleaved(
        lambda: predict_frame(trained, payloads),
        lambda: [notebook[t].predict(notebook_features(frame)) for t in models.TARGETS],
        5,
    )
    rows = []
    for what, ours_s, baseline, baseline_s in (
        (
            "one prediction (contract, suggestions, intervals, exact explanations)",
            single,
            "notebook reach model, one row, predict only",
            notebook_single,
        ),
        (
            "the same with a 300-post history for the hashtags (history kept, as serving does)",
            with_history,
            "notebook reach model, one row, predict only",
            notebook_history,
        ),
        (
            f"batch of {batch_n:,} drafts (validation, features, both targets, intervals), p50 of 5",
            batches,
            f"notebook reach and likes models, {batch_n:,} prepared rows",
            notebook_batches,
        ),
    ):
        p50, p99 = np.percentile(ours_s, [50, 99]) * 1000
        n50, n99 = np.percentile(baseline_s, [50, 99]) * 1000
        rows.append(
            {
                "what": what,
                "ours_ms_p50": p50,
                "ours_ms_p99": p99,
                "baseline": baseline,
                "baseline_ms_p50": n50,
                "baseline_ms_p99": n99,
                "ratio_p50": p50 / n50,
            }
        )
    return rows


# ----- 5b. the prediction API under load ------------------------------------------------------
def _serving_warehouse(work: Path) -> dict:
    """A warehouse serving models trained on the notebook's generator, registered and promoted, as the
    ml assets leave it; the environment a real uvicorn needs to serve it."""
    from social_pipeline.core import model_registry, models
    from social_pipeline.core.synthetic import generate_notebook_posts
    from social_pipeline.warehouse.connection import connect

    database, models_path = work / "api_load.duckdb", work / "api_load_models"
    trained = models.train_models(generate_notebook_posts(6000, seed=42))
    with connect(str(database)) as con:
        model_registry.register(
            con,
            [
                {
                    "model_name": name,
                    "version": "bench",
                    "target": target,
                    "trained_at": pd.Timestamp("2026-11-25"),
                    "artifact_path": str(model_registry.save(trained.target_model(target), models_path, name, "bench")),
                    "metrics": {},
                    "params": {},
                    "promoted": True,
                }
                for target, name in (("reach", "reach_model"), ("likes", "likes_model"))
            ],
        )
    return {
        "SOCIAL_PIPELINE_DB": str(database),
        "SOCIAL_PIPELINE_BI_DB": str(work / "api_load_no_bi.duckdb"),
        "SOCIAL_PIPELINE_OPS_DIR": str(work / "api_load_ops"),
        "SOCIAL_PIPELINE_MODELS_DIR": str(models_path),
    }


def _same_answer_as_predict(env: dict, payload: dict):
    """A check of a served body: the answer a direct `predict()` gives on the same warehouse, field for
    field as the API declares it (all but the prediction's id and time)."""
    from social_pipeline.app.http_api import PredictionResponse
    from social_pipeline.app.serving import predict

    def comparable(response: dict) -> dict:
        fields = PredictionResponse.model_validate(response).model_dump(mode="json")
        return {k: v for k, v in fields.items() if k not in ("prediction_id", "predicted_at")}

    expected = comparable(predict(payload, database=env["SOCIAL_PIPELINE_DB"], log=False))
    return lambda body: comparable(json.loads(body)) == expected


# (label, ASGI app, worker processes, extra environment, clients)
API_SERVERS = (
    ("ours, 1 worker", "social_pipeline.app.http_api:app", 1, {}, (1, 10, 100, 1_000)),
    ("ours, 2 workers", "social_pipeline.app.http_api:app", 2, {}, (1, 10, 100, 1_000)),
    ("unbounded", "social_pipeline.app.http_api:app", 1, {"SOCIAL_PIPELINE_API_MAX_IN_FLIGHT": "1000"}, (1, 10, 100)),
    # At 100 clients it would take ~100 x its 0.3 s per prediction: 1 and 10 show its rate.
    ("before issue 18", "bench.api_before_18:app_before_18", 1, {}, (1, 10)),
)


def _pooled(runs: list[dict]) -> dict:
    """run_load's figures over several runs: latencies of all served answers, rates over the summed wall
    time; served %, p99 and the slowest answer also for the worst round."""
    served = np.array([ms for run in runs for ms in run["served_ms"]])
    statuses: dict[int, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    shed = sum(run["shed_share"] * run["requests"] for run in runs)
    requests, wall = sum(run["requests"] for run in runs), sum(run["wall_s"] for run in runs)
    shed_p50 = [run["shed_p50_ms"] for run in runs if run["shed_p50_ms"] is not None]
    p99s = [run["p99_ms"] for run in runs if run["p99_ms"] is not None]
    return {
        "rounds": len(runs),
        "requests": requests,
        "served_pct": 100 * len(served) / requests,
        "served_pct_worst": 100 * min(run["served_share"] for run in runs),
        "p50_ms": float(np.percentile(served, 50)) if len(served) else None,
        "p99_ms": float(np.percentile(served, 99)) if len(served) else None,
        "p99_ms_worst": max(p99s) if p99s else None,
        "max_ms": float(served.max()) if len(served) else None,
        "slowest_answer_ms": max(run["max_answer_ms"] for run in runs),
        "shed_pct": 100 * shed / requests,
        "shed_p50_ms": float(np.median(shed_p50)) if shed_p50 else None,
        "requests_per_s": len(served) / wall,
        "wrong_answers": sum(run["wrong_answers"] for run in runs),
        "statuses": statuses,
        "wall_s": wall,
    }


def api_load(work: Path, quick: bool) -> list[dict]:
    """POST /predict from 1, 10, 100 and 1,000 clients at once against a real uvicorn on 127.0.0.1, each
    client sending its next request as soon as an answer comes (no back-off: the harshest burst). Only
    answers equal to a direct predict() count as served; slowest_answer_ms is the slowest answer of any
    kind (a 503 too). Ours: `make api` with 1 and with 2 worker processes, each computing one prediction
    at a time with a queue behind it admitted by time (a request waits when its expected wait fits the
    1 s Retry-After), 503 past it. Unbounded: the same code in one process computing every request at
    once. Before issue 18: the API as that issue found it (bench/api_before_18.py: models evaluated as
    pipelines, explanations on ~2,600 rows, no reads kept, one process, no limit)."""
    from bench.api_load import run_load, serve_api

    env = _serving_warehouse(work)
    Path(env["SOCIAL_PIPELINE_OPS_DIR"]).mkdir(parents=True, exist_ok=True)
    payload = {
        "post_text": "Shipping #DuckDB 2.0 with @duckdb 🚀 https://example.com",
        "media_type": "image",
        "num_media_items": 1,
        "scheduled_time": "2026-07-15T19:30:00Z",
        "user_followers": 20000,
        "user_avg_engagement_rate": 0.015,
    }
    same_answer = _same_answer_as_predict(env, payload)
    runs: dict[tuple[str, int], list[dict]] = {}
    with ExitStack() as servers:
        urls = {}
        for label, app, workers, extra_env, _ in API_SERVERS:
            urls[label] = servers.enter_context(
                serve_api({**env, **extra_env}, app=app, workers=workers, factory=label == "before issue 18")
            )
            for _ in range(3 * workers):  # warm every worker: models loaded, service time measured
                run_load(urls[label], payload, 1, 1)
        # In rounds, each server in turn, so load from outside touches all alike; 10 clients: enough
        # requests for a rate (the slow baseline fewer); 100 and 1,000: one burst of that many a round.
        for concurrency, rounds in ((1, 3), (10, 3), (100, 3), (1_000, 2 if quick else 3)):
            for _ in range(rounds):
                for label, _, _, _, clients in API_SERVERS:
                    if concurrency in clients:
                        slow = label == "before issue 18"
                        n = {1: 5 if quick else 10, 10: (10 if slow else 50) if quick else (10 if slow else 100)}.get(
                            concurrency, concurrency
                        )
                        runs.setdefault((label, concurrency), []).append(
                            run_load(urls[label], payload, concurrency, n, same_answer=same_answer)
                        )
    rows = [
        {"server": label, "concurrency": concurrency, **_pooled(measured)}
        for (label, concurrency), measured in runs.items()
    ]
    alone = next(r for r in rows if r["server"] == "ours, 1 worker" and r["concurrency"] == 1)["p50_ms"]
    before = {r["concurrency"]: r["requests_per_s"] for r in rows if r["server"] == "before issue 18"}
    for row in rows:
        row["p50_vs_alone"] = row["p50_ms"] / alone if row["p50_ms"] else None
        row["served_per_s_vs_before_18"] = (
            row["requests_per_s"] / before[row["concurrency"]] if before.get(row["concurrency"]) else None
        )
        row["statuses"] = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
    return rows


# ----- 6. end to end -------------------------------------------------------------------------
def end_to_end(work: Path, quick: bool) -> list[dict]:
    days = 14 if quick else 90
    env = {
        **os.environ,
        "SOCIAL_PIPELINE_DB": str(work / "e2e.duckdb"),
        "SOCIAL_PIPELINE_BI_DB": str(work / "e2e_bi.duckdb"),
        "SOCIAL_PIPELINE_REPORTS_DIR": str(work / "e2e_reports"),
        "SOCIAL_PIPELINE_MODELS_DIR": str(work / "e2e_models"),
    }
    env.pop("DAGSTER_HOME", None)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "social_pipeline.app.cli", "run", "--days", str(days), "--as-of", "2026-11-22 12:00"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"social-pipeline run failed:\n{completed.stderr[-3000:]}")
    # The same runs, steps and partition ranges with assets that do nothing.
    as_of = pd.Timestamp("2026-11-22 12:00")
    noop = _worker("noop", str(as_of - pd.Timedelta(days=days)), str(as_of - pd.Timedelta(hours=1)))
    return [
        {
            "what": f"social-pipeline run --days {days} (subprocess, cold start)",
            "wall_s": wall,
            "dagster_only_s": noop["seconds"],
            "dagster_share": noop["seconds"] / wall,
            "note": "dagster_only: the same runs, steps and partition ranges, assets that do nothing",
        }
    ]


def models_on_history(work: Path) -> list[dict]:
    """The same model choice on the simulated history end_to_end built: time holdout, ours against the
    notebook's settings and each user's trailing mean."""
    from bench.models import run_history_comparison

    return run_history_comparison(_history_dataset(work))


def _history_dataset(work: Path) -> pd.DataFrame:
    """ml.training_dataset of the simulated history end_to_end built."""
    with duckdb.connect(str(work / "e2e.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM ml.training_dataset").df()


def clock_features_on_history(work: Path) -> list[dict]:
    """Local-time against UTC hour, daypart and day_of_week on the simulated history end_to_end built."""
    from bench.models import run_clock_comparison

    return run_clock_comparison(_history_dataset(work))


def post_alerts_rates(quick: bool) -> list[dict]:
    """Take-offs alerted `ahead` by 6 h and ordinary posts alerted at all, per seed, mean and worst."""
    from bench.post_alerts import SEEDS, run

    return run(SEEDS[:2] if quick else SEEDS)


SECTIONS = {
    "analytics_at_scale": lambda work, quick, sizes: analytics_at_scale(work, sizes),
    "incremental_cost": lambda work, quick, sizes: incremental_cost(work, sizes),
    "api_cost": lambda work, quick, sizes: api_cost(),
    "x_cost": lambda work, quick, sizes: x_cost(),
    "models": lambda work, quick, sizes: models_section(quick),
    "prediction_latency": lambda work, quick, sizes: prediction_latency(quick),
    "api_load": lambda work, quick, sizes: api_load(work, quick),
    "end_to_end": lambda work, quick, sizes: end_to_end(work, quick),
    "models_on_simulated_history": lambda work, quick, sizes: models_on_history(work),
    "local_vs_utc_time_features": lambda work, quick, sizes: clock_features_on_history(work),
    "models_per_network": lambda work, quick, sizes: import_module("bench.network_models").run(quick=quick),
    "lake_concurrency": lambda work, quick, sizes: lake_concurrency(work, quick),
    "lake_cost": lambda work, quick, sizes: lake_cost(work, quick),
    "post_alerts": lambda work, quick, sizes: post_alerts_rates(quick),
    "scale": lambda work, quick, sizes: scale_section(work, SCALE_QUICK_SIZES if quick else SCALE_BENCH_SIZES),
}


def x_cost() -> list[dict]:
    from bench.x_cost import x_cost as dollars_per_thousand_snapshots

    return dollars_per_thousand_snapshots()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--out", default="data/bench/latest.json")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    import sklearn

    report = {
        "date": pd.Timestamp.now("UTC").isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "quick": args.quick,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "scikit_learn": sklearn.__version__,
        "sections": {},
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="social_pipeline_bench_") as tmp:
        for name, section in SECTIONS.items():
            if args.only and name not in args.only:
                continue
            rows, seconds = _timed(lambda section=section: section(Path(tmp), args.quick, sizes))
            report["sections"][name] = rows
            print(f"\n## {name} ({seconds:.1f} s)\n")
            print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))
            sys.stdout.flush()
    report["total_seconds"] = time.perf_counter() - started
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\n{os.cpu_count()} cores, {report['total_seconds']:.0f} s in all; written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
