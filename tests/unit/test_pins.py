"""The SDK and moto are pinned for development, installed as pinned, and the Lambda floor stays below them."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]
PINNED = ("boto3", "botocore", "moto")


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            name, _, pinned = text.partition("==")
            assert pinned, f"constraints.txt pins with == only: {text!r}"
            pins[name.strip().lower()] = pinned.strip()
    return pins


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _lambda_boto3() -> str:
    found = re.search(
        r"^LAMBDA_BOTO3_VERSION := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert found is not None, "the Makefile names the boto3 of the Lambda-like interpreter"
    return found.group(1)


def test_boto3_botocore_and_moto_are_pinned_exactly() -> None:
    assert sorted(_pins()) == sorted(PINNED)


@pytest.mark.parametrize("name", PINNED)
def test_the_development_environment_holds_the_pinned_release(name: str) -> None:
    # A venv installed without the constraints file would test against whatever the index had that day.
    assert version(name) == _pins()[name]


def test_the_makefile_installs_the_development_environment_with_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in makefile


def test_the_lambda_interpreter_holds_the_declared_floor_below_the_development_pin() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "dependencies"
    ]
    floor = next(d for d in dependencies if d.startswith("boto3"))
    declared = floor.removeprefix("boto3>=")
    lambda_boto3 = _lambda_boto3()
    # The install check runs the handlers on the oldest boto3 the stack accepts: the declared floor.
    assert _numbers(lambda_boto3)[:2] == _numbers(declared)[:2]
    assert _numbers(lambda_boto3) <= _numbers(_pins()["boto3"])
