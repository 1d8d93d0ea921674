"""App Runner's EventBridge events.

They come in two spellings: the developer guide shows PascalCase detail keys (`Status`, `ServiceName`)
while real events are camelCase (`operationStatus`, `serviceName`). Every field accepts both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from pushpilot.core.dns.triggers import DnsTrigger
from pushpilot.core.targets import OperationEnded, ServiceChanged
from pushpilot.events.common import EventBridgeEnvelope, EventDetail, NonEmpty

KIND = "apprunner"


def _both(camel: str, pascal: str) -> AliasChoices:
    return AliasChoices(camel, pascal)


class AppRunnerOperationDetail(EventDetail):
    operation_status: NonEmpty = Field(validation_alias=_both("operationStatus", "Status"))
    service_name: NonEmpty = Field(validation_alias=_both("serviceName", "ServiceName"))
    service_id: NonEmpty = Field(validation_alias=_both("serviceId", "ServiceId"))
    message: str = Field(default="", validation_alias=_both("message", "Message"))
    severity: str = Field(default="", validation_alias=_both("severity", "Severity"))


class AppRunnerServiceStatusDetail(EventDetail):
    previous_status: str | None = Field(
        default=None, validation_alias=_both("previousServiceStatus", "PreviousStatus")
    )
    current_status: NonEmpty = Field(validation_alias=_both("currentServiceStatus", "CurrentStatus"))
    service_name: NonEmpty = Field(validation_alias=_both("serviceName", "ServiceName"))
    service_id: NonEmpty = Field(validation_alias=_both("serviceId", "ServiceId"))
    message: str = Field(default="", validation_alias=_both("message", "Message"))
    severity: str = Field(default="", validation_alias=_both("severity", "Severity"))


class AppRunnerCustomDomainDetail(EventDetail):
    """No published sample exists: every field but the service's is optional, the handler re-reads state."""

    service_name: str | None = Field(default=None, validation_alias=_both("serviceName", "ServiceName"))
    service_id: str | None = Field(default=None, validation_alias=_both("serviceId", "ServiceId"))
    domain_name: str | None = Field(default=None, validation_alias=_both("domainName", "DomainName"))
    status: str | None = Field(
        default=None, validation_alias=AliasChoices("customDomainStatus", "status", "Status")
    )
    message: str = Field(default="", validation_alias=_both("message", "Message"))


class _AppRunnerEvent(EventBridgeEnvelope):
    source: Literal["aws.apprunner"]

    @property
    def service_arn(self) -> str | None:
        return next((arn for arn in self.resources if ":apprunner:" in arn and ":service/" in arn), None)


class AppRunnerOperationEvent(_AppRunnerEvent):
    detail_type: Literal["AppRunner Service Operation Status Change"] = Field(alias="detail-type")
    detail: AppRunnerOperationDetail

    def to_domain(self) -> OperationEnded:
        return OperationEnded(
            event_id=self.id,
            kind=KIND,
            service_arn=self.service_arn,
            service_name=self.detail.service_name,
            status=self.detail.operation_status,
            message=self.detail.message,
        )


class AppRunnerServiceStatusEvent(_AppRunnerEvent):
    detail_type: Literal["AppRunner Service Status Change"] = Field(alias="detail-type")
    detail: AppRunnerServiceStatusDetail

    def to_domain(self) -> ServiceChanged:
        return ServiceChanged(
            event_id=self.id,
            kind=KIND,
            service_arn=self.service_arn,
            deleted=self.detail.current_status == "DELETED",
        )


class AppRunnerCustomDomainEvent(_AppRunnerEvent):
    detail_type: Literal["AppRunner Custom Domain Validation Status Update"] = Field(alias="detail-type")
    detail: AppRunnerCustomDomainDetail

    def dns_trigger(self) -> DnsTrigger:
        return DnsTrigger(
            id=self.id,
            time=self.time,
            domain_name=self.detail.domain_name.rstrip(".").lower() if self.detail.domain_name else None,
            service_arn=self.service_arn,
            service_name=self.detail.service_name,
        )


AppRunnerEvent = Annotated[
    AppRunnerOperationEvent | AppRunnerServiceStatusEvent | AppRunnerCustomDomainEvent,
    Field(discriminator="detail_type"),
]
