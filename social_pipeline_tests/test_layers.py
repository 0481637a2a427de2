"""The package's layers, read from its source: who may import what, and no import cycles (DESIGN.md, Layout).

Function-level imports count as much as module-level ones: a cycle hidden inside a function is a cycle."""

import ast
from pathlib import Path

import social_pipeline

PACKAGE_DIR = Path(social_pipeline.__file__).parent
DAGSTER_MODULES = ("dagster", "dagster_duckdb")
DAGSTER_SIDE = ("social_pipeline.resources", "social_pipeline.defs", "social_pipeline.definitions")
# Plain Python packages: what a notebook, the CLI or the HTTP API imports without Dagster.
DAGSTER_FREE_PACKAGES = ("core", "warehouse", "sources", "app")
# The CLI runs Dagster jobs, so it may import Dagster and the Definitions; never an asset module's internals.
MAY_RUN_DAGSTER = {"social_pipeline.app.cli", "social_pipeline.app.stale_runs"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_names(name: str, path: Path) -> set[str]:
    """Every module `name` imports, anywhere in the file; `from package import submodule` names the submodule."""
    modules = package_modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return found


def is_under(module: str, prefixes) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_imported_names_resolve_relative_and_function_level_imports(tmp_path, monkeypatch):
    source = (
        "from .clock import utc_now\nfrom . import schema\n"
        "def f():\n    from social_pipeline.resources.lake import is_lake\n    import dagster as dg\n"
    )
    path = PACKAGE_DIR / "core" / "metrics.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert imported_names("social_pipeline.core.metrics", path) == {
        "social_pipeline.core.clock",
        "social_pipeline.core.schema",
        "social_pipeline.resources.lake",
        "dagster",
    }


def test_plain_packages_import_no_dagster_and_nothing_dagster_side():
    offences = []
    for name, path in package_modules().items():
        if not is_under(name, [f"social_pipeline.{p}" for p in DAGSTER_FREE_PACKAGES]):
            continue
        for imported in sorted(imported_names(name, path)):
            if name in MAY_RUN_DAGSTER:
                if is_under(imported, ("social_pipeline.defs",)) and imported.endswith(".assets"):
                    offences.append(f"{name} reaches into {imported}")
            elif is_under(imported, DAGSTER_MODULES + DAGSTER_SIDE):
                offences.append(f"{name} imports {imported}")
    assert offences == []


def test_core_imports_only_core():
    offences = [
        f"{name} imports {imported}"
        for name, path in package_modules().items()
        if is_under(name, ("social_pipeline.core",))
        for imported in sorted(imported_names(name, path))
        if is_under(imported, ("social_pipeline",)) and not is_under(imported, ("social_pipeline.core",))
    ]
    assert offences == []


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in sorted(graph.get(node, ())):
            if neighbour not in index:
                visit(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_import_cycles_finds_a_hidden_cycle_and_ignores_a_chain():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["e"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_two_modules_import_each_other():
    modules = package_modules()
    graph = {
        name: {imported for imported in imported_names(name, path) if imported in modules and imported != name}
        for name, path in modules.items()
    }
    assert import_cycles(graph) == []
