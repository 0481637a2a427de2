"""The README's warehouse tables agree with the schema."""

from pathlib import Path


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
