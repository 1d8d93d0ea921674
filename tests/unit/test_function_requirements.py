"""Every function that reaches a library outside the Lambda runtime and the Powertools layer bundles it:
the imports are followed from each handler through the pushpilot layer (by reading the code, not running
it), and each third-party module they reach must be pinned in the function's requirements.txt."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "pushpilot" / "python"
# Third-party modules the runtime or the Powertools layer does not provide → their distribution.
BUNDLED = {"semantic_version": "semantic-version", "slack_sdk": "slack-sdk"}
_PINNED = re.compile(r"^([A-Za-z0-9_.-]+)==", re.MULTILINE)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module_file(name: str) -> Path | None:
    base = LAYER.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reached(handler: Path) -> set[str]:
    """Top-level names of every non-pushpilot module the handler reaches through the layer."""
    seen: set[str] = set()
    outside: set[str] = set()
    queue = list(_imports(handler))
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        if name.split(".")[0] != "pushpilot":
            outside.add(name.split(".")[0])
            continue
        path = _module_file(name)
        if path is not None:
            queue.extend(_imports(path))
    return outside


@pytest.mark.parametrize("handler", sorted(ROOT.glob("functions/*/app.py")), ids=lambda p: p.parent.name)
def test_each_function_bundles_what_it_reaches(handler: Path) -> None:
    requirements = handler.parent / "requirements.txt"
    text = requirements.read_text(encoding="utf-8") if requirements.exists() else ""
    pinned = {match.group(1).lower() for match in _PINNED.finditer(text)}
    needed = {BUNDLED[module] for module in reached(handler) if module in BUNDLED}
    assert needed <= pinned, f"{handler.parent.name} reaches {sorted(needed - pinned)} without bundling it"


def test_the_deploy_path_reaches_the_semver_library() -> None:
    """The check above can fail: the push handler does reach the library through the layer."""
    assert "semantic_version" in reached(ROOT / "functions" / "image_push" / "app.py")
