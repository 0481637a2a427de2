"""The ml group in real Dagster runs on six weeks of simulated history: registry, artifacts, checks,
the retrain sensor and schedule."""

import json
import shutil
import time
from pathlib import Path

import dagster as dg
import duckdb
import joblib
import pandas as pd
import pytest

from bench.network_models import simulated_training_dataset
from social_pipeline.core import model_registry
from social_pipeline.core.model_registry import ModelNotTrainedError
from social_pipeline.core.models import time_holdout_split
from social_pipeline.core.publish import publish_copy
from social_pipeline.core.simulation import DEFAULT_ACCOUNTS
from social_pipeline.definitions import defs
from social_pipeline.defs.ml import assets as ml
from social_pipeline.defs.ml.model_checks import beats_baseline_result, coverage_band, not_worse_than_previous_result
from social_pipeline.defs.ml.schedules import weekly_retraining_schedule
from social_pipeline.defs.ml.sensors import NEW_LABELS_TO_RETRAIN, retrain_on_new_labels
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import CLOCK, DRAFT, collect, file_stores_under

CHECKS = {
    dg.AssetCheckKey(dg.AssetKey(name), check)
    for name in ml.MODEL_TARGETS
    for check in ("beats_baseline", "not_worse_than_previous", "interval_coverage_about_80pct")
}


@pytest.fixture(scope="module")
def history(tmp_path_factory, collected_history):
    """42 days collected (conftest.py's collected_history), copied: the module's tests write into it."""
    db_path = str(tmp_path_factory.mktemp("ml") / "warehouse.duckdb")
    shutil.copyfile(collected_history / "warehouse.duckdb", db_path)
    return db_path


