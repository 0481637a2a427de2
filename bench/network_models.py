"""Two networks, one likes model or one per network: which predicts the simulated history better.

For each simulation seed, the simulated accounts' history (three X accounts and one Bluesky account,
`core/simulation.py`) is written to a fresh warehouse as the pipeline stores it (raw posts, each post's
collection at its settle age, hourly follower figures, the accounts' zones), and ml.training_dataset
is built from it with the pipeline's own SQL. The newest 20% of the posts (both networks) are held
out. Reach (X only: Bluesky counts no impressions) is trained on the X posts in both options; likes:

* `network feature`: one model on the posts of both networks, `network` a feature (a factor per network);
* `per network`: one model per network, each on that network's posts alone;

beside the users' trailing mean (the baseline the models must beat). Each one's held-out R² and RMSE
per target and network, then the mean and the worst (lowest R², highest RMSE) over the seeds.

    python -m bench.network_models [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from social_pipeline.core import models
from social_pipeline.core.analytics_queries import sql_text
from social_pipeline.core.simulation import DEFAULT_ACCOUNTS, Simulation
from social_pipeline.defs.ml.assets import HOLDOUT_FRACTION, SETTLE_AGE_HOURS, build_training_frame
from social_pipeline.warehouse.connection import connect

SEEDS = (42, 1, 2, 3, 4, 5, 6, 7)
QUICK_SEEDS = (42, 1)
HISTORY_DAYS = 90  # make run's default
AS_OF = pd.Timestamp("2026-11-22 12:00")  # the end_to_end section's
OPTIONS = ("network feature", "per network")
BASELINE = "trailing mean"


def simulated_training_dataset(
    database: str, seed: int, days: int = HISTORY_DAYS, as_of=AS_OF, accounts=DEFAULT_ACCOUNTS
) -> pd.DataFrame:
    """ml.training_dataset's real rows for the simulated `accounts`' `days` before `as_of` (seed `seed`)."""
    simulation = Simulation(seed=seed, accounts=accounts)
    start = as_of - pd.Timedelta(days=days)
    posts = simulation.posts_between(start, as_of)
    # The hourly collection that first sees a post at its settle age (the pipeline collects every hour).
    settle_at = (posts["published_at"] + pd.Timedelta(hours=SETTLE_AGE_HOURS)).dt.ceil("h")
    posts = posts[settle_at <= as_of]
    settle_at = settle_at[settle_at <= as_of]
    metrics = simulation.metrics_at(posts["post_id"], settle_at.to_numpy())
    metrics["collected_at"] = settle_at.to_numpy()
    hours = pd.date_range(start.floor("h"), as_of, freq="h")
    accounts = pd.concat(
        [
            pd.DataFrame(
                {
                    "user_id": a.user_id,
                    "collected_at": hours,
                    "followers": simulation.followers(a.user_id, hours),
                    "network": a.network,
                }
            )
            for a in simulation.accounts
        ],
        ignore_index=True,
    )
    zones = pd.DataFrame({"user_id": simulation.user_ids, "timezone": [a.timezone for a in simulation.accounts]})
    with connect(database) as con:
        con.register("sim_posts", posts)
        con.register("sim_metrics", metrics)
        con.register("sim_accounts", accounts)
        con.register("sim_zones", zones)
        con.execute(
            "INSERT INTO raw.posts BY NAME SELECT post_id, user_id, text, content_type, media_type, num_media_items, "
            "published_at, TRUE AS published_time_known, 'simulated' AS source, published_at AS ingested_at, network "
            "FROM sim_posts"
        )
        con.execute(
            "INSERT INTO raw.tweet_metrics BY NAME SELECT post_id, collected_at, impressions, likes, retweets, "
            "replies, quotes, bookmarks, 'simulated' AS source, status, network, collected_at AS written_at, "
            "strftime(collected_at - INTERVAL 1 HOUR, '%Y-%m-%d-%H:%M') AS partition_key FROM sim_metrics"
        )
        con.execute(
            "INSERT INTO raw.account_snapshots BY NAME SELECT user_id, collected_at, followers, network, "
            "'simulated' AS source FROM sim_accounts"
        )
        con.execute(
            "INSERT INTO raw.accounts BY NAME SELECT user_id, timezone, 'simulated' AS source, "
            "$as_of AS updated_at FROM sim_zones",
            {"as_of": as_of},
        )
        con.execute("CREATE OR REPLACE TEMP VIEW refresh_raw AS SELECT * FROM raw.tweet_metrics")
        con.execute(f"INSERT INTO analytics.post_snapshots BY NAME {sql_text('post_snapshots')}")
        return build_training_frame(con, SETTLE_AGE_HOURS)


def _scores(test: pd.DataFrame, target: str, predicted) -> dict:
    figures = models.regression_metrics(test[target], predicted)
    return {"n_test": len(test), "r2": figures["r2"], "rmse": figures["rmse"]}


def compare_on_seed(dataset: pd.DataFrame) -> list[dict]:
    """Both options' held-out scores per target and network on one history."""
    train, test = models.time_holdout_split(dataset, "published_at", HOLDOUT_FRACTION)
    networks = sorted(test["network"].unique())
    reach = models.train_target(train, "reach")
    pooled = models.train_target(train, "likes")
    own = {n: models.train_target(train[train["network"] == n], "likes") for n in networks}
    rows = []
    for network in networks:
        held = test[test["network"] == network]
        targets = ("reach", "likes") if network in reach.networks else ("likes",)
        for target in targets:
            predictions = {
                "network feature": (reach if target == "reach" else pooled).predict(held)[target],
                "per network": (reach if target == "reach" else own[network]).predict(held)[target],
                BASELINE: held[f"user_avg_{target}"].fillna(train[target].mean()),
            }
            rows += [
                {"target": target, "network": network, "option": option, **_scores(held, target, predicted)}
                for option, predicted in predictions.items()
            ]
    return rows


def run(seeds=SEEDS, quick: bool = False) -> list[dict]:
    """One row per (seed, target, network, option), then the mean and worst R² (and RMSE) over the seeds."""
    seeds = QUICK_SEEDS if quick else seeds
    rows = []
    with tempfile.TemporaryDirectory(prefix="network_models_") as tmp:
        for seed in seeds:
            dataset = simulated_training_dataset(str(Path(tmp) / f"seed{seed}.duckdb"), seed)
            rows += [{"seed": seed, **row} for row in compare_on_seed(dataset)]
    frame = pd.DataFrame(rows)
    keys = ["target", "network", "option"]
    grouped = frame.groupby(keys, sort=False)
    mean = grouped[["n_test", "r2", "rmse"]].mean().reset_index().assign(seed="mean")
    worst = grouped.agg(n_test=("n_test", "min"), r2=("r2", "min"), rmse=("rmse", "max")).reset_index()
    summary = pd.concat([mean, worst.assign(seed="worst")], ignore_index=True)
    return pd.concat([frame, summary], ignore_index=True).to_dict("records")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"seeds {QUICK_SEEDS} only")
    args = parser.parse_args(argv)
    table = pd.DataFrame(run(quick=args.quick))
    print(table.to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
