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
