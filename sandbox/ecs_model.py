"""Amazon ECS's botocore service model, used to check what goes into and comes out of the ECS emulator."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

import botocore.session
from botocore.model import OperationModel, ServiceModel

from pushpilot_sandbox import model_check

TARGET_PREFIX: Final = "AmazonEC2ContainerServiceV20141113."

# What ECS's API reference gives for list pages (default, largest) and batch reads (largest), which the
# model leaves unstated: the server enforces them with InvalidParameterException.
PAGE_SIZES: Final = {
    "ListClusters": (100, 100),
    "ListServices": (10, 100),
    "ListTasks": (100, 100),
    "ListContainerInstances": (100, 100),
    "ListServiceDeployments": (20, 100),
}
BATCH_LIMITS: Final = {
    ("DescribeClusters", "clusters"): 100,
    ("DescribeServices", "services"): 10,
    ("DescribeTasks", "tasks"): 100,
    ("DescribeContainerInstances", "containerInstances"): 100,
    ("DescribeServiceDeployments", "serviceDeploymentArns"): 20,
    ("DescribeServiceRevisions", "serviceRevisionArns"): 20,
}


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("ecs")


def operation_model(operation_name: str) -> OperationModel:
    return service_model().operation_model(operation_name)


def operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def input_problems(operation_name: str, params: Mapping[str, Any]) -> list[str]:
    """Every reason ECS would reject `params`: the model's rules, then the documented server limits."""
    problems = model_check.input_problems(operation_model(operation_name), params)
    if problems:
        return problems
    sizes = PAGE_SIZES.get(operation_name)
    if sizes is not None and "maxResults" in params and not 1 <= params["maxResults"] <= sizes[1]:
        problems.append(f"maxResults must be between 1 and {sizes[1]}")
    for (operation, member), limit in BATCH_LIMITS.items():
        if operation == operation_name and len(params.get(member) or []) > limit:
            problems.append(f"{member} can hold at most {limit} items")
    return problems


def output_problems(operation_name: str, body: Mapping[str, Any]) -> list[str]:
    """Every way a wire-form response body departs from the operation's output shape."""
    return model_check.output_problems(operation_model(operation_name), body)
