"""The prediction notebook's synthetic generator (cell 2), ported faithfully, plus its
noise-free expectation (the best any model can do) and cold-start rows for a real user.

Every row it makes has `is_synthetic = True`: nothing synthetic is ever presented as real.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NOTEBOOK_SEED = 42
MEDIA_BOOST = {"none": 0.6, "image": 1.0, "video": 1.6}
MIN_REACH = 5
# E[0.8 + 0.6 U] and E[0.2 + 0.8 U] for U ~ Uniform(0, 1): the engagement and like-share noise.
MEAN_RATE_NOISE = 1.1
MEAN_LIKE_SHARE = 0.6


def _clean_reach(df: pd.DataFrame) -> np.ndarray:
    media_boost = df["media_type"].map(MEDIA_BOOST).to_numpy(dtype=float)
    time_boost = np.where((df["hour"] >= 18) & (df["hour"] <= 22), 1.2, 1.0)
    base_reach = df["user_followers"].to_numpy(dtype=float) * (0.02 + 0.2 * df["user_avg_engagement_rate"].to_numpy())
    return np.clip(base_reach * media_boost * time_boost * (1 + 0.05 * df["num_hashtags"].to_numpy()), MIN_REACH, None)


def expected_targets(df: pd.DataFrame) -> pd.DataFrame:
    """E[reach | features] and E[likes | features] under the generator.

    reach = max(r (1 + 0.5 Z), 5) with r the clean reach and Z standard normal, so its mean is the
    mean of a normal censored below at 5: 5 Phi(a) + r (1 - Phi(a)) + 0.5 r phi(a), a = (5 - r) / (0.5 r).
    likes multiplies reach by independent rate and share noise, whose means are 1.1 and 0.6.
    The final rounding to integers changes the means by far less than the noise and is ignored.
    """
    from scipy.stats import norm  # SciPy takes seconds to import; only this function needs it

    r = _clean_reach(df)
    sd = 0.5 * r
    a = (MIN_REACH - r) / sd
    expected_reach = MIN_REACH * norm.cdf(a) + r * (1 - norm.cdf(a)) + sd * norm.pdf(a)
    expected_likes = expected_reach * df["user_avg_engagement_rate"].to_numpy() * MEAN_RATE_NOISE * MEAN_LIKE_SHARE
    return pd.DataFrame({"expected_reach": expected_reach, "expected_likes": expected_likes}, index=df.index)


def _features(n: int, user_followers=None, user_avg_engagement_rate=None) -> dict:
    """The notebook's feature draws, in its order (the global NumPy generator, as the notebook uses)."""
    d = {}
    d["user_followers"] = np.random.randint(50, 500000, size=n)
    d["user_avg_engagement_rate"] = np.random.beta(2, 50, size=n)
    d["media_type"] = np.random.choice(["none", "image", "video"], size=n, p=[0.3, 0.5, 0.2])
    d["num_media_items"] = np.random.poisson(1, size=n)
    d["post_text_len"] = np.random.randint(5, 800, size=n)
    d["num_hashtags"] = np.random.poisson(2, size=n)
    d["num_mentions"] = np.random.poisson(0.3, size=n)
    d["num_emojis"] = np.random.poisson(1, size=n)
    d["has_link"] = np.random.binomial(1, 0.15, size=n)
    d["hour"] = np.random.randint(0, 24, size=n)
    d["day_of_week"] = np.random.randint(0, 7, size=n)
    # A cold-start user's own figures replace the drawn ones (after the draws, so the rest matches).
    if user_followers is not None:
        d["user_followers"] = np.full(n, int(user_followers))
    if user_avg_engagement_rate is not None:
        d["user_avg_engagement_rate"] = np.full(n, float(user_avg_engagement_rate))
    return d


def _targets(df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)
    df["reach"] = np.clip(_clean_reach(df) * (1 + 0.5 * np.random.randn(n)), MIN_REACH, None).round().astype(int)
    df["engagement_rate"] = (df["user_avg_engagement_rate"] * (0.8 + 0.6 * np.random.rand(n))).round(4)
    df["likes"] = (
        (df["reach"] * df["engagement_rate"] * (0.2 + 0.8 * np.random.rand(n))).clip(lower=0).round().astype(int)
    )
    return df


def generate_notebook_posts(n: int = 6000, seed: int = NOTEBOOK_SEED) -> pd.DataFrame:
    """The notebook's `generate_synthetic_data(n, seed)`, value for value, plus expected_reach,
    expected_likes and is_synthetic. Like the notebook, it seeds NumPy's global generator."""
    np.random.seed(seed)
    df = _targets(pd.DataFrame(_features(n)))
    return pd.concat([df, expected_targets(df)], axis=1).assign(is_synthetic=True)


def synthetic_rows_for_user(
    user_followers: int, user_avg_engagement_rate: float, n: int, seed: int = NOTEBOOK_SEED
) -> pd.DataFrame:
    """Cold start: `n` notebook rows for a user with these follower count and rate, flagged synthetic.
    Uses its own generator state, so it does not disturb the caller's."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        df = _targets(pd.DataFrame(_features(n, user_followers, user_avg_engagement_rate)))
    finally:
        np.random.set_state(state)
    return df.assign(is_synthetic=True)
