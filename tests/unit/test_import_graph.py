"""The layer's packages import one way only, and the core stays pure all the way down.

`entry → flows → ports/core`; adapters and targets implement ports; `events/` and `core/` import no one
above them. The direction is written below as data: every import between two packages must be an
allowed edge, and the packages' graph has no cycle. Purity is checked where it matters, at run time:
importing every core module in a fresh interpreter brings in none of the heavy modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).parents[2] / "layers" / "pushpilot" / "python" / "pushpilot"

# Who may import whom (besides itself). A package missing from a set may not be imported by that package.
ALLOWED: Mapping[str, frozenset[str]] = {
    "entry": frozenset({"flows", "ports", "core", "events", "adapters", "targets"}),
    "flows": frozenset({"ports", "core", "events"}),
    "targets": frozenset({"ports", "core", "events", "adapters"}),
    "adapters": frozenset({"ports", "core"}),
    "ports": frozenset({"core"}),
    "events": frozenset({"core"}),
    "core": frozenset(),
}

# Imports against the direction that are known and on their way out, each with what removes it. The
# test below fails when one of these disappears, so that the exception goes with it.
PENDING: Mapping[tuple[str, str], str] = {}

HEAVY = ("boto3", "botocore", "aws_lambda_powertools", "slack_sdk")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(module: str) -> str | None:
    """`pushpilot.flows.push` → `flows`; `pushpilot.ports` → `ports`; anything else → None."""
    parts = module.split(".")
    if parts[0] != "pushpilot" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ALLOWED else None


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth of the file (functions, TYPE_CHECKING blocks): a type
    named across the line is a dependency across it too."""
    module = _module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def _edges() -> set[tuple[str, str]]:
    """(importing module, imported module) for every import between two of the layer's packages."""
    found: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for imported in _imports(path):
            source, target = _package_of(importer), _package_of(imported)
            if source and target and source != target:
                found.add((importer, imported))
    return found


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph.get(node, set())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _package_graph(edges: set[tuple[str, str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in ALLOWED}
    for importer, imported in edges:
        source, target = _package_of(importer), _package_of(imported)
        assert source is not None
        assert target is not None
        graph[source].add(target)
    return graph


def test_every_import_between_packages_goes_the_allowed_way() -> None:
    against = sorted(
        (importer, imported)
        for importer, imported in _edges()
        if _package_of(imported) not in ALLOWED[_package_of(importer) or ""]
        and (importer, imported) not in PENDING
    )
    assert against == [], "imports against the direction: " + ", ".join(f"{a} → {b}" for a, b in against)


def test_every_pending_exception_is_still_needed() -> None:
    edges = _edges()
    gone = sorted(f"{a} → {b} ({why})" for (a, b), why in PENDING.items() if (a, b) not in edges)
    assert gone == [], "no longer imported, drop from PENDING: " + "; ".join(gone)


def test_the_allowed_direction_has_no_cycle() -> None:
    assert _cycles({package: set(targets) for package, targets in ALLOWED.items()}) == []


def test_the_packages_import_each_other_in_no_cycle() -> None:
    edges = {edge for edge in _edges() if edge not in PENDING}
    assert _cycles(_package_graph(edges)) == []


def _module_graph() -> dict[str, set[str]]:
    """Every layer module → the layer modules it imports, anywhere in the file (a function's own import
    closes a loop as surely as one at the top)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        module: {imported for imported in _imports(path) if imported in modules and imported != module}
        for module, path in modules.items()
    }


def test_no_two_modules_import_each_other_even_through_others() -> None:
    assert _cycles(_module_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The two tests above pass on an empty answer: this one shows the finder can say anything else.
    edges = {
        ("pushpilot.flows.push", "pushpilot.entry.handling"),
        ("pushpilot.entry.wiring", "pushpilot.flows.push"),
    }
    assert _cycles(_package_graph(edges)) == [["entry", "flows"]]


def test_importing_every_core_module_brings_in_no_heavy_module() -> None:
    """In a fresh interpreter, so that nothing another test imported hides a transitive import."""
    core = sorted(_module_name(path) for path in (PACKAGE / "core").rglob("*.py"))
    program = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a program written above
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert len(core) > 20
    assert result.stdout.split() == []
