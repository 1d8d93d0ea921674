"""App Runner adapter: services as snapshots, deployments, operations. Errors become typed at this edge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from pushpilot.adapters import clients
from pushpilot.adapters.error_codes import THROTTLING_CODES
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    RetryableError,
    ServiceBusyError,
    ThrottledError,
)

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_apprunner.type_defs import ServiceTypeDef


class ServiceSnapshot(BaseModel):
    """What pushpilot needs to know of one App Runner service."""

    model_config = ConfigDict(frozen=True)

    arn: str
    name: str
    service_id: str
    status: str
    image_identifier: str | None
    repository_type: str | None
    auto_deploy: bool
    service_url: str | None
    updated_at: datetime | None = None

    @property
    def runs_image(self) -> bool:
        return self.image_identifier is not None


class OperationSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    operation_id: str
    type: str
    status: str
    target_arn: str
    started_at: datetime | None = None
    ended_at: datetime | None = None


def snapshot_from_service(service: ServiceTypeDef) -> ServiceSnapshot:
    source = service.get("SourceConfiguration", {})
    image = source.get("ImageRepository")
    return ServiceSnapshot(
        arn=service["ServiceArn"],
        name=service["ServiceName"],
        service_id=service["ServiceId"],
        status=service["Status"],
        image_identifier=image["ImageIdentifier"] if image else None,
        repository_type=image.get("ImageRepositoryType") if image else None,
        auto_deploy=bool(source.get("AutoDeploymentsEnabled", False)),
        service_url=service.get("ServiceUrl"),
        updated_at=service.get("UpdatedAt"),
    )


def translate_error(exc: ClientError, *, action: str, target: str) -> Exception:
    """Map an App Runner error to the typed error that decides retrying."""
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    detail = f"{action} on {target}: {code}: {message}"
    if code == "InvalidStateException":
        return ServiceBusyError(detail)
    if code == "ResourceNotFoundException":
        return NotFoundError(detail)
    if code in {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}:
        return AccessDeniedError(f"{detail} — the pushpilot role needs apprunner:{action} on {target}")
    if code in THROTTLING_CODES:
        return ThrottledError(detail)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if status >= 500 or code == "InternalServiceErrorException":
        return RetryableError(detail)
    return PermanentError(detail)


class AppRunnerServices:
    def __init__(self, client: AppRunnerClient | None = None) -> None:
        self._injected = client

    @property
    def _client(self) -> AppRunnerClient:
        if self._injected is None:
            self._injected = clients.client("apprunner")
        return self._injected

    def iter_summaries(self) -> Iterator[dict[str, Any]]:
        # ListServices has no botocore paginator: follow NextToken by hand.
        token: str | None = None
        while True:
            try:
                page = (
                    self._client.list_services(MaxResults=20, NextToken=token)
                    if token
                    else self._client.list_services(MaxResults=20)
                )
            except ClientError as exc:
                raise translate_error(exc, action="ListServices", target="the account") from exc
            yield from (dict(summary) for summary in page.get("ServiceSummaryList", []))
            token = page.get("NextToken")
            if not token:
                return

    def describe(self, service_arn: str) -> ServiceSnapshot:
        try:
            response = self._client.describe_service(ServiceArn=service_arn)
        except ClientError as exc:
            raise translate_error(exc, action="DescribeService", target=service_arn) from exc
        return snapshot_from_service(response["Service"])

    def list_all(self) -> list[ServiceSnapshot]:
        """Every service, described: the scheduled refresh's cost, never paid per push."""
        return [self.describe(summary["ServiceArn"]) for summary in self.iter_summaries()]

    def start_deployment(self, service_arn: str) -> str:
        try:
            return self._client.start_deployment(ServiceArn=service_arn)["OperationId"]
        except ClientError as exc:
            raise translate_error(exc, action="StartDeployment", target=service_arn) from exc

    def recent_operations(self, service_arn: str, *, limit: int = 5) -> list[OperationSnapshot]:
        try:
            response = self._client.list_operations(ServiceArn=service_arn, MaxResults=limit)
        except ClientError as exc:
            raise translate_error(exc, action="ListOperations", target=service_arn) from exc
        return [
            OperationSnapshot(
                operation_id=item["Id"],
                type=item["Type"],
                status=item["Status"],
                target_arn=item.get("TargetArn", service_arn),
                started_at=item.get("StartedAt"),
                ended_at=item.get("EndedAt"),
            )
            for item in response.get("OperationSummaryList", [])
            if "Id" in item and "Type" in item and "Status" in item
        ]
