"""State that is never stale: services that ran before the install are known to the first push, and a
tag set in the console since the last refresh decides the next push (scenarios/*first-push-after-install*,
scenarios/*tag-hold*, App Runner, ECS and Lambda)."""

from __future__ import annotations

import functools
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox import steps
from pushpilot_sandbox.oci import synthesize_image
from pushpilot_sandbox.scenario import run_scenario
from tests.e2e.sandbox_support import Story, sns_kinds, story

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
HOLD = {"pushpilot:hold": "incident 42"}


@functools.cache
def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _writes(report: dict[str, Any], service: str) -> list[str]:
    return [call["operation"] for call in report["calls"] if call["service"] == service]


def _said(report: dict[str, Any]) -> list[str]:
    return [str(note["text"]) for note in report["notifications"] if note["channel"] == "sns"]


def _push_handler_calls(running: Story, seed: str) -> Counter[str]:
    """Push web:latest and deliver its event to the push handler alone; that handler's calls, by
    operation. The events the push causes are settled afterwards, uncounted."""
    sandbox = running.sandbox
    sandbox.ecr.push("web", "latest", synthesize_image(["linux/amd64"], seed=seed))
    events = list(sandbox.bus)
    sandbox.bus.clear()
    gateway_before, apprunner_before = len(sandbox.gateway.calls), len(sandbox.apprunner.calls)
    for event in events:
        for delivery in sandbox.router.deliver(event):
            assert delivery.succeeded, delivery
    counted: Counter[str] = Counter(
        f"{call.service}.{call.operation}" for call in sandbox.gateway.calls[gateway_before:]
    )
    counted.update(f"apprunner.{call.operation}" for call in sandbox.apprunner.calls[apprunner_before:])
    sandbox.settle()
    running.timeline.record()
    return counted


# --- the first push after the install ---------------------------------------------------------------


def test_the_first_push_after_the_install_deploys_to_an_ecs_service_that_ran_before_it() -> None:
    report = _run("ecs-first-push-after-install.yaml")

    assert _writes(report, "ecs") == ["RegisterTaskDefinition", "UpdateService"]
    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "live"]


def test_the_first_push_after_the_install_deploys_to_an_express_service_that_ran_before_it() -> None:
    report = _run("express-first-push-after-install.yaml")

    assert _writes(report, "ecs") == ["UpdateExpressGatewayService"]
    assert sns_kinds(report["notifications"])[:2] == ["verified", "deploying"]
    assert sns_kinds(report["notifications"])[-1] == "live"


def test_a_push_that_finds_the_index_never_filled_discovers_before_deciding(tmp_path: Path) -> None:
    """The stack-creation fill did not run (or did not finish): the push lists the services itself."""
    setup = {
        "repositories": ["web"],
        "ecs_services": [{"name": "storefront", "image": "web:latest", "cpu_architecture": "X86_64"}],
    }
    with story(setup, tmp_path) as running:
        calls = _push_handler_calls(running, "never-filled")
        assert calls["ecs.ListServices"] >= 1
        assert calls["ecs.UpdateService"] == 1
        assert running.notice_kinds() == ["verified", "deploying"]

        # The discovery marked the index filled: the next push pays nothing for it.
        running.sandbox.ecs.complete_deployment("storefront", "succeeded")
        running.sandbox.settle()
        again = _push_handler_calls(running, "filled")
        assert again["ecs.ListServices"] == 0
        assert again["ecs.UpdateService"] == 1


def test_the_stack_creation_fill_answers_cloudformation_before_filling(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web"],
        "ecs_services": [{"name": "storefront", "image": "web:latest", "cpu_architecture": "X86_64"}],
    }
    with story(setup, tmp_path) as running:
        running.timeline.skip_user_calls()
        steps.install_stack(running.sandbox, running.timeline)

        assert any(
            "ServiceIndexFill answered SUCCESS, 1 service(s) indexed" in line for line in running.lines
        )
        calls = _push_handler_calls(running, "after-install")
        assert calls["ecs.ListServices"] == 0
        assert calls["ecs.UpdateService"] == 1


def test_the_stack_creation_fill_answers_success_when_the_listing_is_denied(tmp_path: Path) -> None:
    """Whatever the fill meets, CloudFormation hears SUCCESS: the stack never fails or hangs for it, and
    the first push discovers instead."""
    setup = {
        "repositories": ["web"],
        "ecs_services": [{"name": "storefront", "image": "web:latest", "cpu_architecture": "X86_64"}],
    }
    with story(setup, tmp_path) as running:
        running.step(
            "fault",
            {"service": "ecs", "operation": "ListClusters", "code": "AccessDeniedException", "times": 5},
        )
        steps.install_stack(running.sandbox, running.timeline)

        assert any("ServiceIndexFill answered SUCCESS" in line for line in running.lines)
        assert not any("service(s) indexed" in line for line in running.lines)


# --- tags set since the last refresh ----------------------------------------------------------------


def test_a_hold_tag_set_since_the_refresh_holds_the_push_and_its_removal_lets_the_next_deploy() -> None:
    report = _run("tag-hold.yaml")

    assert _writes(report, "apprunner") == ["StartDeployment"]
    assert "latest not deployed to storefront: it is held (incident 42)" in _said(report)[0]
    assert sns_kinds(report["notifications"]) == ["policy", "verified", "deploying", "live"]


