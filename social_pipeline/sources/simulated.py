"""The simulated source: deterministic accounts (core/simulation.py) behind the PostSource protocol."""

from __future__ import annotations

import pandas as pd

from social_pipeline.core.simulation import DEFAULT_ACCOUNTS, Simulation, metrics_payload_json
from social_pipeline.sources.protocol import (
    ACCOUNT_COLUMNS,
    METRIC_COLUMNS,
    POST_COLUMNS,
    PROFILE_COLUMNS,
    MetricsBatch,
)


class SimulatedSource:
    """The embedded default: deterministic accounts, no credentials, no network."""

    name = "simulated"
    can_backfill = True

    def __init__(self, seed: int = 42, num_accounts: int = 4):
        if not 1 <= num_accounts <= len(DEFAULT_ACCOUNTS):
            raise ValueError(f"num_accounts must be 1..{len(DEFAULT_ACCOUNTS)}, got {num_accounts}")
        self.simulation = Simulation(seed=seed, accounts=DEFAULT_ACCOUNTS[:num_accounts])

    def user_ids(self) -> list[str]:
        return self.simulation.user_ids

    def default_timezones(self) -> dict[str, str]:
        """The simulated accounts live in different zones (their rhythm follows their clock)."""
        return {a.user_id: a.timezone for a in self.simulation.accounts}

    def fetch_posts(self, user_ids, start, end) -> pd.DataFrame:
        posts = self.simulation.posts_between(start, end, user_ids)
        posts = posts.assign(published_time_known=True)
        return posts[[*POST_COLUMNS, "network"]].reset_index(drop=True)

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        frame = self.simulation.metrics_at(requests["post_id"], requests["collected_at"])
        frame["collected_at"] = pd.to_datetime(requests["collected_at"]).to_numpy()
        frame["payload"] = metrics_payload_json(frame)
        # What a batched API would have cost: 100 ids per request, per collection time.
        per_collection = requests.groupby("collected_at").size()
        requests_made = int(((per_collection + 99) // 100).sum())
        return MetricsBatch(frame=frame[[*METRIC_COLUMNS, "network"]], requests_made=requests_made)

    def fetch_account_figures(self, user_ids, collected_at) -> pd.DataFrame:
        times = pd.to_datetime(pd.Series(collected_at))
        frames = []
        for user_id in user_ids:
            followers = self.simulation.followers(user_id, times)
            frames.append(
                pd.DataFrame(
                    {
                        "user_id": user_id,
                        "collected_at": times.to_numpy(),
                        "followers": followers,
                        "following": 300 + followers // 40,
                        "post_count": pd.NA,
                        "network": self.simulation.account(user_id).network,
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=ACCOUNT_COLUMNS)
        return pd.concat(frames, ignore_index=True)[[*ACCOUNT_COLUMNS, "network"]]

    def fetch_profile_activity(self, user_ids, days) -> pd.DataFrame:
        # Profile activity (views, InMails) is the X and LinkedIn accounts' figure; Bluesky has none.
        rows = [
            self.simulation.profile_activity(u, d)
            for u in user_ids
            for d in days
            if self.simulation.account(u).network == "x"
        ]
        return pd.DataFrame(rows, columns=PROFILE_COLUMNS)