def train(db_path, models_dir):
    job = defs.resolve_job_def("ml_training")
    file_stores = file_stores_under(Path(models_dir).parent / "outputs", models_dir=str(models_dir))
    result = job.execute_in_process(
        resources={"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores}, raise_on_error=False
    )
    assert result.success
    return result


def registry(db_path):
    con = duckdb.connect(db_path, read_only=True)
    try:
        return con.execute("SELECT * FROM ml.model_registry ORDER BY trained_at, model_name").df()
    finally:
        con.close()


def test_training_registers_models_that_beat_the_baseline(history, tmp_path):
    result = train(history, tmp_path / "models")
    rows = registry(history)
    assert sorted(rows.model_name) == ["likes_model", "reach_model"]
    for row in rows.itertuples():
        metrics = json.loads(row.metrics)
        assert row.artifact_path.startswith(str(tmp_path / "models" / row.model_name))
        assert row.n_test >= ml.MIN_TEST_ROWS and row.n_train > row.n_test
        assert metrics["rmse"] < metrics["baseline_rmse"]
        # A share of the held-out posts, inside the band the coverage check allows for this many.
        inside = metrics["interval_coverage"] * row.n_test
        assert inside == pytest.approx(round(inside))
        low, high = coverage_band(row.n_test)
        assert low <= metrics["interval_coverage"] <= high
        # The artifact predicts the held-out figures the registry claims.
        model = joblib.load(row.artifact_path)
        con = duckdb.connect(history, read_only=True)
        # Scored on the held-out posts that report the target: reach on X, likes on X and Bluesky.
        test = con.execute(
            f"SELECT * FROM ml.training_dataset WHERE NOT is_synthetic AND published_at >= $t "
            f"AND {row.target} IS NOT NULL",
            {"t": row.test_published_from},
        ).df()
        assert len(test) == row.n_test
        assert set(test.network) == ({"x"} if row.target == "reach" else {"x", "bluesky"})
        # n_train counts the rows this model was fitted on: reach's are X's alone.
        fitted_on = con.execute(
            f"SELECT count(*) FROM ml.training_dataset WHERE {row.target} IS NOT NULL "
            "AND (is_synthetic OR published_at < $t)",
            {"t": row.test_published_from},
        ).fetchone()
        assert fitted_on is not None and row.n_train == fitted_on[0]
        con.close()
        predicted = model.predict(test)[row.target]
        rmse = ((predicted - test[row.target]) ** 2).mean() ** 0.5
        assert rmse == pytest.approx(metrics["rmse"], rel=1e-6)
    # Every check ran and passed; the first version has nothing to compare with.
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == CHECKS
    # The models' asset owns and yields its checks, judged on the figures of the same step.
    assert ml.reach_and_likes_models.check_keys == CHECKS
    materialized = {
        e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    for evaluation in evaluations:
        if evaluation.asset_check_key.name == "beats_baseline":
            figures = materialized[evaluation.asset_key.path[-1]]
            assert evaluation.metadata["rmse"].value == pytest.approx(figures["rmse"].value, abs=1e-4)
            assert figures["version"].value in evaluation.description
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
    # Each network's held-out figures apart: reach has X's alone, likes both, adding up to n_test.
    by_network = {
        name: {r.data["network"]: r.data["n_test"] for r in meta["held_out_by_network"].value.records}
        for name, meta in materialized.items()
        if name in ml.MODEL_TARGETS
    }
    n_test = dict(zip(rows.model_name, rows.n_test, strict=True))
    assert set(by_network["reach_model"]) == {"x"} and set(by_network["likes_model"]) == {"bluesky", "x"}
    assert {name: sum(counts.values()) for name, counts in by_network.items()} == n_test


def test_retraining_compares_with_the_model_it_replaces(history, tmp_path):
    train(history, tmp_path / "models")
    first = registry(history).groupby("model_name").version.max()
    train(history, tmp_path / "models")
    rows = registry(history)
    newest = rows.sort_values("trained_at").groupby("model_name").tail(1).set_index("model_name")
    for name in ml.MODEL_TARGETS:
        assert newest.loc[name, "previous_version"] in set(rows[rows.model_name == name].version)
        metrics = json.loads(newest.loc[name, "metrics"])
        # Same data, same seed: the replaced model scores the same on the same held-out posts.
        assert metrics["previous_rmse"] == pytest.approx(metrics["rmse"], rel=1e-6)
    assert len(first) == 2


def test_too_little_history_trains_nothing_and_does_not_fail(resources, db_path, tmp_path):
    collect(resources)  # 3 days: nothing has settled for 72 h yet
    result = train(db_path, tmp_path / "models")
    assert registry(db_path).empty
    assert not (tmp_path / "models").exists()
    assert result.success


def test_retrain_sensor_counts_labels_since_the_current_model(history, tmp_path):
    bi = tmp_path / "bi.duckdb"
    sensor_context = dg.build_sensor_context(
        resources={"file_stores": file_stores_under(tmp_path, bi_database=str(bi))}
    )
    assert isinstance(retrain_on_new_labels(sensor_context), dg.SkipReason)  # no copy yet

    con = connect(history)
    con.execute("DELETE FROM ml.model_registry")
    settled = con.execute(
        f"SELECT count(DISTINCT post_id) FROM analytics.post_snapshots WHERE hours_since_published "
        f">= {ml.SETTLE_AGE_HOURS} AND hours_since_published < {ml.SETTLE_AGE_HOURS} + 24"
    ).fetchall()[0][0]
    publish_copy(con, bi)
    assert settled >= NEW_LABELS_TO_RETRAIN
    request = retrain_on_new_labels(sensor_context)
    assert isinstance(request, dg.RunRequest)

    # A model whose data runs to the newest collection leaves nothing new: no run.
    con.execute(
        "INSERT INTO ml.model_registry (model_name, version, target, artifact_path, trained_at, "
        "labelled_through) VALUES ('reach_model', 'v', 'reach', 'x', now()::TIMESTAMP, $t)",
        {"t": CLOCK},
    )
    publish_copy(con, bi)
    con.execute("DELETE FROM ml.model_registry")
    con.close()
    skipped = retrain_on_new_labels(sensor_context)
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message.startswith("0 newly settled")


def test_weekly_retraining_runs_mondays_after_the_report():
    schedule = weekly_retraining_schedule
    assert schedule.cron_schedule == "0 7 * * 1" and schedule.job_name == "ml_training"
    context = dg.build_schedule_context(scheduled_execution_time=pd.Timestamp("2026-11-23 07:00", tz="UTC"))
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert len(requests) == 1


def test_predictions_meet_their_outcomes(history, tmp_path, monkeypatch):
    from social_pipeline.app.serving import predict

    train(history, tmp_path / "models")
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", str(tmp_path / "ops"))
    con = duckdb.connect(history, read_only=True)
    settled = con.execute(
        "SELECT t.post_id, t.user_id, t.published_at, t.reach, t.likes, p.text FROM ml.training_dataset AS t "
        "JOIN raw.posts AS p USING (post_id) WHERE NOT t.is_synthetic ORDER BY t.published_at LIMIT 12"
    ).df()
    con.close()
    by_id, by_text = settled.iloc[0], settled.iloc[1]
    draft = {"media_type": "none", "user_followers": 2400, "user_avg_engagement_rate": 0.03}
    predict({**draft, "post_text": by_id.text, "post_id": by_id.post_id}, database=history)
    predict(
        {
            **draft,
            "post_text": by_text.text,
            "user_id": by_text.user_id,
            "scheduled_time": (by_text.published_at + pd.Timedelta(hours=2)).isoformat() + "Z",
        },
        database=history,
    )
    predict({**draft, "post_text": "never published", "user_id": by_text.user_id}, database=history)
    log_file = next((tmp_path / "ops" / "predictions").glob("*.jsonl"))
    with log_file.open("a") as handle:
        handle.write('{"request": {"post_text": "cut off mid-wri\n')

    job = defs.resolve_job_def("prediction_feedback")
    for _ in range(2):  # a rerun loads nothing twice
        result = job.execute_in_process(
            resources={
                "warehouse": WarehouseResource(database=history),
                "file_stores": file_stores_under(tmp_path, ops_dir=str(tmp_path / "ops")),
            }
        )
        assert result.success
    con = duckdb.connect(history, read_only=True)
    predictions = con.execute("SELECT * FROM ml.predictions").df()
    outcomes = con.execute("SELECT * FROM ml.prediction_outcomes ORDER BY predicted_at").df().set_index("post_id")
    con.close()
    assert len(predictions) == 3 and predictions.prediction_id.is_unique
    assert dict(zip(outcomes.index, outcomes.match_method, strict=True)) == {
        by_id.post_id: "post_id",
        by_text.post_id: "text_and_time",
    }
    assert outcomes.loc[by_id.post_id, "actual_reach"] == by_id.reach
    assert outcomes.loc[by_text.post_id, "actual_likes"] == by_text.likes
    materialization = result.asset_materializations_for_node("prediction_log")[0]
    assert materialization.metadata["malformed_lines"].value == 1
    # The rerun loaded nothing; the table holds the first run's 3.
    assert (
        materialization.metadata["rows_written_this_run"].value,
        materialization.metadata["dagster/row_count"].value,
    ) == (0, 3)
    # Two outcomes are too few to judge drift.
    assert all(e.passed for e in result.get_asset_check_evaluations())

    # Ten predictions a hundred times off: the drift check warns.
    con = connect(history)
    con.execute("""
        INSERT INTO ml.predictions (prediction_id, predicted_at, post_id, predicted_reach, predicted_likes,
            reach_p10, reach_p90, likes_p10, likes_p90, reach_model_version, likes_model_version)
        SELECT 'bad-' || post_id, now()::TIMESTAMP, post_id, reach * 100, likes * 100, 0, 1, 0, 1,
               (SELECT max(version) FROM ml.model_registry), (SELECT max(version) FROM ml.model_registry)
        FROM ml.training_dataset WHERE NOT is_synthetic ORDER BY published_at DESC LIMIT 10""")
    con.close()
    result = job.execute_in_process(
        resources={
            "warehouse": WarehouseResource(database=history),
            "file_stores": file_stores_under(tmp_path, ops_dir=str(tmp_path / "empty_ops")),
        }
    )
    (drift,) = result.get_asset_check_evaluations()
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert "reach" in drift.description and "likes" in drift.description


def copy_of(history, tmp_path):
    """The module's warehouse, copied without the models and predictions other tests left: these tests
    change its data."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(history, copy)
    con = connect(str(copy))
    for table in ("ml.model_registry", "ml.predictions", "ml.prediction_outcomes"):
        con.execute(f"DELETE FROM {table}")
    con.close()
    return str(copy)


def train_models_only(db_path, models_dir):
    """Materialise the two model assets (which yield their checks) on ml.training_dataset as it stands."""
    file_stores = file_stores_under(Path(models_dir).parent / "outputs", models_dir=str(models_dir))
    return dg.materialize(
        [ml.reach_and_likes_models],
        resources={"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores},
    )


def test_a_model_that_fails_its_checks_is_registered_but_not_served(history, tmp_path):
    from social_pipeline.app.serving import latest_models

    db_path = copy_of(history, tmp_path)
    train(db_path, tmp_path / "models")
    served = registry(db_path).set_index("model_name")
    assert served.promoted.tolist() == [True, True]
    assert latest_models(db_path)[1] == served.version.to_dict()

    # On the held-out posts the user's trailing mean becomes the actual outcome: a perfect baseline
    # that no model trained on the older posts can beat.
    con = connect(db_path)
    real = con.execute("SELECT * FROM ml.training_dataset WHERE NOT is_synthetic").df()
    _, test = time_holdout_split(real, "published_at", ml.HOLDOUT_FRACTION)
    con.execute(
        "UPDATE ml.training_dataset SET user_avg_reach = reach, user_avg_likes = likes "
        "WHERE list_contains($ids, post_id)",
        {"ids": test.post_id.tolist()},
    )
    con.close()
    time.sleep(1)  # versions are named by the second
    result = train_models_only(db_path, tmp_path / "models")
    assert result.success
    newest = registry(db_path).groupby("model_name").tail(1).set_index("model_name")
    assert set(newest.version) != set(served.version)
    for name in ml.MODEL_TARGETS:
        metrics = json.loads(newest.loc[name, "metrics"])
        assert metrics["baseline_rmse"] == 0.0 and metrics["rmse"] > 0.0
        assert not newest.loc[name, "promoted"]
    materialized = {
        m.asset_key.path[-1]: m.metadata
        for m in (e.event_specific_data.materialization for e in result.get_asset_materialization_events())
    }
    assert {name: meta["promoted"].value for name, meta in materialized.items()} == {
        "reach_model": False,
        "likes_model": False,
    }
    baseline_checks = {
        e.asset_key.path[-1]: e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_check_key.name == "beats_baseline"
    }
    assert baseline_checks == {"reach_model": False, "likes_model": False}
    # Serving keeps the versions that passed.
    assert latest_models(db_path)[1] == served.version.to_dict()

    # With no version that passed, nothing is served, and the error says why.
    con = connect(db_path)
    con.execute("DELETE FROM ml.model_registry WHERE promoted")
    con.close()
    with pytest.raises(ModelNotTrainedError, match="passed its checks"):
        latest_models(db_path)


def test_without_a_reach_model_that_passed_its_checks_the_likes_model_serves_alone(history, tmp_path):
    """A first reach model that does not beat its baseline leaves likes served: an X draft gets its likes
    and interval, a null reach and a note saying why, instead of no answer at all."""
    from social_pipeline.app.serving import latest_models, predict

    db_path = copy_of(history, tmp_path)
    train(db_path, tmp_path / "models")
    con = connect(db_path)
    con.execute("UPDATE ml.model_registry SET promoted = FALSE WHERE model_name = 'reach_model'")
    likes_version = con.execute("SELECT version FROM ml.model_registry WHERE model_name = 'likes_model'").fetchone()
    con.close()
    models, versions = latest_models(db_path)
    assert models.reach is None and likes_version is not None and versions == {"likes_model": likes_version[0]}
    answer = predict(DRAFT, db_path, log=False)
    assert answer["predicted_reach"] is None and answer["predicted_engagement_rate"] is None
    assert answer["predicted_likes"] >= 0 and answer["reach_available"] is False
    low, high = answer["prediction_intervals"]["likes"]["p10"], answer["prediction_intervals"]["likes"]["p90"]
    assert low <= answer["predicted_likes"] <= high
    assert any(n.startswith("reach is not predicted: no version of reach_model has passed") for n in answer["notes"])


def test_an_older_registry_gains_the_promoted_column_and_its_rows_stay_served(tmp_path):
    from social_pipeline.core.schema import create_statements

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE SCHEMA ml")
    con.execute(
        "CREATE TABLE ml.model_registry (model_name VARCHAR NOT NULL, version VARCHAR NOT NULL, "
        "target VARCHAR NOT NULL, artifact_path VARCHAR NOT NULL, trained_at TIMESTAMP NOT NULL, metrics JSON)"
    )
    con.execute(
        "INSERT INTO ml.model_registry VALUES ('reach_model', 'v1', 'reach', 'x', TIMESTAMP '2026-01-01', '{}')"
    )
    con.close()
    # Read-only (serving reads the BI copy that way), the old file is not migrated: it still serves.
    con = duckdb.connect(str(tmp_path / "old.duckdb"), read_only=True)
    assert model_registry.latest(con, "reach_model", promoted_only=True)["version"] == "v1"
    con.close()
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    for statement in create_statements():
        con.execute(statement)
    assert con.execute("SELECT promoted FROM ml.model_registry").fetchall() == [(None,)]
    assert model_registry.latest(con, "reach_model", promoted_only=True)["version"] == "v1"
    con.execute(
        "INSERT INTO ml.model_registry (model_name, version, target, artifact_path, trained_at, promoted) "
        "VALUES ('reach_model', 'v2', 'reach', 'y', TIMESTAMP '2026-02-01', FALSE)"
    )
    assert model_registry.latest(con, "reach_model")["version"] == "v2"
    assert model_registry.latest(con, "reach_model", promoted_only=True)["version"] == "v1"
    con.close()


FIGURES = {
    "version": "v2",
    "previous_version": "v1",
    "rmse": 120.0,
    "baseline_rmse": 100.0,
    "r2": 0.4,
    "baseline_r2": 0.5,
    "previous_rmse": 110.0,
}


@pytest.mark.parametrize(
    "change, beats, not_worse, reasons",
    [
        (
            {},
            False,
            False,
            [
                "RMSE 120.0 is not below the baseline's 100.0",
                "RMSE 120.0 is more than 2% above the previous model's 110.0",
            ],
        ),
        ({"rmse": 90.0}, True, True, []),
        ({"rmse": 100.0}, False, True, ["RMSE 100.0 is not below the baseline's 100.0"]),  # a tie does not beat
        (
            {"rmse": 90.0, "previous_rmse": 88.0},
            True,
            False,
            ["RMSE 90.0 is more than 2% above the previous model's 88.0"],
        ),  # 90 > 88 * 1.02 = 89.76
        ({"rmse": 89.7, "previous_rmse": 88.0}, True, True, []),  # within the 2% tolerance
        ({"rmse": 90.0, "previous_rmse": None}, True, True, []),  # previous artifact unavailable
    ],
)
def test_the_model_checks_and_promotion_share_one_verdict(change, beats, not_worse, reasons):
    figures = {**FIGURES, **change}
    assert beats_baseline_result("reach_model", figures).passed is beats
    assert not_worse_than_previous_result("reach_model", figures).passed is not_worse
    assert model_registry.promotion(figures) == (beats and not_worse, reasons)


def test_retraining_goes_on_when_the_previous_artifact_is_missing(history, tmp_path):
    db_path = copy_of(history, tmp_path)
    train(db_path, tmp_path / "models")
    first = registry(db_path).set_index("model_name")
    Path(first.loc["reach_model", "artifact_path"]).unlink()
    time.sleep(1)  # versions are named by the second
    result = train(db_path, tmp_path / "models")
    newest = registry(db_path).groupby("model_name").tail(1).set_index("model_name")
    reach, likes = (json.loads(newest.loc[name, "metrics"]) for name in ("reach_model", "likes_model"))
    # The missing model is recorded as unavailable: its figures are NULL, the new model is judged on
    # the baseline alone and served; the likes model still compares with its predecessor.
    assert newest.loc["reach_model", "previous_version"] == first.loc["reach_model", "version"]
    assert (reach["previous_r2"], reach["previous_rmse"], reach["previous_mae"]) == (None, None, None)
    assert likes["previous_rmse"] == pytest.approx(likes["rmse"], rel=1e-6)
    assert newest.promoted.tolist() == [True, True]
    metadata = {
        e.event_specific_data.materialization.asset_key.path[-1]: e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert metadata["reach_model"]["previous_model_unavailable"].value is True
    assert metadata["likes_model"]["previous_model_unavailable"].value is False
    assert "previous_rmse" not in metadata["reach_model"]
    # Each model shows its registry rows, newest first.
    versions = metadata["likes_model"]["newest_versions"].records
    assert metadata["likes_model"]["registered_versions"].value == 2
    assert [r.data["version"] for r in versions] == [
        newest.loc["likes_model", "version"],
        first.loc["likes_model", "version"],
    ]
    assert [r.data["previous_version"] for r in versions] == [first.loc["likes_model", "version"], None]
    checks_passed = {
        (e.asset_key.path[-1], e.asset_check_key.name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert checks_passed[("reach_model", "not_worse_than_previous")] is True


def test_a_prediction_without_a_user_meets_the_one_post_that_fits(history, tmp_path, monkeypatch):
    from social_pipeline.app.serving import predict

    db_path = copy_of(history, tmp_path)
    train(db_path, tmp_path / "models")
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", str(tmp_path / "ops"))
    con = connect(db_path)
    settled = con.execute(
        "SELECT t.post_id, t.published_at, t.reach, t.likes, p.text FROM ml.training_dataset AS t "
        "JOIN raw.posts AS p USING (post_id) WHERE NOT t.is_synthetic ORDER BY t.published_at LIMIT 2"
    ).df()
    unique, shared = settled.iloc[0], settled.iloc[1]
    # Another user posted the same text at the same time: which post was predicted is unknowable.
    con.execute(
        "INSERT INTO raw.posts SELECT * REPLACE ('twin-' || post_id AS post_id, 'someone_else' AS user_id) "
        "FROM raw.posts WHERE post_id = $id",
        {"id": shared.post_id},
    )
    con.close()

    def at(row, hours):
        return (row.published_at + pd.Timedelta(hours=hours)).isoformat() + "Z"

    draft = {"media_type": "none", "user_followers": 2400, "user_avg_engagement_rate": 0.03}
    predict({**draft, "post_text": unique.text, "scheduled_time": at(unique, 2)}, database=db_path)
    predict(
        {**draft, "post_text": unique.text, "scheduled_time": at(unique, ml.PREDICTION_MATCH_WINDOW_HOURS + 1)},
        database=db_path,
    )  # outside the window
    predict({**draft, "post_text": shared.text, "scheduled_time": at(shared, 1)}, database=db_path)
    result = defs.resolve_job_def("prediction_feedback").execute_in_process(
        resources={
            "warehouse": WarehouseResource(database=db_path),
            "file_stores": file_stores_under(tmp_path, ops_dir=str(tmp_path / "ops")),
        }
    )
    assert result.success
    con = duckdb.connect(db_path, read_only=True)
    assert con.execute("SELECT count(*) FROM ml.predictions WHERE user_id IS NULL").fetchall() == [(3,)]
    outcomes = con.execute(
        "SELECT post_id, match_method, actual_reach, actual_likes FROM ml.prediction_outcomes"
    ).fetchall()
    con.close()
    assert outcomes == [(unique.post_id, "text_and_time_any_user", unique.reach, unique.likes)]


def test_one_model_alone_registers_and_checks_only_itself(history, tmp_path):
    """The models' asset is subsettable (so its checks may yield nothing on a short history): a run of
    reach_model alone writes no likes_model row and yields no likes_model check."""
    db_path = copy_of(history, tmp_path)
    file_stores = file_stores_under(tmp_path / "outputs", models_dir=str(tmp_path / "models"))
    # The dataset first: this test must not depend on another one having built it in the shared history.
    assert dg.materialize([ml.training_dataset], resources={"warehouse": WarehouseResource(database=db_path)}).success
    result = dg.materialize(
        [ml.reach_and_likes_models],
        selection=["reach_model"],
        resources={"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores},
    )
    assert result.success
    assert registry(db_path).model_name.tolist() == ["reach_model"]
    assert {e.asset_check_key for e in result.get_asset_check_evaluations()} == {
        key for key in CHECKS if key.asset_key == dg.AssetKey("reach_model")
    }
    assert [e.asset_key.path[-1] for e in result.get_asset_materialization_events()] == ["reach_model"]


def test_a_bluesky_only_history_trains_the_likes_model_alone(tmp_path):
    """BLUESKY_HANDLES alone: no post reports a reach, so the reach model is skipped with a warning and
    the likes model trains on the Bluesky posts (one network: no network feature)."""
    db_path = str(tmp_path / "warehouse.duckdb")
    bluesky = tuple(a for a in DEFAULT_ACCOUNTS if a.network == "bluesky")
    rows = simulated_training_dataset(db_path, seed=42, days=90, accounts=bluesky)
    assert rows["reach"].isna().all() and len(rows) >= 5 * ml.MIN_TEST_ROWS
    result = train(db_path, tmp_path / "models")
    assert registry(db_path).model_name.tolist() == ["likes_model"]
    assert [e.asset_key.path[-1] for e in result.get_asset_materialization_events()] == [
        "training_dataset",
        "likes_model",
    ]
    likes = joblib.load(registry(db_path).artifact_path.iloc[0])
    assert likes.networks == ("bluesky",) and "network" not in likes.columns
    # Served alone: the account's draft gets likes and no reach; an X draft has no model to answer it.
    from social_pipeline.app.serving import predict

    draft = {"post_text": "Ducks on the pond #birds", "scheduled_time": "2026-11-25T18:00:00Z"}
    answer = predict({**draft, "user_id": "duckpond.bsky.social"}, database=db_path, log=False)
    assert (answer["network"], answer["predicted_reach"], answer["reach_available"]) == ("bluesky", None, False)
    assert answer["model_versions"] == {"likes_model": registry(db_path).version.iloc[0]}
    assert answer["prediction_intervals"]["likes"]["p10"] < answer["predicted_likes"]
    with pytest.raises(ModelNotTrainedError, match="trained on bluesky posts only, so it cannot predict a draft for x"):
        predict(draft, database=db_path, log=False)
    # The likes model's data is the current one: nothing newly settled, no retraining every hour.
    bi = tmp_path / "bi.duckdb"
    con = connect(db_path)
    publish_copy(con, bi)
    con.close()
    sensor_context = dg.build_sensor_context(
        resources={"file_stores": file_stores_under(tmp_path, bi_database=str(bi))}
    )
    skipped = retrain_on_new_labels(sensor_context)
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message.startswith("0 newly settled")
