"""The benchmark's correctness comparison at a tiny size: the seed-style SQLite baseline and the
pipeline's SQL give the same answers, and a wrong answer is caught. No timings are asserted."""

import sqlite3
import subprocess
import sys

import pytest

from bench.baseline_sqlite import run_baseline
from bench.history import complete_weeks, export_to_sqlite, write_history
from bench.runner import api_cost, compare_answers
from bench.worker import analytics_sql, weekly_report_json


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    database, lite = str(work / "h.duckdb"), str(work / "h.sqlite")
    written = write_history(database, posts=300, snapshots_per_post=4, users=3)
    weeks = complete_weeks(written["start"], written["end"])
    analytics_sql(database, weeks[0], weeks[-1])
    weekly_report_json(database, weeks[0], weeks[-1])
    export_to_sqlite(database, lite)
    return database, lite, weeks, written


def test_history_has_the_asked_shape(tiny):
    _, _, weeks, written = tiny
    assert written["snapshots"] == 300 * 4
    assert len(weeks) == 5  # 35 days ending on a Monday


def test_baseline_and_pipeline_agree(tiny):
    database, lite, weeks, _ = tiny
    checked = compare_answers(database, run_baseline(lite, weeks), weeks)
    assert checked["posts_compared"] == 300
    assert checked["user_weeks_compared"] == 3 * 5
    assert checked["best_time_windows_compared"] == 3 * 5
    assert checked["reports_compared"] == 3 * 5


def test_a_wrong_report_is_caught(tiny, tmp_path):
    import json
    import shutil

    import duckdb

    database, lite, weeks, _ = tiny
    broken = str(tmp_path / "broken.duckdb")
    shutil.copyfile(database, broken)
    con = duckdb.connect(broken)
    user, week, report = con.execute(
        "SELECT user_id, week_start, report_json FROM analytics.weekly_reports ORDER BY user_id, week_start LIMIT 1"
    ).fetchall()[0]
    report = json.loads(report)
    report["recommendations"] = report["recommendations"][1:]  # one rule's advice lost
    con.execute(
        "UPDATE analytics.weekly_reports SET report_json = $r WHERE user_id = $u AND week_start = $w",
        {"r": json.dumps(report), "u": user, "w": week},
    )
    con.close()
    with pytest.raises(AssertionError):
        compare_answers(broken, run_baseline(lite, weeks), weeks)


def test_a_wrong_answer_is_caught(tiny, tmp_path):
    database, lite, weeks, _ = tiny
    broken = tmp_path / "broken.sqlite"
    with sqlite3.connect(lite) as source, sqlite3.connect(broken) as target:
        source.backup(target)
        target.execute("UPDATE tweet_metrics SET likes = likes + 1 WHERE post_id = 'p7'")
    with pytest.raises(AssertionError):
        compare_answers(database, run_baseline(str(broken), weeks), weeks)


def test_api_cost_counts_requests_at_the_http_fake():
    rows = {row["path"]: row for row in api_cost(posts=250)}
    assert rows["ours: get_tweets, 100 ids per request"]["requests_per_1000_snapshots"] == pytest.approx(3 * 4)
    assert rows["seed: one request per post"]["requests_per_1000_snapshots"] == pytest.approx(1000)


def test_api_load_counts_what_a_real_loopback_server_answers():
    """run_load against a real HTTP server on 127.0.0.1 that turns every third request away with 503:
    the counts and the shed share are exact; only served answers enter the latencies."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bench.api_load import run_load

    seen = []

    class Every3rdShed(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(body)
            status = 503 if len(seen) % 3 == 0 else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Every3rdShed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_load(f"http://127.0.0.1:{server.server_port}", {"post_text": "hi"}, concurrency=4, n_requests=30)
    finally:
        server.shutdown()
    assert result["requests"] == 30 and result["statuses"] == {200: 20, 503: 10}
    assert result["shed_share"] == pytest.approx(1 / 3) and result["served_share"] == pytest.approx(2 / 3)
    assert 0 < result["p99_ms"] <= result["max_ms"] <= result["max_answer_ms"]
    assert 0 < result["shed_p50_ms"] <= result["shed_max_ms"] <= result["max_answer_ms"]
    assert set(seen) == {b'{"post_text": "hi"}'}
    assert 0 < result["p50_ms"] <= result["p99_ms"] and result["requests_per_s"] > 0
    with pytest.raises(ValueError, match="only loads a server on this machine"):
        run_load("http://example.com", {}, 1, 1)


def test_api_load_counts_only_the_right_answers_as_served():
    """Every 200 here, but every fourth body is not the expected answer: those are counted as wrong and
    left out of the served rate and the latencies."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bench.api_load import run_load

    answered = []

    class EveryFourthWrong(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            answered.append(1)
            body = b'{"reach": 2}' if len(answered) % 4 == 0 else b'{"reach": 1}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), EveryFourthWrong)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_load(
            f"http://127.0.0.1:{server.server_port}",
            {},
            concurrency=3,
            n_requests=20,
            same_answer=lambda body: body == b'{"reach": 1}',
        )
    finally:
        server.shutdown()
    assert result["statuses"] == {200: 20} and result["wrong_answers"] == 5
    assert result["requests_per_s"] == pytest.approx(15 / result["wall_s"])


def test_x_cost_section_prices_a_day_of_collections_by_hand():
    from bench.x_cost import x_cost

    rows = {row["route"]: row for row in x_cost()}
    # 3 posts a day: 21 in the hourly phase read 24 times, 69 in the daily phase once: 573 snapshots.
    lookups, owned, floor = rows.values()
    assert lookups["snapshots_per_day"] == owned["snapshots_per_day"] == 573
    assert lookups["usd_per_1000_snapshots"] == pytest.approx(5.0)
    # 504 owned reads at $0.001 and 69 lookups at $0.005.
    assert owned["usd_per_day"] == pytest.approx(504 * 0.001 + 69 * 0.005)
    assert floor["usd_per_1000_snapshots"] == pytest.approx(1.0)


def test_a_workers_peak_memory_is_its_own_not_its_launchers():
    """Linux carries the launching process's peak RSS into a child's getrusage across exec; a worker
    started by a 600 MB parent must still report only what it used itself."""
    held = b"\x01" * (600 * 1024 * 1024)  # filled, so every page is resident
    code = "from bench.worker import peak_rss_mb; print(peak_rss_mb())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(held) == 600 * 1024 * 1024
    assert float(child.stdout.strip().splitlines()[-1]) < 400
