"""AWS Lambda's botocore service model, used to check what goes into and comes out of the Lambda emulator."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel

from pushpilot_sandbox import model_check


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("lambda")


def operation_model(operation_name: str) -> OperationModel:
    return service_model().operation_model(operation_name)


def input_problems(operation_name: str, params: Mapping[str, Any]) -> list[str]:
    """Every reason Lambda would reject `params` (members as one document, URI labels included)."""
    return model_check.input_problems(operation_model(operation_name), params)


def output_problems(operation_name: str, body: Mapping[str, Any]) -> list[str]:
    """Every way a wire-form response body departs from the operation's output shape."""
    return model_check.output_problems(operation_model(operation_name), body)


def reason_codes() -> list[str]:
    """LastUpdateStatusReasonCode's enum, as botocore's model spells it."""
    return list(service_model().shape_for("LastUpdateStatusReasonCode").metadata.get("enum", []))
