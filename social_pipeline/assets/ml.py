"""Group `ml`: the point-in-time training dataset and the reach and likes models."""

import dagster as dg
import pandas as pd

from ..core.features import daypart, text_feature_frame
from ..resources.warehouse import WarehouseResource, transaction
from .analytics import post_snapshots
from .common import WAREHOUSE_POOL, sql, table_metadata
from .ingestion import raw_account_snapshots, raw_posts

# An outcome counts once the post is this old: the simulated metrics reach ~95% of their final
# value by then, and X's engagement mostly arrives in the first day or two.
SETTLE_AGE_HOURS = 72


class TrainingDatasetConfig(dg.Config):
    settle_age_hours: float = SETTLE_AGE_HOURS


def build_training_frame(con, settle_age_hours: float) -> pd.DataFrame:
    """The real rows of ml.training_dataset: SQL for the point-in-time joins, then text features."""
    frame = con.execute(sql("training_dataset"), {"settle_age_hours": settle_age_hours}).df()
    frame = pd.concat([frame.drop(columns=["text"]), text_feature_frame(frame["text"])], axis=1)
    frame["daypart"] = daypart(frame["hour"])
    return frame


@dg.asset(
    deps=[post_snapshots, raw_posts, raw_account_snapshots],
    group_name="ml",
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
    description=f"One row per post whose outcome has settled ({SETTLE_AGE_HOURS} h after publication): "
    "targets reach (impressions), likes and engagement_rate (ratio) at that age; features known at publish "
    "time only (text features, hour, daypart, day_of_week, media, followers as of publication, and the "
    "user's average engagement rate over posts whose outcome had settled before it).",
)
def training_dataset(context: dg.AssetExecutionContext, config: TrainingDatasetConfig, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        frame = build_training_frame(con, config.settle_age_hours)
        frame["built_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
        with transaction(con):
            con.execute("DELETE FROM ml.training_dataset")
            con.register("training_frame", frame)
            con.execute("INSERT INTO ml.training_dataset BY NAME SELECT * FROM training_frame")
            con.unregister("training_frame")
            meta = table_metadata(con, "ml.training_dataset", order_by="published_at DESC")
        per_user = con.execute(
            "SELECT user_id, count(*) FILTER (NOT is_synthetic) AS real_rows, count(*) FILTER (is_synthetic) "
            "AS synthetic_rows, min(published_at) AS first_published, max(published_at) AS last_published "
            "FROM ml.training_dataset GROUP BY ALL ORDER BY user_id"
        ).df()
    meta["per_user"] = dg.MetadataValue.md(per_user.to_markdown(index=False))
    meta["settle_age_hours"] = dg.MetadataValue.float(float(config.settle_age_hours))
    return dg.MaterializeResult(metadata=meta)


defs = dg.Definitions(assets=[training_dataset])
