"""core/schema_docs.py renders the warehouse tables of core/schema.py as Markdown."""

import pytest

from social_pipeline.core import schema_docs
from social_pipeline.core.schema import DERIVED_TABLES, TABLES, table_columns


def test_each_table_renders_its_grain_and_every_column_with_type_and_description():
    markdown = schema_docs.render_tables_markdown()
    section = markdown.split("### `raw.account_snapshots`\n")[1].split("###")[0]
    described = {name: description for name, _, description in table_columns("raw.account_snapshots")}
    assert section.strip().splitlines() == [
        "One row per account and collection.",
        "",
        "| column | type | description |",
        "|---|---|---|",
        f"| `user_id` | VARCHAR NOT NULL | {described['user_id']} |",
        f"| `collected_at` | TIMESTAMP NOT NULL | {described['collected_at']} |",
        f"| `followers` | BIGINT | {described['followers']} |",
        f"| `following` | BIGINT | {described['following']} |",
        f"| `post_count` | BIGINT | {described['post_count']} |",
        f"| `source` | VARCHAR | {described['source']} |",
        f"| `network` | VARCHAR NOT NULL DEFAULT 'x' | {described['network']} |",
    ]


def test_every_table_appears_once_grouped_by_schema_and_derived_tables_say_they_are_rebuilt():
    markdown = schema_docs.render_tables_markdown()
    headings = [line[5:-1] for line in markdown.splitlines() if line.startswith("### `")]
    assert sorted(headings) == sorted([*TABLES, *DERIVED_TABLES])
    assert [h.split(".")[0] for h in headings] == sorted(
        (h.split(".")[0] for h in headings), key=["raw", "analytics", "ml", "ops"].index
    )
    assert "One row per post. Rebuilt whole by its asset on every run." in markdown


def test_a_pipe_or_line_break_in_a_description_cannot_break_the_table():
    assert schema_docs._cell("a | b\n  c") == "a \\| b c"


def test_replace_section_swaps_only_the_text_between_the_markers():
    page = f"# Title\n\nintro\n\n{schema_docs.BEGIN_MARKER}\nstale\n{schema_docs.END_MARKER}\n\noutro\n"
    replaced = schema_docs.replace_section(page)
    assert replaced == f"# Title\n\nintro\n\n{schema_docs.render_section()}\n\noutro\n"
    assert schema_docs.replace_section(replaced) == replaced


def test_a_page_without_markers_is_refused_naming_them():
    with pytest.raises(ValueError, match="no generated section"):
        schema_docs.replace_section("# Title\n")


def test_the_command_writes_the_section_into_the_page(tmp_path, capsys):
    page = tmp_path / "warehouse.md"
    page.write_text(f"# W\n{schema_docs.BEGIN_MARKER}\n{schema_docs.END_MARKER}\n")
    schema_docs.main(["--write", str(page)])
    assert page.read_text() == f"# W\n{schema_docs.render_section()}\n"
    schema_docs.main([])
    assert capsys.readouterr().out == schema_docs.render_section() + "\n"
