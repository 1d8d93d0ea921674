"""The ECS target against moto: discovery, platform per service, deploy by digest through a pinned task
definition copy. Outcomes moto cannot produce (rollouts, rollbacks, service deployments) are read from
botocore-stubbed answers in the shapes ECS documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pushpilot.core.targets import Outcome
from pushpilot.core.tracking import IndexedService, InFlight
from pushpilot.core.verdicts import LINUX_AMD64, LINUX_ARM64
from pushpilot.targets.ecs.services import EcsTarget
from pushpilot.targets.ecs.task_definitions import READ_ONLY_FIELDS

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
DIGEST = "sha256:" + "a" * 64
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"


@pytest.fixture
def ecs() -> Iterator[ECSClient]:
    with mock_aws():
        client: ECSClient = boto3.client("ecs", region_name=REGION)
        client.create_cluster(clusterName="prod")
        yield client


def register(ecs: ECSClient, family: str, *, architecture: str | None, sidecar: bool = False) -> str:
    containers: list[dict[str, Any]] = [
        {
            "name": "app",
            "image": f"{REGISTRY}/web:latest",
            "essential": True,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": f"/ecs/{family}", "awslogs-region": REGION},
            },
        }
    ]
    if sidecar:
        containers.append({"name": "envoy", "image": "envoyproxy/envoy:v1.30", "essential": False})
    kwargs: dict[str, Any] = {
        "family": family,
        "containerDefinitions": containers,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": ROLE,
        "tags": [{"key": "team", "value": "shop"}],
    }
    if architecture:
        kwargs["runtimePlatform"] = {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"}
    return ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"]


def create_service(ecs: ECSClient, name: str, task_definition: str, *, launch_type: str = "FARGATE") -> str:
    return ecs.create_service(
        cluster="prod",
        serviceName=name,
        taskDefinition=task_definition,
        desiredCount=2,
        launchType=launch_type,  # type: ignore[arg-type]
    )["service"]["serviceArn"]


def indexed(target: EcsTarget, arn: str) -> IndexedService:
    described = target.describe(arn)
    return IndexedService(
        kind=described.kind,
        arn=described.arn,
        name=described.name,
        status=described.status,
        image_identifier=described.image_identifier or "",
        image_key=described.image_identifier or "",
        auto_deploy=False,
        details=described.details,
    )


def test_discovery_reads_each_services_platform_from_its_own_task_definition(ecs: ECSClient) -> None:
    create_service(ecs, "graviton", register(ecs, "graviton", architecture="ARM64"))
    create_service(ecs, "storefront", register(ecs, "storefront", architecture=None))
    create_service(ecs, "legacy", register(ecs, "legacy", architecture=None), launch_type="EC2")

    services = {service.name: service for service in EcsTarget(ecs, region=REGION).list_services()}

    assert services["graviton"].required_platform == LINUX_ARM64
    # Fargate runs X86_64 when the task definition does not say.
    assert services["storefront"].required_platform == LINUX_AMD64
    # EC2 with no running task to read an instance's architecture from: unknown, not guessed.
    assert services["legacy"].required_platform is None
    assert services["storefront"].image_identifier == f"{REGISTRY}/web:latest"
    assert services["storefront"].details["log_group"] == "/ecs/storefront"


def test_clusters_scope_discovery(ecs: ECSClient) -> None:
    ecs.create_cluster(clusterName="staging")
    ecs.create_service(
        cluster="staging",
        serviceName="other",
        taskDefinition=register(ecs, "other", architecture=None),
        desiredCount=1,
    )
    create_service(ecs, "storefront", register(ecs, "storefront", architecture=None))

    names = [service.name for service in EcsTarget(ecs, region=REGION, clusters=["prod"]).list_services()]

    assert names == ["storefront"]


def test_deploy_registers_a_pinned_copy_of_the_current_revision_and_updates_it(
    ecs: ECSClient,
) -> None:
    current = register(ecs, "storefront", architecture="X86_64", sidecar=True)
    # A newer revision of the family that the service does not run must not be the base.
    register(ecs, "storefront", architecture="ARM64")
    arn = create_service(ecs, "storefront", current)
    target = EcsTarget(ecs, region=REGION)

    deployment_id = target.deploy(indexed(target, arn), DIGEST)

    service = ecs.describe_services(cluster="prod", services=[arn])["services"][0]
    deployed = ecs.describe_task_definition(taskDefinition=service["taskDefinition"], include=["TAGS"])
    containers = {c["name"]: c["image"] for c in deployed["taskDefinition"]["containerDefinitions"]}
    assert containers == {"app": f"{REGISTRY}/web@{DIGEST}", "envoy": "envoyproxy/envoy:v1.30"}
    assert deployed["taskDefinition"]["runtimePlatform"]["cpuArchitecture"] == "X86_64"
    assert deployed["taskDefinition"]["executionRoleArn"] == ROLE
    tags = {tag["key"]: tag["value"] for tag in deployed["tags"]}
    assert tags["team"] == "shop"
    assert tags["pushpilot:digest"] == DIGEST
    assert deployment_id.startswith("ecs-svc/")


def test_services_sharing_a_task_definition_share_one_registration(ecs: ECSClient) -> None:
    shared = register(ecs, "web", architecture=None)
    first = create_service(ecs, "web-a", shared)
    second = create_service(ecs, "web-b", shared)
    target = EcsTarget(ecs, region=REGION)
    registered: list[str] = []
    ecs.meta.events.register("before-call.ecs.RegisterTaskDefinition", lambda **_: registered.append("x"))

    target.deploy(indexed(target, first), DIGEST)
    target.deploy(indexed(target, second), DIGEST)

    assert len(registered) == 1
    task_definitions = {
        service["taskDefinition"]
        for service in ecs.describe_services(cluster="prod", services=[first, second])["services"]
    }
    assert len(task_definitions) == 1
    assert task_definitions != {shared}


def test_the_pinned_copy_drops_every_read_only_field() -> None:
    from pushpilot.core.image_ref import ImageRef
    from pushpilot.targets.ecs.task_definitions import pinned_copy

    described = dict.fromkeys(READ_ONLY_FIELDS, "x") | {
        "family": "web",
        "containerDefinitions": [{"name": "app", "image": f"{REGISTRY}/web:latest"}],
    }
    register_input, changed = pinned_copy(
        described, image=ImageRef.parse(f"{REGISTRY}/web:latest"), digest=DIGEST, tags=[]
    )

    assert not READ_ONLY_FIELDS & set(register_input)
    assert changed == ["app"]


SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/storefront"
STARTED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _indexed_in_flight(deployment_id: str) -> IndexedService:
    return IndexedService(
        kind="ecs",
        arn=SERVICE_ARN,
        name="storefront",
        status="ACTIVE",
        image_identifier=f"{REGISTRY}/web:latest",
        image_key=f"{REGISTRY}/web:latest",
        auto_deploy=False,
        details={"cluster": "prod", "task_definition": "td:1", "circuit_breaker": "rollback"},
        in_flight=InFlight(
            digest=DIGEST, release_id="r", started_at=STARTED.isoformat(), operation_id=deployment_id
        ),
    )


def _service(deployments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": SERVICE_ARN,
                "serviceName": "storefront",
                "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod",
                "status": "ACTIVE",
                "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                "deployments": deployments,
            }
        ]
    }


def test_a_completed_deployment_is_live() -> None:
    client: ECSClient = boto3.client("ecs", region_name=REGION)
    target = EcsTarget(client, region=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_services",
            _service(
                [{"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": "COMPLETED", "createdAt": STARTED}]
            ),
        )
        live = target.find_operation(_indexed_in_flight("ecs-svc/1"), "ecs-svc/1")

    assert live is not None
    assert live.outcome is Outcome.LIVE


ROLLBACK_FAILED_REASON = "The rollback failed: ECS deployment circuit breaker: task failed to start."
_STOPPED = {
    "tasks": [
        {
            "stoppedReason": "Essential container in task exited",
            "stopCode": "EssentialContainerExited",
            "containers": [{"name": "app", "exitCode": 1}],
        }
    ]
}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("ROLLBACK_IN_PROGRESS", Outcome.ROLLING_BACK),
        ("ROLLBACK_SUCCESSFUL", Outcome.ROLLED_BACK),
    ],
)
def test_a_failed_deployment_with_rollback_is_rolling_back_until_ecs_says_the_rollback_succeeded(
    status: str, outcome: Outcome
) -> None:
    client: ECSClient = boto3.client("ecs", region_name=REGION)
    target = EcsTarget(client, region=REGION)
    deployment_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/storefront/Ef56Gh78"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_services",
            _service(
                [
                    {
                        "id": "ecs-svc/2",
                        "status": "ACTIVE",
                        "rolloutState": "FAILED",
                        "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
                        "createdAt": STARTED,
                    }
                ]
            ),
        )
        stub.add_response(
            "list_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": deployment_arn, "status": status}]},
        )
        stub.add_response(
            "describe_service_deployments",
            {
                "serviceDeployments": [
                    {"serviceDeploymentArn": deployment_arn, "status": status, "createdAt": STARTED}
                ]
            },
        )
        stub.add_response("list_tasks", {"taskArns": ["arn:aws:ecs:us-east-1:123456789012:task/prod/abc"]})
        stub.add_response("describe_tasks", _STOPPED)
        operation = target.find_operation(_indexed_in_flight("ecs-svc/2"), "ecs-svc/2")

    assert operation is not None
    assert operation.outcome is outcome
    assert operation.status == status
    assert "ECS deployment circuit breaker: tasks failed to start." in operation.reasons
    assert "Essential container in task exited; container app exited with code 1" in operation.reasons


def test_a_failed_rollback_is_told_with_the_rollback_deployments_own_stopped_tasks() -> None:
    client: ECSClient = boto3.client("ecs", region_name=REGION)
    target = EcsTarget(client, region=REGION)
    deployment_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/storefront/Ij90Kl12"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_services",
            _service(
                [
                    {
                        "id": "ecs-svc/4",
                        "status": "PRIMARY",
                        "rolloutState": "FAILED",
                        "rolloutStateReason": "ECS deployment circuit breaker: task failed to start.",
                        "createdAt": STARTED,
                    },
                    {
                        "id": "ecs-svc/3",
                        "status": "ACTIVE",
                        "rolloutState": "FAILED",
                        "rolloutStateReason": "ECS deployment circuit breaker: task failed to start.",
                        "createdAt": STARTED,
                    },
                ]
            ),
        )
        stub.add_response(
            "list_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": deployment_arn, "status": "ROLLBACK_FAILED"}]},
        )
        stub.add_response(
            "describe_service_deployments",
            {
                "serviceDeployments": [
                    {
                        "serviceDeploymentArn": deployment_arn,
                        "status": "ROLLBACK_FAILED",
                        "statusReason": ROLLBACK_FAILED_REASON,
                        "createdAt": STARTED,
                    }
                ]
            },
        )
        # Our deployment's stopped tasks, then the rollback's.
        stub.add_response("list_tasks", {"taskArns": ["arn:aws:ecs:us-east-1:123456789012:task/prod/abc"]})
        stub.add_response("describe_tasks", _STOPPED)
        stub.add_response("list_tasks", {"taskArns": ["arn:aws:ecs:us-east-1:123456789012:task/prod/def"]})
        stub.add_response(
            "describe_tasks",
            {"tasks": [{"stoppedReason": "CannotPullContainerError: pull image manifest has been retried"}]},
        )
        operation = target.find_operation(_indexed_in_flight("ecs-svc/3"), "ecs-svc/3")

    assert operation is not None
    assert operation.outcome is Outcome.ROLLBACK_FAILED
    assert ROLLBACK_FAILED_REASON in operation.reasons
    assert operation.reasons[-1] == "CannotPullContainerError: pull image manifest has been retried"


def test_a_deployment_gone_from_the_service_is_read_from_its_service_deployment() -> None:
    client: ECSClient = boto3.client("ecs", region_name=REGION)
    target = EcsTarget(client, region=REGION)
    deployment_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/storefront/Ab12Cd34"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_services",
            _service(
                [{"id": "ecs-svc/9", "status": "PRIMARY", "rolloutState": "COMPLETED", "createdAt": STARTED}]
            ),
        )
        stub.add_response(
            "list_service_deployments",
            {
                "serviceDeployments": [
                    {"serviceDeploymentArn": deployment_arn, "status": "ROLLBACK_SUCCESSFUL"}
                ]
            },
        )
        stub.add_response(
            "describe_service_deployments",
            {
                "serviceDeployments": [
                    {
                        "serviceDeploymentArn": deployment_arn,
                        "status": "ROLLBACK_SUCCESSFUL",
                        "createdAt": STARTED,
                        "rollback": {"reason": "Service deployment rolled back because of alarm web-5xx."},
                    }
                ]
            },
        )
        stub.add_response("list_tasks", {"taskArns": []})
        operation = target.find_operation(_indexed_in_flight("ecs-svc/2"), "ecs-svc/2")

    assert operation is not None
    assert operation.outcome is Outcome.ROLLED_BACK
    assert operation.reasons[0] == "Service deployment rolled back because of alarm web-5xx."
