"""App Runner as a deploy target: its services, deployments and operations in the flows' words.

Errors become typed at this edge, through the one AWS error classifier.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import APP_RUNNER_CODES, aws_error
from pushpilot.core.errors import NotFoundError
from pushpilot.core.notices import Link
from pushpilot.core.targets import Operation, Outcome, TargetService
from pushpilot.core.tracking import IndexedService
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM, DECLARATION, KIND
from pushpilot.targets.declared import DeclaredTarget

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_apprunner.type_defs import (
        OperationSummaryTypeDef,
        ServiceTypeDef,
        SourceConfigurationOutputTypeDef,
    )

# The operation types that deploy the service's image. A configuration update (UPDATE_SERVICE) only
# counts when it is ours: its operation id is then known.
_DEPLOYMENT_TYPES: Final = frozenset({"START_DEPLOYMENT"})
_OUTCOMES: Final = {
    "SUCCEEDED": Outcome.LIVE,
    "FAILED": Outcome.FAILED,
    "PENDING": Outcome.IN_PROGRESS,
    "IN_PROGRESS": Outcome.IN_PROGRESS,
    "ROLLBACK_IN_PROGRESS": Outcome.IN_PROGRESS,
    # A rollback is a failure even when it succeeded: the pushed image is not what runs.
    "ROLLBACK_SUCCEEDED": Outcome.ROLLED_BACK,
    "ROLLBACK_FAILED": Outcome.ROLLBACK_FAILED,
}


def service_from_api(service: ServiceTypeDef, tags: dict[str, str] | None = None) -> TargetService:
    source = service.get("SourceConfiguration", {})
    image = source.get("ImageRepository")
    return TargetService(
        kind=KIND,
        arn=service["ServiceArn"],
        name=service["ServiceName"],
        status=service["Status"],
        image_identifier=image["ImageIdentifier"] if image else None,
        auto_deploy=bool(source.get("AutoDeploymentsEnabled", False)),
        busy=service["Status"] == "OPERATION_IN_PROGRESS",
        required_platform=APP_RUNNER_PLATFORM,
        service_url=service.get("ServiceUrl"),
        tags=tags or {},
    )


def operation_from_api(item: OperationSummaryTypeDef) -> Operation | None:
    if "Id" not in item or "Type" not in item or "Status" not in item:
        return None
    return Operation(
        operation_id=item["Id"],
        deploys_image=item["Type"] in _DEPLOYMENT_TYPES,
        # An unknown status word is not taken for an ending.
        outcome=_OUTCOMES.get(item["Status"], Outcome.IN_PROGRESS),
        status=item["Status"],
        started_at=item.get("StartedAt"),
        ended_at=item.get("EndedAt"),
    )


class AppRunnerTarget(DeclaredTarget):
    # What the flows need of it, as its folder declares (declaration.py).
    declaration = DECLARATION

    def __init__(self, client: AppRunnerClient | None = None, *, region: str = "us-east-1") -> None:
        self._injected = client
        self._region = region

    def serves(self, service_arn: str) -> bool:  # noqa: ARG002 - the port's question, same for every service
        """App Runner has no narrower scope than the account and region the service events come from."""
        return True

    @property
    def _client(self) -> AppRunnerClient:
        if self._injected is None:
            self._injected = clients.client("apprunner")
        return self._injected

    def _error(self, exc: ClientError | BotoCoreError, action: str, target: str) -> Exception:
        return aws_error(exc, service="apprunner", action=action, target=target, codes=APP_RUNNER_CODES)

    def _summaries(self) -> Iterator[dict[str, Any]]:
        # ListServices has no botocore paginator: follow NextToken by hand.
        token: str | None = None
        while True:
            try:
                page = (
                    self._client.list_services(MaxResults=20, NextToken=token)
                    if token
                    else self._client.list_services(MaxResults=20)
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, "ListServices", "the account") from exc
            yield from (dict(summary) for summary in page.get("ServiceSummaryList", []))
            token = page.get("NextToken")
            if not token:
                return

    def describe(self, service_arn: str) -> TargetService:
        try:
            response = self._client.describe_service(ServiceArn=service_arn)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeService", service_arn) from exc
        return service_from_api(response["Service"], self._tags(service_arn))

    def _tags(self, service_arn: str) -> dict[str, str]:
        """DescribeService leaves tags out; release policies live in them."""
        try:
            response = self._client.list_tags_for_resource(ResourceArn=service_arn)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "ListTagsForResource", service_arn) from exc
        return {tag["Key"]: tag.get("Value", "") for tag in response.get("Tags", []) if "Key" in tag}

    def list_services(self) -> list[TargetService]:
        return [self.describe(summary["ServiceArn"]) for summary in self._summaries()]

    def current_tags(self, service: IndexedService) -> dict[str, str]:
        """One ListTagsForResource: the tags as they are now, for a service this push would deploy to."""
        return self._tags(service.arn)

    def deploy(self, service: IndexedService, digest: str, *, image: str | None = None) -> str:
        del digest
        if image is not None and image != service.image_identifier:
            return self._update_image(service, image)
        # StartDeployment re-pulls the configured tag, which names the pushed digest now.
        try:
            return self._client.start_deployment(ServiceArn=service.arn)["OperationId"]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "StartDeployment", service.arn) from exc

    def _update_image(self, service: IndexedService, image: str) -> str:
        """UpdateService with another image identifier (a followed tag, `repository@sha256:…`): the image
        repository is re-sent as the service has it, only the identifier changed."""
        try:
            current = self._client.describe_service(ServiceArn=service.arn)["Service"]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeService", service.arn) from exc
        repository = current.get("SourceConfiguration", {}).get("ImageRepository")
        if repository is None:
            raise NotFoundError(f"App Runner service {service.name} does not run a registry image")
        source: SourceConfigurationOutputTypeDef = {
            "ImageRepository": {**repository, "ImageIdentifier": image}
        }
        try:
            response = self._client.update_service(
                ServiceArn=service.arn,
                SourceConfiguration=source,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "UpdateService", service.arn) from exc
        return response["OperationId"]

    def recent_operations(self, service_arn: str) -> list[Operation]:
        try:
            response = self._client.list_operations(ServiceArn=service_arn, MaxResults=10)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "ListOperations", service_arn) from exc
        found = (operation_from_api(item) for item in response.get("OperationSummaryList", []))
        return [operation for operation in found if operation is not None]

    def find_operation(self, service: IndexedService, operation_id: str) -> Operation | None:
        return next(
            (op for op in self.recent_operations(service.arn) if op.operation_id == operation_id), None
        )

    def console_link(self, service: IndexedService) -> Link:
        service_id = service.arn.rsplit("/", 1)[-1]
        return Link(
            label="App Runner console",
            url=f"https://console.aws.amazon.com/apprunner/home?region={self._region}#/services/dashboard?service_arn={service.arn}&active_tab=logs&name={service.name}&id={service_id}",
        )

    def failure_advice(self, service: IndexedService) -> str:
        return (
            "The previous version keeps serving. Read the service's deployment logs (App Runner console →"
            f" {service.name} → Logs) for the failing health check or start command, fix, and push again."
        )
