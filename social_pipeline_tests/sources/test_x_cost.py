"""X's bill: what each request read and cost (ops.x_api_usage), the owned-read route, the budget, x-cost.
HTTP through `responses` and tweepy's real request code; real DuckDB files and real Dagster runs."""

from urllib.parse import parse_qs, urlparse

import dagster as dg
import pandas as pd
import pytest
import responses

from social_pipeline.core.clock import utc_now
from social_pipeline.core.x_payloads import published_at_from_id
from social_pipeline.defs.ingestion.assets import raw_account_snapshots, raw_posts, raw_tweet_metrics
from social_pipeline.resources.sources import XApiSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.x_api import XApiError, XApiSource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    API,
    NOW,
    TWEETS,
    USER_CONTEXT,
    serve_timeline,
    snowflake,
    timeline_page,
    tweet,
    tweets_callback,
    users_response,
    with_hours,
)

KEY = (NOW.floor("h") - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")
COLLECTION = [raw_posts, raw_tweet_metrics, raw_account_snapshots]


def x_resources(tmp_path, **settings):
    return {
        "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        "source": XApiSourceResource(x_bearer_token="t0ken", x_usernames="alice_data", x_max_retries=0, **settings),
    }


def usage_rows(tmp_path) -> list[tuple]:
    con = connect(str(tmp_path / "w.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT endpoint, user_id, read_kind, request_count, resources, estimated_usd "
        "FROM ops.x_api_usage ORDER BY endpoint, read_kind"
    ).fetchall()
    con.close()
    return rows


@responses.activate
def test_every_request_is_recorded_with_its_resources_and_dollars_and_the_run_shows_its_total(tmp_path):
    responses.get(f"{API}/users/by", json=users_response())
    serve_timeline({None: (200, timeline_page([2, 3, 4], "PAGE2")), "PAGE2": (200, timeline_page([5, 6]))})
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    result = dg.materialize(COLLECTION, resources=x_resources(tmp_path), partition_key=KEY, instance=with_hours(KEY))
    assert result.success
    # Bearer token: no owned reads. 5 posts on 2 timeline pages, 5 posts in 1 lookup, the account twice
    # (its numeric id for the timeline, then its follower figures).
    assert usage_rows(tmp_path) == [
        ("GET /2/tweets", "alice_data", "post_read", 1, 5, pytest.approx(5 * 0.005)),
        ("GET /2/users", "alice_data", "user_read", 2, 2, pytest.approx(2 * 0.010)),
        ("GET /2/users/:id/tweets", "alice_data", "post_read", 2, 5, pytest.approx(5 * 0.005)),
    ]
    run_total = 5 * 0.005 + 2 * 0.010 + 5 * 0.005
    week = result.asset_materializations_for_node("raw_tweet_metrics")[0].metadata
    assert week["x_api_usd_last_7_days_by_account"].value.keys() == {"alice_data"}
    shown = [
        result.asset_materializations_for_node(a.key.path[-1])[0].metadata["x_api_usd_this_run"].value
        for a in COLLECTION
    ]
    # Each asset shows the run's total so far; the one that ran last the whole run's.
    assert max(shown) == pytest.approx(run_total)
    assert min(shown) > 0

    # A second run adds its own rows (real money spent again: this fake timeline serves the same 5 posts);
    # the first run's stay as they were.
    assert dg.materialize(
        COLLECTION, resources=x_resources(tmp_path), partition_key=KEY, instance=with_hours(KEY)
    ).success
    con = connect(str(tmp_path / "w.duckdb"), read_only=True)
    per_run = con.execute("SELECT count(DISTINCT run_id), sum(estimated_usd) FROM ops.x_api_usage").fetchone()
    con.close()
    assert per_run[0] == 2 and per_run[1] == pytest.approx(2 * run_total)


@responses.activate
def test_configured_rates_price_the_reads(tmp_path):
    responses.get(f"{API}/users/by", json=users_response())
    serve_timeline({None: (200, timeline_page([2, 3]))})
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    resources = x_resources(tmp_path, x_price_post_read_usd=0.5, x_price_user_read_usd=2.0)
    assert dg.materialize(
        [raw_posts, raw_tweet_metrics], resources=resources, partition_key=KEY, instance=with_hours(KEY)
    ).success
    assert [(r[0], r[4], r[5]) for r in usage_rows(tmp_path)] == [
        ("GET /2/tweets", 2, pytest.approx(1.0)),
        ("GET /2/users", 1, pytest.approx(2.0)),
        ("GET /2/users/:id/tweets", 2, pytest.approx(1.0)),
    ]


def due_posts(tmp_path, published: dict[str, str], collected_from: str, collected_to: str, **cadence) -> list:
    """The due_posts.sql answer over hand-made posts, with the cadence the resource would pass."""
    from social_pipeline.defs.ingestion.assets import sql
    from social_pipeline.resources.sources import SimulatedSourceResource

    con = connect(str(tmp_path / "due.duckdb"))
    con.executemany(
        "INSERT INTO raw.posts (post_id, user_id, published_at, source, ingested_at) "
        "VALUES (?, 'alice_data', ?, 'x_api', now())",
        list(published.items()),
    )
    params = SimulatedSourceResource(**cadence).cadence().sql_params()
    rows = con.execute(
        sql("due_posts"),
        {
            "first_collection": collected_from,
            "last_collection": collected_to,
            "user_ids": ["alice_data"],
            "unavailable": [],  # none reported gone
            **params,
        },
    ).fetchall()
    con.close()
    return [(post_id, str(at)) for post_id, _, at in rows]


POSTS_BY_AGE = {  # ages at Monday 2026-11-30 00:00
    "age_1d": "2026-11-29 00:00",
    "age_2d": "2026-11-28 00:00",
    "age_3d": "2026-11-27 00:00",
    "age_10d": "2026-11-20 00:00",
    "age_40d": "2026-10-21 00:00",
    "age_400d": "2025-10-26 00:00",
}


def test_the_cadence_is_configuration_and_the_default_keeps_today_s_rule(tmp_path):
    monday, sunday_23 = "2026-11-30 00:00:00", "2026-11-29 23:00:00"
    # Default (7 / 30 / no end): at Monday 00:00 every post is due, however old.
    assert [p for p, _ in due_posts(tmp_path / "a", POSTS_BY_AGE, monday, monday)] == sorted(POSTS_BY_AGE)
    # At 23:00 only the posts of the hourly phase (7 days).
    assert [p for p, _ in due_posts(tmp_path / "b", POSTS_BY_AGE, sunday_23, sunday_23)] == [
        "age_1d",
        "age_2d",
        "age_3d",
    ]
    # Hourly for 2 days, daily until 10, weekly until 40: the 400-day-old post is no longer read.
    tight = dict(x_track_hourly_days=2, x_track_daily_days=10, x_track_max_days=40)
    tight_at_23 = due_posts(tmp_path / "c", POSTS_BY_AGE, sunday_23, sunday_23, **tight)
    assert [p for p, _ in tight_at_23] == ["age_1d", "age_2d"]
    assert [p for p, _ in due_posts(tmp_path / "d", POSTS_BY_AGE, monday, monday, **tight)] == [
        "age_10d",
        "age_1d",
        "age_2d",
        "age_3d",
        "age_40d",
    ]


def test_a_cadence_that_contradicts_itself_fails_the_run_naming_the_setting(tmp_path):
    from social_pipeline.resources.sources import SimulatedSourceResource

    with pytest.raises(dg.Failure, match="X_TRACK_MAX_DAYS=20 is below X_TRACK_DAILY_DAYS=30"):
        SimulatedSourceResource(x_track_max_days=20).cadence()
    with pytest.raises(dg.Failure, match="X_TRACK_HOURLY_DAYS=9 and X_TRACK_DAILY_DAYS=8"):
        SimulatedSourceResource(x_track_hourly_days=9, x_track_daily_days=8).cadence()


def own_and_other_posts():
    own_young = [snowflake(NOW - pd.Timedelta(hours=h)) for h in (2, 30, 72)]
    own_old = snowflake(NOW - pd.Timedelta(days=10))  # past the hourly phase: a lookup
    not_due = snowflake(NOW - pd.Timedelta(hours=50), 1)  # on the timeline, not asked for
    bobs = snowflake(NOW - pd.Timedelta(hours=3), 2)  # another account: a lookup
    requests = pd.DataFrame(
        {"post_id": [*own_young, own_old, bobs], "user_id": ["alice_data"] * 4 + ["bob"], "collected_at": NOW}
    )
    return requests, own_young, own_old, not_due, bobs


def serve_own_account(timeline_ids):
    responses.get(f"{API}/users/me", json={"data": {"id": "42", "name": "Alice", "username": "Alice_Data"}})
    responses.get(
        f"{API}/users/42/tweets",
        json={"data": [tweet(i) for i in timeline_ids], "meta": {"result_count": len(timeline_ids)}},
    )
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)


@responses.activate
def test_the_authenticated_account_s_recent_posts_come_through_its_own_timeline_as_owned_reads():
    requests, own_young, own_old, not_due, bobs = own_and_other_posts()
    serve_own_account([own_young[0], own_young[1], not_due, own_young[2]])
    src = XApiSource(USER_CONTEXT, usernames="alice_data,bob", sleep=lambda s: None)
    batch = src.fetch_metrics(requests)

    assert sorted(batch.frame["post_id"]) == sorted(requests["post_id"]) and (batch.frame["status"] == "ok").all()
    timeline = [c.request for c in responses.calls if "/users/42/tweets" in c.request.url]
    assert len(timeline) == 1 and timeline[0].headers["Authorization"].startswith("OAuth ")
    query = parse_qs(urlparse(timeline[0].url).query)
    assert "non_public_metrics" in query["tweet.fields"][0] and query["exclude"] == ["retweets"]
    # From just before the oldest own recent post (72 h ago); X takes whole seconds.
    start = pd.Timestamp(query["start_time"][0]).tz_localize(None)
    assert pd.Timedelta(seconds=1) <= published_at_from_id(own_young[2]) - start < pd.Timedelta(seconds=2)
    looked_up = [
        parse_qs(urlparse(c.request.url).query)["ids"][0] for c in responses.calls if c.request.url.startswith(TWEETS)
    ]
    assert sorted(looked_up) == sorted([own_old, bobs])  # own old (with private fields), bob's (without)
    by_kind = {(u.endpoint, u.read_kind, u.user_id): (u.resources, u.estimated_usd) for u in src.usage}
    assert by_kind[("GET /2/users/:id/tweets", "owned_read", "alice_data")] == (4, pytest.approx(4 * 0.001))
    assert by_kind[("GET /2/tweets", "post_read", "alice_data")] == (1, pytest.approx(0.005))
    assert by_kind[("GET /2/tweets", "post_read", "bob")] == (1, pytest.approx(0.005))
    assert by_kind[("GET /2/users/me", "user_read", "alice_data")] == (1, pytest.approx(0.010))


@responses.activate
def test_the_same_collection_through_each_route_gives_the_same_rows():
    requests, own_young, own_old, not_due, bobs = own_and_other_posts()
    serve_own_account([own_young[0], own_young[1], not_due, own_young[2]])
    through_timeline = XApiSource(USER_CONTEXT, usernames="alice_data,bob").fetch_metrics(requests).frame
    through_lookups = (
        XApiSource(USER_CONTEXT, usernames="alice_data,bob", owned_timeline_days=0).fetch_metrics(requests).frame
    )
    assert sum("/users/42/tweets" in c.request.url for c in responses.calls) == 1  # only the first route

    def comparable(frame):
        return frame.drop(columns="collected_at").sort_values("post_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(comparable(through_timeline), comparable(through_lookups))


@responses.activate
def test_an_own_post_the_timeline_does_not_return_is_looked_up_and_reported():
    requests, own_young, own_old, not_due, bobs = own_and_other_posts()
    serve_own_account([own_young[0], own_young[2]])  # own_young[1] was deleted
    batch = XApiSource(USER_CONTEXT, usernames="alice_data,bob").fetch_metrics(requests)
    looked_up = [
        parse_qs(urlparse(c.request.url).query)["ids"][0] for c in responses.calls if c.request.url.startswith(TWEETS)
    ]
    assert sorted(looked_up) == sorted([f"{own_young[1]},{own_old}", bobs])
    assert len(batch.frame) == 5 and (batch.frame["status"] == "ok").all()


def test_expected_cost_of_one_account_posting_three_times_a_day_by_hand():
    from social_pipeline.core.collection import TrackingCadence
    from social_pipeline.core.x_cost import XPrices, expected_daily_cost

    accounts = pd.DataFrame({"user_id": ["alice_data"], "posts_per_day": [3.0], "weekly_tracked_posts": [0]})
    lookups = expected_daily_cost(accounts, TrackingCadence(), XPrices(), owned_user_id=None)
    # 3 posts a day, each read 7 * 24 = 168 times hourly and 23 times daily: 573 lookups a day;
    # 3 new posts a day from the timeline; follower figures and the account id: 2 users every hour.
    assert lookups[["endpoint", "read_kind", "reads_per_day"]].values.tolist() == [
        ["GET /2/tweets", "post_read", 573.0],
        ["GET /2/users/:id/tweets", "post_read", 3.0],
        ["GET /2/users", "user_read", 48.0],
    ]
    assert lookups["usd_per_day"].sum() == pytest.approx(573 * 0.005 + 3 * 0.005 + 48 * 0.010)  # 3.36
    assert lookups["usd_per_month"].sum() == pytest.approx(30 * 3.36)
    owned = expected_daily_cost(accounts, TrackingCadence(), XPrices(), owned_user_id="alice_data")
    # The hourly phase through the own timeline (504 + 3 new posts, owned reads), get_me every hour.
    assert owned[["endpoint", "read_kind", "reads_per_day"]].values.tolist() == [
        ["GET /2/tweets", "post_read", 69.0],
        ["GET /2/users/:id/tweets", "owned_read", 507.0],
        ["GET /2/users", "user_read", 48.0],
        ["GET /2/users/me", "user_read", 24.0],
    ]
    assert owned["usd_per_day"].sum() == pytest.approx(69 * 0.005 + 507 * 0.001 + 72 * 0.010)  # 1.572
    # X_TRACK_MAX_DAYS=90: 60 days of weekly reads, 3 * 60 / 7 posts a day more.
    capped = expected_daily_cost(accounts, TrackingCadence(max_days=90), XPrices(), owned_user_id=None)
    assert capped["reads_per_day"].iloc[0] == pytest.approx(573 + 3 * 60 / 7)


def test_x_cost_command_reads_the_warehouse_s_x_accounts(tmp_path, monkeypatch, capsys):
    from social_pipeline.app.cli import main

    database = str(tmp_path / "w.duckdb")
    con = connect(database)
    now = pd.Timestamp.now("UTC").tz_localize(None)
    # alice: 56 posts in the last 28 days (2 a day), 14 posts 40 days old and 7 from an export file 60 days old
    # (read weekly too); bob is not an X API account (only an export).
    posts = [(f"a{n}", "alice_data", now - pd.Timedelta(hours=12 * n + 1), "x_api") for n in range(56)]
    posts += [(f"o{n}", "alice_data", now - pd.Timedelta(days=40), "x_api") for n in range(14)]
    posts += [("b1", "bob", now - pd.Timedelta(days=1), "x_export")]
    posts += [(f"e{n}", "alice_data", now - pd.Timedelta(days=60), "x_export") for n in range(7)]  # read weekly
    con.executemany(
        "INSERT INTO raw.posts (post_id, user_id, published_at, source, ingested_at) VALUES (?, ?, ?, ?, now())", posts
    )
    con.close()
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", database)
    monkeypatch.setenv("X_PRICE_POST_READ_USD", "0.01")
    assert main(["x-cost"]) == 0
    out = capsys.readouterr().out
    assert "post read 0.01," in out and "bob" not in out
    lookups = 2 * 168 + 2 * 23 + 21 / 7  # 385 a day
    total_usd = lookups * 0.01 + 2 * 0.01 + 48 * 0.010
    assert f"{lookups:,.1f}" in out and f"{total_usd:,.2f}" in out and f"{30 * total_usd:,.2f}" in out

    monkeypatch.setenv("X_TRACK_DAILY_DAYS", "3")
    monkeypatch.setenv("X_TRACK_HOURLY_DAYS", "5")
    assert main(["x-cost"]) == 2
    assert "X_TRACK_HOURLY_DAYS=5 and X_TRACK_DAILY_DAYS=3" in capsys.readouterr().err


def young_posts_in_warehouse(database: str, count: int) -> list[str]:
    ids = [snowflake(NOW - pd.Timedelta(hours=2), n) for n in range(count)]
    con = connect(database)
    con.executemany(
        "INSERT INTO raw.posts (post_id, user_id, published_at, source, ingested_at) "
        "VALUES (?, 'alice_data', ?, 'x_api', now())",
        [(i, published_at_from_id(i)) for i in ids],
    )
    con.close()
    return ids


def spent_by_another_run(database: str, usd: float, day) -> None:
    con = connect(database)
    con.execute(
        "INSERT INTO ops.x_api_usage VALUES ($day, 'GET /2/tweets', 'alice_data', 'post_read', 'other-run', "
        "1, 1, $usd, now())",
        {"day": day, "usd": usd},
    )
    con.close()


@pytest.mark.parametrize("budget_usd, requests_made", [(1.00, 1), (1.20, 2)])
@responses.activate
def test_the_budget_stops_before_the_request_that_would_cross_it_and_keeps_what_was_fetched(
    tmp_path, budget_usd, requests_made
):
    database = str(tmp_path / "w.duckdb")
    young_posts_in_warehouse(database, 250)  # 3 lookups: 100 ids ($0.50), 100 ($0.50), 50 ($0.25)
    spent_by_another_run(database, 0.20, utc_now().date())  # the source's "today", not the import's
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    resources = x_resources(tmp_path, x_budget_usd_per_day=budget_usd)
    instance = with_hours(KEY)
    result = dg.materialize(
        [raw_tweet_metrics], resources=resources, partition_key=KEY, instance=instance, raise_on_error=False
    )
    assert not result.success
    assert len(responses.calls) == requests_made
    # $1.00: 0.20 + 0.50 fits, a second 0.50 would not. $1.20: 0.20 + 0.50 + 0.50 lands on it exactly,
    # the third request's 0.25 would not.
    spent = 0.5 * requests_made
    stored = 100 * requests_made
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith(
        f"X budget reached, get_tweets ({250 - stored if requests_made == 2 else 100} ids) "
        f"not requested: X_BUDGET_USD_PER_DAY=${budget_usd:.2f} would be crossed: "
        f"${0.2 + spent:.3f} spent today (UTC) (${spent:.3f} by this run, $0.200 by earlier "
        "runs)"
    )
    assert f"Skipped: {250 - stored} of 250 posts due." in message
    assert f"({stored} of 250 posts were fetched before the failure and are stored)" in message
    con = connect(database, read_only=True)
    kept = con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchone()[0]
    recorded = con.execute(
        "SELECT sum(estimated_usd) FROM ops.x_api_usage WHERE run_id = $run", {"run": result.run_id}
    ).fetchone()[0]
    con.close()
    assert kept == stored and recorded == pytest.approx(spent)


@responses.activate
def test_what_yesterday_spent_does_not_stop_today_s_run(tmp_path):
    database = str(tmp_path / "w.duckdb")
    young_posts_in_warehouse(database, 250)
    yesterday = (utc_now() - pd.Timedelta(days=1)).date()
    spent_by_another_run(database, 0.95, yesterday)  # yesterday's runs spent up to the daily budget
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    daily = x_resources(tmp_path, x_budget_usd_per_day=1.50)
    assert dg.materialize([raw_tweet_metrics], resources=daily, partition_key=KEY, instance=with_hours(KEY)).success
    assert len(responses.calls) == 3  # $1.25 today: yesterday's spending does not count


@responses.activate
def test_the_monthly_budget_counts_this_month_s_runs_and_not_last_month_s(tmp_path):
    database = str(tmp_path / "w.duckdb")
    young_posts_in_warehouse(database, 250)
    today = utc_now().date()
    last_month = (pd.Timestamp(today).replace(day=1) - pd.Timedelta(days=1)).date()
    spent_by_another_run(database, 100.0, last_month)
    spent_by_another_run(database, 2.20, today)
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    monthly = x_resources(tmp_path, x_budget_usd_per_month=2.50)
    with pytest.raises(dg.Failure, match=r"X_BUDGET_USD_PER_MONTH=\$2.50 would be crossed: \$2.200 spent this month"):
        dg.materialize([raw_tweet_metrics], resources=monthly, partition_key=KEY, instance=with_hours(KEY))
    assert len(responses.calls) == 0


@responses.activate
def test_the_failure_sensor_s_email_names_the_budget_what_was_spent_and_what_was_skipped(tmp_path, smtp_server):  # noqa: F811 (the fixture imported above)
    import time

    from social_pipeline.defs.ops.sensors import record_and_notify_run_failure
    from social_pipeline.resources.smtp import SmtpResource
    from social_pipeline_tests.helpers import file_stores_under

    port, received = smtp_server
    database = str(tmp_path / "w.duckdb")
    young_posts_in_warehouse(database, 250)
    responses.add_callback(responses.GET, TWEETS, callback=tweets_callback)
    instance = with_hours(KEY)
    result = dg.materialize(
        [raw_tweet_metrics],
        resources=x_resources(tmp_path, x_budget_usd_per_day=0.6),
        partition_key=KEY,
        instance=instance,
        raise_on_error=False,
    )
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_run_failure)
    context = dg.build_run_status_sensor_context(
        sensor_name="record_and_notify_run_failure",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure.dagster_event,
        resources={
            "smtp": SmtpResource(host="127.0.0.1", port=port, recipients=["team@example.com"]),
            "file_stores": file_stores_under(tmp_path),
        },
    ).for_run_failure()
    record_and_notify_run_failure(context)
    deadline = time.time() + 5
    while not received and time.time() < deadline:
        time.sleep(0.05)
    body = received[0].get_payload(decode=True).decode()
    assert "X_BUDGET_USD_PER_DAY=$0.60 would be crossed: $0.500 spent today (UTC)" in body
    assert "Skipped: 150 of 250 posts due." in body


@responses.activate
def test_own_timeline_pages_fetched_before_a_failure_are_handed_over():
    requests, own_young, own_old, not_due, bobs = own_and_other_posts()
    responses.get(f"{API}/users/me", json={"data": {"id": "42", "name": "Alice", "username": "Alice_Data"}})
    responses.get(
        f"{API}/users/42/tweets",
        match=[responses.matchers.query_param_matcher({"pagination_token": "PAGE2"}, strict_match=False)],
        status=503,
    )
    responses.get(
        f"{API}/users/42/tweets",
        json={"data": [tweet(own_young[0])], "meta": {"result_count": 1, "next_token": "PAGE2"}},
    )
    with pytest.raises(XApiError, match="gave up after 1 attempts") as raised:
        XApiSource(USER_CONTEXT, usernames="alice_data,bob", max_retries=0).fetch_metrics(requests)
    assert raised.value.partial_batch.frame["post_id"].tolist() == [own_young[0]]
