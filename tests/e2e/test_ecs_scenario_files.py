"""The ECS scenarios in scenarios/ tell the stories they claim, end to end: pushpilot's handlers against
the ECS emulator, through the template's own rules."""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.scenario import run_scenario
from tests.e2e.sandbox_support import sns_kinds

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PINNED = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:"


@functools.cache
def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _ecs_calls(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [call for call in report["calls"] if call["service"] in {"ecs", "apprunner"}]


def _failure_text(report: dict[str, Any]) -> str:
    (notice,) = [
        note
        for note in report["notifications"]
        if note["channel"] == "sns" and note["payload"]["metadata"]["eventType"] == "rolled_back"
    ]
    return str(notice["payload"]["content"]["description"])


def test_fargate_push_is_pinned_by_digest_and_goes_live() -> None:
    report = _run("ecs-fargate.yaml")

    register, update = _ecs_calls(report)
    assert (register["operation"], update["operation"]) == ("RegisterTaskDefinition", "UpdateService")
    assert register["params"]["containerDefinitions"][0]["image"].startswith(PINNED)
    assert register["params"]["runtimePlatform"] == {
        "cpuArchitecture": "X86_64",
        "operatingSystemFamily": "LINUX",
    }
    assert update["params"]["taskDefinition"].startswith(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/"
    )
    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "live"]


def test_a_circuit_breaker_rollback_is_told_as_a_failure_with_the_stopped_task_reason() -> None:
    report = _run("ecs-rollback.yaml")

    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "rolled_back"]
    assert "CannotPullContainerError" in _failure_text(report)


def test_an_alarm_rollback_on_express_names_the_alarm_and_arm64_is_refused_for_x86_64() -> None:
    report = _run("ecs-express-rollback.yaml")

    assert sns_kinds(report["notifications"]) == ["rejected", "verified", "deploying", "rolled_back"]
    assert "ecs-express-checkout-graviton-5xx-rollback" in _failure_text(report)
    (update,) = _ecs_calls(report)
    assert update["operation"] == "UpdateExpressGatewayService"
    assert update["params"]["serviceArn"].endswith("/checkout-graviton")


def test_a_release_one_service_refused_never_headlines_verified() -> None:
    report = _run("ecs-architectures.yaml")

    headlines = [
        note["text"]
        for note in report["notifications"]
        if note["channel"] == "slack" and not note["payload"].get("thread_ts")
    ]
    assert headlines[0] == ":warning: web:latest: partly verified", headlines
    assert not [text for text in headlines if text.endswith(": verified")], headlines
    replies = " ".join(note["text"] for note in report["notifications"] if note["channel"] == "slack")
    assert "manual deployment mode" not in replies
    assert "release policy" not in replies
    assert "registers a task definition revision pinned to this digest" in replies


def test_only_the_app_container_of_a_two_container_task_changes() -> None:
    report = _run("ecs-sidecar.yaml")

    register = next(call for call in report["calls"] if call["operation"] == "RegisterTaskDefinition")
    images = {item["name"]: item["image"] for item in register["params"]["containerDefinitions"]}
    assert images["app"].startswith(PINNED)
    assert images["envoy"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/envoy:v1.29"


def test_events_delivered_twice_deploy_once_and_tell_once() -> None:
    report = _run("ecs-duplicates.yaml")

    assert [call["operation"] for call in _ecs_calls(report)] == ["RegisterTaskDefinition", "UpdateService"]
    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "rolled_back"]


def test_app_runner_ecs_and_express_on_one_tag_deploy_three_times() -> None:
    report = _run("ecs-mixed.yaml")

    assert [(call["service"], call["operation"]) for call in _ecs_calls(report)] == [
        ("apprunner", "StartDeployment"),
        ("ecs", "RegisterTaskDefinition"),
        ("ecs", "UpdateService"),
        ("ecs", "UpdateExpressGatewayService"),
    ]
    assert sns_kinds(report["notifications"]).count("live") == 3


def test_a_stuck_deployment_is_never_told_live_and_is_told_stuck_once_past_the_deadline() -> None:
    report = _run("ecs-stuck.yaml")

    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "stuck"]


def test_a_burst_during_a_deployment_deploys_the_newest_and_tells_the_others_superseded() -> None:
    report = _run("ecs-burst.yaml")

    kinds = sns_kinds(report["notifications"])
    assert kinds.count("superseded") == 3
    assert kinds.count("live") == 2
    assert "failed" not in kinds
    updates = [call for call in _ecs_calls(report) if call["operation"] == "UpdateService"]
    assert len(updates) == 2
    registered = [call for call in _ecs_calls(report) if call["operation"] == "RegisterTaskDefinition"]
    queued = [
        note["payload"]["content"]["title"]
        for note in report["notifications"]
        if note["channel"] == "sns" and note["payload"]["metadata"]["eventType"] == "queued"
    ]
    # The last push queued is the one the second deployment pins: "… web@sha256:<12 hex> queued for …".
    newest_short = re.search(r"@(sha256:[0-9a-f]{12})", queued[-1]).group(1)  # type: ignore[union-attr]
    assert registered[-1]["params"]["containerDefinitions"][0]["image"].split("@")[1].startswith(newest_short)
