"""Settings: one pydantic model per capability, read from the environment at the handler edge.

Plain pydantic rather than pydantic-settings because the managed Powertools layer ships pydantic only;
each field's alias is the environment variable the template sets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Defined in core so that adapters can raise it without importing the handlers' edge.
from pushpilot.core.dns import OWNER_ID_PATTERN
from pushpilot.core.errors import SettingsError
from pushpilot.core.notice_selection import KindSelection
from pushpilot.targets.ecs.reach import ClusterScope

if TYPE_CHECKING:
    from pushpilot.core.dns.models import DnsPolicy


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


SlackMode = Literal["bot", "webhook", "none"]


class NotifySettings(EnvSettings):
    """The notify function's configuration. Slack credentials are never an env var value: only the
    name of the secret (Secrets Manager) or of the SecureString parameter (SSM) that holds them. A
    Slack source that is missing is the Slack channel's error (`load_slack_credentials`), never the
    whole function's: SNS still gets every notice."""

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    slack_mode: SlackMode = Field(default="none", alias="SLACK_MODE")
    slack_secret_id: str | None = Field(default=None, alias="SLACK_SECRET_ID")
    slack_parameter_name: str | None = Field(default=None, alias="SLACK_PARAMETER_NAME")
    slack_channel: str | None = Field(default=None, alias="SLACK_CHANNEL")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_secret_max_age: int = Field(default=300, ge=0, alias="SLACK_SECRET_MAX_AGE")
    topic_arn: str | None = Field(default=None, alias="TOPIC_ARN")
    notify_kinds: KindSelection = Field(
        default_factory=lambda: KindSelection(everything=True), alias="NOTIFY_KINDS"
    )

    @field_validator("slack_mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("notify_kinds", mode="before")
    @classmethod
    def _parse_kinds(cls, value: object) -> object:
        return KindSelection.parse(value) if isinstance(value, str) else value


class SlackEndpointSettings(EnvSettings):
    """Slack's request URL (SlackActionsFunction): the signing secret's id, where decisions go next."""

    signing_secret_id: str = Field(alias="SLACK_SIGNING_SECRET_ID", min_length=1)
    decision_queue_url: str = Field(alias="DECISION_QUEUE_URL", min_length=1)


class BuildSettings(EnvSettings):
    """The build notices: how many log lines a failure quotes."""

    log_lines: int = Field(default=20, alias="BUILD_LOG_LINES", ge=1, le=200)


class DnsSettings(EnvSettings):
    """The DNS reconcile: which zones, how bold, who owns the records."""

    zone_ids: tuple[str, ...] = Field(default=(), alias="DNS_ZONE_IDS")
    take_over: bool = Field(default=False, alias="DNS_TAKE_OVER")
    max_changes: int = Field(default=20, ge=0, alias="DNS_MAX_CHANGES")
    owner_id: str = Field(alias="DNS_OWNER_ID", pattern=OWNER_ID_PATTERN)
    validation_pending_hours: float = Field(default=2, gt=0, alias="DNS_VALIDATION_PENDING_HOURS")
    dry_run: bool = Field(default=False, alias="DRY_RUN")
    region: str = Field(default="us-east-1", alias="AWS_REGION")

    @field_validator("zone_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rsplit("/", 1)[-1] for part in value.split(",") if part.strip())
        return value

    def policy(self) -> DnsPolicy:
        from pushpilot.core.dns.models import DnsPolicy

        return DnsPolicy(take_over=self.take_over, max_changes=self.max_changes, zone_ids=self.zone_ids)


class ReleaseEventSettings(EnvSettings):
    """Where pushpilot's own events go (`ReleaseEventBus`): the default bus, or a bus named by the stack."""

    bus: str = Field(default="default", alias="RELEASE_EVENT_BUS", min_length=1)
    # PublishImageParameters: the deployed image of each service in SSM, for infrastructure code to read.
    publish_image_parameters: bool = Field(default=False, alias="PUBLISH_IMAGE_PARAMETERS")
