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
SHARE_AT_HALF_HOUR, SHARE_72H = 0.05, 0.9
LOW_1H, HIGH_1H = 500 * SHARE_AT_HALF_HOUR / SHARE_72H, 1500 * SHARE_AT_HALF_HOUR / SHARE_72H  # 27.8 and 83.3


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
    # d had 200 impressions at 1 h against 28-83; at 3 h (600 at 2.5 h: share 0.25, against 139-417) it is
    # still ahead: no second alert.
    assert webhook.delivered() == ['Post d of u1 "hello" is taking off: 200 impressions at 1 h, expected 28-83.']
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
    assert webhook.delivered() == ['Post d of u1 "hello" is taking off: 200 impressions at 1 h, expected 28-83.']
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
