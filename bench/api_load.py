"""An HTTP load generator for the prediction API: `concurrency` clients send `n_requests` POSTs in all,
each as soon as its previous answer came, each on a new connection (as many separate callers do;
`keep_alive=True` reuses one per client). Loopback only; bounded.

`run_load` measures what a client sees: latency of the served answers (200s, and with `same_answer`
only those with the right body), the share turned away (503, the server's backpressure), and the
served rate. `serve_api` starts a real uvicorn on 127.0.0.1 for it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def run_load(
    base_url: str,
    payload: dict,
    concurrency: int,
    n_requests: int,
    path: str = "/predict",
    timeout_s: float = 120.0,
    keep_alive: bool = False,
    same_answer: Callable[[bytes], bool] | None = None,
) -> dict:
    """Send `n_requests` POSTs of `payload` to base_url + path from `concurrency` clients at once.

    Returns p50_ms / p99_ms / max_ms of the served answers, served_share (served / all), shed_share
    (503s / all), shed_p50_ms and shed_max_ms (how fast a 503 came), max_answer_ms (the slowest answer of
    any kind), requests_per_s (served answers per second of wall time), the status counts (0: no
    answer), the wall time and each served answer's milliseconds (served_ms). A served answer is a 200
    whose body `same_answer` accepts (every 200 without it); `wrong_answers` counts the 200s it refused."""
    url = urllib.parse.urlsplit(base_url)
    if url.hostname not in LOOPBACK:
        raise ValueError(f"run_load only loads a server on this machine (127.0.0.1), not {url.hostname}")
    if not 1 <= concurrency <= 1_000 or not 1 <= n_requests <= 100_000:
        raise ValueError("concurrency must be 1-1,000 and n_requests 1-100,000")
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", "Connection": "keep-alive" if keep_alive else "close"}
    remaining = iter(range(n_requests))
    take = threading.Lock()
    results: list[tuple[int, float, bool]] = []  # (status, seconds, answer accepted); status 0: connection error
    start_together = threading.Barrier(concurrency)

    def client() -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout_s)
        start_together.wait()
        mine = []
        while True:
            with take:
                if next(remaining, None) is None:
                    break
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                answer = connection.getresponse()
                answer_body = answer.read()
                status = answer.status
                if not keep_alive or answer.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                status, answer_body = 0, b""
                connection.close()
            seconds = time.perf_counter() - started
            mine.append((status, seconds, status == 200 and (same_answer is None or same_answer(answer_body))))
        connection.close()
        with take:
            results.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s * n_requests)
    wall = time.perf_counter() - started
    served = np.array([seconds for status, seconds, accepted in results if accepted]) * 1000
    shed = np.array([seconds for status, seconds, _ in results if status == 503]) * 1000
    answered = np.array([seconds for _, seconds, _ in results]) * 1000
    statuses: dict[int, int] = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "concurrency": concurrency,
        "requests": len(results),
        "p50_ms": float(np.percentile(served, 50)) if len(served) else None,
        "p99_ms": float(np.percentile(served, 99)) if len(served) else None,
        "max_ms": float(served.max()) if len(served) else None,
        "served_share": len(served) / max(len(results), 1),
        "shed_share": statuses.get(503, 0) / max(len(results), 1),
        "shed_p50_ms": float(np.percentile(shed, 50)) if len(shed) else None,
        "shed_max_ms": float(shed.max()) if len(shed) else None,
        "max_answer_ms": float(answered.max()) if len(answered) else None,
        "requests_per_s": len(served) / wall if wall else None,
        "wrong_answers": statuses.get(200, 0) - len(served),
        "statuses": statuses,
        "wall_s": wall,
        "served_ms": served.tolist(),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve_api(
    env: dict,
    app: str = "social_pipeline.app.http_api:app",
    workers: int | None = None,
    startup_s: float = 120.0,
    factory: bool = False,
):
    """A real uvicorn serving `app` (a function returning the app with `factory`) on 127.0.0.1 (a free
    port) with `env` and, as `make api`, one worker process per core unless `workers` says otherwise;
    yields its base URL once every worker answers."""
    port = free_port()
    workers = workers or os.cpu_count() or 1
    with open(Path(env.get("SOCIAL_PIPELINE_OPS_DIR", "/tmp")) / f"uvicorn-{port}.log", "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ]
            + (["--factory"] if factory else []),
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup_s
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"uvicorn exited with {server.returncode}; see {log.name}")
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", "/health")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not answer within {startup_s} s")
                time.sleep(0.2)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
