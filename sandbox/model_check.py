"""Check a request or a response against one operation of a botocore service model.

Inputs are checked first by botocore's own `ParamValidator` (required members, types, unknown members,
minimums), then for what it leaves to the server: maximums, enums and patterns. Outputs are checked on
their wire form (awsJson: timestamps as epoch numbers) against the operation's output shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator


def input_problems(operation: OperationModel, params: Mapping[str, Any]) -> list[str]:
    """Every reason the service would reject `params`, in the words of a validation report."""
    shape = operation.input_shape
    if shape is None:
        return [] if not params else [f"Unknown parameters: {', '.join(sorted(params))}"]
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        return [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    problems: list[str] = []
    _walk(shape, params, "", problems, check_patterns=True)
    return problems


def output_problems(operation: OperationModel, body: Mapping[str, Any]) -> list[str]:
    """Every way a wire-form response body departs from the operation's output shape."""
    shape = operation.output_shape
    if shape is None:
        return [] if not body else [f"unexpected body members: {', '.join(sorted(body))}"]
    problems: list[str] = []
    # Patterns are not checked on output: models describe some ids with patterns real answers do not
    # follow (App Runner's ServiceId pattern is a dashed UUID; every real service id is 32 bare hex digits).
    _walk(shape, body, "", problems, check_patterns=False)
    return problems


def _walk(shape: Shape, value: Any, path: str, problems: list[str], *, check_patterns: bool) -> None:
    where = path or "(root)"
    if isinstance(shape, StructureShape):
        _walk_structure(shape, value, path, problems, check_patterns=check_patterns)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {type(value).__name__}")
            return
        _check_range(shape, len(value), where, "length", problems)
        for index, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{index}]", problems, check_patterns=check_patterns)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a map, got {type(value).__name__}")
            return
        for key, item in value.items():
            _walk(shape.key, key, f"{path}<key {key!r}>", problems, check_patterns=check_patterns)
            _walk(shape.value, item, f"{path}[{key!r}]", problems, check_patterns=check_patterns)
    else:
        _walk_scalar(shape, value, where, problems, check_patterns=check_patterns)


def _walk_scalar(shape: Shape, value: Any, where: str, problems: list[str], *, check_patterns: bool) -> None:
    match shape.type_name:
        case "string":
            _check_string(shape, value, where, problems, check_patterns=check_patterns)
        case "integer" | "long":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{where}: expected an integer, got {type(value).__name__}")
                return
            _check_range(shape, value, where, "value", problems)
        case "float" | "double" | "timestamp":
            # awsJson sends timestamps as epoch seconds.
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(f"{where}: expected a number, got {type(value).__name__}")
        case "boolean":
            if not isinstance(value, bool):
                problems.append(f"{where}: expected a boolean, got {type(value).__name__}")
        case "blob":
            if not isinstance(value, str):
                problems.append(f"{where}: expected base64 text, got {type(value).__name__}")
        case other:
            problems.append(f"{where}: shape type {other} is not modelled by this checker")


def _walk_structure(
    shape: StructureShape, value: Any, path: str, problems: list[str], *, check_patterns: bool
) -> None:
    where = path or "(root)"
    if not isinstance(value, dict):
        problems.append(f"{where}: expected a structure, got {type(value).__name__}")
        return
    members = shape.members
    problems.extend(
        f"{where}: missing required member {name}" for name in shape.required_members if name not in value
    )
    for name, item in value.items():
        member_path = f"{path}.{name}" if path else name
        if name not in members:
            problems.append(f"{where}: unknown member {name}")
        elif item is None:
            problems.append(f"{member_path}: null is not a value")
        else:
            _walk(members[name], item, member_path, problems, check_patterns=check_patterns)


def _check_string(shape: Shape, value: Any, where: str, problems: list[str], *, check_patterns: bool) -> None:
    if not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {type(value).__name__}")
        return
    allowed: list[str] = shape.metadata.get("enum", [])
    if allowed and value not in allowed:
        problems.append(f"{where}: value {value!r} is not one of {', '.join(allowed)}")
    _check_range(shape, len(value), where, "length", problems)
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if check_patterns and pattern else None
    # The service matches a pattern against the whole value.
    if compiled is not None and not compiled.fullmatch(value):
        problems.append(f"{where}: value {value!r} does not match the pattern {pattern}")


def _check_range(shape: Shape, measure: int, where: str, what: str, problems: list[str]) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and measure < low:
        problems.append(f"{where}: {what} {measure} is below the minimum {low}")
    if high is not None and measure > high:
        problems.append(f"{where}: {what} {measure} is above the maximum {high}")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The pattern as Python reads it, or None for the few Python's `re` cannot (ECS's tag patterns use
    Unicode classes such as `\\p{L}`): those are left to the server, as botocore leaves them."""
    try:
        return re.compile(pattern)
    except re.error:
        return None
