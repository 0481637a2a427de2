"""X analytics export and profile-activity parsing on realistic files (pure, no warehouse)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from social_pipeline.core.exports import CLASSIC, CONTENT, PROFILE, ExportError, parse_file, snapshot_time_for

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "inbox-samples"
CLASSIC_SAMPLE = SAMPLES / "tweet_activity_metrics_alice_data_20261101_20261122_en.csv"
CONTENT_SAMPLE = SAMPLES / "account_analytics_content_2026-10-23_2026-11-22.csv"
PROFILE_SAMPLE = SAMPLES / "profile_activity_alice_data_2026-11.csv"
DOWNLOADED = pd.Timestamp("2026-11-22 09:31:40")
NOW = pd.Timestamp("2026-11-22 10:00")

CLASSIC_HEAD = (
    '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements","engagement rate",'
    '"retweets","replies","likes","user profile clicks","url clicks","media views","promoted impressions"\n'
)


def classic_row(
    post_id="1464296906283384834",
    text="hello",
    time="2021-11-30 16:00 +0000",
    impressions="1777.0",
    likes="52.0",
    retweets="14.0",
    replies="3.0",
    media_views="-",
):
    return (
        f'"{post_id}","https://twitter.com/Alice_Data/status/{post_id}","{text}","{time}","{impressions}","99.0",'
        f'"0.0557","{retweets}","{replies}","{likes}","9.0","4.0","{media_views}","-"\n'
    )


def parse(text: str, name="tweet_activity_metrics_alice_data_20211101_20211201_en.csv", **kwargs):
    return parse_file(text.encode("utf-8"), name, modified_at=DOWNLOADED, now=NOW, **kwargs)


def test_classic_sample_bom_multiline_quotes_dash_and_duplicate_row():
    assert CLASSIC_SAMPLE.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM X writes
    parsed = parse_file(CLASSIC_SAMPLE.read_bytes(), CLASSIC_SAMPLE.name, modified_at=DOWNLOADED, now=NOW)
    assert parsed.kind == CLASSIC and parsed.rows == 4
    assert "line 10 repeats line 7; dropped" in parsed.notes
    first = parsed.posts.iloc[0]
    assert first["text"].startswith("Shipped a DuckDB-backed pipeline today 🦆\nThree lessons:")
    assert '"small data"' in first["text"]
    assert first["published_at"] == pd.Timestamp("2026-11-03 08:14") and first["published_time_known"]
    assert first["user_id"] == "alice_data"
    metrics = parsed.metrics.set_index("post_id")
    row = metrics.loc[first["post_id"]]
    assert row[["impressions", "likes", "retweets", "replies", "profile_clicks", "url_clicks"]].tolist() == [
        1777,
        52,
        14,
        3,
        9,
        4,
    ]
    assert pd.isna(row["media_views"]) and pd.isna(row["quotes"])  # "-" and absent -> NULL
    assert metrics["media_views"].dropna().tolist() == [410]
    payload = json.loads(row["payload"])
    assert payload["engagement rate"] and payload["promoted impressions"] == "-"  # kept, not copied
    assert "engagement_rate" not in parsed.metrics.columns
    # Downloaded 2026-11-22 09:31 inside the range that ends that day: the figures stand for then.
    assert parsed.snapshot_time == pd.Timestamp("2026-11-22 09:31") and parsed.partition_key == "2026-11-22-09:00"


def test_content_sample_has_dates_without_time_of_day():
    parsed = parse_file(CONTENT_SAMPLE.read_bytes(), CONTENT_SAMPLE.name, modified_at=DOWNLOADED, now=NOW)
    assert parsed.kind == CONTENT and parsed.rows == 3
    assert not parsed.posts["published_time_known"].any()
    assert parsed.posts["published_at"].tolist() == [
        pd.Timestamp(d) for d in ("2026-11-16", "2026-11-18", "2026-11-20")
    ]
    assert parsed.posts["text"].iloc[0] == "Monday notes: the warehouse schema in one module.\nNo more drift."
    last = parsed.metrics.iloc[2]
    # Reposts -> retweets, Profile visits -> profile_clicks, whatever the column order.
    assert last[
        ["impressions", "likes", "retweets", "replies", "bookmarks", "profile_clicks", "url_clicks"]
    ].tolist() == [5120, 140, 31, 17, 22, 6, 2]
    assert any("no time of day" in note for note in parsed.notes)


def test_content_columns_in_another_order_with_thousands():
    text = (
        "Impressions,Post Link,Replies,Date,Post id,Likes,Reposts\n"
        '"12,400",https://x.com/bob/status/2123733088465846279,4,"Tue, Jul 14, 2026",2123733088465846279,77,-\n'
    )
    parsed = parse(text, name="account_analytics_content_2026-06-15_2026-07-14.csv")
    row = parsed.metrics.iloc[0]
    assert (row["impressions"], row["likes"], row["replies"]) == (12400, 77, 4) and pd.isna(row["retweets"])
    assert parsed.posts.iloc[0]["user_id"] == "bob"
    # Downloaded (mtime) months after the range ended: capped at the range's last day, 23:59 UTC.
    assert parsed.snapshot_time == pd.Timestamp("2026-07-14 23:59")


def test_snapshot_time_rules():
    newest = pd.Timestamp("2026-11-20 08:00")
    name = "account_analytics_content_2026-10-23_2026-11-22.csv"
    assert snapshot_time_for(name, pd.Timestamp("2026-11-22 09:31:40"), newest, NOW) == pd.Timestamp("2026-11-22 09:31")
    assert snapshot_time_for("x.csv", None, newest, NOW) == NOW  # no evidence: the time of ingestion
    # An mtime before the newest post is impossible (e.g. restored from an archive): not earlier than it.
    assert snapshot_time_for(name, pd.Timestamp("2026-01-01"), newest, NOW) == newest


@pytest.mark.parametrize(
    "text, problem, line",
    [
        ("", "the file is empty", 1),
        ("\n\n", "the file is empty", 1),
        ('"Post","Clicks"\n"1","2"\n', "unrecognised header", 1),
        (
            CLASSIC_HEAD + classic_row() + classic_row(post_id="1464296906283384835", time="30/11/2021 4pm"),
            "unparsable time '30/11/2021 4pm'",
            3,
        ),
        (CLASSIC_HEAD + classic_row(likes="-3.0"), "column 'likes': negative count '-3.0'", 2),
        (CLASSIC_HEAD + classic_row(impressions="12.5"), "not a whole count", 2),
        (CLASSIC_HEAD + classic_row(impressions="lots"), "'lots' is not a count", 2),
        (
            CLASSIC_HEAD
            + classic_row()
            + '"1464296906283384835","https://twitter.com/a/status/1464296906283384835","cut',
            "ends inside a quoted field",
            3,
        ),
        (
            CLASSIC_HEAD + classic_row() + '"1464296906283384835","https://twitter.com/a/status/1","t","2021-11-30',
            "ends inside a quoted field",
            3,
        ),
        (
            CLASSIC_HEAD + classic_row() + '"1464296906283384835","https://twitter.com/a/status/1","t"\n',
            "the last row has 3 of 14 columns: the file looks truncated",
            3,
        ),
        (
            CLASSIC_HEAD + classic_row() + classic_row(likes="60.0"),
            "appears again with different figures (first on line 2)",
            3,
        ),
        (CLASSIC_HEAD + classic_row(post_id="abc"), "'abc' is not a post id", 2),
    ],
)
def test_bad_files_name_the_problem_and_line(text, problem, line):
    with pytest.raises(ExportError) as raised:
        parse(text)
    assert problem in raised.value.problem
    assert raised.value.line == line


def test_multiline_text_keeps_line_numbers_right():
    text = (
        CLASSIC_HEAD
        + classic_row(text='first\nsecond ""quoted""\nthird')
        + classic_row(post_id="1464296906283384835", likes="-1")
    )
    with pytest.raises(ExportError) as raised:
        parse(text)
    assert raised.value.line == 5  # the bad row starts after the three-line text


def test_content_export_without_links_needs_a_user():
    text = 'Post id,Date,Impressions,Likes\n2123733088465846279,"Fri, Nov 20, 2026",10,1\n'
    with pytest.raises(ExportError, match="cannot tell whose post"):
        parse(text, name="account_analytics_content_2026-10-23_2026-11-22.csv")
    parsed = parse(text, name="account_analytics_content_2026-10-23_2026-11-22.csv", default_user="Alice_Data")
    assert parsed.posts["user_id"].tolist() == ["alice_data"]


def test_profile_sample_and_template_errors():
    parsed = parse_file(PROFILE_SAMPLE.read_bytes(), PROFILE_SAMPLE.name, now=NOW)
    assert parsed.kind == PROFILE and parsed.rows == 4
    x_row = parsed.profile[parsed.profile["platform"] == "x"].iloc[0]
    assert x_row["profile_views"] == 120 and pd.isna(x_row["inmails_received"])
    head = "user_id,platform,snapshot_date,profile_views\n"
    with pytest.raises(ExportError, match="unparsable date '20/11/2026'") as raised:
        parse(head + "alice,linkedin,2026-11-19,3\nalice,linkedin,20/11/2026,4\n")
    assert raised.value.line == 3
    with pytest.raises(ExportError, match="unknown column.*'profile_veiws'"):
        parse("user_id,platform,snapshot_date,profile_veiws\nalice,linkedin,2026-11-19,3\n")
    same = parse(head + "alice,LinkedIn,2026-11-19,3\nalice,linkedin,2026-11-19,3\n")
    assert same.rows == 1 and same.profile["platform"].tolist() == ["linkedin"]


# The newer layout as X writes it, with its placeholder rows (no id, date or text; /status/undefined; all 0).
CONTENT_HEAD = (
    "Date,Post id,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,"
    "Replies,Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks\n"
)
PLACEHOLDER = ",,,https://x.com/alice_data/status/undefined," + ",".join(["0"] * 13) + "\n"
CONTENT_NAME = "account_analytics_content_2025-10-01_2025-12-30.csv"


def content_row(
    post_id="1983733088465846279",
    date="Mon, Nov 17, 2025",
    text="hello",
    impressions="1210",
    likes="33",
    replies="5",
    reposts="2",
):
    return (
        f'"{date}",{post_id},"{text}",https://x.com/alice_data/status/{post_id or "undefined"},{impressions},'
        f"{likes},54,4,1,0,{replies},{reposts},6,14,2,0,3\n"
    )


def test_placeholder_rows_are_skipped_with_a_note_that_counts_them():
    text = (
        CONTENT_HEAD
        + content_row()
        + PLACEHOLDER
        + content_row("1983733088465846280", "Tue, Nov 18, 2025")
        + PLACEHOLDER
        + PLACEHOLDER
    )
    parsed = parse(text, name=CONTENT_NAME)
    assert parsed.rows == 2 and parsed.posts["post_id"].tolist() == ["1983733088465846279", "1983733088465846280"]
    assert (
        "3 placeholder rows X writes into its exports (no post id, date or text, a link to /status/undefined, "
        "every count 0) skipped: line(s) 3, 5, 6"
    ) in parsed.notes


@pytest.mark.parametrize(
    "row, line",
    [
        (content_row(post_id=""), 3),  # an id missing from a real row, not X's placeholder
        (PLACEHOLDER.replace(",0,0,0,", ",0,7,0,", 1), 3),  # a count that is not 0
        (PLACEHOLDER.replace(",,,", ',,"some text",', 1), 3),  # text present
    ],
)
def test_a_missing_id_that_is_not_a_placeholder_still_rejects_naming_its_line(row, line):
    with pytest.raises(ExportError, match="column 'Post id': '' is not a post id") as raised:
        parse(CONTENT_HEAD + content_row() + row, name=CONTENT_NAME)
    assert raised.value.line == line


@pytest.mark.parametrize("value", ["99999999999999999999", "1e308", "9223372036854775808"])
def test_a_count_past_64_bits_is_a_rejection_naming_line_and_column(value):
    with pytest.raises(ExportError) as raised:
        parse(CLASSIC_HEAD + classic_row() + classic_row(post_id="1464296906283384835", impressions=value))
    assert raised.value.line == 3
    assert (
        raised.value.problem
        == f"column 'impressions': '{value}' is too large for a count (more than 9,223,372,036,854,775,807)"
    )


def test_the_largest_64_bit_count_is_kept_exactly():
    parsed = parse(CLASSIC_HEAD + classic_row(impressions="9223372036854775807"))
    assert int(parsed.metrics["impressions"].iloc[0]) == 2**63 - 1


def test_a_date_after_ingestion_is_refused_naming_the_line():
    # NOW is 2026-11-22 10:00: 2031 is refused, 5 minutes ahead is clock skew and kept.
    with pytest.raises(
        ExportError,
        match="column 'time': '2031-03-01 09:00 \\+0000' is after the time of ingestion \\(2026-11-22 10:00 UTC\\)",
    ) as raised:
        parse(CLASSIC_HEAD + classic_row() + classic_row(post_id="1464296906283384835", time="2031-03-01 09:00 +0000"))
    assert raised.value.line == 3
    skewed = parse(
        CLASSIC_HEAD + classic_row(time="2026-11-22 10:05 +0000"),
        name="tweet_activity_metrics_alice_data_20261101_20261122_en.csv",
    )
    # Not before the newest post, but never past the time of ingestion.
    assert skewed.snapshot_time == NOW < skewed.posts["published_at"].iloc[0]
    # A date-only post: tomorrow (UTC+14 accounts) passes, the day after does not.
    assert parse(CONTENT_HEAD + content_row(date="Mon, Nov 23, 2026"), name=CONTENT_NAME).rows == 1
    with pytest.raises(ExportError, match="'Tue, Nov 24, 2026' is after the time of ingestion") as raised:
        parse(CONTENT_HEAD + content_row(date="Tue, Nov 24, 2026"), name=CONTENT_NAME)
    assert raised.value.line == 2
    with pytest.raises(ExportError, match="'snapshot_date': '2027-01-01' is after"):
        parse("user_id,platform,snapshot_date,profile_views\nalice,linkedin,2027-01-01,3\n")


def test_reposts_are_skipped_in_both_layouts_and_quotes_are_kept():
    classic = parse(
        CLASSIC_HEAD
        + classic_row(text="RT @bob: the original post", impressions="2.0", retweets="49.0")
        + classic_row(post_id="1464296906283384835", text="quoting RT @bob: is mine")
    )
    assert classic.posts["post_id"].tolist() == ["1464296906283384835"]
    assert classic.notes[0] == "1 reposts skipped (their counts are the original post's, not this account's): line(s) 2"
    content = parse(
        CONTENT_HEAD
        + content_row(text="RT @bob: the original", impressions="2", reposts="49")
        + content_row("1983733088465846280"),
        name=CONTENT_NAME,
    )
    assert content.posts["post_id"].tolist() == ["1983733088465846280"]


def test_history_years_back_and_a_header_only_file():
    old = parse(
        CLASSIC_HEAD + classic_row(time="2016-03-04 18:30 +0000", impressions="0.0", likes="12.0"),
        name="tweet_activity_metrics_alice_data_20160301_20160331_en.csv",
    )
    assert old.posts["published_at"].tolist() == [pd.Timestamp("2016-03-04 18:30")]
    assert old.snapshot_time == pd.Timestamp("2016-03-31 23:59")  # the range's end, not today
    empty = parse(CONTENT_HEAD, name=CONTENT_NAME)
    assert empty.kind == CONTENT and empty.rows == 0 and empty.notes == []
    only_placeholders = parse(CONTENT_HEAD + PLACEHOLDER, name=CONTENT_NAME)
    assert only_placeholders.rows == 0 and "1 placeholder rows" in only_placeholders.notes[0]


def test_the_newer_layouts_new_follows_are_kept_per_post():
    # content_row's New follows column is 0; a second post's is 7 (columns: ...,Shares,New follows,...).
    second = content_row("1983733088465846280", "Tue, Nov 18, 2025").replace(",54,4,1,0,", ",54,4,1,7,")
    parsed = parse(CONTENT_HEAD + content_row() + second, name=CONTENT_NAME)
    assert parsed.metrics["new_follows"].tolist() == [0, 7]
    # The classic layout has no such column.
    assert parse(CLASSIC_HEAD + classic_row()).metrics["new_follows"].isna().all()
