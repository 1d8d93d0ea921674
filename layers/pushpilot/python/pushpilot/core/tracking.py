"""What pushpilot remembers of each service it deploys to: what it runs, what the platform needs, the
deployment of ours in flight, the newest push waiting behind it, and the push a self-deploying service
will pick up. The service index stores these; the table's conditional updates keep them consistent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    # The image identifier this deployment names when it is not the one the service runs (a followed
    # tag, a pinned digest, a rollback), and the tag it deploys; None: the service's own tag, as before.
    image: str | None = None
    tag: str | None = None
    # The single-platform manifest to deploy when the target takes no index and the push is one (the
    # index's child for the service's platform); None: `digest` itself is deployed.
    manifest: str | None = None

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)


class Pending(BaseModel):
    """The newest push waiting for the service's current operation to end."""

    model_config = ConfigDict(frozen=True)

    digest: str
    release_id: str
    pushed_at: str
    image: str | None = None
    tag: str | None = None
    manifest: str | None = None

    @property
    def pushed(self) -> datetime:
        return datetime.fromisoformat(self.pushed_at)

    def as_claim(self) -> InFlight:
        return InFlight(
            digest=self.digest,
            release_id=self.release_id,
            started_at=self.pushed_at,
            image=self.image,
            tag=self.tag,
            manifest=self.manifest,
        )


class LiveImage(BaseModel):
    """What a deployment of ours left running on a service: the release, its digest and tag, since when."""

    model_config = ConfigDict(frozen=True)

    release_id: str
    digest: str
    tag: str | None = None
    since: str
    # How the deployment that put it there was started: push, rollback.
    by: str = "push"


class Hold(BaseModel):
    """Automatic deploys stop on a held service until `pushpilot release` (or the hold tag goes)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    since: str
    # The release a rollback holds the service on: its own pending deployment is the one a hold lets go.
    release_id: str | None = None


class IndexedService(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
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
    # A claim given back after the target may have acted without answering (a read timeout, a connection
    # lost after sending): the next attempt of that digest looks at what the lost one did before acting.
    lost_answer: InFlight | None = None
    pending: Pending | None = None
    awaiting_auto: Pending | None = None
    # The service's tags as its target last described them (release policies read them).
    tags: dict[str, str] = Field(default_factory=dict)
    # `registry/repository`, kept only for services a push of another tag than their image's may concern
    # (see `repository_followed_by`): the index a push of any tag of that repository finds them by.
    follows_repository: str | None = None
    live: LiveImage | None = None
    hold: Hold | None = None

    def answer_lost_for(self, digest: str) -> bool:
        """Whether an earlier attempt to deploy `digest` here may have acted without us hearing."""
        return self.lost_answer is not None and self.lost_answer.digest == digest

    @property
    def platform(self) -> Platform | None:
        return Platform.parse(self.required_platform) if self.required_platform else None

    @property
    def running_tag(self) -> str | None:
        """The tag the service runs: the one our last deployment named, else the one it is found by (a
        service pinned to a digest keeps the tag it was deployed from), else its configured one."""
        if self.live is not None and self.live.tag:
            return self.live.tag
        for identifier in (self.image_key, self.image_identifier):
            try:
                tag = ImageRef.parse(identifier).tag
            except ValueError:
                continue
            if tag:
                return tag
        return None


def repository_key_of(image_identifier: str) -> str | None:
    """`registry/repository` of an image identifier, whatever tag or digest it names."""
    try:
        ref = ImageRef.parse(image_identifier)
    except ValueError:
        return None
    return f"{ref.registry}/{ref.repository}"


def repository_followed_by(service: TargetService) -> str | None:
    """`registry/repository` of the image the service runs: a push of any tag of it finds the service with
    one Query, and the service's release policy then decides whether the push concerns it (the tag it runs,
    a tag its policy follows, a digest it was pinned to by a rollback or a target that deploys digests)."""
    if service.image_identifier is None:
        return None
    return repository_key_of(service.image_identifier)


def image_key_of(service: TargetService) -> str | None:
    """The lookup key of the image a service runs; None when it runs no registry image."""
    if service.image_identifier is None:
        return None
    try:
        return ImageRef.parse(service.image_identifier).key
    except ValueError:
        return None


def image_key_to_follow(service: TargetService, indexed: IndexedService | None) -> str | None:
    """The key a push finds the service by. A service pushpilot pinned to a digest (ECS, Express: the
    task definition or container names `repo@sha256:…` after a deployment) keeps following the tag it was
    deployed from, so the next push of that tag still finds it."""
    key = image_key_of(service)
    if key is None or service.image_identifier is None or indexed is None:
        return key
    current = ImageRef.parse(service.image_identifier)
    if current.digest is None:
        return key
    try:
        followed = ImageRef.parse(indexed.image_key)
    except ValueError:
        return key
    same_repository = (followed.registry, followed.repository) == (current.registry, current.repository)
    return indexed.image_key if same_repository and followed.digest is None else key


def described_values(service: TargetService, image_key: str) -> dict[str, Any]:
    """What the index records of a service from its target's description; pushpilot's own bookkeeping on
    the service (in flight, pending, live, hold) is not part of it and survives every refresh."""
    return {
        "kind": service.kind,
        "arn": service.arn,
        "name": service.name,
        "status": service.status,
        "busy": service.busy,
        "required_platform": str(service.required_platform) if service.required_platform else "",
        "image_identifier": service.image_identifier,
        "image_key": image_key,
        "auto_deploy": service.auto_deploy,
        "service_url": service.service_url or "",
        "details": service.details,
        "tags": service.tags,
    }
