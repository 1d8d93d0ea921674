"""The ECS part of the scenario format: `setup.ecs_services`, `setup.express_services` and the
`complete_deployment` step (a contract: extend, never break).

Setup does what a team did before pushpilot arrived: creates the cluster (and, for the EC2 launch type,
registers a container instance of the chosen architecture), registers the task definition in moto
(with the runtime platform for Fargate and awslogs logging), creates the service, and lets its first
deployment complete without a sound: no event reaches the stack, no call is counted as a handler's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pushpilot_sandbox.ecs import EmulatorError
from pushpilot_sandbox.steps import StepError, image_identifier, validation_summary

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

    from pushpilot_sandbox.environment import Sandbox
    from pushpilot_sandbox.scenario import Setup
    from pushpilot_sandbox.timeline import Timeline

# ECS's rule for service and cluster names (its API reference): up to 255 letters, digits, - and _.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ecs_name(value: str, what: str) -> str:
    if _NAME.fullmatch(value) is None:
        raise ValueError(
            f"ECS {what} name {value!r} must be 1 to 255 letters, digits, hyphens or underscores"
        )
    return value


class EcsContainerSpec(_Strict):
    name: str
    image: str


class EcsHookSpec(_Strict):
    """A lifecycle hook of the service's deployments (BLUE_GREEN, LINEAR, CANARY): a PAUSE at `stage`."""

    stage: Literal[
        "RECONCILE_SERVICE",
        "PRE_SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
    ]
    type: Literal["pause"] = "pause"
    timeout_minutes: int = Field(default=60, ge=1, le=20160)
    on_timeout: Literal["rollback", "continue"] = "rollback"


class CircuitBreakerSpec(_Strict):
    """`circuit_breaker: true` is `{enable: true, rollback: true}`; this form can turn rollback off."""

    enable: bool = True
    rollback: bool = True


class EcsServiceSpec(_Strict):
    name: str
    cluster: str = "default"
    image: str | None = None
    containers: list[EcsContainerSpec] | None = None
    cpu_architecture: Literal["X86_64", "ARM64"] | None = Field(
        default=None, description="Fargate: the task definition's runtimePlatform; left out, none is set"
    )
    launch_type: Literal["FARGATE", "EC2"] = "FARGATE"
    instance_architecture: Literal["x86_64", "arm64"] | None = Field(
        default=None, description="EC2: the container instances' ecs.cpu-architecture (default x86_64)"
    )
    circuit_breaker: bool | CircuitBreakerSpec = False
    alarms: list[str] = Field(
        default_factory=list, description="CloudWatch alarms that roll deployments back"
    )
    desired_count: int = Field(default=1, ge=1, le=10)
    tags: dict[str, str] = Field(default_factory=dict)
    load_balancer: str | None = None
    strategy: Literal["rolling", "blue_green", "linear", "canary"] = "rolling"
    bake_minutes: int | None = Field(default=None, ge=0, le=1440)
    hooks: list[EcsHookSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _service_name(cls, value: str) -> str:
        return _ecs_name(value, "service")

    @field_validator("cluster")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        return _ecs_name(value, "cluster")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.image is None) == (self.containers is None):
            raise ValueError("image, containers: give exactly one of `image` or `containers`")
        if self.containers is not None:
            names = [container.name for container in self.containers]
            if not names or len(set(names)) != len(names):
                raise ValueError("containers: give at least one container, each with its own name")
        if self.launch_type == "EC2" and self.cpu_architecture is not None:
            raise ValueError(
                "cpu_architecture: EC2 tasks run on their instance's architecture (instance_architecture)"
            )
        if self.launch_type == "FARGATE" and self.instance_architecture is not None:
            raise ValueError("instance_architecture: Fargate has no container instances (cpu_architecture)")
        return self

    @property
    def breaker(self) -> CircuitBreakerSpec:
        if isinstance(self.circuit_breaker, CircuitBreakerSpec):
            return self.circuit_breaker
        return CircuitBreakerSpec(enable=self.circuit_breaker, rollback=self.circuit_breaker)

    @property
    def container_images(self) -> list[tuple[str, str]]:
        if self.containers is not None:
            return [(container.name, container.image) for container in self.containers]
        return [("app", str(self.image))]


class ExpressServiceSpec(_Strict):
    name: str
    image: str
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _service_name(cls, value: str) -> str:
        return _ecs_name(value, "service")


# --- setup -----------------------------------------------------------------------------------------