def test_a_hold_tag_set_since_the_refresh_holds_the_push_on_ecs_too() -> None:
    report = _run("ecs-tag-hold.yaml")

    assert _writes(report, "ecs") == ["RegisterTaskDefinition", "UpdateService"]
    assert "latest not deployed to storefront: it is held (incident 42)" in _said(report)[0]
    assert sns_kinds(report["notifications"]) == ["policy", "verified", "deploying", "live"]


def test_a_hold_tag_set_just_before_a_push_holds_a_lambda_function() -> None:
    report = _run("lambda-tag-hold.yaml")

    writes = [call for call in report["calls"] if call["service"] == "lambda"]
    assert [call["operation"] for call in writes] == ["UpdateFunctionCode"]
    assert "latest not deployed to thumbs: it is held (incident 42)" in _said(report)[0]
    assert sns_kinds(report["notifications"]) == ["policy", "verified", "deploying", "live"]
    # The one update is the second push's (the release told verified), not the held one's.
    (verified,) = [
        note["payload"]
        for note in report["notifications"]
        if note["channel"] == "sns" and note["payload"]["metadata"]["eventType"] == "verified"
    ]
    digest = verified["metadata"]["additionalContext"]["digest"]
    assert writes[0]["params"]["ImageUri"].endswith(f"/web@{digest}")


def test_the_lambda_tags_are_read_once_per_push_they_concern_and_obeyed(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web", "api"],
        "parameters": {"LambdaFunctionPrefix": "thumbs"},
        "lambda_functions": [{"name": "thumbs", "image": "web:latest", "architecture": "x86_64"}],
    }
    with story(setup, tmp_path) as running:
        running.step("refresh", {})
        running.step("tag", {"service": "thumbs", "tags": HOLD})
        assert running.sandbox.lambda_functions.function("thumbs").tags == HOLD

        held = _push_handler_calls(running, "held")
        # One GetFunction reads the tags as they are now; the hold stops the update.
        assert held["lambda.GetFunction"] == 1
        assert held["lambda.UpdateFunctionCode"] == 0
        assert "it is held (incident 42)" in str(running.notices()[-1]["payload"])

        running.step("untag", {"service": "thumbs", "keys": ["pushpilot:hold"]})
        assert running.sandbox.lambda_functions.function("thumbs").tags == {}
        released = _push_handler_calls(running, "released")
        assert released["lambda.UpdateFunctionCode"] == 1

        # A push of a repository no function runs reads no tags.
        running.sandbox.ecr.push("api", "latest", synthesize_image(["linux/amd64"], seed="api"))
        elsewhere = Counter(
            f"{call.service}.{call.operation}"
            for event in list(running.sandbox.bus)
            for call in _delivered_calls(running, event)
        )
        assert elsewhere["lambda.GetFunction"] == 0


def _one_service(kind: str) -> dict[str, Any]:
    if kind == "apprunner":
        return {"repositories": ["web"], "services": [{"name": "storefront", "image": "web:latest"}]}
    return {
        "repositories": ["web"],
        "ecs_services": [{"name": "storefront", "image": "web:latest", "cpu_architecture": "X86_64"}],
    }


@pytest.mark.parametrize(
    ("kind", "tag_read", "deploy"),
    [
        ("apprunner", "apprunner.ListTagsForResource", "apprunner.StartDeployment"),
        ("ecs", "ecs.DescribeServices", "ecs.UpdateService"),
    ],
)
def test_the_tags_are_read_once_per_deployment_and_never_for_a_service_the_push_does_not_concern(
    tmp_path: Path, kind: str, tag_read: str, deploy: str
) -> None:
    setup = _one_service(kind)
    setup["repositories"] = ["web", "api"]
    with story(setup, tmp_path) as running:
        running.step("refresh", {})
        running.step("tag", {"service": "storefront", "tags": HOLD})

        held = _push_handler_calls(running, "held")
        assert held[tag_read] == 1
        assert held[deploy] == 0
        assert "it is held (incident 42)" in str(running.notices()[-1]["payload"])

        running.step("untag", {"service": "storefront", "keys": ["pushpilot:hold"]})
        released = _push_handler_calls(running, "released")
        assert released[tag_read] == 1
        assert released[deploy] == 1

        # A push of a repository no service runs reads no tags.
        running.sandbox.ecr.push("api", "latest", synthesize_image(["linux/amd64"], seed="api"))
        elsewhere = Counter(
            f"{call.service}.{call.operation}"
            for event in list(running.sandbox.bus)
            for call in _delivered_calls(running, event)
        )
        assert elsewhere[tag_read] == 0


def _delivered_calls(running: Story, event: dict[str, Any]) -> list[Any]:
    sandbox = running.sandbox
    sandbox.bus.clear()
    gateway_before, apprunner_before = len(sandbox.gateway.calls), len(sandbox.apprunner.calls)
    sandbox.router.deliver(event)
    recorded: list[Any] = list(sandbox.gateway.calls[gateway_before:])
    recorded += [_AppRunnerCall(call.operation) for call in sandbox.apprunner.calls[apprunner_before:]]
    return recorded


class _AppRunnerCall:
    service = "apprunner"

    def __init__(self, operation: str) -> None:
        self.operation = operation
