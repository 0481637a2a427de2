"""Early alerts on simulated histories: how many take-offs are alerted `ahead` by 6 h, and how many
ordinary posts are alerted at all, over several seeds.

Each seed: the hourly collections of `train_days` days (one range run, as a backfill runs), the
models trained on them (ml_training), then `alert_days` more days of collections and post_alerts over
them. Only posts published after the training data count (the models never saw them), once their
first 24 h are observed and their account has a typical curve. The simulator labels a few posts
take-off or flop (core/simulation.py); the label is read from the Simulation, never the warehouse.
The alert band's coverage (core/lifecycle.py) was chosen on seeds 104-117: the default seeds here
are held out from that choice.

    python -m bench.post_alerts [--seeds 1 2 3 4 5 6 7 8 9 10] [--train-days 42] [--alert-days 28]
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
SEEDS = tuple(range(1, 11))
TRAIN_DAYS = 56  # on 42 days half the seeds' models did not beat the baseline, and none was served
ALERT_DAYS = 28
GOAL_TAKEOFF_AHEAD_BY_6H, GOAL_ORDINARY_ALERTED = 0.90, 0.05
COLLECTION = [
    ingestion.raw_posts,
    ingestion.raw_tweet_metrics,
    ingestion.raw_account_snapshots,
    ingestion.raw_profile_activity,
    analytics.post_snapshots,
    analytics.post_performance,
    post_lifecycle,
]

OUTCOMES = """
SELECT l.post_id,
       COALESCE(bool_or(a.direction = 'ahead' AND a.age_hours <= 6), FALSE) AS ahead_by_6h,
       count(a.post_id) > 0 AS alerted
FROM analytics.post_lifecycle AS l
JOIN analytics.account_lifecycle_curves AS c ON c.user_id = l.user_id AND c.age_hours = l.age_hours
LEFT JOIN ops.post_alerts AS a ON a.post_id = l.post_id
JOIN raw.posts AS p ON p.post_id = l.post_id
WHERE l.age_hours = 24 AND p.published_at >= $after
GROUP BY l.post_id
"""


class NoServedModel(RuntimeError):
    """The seed's models did not pass their checks: no post has an expectation to alert against."""


def seed_outcomes(root: Path, seed: int, train_days: int, alert_days: int) -> pd.DataFrame:
    """Per post published after the models' training data: its simulated course, whether it was alerted
    ahead by 6 h, whether at all."""
    warehouse = WarehouseResource(database=str(root / "warehouse.duckdb"))
    stores = FileStoresResource(
        reports_dir=str(root / "reports"),
        models_dir=str(root / "models"),
        ops_dir=str(root / "ops"),
        bi_database=str(root / "bi.duckdb"),
        inbox_dir=str(root / "inbox"),
    )
    instance = dg.DagsterInstance.ephemeral()
    trained_at = AS_OF - pd.Timedelta(days=alert_days)

    def collect(clock: pd.Timestamp, days: int, first: pd.Timestamp):
        source = SimulatedSourceResource(sim_seed=seed, clock=str(clock), history_days=days)
        keys = hour_key(first), hour_key(clock - pd.Timedelta(hours=1))
        add_partition_keys(instance, HOURLY_PARTITIONS, list(keys))
        assert dg.materialize(
            COLLECTION,
            resources={"warehouse": warehouse, "source": source},
            instance=instance,
            tags=partition_range_tags(*keys),
        ).success

    # The models are trained on the first days only, as a weekly retrain would have them: the posts
    # alerted on afterwards are posts they never saw.
    collect(trained_at, train_days, trained_at - pd.Timedelta(days=train_days))
    assert (
        defs.resolve_job_def("ml_training")
        .execute_in_process(resources={"warehouse": warehouse, "file_stores": stores}, instance=instance)
        .success
    )
    collect(AS_OF, train_days + alert_days, trained_at)
    assert dg.materialize(
        [post_alerts],
        instance=instance,
        run_config={"ops": {"post_alerts": {"config": {"evaluate_all_history": True}}}},
        resources={"warehouse": warehouse, "alert_channels": AlertChannelsResource(), "smtp": SmtpResource()},
    ).success
    with warehouse.get_connection() as con:
        served = con.execute(
            "SELECT max(labelled_through) FROM ml.model_registry WHERE model_name = 'reach_model' AND promoted"
        ).fetchall()[0][0]
        if served is None:
            raise NoServedModel(f"seed {seed}: no reach model passed its checks on {train_days} days")
        outcomes = con.execute(OUTCOMES, {"after": trained_at}).df()
    outcomes["trajectory"] = Simulation(seed).trajectories(outcomes["post_id"]).to_numpy()
    return outcomes


def run(
    seeds=SEEDS, train_days: int = TRAIN_DAYS, alert_days: int = ALERT_DAYS, spare_seeds: int | None = None
) -> list[dict]:
    """The rates per seed, then their mean and worst. A seed whose models are not promoted has nothing
    to alert against: it is named in the summary and the next seed (up to `spare_seeds` more, as many
    as asked for by default) is taken."""
    rows, skipped = [], []
    spare_seeds = len(seeds) if spare_seeds is None else spare_seeds
    candidates = list(seeds) + [max(seeds) + k for k in range(1, spare_seeds + 1)]
    with tempfile.TemporaryDirectory(prefix="bench_post_alerts_") as tmp:
        for seed in candidates:
            if len(rows) == len(seeds):
                break
            try:
                outcomes = seed_outcomes(Path(tmp) / f"seed{seed}", seed, train_days, alert_days)
            except NoServedModel:
                skipped.append(seed)
                continue
            takeoffs = outcomes[outcomes["trajectory"] == "takeoff"]
            ordinary = outcomes[outcomes["trajectory"] == "ordinary"]
            rows.append(
                {
                    "seed": seed,
                    "takeoffs": len(takeoffs),
                    "takeoffs_ahead_by_6h": int(takeoffs["ahead_by_6h"].sum()),
                    "takeoff_ahead_by_6h": takeoffs["ahead_by_6h"].mean(),
                    "ordinary_posts": len(ordinary),
                    "ordinary_alerted": ordinary["alerted"].mean(),
                }
            )
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    # A seed has only a few take-offs (1.5% of its posts): their rate is pooled over the seeds.
    summary = {
        "seed": f"all {len(frame)}",
        "takeoffs": frame["takeoffs"].sum(),
        "takeoffs_ahead_by_6h": frame["takeoffs_ahead_by_6h"].sum(),
        "takeoff_ahead_by_6h": frame["takeoffs_ahead_by_6h"].sum() / max(frame["takeoffs"].sum(), 1),
        "ordinary_posts": frame["ordinary_posts"].sum(),
        "ordinary_alerted": frame["ordinary_alerted"].mean(),
        "note": f"seeds without a promoted model, skipped: {skipped}" if skipped else "",
    }
    worst = {
        "seed": "worst",
        "takeoff_ahead_by_6h": frame["takeoff_ahead_by_6h"].min(),
        "ordinary_alerted": frame["ordinary_alerted"].max(),
    }
    goal = {
        "seed": "goal",
        "takeoff_ahead_by_6h": f">= {GOAL_TAKEOFF_AHEAD_BY_6H}",
        "ordinary_alerted": f"<= {GOAL_ORDINARY_ALERTED}",
    }
    return rows + [summary, worst, goal]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--train-days", type=int, default=TRAIN_DAYS)
    parser.add_argument("--alert-days", type=int, default=ALERT_DAYS)
    args = parser.parse_args(argv)
    rows = run(tuple(args.seeds), args.train_days, args.alert_days)
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
