"""AWS calls per push for ECS and ECS Express services, next to a naive list-and-describe discovery.

pushpilot: the ImagePushFunction handles one push of `web:latest` in the sandbox (the router delivers the
ECR event to it once); every call it makes is counted from the gateway's records (the ECS emulator and
moto's task definitions both sit behind the gateway). Only that handler's calls are counted.

Naive, against the same sandbox and before the index is seeded: ListClusters, ListServices paging
(100 a page), DescribeServices in batches of 10, then for ECS DescribeTaskDefinition for each service
(for Express DescribeExpressGatewayService for each), and for each service running the pushed image the
deployment (RegisterTaskDefinition + UpdateService; UpdateExpressGatewayService). Its deployments are
then completed quietly, so the real push meets free services.

Setting up: services are created through the emulator's API inside `Sandbox.ecs.quiet()` (no events),
each first deployment completed quietly, and the index seeded by one ReconcileFunction refresh.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pushpilot.core.image_ref import ImageRef
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.oci import synthesize_image
from pushpilot_sandbox.steps import image_identifier

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

PUSHED_REPOSITORY = "web"
CLUSTER = "default"
PAGE = 100  # ListServices' largest page
DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services a call
_DISCOVERY_AND_DEPLOY = frozenset({"ecr", "ecs"})

type Kind = Literal["ecs", "express"]


class SetupError(RuntimeError):
    """The sandbox did not reach the state the measurement needs."""


@dataclass(frozen=True)
class EcsCase:
    kind: Kind
    services: int
    deployed: int
    """How many of the services run the pushed image (k)."""
    shared_task_definition: bool = False
    """ECS: the k services run one task definition (one registration serves them all)."""

    @property
    def label(self) -> str:
        shared = "_sharing_one_task_definition" if self.shared_task_definition else ""
        return f"{self.kind}.{self.services}_services_{self.deployed}_deployed{shared}"


@dataclass(frozen=True)
class EcsCallCount:
    case: EcsCase
    handler_total: int
    discovery_and_deploy: int
    naive: int
    deployments_started: int
    by_operation: dict[str, int]


def _execution_role(sandbox: Sandbox) -> str:
    return f"arn:aws:iam::{sandbox.config.account_id}:role/ecsTaskExecutionRole"


def _register(sandbox: Sandbox, client: ECSClient, family: str, image: str) -> str:
    definition: Any = {
        "family": family,
        "containerDefinitions": [
            {
                "name": "app",
                "image": image,
                "essential": True,
                "memory": 512,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            }
        ],
        "executionRoleArn": _execution_role(sandbox),
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    }
    arn: str = client.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
    return arn


def _names(case: EcsCase) -> list[tuple[str, bool]]:
    """Each service's name and whether it runs the pushed image."""
    return [
        (f"web-{number:04d}" if number < case.deployed else f"other-{number:04d}", number < case.deployed)
        for number in range(case.services)
    ]


def _create_ecs(sandbox: Sandbox, case: EcsCase) -> None:
    client = sandbox.ecs_client()
    client.create_cluster(clusterName=CLUSTER)
    pushed = image_identifier(sandbox, f"{PUSHED_REPOSITORY}:latest")
    shared: str | None = None
    for name, runs_pushed in _names(case):
        if runs_pushed and case.shared_task_definition:
            shared = shared or _register(sandbox, client, "web", pushed)
            definition = shared
        else:
            image = pushed if runs_pushed else image_identifier(sandbox, f"{name}:latest")
            definition = _register(sandbox, client, name, image)
        arn = client.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=definition,
            desiredCount=1,
            launchType="FARGATE",
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d4e5f60718"], "assignPublicIp": "DISABLED"}
            },
        )["service"]["serviceArn"]
        sandbox.ecs.complete_deployment(arn, "succeeded")


def _create_express(sandbox: Sandbox, case: EcsCase) -> None:
    client = sandbox.ecs_client()
    account = sandbox.config.account_id
    for name, runs_pushed in _names(case):
        image = image_identifier(sandbox, f"{PUSHED_REPOSITORY if runs_pushed else name}:latest")
        arn = client.create_express_gateway_service(
            infrastructureRoleArn=f"arn:aws:iam::{account}:role/ecsInfrastructureRoleForExpressServices",
            executionRoleArn=_execution_role(sandbox),
            serviceName=name,
            primaryContainer={"image": image, "containerPort": 8080},
            cpuArchitecture="X86_64",
        )["service"]["serviceArn"]
        sandbox.ecs.complete_deployment(arn, "succeeded")


def _runs(image: str, pushed_key: str) -> bool:
    return ImageRef.parse(image).key == pushed_key


