"""The layout is the architecture: the pure core imports no AWS SDK and no adapter, flows name no
concrete adapter or target, and every target folder satisfies the same port."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).parents[2] / "layers" / "pushpilot" / "python" / "pushpilot"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules_of("core"), ids=lambda path: path.name)
def test_the_core_imports_no_sdk_no_adapter_no_flow(path: Path) -> None:
    forbidden = (
        "boto3",
        "botocore",
        "slack_sdk",
        "pushpilot.adapters",
        "pushpilot.targets",
        "pushpilot.flows",
    )
    offending = {module for module in imported_modules(path) if module.startswith(forbidden)}
    assert offending == set(), f"{path.name} imports {sorted(offending)}"


@pytest.mark.parametrize("path", modules_of("flows"), ids=lambda path: path.name)
def test_deploy_flows_name_no_target(path: Path) -> None:
    offending = {module for module in imported_modules(path) if module.startswith("pushpilot.targets")}
    # The DNS flow still reads App Runner's custom-domain event for its wording.
    allowed = {"pushpilot.targets.apprunner.events"} if path.name == "dns.py" else set()
    assert offending <= allowed, f"{path.name} imports {sorted(offending - allowed)}"


def test_ports_import_nothing_but_the_core() -> None:
    modules = {module for module in imported_modules(PACKAGE / "ports.py") if module.startswith("pushpilot")}
    assert all(module.startswith("pushpilot.core") for module in modules), sorted(modules)


def test_every_target_folder_has_its_service_adapter() -> None:
    targets = sorted(
        path for path in (PACKAGE / "targets").iterdir() if path.is_dir() and path.name != "__pycache__"
    )
    assert [path.name for path in targets] == ["apprunner", "ecs", "ecs_express", "lambda_fn"]
    for target in targets:
        assert (target / "services.py").exists(), target.name


def test_the_settings_spell_the_first_sighting_choices_the_core_decides_on() -> None:
    from typing import get_args

    from pushpilot.core.public_sightings import FirstSighting
    from pushpilot.entry.settings import PublicImageSettings

    field = PublicImageSettings.model_fields["first_sighting"]
    assert get_args(field.annotation) == get_args(FirstSighting)
