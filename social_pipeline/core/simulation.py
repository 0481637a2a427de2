"""A deterministic simulation of several X accounts and one Bluesky account: posts, metrics,
followers, profile activity.

Everything is a pure function of (seed, time). Posts for a (user, UTC day) come from a
random generator seeded with (seed, user, day), so any window can be asked for in any
order and gets the same posts. A post's cumulative metrics at age `a` hours are
`floor(final * (1 - exp(-a / tau)))`: they grow with age, saturate within a few days
and never decrease.

Performance has real structure for analytics and models to find: weekday, hour,
media, hashtags and the account's own engagement rate all move reach and engagement,
with log-normal noise on top.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

SIM_EPOCH = pd.Timestamp("2025-01-01")
CONTENT_TYPES = ("text", "image", "video", "thread", "link", "poll")
MEDIA_BY_CONTENT = {
    "text": "none",
    "image": "image",
    "video": "video",
    "thread": "none",
    "link": "none",
    "poll": "none",
}
# Reach multiplier of each content type (video travels furthest, links least).
REACH_BY_CONTENT = {"text": 1.0, "image": 1.35, "video": 1.8, "thread": 1.15, "link": 0.75, "poll": 1.1}
# Engagement multiplier of each content type.
ENGAGEMENT_BY_CONTENT = {"text": 0.9, "image": 1.15, "video": 1.3, "thread": 1.2, "link": 0.7, "poll": 1.4}
# Monday .. Sunday
WEEKDAY_FACTOR = np.array([1.05, 1.2, 1.25, 1.1, 0.9, 0.65, 0.6])
TOPICS = (
    "data engineering",
    "dagster",
    "duckdb",
    "python",
    "machine learning",
    "analytics",
    "sql",
    "career",
    "hiring",
    "open source",
    "pipelines",
    "dashboards",
    "cloud costs",
)
HASHTAGS = (
    "#DataEngineering",
    "#Python",
    "#DuckDB",
    "#Dagster",
    "#MachineLearning",
    "#Analytics",
    "#SQL",
    "#OpenSource",
    "#Hiring",
    "#CareerAdvice",
    "#BigData",
    "#AI",
)
MENTIONS = ("@duckdb", "@dagster", "@pandas_dev", "@scikit_learn", "@ThePSF")
EMOJIS = ("🚀", "📊", "🔥", "✅", "💡", "🦆", "🎉", "👇")
# A few posts leave their usual course: a take-off gains a surge in its first hours (after an onset of
# an hour or two, a further 2.5-4 times the final figures a post like it usually reaches, without its
# own luck, arrives with SURGE_TAU_HOURS), a flop ends at a fraction of its final figures. Drawn from a
# generator of their own, so every other post keeps the figures it had. The label
# (`Simulation.trajectories`) never reaches a source's rows: only benches and tests read it.
TAKEOFF_SHARE, FLOP_SHARE = 0.015, 0.015
SURGE_MULTIPLIER_RANGE = (2.5, 4.0)
SURGE_ONSET_HOURS_RANGE = (0.5, 1.5)
SURGE_TAU_HOURS = 2.0
FLOP_FRACTION_RANGE = (0.15, 0.35)


@dataclass(frozen=True)
class SimAccount:
    user_id: str
    followers_at_epoch: int
    follower_growth_per_day: float
    posts_per_day: float
    base_engagement_rate: float
    content_mix: tuple[float, ...]  # probabilities over CONTENT_TYPES
    favourite_hours: tuple[int, ...]  # local hours (in `timezone`) the account tends to post at
    profile_views_per_day: float
    timezone: str = "UTC"  # IANA zone: the account's day, weekday and hour rhythm follow its clock
    network: str = "x"  # bluesky: at:// post ids and no impressions reported (reach stays hidden)


DEFAULT_ACCOUNTS: tuple[SimAccount, ...] = (
    SimAccount(
        "alice_data",
        2_400,
        0.004,
        1.1,
        0.048,
        (0.35, 0.25, 0.1, 0.15, 0.1, 0.05),
        (8, 9, 12, 17, 18, 19),
        28.0,
        "Europe/Berlin",
    ),
    SimAccount(
        "bytes_and_beans",
        18_500,
        0.002,
        2.0,
        0.026,
        (0.3, 0.3, 0.15, 0.05, 0.15, 0.05),
        (7, 10, 13, 15, 18, 21),
        55.0,
        "Asia/Kolkata",
    ),
    SimAccount(
        "duckpond_eng",
        240_000,
        0.001,
        3.2,
        0.013,
        (0.25, 0.3, 0.25, 0.1, 0.05, 0.05),
        (6, 9, 11, 14, 16, 18, 20, 22),
        140.0,
        "America/New_York",
    ),
    # No polls on Bluesky.
    SimAccount(
        "duckpond.bsky.social",
        3_600,
        0.006,
        1.4,
        0.05,
        (0.35, 0.3, 0.1, 0.15, 0.1, 0.0),
        (8, 12, 18, 19, 21),
        0.0,
        "Europe/Lisbon",
        network="bluesky",
    ),
)
# Columns of a metrics row that a network without view counts (Bluesky) never reports.
UNREPORTED_ON_BLUESKY = ("impressions", "url_clicks", "profile_clicks", "media_views")


def hour_factor(hour: np.ndarray) -> np.ndarray:
    """Engagement peaks in the evening (18-19 local time) and, less, mid-morning; nights are quiet."""
    hour = np.asarray(hour, dtype=float)
    evening = 0.7 * np.exp(-((hour - 18.5) ** 2) / 6.0)
    morning = 0.35 * np.exp(-((hour - 9.0) ** 2) / 4.0)
    night = np.where((hour >= 0) & (hour <= 5), -0.35, 0.0)
    return 1.0 + evening + morning + night


def hashtag_factor(num_hashtags: np.ndarray) -> np.ndarray:
    """A few hashtags help reach; many look like spam."""
    n = np.asarray(num_hashtags, dtype=float)
    return 1.0 + 0.09 * np.minimum(n, 3) - 0.07 * np.maximum(n - 3, 0)


class Simulation:
    """Deterministic for (seed, accounts). Safe to share; caches generated days."""

    def __init__(self, seed: int = 42, accounts: tuple[SimAccount, ...] = DEFAULT_ACCOUNTS):
        self.seed = int(seed)
        self.accounts = tuple(accounts)
        self._index = {a.user_id: i for i, a in enumerate(self.accounts)}
        # Per-instance cache of generated days (a bound lru_cache would be shared by instances).
        self._day_posts = functools.lru_cache(maxsize=8192)(self._generate_day)

    # ----- accounts -------------------------------------------------------------------
    @property
    def user_ids(self) -> list[str]:
        return [a.user_id for a in self.accounts]

    def account(self, user_id: str) -> SimAccount:
        try:
            return self.accounts[self._index[user_id]]
        except KeyError:
            raise KeyError(f"unknown simulated account {user_id!r}; known: {self.user_ids}") from None

    def followers(self, user_id: str, at) -> np.ndarray | int:
        account = self.account(user_id)
        days = (pd.to_datetime(at) - SIM_EPOCH) / pd.Timedelta(days=1)
        days = np.maximum(np.asarray(days, dtype=float), 0.0)
        value = np.floor(account.followers_at_epoch * (1.0 + account.follower_growth_per_day) ** days)
        return value.astype(np.int64) if value.ndim else int(value)

    # ----- posts ----------------------------------------------------------------------
    def _generate_day(self, user_index: int, day_number: int) -> pd.DataFrame:
        account = self.accounts[user_index]
        rng = np.random.default_rng([self.seed, user_index, day_number, 1])
        # The account's local day: weekday, hours and the evening peak follow its own clock.
        day_start = SIM_EPOCH + pd.Timedelta(days=day_number)
        weekday = day_start.day_of_week
        n = int(rng.poisson(account.posts_per_day * (1.15 if weekday < 5 else 0.6)))
        if n == 0:
            return _empty_posts()
        hours = rng.choice(account.favourite_hours, size=n)
        # Some posts land at other hours so that every slot gets sampled now and then.
        off_pattern = rng.random(n) < 0.25
        hours = np.where(off_pattern, rng.integers(0, 24, size=n), hours)
        minutes = rng.integers(0, 60, size=n)
        published_at = _local_to_utc(day_start + pd.to_timedelta(hours * 60 + minutes, unit="min"), account.timezone)
        content = rng.choice(CONTENT_TYPES, size=n, p=account.content_mix)
        media = np.array([MEDIA_BY_CONTENT[c] for c in content])
        num_media = np.where(media == "image", rng.integers(1, 5, size=n), np.where(media == "video", 1, 0))
        num_hashtags = rng.choice([0, 1, 2, 3, 4, 5, 6], size=n, p=[0.2, 0.2, 0.25, 0.15, 0.1, 0.05, 0.05])
        num_mentions = rng.choice([0, 1, 2], size=n, p=[0.7, 0.22, 0.08])
        num_emojis = rng.choice([0, 1, 2, 3], size=n, p=[0.45, 0.3, 0.15, 0.1])
        texts = [
            _compose_text(rng, str(content[i]), int(num_hashtags[i]), int(num_mentions[i]), int(num_emojis[i]))
            for i in range(n)
        ]
        followers = self.followers(account.user_id, published_at)

        reach_noise = rng.lognormal(0.0, 0.35, size=n)  # the post's luck: what no feature explains
        reach_rate = (
            0.06
            * np.array([REACH_BY_CONTENT[c] for c in content])
            * hashtag_factor(num_hashtags)
            * (0.85 + 0.3 * hour_factor(hours) / 1.7)
            * WEEKDAY_FACTOR[weekday]
            * (1.0 + 4.0 * account.base_engagement_rate)
            * reach_noise
        )
        final_impressions = np.maximum(np.floor(followers * reach_rate), 5).astype(np.int64)
        engagement_rate = np.clip(
            account.base_engagement_rate
            * np.array([ENGAGEMENT_BY_CONTENT[c] for c in content])
            * hour_factor(hours)
            * WEEKDAY_FACTOR[weekday]
            * (1.0 + 0.06 * np.minimum(num_hashtags, 3))
            * rng.lognormal(0.0, 0.3, size=n),
            0.0,
            0.35,
        )
        total_engagements = final_impressions * engagement_rate
        share = rng.dirichlet([14, 2.5, 2, 1.5], size=n)  # likes, retweets, replies, quotes
        finals = {
            "impressions": final_impressions,
            "likes": np.floor(total_engagements * share[:, 0]),
            "retweets": np.floor(total_engagements * share[:, 1]),
            "replies": np.floor(total_engagements * share[:, 2]),
            "quotes": np.floor(total_engagements * share[:, 3]),
            "bookmarks": np.floor(total_engagements * share[:, 0] * 0.08),
            "url_clicks": np.where(content == "link", np.floor(final_impressions * 0.012), 0),
            "profile_clicks": np.floor(final_impressions * 0.004 * rng.lognormal(0, 0.3, size=n)),
            "media_views": np.where(media != "none", np.floor(final_impressions * 0.35), 0),
        }
        frame = pd.DataFrame(
            {
                "post_id": [
                    _post_id(account, user_index, 1_900_000_000_000_000_000 + (day_number * 64 + user_index) * 1000 + k)
                    for k in range(n)
                ],
                "user_id": account.user_id,
                "text": texts,
                "content_type": content,
                "media_type": media,
                "num_media_items": num_media.astype(np.int64),
                "published_at": published_at,
                "tau_hours": rng.uniform(5.0, 14.0, size=n),
                "network": account.network,
            }
        )
        course = np.random.default_rng([self.seed, user_index, day_number, 3])
        draw = course.random(n)
        trajectory = np.where(
            draw < TAKEOFF_SHARE, "takeoff", np.where(draw < TAKEOFF_SHARE + FLOP_SHARE, "flop", "ordinary")
        )
        surge = course.uniform(*SURGE_MULTIPLIER_RANGE, size=n)
        onset = course.uniform(*SURGE_ONSET_HOURS_RANGE, size=n)
        flop_fraction = course.uniform(*FLOP_FRACTION_RANGE, size=n)
        frame["trajectory"] = trajectory
        frame["reach_noise"] = reach_noise
        # The surge is a multiple of what a post like it usually reaches (its figures without its luck):
        # a take-off goes far beyond what was expected of it, even one that started unlucky.
        frame["surge_multiplier"] = np.where(trajectory == "takeoff", surge / reach_noise, 0.0)
        frame["surge_onset_hours"] = onset
        kept = np.where(trajectory == "flop", flop_fraction, 1.0)
        for name, values in finals.items():
            frame[f"final_{name}"] = np.floor(np.asarray(values, dtype=float) * kept).astype(np.int64)
        return frame.sort_values("published_at", kind="stable").reset_index(drop=True)

    def posts_between(self, start, end, user_ids=None) -> pd.DataFrame:
        """All posts published in [start, end), with their hidden final figures."""
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        if end <= start:
            return _empty_posts()
        # Local days run up to 14 h either side of UTC days: one more day each side covers them.
        first_day = int(np.floor((start - SIM_EPOCH) / pd.Timedelta(days=1))) - 1
        last_day = int(np.floor((end - pd.Timedelta(microseconds=1) - SIM_EPOCH) / pd.Timedelta(days=1))) + 1
        wanted = self.user_ids if user_ids is None else list(user_ids)
        frames = [
            self._day_posts(self._index[u], day) for u in wanted for day in range(max(first_day, 0), last_day + 1)
        ]
        frames = [f for f in frames if len(f)]
        if not frames:
            return _empty_posts()
        posts = pd.concat(frames, ignore_index=True)
        posts = posts[(posts["published_at"] >= start) & (posts["published_at"] < end)]
        return posts.sort_values(["published_at", "post_id"], kind="stable").reset_index(drop=True)

    def _post_params(self, post_ids) -> pd.DataFrame:
        """The generated rows behind post ids; ids encode (day, account)."""
        # A Bluesky id ends in the same number: at://did:plc:.../app.bsky.feed.post/<number>.
        numbers = pd.Series(post_ids, dtype="string").str.rsplit("/", n=1).str[-1]
        numeric = pd.to_numeric(numbers, errors="coerce").dropna()
        offset = (numeric.astype("int64") - 1_900_000_000_000_000_000) // 1000
        keys = set(zip((offset % 64).tolist(), (offset // 64).tolist(), strict=True))
        frames = [
            self._day_posts(user_index, day)
            for user_index, day in sorted(keys)
            if 0 <= user_index < len(self.accounts) and day >= 0
        ]
        frames = [f for f in frames if len(f)]
        if not frames:
            return _empty_posts().set_index("post_id")
        return pd.concat(frames, ignore_index=True).set_index("post_id")

    # ----- metrics --------------------------------------------------------------------
    def metrics_at(self, post_ids, as_of) -> pd.DataFrame:
        """Cumulative metrics of the given posts at `as_of` (one time, or one per post).

        Rows come back in the order asked; a post that does not exist (or is not yet
        published at its `as_of`) comes back with status 'not_found' and NULL counts.
        """
        wanted = pd.Index(pd.Series(post_ids, dtype="string").astype(str), name="post_id")
        as_of = pd.to_datetime(pd.Series(as_of if np.ndim(as_of) else [as_of] * len(wanted))).to_numpy()
        params = self._post_params(wanted)
        params = params[~params.index.duplicated()].reindex(wanted)
        published = params["published_at"].to_numpy(dtype="datetime64[ns]")
        found = ~np.isnat(published) & (published <= as_of)
        age_hours = (as_of - published) / np.timedelta64(1, "h")
        tau = params["tau_hours"].to_numpy(dtype=float)
        fraction = np.where(found, 1.0 - np.exp(-np.nan_to_num(age_hours) / np.nan_to_num(tau, nan=1.0)), 0.0)
        onset = params["surge_onset_hours"].to_numpy(dtype=float, na_value=0.0)
        after_onset = np.maximum(np.nan_to_num(age_hours) - onset, 0)
        multiplier = params["surge_multiplier"].to_numpy(dtype=float, na_value=0.0)
        surge = multiplier * (1.0 - np.exp(-after_onset / SURGE_TAU_HOURS))
        result = pd.DataFrame({"post_id": wanted.to_numpy()})
        for name in (
            "impressions",
            "likes",
            "retweets",
            "replies",
            "quotes",
            "bookmarks",
            "url_clicks",
            "profile_clicks",
            "media_views",
        ):
            # Interactions trail impressions a little: people see a post before they react.
            frac = fraction if name == "impressions" else 1.0 - (1.0 - fraction) ** 0.8
            # Ordinary posts and flops have no surge (0): the same figures as without one.
            frac = frac + np.where(found, surge, 0.0)
            values = np.floor(params[f"final_{name}"].to_numpy(dtype=float, na_value=0.0) * frac)
            if name in UNREPORTED_ON_BLUESKY:
                values = np.where(params["network"].to_numpy() == "bluesky", np.nan, values)
            result[name] = pd.array(np.where(found, values, np.nan), dtype="Float64").astype("Int64")
        result["status"] = np.where(found, "ok", "not_found")
        result["network"] = params["network"].to_numpy()
        return result

    def trajectories(self, post_ids) -> pd.Series:
        """Each post's hidden course, by post id: ordinary, takeoff or flop (NaN for an unknown id)."""
        wanted = pd.Index(pd.Series(post_ids, dtype="string").astype(str), name="post_id")
        params = self._post_params(wanted)
        return params.loc[~params.index.duplicated(), "trajectory"].reindex(wanted)

    # ----- profile activity -----------------------------------------------------------
    def profile_activity(self, user_id: str, day) -> dict:
        account = self.account(user_id)
        day = pd.Timestamp(day).normalize()
        day_number = int((day - SIM_EPOCH) / pd.Timedelta(days=1))
        rng = np.random.default_rng([self.seed, self._index[user_id], day_number, 2])
        weekday = WEEKDAY_FACTOR[day.day_of_week]
        views = int(rng.poisson(account.profile_views_per_day * weekday))
        recruiter_messages = int(rng.binomial(views, 0.03))
        conversations = int(rng.binomial(recruiter_messages, 0.5))
        return {
            "user_id": user_id,
            "platform": "linkedin",
            "snapshot_date": day.date(),
            "profile_views": views,
            "connections_new": int(rng.poisson(views * 0.05)),
            "connection_requests": int(rng.poisson(views * 0.08)),
            "search_appearances": int(rng.poisson(views * 2.5)),
            "inmails_received": int(rng.binomial(views, 0.02)),
            "recruiter_messages": recruiter_messages,
            "profile_saves": int(rng.binomial(views, 0.04)),
            "conversations_started": conversations,
            "interviews_scheduled": int(rng.binomial(conversations, 0.3)),
        }


