"""What the Dagster UI shows, read from an instance real runs wrote: table names, column schemas
that match the warehouse, true row counts, code versions, and descriptions that render."""

import html
import re

import dagster as dg
import duckdb
import pandas as pd
import pytest
from markdown_it import MarkdownIt

from social_pipeline.core.schema import DERIVED_TABLES, TABLES
from social_pipeline.definitions import defs
from social_pipeline.defs.common import HOURLY_PARTITIONS, WEEKLY_PARTITIONS, add_partition_keys, partition_range_tags
from social_pipeline.defs.ingestion.assets import raw_account_snapshots, raw_posts, raw_profile_activity
from social_pipeline.resources.sources import SimulatedSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.simulated import SimulatedSource
from social_pipeline_tests.helpers import CLOCK, file_stores_under

# Assets that are not one warehouse table: the model files and the BI copy (a whole database).
NOT_TABLES = {"reach_model", "likes_model", "bi_warehouse_copy"}
ASSET_GRAPH = defs.resolve_asset_graph()


def _node(name: str):
    return ASSET_GRAPH.get(dg.AssetKey(name))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The jobs `make run` runs, on a small history (one hourly collection, one week), recorded in a
    persistent instance like DAGSTER_HOME's."""
    root = tmp_path_factory.mktemp("ui")
    db = str(root / "warehouse.duckdb")
    (root / "home").mkdir()
    resources = {
        "warehouse": WarehouseResource(database=db),
        "source": SimulatedSourceResource(clock=str(CLOCK), history_days=10),
        "file_stores": file_stores_under(root, bi_database=str(root / "bi.duckdb")),
    }
    plan = [
        ("hourly_collection", "2026-11-18-11:00"),
        ("weekly_reporting", "2026-11-09"),
        ("ml_training", None),
        ("prediction_feedback", None),
        ("publish_bi_copy", None),
    ]
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-11-18-11:00"])
        add_partition_keys(instance, WEEKLY_PARTITIONS, ["2026-11-09"])
        for job_name, key in plan:
            tags = partition_range_tags(key, key) if key else {}
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, resources=resources, tags=tags
            )
            assert result.success, job_name
        yield {"db": db, "instance": instance}


def _latest(instance, name: str):
    event = instance.get_latest_materialization_event(dg.AssetKey(name))
    assert event is not None, f"{name} was not materialized"
    return event.asset_materialization


def test_every_table_asset_declares_its_table_and_columns():
    declared = {
        node.key.to_user_string(): getattr(node.metadata.get("dagster/table_name"), "value", None)
        for node in ASSET_GRAPH.asset_nodes
    }
    assert {name for name, table in declared.items() if table is None} == NOT_TABLES
    for name, table in declared.items():
        if table is None:
            continue
        schema = _node(name).metadata["dagster/column_schema"].schema
        expected = TABLES.get(table) or DERIVED_TABLES[table]
        assert [c.name for c in schema.columns] == [c for c, _ in expected], name
        undescribed = [c.name for c in schema.columns if not c.description]
        assert undescribed == [], f"{table}: columns without a description in core/schema.py"


def test_materializations_carry_the_warehouse_truth(pipeline):
    con = duckdb.connect(pipeline["db"], read_only=True)
    try:
        for node in ASSET_GRAPH.asset_nodes:
            name = node.key.to_user_string()
            if name in NOT_TABLES | {"inbox_files"}:  # inbox_files runs per dropped file (test_inbox)
                continue
            meta = _latest(pipeline["instance"], name).metadata
            table = meta["dagster/table_name"].value
            assert table == node.metadata["dagster/table_name"].value, name
            # The columns shown are the table's columns as DuckDB has them, in order, with their types.
            schema_name, table_name = table.split(".")
            actual = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                "table_schema = $s AND table_name = $t ORDER BY ordinal_position",
                {"s": schema_name, "t": table_name},
            ).fetchall()
            shown = [(c.name, c.type) for c in meta["dagster/column_schema"].schema.columns]
            assert shown == actual, table
            total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            assert meta["dagster/row_count"].value == total, table
            assert 0 <= meta["rows_written_this_run"].value <= total, table
            assert isinstance(meta["preview"], dg.TableMetadataValue), table
            assert len(meta["preview"].records) == min(5, meta["rows_written_this_run"].value), table
    finally:
        con.close()


