"""post_alerts through a real local HTTP server standing in for the webhook: fired once, retried when
the webhook fails, and never holding the collection beyond the delivery budget."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pandas as pd
import pytest

from social_pipeline.core.alert_delivery import AlertChannelError
from social_pipeline.defs.analytics.assets import post_snapshots
from social_pipeline.defs.analytics.lifecycle import post_lifecycle
from social_pipeline.defs.ops.alerts import post_alerts
from social_pipeline.resources.alerts import AlertChannelsResource, alert_channels_from_env
from social_pipeline.resources.smtp import SmtpResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import LIFECYCLE_HISTORY, add_lifecycle_post, add_lifecycle_snapshot

YOUNG = pd.Timestamp("2026-11-08 07:00")
# The account's curve from posts a and b (test_lifecycle): at 1 h and 72 h only b's snapshots lie close
# enough to the age, so the shares there are b's, 0.1 and 0.9. d's 1 h row is its 0.5 h snapshot: on
# the line from 0 at publication to 0.1 at 1 h, the share there is 0.05.
# One post gives the curve no spread of shares at 1 h: the band is the prediction's alone. Its p10-p90
# (500-1,500 around 1,000) is read as an 80 % interval (the prediction names no model version with a
# held-out coverage), z = 1.28155 spreads; the 97.5 % band reaches z = 2.24140, 1.74898 times as far in
# log units around 1,000 * 0.05 / 0.9 (the shares at 0.5 h and 72 h):
# 55.56 * 0.5 ** 1.74898 = 16.53 and 55.56 * 1.5 ** 1.74898 = 112.90.
LOW_1H, HIGH_1H = 16.528495, 112.903356


class Webhook:
    """A local HTTP server that records each POST body and answers as `mode` says: ok, error, hang."""

    def __init__(self):
        self.mode, self.received = "ok", []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                webhook.received.append((webhook.mode, body))
                if webhook.mode == "hang":
                    time.sleep(5)
                try:
                    self.send_response(500 if webhook.mode == "error" else 200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up waiting (the hanging mode)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads, self.server.block_on_close = True, False
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def delivered(self) -> list[str]:
        return [body["text"] for mode, body in self.received if mode == "ok"]


@pytest.fixture
def webhook():
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def warehouse(db_path):
    """Posts a and b give u1 its curve; d, young, was predicted 1,000 (500-1,500) before publication."""
    con = connect(db_path)
    for post_id, published_at, snapshots in LIFECYCLE_HISTORY[:2] + [("d", YOUNG, [(0.5, 200), (2.5, 600)])]:
        add_lifecycle_post(con, post_id, published_at)
        for age, impressions in snapshots:
            add_lifecycle_snapshot(con, post_id, published_at, age, impressions)
    con.execute(
        "INSERT INTO ml.predictions (prediction_id, predicted_at, user_id, post_id, predicted_reach, "
        "reach_p10, reach_p90) VALUES ('p1', $at, 'u1', 'd', 1000, 500, 1500)",
        {"at": YOUNG - pd.Timedelta(hours=1)},
    )
    con.close()
    warehouse = WarehouseResource(database=db_path)
    assert dg.materialize([post_snapshots, post_lifecycle], resources={"warehouse": warehouse}).success
    return warehouse


def run_alerts(warehouse, channels, raise_on_error=True):
    resources = {"warehouse": warehouse, "alert_channels": channels, "smtp": SmtpResource()}
    return dg.materialize([post_alerts], resources=resources, raise_on_error=raise_on_error)


def alert_rows(warehouse):
    with warehouse.get_connection() as con:
        return con.execute(
            "SELECT post_id, age_hours, direction, actual_impressions, round(expected_low, 3), "
            "round(expected_high, 3), expectation_source, delivery_status, delivery_attempts, "
            "last_error, sent_at IS NOT NULL FROM ops.post_alerts ORDER BY post_id"
        ).fetchall()


def test_an_alert_fires_exactly_once_through_the_webhook(warehouse, webhook):
    channels = AlertChannelsResource(webhook_url=webhook.url, webhook_timeout_seconds=2)
    result = run_alerts(warehouse, channels)
    # d had 200 impressions at 1 h against 17-113; at 3 h (600 at 2.5 h: share 0.25, against 83-565) it is
    # still ahead: no second alert.
    assert webhook.delivered() == ['Post d of u1 "hello" is taking off: 200 impressions at 1 h, expected 17-113.']
    expected_row = (
        "d",
        1,
        "ahead",
        200,
        round(LOW_1H, 3),
        round(HIGH_1H, 3),
        "ml.predictions p1",
        "sent",
        1,
        None,
        True,
    )
    assert alert_rows(warehouse) == [expected_row]
    assert result.asset_materializations_for_node("post_alerts")[0].metadata["alerts_fired"].value == 1
    assert [check.passed for check in result.get_asset_check_evaluations()] == [True]

    run_alerts(warehouse, channels)
    assert len(webhook.delivered()) == 1
    assert alert_rows(warehouse) == [expected_row]


def test_a_failing_webhook_keeps_the_alert_and_a_later_run_sends_it(warehouse, webhook):
    webhook.mode = "error"
    channels = AlertChannelsResource(webhook_url=webhook.url, webhook_timeout_seconds=1, webhook_attempts=2)
    result = run_alerts(warehouse, channels)
    assert len(webhook.received) == 2  # retried once
    [row] = alert_rows(warehouse)
    assert row[7:10] == (
        "failed",
        1,
        f"webhook: webhook http://127.0.0.1:{webhook.server.server_port}/… answered HTTP 500",
    )
    assert [(check.passed, check.metadata["failed"].value) for check in result.get_asset_check_evaluations()] == [
        (False, 1)
    ]

    webhook.mode = "ok"
    run_alerts(warehouse, channels)
    assert webhook.delivered() == ['Post d of u1 "hello" is taking off: 200 impressions at 1 h, expected 17-113.']
    assert alert_rows(warehouse)[0][7:] == ("sent", 2, None, True)


def test_a_hanging_webhook_does_not_hold_the_collection_beyond_its_budget(warehouse, webhook):
    webhook.mode = "hang"  # answers after 5 s
    channels = AlertChannelsResource(
        webhook_url=webhook.url, webhook_timeout_seconds=0.5, webhook_attempts=3, delivery_budget_seconds=1.5
    )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [post_alerts],
        instance=instance,
        resources={"warehouse": warehouse, "alert_channels": channels, "smtp": SmtpResource()},
    )
    assert result.success
    logs = instance.all_logs(result.run_id)
    started = next(e.timestamp for e in logs if e.dagster_event_type == dg.DagsterEventType.STEP_START)
    ended = next(e.timestamp for e in logs if e.dagster_event_type == dg.DagsterEventType.STEP_SUCCESS)
    # Two attempts of 0.5 s fit in the 1.5 s budget (with tenacity's 0.5 s wait). The step, SQL included,
    # ends before one unanswered POST would have (5 s), let alone three.
    assert ended - started < 4.0
    assert len(webhook.received) == 2
    [row] = alert_rows(warehouse)
    assert row[7:9] == ("failed", 1) and "timed out" in row[9]


def test_a_webhook_url_that_is_not_http_is_refused_at_start_without_showing_it(warehouse, monkeypatch):
    bad = "ftp://hooks.example.com/services/secret-token"
    result = run_alerts(warehouse, AlertChannelsResource(webhook_url=bad), raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_failure]
    message = str(failure.event_specific_data.error)
    assert (
        "SOCIAL_PIPELINE_ALERT_WEBHOOK_URL must be an http:// or https:// URL with a host (it has scheme 'ftp')"
        in message
    )
    assert "secret-token" not in message
    assert alert_rows(warehouse) == []

    monkeypatch.setenv("SOCIAL_PIPELINE_ALERT_WEBHOOK_URL", "hooks.example.com/secret-token")
    with pytest.raises(AlertChannelError, match="it has no scheme and no host") as refused:
        alert_channels_from_env()
    assert "secret-token" not in str(refused.value)


def test_without_a_logged_prediction_the_served_model_predicts_from_the_features_at_publication(
    trained_warehouse, tmp_path
):
    """On the trained warehouse, the features rebuilt at publication give the served model's prediction on
    the post's own training row: the same followers, text, hour and settled means."""
    from social_pipeline.core import model_registry
    from social_pipeline.core.post_alerts import model_expectations

    db = tmp_path / "warehouse.duckdb"
    with open(trained_warehouse["db"], "rb") as source:
        db.write_bytes(source.read())
    con = connect(str(db))
    con.execute(
        "CREATE TEMP TABLE expectation_posts AS SELECT post_id FROM ml.training_dataset "
        "WHERE NOT is_synthetic ORDER BY published_at DESC, post_id LIMIT 40"
    )
    expected = con.execute(
        "SELECT * FROM ml.training_dataset WHERE post_id IN (SELECT post_id FROM expectation_posts) ORDER BY post_id"
    ).df()
    served = model_registry.latest(con, "reach_model", promoted_only=True)
    got = model_expectations(con).sort_values("post_id").reset_index(drop=True)
    con.close()
    on_training_rows = model_registry.load(served["artifact_path"]).predict(expected)
    assert got["post_id"].tolist() == expected["post_id"].tolist()
    assert got["expectation_source"].unique().tolist() == [f"reach_model {served['version']}"]
    for ours, theirs in [("predicted_reach", "reach"), ("reach_p10", "reach_p10"), ("reach_p90", "reach_p90")]:
        assert got[ours].to_numpy() == pytest.approx(on_training_rows[theirs].to_numpy(), rel=1e-9)


