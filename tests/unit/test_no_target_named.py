"""core/ and flows/ name no deploy target: what a target needs, it declares in its own folder.

Read from the code itself (the syntax tree), not from comments or docstrings, which may well say which
platform a rule was written for. A string that is a target's kind or holds its label, or an identifier
made of a kind's or a label's words (`APPRUNNER_ZONES`, `app_runner_platform`), fails the test. The kinds
and labels come from the registry, so a new target is held to the rule as it is listed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from pushpilot.targets import registry

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).parents[2] / "layers" / "pushpilot" / "python" / "pushpilot"

# Words that mean something else in a module, with why. `lambda` in the replay of dead letters is the
# service pushpilot's own functions run on (their invocation records), not a target to deploy to.
NOT_A_TARGET: Mapping[str, frozenset[str]] = {"flows/replay.py": frozenset({"lambda"})}


def _words(text: str) -> tuple[str, ...]:
    """`APP_RUNNER_PLATFORM` → (app, runner, platform); `AppRunnerZones` → (app, runner, zones)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return tuple(word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word)


class Names:
    """How the registry names the targets: kinds (`ecs_express`), and what people read (labels, the DNS
    notices' kinds), each as its words."""

    def __init__(self, kinds: Mapping[str, tuple[str, ...]], labels: Mapping[str, tuple[str, ...]]) -> None:
        self.kinds = kinds
        self.labels = labels

    @classmethod
    def of_registry(cls) -> Names:
        kinds: dict[str, tuple[str, ...]] = {}
        labels: dict[str, tuple[str, ...]] = {}
        for declaration in registry.declarations():
            kinds[declaration.kind] = _words(declaration.kind)
            # A kind is met both as one word (`apprunner`) and split (`app_runner`, `AppRunner`).
            kinds[declaration.kind.replace("_", "")] = (declaration.kind.replace("_", ""),)
            labels[declaration.label] = _words(declaration.label)
            if declaration.dns is not None:
                labels[declaration.dns.service_kind] = _words(declaration.dns.service_kind)
        return cls(kinds, labels)


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    return any(words[start : start + len(part)] == part for start in range(len(words) - len(part) + 1))


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _identifiers(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.arg | ast.keyword) and node.arg:
        yield node.arg
    elif isinstance(node, ast.alias):
        yield from node.name.split(".")
        if node.asname:
            yield node.asname
    elif isinstance(node, ast.ImportFrom) and node.module:
        yield from node.module.split(".")


def targets_named(source: str, names: Names, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Where `source` names a target in code, as `line: what`. A string names a target when it is a kind
    or holds a label's words; an identifier, when it holds a kind's or a label's words."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    everything = {**names.kinds, **names.labels}
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words = _words(node.value)
            found.extend(
                f"{line}: the string {node.value[:60]!r} names {name!r}"
                for name in sorted({node.value} & set(names.kinds) - allowed)
            )
            found.extend(
                f"{line}: the string {node.value[:60]!r} names {name!r}"
                for name, parts in sorted(names.labels.items())
                if name not in allowed and _contains(words, parts)
            )
        for identifier in _identifiers(node):
            words = _words(identifier)
            found.extend(
                f"{line}: {identifier} names {name!r}"
                for name, parts in sorted(everything.items())
                if name not in allowed and _contains(words, parts)
            )
    return found


def _modules() -> list[Path]:
    return sorted([*(PACKAGE / "core").rglob("*.py"), *(PACKAGE / "flows").rglob("*.py")])


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_core_and_flows_name_no_deploy_target(path: Path) -> None:
    allowed = NOT_A_TARGET.get(str(path.relative_to(PACKAGE)), frozenset())
    assert targets_named(path.read_text(encoding="utf-8"), Names.of_registry(), allowed) == []


def test_the_rule_sees_every_way_of_naming_a_target_in_code() -> None:
    # The test above passes on an empty answer: this one shows the finder answers anything else, and
    # that what comments and docstrings say is left alone.
    source = '''"""Rules written for App Runner first."""
APPRUNNER_ZONES = {}  # App Runner's zones
app_runner_platform = None
KIND = "apprunner"
note = "App Runner validated the certificate"
quiet = "pushpilot starts the deployment"


def close(kind: str = "ecs_express") -> str:
    """Only Amazon ECS, in a docstring."""
    return f"{kind}: the ECS service"
'''
    found = targets_named(source, Names.of_registry())
    assert sorted({int(entry.split(":", 1)[0]) for entry in found}) == [2, 3, 4, 5, 9, 11]
    assert targets_named(source, Names.of_registry(), frozenset(Names.of_registry().kinds)) != found


def test_every_declared_target_is_held_to_the_rule() -> None:
    names = Names.of_registry()
    assert {entry.kind for entry in registry.TARGETS} <= set(names.kinds)
    assert {entry.label for entry in registry.TARGETS} <= set(names.labels)
