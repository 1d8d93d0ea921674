"""AWS calls per push, with 1, 100, 1000 App Runner services in the account, next to a naive discovery.

pushpilot: the ImagePushFunction handles one push of `web:latest` in the sandbox (the router delivers
the ECR event to it once); every call it makes is counted from the gateway's and the emulator's records.
Only that handler's calls are counted: the notices it queues and the events its deployment causes are
handled later by other functions.

Naive: against the same emulator, list every service (ListServices, NextToken paging), describe each, and
start a deployment on each that runs the pushed image.

Setting up: the services are created through the emulator's API; the per-service status events that
creation emits are dropped rather than settled one by one through the AppRunnerEventsFunction, and the
index is seeded by one ReconcileFunction refresh instead, the scheduled safety net that fills it the
same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pushpilot.core.image_ref import ImageRef
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.oci import synthesize_image
from pushpilot_sandbox.steps import image_identifier

PUSHED_REPOSITORY = "web"
TARGET_SERVICE = "storefront"
SERVICES_DEPLOYED = 1
_DISCOVERY_AND_DEPLOY = frozenset({"ecr", "apprunner"})


class SetupError(RuntimeError):
    """The sandbox did not reach the state the measurement needs."""


@dataclass(frozen=True)
class CallCount:
    services: int
    handler_total: int
    discovery_and_deploy: int
    naive: int
    deployments_started: int
    by_operation: dict[str, int]


def _create_services(sandbox: Sandbox, total: int) -> None:
    client = sandbox.apprunner_client()
    names = [TARGET_SERVICE, *(f"other-{number:04d}" for number in range(total - 1))]
    for name in names:
        repository = PUSHED_REPOSITORY if name == TARGET_SERVICE else name
        client.create_service(
            ServiceName=name,
            SourceConfiguration={
                "ImageRepository": {
                    "ImageIdentifier": image_identifier(sandbox, f"{repository}:latest"),
                    "ImageRepositoryType": "ECR",
                    "ImageConfiguration": {"Port": "8080"},
                },
                "AutoDeploymentsEnabled": False,
                "AuthenticationConfiguration": {
                    "AccessRoleArn": f"arn:aws:iam::{sandbox.config.account_id}:role/AppRunnerECRAccess"
                },
            },
        )
    sandbox.bus.clear()
    refresh = sandbox.router.invoke_schedule("ReconcileFunction", "Refresh")
    seeded = (refresh.outcome or {}).get("detail", {}).get("services")
    if seeded != total:
        raise SetupError(f"the refresh indexed {seeded} services, expected {total}: {refresh}")
    sandbox.settle()


def _naive_push(sandbox: Sandbox, pushed_key: str) -> int:
    """Discover by listing and describing everything, then deploy: the calls it took."""
    client = sandbox.apprunner_client()
    before = len(sandbox.apprunner.calls)
    token: str | None = None
    while True:
        page = (
            client.list_services(MaxResults=20, NextToken=token)
            if token
            else client.list_services(MaxResults=20)
        )
        for summary in page["ServiceSummaryList"]:
            service = client.describe_service(ServiceArn=summary["ServiceArn"])["Service"]
            image = service["SourceConfiguration"].get("ImageRepository", {}).get("ImageIdentifier")
            if image and ImageRef.parse(image).key == pushed_key:
                client.start_deployment(ServiceArn=service["ServiceArn"])
        token = page.get("NextToken")
        if not token:
            break
    calls = len(sandbox.apprunner.calls) - before
    # Put the service back as it was, unseen by the handlers: the real push must find it free.
    sandbox.apprunner.complete_operation(TARGET_SERVICE, "succeeded")
    sandbox.bus.clear()
    return calls


def measure_one(total_services: int) -> CallCount:
    with Sandbox(SandboxConfig()) as sandbox:
        sandbox.ecr.create_repository(PUSHED_REPOSITORY)
        _create_services(sandbox, total_services)
        pushed_key = ImageRef.parse(image_identifier(sandbox, f"{PUSHED_REPOSITORY}:latest")).key
        naive = _naive_push(sandbox, pushed_key)

        sandbox.ecr.push(
            PUSHED_REPOSITORY, "latest", synthesize_image(["linux/amd64"], seed="calls-per-push")
        )
        push_events = list(sandbox.bus)
        sandbox.bus.clear()
        gateway_before = len(sandbox.gateway.calls)
        apprunner_before = len(sandbox.apprunner.calls)
        for event in push_events:
            for delivery in sandbox.router.deliver(event):
                if not delivery.succeeded:
                    raise SetupError(f"the push handler failed: {delivery}")
        gateway_calls = sandbox.gateway.calls[gateway_before:]
        apprunner_calls = sandbox.apprunner.calls[apprunner_before:]
        sandbox.settle()

        by_operation: Counter[str] = Counter()
        discovery_and_deploy = 0
        for call in gateway_calls:
            by_operation[f"{call.service}.{call.operation}"] += 1
            is_index_query = call.service == "dynamodb" and call.operation == "Query"
            if call.service in _DISCOVERY_AND_DEPLOY or is_index_query:
                discovery_and_deploy += 1
        for recorded in apprunner_calls:
            by_operation[f"apprunner.{recorded.operation}"] += 1
            discovery_and_deploy += 1
        return CallCount(
            services=total_services,
            handler_total=len(gateway_calls) + len(apprunner_calls),
            discovery_and_deploy=discovery_and_deploy,
            naive=naive,
            deployments_started=by_operation["apprunner.StartDeployment"],
            by_operation=dict(sorted(by_operation.items())),
        )


def measure(service_counts: list[int]) -> list[CallCount]:
    return [measure_one(count) for count in service_counts]
