"""The ml group in real Dagster runs on three weeks of simulated history: registry, artifacts, checks,
the retrain sensor and schedule."""

import json

import dagster as dg
import duckdb
import joblib
import pandas as pd
import pytest

from social_pipeline import automation
from social_pipeline.assets import ml
from social_pipeline.core.publish import publish_copy
from social_pipeline.definitions import defs
from social_pipeline.resources.sources import SourceResource
from social_pipeline.resources.warehouse import WarehouseResource, connect

from .conftest import CLOCK
from .test_assets import collect

CHECKS = {dg.AssetCheckKey(dg.AssetKey(name), check) for name in ml.MODEL_TARGETS
          for check in ("beats_baseline", "not_worse_than_previous", "interval_coverage_about_80pct")}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    db_path = str(tmp_path_factory.mktemp("ml") / "warehouse.duckdb")
    resources = {"warehouse": WarehouseResource(database=db_path),
                 "source": SourceResource(clock=str(CLOCK), history_days=24)}
    collect(resources, first="2026-10-25-12:00", last="2026-11-18-11:00")
    return db_path


def train(db_path, models_dir, monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_MODELS_DIR", str(models_dir))
    job = defs.resolve_job_def("ml_training")
    result = job.execute_in_process(resources={"warehouse": WarehouseResource(database=db_path)},
                                    raise_on_error=False)
    assert result.success
    return result


def registry(db_path):
    con = duckdb.connect(db_path, read_only=True)
    try:
        return con.execute("SELECT * FROM ml.model_registry ORDER BY trained_at, model_name").df()
    finally:
        con.close()


def test_training_registers_models_that_beat_the_baseline(history, tmp_path, monkeypatch):
    result = train(history, tmp_path / "models", monkeypatch)
    rows = registry(history)
    assert sorted(rows.model_name) == ["likes_model", "reach_model"]
    for row in rows.itertuples():
        metrics = json.loads(row.metrics)
        assert row.artifact_path.startswith(str(tmp_path / "models" / row.model_name))
        assert row.n_test >= ml.MIN_TEST_ROWS and row.n_train > row.n_test
        assert metrics["rmse"] < metrics["baseline_rmse"]
        assert 0.0 <= metrics["interval_coverage"] <= 1.0
        # The artifact predicts the held-out figures the registry claims.
        model = joblib.load(row.artifact_path)
        con = duckdb.connect(history, read_only=True)
        test = con.execute("SELECT * FROM ml.training_dataset WHERE NOT is_synthetic AND published_at >= $t",
                           {"t": row.test_published_from}).df()
        con.close()
        assert len(test) == row.n_test
        predicted = model.predict(test)[row.target]
        rmse = ((predicted - test[row.target]) ** 2).mean() ** 0.5
        assert rmse == pytest.approx(metrics["rmse"], rel=1e-6)
    # Every check ran and passed; the first version has nothing to compare with.
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == CHECKS
    for evaluation in evaluations:
        if evaluation.asset_check_key.name == "interval_coverage_about_80pct":
            # A few dozen held-out posts: the coverage is noisy, so check the check's own arithmetic.
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            n_test = int(rows.n_test.iloc[0])
            assert meta["band_low"] == pytest.approx(0.8 - max(0.15, 2.5 * (0.16 / n_test) ** 0.5))
            assert evaluation.passed == (meta["band_low"] <= meta["interval_coverage"] <= meta["band_high"])
        else:
            assert evaluation.passed, evaluation.description
    assert (tmp_path / "models" / "reach_model" / f"{rows.version.iloc[0]}.svg").read_text().startswith("<svg")


def test_retraining_compares_with_the_model_it_replaces(history, tmp_path, monkeypatch):
    train(history, tmp_path / "models", monkeypatch)
    first = registry(history).groupby("model_name").version.max()
    train(history, tmp_path / "models", monkeypatch)
    rows = registry(history)
    newest = rows.sort_values("trained_at").groupby("model_name").tail(1).set_index("model_name")
    for name in ml.MODEL_TARGETS:
        assert newest.loc[name, "previous_version"] in set(rows[rows.model_name == name].version)
        metrics = json.loads(newest.loc[name, "metrics"])
        # Same data, same seed: the replaced model scores the same on the same held-out posts.
        assert metrics["previous_rmse"] == pytest.approx(metrics["rmse"], rel=1e-6)
    assert len(first) == 2


def test_too_little_history_trains_nothing_and_does_not_fail(resources, db_path, tmp_path, monkeypatch):
    collect(resources)  # 3 days: nothing has settled for 72 h yet
    result = train(db_path, tmp_path / "models", monkeypatch)
    assert registry(db_path).empty
    assert not (tmp_path / "models").exists()
    assert result.success


def test_retrain_sensor_counts_labels_since_the_current_model(history, tmp_path, monkeypatch):
    bi = tmp_path / "bi.duckdb"
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", str(bi))
    assert isinstance(automation.retrain_on_new_labels(dg.build_sensor_context()), dg.SkipReason)  # no copy yet

    con = connect(history)
    con.execute("DELETE FROM ml.model_registry")
    settled = con.execute(f"SELECT count(DISTINCT post_id) FROM analytics.post_snapshots WHERE hours_since_published "
                          f">= {ml.SETTLE_AGE_HOURS} AND hours_since_published < {ml.SETTLE_AGE_HOURS} + 24").fetchall()[0][0]
    publish_copy(con, bi)
    assert settled >= automation.NEW_LABELS_TO_RETRAIN
    request = automation.retrain_on_new_labels(dg.build_sensor_context())
    assert isinstance(request, dg.RunRequest)

    # A model whose data runs to the newest collection leaves nothing new: no run.
    con.execute("INSERT INTO ml.model_registry (model_name, version, target, artifact_path, trained_at, "
                "labelled_through) VALUES ('reach_model', 'v', 'reach', 'x', now()::TIMESTAMP, $t)", {"t": CLOCK})
    publish_copy(con, bi)
    con.execute("DELETE FROM ml.model_registry")
    con.close()
    skipped = automation.retrain_on_new_labels(dg.build_sensor_context())
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message.startswith("0 newly settled")


def test_weekly_retraining_runs_mondays_after_the_report():
    schedule = automation.weekly_retraining_schedule
    assert schedule.cron_schedule == "0 7 * * 1" and schedule.job_name == "ml_training"
    context = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2026-11-23 07:00", tz="UTC"))
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert len(requests) == 1