def _naive_push(sandbox: Sandbox, case: EcsCase, pushed_key: str) -> int:
    """Discover by listing and describing everything, then deploy each match: the calls it took."""
    client = sandbox.ecs_client()
    before = len(sandbox.gateway.calls)
    deployed: list[str] = []
    registered: dict[str, str] = {}  # one copy per task definition, as the services sharing it share it
    for cluster in client.list_clusters()["clusterArns"]:
        token = ""
        while True:
            page = client.list_services(cluster=cluster, maxResults=PAGE, nextToken=token)
            arns = page["serviceArns"]
            for start in range(0, len(arns), DESCRIBE_BATCH):
                batch = arns[start : start + DESCRIBE_BATCH]
                for service in client.describe_services(cluster=cluster, services=batch)["services"]:
                    if case.kind == "express":
                        if service.get("resourceManagementType") != "ECS":
                            continue
                        express = client.describe_express_gateway_service(serviceArn=service["serviceArn"])[
                            "service"
                        ]
                        container = express["activeConfigurations"][0]["primaryContainer"]
                        if _runs(container["image"], pushed_key):
                            client.update_express_gateway_service(
                                serviceArn=service["serviceArn"], primaryContainer=container
                            )
                            deployed.append(service["serviceArn"])
                        continue
                    definition: Any = client.describe_task_definition(
                        taskDefinition=service["taskDefinition"]
                    )["taskDefinition"]
                    if not any(
                        _runs(container["image"], pushed_key)
                        for container in definition["containerDefinitions"]
                    ):
                        continue
                    # A copy as it is (the image stays the tag): the same two calls a digest copy takes.
                    copy = {
                        key: definition[key]
                        for key in (
                            "family",
                            "containerDefinitions",
                            "executionRoleArn",
                            "requiresCompatibilities",
                            "networkMode",
                            "cpu",
                            "memory",
                            "runtimePlatform",
                        )
                        if key in definition
                    }
                    if service["taskDefinition"] not in registered:
                        registered[service["taskDefinition"]] = client.register_task_definition(**copy)[
                            "taskDefinition"
                        ]["taskDefinitionArn"]
                    client.update_service(
                        cluster=cluster,
                        service=service["serviceArn"],
                        taskDefinition=registered[service["taskDefinition"]],
                    )
                    deployed.append(service["serviceArn"])
            token = page.get("nextToken", "")
            if not token:
                break
    calls = len(sandbox.gateway.calls) - before
    if len(deployed) != case.deployed:
        raise SetupError(f"the naive discovery deployed {len(deployed)} services, expected {case.deployed}")
    # Put the services back as they were, unseen by the handlers: the real push must find them free.
    with sandbox.ecs.quiet():
        for arn in deployed:
            sandbox.ecs.complete_deployment(arn, "succeeded")
    sandbox.bus.clear()
    return calls


def measure_one(case: EcsCase) -> EcsCallCount:
    with Sandbox(SandboxConfig()) as sandbox:
        sandbox.ecr.create_repository(PUSHED_REPOSITORY)
        with sandbox.ecs.quiet():
            (_create_express if case.kind == "express" else _create_ecs)(sandbox, case)
        sandbox.bus.clear()
        pushed_key = ImageRef.parse(image_identifier(sandbox, f"{PUSHED_REPOSITORY}:latest")).key
        naive = _naive_push(sandbox, case, pushed_key)

        refresh = sandbox.router.invoke_schedule("ReconcileFunction", "Refresh")
        seeded = (refresh.outcome or {}).get("detail", {}).get("services")
        if seeded != case.services:
            raise SetupError(f"the refresh indexed {seeded} services, expected {case.services}: {refresh}")
        sandbox.settle()

        sandbox.ecr.push(PUSHED_REPOSITORY, "latest", synthesize_image(["linux/amd64"], seed="ecs-calls"))
        push_events = list(sandbox.bus)
        sandbox.bus.clear()
        before = len(sandbox.gateway.calls)
        for event in push_events:
            for delivery in sandbox.router.deliver(event):
                if not delivery.succeeded:
                    raise SetupError(f"the push handler failed: {delivery}")
        handler_calls = sandbox.gateway.calls[before:]
        sandbox.settle()

        by_operation: Counter[str] = Counter()
        discovery_and_deploy = 0
        for call in handler_calls:
            by_operation[f"{call.service}.{call.operation}"] += 1
            is_index_query = call.service == "dynamodb" and call.operation == "Query"
            if call.service in _DISCOVERY_AND_DEPLOY or is_index_query:
                discovery_and_deploy += 1
        started = by_operation["ecs.UpdateService"] + by_operation["ecs.UpdateExpressGatewayService"]
        return EcsCallCount(
            case=case,
            handler_total=len(handler_calls),
            discovery_and_deploy=discovery_and_deploy,
            naive=naive,
            deployments_started=started,
            by_operation=dict(sorted(by_operation.items())),
        )


def cases(ecs_counts: tuple[int, ...], express_counts: tuple[int, ...], shared: int) -> list[EcsCase]:
    found = [EcsCase("ecs", count, 1) for count in ecs_counts]
    # k services among 100 (or fewer, at smoke sizes), with a task definition each and then sharing one.
    among = min(100, max(ecs_counts))
    found.append(EcsCase("ecs", among, min(shared, among), shared_task_definition=False))
    found.append(EcsCase("ecs", among, min(shared, among), shared_task_definition=True))
    found += [EcsCase("express", count, 1) for count in express_counts]
    return found


def measure(all_cases: list[EcsCase]) -> list[EcsCallCount]:
    return [measure_one(case) for case in all_cases]