def apply_ecs_setup(
    sandbox: Sandbox, setup: Setup, timeline: Timeline, declared_accounts: Mapping[str, str]
) -> None:
    """Create the setup's ECS and Express services, each running with its first deployment done."""
    taken = [spec.name for spec in setup.ecs_services] + [spec.name for spec in setup.express_services]
    duplicated = sorted({name for name in taken if taken.count(name) > 1})
    if duplicated:
        raise StepError(f"ECS service names must be unique in a scenario: {', '.join(duplicated)}")
    client = sandbox.ecs_client()
    instances: set[tuple[str, str]] = set()
    with sandbox.ecs.quiet():
        for spec in setup.ecs_services:
            _create_ecs_service(
                sandbox,
                client,
                spec,
                instances=instances,
                declared_accounts=declared_accounts,
                timeline=timeline,
            )
        for express in setup.express_services:
            _create_express_service(sandbox, client, express, declared_accounts, timeline)


def _image(sandbox: Sandbox, image: str, declared_accounts: Mapping[str, str]) -> str:
    repository = image.partition(":")[0].partition("@")[0]
    return image_identifier(sandbox, image, declared_accounts.get(repository))


def _execution_role(sandbox: Sandbox) -> str:
    return f"arn:aws:iam::{sandbox.config.account_id}:role/ecsTaskExecutionRole"


def _create_ecs_service(
    sandbox: Sandbox,
    client: ECSClient,
    spec: EcsServiceSpec,
    *,
    instances: set[tuple[str, str]],
    declared_accounts: Mapping[str, str],
    timeline: Timeline,
) -> None:
    region = sandbox.config.region
    client.create_cluster(clusterName=spec.cluster)
    fargate = spec.launch_type == "FARGATE"
    instance_architecture = spec.instance_architecture or "x86_64"
    if not fargate and (spec.cluster, instance_architecture) not in instances:
        sandbox.ecs.register_container_instance(spec.cluster, instance_architecture)
        instances.add((spec.cluster, instance_architecture))
    containers: Any = [
        {
            "name": name,
            "image": _image(sandbox, image, declared_accounts),
            "essential": index == 0,
            "memory": 512,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}] if index == 0 else [],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": f"/ecs/{spec.name}",
                    "awslogs-region": region,
                    "awslogs-stream-prefix": "ecs",
                },
            },
        }
        for index, (name, image) in enumerate(spec.container_images)
    ]
    request: Any = {
        "family": spec.name,
        "containerDefinitions": containers,
        "executionRoleArn": _execution_role(sandbox),
        "requiresCompatibilities": [spec.launch_type],
        "networkMode": "awsvpc" if fargate else "bridge",
    }
    if fargate:
        request |= {"cpu": "256", "memory": "512"}
        if spec.cpu_architecture is not None:
            request["runtimePlatform"] = {
                "cpuArchitecture": spec.cpu_architecture,
                "operatingSystemFamily": "LINUX",
            }
    definition = client.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
    breaker = spec.breaker
    configuration: Any = {
        "deploymentCircuitBreaker": {"enable": breaker.enable, "rollback": breaker.rollback}
    }
    if spec.alarms:
        configuration["alarms"] = {"alarmNames": spec.alarms, "enable": True, "rollback": True}
    if spec.strategy != "rolling":
        # ECS's own gradual strategies (sandbox/ecs_hooks.py pauses them at their PAUSE hooks).
        configuration["strategy"] = spec.strategy.upper()
        configuration["bakeTimeInMinutes"] = spec.bake_minutes if spec.bake_minutes is not None else 5
        # ECS's documented defaults, spelt out as a console-made service shows them.
        if spec.strategy == "canary":
            configuration["canaryConfiguration"] = {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10}
        elif spec.strategy == "linear":
            configuration["linearConfiguration"] = {"stepPercent": 10.0, "stepBakeTimeInMinutes": 6}
        configuration["lifecycleHooks"] = [
            {
                "targetType": "PAUSE",
                "lifecycleStages": [hook.stage],
                "timeoutConfiguration": {
                    "timeoutInMinutes": hook.timeout_minutes,
                    "action": hook.on_timeout.upper(),
                },
            }
            for hook in spec.hooks
        ]
    service: Any = {
        "cluster": spec.cluster,
        "serviceName": spec.name,
        "taskDefinition": definition,
        "desiredCount": spec.desired_count,
        "launchType": spec.launch_type,
        "deploymentConfiguration": configuration,
        "propagateTags": "SERVICE",
        "enableECSManagedTags": True,
        "tags": [{"key": key, "value": value} for key, value in spec.tags.items()],
    }
    if spec.load_balancer in sandbox.load_balancers:
        # One of setup.load_balancers: the service is registered behind its target group (a name that
        # is not there stays a label, as before load balancers could be set up).
        service["loadBalancers"] = [
            {
                "targetGroupArn": sandbox.load_balancers[str(spec.load_balancer)].target_group_arn,
                "containerName": spec.container_images[0][0],
                "containerPort": 8080,
            }
        ]
    if fargate:
        service["networkConfiguration"] = {
            "awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d4e5f60718"], "assignPublicIp": "DISABLED"}
        }
    elif spec.instance_architecture is not None:
        service["placementConstraints"] = [
            {
                "type": "memberOf",
                "expression": f"attribute:ecs.cpu-architecture == {spec.instance_architecture}",
            }
        ]
    arn = client.create_service(**service)["service"]["serviceArn"]
    sandbox.ecs.complete_deployment(arn, "succeeded")
    platform = (
        f"Fargate {spec.cpu_architecture or 'X86_64 (runtime platform unset)'}"
        if fargate
        else f"EC2 on {instance_architecture} instances"
    )
    guard = "no circuit breaker"
    if breaker.enable:
        guard = "circuit breaker with rollback" if breaker.rollback else "circuit breaker without rollback"
    images = ", ".join(image for _, image in spec.container_images)
    behind = f", behind {spec.load_balancer}" if spec.load_balancer else ""
    timeline.say(
        f"  ⌂ ECS service {spec.name} in cluster {spec.cluster} runs {images} ({platform}, {guard}{behind})"
    )


