"""Task definitions as the ECS emulator needs them, read from (and, for Express, written to) moto.

moto keeps task definitions well (RegisterTaskDefinition, DescribeTaskDefinition with tags), so they stay
there and every client reaches them through moto. The emulator reads them from moto's backend in this
process: it needs a service's containers, images and runtime platform on every deployment, and a
round trip through the API per read would only cost time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from moto.ecs.exceptions import TaskDefinitionNotFoundException
from moto.ecs.models import ecs_backends


@dataclass(frozen=True, slots=True)
class ContainerView:
    name: str
    image: str
    essential: bool
    memory: int | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class TaskDefinitionView:
    arn: str
    family: str
    revision: int
    status: str
    containers: tuple[ContainerView, ...]
    compatibilities: tuple[str, ...]
    cpu_architecture: str | None
    cpu: str | None
    memory: str | None


@dataclass(frozen=True, slots=True)
class NewTaskDefinition:
    """What Express Mode registers for a service: one `Main` container on Fargate."""

    family: str
    image: str
    container_port: int
    cpu: str
    memory: str
    cpu_architecture: str
    log_group: str
    log_stream_prefix: str
    region: str
    execution_role_arn: str | None = None
    task_role_arn: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()


class TaskDefinitionStore(Protocol):
    def describe(self, reference: str) -> TaskDefinitionView | None:
        """The task definition an ARN, `family:revision` or `family` (latest) names, or None."""
        ...

    def register(self, definition: NewTaskDefinition) -> TaskDefinitionView: ...


class MotoTaskDefinitions:
    """The task definitions moto holds for one account and region."""

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region

    def _backend(self) -> Any:
        return ecs_backends[self._account_id][self._region]

    def describe(self, reference: str) -> TaskDefinitionView | None:
        try:
            found = self._backend().describe_task_definition(reference)
        except (TaskDefinitionNotFoundException, ValueError):
            return None
        return _view(found)

    def register(self, definition: NewTaskDefinition) -> TaskDefinitionView:
        container: dict[str, Any] = {
            "name": "Main",
            "image": definition.image,
            "essential": True,
            "portMappings": [
                {"containerPort": definition.container_port, "protocol": "tcp", "name": "main-port"}
            ],
            "environment": [{"name": name, "value": value} for name, value in definition.environment],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": definition.log_group,
                    "awslogs-region": definition.region,
                    "awslogs-stream-prefix": definition.log_stream_prefix,
                },
            },
        }
        if definition.command:
            container["command"] = list(definition.command)
        registered = self._backend().register_task_definition(
            family=definition.family,
            container_definitions=[container],
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=definition.cpu,
            memory=definition.memory,
            execution_role_arn=definition.execution_role_arn,
            task_role_arn=definition.task_role_arn,
            runtime_platform={
                "cpuArchitecture": definition.cpu_architecture,
                "operatingSystemFamily": "LINUX",
            },
        )
        return _view(registered)


def _view(found: Any) -> TaskDefinitionView:
    platform = found.runtime_platform or {}
    containers = tuple(
        ContainerView(
            name=str(item.get("name", "")),
            image=str(item.get("image", "")),
            essential=bool(item.get("essential", True)),
            memory=item.get("memory"),
            port=next(
                (m.get("containerPort") for m in item.get("portMappings") or [] if m.get("containerPort")),
                None,
            ),
        )
        for item in found.container_definitions
    )
    return TaskDefinitionView(
        arn=str(found.arn),
        family=str(found.family),
        revision=int(found.revision),
        status=str(found.status),
        containers=containers,
        compatibilities=tuple(found.requires_compatibilities or found.compatibilities or ()),
        cpu_architecture=platform.get("cpuArchitecture"),
        cpu=found.cpu,
        memory=found.memory,
    )
