"""What pushpilot remembers of each service it deploys to: what it runs, what the platform needs, the
deployment of ours in flight, the newest push waiting behind it, and the push a self-deploying service
will pick up. The service index stores these; the table's conditional updates keep them consistent.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.targets import TargetService
from pushpilot.core.verdicts import Platform


class InFlight(BaseModel):
    """A deployment we started (or claimed the right to start) on a service."""

    model_config = ConfigDict(frozen=True)

    digest: str
    release_id: str
    # A pending push becomes the in-flight deployment by a copy inside the table (take_pending), so the
    # push time is accepted as the start time.
    started_at: str = Field(validation_alias=AliasChoices("started_at", "pushed_at"))
    operation_id: str | None = None

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)


class Pending(BaseModel):
    """The newest push waiting for the service's current operation to end."""

    model_config = ConfigDict(frozen=True)

    digest: str
    release_id: str
    pushed_at: str

    @property
    def pushed(self) -> datetime:
        return datetime.fromisoformat(self.pushed_at)

    def as_claim(self) -> InFlight:
        return InFlight(digest=self.digest, release_id=self.release_id, started_at=self.pushed_at)


class IndexedService(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str = "apprunner"
    arn: str
    name: str
    status: str
    image_identifier: str
    image_key: str
    auto_deploy: bool
    busy: bool = False
    # `os/architecture[/variant]`; empty when the target cannot tell.
    required_platform: str = ""
    service_url: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    in_flight: InFlight | None = None
    pending: Pending | None = None
    awaiting_auto: Pending | None = None

    @property
    def platform(self) -> Platform | None:
        return Platform.parse(self.required_platform) if self.required_platform else None


def image_key_of(service: TargetService) -> str | None:
    """The lookup key of the image a service runs; None when it runs no registry image."""
    if service.image_identifier is None:
        return None
    try:
        return ImageRef.parse(service.image_identifier).key
    except ValueError:
        return None
