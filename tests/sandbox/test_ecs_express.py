"""ECS Express Mode through an unmodified boto3 client: an Express service is an ECS service with an
endpoint and a canary that bakes twice; its alarm rolls a bad revision back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from pushpilot_sandbox.ecs import EmulatorError
from tests.sandbox.ecs_support import (
    ACCOUNT,
    EXECUTION_ROLE,
    INFRASTRUCTURE_ROLE,
    REGION,
    Ecs,
    Running,
    digest_for,
    documented,
    fresh,
    image,
    running_ecs,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_ecs() as started:
        yield started


@pytest.fixture
def ecs(running: Running) -> Ecs:
    return fresh(running)


def _container(tag: str, **extra: Any) -> Any:
    return {"image": image("checkout", tag), "containerPort": 8080, **extra}


def _create(ecs: Ecs, architecture: str = "X86_64") -> dict[str, Any]:
    created = ecs.client.create_express_gateway_service(
        infrastructureRoleArn=INFRASTRUCTURE_ROLE,
        executionRoleArn=EXECUTION_ROLE,
        serviceName="checkout",
        primaryContainer=_container("v1", environment=[{"name": "MODE", "value": "live"}]),
        cpuArchitecture=architecture,  # type: ignore[arg-type]
        healthCheckPath="/healthz",
        tags=[{"key": "team", "value": "payments"}],
    )["service"]
    return dict(created)


def _settled(ecs: Ecs) -> str:
    arn = str(_create(ecs)["serviceArn"])
    ecs.emulator.complete_deployment(arn, "succeeded")
    ecs.events.clear()
    return arn


def _deployment(ecs: Ecs, arn: str) -> dict[str, Any]:
    (found,) = ecs.client.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return dict(found)


def _update(ecs: Ecs, arn: str, tag: str = "v2") -> dict[str, Any]:
    answer = ecs.client.update_express_gateway_service(serviceArn=arn, primaryContainer=_container(tag))[
        "service"
    ]
    ecs.events.clear()
    return dict(answer)


def test_an_express_service_is_an_ecs_service_with_an_endpoint(ecs: Ecs) -> None:
    created = _create(ecs, "ARM64")

    (configuration,) = created["activeConfigurations"]
    (ingress,) = configuration["ingressPaths"]
    assert ingress["accessType"] == "PUBLIC"
    assert re.fullmatch(rf"checkout-[a-z0-9]{{15}}\.ecs\.{REGION}\.on\.aws", ingress["endpoint"])
    assert configuration["cpuArchitecture"] == "ARM64"
    assert configuration["primaryContainer"]["image"] == image("checkout", "v1")
    assert created["status"]["statusCode"] == "ACTIVE"
    assert created["currentDeployment"].startswith(
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/default/checkout/"
    )
    express = ecs.client.list_services(resourceManagementType="ECS")["serviceArns"]
    customer = ecs.client.list_services(resourceManagementType="CUSTOMER")["serviceArns"]
    assert (express, customer) == ([created["serviceArn"]], [])
    service = ecs.describe("checkout")
    assert (service["resourceManagementType"], service["launchType"]) == ("ECS", "FARGATE")
    assert service["deploymentConfiguration"]["strategy"] == "CANARY"
    definition = ecs.client.describe_task_definition(taskDefinition=configuration["taskDefinitionArn"])[
        "taskDefinition"
    ]
    assert definition["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert [(c["name"], c["image"]) for c in definition["containerDefinitions"]] == [
        ("Main", image("checkout", "v1"))
    ]
    assert documented(ecs.events[0]).detail.eventName == "SERVICE_DEPLOYMENT_IN_PROGRESS"


def test_the_current_deployment_is_gone_once_the_deployment_completes(ecs: Ecs) -> None:
    arn = _settled(ecs)

    described = ecs.client.describe_express_gateway_service(serviceArn=arn, include=["TAGS"])["service"]

    assert "currentDeployment" not in described
    assert described["tags"] == [{"key": "team", "value": "payments"}]


def test_an_update_starts_a_canary_that_bakes_twice_before_it_succeeds(ecs: Ecs) -> None:
    arn = _settled(ecs)
    answer = _update(ecs, arn)
    revision = answer["targetConfiguration"]["serviceRevisionArn"]
    (brief, _) = ecs.client.list_service_deployments(service="checkout")["serviceDeployments"]
    assert brief["targetServiceRevisionArn"] == revision

    first = ecs.emulator.advance_canary("checkout")
    during_first = _deployment(ecs, brief["serviceDeploymentArn"])
    second = ecs.emulator.advance_canary("checkout")
    during_second = _deployment(ecs, brief["serviceDeploymentArn"])
    with pytest.raises(EmulatorError, match="baked twice"):
        ecs.emulator.advance_canary("checkout")
    described = ecs.client.describe_express_gateway_service(serviceArn=arn)["service"]
    ecs.emulator.complete_deployment("checkout", "succeeded")

    assert (first.status, second.status) == ("IN_PROGRESS", "IN_PROGRESS")
    assert during_first["lifecycleStage"] == "BAKE_TIME"
    assert during_first["targetServiceRevision"]["requestedProductionTrafficWeight"] == 5.0
    assert during_first["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 95.0
    assert during_second["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert described["currentDeployment"] == brief["serviceDeploymentArn"]
    assert described["activeConfigurations"][0]["serviceRevisionArn"] == revision
    done = ecs.client.describe_express_gateway_service(serviceArn=arn)["service"]
    assert "currentDeployment" not in done
    assert [c["primaryContainer"]["image"] for c in done["activeConfigurations"]] == [image("checkout", "v2")]
    assert _deployment(ecs, brief["serviceDeploymentArn"])["status"] == "SUCCESSFUL"
    task_arns = ecs.client.list_tasks(serviceName="checkout")["taskArns"]
    running = ecs.client.describe_tasks(tasks=task_arns)["tasks"]
    # One task (the desired count): the canary's, still running.
    assert [task["containers"][0]["image"] for task in running] == [image("checkout", "v2")]
    names = [
        documented(raw).detail.eventName
        for raw in ecs.events
        if raw["detail-type"] != "ECS Task State Change"
    ]
    assert names == ["SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_STEADY_STATE"]
    (revision_body,) = ecs.client.describe_service_revisions(serviceRevisionArns=[revision])[
        "serviceRevisions"
    ]
    assert revision_body["containerImages"][0]["imageDigest"] == digest_for(image("checkout", "v2"))
    ingress = revision_body["ecsManagedResources"]["ingressPaths"][0]
    assert ingress["endpoint"] == done["activeConfigurations"][0]["ingressPaths"][0]["endpoint"]


def test_the_canary_alarm_rolls_a_bad_revision_back(ecs: Ecs) -> None:
    arn = _settled(ecs)
    stable = ecs.describe("checkout")["deployments"][0]["id"]
    answer = _update(ecs, arn)

    ecs.emulator.complete_deployment("checkout", "rolled_back")

    (brief, _) = ecs.client.list_service_deployments(service="checkout")["serviceDeployments"]
    assert brief["targetServiceRevisionArn"] == answer["targetConfiguration"]["serviceRevisionArn"]
    deployment = _deployment(ecs, brief["serviceDeploymentArn"])
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    alarm = deployment["alarms"]["alarmNames"][0]
    assert deployment["alarms"] == {
        "status": "TRIGGERED",
        "alarmNames": [alarm],
        "triggeredAlarmNames": [alarm],
    }
    assert deployment["rollback"]["serviceRevisionArn"] == deployment["sourceServiceRevisions"][0]["arn"]
    described = ecs.client.describe_express_gateway_service(serviceArn=arn)["service"]
    assert [c["primaryContainer"]["image"] for c in described["activeConfigurations"]] == [
        image("checkout", "v1")
    ]
    assert "currentDeployment" not in described
    reasons = [
        raw["detail"]["reason"] for raw in ecs.events if raw["detail-type"] == "ECS Deployment State Change"
    ]
    assert reasons[1] == f"ECS deployment alarms: rolling back to deploymentId {stable}."


def test_failing_tasks_trip_the_circuit_breaker_which_rolls_back_too(ecs: Ecs) -> None:
    arn = _settled(ecs)
    _update(ecs, arn)

    finished = ecs.emulator.complete_deployment(
        "checkout", "failed", stopped_reason="CannotPullContainerError: denied"
    )

    assert finished.status == "ROLLBACK_SUCCESSFUL"
    assert finished.circuit_breaker is not None
    assert finished.circuit_breaker["status"] == "TRIGGERED"
    stopped = [raw for raw in ecs.events if raw["detail-type"] == "ECS Task State Change"]
    assert {raw["detail"]["stopCode"] for raw in stopped} == {"TaskFailedToStart"}


def test_an_update_replaces_the_primary_container_whole_and_keeps_the_rest(ecs: Ecs) -> None:
    arn = _settled(ecs)

    answer = ecs.client.update_express_gateway_service(
        serviceArn=arn, primaryContainer={"image": image("checkout", "v2")}
    )

    target = answer["service"]["targetConfiguration"]
    assert target["primaryContainer"] == {"image": image("checkout", "v2"), "containerPort": 80}
    assert (target["healthCheckPath"], target["cpuArchitecture"]) == ("/healthz", "X86_64")


def test_express_refuses_a_container_and_a_task_definition_together(ecs: Ecs) -> None:
    with pytest.raises(ecs.client.exceptions.InvalidParameterException, match="exactly one"):
        ecs.client.create_express_gateway_service(
            infrastructureRoleArn=INFRASTRUCTURE_ROLE,
            primaryContainer=_container("v1"),
            taskDefinitionArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/checkout:1",
        )
    with pytest.raises(ecs.client.exceptions.ServiceNotFoundException):
        ecs.client.describe_express_gateway_service(
            serviceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/nope"
        )