def test_row_counts_of_the_run_and_of_the_partition(pipeline):
    instance = pipeline["instance"]
    metrics = _latest(instance, "raw_tweet_metrics").metadata
    con = duckdb.connect(pipeline["db"], read_only=True)
    try:
        in_partition = con.execute(
            "SELECT count(*) FROM raw.tweet_metrics WHERE partition_key = '2026-11-18-11:00'"
        ).fetchall()[0][0]
        week = con.execute("SELECT count(*) FROM analytics.user_summary WHERE period_start = '2026-11-09'").fetchall()[
            0
        ][0]
    finally:
        con.close()
    # One partition run: the partition's rows are the run's rows.
    assert metrics["dagster/partition_row_count"].value == metrics["rows_written_this_run"].value == in_partition > 0
    summary = _latest(instance, "user_summary").metadata
    # One row per account and week: three X accounts and the Bluesky one.
    assert summary["dagster/partition_row_count"].value == summary["rows_written_this_run"].value == week == 4
    # An unpartitioned asset has no partition count.
    assert "dagster/partition_row_count" not in _latest(instance, "post_performance").metadata


def test_materializations_record_the_code_version(pipeline):
    for node in ASSET_GRAPH.asset_nodes:
        assert node.code_version, node.key
        if node.key.to_user_string() in {"reach_model", "likes_model", "inbox_files"}:
            continue  # too few settled posts to train here; the inbox runs per file
        materialization = _latest(pipeline["instance"], node.key.to_user_string())
        assert materialization.tags["dagster/code_version"] == node.code_version


def test_the_code_version_follows_the_sql():
    from social_pipeline.defs.common import code_version

    assert code_version("2") == "2"
    assert code_version("1", "SELECT 1") != code_version("1", "SELECT 2")
    assert code_version("1", "SELECT 1") == code_version("1", "SELECT 1")
    assert re.fullmatch(r"2\+sql\.[0-9a-f]{10}", _node("post_performance").code_version)


def test_catch_up_assets_report_what_the_run_wrote(resources):
    """A run that finds nothing new writes 0 rows, while the table still holds its total."""
    assets = [raw_posts, raw_account_snapshots, raw_profile_activity]

    def run(clock):
        result = dg.materialize(
            assets, resources={**resources, "source": SimulatedSourceResource(clock=clock, history_days=3)}
        )
        return {
            name: (m.metadata["rows_written_this_run"].value, m.metadata["dagster/row_count"].value)
            for name in ("raw_posts", "raw_account_snapshots", "raw_profile_activity")
            for m in result.asset_materializations_for_node(name)
        }

    def posts_published(start, end):
        return len(SimulatedSource().fetch_posts(SimulatedSource().user_ids(), start, end))

    first = posts_published(CLOCK - pd.Timedelta(days=3), CLOCK)
    # 4 accounts, 72 hourly follower snapshots each; 3 closed days (Nov 15-17) of profile activity for each of
    # the 3 X accounts (the Bluesky account has none).
    assert run(str(CLOCK)) == {
        "raw_posts": (first, first),
        "raw_account_snapshots": (288, 288),
        "raw_profile_activity": (9, 9),
    }
    assert run(str(CLOCK)) == {
        "raw_posts": (0, first),
        "raw_account_snapshots": (0, 288),
        "raw_profile_activity": (0, 9),
    }
    # 26 hours later: 26 new hourly snapshots per account, one more closed day (Nov 18).
    later = CLOCK + pd.Timedelta(hours=26)
    total = posts_published(CLOCK - pd.Timedelta(days=3), later)
    assert total > first
    assert run(str(later)) == {
        "raw_posts": (total - first, total),
        "raw_account_snapshots": (104, 392),
        "raw_profile_activity": (3, 12),
    }


