"""The message-safety and rendering modules of `pushpilot.core` are pure: no AWS SDK, no Slack SDK, no
adapter, flow or entry module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "layers" / "pushpilot" / "python" / "pushpilot" / "core"
FORBIDDEN = ("boto3", "botocore", "slack_sdk", "pushpilot.adapters", "pushpilot.flows", "pushpilot.entry")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


MESSAGE_MODULES = (
    "message_limits.py",
    "redaction.py",
    "plain_text.py",
    "slack_text.py",
    "render_slack.py",
    "render_sns.py",
    "build_hints.py",
    "build_report.py",
)


@pytest.mark.parametrize("path", [CORE / name for name in MESSAGE_MODULES], ids=lambda path: path.name)
def test_core_module_imports_nothing_impure(path: Path) -> None:
    impure = sorted(name for name in _imports(path) if name.startswith(FORBIDDEN))
    assert impure == []
