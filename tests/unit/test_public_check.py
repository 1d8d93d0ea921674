"""The scheduled ECR Public check with fakes: a moved tag takes the push's path, an unchanged one nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from pushpilot.adapters.ecr_public import EcrPublicRegistry
from pushpilot.core.errors import RetryableError
from pushpilot.core.notices import NoticeKind
from pushpilot.core.public_sightings import FirstSighting, Sighting, SightingKind
from pushpilot.core.releases import RolloutStatus
from pushpilot.core.targets import TargetService
from pushpilot.flows.public_images import check_public_images
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from tests.fakes import ACCOUNT, REGION, FakeWorld
from tests.unit.public_registry_fake import BASE, FakePublicRegistry, read

pytestmark = pytest.mark.unit

NAME = "orders/orders-api"
KEY = f"public.ecr.aws/{NAME}:stable"
AMD64 = (read("manifest.oci.linux-amd64.json"), read("config.oci.linux-amd64.json"))
ARM64 = (read("manifest.oci.linux-arm64.json"), read("config.oci.linux-arm64.json"))
MULTI = (read("index.oci.amd64-arm64-attested.json"),)


def public_service(name: str, identifier: str = KEY) -> TargetService:
    service_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    return TargetService(
        kind="apprunner",
        busy=False,
        required_platform=APP_RUNNER_PLATFORM,
        arn=f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/{name}/{service_id}",
        name=name,
        status="RUNNING",
        image_identifier=identifier,
        auto_deploy=False,
        service_url=f"{service_id[:10]}.{REGION}.awsapprunner.com",
    )


@dataclass
class MemoryTags:
    """The tag store's rules without the table: one conditional write per sighting."""

    items: dict[str, dict[str, str]] = field(default_factory=dict)
    fail_settle: bool = False

    def observe(self, image_key: str, digest: str, now: str) -> Sighting:
        item = self.items.get(image_key)
        if item is None:
            self.items[image_key] = {"digest": digest, "previous": "", "seen_at": now}
            return Sighting(image_key=image_key, digest=digest, kind=SightingKind.FIRST)
        if item["digest"] == digest:
            return Sighting(
                image_key=image_key,
                digest=digest,
                kind=SightingKind.UNCHANGED,
                previous=item["previous"] or None,
                settled=item.get("settled") == digest,
            )
        self.items[image_key] = {"digest": digest, "previous": item["digest"], "seen_at": now}
        return Sighting(
            image_key=image_key, digest=digest, kind=SightingKind.CHANGED, previous=item["digest"]
        )

    def settle(self, image_key: str, digest: str, now: str) -> bool:
        if self.fail_settle:
            raise RetryableError("DynamoDB UpdateItem throttled")
        item = self.items[image_key]
        if item["digest"] != digest:
            return False
        item["settled"] = digest
        return True


@dataclass
class Check:
    world: FakeWorld
    registry: FakePublicRegistry
    tags: MemoryTags
    first_sighting: FirstSighting = "record"

    def run(self) -> dict[str, Any]:
        client = EcrPublicRegistry(BASE, transport=self.registry)
        return check_public_images(self.world.ports, client, self.tags, self.first_sighting)

    def deployments(self) -> int:
        return self.world.apprunner.started

    def notice_kinds(self) -> list[NoticeKind]:
        return [notice.kind for notice in self.world.sink.notices]


@pytest.fixture
def check() -> Check:
    world = FakeWorld([public_service("storefront"), public_service("admin")])
    registry = FakePublicRegistry()
    registry.push(NAME, "stable", *AMD64)
    return Check(world, registry, MemoryTags())


def test_first_sighting_is_recorded_and_deploys_nothing(check: Check) -> None:
    report = check.run()

    assert report["checked"] == 1
    assert report["first_sightings"] == [KEY]
    assert report["releases"] == []
    assert check.deployments() == 0
    assert check.notice_kinds() == []


def test_first_sighting_deploys_when_asked(check: Check) -> None:
    check.first_sighting = "deploy"

    report = check.run()

    assert report["first_sightings"] == [KEY]
    assert check.deployments() == 2
    assert check.notice_kinds() == [NoticeKind.VERIFIED, NoticeKind.DEPLOYING, NoticeKind.DEPLOYING]


def test_unchanged_tag_does_nothing_and_costs_one_head(check: Check) -> None:
    check.run()
    heads_before = len(check.registry.calls("HEAD"))

    report = check.run()

    assert report["unchanged"] == 1
    assert report["releases"] == []
    assert check.deployments() == 0
    assert len(check.registry.calls("HEAD")) == heads_before + 1
    assert check.registry.calls("GET", "/manifests/") == []


