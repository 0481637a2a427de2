"""Group `ml`: the point-in-time training dataset and the reach and likes models."""

import pickle
from typing import cast

import dagster as dg
import pandas as pd

from social_pipeline.core import model_registry
from social_pipeline.core.clock import utc_now
from social_pipeline.core.features import daypart, text_feature_frame
from social_pipeline.core.files import write_atomically
from social_pipeline.core.models import interval_coverage, regression_metrics, time_holdout_split, train_target
from social_pipeline.core.models.inputs import network_column
from social_pipeline.core.models.training import training_params
from social_pipeline.core.reports import predicted_vs_actual_svg
from social_pipeline.core.sql_files import sql_loader
from social_pipeline.core.synthetic import synthetic_rows_for_user
from social_pipeline.defs.analytics.assets import post_snapshots
from social_pipeline.defs.common import (
    WAREHOUSE_POOL,
    asset_labels,
    code_version,
    column_schema,
    preview_table,
    table_definition_metadata,
    table_metadata,
)
from social_pipeline.defs.ingestion.assets import raw_account_snapshots, raw_posts
from social_pipeline.defs.ml.model_checks import model_check_results, model_check_specs
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.write_conflicts import write_transaction

sql = sql_loader(__file__)

# An outcome counts once the post is this old: the simulated metrics reach ~95% of their final
# value by then, and X's engagement mostly arrives in the first day or two.
SETTLE_AGE_HOURS = 72


# A user with fewer real settled posts than this gets rows from the notebook's generator, at the
# user's own follower count and rate, up to this many; they are flagged is_synthetic, used for
# training only, never scored or shown as real.
COLD_START_MIN_REAL_ROWS = 30


class TrainingDatasetConfig(dg.Config):
    settle_age_hours: float = SETTLE_AGE_HOURS
    cold_start_synthetic: bool = True


def build_training_frame(con, settle_age_hours: float) -> pd.DataFrame:
    """The real rows of ml.training_dataset: SQL for the point-in-time joins, then text features."""
    frame = con.execute(sql("training_dataset"), {"settle_age_hours": settle_age_hours}).df()
    frame = pd.concat([frame.drop(columns=["text"]), text_feature_frame(frame["text"])], axis=1)
    frame["daypart"] = daypart(frame["hour"])
    return frame


