"""Early alerts on simulated histories: how many take-offs are alerted `ahead` by 6 h, and how many
ordinary posts are alerted at all, over several seeds.

Each seed: the hourly collections of `days` days (one range run, as a backfill runs), the models
trained on them (ml_training), then post_lifecycle and post_alerts over the whole history. The
simulator labels a few posts take-off or flop (core/simulation.py); the label is read from the
Simulation, never from the warehouse. Posts count once their first 24 h are observed and their
account has a typical curve.

    python -m bench.post_alerts [--seeds 1 2 3 4 5] [--days 42]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from social_pipeline.core.simulation import Simulation
from social_pipeline.definitions import defs
from social_pipeline.defs.analytics import assets as analytics
from social_pipeline.defs.analytics.lifecycle import post_lifecycle
from social_pipeline.defs.common import HOURLY_PARTITIONS, add_partition_keys, hour_key, partition_range_tags
from social_pipeline.defs.ingestion import assets as ingestion
from social_pipeline.defs.ops.alerts import post_alerts
from social_pipeline.resources.alerts import AlertChannelsResource
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.smtp import SmtpResource
from social_pipeline.resources.sources import SimulatedSourceResource
from social_pipeline.resources.warehouse import WarehouseResource

AS_OF = pd.Timestamp("2026-11-18 12:00")
SEEDS = (1, 2, 3, 4, 5)
DAYS = 60  # on 42 days some seeds' models do not beat the baseline, and none is served
GOAL_TAKEOFF_AHEAD_BY_6H, GOAL_ORDINARY_ALERTED = 0.90, 0.05
COLLECTION = [ingestion.raw_posts, ingestion.raw_tweet_metrics, ingestion.raw_account_snapshots,
              ingestion.raw_profile_activity, analytics.post_snapshots, analytics.post_performance, post_lifecycle]

OUTCOMES = """
SELECT l.post_id,
       COALESCE(bool_or(a.direction = 'ahead' AND a.age_hours <= 6), FALSE) AS ahead_by_6h,
       count(a.post_id) > 0 AS alerted
FROM analytics.post_lifecycle AS l
JOIN analytics.account_lifecycle_curves AS c ON c.user_id = l.user_id AND c.age_hours = l.age_hours
LEFT JOIN ops.post_alerts AS a ON a.post_id = l.post_id
WHERE l.age_hours = 24
GROUP BY l.post_id
"""


def seed_outcomes(root: Path, seed: int, days: int) -> pd.DataFrame:
    """Per post: its simulated course, whether it was alerted ahead by 6 h, whether at all."""
    warehouse = WarehouseResource(database=str(root / "warehouse.duckdb"))
    source = SimulatedSourceResource(sim_seed=seed, clock=str(AS_OF), history_days=days)
    stores = FileStoresResource(reports_dir=str(root / "reports"), models_dir=str(root / "models"),
                                ops_dir=str(root / "ops"), bi_database=str(root / "bi.duckdb"),
                                inbox_dir=str(root / "inbox"))
    first, last = hour_key(AS_OF - pd.Timedelta(days=days)), hour_key(AS_OF - pd.Timedelta(hours=1))
    instance = dg.DagsterInstance.ephemeral()
    add_partition_keys(instance, HOURLY_PARTITIONS, [first, last])
    assert dg.materialize(COLLECTION, resources={"warehouse": warehouse, "source": source}, instance=instance,
                          tags=partition_range_tags(first, last)).success
    assert defs.resolve_job_def("ml_training").execute_in_process(
        resources={"warehouse": warehouse, "file_stores": stores}, instance=instance).success
    assert dg.materialize([post_alerts], instance=instance, run_config={
        "ops": {"post_alerts": {"config": {"evaluate_all_history": True}}}}, resources={
        "warehouse": warehouse, "alert_channels": AlertChannelsResource(), "smtp": SmtpResource()}).success
    with warehouse.get_connection() as con:
        served = con.execute("SELECT count(*) FROM ml.model_registry WHERE model_name = 'reach_model' "
                             "AND promoted").fetchall()[0][0]
        if not served:
            raise RuntimeError(f"seed {seed}: no reach model passed its checks on {days} days, so no post has an "
                               "expectation: take more days")
        outcomes = con.execute(OUTCOMES).df()
    outcomes["trajectory"] = Simulation(seed).trajectories(outcomes["post_id"]).to_numpy()
    return outcomes


def run(seeds=SEEDS, days: int = DAYS) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_post_alerts_") as tmp:
        for seed in seeds:
            outcomes = seed_outcomes(Path(tmp) / f"seed{seed}", seed, days)
            takeoffs = outcomes[outcomes["trajectory"] == "takeoff"]
            ordinary = outcomes[outcomes["trajectory"] == "ordinary"]
            rows.append({"seed": seed, "takeoffs": len(takeoffs),
                         "takeoff_ahead_by_6h": takeoffs["ahead_by_6h"].mean(),
                         "ordinary_posts": len(ordinary), "ordinary_alerted": ordinary["alerted"].mean(),
                         "ordinary_ahead": ordinary["ahead_by_6h"].mean()})
    frame = pd.DataFrame(rows)
    summary = {"seed": f"mean of {len(frame)}", "takeoffs": frame["takeoffs"].sum(),
               "takeoff_ahead_by_6h": frame["takeoff_ahead_by_6h"].mean(),
               "ordinary_posts": frame["ordinary_posts"].sum(), "ordinary_alerted": frame["ordinary_alerted"].mean()}
    worst = {"seed": "worst", "takeoff_ahead_by_6h": frame["takeoff_ahead_by_6h"].min(),
             "ordinary_alerted": frame["ordinary_alerted"].max()}
    goal = {"seed": "goal", "takeoff_ahead_by_6h": f">= {GOAL_TAKEOFF_AHEAD_BY_6H}",
            "ordinary_alerted": f"<= {GOAL_ORDINARY_ALERTED}"}
    return rows + [summary, worst, goal]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--days", type=int, default=DAYS)
    args = parser.parse_args(argv)
    print(pd.DataFrame(run(tuple(args.seeds), args.days)).to_markdown(index=False, floatfmt=".3g"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
