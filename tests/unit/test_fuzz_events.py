"""Whatever arrives on the bus, parsing answers with a model or a MalformedEventError, and the
handler guard answers with an outcome: never another exception, never a retry.

`PUSHPILOT_FUZZ_EXAMPLES` sets the examples per test (`make fuzz` runs 10 000).
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pushpilot.core.errors import MalformedEventError
from pushpilot.entry.handling import event_id_of, parse_event, run_guarded
from pushpilot.events.codebuild import CodeBuildEvent, CodeBuildPhaseEvent, CodeBuildStateEvent
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.results import FlowResult
from pushpilot.targets.apprunner.events import (
    AppRunnerCustomDomainEvent,
    AppRunnerEvent,
    AppRunnerOperationEvent,
    AppRunnerServiceStatusEvent,
)

FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("PUSHPILOT_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_ACCOUNT = "210987654321"
_SERVICE_ARN = f"arn:aws:apprunner:eu-west-1:{_ACCOUNT}:service/checkout/5b7e2f0c9d1a4e6f8a3b2c1d0e9f8a7b"
_BUILD_ARN = (
    f"arn:aws:codebuild:eu-west-1:{_ACCOUNT}:build/checkout-image:0f4c2a9e-7d31-4b6a-9c5e-1a2b3c4d5e6f"
)


def _envelope(source: str, detail_type: str, detail: dict[str, Any], resources: list[str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7c9e2d4a-1b3f-4e5d-8a6c-0f1e2d3c4b5a",
        "detail-type": detail_type,
        "source": source,
        "account": _ACCOUNT,
        "time": "2025-03-04T05:06:07Z",
        "region": "eu-west-1",
        "resources": resources,
        "detail": detail,
    }


_PHASES = [
    {
        "phase-context": [],
        "start-time": "Mar 4, 2025 5:01:00 AM",
        "end-time": "Mar 4, 2025 5:01:40 AM",
        "duration-in-seconds": 40,
        "phase-type": "PROVISIONING",
        "phase-status": "SUCCEEDED",
    },
    {
        "phase-context": [
            "COMMAND_EXECUTION_ERROR: Error while executing command: make image. Reason: exit status 2"
        ],
        "start-time": "Mar 4, 2025 5:01:40 AM",
        "end-time": "Mar 4, 2025 5:05:00 AM",
        "duration-in-seconds": 200,
        "phase-type": "BUILD",
        "phase-status": "FAILED",
    },
]
_BUILD_INFORMATION = {
    "environment": {
        "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        "privileged-mode": True,
        "compute-type": "BUILD_GENERAL1_SMALL",
        "type": "LINUX_CONTAINER",
        "environment-variables": [{"name": "STAGE", "type": "PLAINTEXT", "value": "prod"}],
    },
    "build-complete": True,
    "initiator": "codepipeline/checkout-pipeline",
    "build-start-time": "Mar 4, 2025 5:01:00 AM",
    "source-version": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
    "logs": {
        "group-name": "/aws/codebuild/checkout-image",
        "stream-name": "0f4c2a9e-7d31-4b6a-9c5e-1a2b3c4d5e6f",
        "deep-link": "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logEvent:group=/aws/codebuild/checkout-image",
    },
    "phases": _PHASES,
}

# One well-formed event per model, written for these tests in the shapes AWS documents.
VALID_EVENTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "ecr": (
        EcrImageActionEvent,
        _envelope(
            "aws.ecr",
            "ECR Image Action",
            {
                "result": "SUCCESS",
                "repository-name": "checkout",
                "image-digest": "sha256:" + "4d" * 32,
                "action-type": "PUSH",
                "image-tag": "v2.3.1",
            },
            [],
        ),
    ),
    "apprunner-operation": (
        AppRunnerOperationEvent,
        _envelope(
            "aws.apprunner",
            "AppRunner Service Operation Status Change",
            {
                "operationStatus": "DeploymentCompletedSuccessfully",
                "serviceName": "checkout",
                "serviceId": "5b7e2f0c9d1a4e6f8a3b2c1d0e9f8a7b",
                "message": "Deployment completed successfully.",
                "severity": "INFO",
            },
            [_SERVICE_ARN],
        ),
    ),
    "apprunner-operation-pascal": (
        AppRunnerOperationEvent,
        _envelope(
            "aws.apprunner",
            "AppRunner Service Operation Status Change",
            {
                "Status": "DeploymentFailed",
                "ServiceName": "checkout",
                "ServiceId": "5b7e2f0c9d1a4e6f8a3b2c1d0e9f8a7b",
            },
            [_SERVICE_ARN],
        ),
    ),
    "apprunner-service": (
        AppRunnerServiceStatusEvent,
        _envelope(
            "aws.apprunner",
            "AppRunner Service Status Change",
            {
                "previousServiceStatus": "OPERATION_IN_PROGRESS",
                "currentServiceStatus": "RUNNING",
                "serviceName": "checkout",
                "serviceId": "5b7e2f0c9d1a4e6f8a3b2c1d0e9f8a7b",
                "message": "Service status is set to RUNNING.",
                "severity": "INFO",
            },
            [_SERVICE_ARN],
        ),
    ),
    "apprunner-domain": (
        AppRunnerCustomDomainEvent,
        _envelope(
            "aws.apprunner",
            "AppRunner Custom Domain Validation Status Update",
            {"serviceName": "checkout", "domainName": "shop.example.org", "customDomainStatus": "ACTIVE"},
            [_SERVICE_ARN],
        ),
    ),
    "codebuild-state": (
        CodeBuildStateEvent,
        _envelope(
            "aws.codebuild",
            "CodeBuild Build State Change",
            {
                "build-status": "FAILED",
                "project-name": "checkout-image",
                "build-id": _BUILD_ARN,
                "current-phase": "COMPLETED",
                "current-phase-context": "[]",
                "version": "1",
                "additional-information": _BUILD_INFORMATION,
            },
            [_BUILD_ARN],
        ),
    ),
    "codebuild-phase": (
        CodeBuildPhaseEvent,
        _envelope(
            "aws.codebuild",
            "CodeBuild Build Phase Change",
            {
                "completed-phase": "BUILD",
                "completed-phase-status": "FAILED",
                "completed-phase-duration-seconds": 200,
                "completed-phase-context": "[]",
                "project-name": "checkout-image",
                "build-id": _BUILD_ARN,
                "version": "1",
                "additional-information": _BUILD_INFORMATION,
            },
            [_BUILD_ARN],
        ),
    ),
}

_APP_RUNNER = (AppRunnerOperationEvent, AppRunnerServiceStatusEvent, AppRunnerCustomDomainEvent)
_CODEBUILD = (CodeBuildStateEvent, CodeBuildPhaseEvent)
# Every adapter a handler parses with, and the models it may answer with.
ADAPTERS: dict[str, tuple[TypeAdapter[Any], tuple[type, ...]]] = {
    "EcrImageActionEvent": (TypeAdapter(EcrImageActionEvent), (EcrImageActionEvent,)),
    "AppRunnerOperationEvent": (TypeAdapter(AppRunnerOperationEvent), (AppRunnerOperationEvent,)),
    "AppRunnerServiceStatusEvent": (TypeAdapter(AppRunnerServiceStatusEvent), (AppRunnerServiceStatusEvent,)),
    "AppRunnerCustomDomainEvent": (TypeAdapter(AppRunnerCustomDomainEvent), (AppRunnerCustomDomainEvent,)),
    "AppRunnerEvent": (TypeAdapter(AppRunnerEvent), _APP_RUNNER),
    "CodeBuildStateEvent": (TypeAdapter(CodeBuildStateEvent), (CodeBuildStateEvent,)),
    "CodeBuildPhaseEvent": (TypeAdapter(CodeBuildPhaseEvent), (CodeBuildPhaseEvent,)),
    "CodeBuildEvent": (TypeAdapter(CodeBuildEvent), _CODEBUILD),
}

# --- strategies ----------------------------------------------------------------------------------

_HUGE = st.one_of(
    st.integers(min_value=10**18, max_value=10**400),
    st.integers(max_value=-(10**18)),
    # Long strings from repeated pieces: hypothesis draws no string this long directly.
    st.builds(
        lambda piece, times: piece * times, st.text(min_size=1, max_size=8), st.integers(1_000, 200_000)
    ),
    st.floats(allow_nan=False, allow_infinity=False),
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40), _HUGE
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON document, containers included."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """A real-shaped event with some fields dropped, retyped, blown up or joined by strangers."""
    event = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(event) if isinstance(event, dict) else []
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = event
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["drop", "retype", "huge", "extra"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "retype":
            parent[path[-1]] = draw(JSON)
        elif action == "huge":
            parent[path[-1]] = draw(_HUGE)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=20))] = draw(JSON)
    return event


def _any_event(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.one_of(JSON, mutated(base), st.dictionaries(st.text(max_size=20), JSON))


def _parsed_or_malformed(adapter: TypeAdapter[Any], event: Any) -> Any:
    try:
        return parse_event(adapter, event)
    except MalformedEventError:
        return None


# --- properties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALID_EVENTS))
def test_the_seed_events_parse(name: str) -> None:
    model, event = VALID_EVENTS[name]
    assert isinstance(parse_event(TypeAdapter(model), event), model)


@pytest.mark.parametrize("name", sorted(VALID_EVENTS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_every_event_model_parses_or_is_malformed(name: str, data: st.DataObject) -> None:
    _, base = VALID_EVENTS[name]
    event = data.draw(_any_event(base))
    for adapter, answers in ADAPTERS.values():
        parsed = _parsed_or_malformed(adapter, event)
        assert parsed is None or isinstance(parsed, answers)


_LOGGER = Logger(service="pushpilot-fuzz")
_METRICS = Metrics(namespace="PushpilotFuzz", service="pushpilot-fuzz")


@pytest.mark.parametrize("name", sorted(VALID_EVENTS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_the_handler_guard_rejects_what_does_not_parse(name: str, data: st.DataObject) -> None:
    model, base = VALID_EVENTS[name]
    adapter, _ = ADAPTERS[model.__name__]
    event = data.draw(_any_event(base))

    def work() -> FlowResult:
        parse_event(adapter, event)
        return FlowResult(event_id=event_id_of(event), status="handled")

    outcome = run_guarded(event, work, logger=_LOGGER, metrics=_METRICS)
    parses = _parsed_or_malformed(adapter, event) is not None
    assert outcome["status"] == ("handled" if parses else "rejected")
    assert outcome["event_id"] == event_id_of(event)
    if not parses:
        assert outcome["error_type"] == "MalformedEventError"
    _METRICS.clear_metrics()
