"""Shared pieces of the ECS emulator's end-to-end tests: moto behind the gateway, the emulator owning
its operations, boto3 clients that know nothing of either."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field

from pushpilot_sandbox.ecr import BlobStore
from pushpilot_sandbox.ecs import EcsEmulator
from pushpilot_sandbox.ecs_task_definitions import MotoTaskDefinitions
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.moto_server import start_moto

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
INFRASTRUCTURE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRoleForExpressServices"
NETWORK: Any = {
    "awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"], "assignPublicIp": "DISABLED"}
}


def image(repository: str, tag: str = "latest") -> str:
    return f"{REGISTRY}/{repository}:{tag}"


def digest_for(reference: str) -> str:
    """A stand-in for ECR's answer: a stable digest per image reference (a pinned one is itself)."""
    if "@sha256:" in reference:
        return reference.rsplit("@", 1)[1]
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


class SteppingClock:
    """Each reading is one second after the previous: ordering is visible without waiting; `jump` moves
    it on by minutes (a hook's timeout, a bake)."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now

    def jump(self, minutes: float) -> None:
        self._now += timedelta(minutes=minutes)


@dataclass(frozen=True)
class Running:
    emulator: EcsEmulator
    gateway: AwsGateway
    events: list[dict[str, Any]]
    reset_moto: Any


@dataclass(frozen=True)
class Ecs:
    emulator: EcsEmulator
    gateway: AwsGateway
    client: ECSClient
    events: list[dict[str, Any]]

    def register(
        self,
        family: str,
        images: dict[str, str] | None = None,
        *,
        architecture: str | None = "X86_64",
        fargate: bool = True,
        tags: list[Any] | None = None,
    ) -> str:
        containers: Any = [
            {
                "name": name,
                "image": reference,
                "essential": True,
                "memory": 512,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": f"/ecs/{family}",
                        "awslogs-region": REGION,
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }
            for name, reference in (images or {"app": image(family)}).items()
        ]
        request: Any = {
            "family": family,
            "containerDefinitions": containers,
            "executionRoleArn": EXECUTION_ROLE,
        }
        if fargate:
            request |= {
                "requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc",
                "cpu": "256",
                "memory": "512",
            }
        if architecture is not None:
            request["runtimePlatform"] = {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"}
        if tags:
            request["tags"] = tags
        return str(self.client.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"])

    def create_service(
        self,
        name: str,
        task_definition: str,
        *,
        cluster: str = "default",
        breaker: bool | tuple[bool, bool] = True,
        alarms: list[str] | None = None,
        launch_type: str = "FARGATE",
        desired: int = 1,
        **extra: Any,
    ) -> dict[str, Any]:
        enable, rollback = (breaker, breaker) if isinstance(breaker, bool) else breaker
        configuration: Any = {"deploymentCircuitBreaker": {"enable": enable, "rollback": rollback}}
        if alarms:
            configuration["alarms"] = {"alarmNames": alarms, "enable": True, "rollback": True}
        request: Any = {
            "cluster": cluster,
            "serviceName": name,
            "taskDefinition": task_definition,
            "desiredCount": desired,
            "launchType": launch_type,
            "deploymentConfiguration": configuration,
            **extra,
        }
        if launch_type == "FARGATE":
            request.setdefault("networkConfiguration", NETWORK)
        return dict(self.client.create_service(**request)["service"])

    def settled_service(self, name: str, task_definition: str, **options: Any) -> dict[str, Any]:
        """A service whose first deployment completed before the test looks (no events kept)."""
        cluster = options.get("cluster", "default")
        self.client.create_cluster(clusterName=cluster)
        created = self.create_service(name, task_definition, **options)
        self.emulator.complete_deployment(created["serviceArn"], "succeeded")
        self.events.clear()
        return created

    def describe(self, name: str, cluster: str = "default") -> dict[str, Any]:
        (found,) = self.client.describe_services(cluster=cluster, services=[name])["services"]
        return dict(found)


def ecs_client(url: str, **config: Any) -> ECSClient:
    client: ECSClient = boto3.client(
        "ecs",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config),
    )
    return client


@contextmanager
def running_ecs(clock: SteppingClock | None = None) -> Iterator[Running]:
    emitted: list[dict[str, Any]] = []
    with start_moto() as moto:
        moto.reset()
        emulator = EcsEmulator(
            task_definitions=MotoTaskDefinitions(ACCOUNT, REGION),
            account_id=ACCOUNT,
            region=REGION,
            emit=emitted.append,
            resolve_digest=digest_for,
            clock=clock or SteppingClock(),
        )
        gateway = AwsGateway(
            moto_url=moto.url,
            blobs=BlobStore(),
            account_id=ACCOUNT,
            moto_app=moto.app,
            emulators={"ecs": emulator},
        )
        gateway.start()
        try:
            yield Running(emulator=emulator, gateway=gateway, events=emitted, reset_moto=moto.reset)
        finally:
            gateway.stop()


def fresh(running: Running) -> Ecs:
    running.reset_moto()
    running.emulator.reset()
    running.events.clear()
    running.gateway.clear_calls()
    return Ecs(
        emulator=running.emulator,
        gateway=running.gateway,
        client=ecs_client(running.gateway.url),
        events=running.events,
    )


# --- the documented event shapes (ECS developer guide, "Amazon ECS events") --------------------------


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: Literal["0"]
    id: str
    detail_type: str = Field(alias="detail-type")
    source: Literal["aws.ecs"]
    account: str = Field(pattern=r"^[0-9]{12}$")
    time: str = Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    region: str
    resources: list[str] = Field(min_length=1)
    detail: dict[str, Any]


class DeploymentDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eventType: Literal["INFO", "WARN", "ERROR"]  # noqa: N815 - the event's own spelling
    eventName: Literal[  # noqa: N815
        "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"
    ]
    deploymentId: str = Field(pattern=r"^ecs-svc/[0-9]{19}$")  # noqa: N815
    updatedAt: str  # noqa: N815
    reason: str


class ServiceActionDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eventType: Literal["INFO", "WARN", "ERROR"]  # noqa: N815
    eventName: str  # noqa: N815
    clusterArn: str  # noqa: N815
    createdAt: str  # noqa: N815


class TaskContainer(BaseModel):
    model_config = ConfigDict(extra="allow")

    containerArn: str  # noqa: N815
    name: str
    image: str
    lastStatus: str  # noqa: N815
    taskArn: str  # noqa: N815
    imageDigest: str | None = None  # noqa: N815
    exitCode: int | None = None  # noqa: N815
    reason: str | None = None


class TaskDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    taskArn: str  # noqa: N815
    clusterArn: str  # noqa: N815
    taskDefinitionArn: str  # noqa: N815
    lastStatus: str  # noqa: N815
    desiredStatus: str  # noqa: N815
    launchType: str  # noqa: N815
    group: str
    createdAt: str  # noqa: N815
    updatedAt: str  # noqa: N815
    version: int
    containers: list[TaskContainer]
    startedBy: str | None = None  # noqa: N815
    stopCode: str | None = None  # noqa: N815
    stoppedReason: str | None = None  # noqa: N815


@dataclass(frozen=True)
class SeenEvent:
    detail_type: str
    resource: str
    detail: Any


def documented(raw: dict[str, Any]) -> SeenEvent:
    """The event read as ECS documents it; raises if any documented member is missing or misshapen."""
    envelope = _Envelope.model_validate(raw)
    model: type[BaseModel] = {
        "ECS Deployment State Change": DeploymentDetail,
        "ECS Service Action": ServiceActionDetail,
        "ECS Task State Change": TaskDetail,
    }[envelope.detail_type]
    return SeenEvent(envelope.detail_type, envelope.resources[0], model.model_validate(envelope.detail))


def timeline_of(raw_events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(detail-type, eventName or task status) per event, in emission order."""
    seen = [documented(raw) for raw in raw_events]
    return [
        (event.detail_type, getattr(event.detail, "eventName", None) or event.detail.lastStatus)
        for event in seen
    ]
