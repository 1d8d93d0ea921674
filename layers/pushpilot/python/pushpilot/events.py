"""Typed models of every event pushpilot receives, parsed whole with Powertools' parser.

App Runner events come in two spellings: the developer guide shows PascalCase detail keys
(`Status`, `ServiceName`) while real events are camelCase (`operationStatus`, `serviceName`).
Every App Runner field accepts both.

Values are never rejected for their format (AWS's own ECR sample carries a 60-hex-digit digest):
only a missing or wrongly-typed field makes an event malformed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

NonEmpty = Annotated[str, Field(min_length=1)]


class _Detail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


# --- ECR -------------------------------------------------------------------------------------------


class EcrImageActionDetail(_Detail):
    action_type: NonEmpty = Field(alias="action-type")
    result: NonEmpty
    repository_name: NonEmpty = Field(alias="repository-name")
    image_digest: NonEmpty = Field(alias="image-digest")
    # Absent for the untagged child manifests of a multi-arch push: one event per manifest.
    image_tag: str | None = Field(default=None, alias="image-tag")


class EcrImageActionEvent(EventBridgeModel):
    source: Literal["aws.ecr"]
    detail_type: Literal["ECR Image Action"] = Field(alias="detail-type")
    detail: EcrImageActionDetail


# --- App Runner ------------------------------------------------------------------------------------


def _both(camel: str, pascal: str) -> AliasChoices:
    return AliasChoices(camel, pascal)


class AppRunnerOperationDetail(_Detail):
    operation_status: NonEmpty = Field(validation_alias=_both("operationStatus", "Status"))
    service_name: NonEmpty = Field(validation_alias=_both("serviceName", "ServiceName"))
    service_id: NonEmpty = Field(validation_alias=_both("serviceId", "ServiceId"))
    message: str = Field(default="", validation_alias=_both("message", "Message"))
    severity: str = Field(default="", validation_alias=_both("severity", "Severity"))


class AppRunnerServiceStatusDetail(_Detail):
    previous_status: str | None = Field(
        default=None, validation_alias=_both("previousServiceStatus", "PreviousStatus")
    )
    current_status: NonEmpty = Field(validation_alias=_both("currentServiceStatus", "CurrentStatus"))
    service_name: NonEmpty = Field(validation_alias=_both("serviceName", "ServiceName"))
    service_id: NonEmpty = Field(validation_alias=_both("serviceId", "ServiceId"))
    message: str = Field(default="", validation_alias=_both("message", "Message"))
    severity: str = Field(default="", validation_alias=_both("severity", "Severity"))


class AppRunnerCustomDomainDetail(_Detail):
    """No published sample exists: every field but the service's is optional, the handler re-reads state."""

    service_name: str | None = Field(default=None, validation_alias=_both("serviceName", "ServiceName"))
    service_id: str | None = Field(default=None, validation_alias=_both("serviceId", "ServiceId"))
    domain_name: str | None = Field(default=None, validation_alias=_both("domainName", "DomainName"))
    status: str | None = Field(
        default=None, validation_alias=AliasChoices("customDomainStatus", "status", "Status")
    )
    message: str = Field(default="", validation_alias=_both("message", "Message"))


class _AppRunnerEvent(EventBridgeModel):
    source: Literal["aws.apprunner"]

    @property
    def service_arn(self) -> str | None:
        return next((arn for arn in self.resources if ":apprunner:" in arn and ":service/" in arn), None)


class AppRunnerOperationEvent(_AppRunnerEvent):
    detail_type: Literal["AppRunner Service Operation Status Change"] = Field(alias="detail-type")
    detail: AppRunnerOperationDetail


class AppRunnerServiceStatusEvent(_AppRunnerEvent):
    detail_type: Literal["AppRunner Service Status Change"] = Field(alias="detail-type")
    detail: AppRunnerServiceStatusDetail


class AppRunnerCustomDomainEvent(_AppRunnerEvent):
    detail_type: Literal["AppRunner Custom Domain Validation Status Update"] = Field(alias="detail-type")
    detail: AppRunnerCustomDomainDetail


AppRunnerEvent = Annotated[
    AppRunnerOperationEvent | AppRunnerServiceStatusEvent | AppRunnerCustomDomainEvent,
    Field(discriminator="detail_type"),
]


# --- CodeBuild -------------------------------------------------------------------------------------


class CodeBuildLogs(_Detail):
    group_name: str | None = Field(default=None, alias="group-name")
    stream_name: str | None = Field(default=None, alias="stream-name")
    deep_link: str | None = Field(default=None, alias="deep-link")


class CodeBuildPhase(_Detail):
    phase_type: NonEmpty = Field(alias="phase-type")
    phase_status: str | None = Field(default=None, alias="phase-status")
    phase_context: list[str] = Field(default_factory=list, alias="phase-context")
    duration_in_seconds: float | None = Field(default=None, alias="duration-in-seconds")


class CodeBuildAdditionalInformation(_Detail):
    """Deliberately has no `environment` field: build environment variables may hold secrets, so they
    are dropped at parse time and can never be logged or rendered."""

    logs: CodeBuildLogs | None = None
    phases: list[CodeBuildPhase] = Field(default_factory=list)
    source_version: str | None = Field(default=None, alias="source-version")
    initiator: str | None = None
    build_start_time: str | None = Field(default=None, alias="build-start-time")


class CodeBuildStateDetail(_Detail):
    build_status: Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"] = Field(alias="build-status")
    project_name: NonEmpty = Field(alias="project-name")
    build_id: NonEmpty = Field(alias="build-id")
    current_phase: str | None = Field(default=None, alias="current-phase")
    additional_information: CodeBuildAdditionalInformation = Field(
        default_factory=CodeBuildAdditionalInformation, alias="additional-information"
    )


class CodeBuildPhaseDetail(_Detail):
    completed_phase: NonEmpty = Field(alias="completed-phase")
    completed_phase_status: str | None = Field(default=None, alias="completed-phase-status")
    project_name: NonEmpty = Field(alias="project-name")
    build_id: NonEmpty = Field(alias="build-id")
    additional_information: CodeBuildAdditionalInformation = Field(
        default_factory=CodeBuildAdditionalInformation, alias="additional-information"
    )


class CodeBuildStateEvent(EventBridgeModel):
    source: Literal["aws.codebuild"]
    detail_type: Literal["CodeBuild Build State Change"] = Field(alias="detail-type")
    detail: CodeBuildStateDetail


class CodeBuildPhaseEvent(EventBridgeModel):
    source: Literal["aws.codebuild"]
    detail_type: Literal["CodeBuild Build Phase Change"] = Field(alias="detail-type")
    detail: CodeBuildPhaseDetail


CodeBuildEvent = Annotated[CodeBuildStateEvent | CodeBuildPhaseEvent, Field(discriminator="detail_type")]
