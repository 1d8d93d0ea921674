"""CodeBuild build state and phase events, parsed whole with Powertools' parser."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from pushpilot.core.build_report import (
    BuildInformation,
    BuildLogLocation,
    BuildPhase,
    BuildPhaseChange,
    BuildStateChange,
)
from pushpilot.core.redaction import MIN_SECRET_LENGTH, SecretValues
from pushpilot.events.common import EventDetail, NonEmpty


class CodeBuildLogs(EventDetail):
    group_name: str | None = Field(default=None, alias="group-name")
    stream_name: str | None = Field(default=None, alias="stream-name")
    deep_link: str | None = Field(default=None, alias="deep-link")


class CodeBuildPhase(EventDetail):
    phase_type: NonEmpty = Field(alias="phase-type")
    phase_status: str | None = Field(default=None, alias="phase-status")
    phase_context: list[str] = Field(default_factory=list, alias="phase-context")
    duration_in_seconds: float | None = Field(default=None, alias="duration-in-seconds")


class CodeBuildAdditionalInformation(EventDetail):
    """Deliberately has no `environment` field: build environment variables may hold secrets, so they
    are dropped at parse time and can never be logged or rendered (`CodeBuildEnvironmentValues` reads
    the PLAINTEXT values separately, only to mask them)."""

    logs: CodeBuildLogs | None = None
    phases: list[CodeBuildPhase] = Field(default_factory=list)
    source_version: str | None = Field(default=None, alias="source-version")
    initiator: str | None = None
    build_start_time: str | None = Field(default=None, alias="build-start-time")

    def to_core(self) -> BuildInformation:
        logs = self.logs
        return BuildInformation(
            logs=BuildLogLocation(
                group_name=logs.group_name, stream_name=logs.stream_name, deep_link=logs.deep_link
            )
            if logs is not None
            else None,
            phases=tuple(
                BuildPhase(
                    phase_type=phase.phase_type,
                    phase_status=phase.phase_status,
                    phase_context=tuple(phase.phase_context),
                    duration_in_seconds=phase.duration_in_seconds,
                )
                for phase in self.phases
            ),
            source_version=self.source_version,
        )


class CodeBuildStateDetail(EventDetail):
    build_status: Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"] = Field(alias="build-status")
    project_name: NonEmpty = Field(alias="project-name")
    build_id: NonEmpty = Field(alias="build-id")
    current_phase: str | None = Field(default=None, alias="current-phase")
    additional_information: CodeBuildAdditionalInformation = Field(
        default_factory=CodeBuildAdditionalInformation, alias="additional-information"
    )


class CodeBuildPhaseDetail(EventDetail):
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

    def to_core(self) -> BuildStateChange:
        """The build as the report reads it: no Powertools model crosses into core."""
        detail = self.detail
        return BuildStateChange(
            id=self.id,
            region=self.region,
            account=self.account,
            time=self.time,
            build_status=detail.build_status,
            project_name=detail.project_name,
            build_id=detail.build_id,
            current_phase=detail.current_phase,
            info=detail.additional_information.to_core(),
        )


class CodeBuildPhaseEvent(EventBridgeModel):
    source: Literal["aws.codebuild"]
    detail_type: Literal["CodeBuild Build Phase Change"] = Field(alias="detail-type")
    detail: CodeBuildPhaseDetail

    def to_core(self) -> BuildPhaseChange:
        detail = self.detail
        return BuildPhaseChange(
            id=self.id,
            region=self.region,
            account=self.account,
            time=self.time,
            completed_phase=detail.completed_phase,
            completed_phase_status=detail.completed_phase_status,
            project_name=detail.project_name,
            build_id=detail.build_id,
            info=detail.additional_information.to_core(),
        )


CodeBuildEvent = Annotated[CodeBuildStateEvent | CodeBuildPhaseEvent, Field(discriminator="detail_type")]


class _EnvironmentVariable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = ""
    type: str = "PLAINTEXT"
    value: SecretStr | None = None


class _Environment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    variables: tuple[_EnvironmentVariable, ...] = Field(default=(), alias="environment-variables")

    @field_validator("variables", mode="before")
    @classmethod
    def _items_only(cls, value: object) -> object:
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else ()


class _EnvironmentInformation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    environment: _Environment = Field(default_factory=_Environment)


class _EnvironmentDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    additional_information: _EnvironmentInformation = Field(
        default_factory=_EnvironmentInformation, alias="additional-information"
    )


class CodeBuildEnvironmentValues(BaseModel):
    """The build's PLAINTEXT environment values, read from a raw build or phase event only to mask them.

    CodeBuild lists `{name, type, value}` at `detail.additional-information.environment.
    environment-variables`; for PARAMETER_STORE and SECRETS_MANAGER variables `value` is the parameter's
    or secret's name, not the secret, so only PLAINTEXT values are kept, as SecretStr: they never reach a
    repr, a log line or a model dump.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    detail: _EnvironmentDetail = Field(default_factory=_EnvironmentDetail)

    def secrets(self) -> SecretValues:
        variables = self.detail.additional_information.environment.variables
        return SecretValues(
            values=tuple(
                variable.value
                for variable in variables
                if variable.type == "PLAINTEXT"
                and variable.value is not None
                and len(variable.value.get_secret_value()) >= MIN_SECRET_LENGTH
            )
        )