def cold_start_rows(real: pd.DataFrame) -> pd.DataFrame:
    """Synthetic rows for each user below COLD_START_MIN_REAL_ROWS real rows (none above it). The generator
    makes X posts (reach from impressions): none for an account whose posts report no reach (Bluesky)."""
    parts = []
    for user_id, rows in real[real["reach"].notna()].groupby("user_id"):
        missing = COLD_START_MIN_REAL_ROWS - len(rows)
        if missing <= 0:
            continue
        newest = rows.sort_values("published_at").iloc[-1]
        followers = newest["user_followers"] if pd.notna(newest["user_followers"]) else 1000
        rate = rows["engagement_rate"].mean()
        synthetic = synthetic_rows_for_user(int(followers), float(rate), missing, seed=len(parts) + 1)
        synthetic["daypart"] = daypart(synthetic["hour"])
        synthetic = synthetic.assign(
            user_id=user_id,
            source="synthetic",
            network="x",
            engagement_basis="impressions",
            post_id=[f"synthetic-{user_id}-{i}" for i in range(missing)],
        )
        parts.append(synthetic)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dg.asset(
    deps=[post_snapshots, raw_posts, raw_account_snapshots],
    group_name="ml",
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
    description=f"One row per post whose outcome has settled ({SETTLE_AGE_HOURS} h after publication): "
    "targets reach (impressions), likes and engagement_rate (ratio) at that age; features known at publish "
    "time only (text features, hour, daypart, day_of_week, media, followers as of publication, and the "
    "user's average engagement rate over posts whose outcome had settled before it).",
    metadata=table_definition_metadata("ml.training_dataset"),
    # The text features and cold-start rows are Python (core/features.py, core/synthetic.py): bump on change.
    code_version=code_version("2", sql("training_dataset")),
    **asset_labels("ml", "ml", "weekly"),
)
def training_dataset(context: dg.AssetExecutionContext, config: TrainingDatasetConfig, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        frame = build_training_frame(con, config.settle_age_hours)
        if config.cold_start_synthetic:
            frame = pd.concat([frame, cold_start_rows(frame)], ignore_index=True)
        frame["built_at"] = utc_now().floor("s")
        con.register("training_frame", frame)

        def replace_dataset(con):
            con.execute("DELETE FROM ml.training_dataset")
            con.execute("INSERT INTO ml.training_dataset BY NAME SELECT * FROM training_frame")
            return table_metadata(con, "ml.training_dataset", order_by="published_at DESC")

        meta = write_transaction(con, replace_dataset, "ml.training_dataset")
        con.unregister("training_frame")
        per_user = con.execute(
            "SELECT user_id, count(*) FILTER (NOT is_synthetic) AS real_rows, count(*) FILTER (is_synthetic) "
            "AS synthetic_rows, min(published_at) AS first_published, max(published_at) AS last_published "
            "FROM ml.training_dataset GROUP BY ALL ORDER BY user_id"
        ).df()
    meta["per_user"] = preview_table(per_user)
    meta["settle_age_hours"] = dg.MetadataValue.float(float(config.settle_age_hours))
    return dg.MaterializeResult(metadata=meta)


# ----- models -------------------------------------------------------------------------
MODEL_TARGETS = {"reach_model": "reach", "likes_model": "likes"}
HOLDOUT_FRACTION = 0.2
MIN_TEST_ROWS = 20


class ModelTrainingConfig(dg.Config):
    holdout_fraction: float = HOLDOUT_FRACTION


def _figures(prefix: str, figures: dict) -> dict:
    return {f"{prefix}{name}": float(value) for name, value in figures.items()}


def _load_previous(context: dg.AssetExecutionContext, row: dict):
    """The model being replaced, or None (with a warning) when its artifact is missing or unreadable:
    retraining must not depend on an old file."""
    try:
        return model_registry.load(row["artifact_path"])
    except (model_registry.ModelNotTrainedError, OSError, EOFError, pickle.UnpicklingError) as error:
        context.log.warning(
            f"previous {row['model_name']} {row['version']} is unavailable ({error}): "
            "the new model is compared with the baseline only"
        )
        return None


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            name,
            deps=[training_dataset],
            group_name="ml",
            kinds={"scikitlearn", "duckdb"},
            skippable=True,
            description=f"Predicts a planned post's {target} at {SETTLE_AGE_HOURS} h from features known at "
            "publish time, with p10/p90 intervals. Trained on older posts, scored on the newest "
            f"{HOLDOUT_FRACTION:.0%} against the user's trailing mean; saved with joblib as "
            f"`{name}/<version>.joblib` in the models folder (`SOCIAL_PIPELINE_MODELS_DIR`, default "
            "`data/models`) and registered in `ml.model_registry`, promoted (served) only "
            f"when it beats the baseline and is at most {model_registry.PREVIOUS_MODEL_RMSE_TOLERANCE:.0%} worse "
            "than the served version (RMSE on the same held-out posts).",
            # The models are Python (core/models/): bump when the features, estimators or split change.
            code_version="2",
            **asset_labels("ml", "ml", "weekly"),
        )
        for name, target in MODEL_TARGETS.items()
    ],
    # Checked from the figures this run computed, not re-read from the registry. Subsettable, so that
    # the checks (like the models) may yield nothing when there is too little history to train.
    check_specs=model_check_specs(MODEL_TARGETS),
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def reach_and_likes_models(
    context: dg.AssetExecutionContext,
    config: ModelTrainingConfig,
    warehouse: WarehouseResource,
    file_stores: FileStoresResource,
):
    # Both models come from one fit over one split, so their figures are comparable.
    with warehouse.get_connection() as con:
        dataset = con.execute("SELECT * FROM ml.training_dataset ORDER BY published_at, post_id").df()
        # A new model replaces the one being served: the newest promoted version.
        previous = {name: model_registry.latest(con, name, promoted_only=True) for name in MODEL_TARGETS}
    real = dataset[~dataset["is_synthetic"]]
    train_real, test = time_holdout_split(real, "published_at", config.holdout_fraction)
    if len(test) < MIN_TEST_ROWS:
        # Not an error: a young warehouse has no model yet, and the models it has stay as they are.
        context.log.warning(
            f"ml.training_dataset has {len(real)} real settled posts: too few to hold out {MIN_TEST_ROWS} for "
            f"an honest test, so no model is trained. Posts settle {SETTLE_AGE_HOURS} h after publication."
        )
        return
    train = pd.concat([train_real, dataset[dataset["is_synthetic"]]], ignore_index=True)
    selected = {
        name: target for name, target in MODEL_TARGETS.items() if dg.AssetKey(name) in context.selected_asset_keys
    }
    for name, target in list(selected.items()):
        if not (train[target] > 0).any():  # Bluesky alone: likes and no reach
            context.log.warning(
                f"{name} is not trained: none of the {len(train)} training posts reports a positive {target} "
                "(Bluesky counts no impressions)"
            )
            del selected[name]
    if not selected:
        return
    # Each target on the rows that report it: reach on X posts, likes on every network's.
    trained = {target: train_target(train, target) for target in selected.values()}
    predicted = pd.concat([model.predict(test) for model in trained.values()], axis=1)
    params = training_params(list(trained.values()))
    trained_at = utc_now().floor("s")
    version = trained_at.strftime("%Y%m%dT%H%M%SZ")

    previous_version = {name: row["version"] if row is not None else None for name, row in previous.items()}
    rows, results = [], []
    for name, target in selected.items():
        # Scored on the held-out posts that report the target: reach on X, likes on every network.
        known = test[target].notna().to_numpy()
        scored, scored_predicted = test[known], predicted[known]
        target_train = train[train[target].notna()]  # what this model was fitted on
        actual = scored[target].to_numpy(dtype=float)
        # The baseline: the user's trailing mean; a user with no settled post yet gets the training mean.
        baseline = scored[f"user_avg_{target}"].fillna(train_real[target].mean()).to_numpy(dtype=float)
        figures = {
            **regression_metrics(actual, scored_predicted[target].to_numpy()),
            **_figures("baseline_", regression_metrics(actual, baseline)),
            "interval_coverage": interval_coverage(
                actual, scored_predicted[f"{target}_p10"], scored_predicted[f"{target}_p90"]
            ),
        }
        if (previous_row := previous[name]) is not None:
            old = _load_previous(context, previous_row)
            if old is None:  # recorded as unavailable: NULL previous figures, nothing to compare with
                figures.update({f"previous_{k}": None for k in ("r2", "rmse", "mae")})
            else:
                old_predicted = old.predict(scored)[target].to_numpy()
                figures.update(_figures("previous_", regression_metrics(actual, old_predicted)))
        by_network = held_out_by_network(scored, scored_predicted[target], target)
        promoted, reasons = model_registry.promotion(figures)
        if not promoted:
            serving = previous_version[name] or "no version"
            context.log.warning(f"{name} {version} is not promoted ({'; '.join(reasons)}): {serving} stays served")
        path = model_registry.save(trained[target], file_stores.models_path(), name, version)
        chart = predicted_vs_actual_svg(
            actual, scored_predicted[target], f"{target}: held-out posts, predicted vs actual"
        )
        chart_path = path.with_suffix(".svg")
        write_atomically(chart_path, chart)
        rows.append(
            {
                "model_name": name,
                "version": version,
                "target": target,
                "artifact_path": str(path),
                "trained_at": trained_at,
                "n_train": len(target_train),
                "n_synthetic_train": int(target_train["is_synthetic"].sum()),
                "n_test": len(scored),
                "test_published_from": scored["published_at"].min(),
                "labelled_through": dataset.loc[~dataset["is_synthetic"], "settled_snapshot_time"].max(),
                "metrics": figures,
                "previous_version": previous_version[name],
                "params": params,
                "promoted": promoted,
            }
        )
        results.append((name, figures, path, chart_path, promoted, reasons, by_network, len(scored), target_train))
    with warehouse.get_connection() as con:
        write_transaction(con, lambda con: model_registry.register(con, rows), "ml.model_registry")
        versions = {name: con.execute(REGISTERED_VERSIONS_SQL, {"model_name": name}).df() for name in selected}
    registry_schema = column_schema("ml.model_registry")

    for name, figures, path, chart_path, promoted, reasons, by_network, n_test, target_train in results:
        comparison = pd.DataFrame(
            [
                {"model": "this model", **{k: figures[k] for k in ("r2", "rmse", "mae")}},
                {
                    "model": "baseline (user's trailing mean)",
                    **{k: figures[f"baseline_{k}"] for k in ("r2", "rmse", "mae")},
                },
            ]
            + (
                [{"model": "previous model", **{k: figures[f"previous_{k}"] for k in ("r2", "rmse", "mae")}}]
                if figures.get("previous_r2") is not None
                else []
            )
        )
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "version": version,
                "promoted": promoted,
                "not_promoted_because": "; ".join(reasons) or "-",
                "artifact": dg.MetadataValue.path(str(path)),
                "held_out_vs_baseline": preview_table(comparison.round(3)),
                "held_out_by_network": preview_table(by_network.round(3)),
                "registered_versions": dg.MetadataValue.int(int(versions[name]["versions"].iloc[0])),
                "newest_versions": preview_table(versions[name].drop(columns="versions"), registry_schema),
                **{key: dg.MetadataValue.float(round(value, 4)) for key, value in figures.items() if value is not None},
                # A previous version was registered but its artifact could not be loaded.
                "previous_model_unavailable": "previous_rmse" in figures and figures["previous_rmse"] is None,
                "n_train": len(target_train),
                "n_test": n_test,
                "n_synthetic_train": int(target_train["is_synthetic"].sum()),
                "test_published_from": str(test["published_at"].min()),
                "predicted_vs_actual": dg.MetadataValue.path(str(chart_path)),
                "predicted_vs_actual_chart": dg.MetadataValue.md(model_registry.svg_markdown(chart_path.read_text())),
            },
            check_results=[
                result
                for result in model_check_results(
                    name,
                    {**figures, "version": version, "n_test": n_test, "previous_version": previous_version[name]},
                )
                # model_check_results names every check it returns.
                if dg.AssetCheckKey(dg.AssetKey(name), cast(str, result.check_name))
                in context.selected_asset_check_keys
            ],
        )