def _local_to_utc(local: pd.DatetimeIndex, zone: str) -> pd.DatetimeIndex:
    """Naive local wall-clock times -> naive UTC. A time skipped by a spring-forward moves to the
    end of the gap; a repeated autumn hour is read as standard time."""
    if zone == "UTC":
        return pd.DatetimeIndex(local)
    localized = pd.DatetimeIndex(local).tz_localize(
        zone, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return localized.tz_convert("UTC").tz_localize(None)


def _compose_text(rng: np.random.Generator, content: str, hashtags: int, mentions: int, emojis: int) -> str:
    topic, other = rng.choice(TOPICS, size=2, replace=False)
    openers = {
        "text": f"A quick thought on {topic}: most problems are {other} problems in disguise.",
        "image": f"Chart of the week: how {topic} changed our {other} numbers.",
        "video": f"New video: a 5-minute walkthrough of {topic} with {other}.",
        "thread": f"Thread: 7 lessons from a year of {topic} and {other} 🧵",
        "link": f"Wrote up how we approach {topic} and {other}: https://example.com/{topic.replace(' ', '-')}",
        "poll": f"Poll: what matters more for {topic}, speed or {other}?",
    }
    parts = [openers[content]]
    if mentions:
        parts.append(" ".join(rng.choice(MENTIONS, size=mentions, replace=False)))
    if emojis:
        parts.append("".join(rng.choice(EMOJIS, size=emojis)))
    if hashtags:
        parts.append(" ".join(rng.choice(HASHTAGS, size=hashtags, replace=False)))
    return " ".join(parts)


def _post_id(account: SimAccount, user_index: int, number: int) -> str:
    if account.network == "bluesky":
        return f"at://did:plc:simulated{user_index:016d}/app.bsky.feed.post/{number}"
    return str(number)


def _empty_posts() -> pd.DataFrame:
    columns = [
        "post_id",
        "user_id",
        "text",
        "content_type",
        "media_type",
        "num_media_items",
        "published_at",
        "tau_hours",
        "network",
        "trajectory",
        "surge_multiplier",
        "surge_onset_hours",
        "reach_noise",
    ]
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    frame["published_at"] = pd.Series(dtype="datetime64[ns]")
    return frame


def metrics_payload_json(metrics: pd.DataFrame) -> list[str]:
    """The simulated API's per-post JSON, shaped like X's `public_metrics` object."""
    renamed = metrics.rename(
        columns={
            "impressions": "impression_count",
            "likes": "like_count",
            "retweets": "retweet_count",
            "replies": "reply_count",
            "quotes": "quote_count",
            "bookmarks": "bookmark_count",
        }
    )
    keep = ["impression_count", "like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count"]
    lines = renamed[keep].astype("Int64").to_json(orient="records", lines=True).splitlines()
    ids = metrics["post_id"].astype(str).tolist()
    return [
        json.dumps({"id": pid}, separators=(",", ":"))[:-1] + ',"public_metrics":' + line + "}"
        for pid, line in zip(ids, lines, strict=True)
    ]
