"""The ECS emulator's PAUSE hooks through an unmodified boto3 client (every request and answer checked
against botocore's ECS model by the emulator): a BLUE_GREEN deployment stops at its hook with the hook's
event, `DescribeServiceDeployments` shows the stage, the hook and the traffic share, CONTINUE bakes and
then completes, ROLLBACK and a timeout roll back, and an answered hook takes no second answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushpilot_sandbox.ecs_hooks import PauseHooks
from tests.sandbox.ecs_support import Ecs, Running, SteppingClock, fresh, image, running_ecs

pytestmark = pytest.mark.sandbox

HOOK_EVENT = "ECS Hook State Change"


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[Running, SteppingClock, PauseHooks]]:
    clock = SteppingClock()
    with running_ecs(clock) as started:
        yield started, clock, PauseHooks(started.emulator)


@pytest.fixture
def world(running: tuple[Running, SteppingClock, PauseHooks]) -> tuple[Ecs, SteppingClock]:
    started, clock, hooks = running
    hooks.pauses.clear()
    hooks.bakes.clear()
    return fresh(started), clock


def _paused(ecs: Ecs, *, on_timeout: str = "ROLLBACK", strategy: str = "BLUE_GREEN") -> dict[str, Any]:
    """A settled service of `strategy` with a PAUSE hook, then an update that stops at it."""
    old = ecs.register("web", {"app": image("web", "v1")})
    new = ecs.register("web", {"app": image("web", "v2")})
    configuration: Any = {
        "strategy": strategy,
        "bakeTimeInMinutes": 5,
        "lifecycleHooks": [
            {
                "targetType": "PAUSE",
                "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 60, "action": on_timeout},
            }
        ],
    }
    ecs.settled_service("storefront", old, deploymentConfiguration=configuration)
    arn = ecs.client.update_service(service="storefront", taskDefinition=new)["service"][
        "currentServiceDeployment"
    ]
    return {"arn": arn, "event": next(event for event in ecs.events if event["detail-type"] == HOOK_EVENT)}


def _deployment(ecs: Ecs, arn: str) -> dict[str, Any]:
    (found,) = ecs.client.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(found)


def _events(ecs: Ecs) -> list[tuple[str, str]]:
    return [(event["detail-type"], event["detail"].get("eventName", "")) for event in ecs.events]


def test_a_blue_green_update_stops_at_its_pause_hook_and_says_so(world: tuple[Ecs, SteppingClock]) -> None:
    ecs, _ = world
    paused = _paused(ecs)
    detail = paused["event"]["detail"]
    assert (detail["eventName"], detail["targetType"], detail["lifecycleStage"]) == (
        "HOOK_AWAITING_ACTION",
        "PAUSE",
        "POST_TEST_TRAFFIC_SHIFT",
    )
    assert detail["serviceDeploymentArn"] == paused["arn"] == paused["event"]["resources"][0]
    described = _deployment(ecs, paused["arn"])
    assert (described["status"], described["lifecycleStage"]) == ("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT")
    [hook] = described["lifecycleHookDetails"]
    assert (hook["hookId"], hook["status"], hook["timeoutAction"]) == (
        detail["hookId"],
        "AWAITING_ACTION",
        "ROLLBACK",
    )
    assert described["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0


def test_continue_bakes_then_completes_and_a_second_answer_is_refused(
    world: tuple[Ecs, SteppingClock],
) -> None:
    ecs, clock = world
    paused = _paused(ecs)
    hook_id = paused["event"]["detail"]["hookId"]
    ecs.events.clear()
    ecs.client.continue_service_deployment(
        serviceDeploymentArn=paused["arn"], hookId=hook_id, action="CONTINUE"
    )
    baking = _deployment(ecs, paused["arn"])
    assert (baking["status"], baking["lifecycleStage"]) == ("IN_PROGRESS", "BAKE_TIME")
    assert baking["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert baking["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as refused:
        ecs.client.continue_service_deployment(
            serviceDeploymentArn=paused["arn"], hookId=hook_id, action="CONTINUE"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_COMPLETED") not in _events(ecs)

    clock.jump(6)
    assert _deployment(ecs, paused["arn"])["status"] == "SUCCESSFUL"
    assert ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_COMPLETED") in _events(ecs)


def test_roll_back_returns_to_the_previous_revision(world: tuple[Ecs, SteppingClock]) -> None:
    ecs, _ = world
    paused = _paused(ecs)
    ecs.client.continue_service_deployment(
        serviceDeploymentArn=paused["arn"], hookId=paused["event"]["detail"]["hookId"], action="ROLLBACK"
    )
    described = _deployment(ecs, paused["arn"])
    assert described["status"] == "ROLLBACK_SUCCESSFUL"
    assert "lifecycle hook" in described["rollback"]["reason"]


def test_a_hook_nobody_answers_times_out_with_its_timeout_action(world: tuple[Ecs, SteppingClock]) -> None:
    ecs, clock = world
    paused = _paused(ecs)
    ecs.events.clear()
    clock.jump(61)
    described = _deployment(ecs, paused["arn"])
    assert described["status"] == "ROLLBACK_SUCCESSFUL"
    assert described["lifecycleHookDetails"][0]["status"] == "TIMED_OUT"
    assert (HOOK_EVENT, "HOOK_TIMED_OUT") in _events(ecs)


def test_a_rolling_service_never_pauses(world: tuple[Ecs, SteppingClock]) -> None:
    ecs, _ = world
    old = ecs.register("web", {"app": image("web", "v1")})
    new = ecs.register("web", {"app": image("web", "v2")})
    ecs.settled_service("storefront", old)
    ecs.client.update_service(service="storefront", taskDefinition=new)
    assert not [event for event in ecs.events if event["detail-type"] == HOOK_EVENT]