def held_out_by_network(scored: pd.DataFrame, predicted: pd.Series, target: str) -> pd.DataFrame:
    """R², RMSE and MAE of `target` on the held-out posts of each network (a network's own scale:
    Bluesky's likes are never averaged with X's)."""
    rows = []
    for network, posts in scored.groupby(network_column(scored), sort=True):
        figures = regression_metrics(posts[target].to_numpy(dtype=float), predicted.loc[posts.index].to_numpy())
        rows.append({"network": network, "n_test": len(posts), **figures})
    return pd.DataFrame(rows, columns=["network", "n_test", "r2", "rmse", "mae"])


# This model's newest registry rows (and how many it has), for its materialization.
REGISTERED_VERSIONS_SQL = """
SELECT version, trained_at, promoted, (metrics->>'rmse')::DOUBLE AS rmse,
       (metrics->>'baseline_rmse')::DOUBLE AS baseline_rmse, previous_version, n_train, n_test,
       count(*) OVER () AS versions
FROM ml.model_registry WHERE model_name = $model_name
ORDER BY trained_at DESC, version DESC LIMIT 5
"""

# ----- predictions meet ground truth ----------------------------------------------------
# A prediction without a post_id matches the user's post with the same text published this close
# to the scheduled time; without a user_id either, the one post of any user that fits.
PREDICTION_MATCH_WINDOW_HOURS = 6