def test_moved_tag_is_judged_once_and_deployed_once_per_service(check: Check) -> None:
    check.run()
    digest = check.registry.push(NAME, "stable", *MULTI)

    report = check.run()

    assert report["changed"] == [KEY]
    [release] = report["releases"]
    assert release["release_id"] == f"{NAME}@{digest}"
    assert release["verdict"] == "pass"
    assert sorted(service["status"] for service in release["services"]) == ["deploying", "deploying"]
    assert check.deployments() == 2
    stored = check.world.releases.get(f"{NAME}@{digest}")
    assert stored is not None
    assert (stored.repository, stored.registry, stored.tags) == (NAME, "public.ecr.aws", ("stable",))
    assert {rollout.status for rollout in stored.services.values()} == {RolloutStatus.DEPLOYING}
    # Verdict once per digest, deployment once per (service, digest), each release event once per change:
    # the shared path's keys.
    assert {scope for scope, _ in check.world.once.results} == {"verdict", "deploy", "release-event"}

    again = check.run()
    assert again["unchanged"] == 1
    assert check.deployments() == 2


def test_a_tag_moved_to_an_arm64_image_is_rejected_and_not_deployed(check: Check) -> None:
    check.run()
    check.registry.push(NAME, "stable", *ARM64)

    report = check.run()

    assert report["changed"] == [KEY]
    assert check.deployments() == 0
    rejected = [notice for notice in check.world.sink.notices if notice.kind is NoticeKind.REJECTED]
    assert len(rejected) == 1
    assert f"public.ecr.aws/{NAME}:stable" in (rejected[0].next_step or "")


def test_a_check_that_stopped_half_way_is_finished_by_the_next(check: Check) -> None:
    check.run()
    check.registry.push(NAME, "stable", *MULTI)
    check.tags.fail_settle = True

    failed = check.run()

    assert failed["changed"] == [KEY]
    assert [error["error_type"] for error in failed["errors"]] == ["RetryableError"]
    check.tags.fail_settle = False
    resumed = check.run()
    assert resumed["unchanged"] == 1
    assert len(resumed["releases"]) == 1
    # The deployments were already made: the resumed run finds them done.
    assert check.deployments() == 2
    assert check.run()["releases"] == []


def test_one_failing_tag_does_not_stop_the_others(check: Check) -> None:
    check.world.index.upsert(public_service("docs", f"public.ecr.aws/{NAME}:docs"), now="t")
    check.registry.faults["HEAD", f"/v2/{NAME}/manifests/docs"] = 503

    report = check.run()

    assert report["checked"] == 2
    assert report["first_sightings"] == [KEY]
    assert report["errors"] == [
        {
            "image": f"public.ecr.aws/{NAME}:docs",
            "error_type": "RetryableError",
            "reason": f"HEAD {NAME}:docs: HTTP 503 (INJECTED: injected HTTP 503)",
        }
    ]


def test_the_release_is_told_on_its_own_thread_under_a_stable_event_id(check: Check) -> None:
    check.first_sighting = "deploy"
    digest = check.registry.tags[NAME, "stable"]

    [release] = check.run()["releases"]

    assert release["event_id"] == f"public-check:{KEY}@{digest}"
    assert {notice.thread_key for notice in check.world.sink.notices} == {f"{NAME}@{digest}"}


def test_throttling_ends_the_run_and_says_which_tags_waited(check: Check) -> None:
    check.world.index.upsert(public_service("docs", f"public.ecr.aws/{NAME}:docs"), now="t")
    check.registry.faults["HEAD", f"/v2/{NAME}/manifests/docs"] = 429
    check.registry.faults["HEAD", f"/v2/{NAME}/manifests/stable"] = 429

    report = check.run()

    assert len(check.registry.calls("HEAD")) == 1
    assert sorted(error["error_type"] for error in report["errors"]) == ["Skipped", "ThrottledError"]
    assert report["first_sightings"] == []


def test_runs_a_minute_apart_start_at_different_tags(check: Check) -> None:
    from dataclasses import replace
    from datetime import timedelta

    check.world.index.upsert(public_service("docs", f"public.ecr.aws/{NAME}:docs"), now="t")
    first_heads: list[str] = []
    for minute in range(2):
        moment = check.world.ports.clock() + timedelta(minutes=minute)
        ports = replace(check.world.ports, clock=lambda moment=moment: moment)
        before = len(check.registry.calls("HEAD"))
        check_public_images(ports, EcrPublicRegistry(BASE, transport=check.registry), check.tags, "record")
        first_heads.append(check.registry.calls("HEAD")[before].url)

    assert first_heads[0] != first_heads[1]


def test_a_moved_tag_that_cannot_be_read_is_told_once_and_not_retried_every_run(check: Check) -> None:
    check.run()
    digest = check.registry.push(NAME, "stable", *MULTI)
    check.registry.faults["GET", f"/v2/{NAME}/manifests/{digest}"] = 404

    failed = check.run()
    later = check.run()

    assert [error["error_type"] for error in failed["errors"]] == ["NotFoundError"]
    assert check.notice_kinds() == [NoticeKind.UNVERIFIED]
    assert "could not be read" in check.world.sink.notices[0].title
    assert later["errors"] == []
    assert later["releases"] == []
    assert len(check.registry.calls("GET", f"/manifests/{digest}")) == 1
    assert check.deployments() == 0
