from datetime import datetime, timezone

import pandas as pd

from social_pipeline.core.clock import utc_now


def test_utc_now_is_naive_utc():
    before = pd.Timestamp(datetime.now(timezone.utc)).tz_localize(None)
    now = utc_now()
    after = pd.Timestamp(datetime.now(timezone.utc)).tz_localize(None)
    assert now.tzinfo is None
    # UTC, not the machine's local time: it falls between two UTC readings taken around it.
    assert before <= now <= after
