"""ECR Public tags as data: which tags to watch, and what a new sighting of a tag's digest asks for.

Pure: the service index says which public tags are in use, the tag store says what a check saw, and
these functions turn that into values the scheduled check acts on and tests assert.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.tracking import IndexedService

# `record`: the first digest seen under a public tag is only remembered; `deploy`: it is also deployed.
FirstSighting = Literal["record", "deploy"]


class WatchedImage(BaseModel):
    """One public `repository:tag` and the services that run it."""

    model_config = ConfigDict(frozen=True)

    image: ImageRef
    services: tuple[IndexedService, ...]

    @property
    def key(self) -> str:
        return self.image.key

    @property
    def tag(self) -> str:
        # images_to_watch keeps only tagged images.
        return self.image.tag or "latest"


def images_to_watch(services: Iterable[IndexedService]) -> list[WatchedImage]:
    """The distinct ECR Public tags the services run, each with its services, in key order.

    A digest-pinned identifier never changes, so there is nothing to watch.
    """
    grouped: dict[str, tuple[ImageRef, list[IndexedService]]] = {}
    for service in services:
        try:
            image = ImageRef.parse(service.image_key)
        except ValueError:
            continue
        if not image.is_ecr_public or image.digest or not image.tag:
            continue
        grouped.setdefault(image.key, (image, []))[1].append(service)
    return [
        WatchedImage(image=image, services=tuple(sorted(members, key=lambda service: service.name)))
        for _, (image, members) in sorted(grouped.items())
    ]


class SightingKind(StrEnum):
    FIRST = "first"
    UNCHANGED = "unchanged"
    CHANGED = "changed"


class Sighting(BaseModel):
    """What one check saw under a tag, compared with the last digest stored for it."""

    model_config = ConfigDict(frozen=True)

    image_key: str
    digest: str
    kind: SightingKind
    # The digest the tag named before this one; None when this digest was the tag's first sighting.
    previous: str | None = None
    # An earlier check already finished with this digest (recorded it, or ran its release).
    settled: bool = False


class SightingAction(StrEnum):
    NOTHING = "nothing"
    RECORD = "record"
    DEPLOY = "deploy"


class SightingDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: SightingAction
    reason: str


def decide(sighting: Sighting, first_sighting: FirstSighting) -> SightingDecision:
    """What a sighting asks for.

    An unchanged digest that no check has settled yet is a check that failed half-way: it is decided
    again as what it was, so a lost run never loses a deployment.
    """
    if sighting.kind is SightingKind.UNCHANGED and sighting.settled:
        return SightingDecision(action=SightingAction.NOTHING, reason="the tag still names the same digest")
    resumed = " (an earlier check did not finish)" if sighting.kind is SightingKind.UNCHANGED else ""
    if sighting.previous is None:
        if first_sighting == "deploy":
            return SightingDecision(
                action=SightingAction.DEPLOY,
                reason=f"first sighting of the tag, deployed as configured{resumed}",
            )
        return SightingDecision(
            action=SightingAction.RECORD,
            reason=f"first sighting of the tag: its digest is remembered, nothing is deployed{resumed}",
        )
    return SightingDecision(
        action=SightingAction.DEPLOY, reason=f"the tag moved from {sighting.previous}{resumed}"
    )
