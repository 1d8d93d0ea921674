"""State that is never stale, with the fakes of the ports: tags are read at deploy time for the services
a push would deploy to (and only those), and a push that finds the index never filled discovers first."""

from __future__ import annotations

import pytest

from pushpilot.core.errors import AccessDeniedError
from pushpilot.core.targets import TargetService
from pushpilot.core.tracking import Hold
from pushpilot.flows.refresh import refresh
from tests.fakes import FakeWorld, service_snapshot
from tests.unit.test_release_policy_flows import push

pytestmark = pytest.mark.unit

HOLD = {"pushpilot:hold": "incident 42"}


def _arn(world: FakeWorld, name: str) -> str:
    service = world.index.find_by_name("apprunner", name)
    assert service is not None
    return service.arn


def test_a_hold_tag_set_since_the_refresh_holds_the_push_and_is_kept_in_the_index() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    arn = _arn(world, "storefront")
    world.apprunner.set_tags(arn, HOLD)

    result = push(world, "latest")

    assert result["services"] == [{"service": "storefront", "action": "held", "status": "skipped"}]
    assert world.apprunner.deployed == []
    assert world.apprunner.tag_reads == ["storefront"]
    assert any("it is held (incident 42)" in notice.title for notice in world.sink.notices)
    indexed = world.index.get(arn)
    assert indexed is not None
    assert indexed.tags == HOLD


def test_removing_the_hold_tag_lets_the_next_push_deploy_though_the_index_still_holds_it() -> None:
    world = FakeWorld([service_snapshot("storefront", "web", tags=HOLD)])
    arn = _arn(world, "storefront")
    world.apprunner.set_tags(arn, {})

    push(world, "latest")

    assert [name for name, _, _ in world.apprunner.deployed] == ["storefront"]
    assert world.apprunner.tag_reads == ["storefront"]


def test_a_pin_tag_set_since_the_refresh_deploys_by_digest() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    world.apprunner.set_tags(_arn(world, "storefront"), {"pushpilot:pin": "digest"})

    push(world, "latest", seed="pinned")

    ((_, digest, image),) = world.apprunner.deployed
    assert image is not None
    assert image.endswith(f"@{digest}")


def test_tags_are_read_only_for_services_the_push_would_deploy_to() -> None:
    world = FakeWorld(
        [
            service_snapshot("storefront", "web"),
            service_snapshot("canary", "web", tag="v2"),
            service_snapshot("admin", "admin"),
        ]
    )

    push(world, "latest")

    # canary runs web:v2 (the push of web:latest does not concern it), admin another repository.
    assert world.apprunner.tag_reads == ["storefront"]


def test_a_hold_set_by_pushpilot_hold_costs_no_tag_read() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    arn = _arn(world, "storefront")
    world.index.set_hold(arn, Hold(reason="held by hand", since="2025-01-01T00:00:00+00:00"))

    push(world, "latest")

    assert world.apprunner.tag_reads == []
    assert world.apprunner.deployed == []


def test_a_service_deleted_since_the_refresh_is_dropped_and_the_others_still_deploy() -> None:
    world = FakeWorld([service_snapshot("storefront", "web"), service_snapshot("retired", "web")])
    retired = _arn(world, "retired")
    world.apprunner.deleted.add(retired)
    del world.apprunner.snapshots[retired]

    result = push(world, "latest")

    assert [name for name, _, _ in world.apprunner.deployed] == ["storefront"]
    assert sorted(world.apprunner.tag_reads) == ["retired", "storefront"]
    assert [entry["service"] for entry in result["services"]] == ["storefront"]
    assert world.index.get(retired) is None


def _unindexed(snapshots: list[TargetService]) -> FakeWorld:
    """A fresh install: the services ran before it, the index is empty and was never filled."""
    world = FakeWorld(snapshots)
    for snapshot in snapshots:
        world.index.remove(snapshot.arn)
    world.index.filled_at = None
    return world


def test_a_push_that_finds_the_index_never_filled_discovers_then_deploys() -> None:
    world = _unindexed([service_snapshot("storefront", "web")])

    push(world, "latest")

    assert world.apprunner.listed == 1
    assert [name for name, _, _ in world.apprunner.deployed] == ["storefront"]
    assert world.index.filled()

    push(world, "latest", seed="second")
    assert world.apprunner.listed == 1


def test_a_filled_index_is_never_discovered_again_by_a_push() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])

    push(world, "latest")

    assert world.apprunner.listed == 0


def test_a_discovery_that_fails_leaves_the_index_unmarked_and_the_push_is_told_why() -> None:
    world = _unindexed([service_snapshot("storefront", "web")])
    world.apprunner.fail_listing = AccessDeniedError("ListServices on the account: AccessDeniedException")

    result = push(world, "latest")

    assert result["status"] == "ignored"
    assert "discovering services failed" in result["reason"]
    assert not world.index.filled()


def test_the_refresh_marks_the_index_filled() -> None:
    world = _unindexed([service_snapshot("storefront", "web")])

    refresh(world.ports)

    assert world.index.filled()
    assert world.index.find_by_name("apprunner", "storefront") is not None
