"""App Runner's botocore service model, used to check what goes into and comes out of the emulator.

Inputs are checked first by botocore's own `ParamValidator` (required members, types, unknown members,
minimums), then for what it leaves to the server: maximums, enums and patterns. Outputs are checked on
their wire form (timestamps as epoch numbers) against the operation's output shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel

from pushpilot_sandbox import model_check


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("apprunner")


def operation_model(operation_name: str) -> OperationModel:
    return service_model().operation_model(operation_name)


def operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def input_problems(operation_name: str, params: Mapping[str, Any]) -> list[str]:
    """Every reason the service would reject `params`, in the words of a validation report."""
    return model_check.input_problems(operation_model(operation_name), params)


def output_problems(operation_name: str, body: Mapping[str, Any]) -> list[str]:
    """Every way a wire-form response body departs from the operation's output shape."""
    return model_check.output_problems(operation_model(operation_name), body)


def service_name_problem(name: str) -> str | None:
    """Why App Runner would refuse `name` as a service name (its model's length and pattern), or None."""
    shape = operation_model("CreateService").input_shape
    if shape is None:
        raise RuntimeError("botocore's CreateService has no input shape")
    rules = shape.members["ServiceName"].metadata
    shortest, longest, pattern = int(rules["min"]), int(rules["max"]), str(rules["pattern"])
    if not shortest <= len(name) <= longest:
        return (
            f"App Runner service name {name!r} has {len(name)} characters; "
            f"App Runner needs {shortest} to {longest}"
        )
    if re.fullmatch(pattern, name) is None:
        return f"App Runner service name {name!r} does not match App Runner's pattern {pattern}"
    return None