@dg.asset(
    group_name="ml",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="`ml.predictions`: every prediction served (CLI, HTTP API, `predict()`), moved from the "
    "prediction log files (`data/ops/predictions/*.jsonl`, one JSON line each) into the warehouse. "
    "Idempotent by `prediction_id`; a malformed line is skipped and named, never half-loaded.",
    metadata=table_definition_metadata("ml.predictions"),
    code_version=code_version("1", sql("prediction_log_lines"), sql("prediction_log")),
    **asset_labels("ml", "ml", "daily"),
)
def prediction_log(context: dg.AssetExecutionContext, warehouse: WarehouseResource, file_stores: FileStoresResource):
    files = sorted(str(p) for p in file_stores.predictions_log_path().glob("*.jsonl"))
    with warehouse.get_connection() as con:
        malformed = pd.DataFrame(columns=["source_file", "line"])
        if files:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE log_lines AS {sql('prediction_log_lines')}",
                {"files": files, "delim": chr(1)},
            )
            malformed = con.execute(
                "SELECT source_file, left(line, 120) AS line FROM log_lines WHERE NOT is_valid"
            ).df()

            def load_new_lines(con):
                con.execute(f"INSERT INTO ml.predictions BY NAME {sql('prediction_log')}")
                # now() is the transaction's start: the rows this run loaded (none on a run with nothing new).
                return table_metadata(
                    con, "ml.predictions", "loaded_at = now()::TIMESTAMP", order_by="predicted_at DESC"
                )

            meta = write_transaction(con, load_new_lines, "ml.predictions")
            con.execute("DROP TABLE log_lines")
        else:
            meta = table_metadata(con, "ml.predictions", "FALSE")
    if len(malformed):
        context.log.warning(
            f"{len(malformed)} malformed prediction log lines skipped, first in {malformed.source_file.iloc[0]}"
        )
    meta["log_files"] = dg.MetadataValue.int(len(files))
    meta["malformed_lines"] = dg.MetadataValue.int(len(malformed))
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    deps=[prediction_log, training_dataset],
    group_name="ml",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="`ml.prediction_outcomes`: served predictions whose post has been published and settled, "
    "beside the actual reach and likes (matched by post_id, else by the user's same text published within "
    f"{PREDICTION_MATCH_WINDOW_HOURS} h of the scheduled time; a prediction without a user_id matches only when "
    "exactly one post of any user fits); live error and interval coverage.",
    metadata=table_definition_metadata("ml.prediction_outcomes"),
    code_version=code_version("1", sql("prediction_outcomes")),
    **asset_labels("ml", "ml", "daily"),
)
def prediction_outcomes(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:

        def replace_outcomes(con):
            con.execute("DELETE FROM ml.prediction_outcomes")
            con.execute(
                f"INSERT INTO ml.prediction_outcomes BY NAME {sql('prediction_outcomes')}",
                {"match_window_hours": PREDICTION_MATCH_WINDOW_HOURS},
            )
            return table_metadata(con, "ml.prediction_outcomes", order_by="predicted_at DESC")

        meta = write_transaction(con, replace_outcomes, "ml.prediction_outcomes")
        live = con.execute(LIVE_FIGURES_SQL).df()
    meta["live_figures"] = preview_table(live.round(3))
    return dg.MaterializeResult(metadata=meta)


# Live error per model version beside the version's held-out error (the drift check reads it).
LIVE_FIGURES_SQL = """
SELECT o.target, o.version, count(*) AS outcomes, avg(o.abs_error) AS live_mae,
       (r.metrics->>'mae')::DOUBLE AS held_out_mae, avg(o.inside::INT) AS live_interval_coverage
FROM (
    SELECT 'reach' AS target, reach_model_version AS version, abs(predicted_reach - actual_reach) AS abs_error,
           reach_inside_interval AS inside FROM ml.prediction_outcomes
    UNION ALL
    SELECT 'likes', likes_model_version, abs(predicted_likes - actual_likes), likes_inside_interval
    FROM ml.prediction_outcomes
) AS o
LEFT JOIN ml.model_registry AS r ON r.version = o.version AND r.target = o.target
GROUP BY ALL ORDER BY o.target, o.version
"""