def alerts_on_young_posts(db_path, young: dict, columns: str, p10: dict | None = None, coverage: dict | None = None):
    """Posts a and b give u1 its curve; each young post (id -> its snapshots) was predicted 1,000 (p10
    500 unless `p10` names another, p90 1,500), by a reach model version of the given held-out coverage
    where `coverage` names one. Returns `columns` of ops.post_alerts after one run, by post."""
    con = connect(db_path)
    for post_id, published_at, snapshots in LIFECYCLE_HISTORY[:2] + [(p, YOUNG, s) for p, s in young.items()]:
        add_lifecycle_post(con, post_id, published_at)
        for age, impressions in snapshots:
            add_lifecycle_snapshot(con, post_id, published_at, age, impressions)
    for post_id in young:
        version = f"v-{post_id}" if coverage and post_id in coverage else None
        if version:
            con.execute(
                "INSERT INTO ml.model_registry (model_name, version, target, artifact_path, trained_at, metrics) "
                "VALUES ('reach_model', $version, 'reach', '/nowhere', $at, $metrics)",
                {"version": version, "at": YOUNG, "metrics": json.dumps({"interval_coverage": coverage[post_id]})},
            )
        con.execute(
            "INSERT INTO ml.predictions (prediction_id, predicted_at, user_id, post_id, predicted_reach, "
            "reach_p10, reach_p90, reach_model_version) VALUES ($id, $at, 'u1', $post, 1000, $p10, 1500, $version)",
            {
                "id": f"p-{post_id}",
                "at": YOUNG,
                "post": post_id,
                "p10": (p10 or {}).get(post_id, 500),
                "version": version,
            },
        )
    con.close()
    warehouse = WarehouseResource(database=db_path)
    assert dg.materialize([post_snapshots, post_lifecycle], resources={"warehouse": warehouse}).success
    run_alerts(warehouse, AlertChannelsResource())
    with warehouse.get_connection() as con:
        return con.execute(f"SELECT {columns} FROM ops.post_alerts ORDER BY post_id").fetchall()


