"""What the ECS emulator keeps: clusters, container instances, services, their deployments, service
deployments and revisions, and tasks. Plain records, changed only under the emulator's lock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

type Json = dict[str, Any]
type Outcome = Literal["succeeded", "failed", "rolled_back", "stuck"]
type RollbackOutcome = Literal["succeeded", "failed", "in_progress"]

ROLLOUT_IN_PROGRESS: Final = "IN_PROGRESS"
ROLLOUT_COMPLETED: Final = "COMPLETED"
ROLLOUT_FAILED: Final = "FAILED"

_BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def derived(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode()).digest()


def nineteen_digits(*parts: str) -> str:
    """A 19-digit number, as in `ecs-svc/<id>` deployment ids and service revision ids."""
    value = int.from_bytes(derived(*parts)[:8], "big") % (9 * 10**18)
    return str(10**18 + value)


def base62(length: int, *parts: str) -> str:
    digest = derived(*parts)
    return "".join(_BASE62[byte % len(_BASE62)] for byte in digest[:length])


def hex32(*parts: str) -> str:
    return derived(*parts).hex()[:32]


@dataclass(slots=True)
class Cluster:
    name: str
    arn: str
    created_at: datetime
    tags: list[Json] = field(default_factory=list)


@dataclass(slots=True)
class ContainerInstance:
    arn: str
    cluster_arn: str
    ec2_instance_id: str
    architecture: str
    instance_type: str
    availability_zone: str
    registered_at: datetime


@dataclass(slots=True)
class ContainerImage:
    container_name: str
    image: str
    digest: str | None


@dataclass(slots=True)
class Revision:
    """A service revision: what one deployment runs (task definition, images resolved to digests)."""

    arn: str
    service_arn: str
    cluster_arn: str
    task_definition: str
    launch_type: str
    container_images: list[ContainerImage]
    created_at: datetime
    load_balancers: list[Json] = field(default_factory=list)
    network_configuration: Json | None = None
    platform_version: str | None = None
    express: Json | None = None
    """For Express services: the ExpressGatewayServiceConfiguration this revision carries."""


@dataclass(slots=True)
class Deployment:
    """One entry of Service.deployments (`ecs-svc/<19 digits>`)."""

    id: str
    status: str  # PRIMARY | ACTIVE
    revision: Revision
    desired_count: int
    created_at: datetime
    updated_at: datetime
    rollout_state: str = ROLLOUT_IN_PROGRESS
    rollout_state_reason: str = ""
    running_count: int = 0
    pending_count: int = 0
    failed_tasks: int = 0
    service_deployment_arn: str | None = None


@dataclass(slots=True)
class ServiceDeployment:
    arn: str
    service_arn: str
    cluster_arn: str
    deployment_id: str
    created_at: datetime
    updated_at: datetime
    target: Revision
    sources: list[Revision]
    status: str
    deployment_configuration: Json
    lifecycle_stage: str = "RECONCILE_SERVICE"
    status_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stopped_at: datetime | None = None
    rollback: Json | None = None
    circuit_breaker: Json | None = None
    alarms: Json | None = None
    target_weight: float | None = None
    """Express canary: the share of production traffic the target revision gets."""
    bakes_done: int = 0


@dataclass(slots=True)
class Task:
    arn: str
    cluster_arn: str
    service_name: str
    started_by: str
    task_definition_arn: str
    launch_type: str
    containers: list[Json]
    created_at: datetime
    group: str
    cpu: str | None
    memory: str | None
    availability_zone: str
    last_status: str = "RUNNING"
    desired_status: str = "RUNNING"
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    container_instance_arn: str | None = None
    architecture: str | None = None
    version: int = 1
    tags: list[Json] = field(default_factory=list)


@dataclass(slots=True)
class ExpressService:
    infrastructure_role_arn: str
    endpoint: str
    alarm_name: str
    created_at: datetime
    updated_at: datetime
    status_code: str = "ACTIVE"
    current_deployment: str | None = None


@dataclass(slots=True)
class Service:
    name: str
    arn: str
    cluster_arn: str
    task_definition: str
    launch_type: str
    desired_count: int
    deployment_configuration: Json
    created_at: datetime
    status: str = "ACTIVE"
    load_balancers: list[Json] = field(default_factory=list)
    network_configuration: Json | None = None
    placement_constraints: list[Json] = field(default_factory=list)
    platform_version: str | None = None
    tags: list[Json] = field(default_factory=list)
    propagate_tags: str = "NONE"
    enable_ecs_managed_tags: bool = False
    health_check_grace_period: int | None = None
    resource_management_type: str = "CUSTOMER"
    deployments: list[Deployment] = field(default_factory=list)
    """PRIMARY first, then ACTIVE ones newest first."""
    service_deployments: list[ServiceDeployment] = field(default_factory=list)
    """Oldest first."""
    stable: Deployment | None = None
    """The last deployment that completed: where a rollback goes."""
    events: list[Json] = field(default_factory=list)
    express: ExpressService | None = None

    @property
    def primary(self) -> Deployment | None:
        return self.deployments[0] if self.deployments else None

    @property
    def circuit_breaker(self) -> Json:
        return dict(self.deployment_configuration.get("deploymentCircuitBreaker") or {})

    @property
    def alarms(self) -> Json:
        return dict(self.deployment_configuration.get("alarms") or {})

    @property
    def failure_threshold(self) -> int:
        """How many failed tasks trip the circuit breaker: half the desired count, 3 to 200 (ECS's rule)."""
        configured = (self.circuit_breaker.get("thresholdConfiguration") or {}).get("value")
        if isinstance(configured, int) and configured > 0:
            return configured
        return max(3, min(200, -(-self.desired_count // 2)))
