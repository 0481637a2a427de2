"""Where a warehouse's side outputs go: a second warehouse beside the first does not overwrite them."""

from pathlib import Path

import pytest

from social_pipeline.core.publish import bi_path
from social_pipeline.paths import reports_dir, warehouse_stem


@pytest.mark.parametrize("database,stem,bi,reports", [
    (None, "warehouse", "data/bi/warehouse.duckdb", "data/reports"),
    ("data/warehouse.duckdb", "warehouse", "data/bi/warehouse.duckdb", "data/reports"),
    ("data/other.duckdb", "other", "data/bi/other.duckdb", "data/reports-other"),
    ("md:analytics", "warehouse", "data/bi/warehouse.duckdb", "data/reports"),
])
def test_defaults_follow_the_warehouse_name(monkeypatch, database, stem, bi, reports):
    for var in ("SOCIAL_PIPELINE_DB", "SOCIAL_PIPELINE_BI_DB", "SOCIAL_PIPELINE_REPORTS_DIR"):
        monkeypatch.delenv(var, raising=False)
    if database:
        monkeypatch.setenv("SOCIAL_PIPELINE_DB", database)
    assert (warehouse_stem(), bi_path(), reports_dir()) == (stem, bi, Path(reports))


def test_explicit_settings_win(monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", "data/other.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", "/srv/bi/x.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_REPORTS_DIR", "/srv/reports")
    assert (bi_path(), reports_dir()) == ("/srv/bi/x.duckdb", Path("/srv/reports"))


def test_the_readme_documents_every_warehouse_column():
    from social_pipeline.core.schema import TABLES

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {line.split("|")[1].strip(" `"): line for line in readme.splitlines() if line.startswith("| `")}
    undocumented = {table: [c for c, _ in columns if c not in rows.get(table, "")]
                    for table, columns in TABLES.items()}
    assert {t: cols for t, cols in undocumented.items() if cols} == {}


def _readme_columns(cell: str) -> dict[str, str]:
    """`a, b (note, with commas), c` -> {a: "", b: "note, with commas", c: ""}."""
    columns, depth, item = {}, 0, ""
    for char in cell + ",":
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            name, _, note = item.strip().partition(" (")
            columns[name.strip()] = note[:-1] if note.endswith(")") else note
            item = ""
        else:
            item += char
    return columns


def test_the_readme_column_notes_agree_with_the_schema_descriptions():
    """The README's warehouse tables and core/schema.py (which the Dagster UI's Columns tab shows)
    name the same columns, and each note the README gives a column is in its description."""
    from social_pipeline.core.schema import DERIVED_TABLES, TABLES, table_columns

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    cells = {line.split("|")[1].strip(" `"): line.split("|")[3] for line in readme.splitlines()
             if line.startswith("| `") and line.count("|") == 4}
    disagreements = {}
    for table in {**TABLES, **DERIVED_TABLES}:
        documented = _readme_columns(cells[table])
        described = {name: (description or "").replace("`", "") for name, _, description in table_columns(table)}
        if list(documented) != list(described):
            disagreements[table] = ("columns differ", list(documented), list(described))
        wrong = {name: note for name, note in documented.items()
                 if note and note.replace("`", "") not in described.get(name, "")}
        if wrong:
            disagreements[table] = ("notes not in the descriptions", wrong)
    assert disagreements == {}
