"""Which ECR Public tags are watched, and what a sighting of a tag's digest asks for."""

from __future__ import annotations

import pytest

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.public_sightings import (
    FirstSighting,
    Sighting,
    SightingAction,
    SightingKind,
    decide,
    images_to_watch,
)
from pushpilot.core.tracking import IndexedService

pytestmark = pytest.mark.unit

OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def service(name: str, identifier: str) -> IndexedService:
    return IndexedService(
        kind="apprunner",
        arn=f"arn:aws:apprunner:us-east-1:222222222222:service/{name}/{'0' * 32}",
        name=name,
        status="RUNNING",
        image_identifier=identifier,
        image_key=ImageRef.parse(identifier).key,
        auto_deploy=False,
    )


def test_services_are_grouped_by_public_tag_and_everything_else_is_left_out() -> None:
    services = [
        service("web-b", "public.ecr.aws/nginx/nginx:stable"),
        service("web-a", "public.ecr.aws/nginx/nginx:stable"),
        service("docs", "public.ecr.aws/nginx/nginx"),  # no tag: latest
        service("pinned", f"public.ecr.aws/nginx/nginx@{OLD}"),
        service("private", "111122223333.dkr.ecr.us-east-1.amazonaws.com/nginx/nginx:stable"),
    ]

    watched = images_to_watch(services)

    assert [(image.key, [s.name for s in image.services]) for image in watched] == [
        ("public.ecr.aws/nginx/nginx:latest", ["docs"]),
        ("public.ecr.aws/nginx/nginx:stable", ["web-a", "web-b"]),
    ]
    assert [(image.image.repository, image.tag) for image in watched] == [
        ("nginx/nginx", "latest"),
        ("nginx/nginx", "stable"),
    ]


def test_nothing_to_watch_without_public_services() -> None:
    assert images_to_watch([service("private", "111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1")]) == []


def sighting(kind: SightingKind, *, previous: str | None = None, settled: bool = False) -> Sighting:
    return Sighting(image_key="k", digest=NEW, kind=kind, previous=previous, settled=settled)


@pytest.mark.parametrize(
    ("seen", "policy", "action"),
    [
        (sighting(SightingKind.FIRST), "record", SightingAction.RECORD),
        (sighting(SightingKind.FIRST), "deploy", SightingAction.DEPLOY),
        (sighting(SightingKind.CHANGED, previous=OLD), "record", SightingAction.DEPLOY),
        (sighting(SightingKind.CHANGED, previous=OLD), "deploy", SightingAction.DEPLOY),
        (sighting(SightingKind.UNCHANGED, previous=OLD, settled=True), "deploy", SightingAction.NOTHING),
        (sighting(SightingKind.UNCHANGED, settled=True), "deploy", SightingAction.NOTHING),
        # A check that stopped half-way is finished by the next one, as what it was.
        (sighting(SightingKind.UNCHANGED, previous=OLD), "record", SightingAction.DEPLOY),
        (sighting(SightingKind.UNCHANGED), "record", SightingAction.RECORD),
        (sighting(SightingKind.UNCHANGED), "deploy", SightingAction.DEPLOY),
    ],
)
def test_what_a_sighting_asks_for(seen: Sighting, policy: FirstSighting, action: SightingAction) -> None:
    assert decide(seen, policy).action is action


def test_the_reason_names_the_digest_the_tag_moved_from() -> None:
    assert OLD in decide(sighting(SightingKind.CHANGED, previous=OLD), "record").reason