def _rendered_text(markdown: str) -> str:
    """What the UI shows of a Markdown description: its text and code, no raw HTML."""
    tokens = MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(markdown)
    parts = []
    for token in tokens:
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    return " ".join("".join(parts).split())


def _descriptions():
    repository = defs.get_repository_def()
    for node in ASSET_GRAPH.asset_nodes:
        yield f"asset {node.key.to_user_string()}", node.description
    for check in ASSET_GRAPH.asset_check_keys:
        yield f"check {check.name}", ASSET_GRAPH.get(check).description
    for job in repository.get_all_jobs():
        yield f"job {job.name}", job.description
    for schedule in repository.schedule_defs:
        yield f"schedule {schedule.name}", schedule.description
    for sensor in repository.sensor_defs:
        yield f"sensor {sensor.name}", sensor.description


def test_descriptions_render_as_written():
    """The UI renders descriptions as Markdown: `<version>` would vanish as an HTML tag, a pair of
    `*` would turn into emphasis. Rendered, each reads as written (code spans without backticks)."""
    lost = {}
    for what, description in _descriptions():
        if not description or what.startswith("job __"):
            continue
        written = " ".join(html.unescape(description.replace("`", "")).split())
        if _rendered_text(description) != written:
            lost[what] = (written, _rendered_text(description))
    assert lost == {}
    assert "<version>.joblib" in _rendered_text(_node("reach_model").description)


def test_loading_the_code_location_warns_about_nothing_the_user_must_not_act_on():
    """`dg dev` loads the definitions in a code server: the beta `backfill_policy` (used knowingly)
    says nothing there, and the filter is narrow: any other beta warning still shows."""
    import subprocess
    import sys

    script = (
        "import warnings, dagster as dg, social_pipeline.definitions\n"
        "warnings.warn('another beta feature is currently in beta', dg.BetaWarning)\n"
    )
    # Python's default warning filters: what `dg dev` prints.
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    warned = [line for line in loaded.stderr.splitlines() if "Warning:" in line]
    assert len(warned) == 1 and "another beta feature" in warned[0], loaded.stderr


def test_every_column_has_a_description_that_renders_as_written():
    """Every warehouse column is described, and the Columns tab renders descriptions as Markdown too
    (`likes*1 + retweets*2` lost its asterisks to emphasis there)."""
    from social_pipeline.core.schema import table_columns

    lost = {}
    for table in {**TABLES, **DERIVED_TABLES}:
        for name, _, description in table_columns(table):
            if not description:
                lost[f"{table}.{name}"] = "no description in core/schema.py"
                continue
            written = " ".join(description.replace("`", "").split())
            # The Columns tab turns a pair of `*` into emphasis even inside a code span (seen in 1.13).
            if _rendered_text(description) != written or "*" in description:
                lost[f"{table}.{name}"] = (written, _rendered_text(description))
    assert lost == {}


def test_a_range_run_records_no_partition_figures(resources, db_path):
    """A backfill records one set of metadata on every partition in it: the run's totals and the
    schema, but no per-partition count or preview that would describe the range instead."""
    from social_pipeline.defs.ingestion.assets import raw_posts, raw_tweet_metrics

    instance = dg.DagsterInstance.ephemeral()
    add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-11-18-09:00", "2026-11-18-11:00"])
    result = dg.materialize(
        [raw_posts, raw_tweet_metrics],
        resources=resources,
        instance=instance,
        tags=partition_range_tags("2026-11-18-09:00", "2026-11-18-11:00"),
    )
    events = result.asset_materializations_for_node("raw_tweet_metrics")
    assert sorted(e.partition for e in events) == ["2026-11-18-09:00", "2026-11-18-10:00", "2026-11-18-11:00"]
    con = duckdb.connect(db_path, read_only=True)
    try:
        written = con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchall()[0][0]
    finally:
        con.close()
    for event in events:
        assert event.metadata["rows_written_this_run"].value == event.metadata["dagster/row_count"].value == written > 0
        assert event.metadata["dagster/table_name"].value == "raw.tweet_metrics"
        assert "dagster/column_schema" in event.metadata
        assert "dagster/partition_row_count" not in event.metadata and "preview" not in event.metadata
