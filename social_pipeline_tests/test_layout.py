"""The tests' own layout: test folders mirror the package, shared helpers come from
social_pipeline_tests/helpers.py, never from another test module or conftest.py, and conftest.py holds
only fixtures and hooks."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _is_test_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def imports_of_test_modules(path: Path) -> list[str]:
    """The test modules and conftest modules `path` imports, at any depth (inside functions too),
    as `line: module`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            # `from package import test_x` imports a module too.
            modules = [
                base,
                *(f"{base.rstrip('.')}.{alias.name}" if node.module else base + alias.name for alias in node.names),
            ]
        else:
            continue
        bad = [
            m
            for m in modules
            if (m.startswith(("social_pipeline_tests", ".")) or m == "conftest") and _is_test_module(m)
        ]
        found += [f"{node.lineno}: {m}" for m in dict.fromkeys(bad)]
    return found


def test_the_scan_finds_every_form_of_import_of_a_test_module(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text(
        "import json\n"
        "from social_pipeline_tests.helpers import CLOCK\n"
        "from social_pipeline_tests.defs.ingestion.test_assets import collect\n"
        "from social_pipeline_tests.conftest import file_stores_under\n"
        "import social_pipeline_tests.app.test_api\n"
        "from social_pipeline_tests.core import test_clock\n"
        "def test_x():\n"
        "    from ..analytics.test_checks import insert\n"
        "    from . import conftest\n"
        "    from social_pipeline.core import clock\n"
    )
    assert imports_of_test_modules(module) == [
        "3: social_pipeline_tests.defs.ingestion.test_assets",
        "4: social_pipeline_tests.conftest",
        "5: social_pipeline_tests.app.test_api",
        "6: social_pipeline_tests.core.test_clock",
        "8: ..analytics.test_checks",
        "9: .conftest",
    ]


def test_no_test_module_imports_another_test_module_or_conftest():
    modules = sorted(TESTS.rglob("test_*.py"))
    assert len(modules) > 30
    offenders = {str(p.relative_to(TESTS)): found for p in modules if (found := imports_of_test_modules(p))}
    offenders.update(
        {
            str(p.relative_to(TESTS)): found
            for p in [TESTS / "conftest.py", TESTS / "helpers.py"]
            if (found := imports_of_test_modules(p))
        }
    )
    assert offenders == {}, "import shared helpers from social_pipeline_tests/helpers.py"


def test_test_folders_mirror_the_package():
    """A test of social_pipeline/X/Y.py lives in social_pipeline_tests/X/; the bench's tests in bench/."""
    folders = {p.parent.relative_to(TESTS) for p in TESTS.rglob("test_*.py")} - {Path(".")}
    unmirrored = sorted(
        str(f) for f in folders if not (REPO / "social_pipeline" / f).is_dir() and not (REPO / f).is_dir()
    )
    assert unmirrored == []
    assert {Path("core"), Path("defs/ingestion"), Path("defs/analytics"), Path("defs/ops"), Path("app")} <= folders


def test_conftest_holds_only_fixtures_and_hooks():
    tree = ast.parse((TESTS / "conftest.py").read_text())
    others = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ):
            continue
        is_fixture = isinstance(node, ast.FunctionDef) and any(
            "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
        )
        if not (is_fixture or (isinstance(node, ast.FunctionDef) and node.name.startswith("pytest_"))):
            others.append(getattr(node, "name", None) or ast.unparse(node).split("\n")[0])
    assert others == []


def test_the_slowest_modules_started_first_are_test_modules_of_the_suite():
    from social_pipeline_tests.helpers import SLOWEST_MODULES_FIRST

    missing = [module for module in SLOWEST_MODULES_FIRST if not (REPO / module).is_file()]
    assert missing == []  # a renamed module would silently lose its early start
    assert len(set(SLOWEST_MODULES_FIRST)) == len(SLOWEST_MODULES_FIRST)
