"""`social-pipeline predict`: the contract on standard output from a file or standard input, and a clear
answer with an exit code (never a traceback) for bad drafts and for a warehouse without models.

The installed command runs in subprocesses (started together: each spends ~2 s importing); the
bad-input matrix calls the same `main()` in-process."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from social_pipeline.app.cli import main
from social_pipeline_tests.helpers import CONTRACT_KEYS

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).parent / "social-pipeline")
DRAFT = {
    "post_text": "Dagster sensors explained, with the DuckDB queries behind them",
    "media_type": "image",
    "num_media_items": 2,
    "scheduled_time": "2026-11-25T18:00:00+01:00",
    "user_followers": 40000,
    "user_avg_engagement_rate": 0.03,
}


def environment(**paths) -> dict:
    # PYTHONPATH: this checkout's package, not the one the command was installed from. One OpenMP
    # thread: a one-row prediction gains nothing from more, and a busy test machine makes them spin.
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "DAGSTER_HOME": "", **paths}


def start(args: list[str], env: dict, stdin: str | None = None) -> subprocess.Popen:
    process = subprocess.Popen(
        [COMMAND, "predict", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    process.stdin.write(stdin or "")
    process.stdin.close()
    return process


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.stdout.read(), process.stderr.read()
    return process.wait(timeout=120), stdout, stderr


def test_the_command_prints_the_contract_or_says_what_is_wrong(serving_env, tmp_path):
    draft_file = tmp_path / "draft.json"
    draft_file.write_text(json.dumps(DRAFT), encoding="utf-8")
    served = environment(
        SOCIAL_PIPELINE_DB=serving_env["db"],
        SOCIAL_PIPELINE_BI_DB=serving_env["bi"],
        SOCIAL_PIPELINE_OPS_DIR=serving_env["ops"],
    )
    unbuilt = environment(
        SOCIAL_PIPELINE_DB=str(tmp_path / "none.duckdb"),
        SOCIAL_PIPELINE_BI_DB=str(tmp_path / "none-bi.duckdb"),
        SOCIAL_PIPELINE_OPS_DIR=str(tmp_path / "unbuilt-ops"),
    )
    running = {
        "file": start(["--json", str(draft_file)], served),
        "stdin": start(["--no-log"], served, stdin=json.dumps(DRAFT)),
        "no models": start(["--json", str(draft_file)], unbuilt),
    }
    results = {name: finish(process) for name, process in running.items()}

    code, stdout, stderr = results["file"]
    assert code == 0, stderr
    from_file = json.loads(stdout)
    assert set(from_file) >= CONTRACT_KEYS
    assert isinstance(from_file["predicted_reach"], int) and isinstance(from_file["predicted_likes"], int)
    assert from_file["features"]["hour"] == 17 and from_file["notes"] == []  # 18:00+01:00 is 17:00 UTC
    assert from_file["suggested_description"] == DRAFT["post_text"]
    (log_file,) = Path(serving_env["ops"]).glob("predictions/*.jsonl")
    (logged,) = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert logged["response"]["prediction_id"] == from_file["prediction_id"]

    code, stdout, stderr = results["stdin"]
    assert code == 0, stderr
    from_stdin = json.loads(stdout)
    assert {k: v for k, v in from_stdin.items() if k not in ("prediction_id", "predicted_at")} == {
        k: v for k, v in from_file.items() if k not in ("prediction_id", "predicted_at")
    }
    assert len(log_file.read_text().splitlines()) == 1  # --no-log

    code, stdout, stderr = results["no models"]
    assert (code, stdout) == (3, "")
    assert stderr.startswith("error: no warehouse at ") and "make run" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "unbuilt-ops").exists()


def run_main(args: list[str], stdin: str, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["predict", "--no-log", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "draft, hashtags, notes",
    [
        (
            {"post_text": "", "scheduled_time": "2026-11-25T18:00Z"},
            [],
            ["post_text is empty: text features are 0 and no hashtags are suggested"],
        ),
        ({"post_text": "🚀🔥🦆", "scheduled_time": "2026-11-25T18:00Z"}, [], []),
        ({"post_text": "pipeline " * 1111 + "x", "scheduled_time": "2026-11-25T18:00Z"}, ["#pipeline"], []),
        (
            {"post_text": "Dagster sensors explained", "scheduled_time": "2026-11-25T18:00"},
            ["#dagster", "#sensors", "#explained"],
            ["scheduled_time '2026-11-25T18:00' has no timezone: taken as UTC"],
        ),
        (
            {"post_text": "Dagster sensors explained"},
            ["#dagster", "#sensors", "#explained"],
            ["scheduled_time missing: predicted for now (UTC)"],
        ),
    ],
    ids=["empty text", "emoji only", "10,000 characters", "no timezone", "optional fields missing"],
)
def test_awkward_drafts_get_a_prediction_and_say_what_was_assumed(
    draft, hashtags, notes, serving_env, monkeypatch, capsys
):
    code, out, err = run_main([], json.dumps(draft), monkeypatch, capsys)
    assert (code, err) == (0, "")
    response = json.loads(out)
    assert response["suggested_hashtags"] == hashtags
    # The contract's default of 100 followers lies below every simulated account's: flagged too.
    outside = [n for n in response["notes"] if n.startswith("user_followers 100 is outside the ")]
    assert len(outside) == 1 and [n for n in response["notes"] if n not in outside] == notes
    assert response["predicted_reach"] >= 0 and response["suggested_description"] is None  # no media
    assert response["features"]["post_text_len"] == len(draft["post_text"])
    assert response["features"]["user_followers"] == 100  # the contract's default


def test_the_emoji_only_draft_counts_its_emojis(serving_env, monkeypatch, capsys):
    code, out, _ = run_main([], json.dumps({"post_text": "🚀🔥🦆", "media_type": "image"}), monkeypatch, capsys)
    assert code == 0
    response = json.loads(out)
    assert response["features"]["num_emojis"] == 3
    assert response["suggested_description"] == "🚀🔥🦆"


@pytest.mark.parametrize(
    "stdin, message",
    [
        (
            json.dumps({"post_text": "x" * 25_001}),
            "error: invalid draft: post_text: String should have at most 25000 characters",
        ),
        (
            json.dumps({"media_type": "gif"}),
            "error: invalid draft: media_type: Input should be 'none', 'image' or 'video'",
        ),
        (
            json.dumps({"scheduled_time": "tomorrow"}),
            "error: invalid draft: scheduled_time: Value error, scheduled_time 'tomorrow' is not an ISO 8601 time",
        ),
        (
            json.dumps({"scheduled_time": "25/11/2026"}),
            "error: invalid draft: scheduled_time: Value error, scheduled_time '25/11/2026' is not an ISO 8601 time",
        ),
        (
            json.dumps({"scheduled_time": "now"}),
            "error: invalid draft: scheduled_time: Value error, scheduled_time 'now' is not an ISO 8601 time",
        ),
        (
            json.dumps({"scheduled_time": "3000-01-01T00:00:00Z"}),
            "error: invalid draft: scheduled_time: Value error, scheduled_time '3000-01-01T00:00:00Z' "
            "is more than a year from now (latest accepted: ",
        ),
        (
            json.dumps({"user_followers": -1, "user_avg_engagement_rate": 2}),
            "error: invalid draft: user_followers: Input should be greater than or equal to 0; "
            "user_avg_engagement_rate: Input should be less than or equal to 1",
        ),
        (json.dumps(["a list"]), "error: the draft must be a JSON object"),
        ("", "error: the draft is not valid JSON"),
        ("{'post_text': 'single quotes'}", "error: the draft is not valid JSON"),
    ],
    ids=[
        "over 25,000 characters",
        "unknown media",
        "bad time",
        "day-first date",
        "now",
        "year 3000",
        "out of range",
        "not an object",
        "nothing",
        "not JSON",
    ],
)
def test_a_bad_draft_exits_2_with_the_reason(stdin, message, serving_env, monkeypatch, capsys):
    code, out, err = run_main([], stdin, monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(message), err


def test_a_missing_file_exits_2(tmp_path, monkeypatch, capsys):
    code, out, err = run_main(["--json", str(tmp_path / "nope.json")], "", monkeypatch, capsys)
    assert (code, out, err) == (2, "", f"error: no such file: {tmp_path / 'nope.json'}\n")


def test_a_bluesky_draft_prints_likes_and_no_reach_and_a_mismatched_network_exits_2(serving_env, monkeypatch, capsys):
    draft = {**DRAFT, "user_id": "duckpond.bsky.social"}
    code, out, err = run_main([], json.dumps(draft), monkeypatch, capsys)
    assert (code, err) == (0, "")
    body = json.loads(out)
    assert (body["network"], body["reach_available"], body["predicted_reach"]) == ("bluesky", False, None)
    assert body["prediction_intervals"]["likes"]["p10"] < body["predicted_likes"]
    code, out, err = run_main([], json.dumps({**draft, "network": "x"}), monkeypatch, capsys)
    assert (code, out) == (2, "")
    assert err == (
        "error: invalid draft: network 'x' does not match account 'duckpond.bsky.social', whose posts are on "
        "'bluesky': leave network out or name the account's own\n"
    )
