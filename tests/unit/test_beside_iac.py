"""Living beside infrastructure code: a deployment pushpilot did not start, replacing a release of
pushpilot's, is told once; pushpilot's own deployments are not; the image of each deployment of ours that
goes live is published when asked."""

from __future__ import annotations

import pytest

from pushpilot.core.targets import ServiceChanged
from pushpilot.flows.outcome import handle_operation_ended, handle_service_changed
from pushpilot.flows.push import handle_push
from tests.fakes import REGISTRY, FakeImageParameters, FakeWorld, digest_of, service_snapshot
from tests.unit.test_deploy_path_truth import ended, push_event

pytestmark = pytest.mark.unit


def changed(arn: str) -> ServiceChanged:
    return ServiceChanged(event_id="svc-1", kind="apprunner", service_arn=arn, deleted=False)


def live_world() -> tuple[FakeWorld, str, str]:
    world = FakeWorld([service_snapshot("storefront", "web")])
    world.ports.image_parameters = FakeImageParameters()
    digest = digest_of("web-1")
    handle_push(push_event(digest), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "SUCCEEDED")
    handle_operation_ended(ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports)
    return world, arn, digest


def outside_titles(world: FakeWorld) -> list[str]:
    return [notice.title for notice in world.sink.notices if "changed outside pushpilot" in notice.title]


def test_the_image_of_a_deployment_that_went_live_is_published() -> None:
    world, _, digest = live_world()
    assert isinstance(world.ports.image_parameters, FakeImageParameters)
    assert world.ports.image_parameters.values == {
        "/pushpilot/apprunner/storefront/image": f"{REGISTRY}/web@{digest}"
    }


def test_an_image_put_back_by_an_apply_is_told_once_in_the_thread_of_the_release_it_replaced() -> None:
    world, arn, digest = live_world()
    snapshot = world.apprunner.snapshots[arn]
    world.apprunner.snapshots[arn] = snapshot.model_copy(
        update={
            "image_identifier": f"{REGISTRY}/web:v0.9",
            "details": {"task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:12"},
        }
    )
    handle_service_changed(changed(arn), world.ports)
    handle_service_changed(changed(arn), world.ports)

    (title,) = outside_titles(world)
    expected = (
        "storefront changed outside pushpilot: task definition web:12 (image web:v0.9) replaced release"
        f" web:latest ({digest[:19]}…)"
    )
    assert title == expected
    (notice,) = [n for n in world.sink.notices if n.title == title]
    assert notice.thread_key == f"web@{digest}"


def test_a_service_event_while_our_own_deployment_runs_is_not_an_outside_change() -> None:
    world, arn, _ = live_world()
    handle_push(push_event(digest_of("web-2"), time="2026-05-04T09:20:00Z"), world.ports)
    snapshot = world.apprunner.snapshots[arn]
    world.apprunner.snapshots[arn] = snapshot.model_copy(
        update={"image_identifier": f"{REGISTRY}/web@{digest_of('web-2')}"}
    )
    handle_service_changed(changed(arn), world.ports)

    assert outside_titles(world) == []


def test_nothing_is_told_where_pushpilot_never_deployed() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    arn = world.index.all()[0].arn
    snapshot = world.apprunner.snapshots[arn]
    world.apprunner.snapshots[arn] = snapshot.model_copy(update={"image_identifier": f"{REGISTRY}/web:v0.9"})
    handle_service_changed(changed(arn), world.ports)

    assert outside_titles(world) == []


def test_our_own_deployment_by_tag_seen_only_after_it_ended_is_not_an_outside_change() -> None:
    world, arn, _ = live_world()
    # The index still holds the identifier from before (no service event arrived during the deployment);
    # the service now names the very tag pushpilot deployed.
    indexed = world.index.get(arn)
    assert indexed is not None
    world.index.services[arn] = indexed.model_copy(update={"image_identifier": f"{REGISTRY}/web:v1.0"})
    handle_service_changed(changed(arn), world.ports)

    assert outside_titles(world) == []
