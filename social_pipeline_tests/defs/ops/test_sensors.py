"""The run-failure sensor and the automation sensor that requests the BI copy."""

import json
import time

import dagster as dg
import pytest

from social_pipeline.definitions import defs
from social_pipeline.defs.ops.assets import bi_warehouse_copy
from social_pipeline.defs.ops.sensors import record_and_notify_run_failure
from social_pipeline.resources.smtp import SmtpResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline_tests.helpers import file_stores_under


def _failed_run(instance):
    @dg.asset
    def always_fails():
        raise ValueError("source said no")

    result = dg.materialize([always_fails], instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_run_failure)
    return run, failure.dagster_event


def test_failure_sensor_records_and_emails(tmp_path, smtp_server):
    port, received = smtp_server
    instance = dg.DagsterInstance.ephemeral()
    run, event = _failed_run(instance)
    smtp = SmtpResource(host="127.0.0.1", port=port, recipients=["team@example.com"])
    context = dg.build_run_status_sensor_context(
        sensor_name="record_and_notify_run_failure",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
        resources={"smtp": smtp, "file_stores": file_stores_under(tmp_path)},
    ).for_run_failure()
    record_and_notify_run_failure(context)

    records = [json.loads(line) for line in (tmp_path / "ops/run_failures.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in records] == [run.run_id]
    assert "always_fails" in records[0]["error"]
    deadline = time.time() + 5
    while not received and time.time() < deadline:
        time.sleep(0.05)
    assert len(received) == 1
    assert received[0]["To"] == "team@example.com"
    assert run.run_id in received[0].get_payload()


def test_dagsters_email_on_failure_sensor_cannot_mail_through_a_plain_relay(smtp_server):
    """Why record_and_notify_run_failure stays hand-written: dg.make_email_on_run_failure_sensor always
    logs in over SSL or STARTTLS (a local relay without either, the default here, refuses it) and takes
    the password as a string when the code location loads (dg.EnvVar would be sent as the variable's
    name), and it cannot write the failure record. The same relay takes our sensor's mail (above)."""
    import smtplib

    port, received = smtp_server
    instance = dg.DagsterInstance.ephemeral()
    run, event = _failed_run(instance)
    builtin = dg.make_email_on_run_failure_sensor(
        email_from="social-pipeline@localhost",
        email_password="unused",
        email_to=["team@example.com"],
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_type="STARTTLS",
    )
    context = dg.build_run_status_sensor_context(
        sensor_name=builtin.name, dagster_instance=instance, dagster_run=run, dagster_event=event
    ).for_run_failure()
    with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
        builtin(context)
    assert received == []


def test_failure_sensor_without_smtp_only_records(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    run, event = _failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="record_and_notify_run_failure",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
        resources={"smtp": SmtpResource(), "file_stores": file_stores_under(tmp_path)},
    ).for_run_failure()
    record_and_notify_run_failure(context)
    assert len((tmp_path / "ops/run_failures.jsonl").read_text().splitlines()) == 1


def bi_copy_requests(instance, cursor=None):
    """One tick of the project's automation condition sensor: (BI copy requests, all requests, cursor)."""
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return result.get_num_requested(bi_warehouse_copy.key), result.total_requested, result.cursor


def test_bi_copy_is_requested_once_after_the_warehouse_changed_and_not_after_itself(db_path, file_stores):
    sensor = defs.resolve_sensor_def("declarative_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert "publish_bi_copy_after_success" not in {s.name for s in defs.sensors}
    warehouse = {"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores}
    feedback = defs.resolve_job_def("prediction_feedback")  # two real writer assets, quick on an empty warehouse
    with dg.instance_for_test() as instance:
        requested, total, cursor = bi_copy_requests(instance)
        assert (requested, total) == (0, 0)  # nothing has run: nothing to copy
        assert feedback.execute_in_process(instance=instance, resources=warehouse).success
        # Another writer run has started and not finished: no copy of a half-done state while it runs.
        running = instance.create_run_for_job(feedback, status=dg.DagsterRunStatus.STARTING)
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (0, 0)
        instance.report_run_canceled(running)
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (1, 1)  # once it is over: one copy, nothing else
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (0, 0)  # requested once: the next tick does not ask again

        dg.materialize([bi_warehouse_copy], instance=instance, resources=warehouse)
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (0, 0)  # publishing the copy requests no copy