def test_the_band_combines_the_prediction_interval_with_the_spread_of_the_curve(db_path):
    """At 6 h the curve has a spread: a's share 400 / 950 = 0.421053 (its 5.5 h snapshot) and b's 0.5, so
    the median is 0.460526, the 10th percentile 0.428947, the 90th 0.492105. Each young post was predicted
    1,000 (500-1,500) at 72 h (share 0.9): expected 1,000 * 0.460526 / 0.9 = 511.70 at 6 h. In log units
    per 80 % z (1.28155):
      low:  sqrt(ln(1000/500)^2 + ln(0.460526/0.428947)^2) / 1.28155 = sqrt(0.480453 + 0.005046) / 1.28155
            = 0.543698
      high: sqrt(ln(1500/1000)^2 + ln(0.492105/0.460526)^2) / 1.28155 = sqrt(0.164402 + 0.004399) / 1.28155
            = 0.320591
    and the 97.5 % band (z 2.24140): 511.70 * exp(-1.218647) = 151.27 to 511.70 * exp(0.718573) = 1,049.75.
    g (900) and h (200) are inside it, though outside the two 80 % intervals' ends multiplied
    (1,500 * 0.492105 / 0.9 = 820.2 and 500 * 0.428947 / 0.9 = 238.3); k's p10 of 0 leaves it no lower
    end."""
    young = {
        post_id: [(6, impressions)]
        for post_id, impressions in [("e", 1100), ("f", 140), ("g", 900), ("h", 200), ("k", 10)]
    }
    columns = (
        "post_id, age_hours, direction, actual_impressions, round(expected_impressions, 2), "
        "round(expected_low, 2), round(expected_high, 2), delivery_status"
    )
    assert alerts_on_young_posts(db_path, young, columns, p10={"k": 0}) == [
        ("e", 6, "ahead", 1100, 511.7, 151.27, 1049.75, "no_channel"),
        ("f", 6, "behind", 140, 511.7, 151.27, 1049.75, "no_channel"),
    ]


def test_a_prediction_interval_is_read_by_its_model_versions_held_out_coverage(db_path):
    """m was predicted by a reach model whose p10-p90 held 90 % of its held-out posts: its interval spans
    z 1.64485 spreads, and the 97.5 % band (z 2.24140) reaches 1.36268 times as far in log units:
    55.56 * 0.5 ** 1.36268 = 21.60 to 55.56 * 1.5 ** 1.36268 = 96.53 at 0.5 h (no curve spread at 1 h).
    n's model held 100 %, read as at most 95 % (z 1.95996, 1.14359 times): 25.15 to 88.33. (Their 1.5 h
    snapshots make the 1 h row; it reads the 0.5 h one.)"""
    young = {"m": [(0.5, 120), (1.5, 240)], "n": [(0.5, 20), (1.5, 40)]}
    columns = "post_id, direction, actual_impressions, round(expected_low, 2), round(expected_high, 2)"
    assert alerts_on_young_posts(db_path, young, columns, coverage={"m": 0.9, "n": 1.0}) == [
        ("m", "ahead", 120, 21.6, 96.53),
        ("n", "behind", 20, 25.15, 88.33),
    ]
