"""The ECR push event, parsed whole on our EventBridge envelope.

Values are never rejected for their format (AWS's own ECR sample carries a 60-hex-digit digest):
only a missing or wrongly-typed field makes an event malformed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pushpilot.events.common import EventBridgeEnvelope, EventDetail, NonEmpty


class EcrImageActionDetail(EventDetail):
    action_type: NonEmpty = Field(alias="action-type")
    result: NonEmpty
    repository_name: NonEmpty = Field(alias="repository-name")
    image_digest: NonEmpty = Field(alias="image-digest")
    # Absent for the untagged child manifests of a multi-arch push: one event per manifest.
    image_tag: str | None = Field(default=None, alias="image-tag")


class EcrImageActionEvent(EventBridgeEnvelope):
    source: Literal["aws.ecr"]
    detail_type: Literal["ECR Image Action"] = Field(alias="detail-type")
    detail: EcrImageActionDetail