def _create_express_service(
    sandbox: Sandbox,
    client: ECSClient,
    spec: ExpressServiceSpec,
    declared_accounts: Mapping[str, str],
    timeline: Timeline,
) -> None:
    account = sandbox.config.account_id
    created = client.create_express_gateway_service(
        infrastructureRoleArn=f"arn:aws:iam::{account}:role/ecsInfrastructureRoleForExpressServices",
        executionRoleArn=_execution_role(sandbox),
        serviceName=spec.name,
        primaryContainer={
            "image": _image(sandbox, spec.image, declared_accounts),
            "containerPort": 8080,
            "awsLogsConfiguration": {"logGroup": f"/aws/ecs/default/{spec.name}", "logStreamPrefix": "ecs"},
        },
        cpuArchitecture=spec.cpu_architecture,
        tags=[{"key": key, "value": value} for key, value in spec.tags.items()],
    )["service"]
    sandbox.ecs.complete_deployment(created["serviceArn"], "succeeded")
    endpoint = created["activeConfigurations"][0]["ingressPaths"][0]["endpoint"]
    timeline.say(
        f"  ⌂ ECS Express service {spec.name} runs {spec.image} ({spec.cpu_architecture}) at https://{endpoint}"
    )


# --- the complete_deployment step --------------------------------------------------------------------


class CompleteDeploymentArgs(_Strict):
    service: str
    outcome: Literal["succeeded", "failed", "rolled_back", "stuck"]
    stopped_reason: str | None = Field(
        default=None,
        description="Why the deployment's tasks stopped (default: an essential container exited)",
    )
    exit_code: int | None = Field(default=None, description="The stopped containers' exit code")
    rollback: Literal["succeeded", "failed", "in_progress"] = Field(
        default="succeeded",
        description="How a rollback ends (rolled_back; failed on Express); in_progress: at the next step",
    )


def complete_deployment_args(raw: Any) -> CompleteDeploymentArgs:
    try:
        return CompleteDeploymentArgs.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise StepError(validation_summary(exc)) from exc


def check_complete_deployment(raw: Any, setup: Setup) -> None:
    args = complete_deployment_args(raw)
    known = {spec.name for spec in setup.ecs_services} | {spec.name for spec in setup.express_services}
    if args.service not in known:
        raise StepError(f"service {args.service!r} is not in setup.ecs_services or setup.express_services")


def complete_deployment(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    """ECS ends the service's deployment in progress as the scenario says (stuck: it goes on failing)."""
    args = complete_deployment_args(raw)
    try:
        finished = sandbox.ecs.complete_deployment(
            args.service,
            args.outcome,
            stopped_reason=args.stopped_reason,
            exit_code=args.exit_code,
            rollback=args.rollback,
        )
    except EmulatorError as exc:
        raise StepError(str(exc)) from exc
    reason = f": {finished.status_reason}" if finished.status_reason else ""
    timeline.say(
        f"  ◼ ECS deployment of {args.service} ({finished.deployment_id}) → {finished.status}{reason}"
    )
    sandbox.settle()
    timeline.record()
