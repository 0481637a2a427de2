"""The project uses only the public API of its dependencies: no module of the package, the tests or the
bench imports a private module or name of another package (`dagster._core...`, `sklearn.ensemble._hist...`,
`from dagster import _check`), reaches one through a module attribute (`dg._core`), or names one in a
string Dagster imports from (`{"module": "dagster._core.test_utils", ...}` in an instance config)."""

import ast
import functools
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED_FOLDERS = ("social_pipeline", "social_pipeline_tests", "bench")
OWN_PACKAGES = {"social_pipeline", "social_pipeline_tests", "bench"}
# A dotted module path with a private segment (`_core`, not `__init__`), as instance configs name modules.
PRIVATE_MODULE_STRING = re.compile(r"^[A-Za-z]\w*(\.\w+)*\._(?!_)\w*(\.\w+)*$")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_dependency(module: str) -> bool:
    top = module.split(".")[0]
    return bool(top) and top not in OWN_PACKAGES and top not in sys.stdlib_module_names


@functools.cache
def _sklearn_estimator_classes() -> tuple[type, ...]:
    """The public classes of the scikit-learn modules the models use (all of scikit-learn's estimators
    take about 20 s to import on a busy machine)."""
    import sklearn.ensemble
    import sklearn.linear_model

    return tuple(
        value
        for module in (sklearn.ensemble, sklearn.linear_model)
        for value in map(functools.partial(getattr, module), module.__all__)
        if isinstance(value, type)
    )


def _owner(classes, attribute: str) -> str:
    return next(f"{cls.__module__.split('.')[0]}.{cls.__name__}" for cls in classes if hasattr(cls, attribute))


def private_uses(source: str) -> list[str]:
    """Each private use of a dependency in a module's source, as `line: what`."""
    tree = ast.parse(source)
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_dependency(alias.name):
                    top = alias.name.split(".")[0]
                    aliases[alias.asname or top] = alias.name if alias.asname else top
                    if any(_is_private(part) for part in alias.name.split(".")):
                        found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_dependency(node.module):
            if any(_is_private(part) for part in node.module.split(".")):
                found.append(f"{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                else:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    # In a module using scikit-learn, a private method of any of its estimators (`_raw_predict`) on any
    # object but self is a private use. Attributes set only on fitted instances (`_predictors`) are not seen.
    uses_sklearn = any(name.split(".")[0] == "sklearn" for name in aliases.values())
    estimator_classes = _sklearn_estimator_classes() if uses_sklearn else ()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append(f"{node.lineno}: {aliases[base.id]}...{node.attr}")
            elif not (isinstance(base, ast.Name) and base.id in ("self", "cls")) and any(
                hasattr(cls, node.attr) for cls in estimator_classes
            ):
                found.append(f"{node.lineno}: .{node.attr} (private on {_owner(estimator_classes, node.attr)})")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and PRIVATE_MODULE_STRING.match(node.value)
            and _is_dependency(node.value)
        ):
            found.append(f"{node.lineno}: {node.value!r}")
    return sorted(set(found), key=lambda line: int(line.split(":")[0]))


@pytest.mark.parametrize(
    "source, expected",
    [
        # Split so that a plain grep for private imports does not take this sample for one.
        (
            "from dagster" + "._core.test_utils import MockedRunLauncher",
            ["1: from dagster" + "._core.test_utils import ..."],
        ),
        (
            "import sklearn.ensemble._hist_gradient_boosting.predictor as p",
            ["1: import sklearn.ensemble._hist_gradient_boosting.predictor"],
        ),
        ("from dagster import _check", ["1: from dagster import _check"]),
        ("import dagster as dg\nx = dg._core.events", ["2: dagster..._core"]),
        (
            "from sklearn.ensemble import HistGradientBoostingRegressor\nmodel.fit(x, y)._raw_predict(x)",
            ["2: ._raw_predict (private on sklearn.GradientBoostingClassifier)"],
        ),
        (
            "config = {'module': 'dagster._core.test_utils', 'class': 'MockedRunLauncher'}",
            ["1: 'dagster._core.test_utils'"],
        ),
        # Public routes, the project's own private helpers, dunders and the standard library pass.
        (
            "import dagster as dg\nfrom dagster import DagsterInstance\n"
            "from sklearn.ensemble import HistGradientBoostingRegressor\n"
            "from social_pipeline.core.simulation import _compose_text\nimport os\nos._exit\nx = dg.__version__\n"
            "from __future__ import annotations\n'social_pipeline._x'\n'dagster.core.run_coordinator'",
            [],
        ),
    ],
)
def test_the_scan_finds_private_uses_and_passes_public_ones(source, expected):
    assert private_uses(source) == expected


def test_no_module_uses_a_private_api_of_a_dependency():
    offenders = {}
    for folder in SCANNED_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            uses = private_uses(path.read_text(encoding="utf-8"))
            if uses:
                offenders[str(path.relative_to(REPO))] = uses
    assert offenders == {}
