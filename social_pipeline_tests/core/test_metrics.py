"""The seed's formulas, in Python and as DuckDB macros, on hand-computed cases."""

import duckdb
import pandas as pd
import pytest

from social_pipeline.core import metrics
from social_pipeline.core.schema import create_statements

CASES = [
    # likes, retweets, replies, quotes, impressions, rate %, weighted score
    (10, 5, 3, 2, 400, 5.0, 10 + 10 + 9 + 4),
    (0, 0, 0, 0, 0, 0.0, 0),  # zero impressions: rate 0, not a division error
    (7, 1, 1, 1, 0, 0.0, 7 + 2 + 3 + 2),  # engagements without impressions still give 0 %
    (3, 1, 1, None, 50, 10.0, 3 + 2 + 3),  # missing quotes count as 0
    (None, 1, 1, 1, 100, None, None),  # unknown likes: unknown, not a rate 1 point too low
    (5, 1, 1, 1, None, None, 5 + 2 + 3 + 2),  # unknown impressions: unknown rate, known score
    (
        2_000_000_000,
        500_000_000,
        100_000_000,
        400_000_000,
        60_000_000_000,
        5.0,
        2_000_000_000 + 1_000_000_000 + 300_000_000 + 800_000_000,
    ),  # beyond 32-bit
]


@pytest.mark.parametrize("likes,retweets,replies,quotes,impressions,rate,score", CASES)
def test_python_formulas(likes, retweets, replies, quotes, impressions, rate, score):
    got = metrics.engagement_rate_pct(likes, retweets, replies, quotes, impressions)
    assert got is None if rate is None else got == pytest.approx(rate)
    assert metrics.weighted_engagement_score(likes, retweets, replies, quotes) == score


@pytest.mark.parametrize("likes,retweets,replies,quotes,impressions,rate,score", CASES)
def test_sql_macros_agree(likes, retweets, replies, quotes, impressions, rate, score):
    con = duckdb.connect()
    for statement in create_statements():
        con.execute(statement)
    got_rate, got_score = con.execute(
        "SELECT engagement_rate_pct($l::BIGINT, $r::BIGINT, $p::BIGINT, $q::BIGINT, $i::BIGINT),"
        " weighted_engagement_score($l::BIGINT, $r::BIGINT, $p::BIGINT, $q::BIGINT)",
        {"l": likes, "r": retweets, "p": replies, "q": quotes, "i": impressions},
    ).fetchall()[0]
    assert got_rate is None if rate is None else got_rate == pytest.approx(rate)
    assert got_score == score


def test_recruiter_reach_truncates_like_int():
    assert metrics.estimated_recruiter_reach(59) == 5
    assert metrics.estimated_recruiter_reach(0) == 0
    con = duckdb.connect()
    for statement in create_statements():
        con.execute(statement)
    assert con.execute("SELECT estimated_recruiter_reach(59), estimated_recruiter_reach(1234)").fetchall() == [(5, 123)]


def test_sanitize_counts_rejects_rather_than_coerces():
    frame = pd.DataFrame(
        {
            "post_id": ["a", "b", "c", "d"],
            "impressions": [100, -5, "12x", None],
            "likes": [1.0, 2.5, 3, 4],
        }
    )
    cleaned, problems = metrics.sanitize_counts(frame)
    assert cleaned["impressions"].tolist()[0] == 100
    assert cleaned["impressions"].isna().tolist() == [False, True, True, True]
    assert cleaned["likes"].isna().tolist() == [False, True, False, False]
    reasons = {(p.record_id, p.column): p.reason for p in problems}
    assert reasons == {
        ("b", "impressions"): "is negative",
        ("c", "impressions"): "is not a number",
        ("b", "likes"): "is not a whole count",
    }
    # A missing value is unknown, not a problem and not 0.
    assert ("d", "impressions") not in reasons
    # Columns a source does not report at all are NULL, not 0.
    assert cleaned["quotes"].isna().all()
