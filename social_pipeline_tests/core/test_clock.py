from datetime import UTC, datetime

import pandas as pd

from social_pipeline.core.clock import utc_now


def test_utc_now_is_naive_utc():
    before = pd.Timestamp(datetime.now(UTC)).tz_localize(None)
    now = utc_now()
    after = pd.Timestamp(datetime.now(UTC)).tz_localize(None)
    assert now.tzinfo is None
    # UTC, not the machine's local time: it falls between two UTC readings taken around it.
    assert before <= now <= after


def test_naive_utc_converts_a_zoned_time_and_keeps_a_naive_one():
    from social_pipeline.core.clock import naive_utc

    # 09:30 in Kolkata (UTC+05:30) is 04:00 UTC; New York in July is UTC-4 (DST).
    assert naive_utc("2026-03-02 09:30+05:30") == pd.Timestamp("2026-03-02 04:00")
    assert naive_utc(pd.Timestamp("2026-07-15 19:30", tz="America/New_York")) == pd.Timestamp("2026-07-15 23:30")
    assert naive_utc("2026-03-02 09:30") == pd.Timestamp("2026-03-02 09:30")
    assert naive_utc("2026-03-02 09:30+05:30").tzinfo is None
