"""Settings: one pydantic model per capability, read from the environment at the handler edge.

Plain pydantic rather than pydantic-settings because the managed Powertools layer ships pydantic only;
each field's alias is the environment variable the template sets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

# Defined in core so that adapters can raise it without importing the handlers' edge.
from pushpilot.core.errors import SettingsError
from pushpilot.core.reach import ClusterScope


class EnvSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        wanted = {field.alias or name for name, field in cls.model_fields.items()}
        values = {key: value for key, value in source.items() if key in wanted and value != ""}
        try:
            return cls.model_validate(values)
        except ValueError as exc:
            raise SettingsError(f"invalid configuration for {cls.__name__}: {exc}") from exc


class CoreSettings(EnvSettings):
    """What every handler needs."""

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    notice_queue_url: str = Field(alias="NOTICE_QUEUE_URL", min_length=1)
    region: str = Field(default="us-east-1", alias="AWS_REGION")
    dry_run: bool = Field(default=False, alias="DRY_RUN")
    # What an image whose platform could not be read does: `block` (the default) or `deploy`.
    unverified_images: Literal["block", "deploy"] = Field(default="block", alias="UNVERIFIED_IMAGES")
    # A deployment still in progress this long after it began is reported as stuck.
    stuck_after_minutes: int = Field(default=30, ge=5, le=24 * 60, alias="DEPLOY_STUCK_AFTER_MINUTES")


class EcsSettings(EnvSettings):
    """Which ECS clusters pushpilot serves: comma-separated names or ARNs; empty: every cluster."""

    ecs_clusters: str = Field(default="", alias="ECS_CLUSTERS")

    @property
    def clusters(self) -> tuple[str, ...]:
        return self.scope.configured

    @property
    def scope(self) -> ClusterScope:
        try:
            return ClusterScope.parse(self.ecs_clusters)
        except ValueError as exc:
            raise SettingsError(f"invalid ECS_CLUSTERS: {exc}") from exc


class LambdaSettings(EnvSettings):
    """Which Lambda functions pushpilot deploys to (image functions whose name starts with the prefix;
    empty: none), and the queue that times the looks at their updates' outcomes."""

    function_prefix: str = Field(default="", alias="LAMBDA_FUNCTION_PREFIX")
    outcome_timer_queue_url: str | None = Field(default=None, alias="OUTCOME_TIMER_QUEUE_URL")


class PublicImageSettings(EnvSettings):
    """The scheduled ECR Public check."""

    registry_url: str = Field(
        default="https://public.ecr.aws", alias="ECR_PUBLIC_REGISTRY_URL", pattern=r"^https?://[^/?#]+"
    )
    # core.public_sightings.FirstSighting, spelled out: importing that module costs every cold start ≈ 14 ms.
    first_sighting: Literal["record", "deploy"] = Field(default="record", alias="PUBLIC_IMAGE_FIRST_SIGHTING")


class PrincipalSettings(EnvSettings):
    """Who pushpilot acts as, so an access-denied message names the principal a policy must grant."""

    role_arn: str | None = Field(default=None, alias="PUSHPILOT_ROLE_ARN")


class ReleaseEventSettings(EnvSettings):
    """Where pushpilot's own events go (`ReleaseEventBus`): the default bus, or a bus named by the stack."""

    bus: str = Field(default="default", alias="RELEASE_EVENT_BUS", min_length=1)
    # PublishImageParameters: the deployed image of each service in SSM, for infrastructure code to read.
    publish_image_parameters: bool = Field(default=False, alias="PUBLISH_IMAGE_PARAMETERS")
