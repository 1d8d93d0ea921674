"""CodeBuild build state and phase events, parsed whole with Powertools' parser."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field

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
    are dropped at parse time and can never be logged or rendered."""

    logs: CodeBuildLogs | None = None
    phases: list[CodeBuildPhase] = Field(default_factory=list)
    source_version: str | None = Field(default=None, alias="source-version")
    initiator: str | None = None
    build_start_time: str | None = Field(default=None, alias="build-start-time")


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


class CodeBuildPhaseEvent(EventBridgeModel):
    source: Literal["aws.codebuild"]
    detail_type: Literal["CodeBuild Build Phase Change"] = Field(alias="detail-type")
    detail: CodeBuildPhaseDetail


CodeBuildEvent = Annotated[CodeBuildStateEvent | CodeBuildPhaseEvent, Field(discriminator="detail_type")]
