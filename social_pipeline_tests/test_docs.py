"""README.md and docs/ stay short, linked and true to the code: the README's length, every relative
link (and its #anchor) resolves, and docs/warehouse.md's tables are what core/schema.py renders."""

import re
from pathlib import Path

from social_pipeline.core.schema import DERIVED_TABLES, TABLES, table_columns
from social_pipeline.core.schema_docs import BEGIN_MARKER, END_MARKER, render_section

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
DOCS_PAGES = (
    "sources-and-files",
    "warehouse",
    "analytics-and-reports",
    "models",
    "prediction-api",
    "operations",
    "past-one-machine",
    "performance",
    "development",
    "adding-a-network",
)
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _markdown_files() -> list[Path]:
    return [
        ROOT / "README.md",
        ROOT / "data" / "README.md",
        ROOT / "deploy" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


def broken_links(page: Path) -> list[str]:
    """Relative links of `page` whose file, or #anchor in that file, does not exist."""
    broken = []
    for target in _LINK.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (anchor and (resolved.is_dir() or anchor not in _anchors(resolved))):
            broken.append(target)
    return broken


def test_the_readme_is_at_most_250_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move detail into docs/"


def test_the_readme_and_the_docs_index_link_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    assert [p for p in DOCS_PAGES if f"(docs/{p}.md)" not in readme] == []
    assert [p for p in DOCS_PAGES if f"({p}.md)" not in index] == []
    assert sorted(p.stem for p in (ROOT / "docs").glob("*.md")) == sorted([*DOCS_PAGES, "README"])


def test_every_relative_link_in_the_readmes_and_docs_resolves():
    assert {str(page.relative_to(ROOT)): broken for page in _markdown_files() if (broken := broken_links(page))} == {}


def test_a_broken_link_or_anchor_is_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## The X API\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[ok](other.md) [ok](other.md#the-x-api) [ok](#page) [web](https://example.com)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere)\n```\n[in code](not-a-link.md)\n```\n"
    )
    assert broken_links(page) == ["missing.md", "other.md#nowhere"]


def test_the_warehouse_page_holds_the_tables_core_schema_renders():
    """Regenerate with: python -m social_pipeline.core.schema_docs --write docs/warehouse.md"""
    page = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    start, end = page.index(BEGIN_MARKER), page.index(END_MARKER) + len(END_MARKER)
    assert page[start:end] == render_section()


def test_every_warehouse_column_has_a_description():
    undescribed = [
        f"{table}.{name}"
        for table in {**TABLES, **DERIVED_TABLES}
        for name, _, description in table_columns(table)
        if not (description or "").strip()
    ]
    assert undescribed == []
