"""Release policies on the deploy path, with the fakes of the ports: a push of a new tag finds the services
that follow its repository, deploys what the policy selects (never a downgrade), says every decision in
the release's thread, reports a policy that cannot be read once, and leaves a held service alone."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from pushpilot.core.errors import NotFoundError, RetryableError
from pushpilot.core.notices import NoticeKind
from pushpilot.core.releases import RolloutStatus
from pushpilot.core.targets import OperationEnded
from pushpilot.core.tracking import Hold
from pushpilot.entry.handling import parse_event
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.outcome import handle_operation_ended
from pushpilot.flows.push import handle_push
from pushpilot.flows.refresh import refresh
from pushpilot.flows.release_control import (
    list_releases,
    plan_rollback,
    release_hold,
    render_releases,
    rollback,
)
from tests.fakes import ACCOUNT, REGION, REGISTRY, FakeWorld, digest_of, service_snapshot

pytestmark = pytest.mark.unit

_ECR = TypeAdapter(EcrImageActionEvent)


def push(world: FakeWorld, tag: str, *, seed: str | None = None) -> dict[str, Any]:
    digest = digest_of(seed or f"web-{tag}")
    event = parse_event(
        _ECR,
        {
            "version": "0",
            "id": f"push-{tag}-{digest[-6:]}",
            "detail-type": "ECR Image Action",
            "source": "aws.ecr",
            "account": ACCOUNT,
            "time": world.time.isoformat().replace("+00:00", "Z"),
            "region": REGION,
            "resources": [],
            "detail": {
                "action-type": "PUSH",
                "result": "SUCCESS",
                "repository-name": "web",
                "image-digest": digest,
                "image-tag": tag,
            },
        },
    )
    world.advance(1)
    outcome = handle_push(event, world.ports)
    return {"status": outcome.status, **outcome.detail}


def finish(world: FakeWorld, name: str, status: str = "SUCCEEDED") -> None:
    service = world.index.find_by_name("apprunner", name)
    assert service is not None
    world.apprunner.end_operation(service.arn, status)
    handle_operation_ended(
        OperationEnded(
            event_id=f"op-{world.apprunner.started}",
            kind="apprunner",
            service_arn=service.arn,
            service_name=name,
            status="DeploymentCompletedSuccessfully",
        ),
        world.ports,
    )
    world.advance(1)


def titles(world: FakeWorld, kind: NoticeKind = NoticeKind.POLICY) -> list[str]:
    return [notice.title for notice in world.sink.notices if notice.kind is kind]


def follower(follow: str, *, tag: str = "v1.4.0", **tags: str) -> FakeWorld:
    return FakeWorld(
        [service_snapshot("checkout", "web", tag=tag, tags={"pushpilot:follow": follow, **tags})]
    )


def test_a_semver_range_follows_new_versions_and_never_goes_back() -> None:
    world = follower("semver:^1")

    push(world, "v1.5.0")
    finish(world, "checkout")
    push(world, "v2.0.0")
    push(world, "v1.3.9")

    assert world.apprunner.deployed == [
        ("checkout", digest_of("web-v1.5.0"), f"{REGISTRY}/web:v1.5.0"),
    ]
    assert titles(world) == [
        "v2.0.0 does not match semver:^1 on checkout: not deployed",
        "v1.3.9 skipped: older than v1.5.0 running on checkout",
    ]
    # The decision to deploy is told once, by the rollout it starts, with the policy's reason.
    (deploying,) = [n for n in world.sink.notices if n.kind is NoticeKind.DEPLOYING]
    assert deploying.title.endswith("deploying to checkout")
    assert deploying.summary.startswith("v1.5.0 matches semver:^1 on checkout;")
    # Each decision is told in its own release's thread.
    policy_threads = [n.thread_key for n in world.sink.notices if n.kind is NoticeKind.POLICY]
    assert policy_threads == [f"web@{digest_of(f'web-{tag}')}" for tag in ("v2.0.0", "v1.3.9")]
    service = world.index.all()[0]
    assert service.live is not None
    assert (service.live.tag, service.live.digest) == ("v1.5.0", digest_of("web-v1.5.0"))
    skipped = world.releases.get(f"web@{digest_of('web-v1.3.9')}")
    assert skipped is not None
    assert skipped.services[service.arn].status is RolloutStatus.SKIPPED


def test_a_service_without_a_policy_is_not_moved_by_other_tags() -> None:
    world = FakeWorld([service_snapshot("storefront", "web", tag="latest")])

    outcome = push(world, "v1.5.0")

    assert outcome["status"] == "ignored"
    assert world.apprunner.deployed == []
    assert world.sink.notices == []


def test_a_glob_policy_follows_matching_tags() -> None:
    world = follower("glob:release-*", tag="release-41")

    push(world, "release-42")
    finish(world, "checkout")
    push(world, "nightly-3")

    assert [call[2] for call in world.apprunner.deployed] == [f"{REGISTRY}/web:release-42"]
    assert titles(world) == ["nightly-3 does not match glob:release-* on checkout: not deployed"]
    assert titles(world, NoticeKind.DEPLOYING)[0].endswith("deploying to checkout")


def test_a_pinned_service_deploys_repository_at_digest() -> None:
    world = follower("semver:^1", **{"pushpilot:pin": "digest"})

    push(world, "v1.5.0")

    assert world.apprunner.deployed == [
        ("checkout", digest_of("web-v1.5.0"), f"{REGISTRY}/web@{digest_of('web-v1.5.0')}"),
    ]


def test_an_invalid_policy_is_reported_once_and_the_service_keeps_its_tag() -> None:
    world = follower("semver:^^1", tag="latest")

    push(world, "latest", seed="one")
    finish(world, "checkout")
    push(world, "latest", seed="two")
    finish(world, "checkout")

    problems = [n for n in world.sink.notices if n.title == "release policy of checkout cannot be read"]
    assert len(problems) == 1
    assert "pushpilot:follow='semver:^^1'" in problems[0].summary
    assert "not an npm-style version range" in problems[0].summary
    # Today's behaviour meanwhile: the tag it runs, pushed again, deploys.
    assert [call[1] for call in world.apprunner.deployed] == [digest_of("one"), digest_of("two")]


def test_a_held_service_is_not_deployed_until_released() -> None:
    world = follower("semver:^1")
    arn = world.index.all()[0].arn
    world.index.set_hold(arn, Hold(reason="rolled back to v1.4.0", since=world.time.isoformat()))

    push(world, "v1.5.0")
    world.index.set_hold(arn, None)
    push(world, "v1.5.1")

    assert [call[2] for call in world.apprunner.deployed] == [f"{REGISTRY}/web:v1.5.1"]
    assert titles(world)[0] == (
        "v1.5.0 not deployed to checkout: it is held (rolled back to v1.4.0);"
        " `pushpilot release checkout` lets pushes deploy again"
    )


def test_a_hold_tag_holds_too() -> None:
    world = follower("semver:^1", **{"pushpilot:hold": "freeze until Monday"})

    push(world, "v1.5.0")

    assert world.apprunner.deployed == []
    assert "held (freeze until Monday)" in titles(world)[0]


def test_a_duplicated_push_decides_and_deploys_once() -> None:
    world = follower("semver:^1")
    digest = digest_of("web-v1.5.0")

    push(world, "v1.5.0")
    push(world, "v1.5.0")

    assert [call[1] for call in world.apprunner.deployed] == [digest]
    # The decision is said with one dedupe key: the notifier sends it once.
    keys = {n.dedupe_key for n in world.sink.notices if n.kind is NoticeKind.POLICY}
    assert len(keys) == 1


def live_story() -> FakeWorld:
    """checkout went live on v1.4.0, then v1.5.0."""
    world = follower("semver:^1", tag="v1.3.0")
    push(world, "v1.4.0")
    finish(world, "checkout")
    push(world, "v1.5.0")
    finish(world, "checkout")
    return world


def test_a_rollback_deploys_the_previous_live_digest_pinned_tells_it_and_holds() -> None:
    world = live_story()
    previous, current = digest_of("web-v1.4.0"), digest_of("web-v1.5.0")

    plan = plan_rollback(world.ports, "checkout")
    result = rollback(world.ports, plan)
    finish(world, "checkout")

    assert plan.target.digest == previous
    assert plan.replaces is not None
    assert plan.replaces.digest == current
    assert result["rollback"] == "deploying"
    assert world.apprunner.deployed[-1] == ("checkout", previous, f"{REGISTRY}/web@{previous}")
    # Told in the replaced release's thread, and in the rolled-back-to release's thread naming it.
    replaced = [n for n in world.sink.notices if n.thread_key == f"web@{current}"]
    assert replaced[-1].title == "checkout is being rolled back to v1.4.0 (" + previous[7:19] + ")"
    deploying = [n for n in world.sink.notices if n.thread_key == f"web@{previous}"]
    assert f"replaces release web@{current}" in deploying[-2].summary
    assert deploying[-1].kind is NoticeKind.LIVE
    # The scheduled check re-reads every service and deploys nothing back.
    refresh(world.ports)
    assert len(world.apprunner.deployed) == 3
    service = world.index.all()[0]
    assert service.live is not None
    assert service.live.digest == previous
    assert service.hold is not None

    # The next push its policy selects is held, until released.
    push(world, "v1.5.1")
    assert len(world.apprunner.deployed) == 3
    assert release_hold(world.ports, "checkout").startswith("checkout released")
    push(world, "v1.5.2")
    assert world.apprunner.deployed[-1][2] == f"{REGISTRY}/web:v1.5.2"


def test_a_repeated_rollback_deploys_once() -> None:
    world = live_story()

    first = rollback(world.ports, plan_rollback(world.ports, "checkout"))
    again = rollback(world.ports, plan_rollback(world.ports, "checkout"))

    assert first == again
    assert len(world.apprunner.deployed) == 3


def test_a_rollback_to_a_named_release_and_to_nothing() -> None:
    world = live_story()
    previous = digest_of("web-v1.4.0")

    assert plan_rollback(world.ports, "checkout", to="v1.4.0").target.digest == previous
    assert plan_rollback(world.ports, "checkout", to=previous).target.digest == previous
    with pytest.raises(NotFoundError, match="already runs"):
        plan_rollback(world.ports, "checkout", to="v1.5.0")
    with pytest.raises(NotFoundError, match="was not live on checkout"):
        plan_rollback(world.ports, "checkout", to="v0.9.0")
    fresh = follower("semver:^1")
    with pytest.raises(NotFoundError, match="no earlier release was live on checkout"):
        plan_rollback(fresh.ports, "checkout")


def test_a_rollback_to_a_digest_no_repository_holds_is_an_error_before_anything_changes() -> None:
    world = live_story()
    unknown = digest_of("never-pushed")
    world.inspector.missing.add(unknown)
    told = len(world.sink.notices)

    with pytest.raises(NotFoundError, match="is no image in web"):
        plan_rollback(world.ports, "checkout", to=unknown)

    assert len(world.sink.notices) == told
    assert world.index.all()[0].hold is None
    assert world.releases.get(f"web@{unknown}") is None
    push(world, "v1.5.1")
    assert world.apprunner.deployed[-1][2] == f"{REGISTRY}/web:v1.5.1"


def test_a_rollback_to_a_stored_digest_that_never_ran_there_deploys_it() -> None:
    world = live_story()
    other = digest_of("built-elsewhere")

    result = rollback(world.ports, plan_rollback(world.ports, "checkout", to=other))

    assert result["rollback"] == "deploying"
    assert world.apprunner.deployed[-1] == ("checkout", other, f"{REGISTRY}/web@{other}")
    assert world.index.all()[0].hold is not None


def test_a_rollback_whose_deployment_does_not_start_holds_nothing_and_announces_nothing() -> None:
    world = live_story()
    told = len(world.sink.notices)
    plan = plan_rollback(world.ports, "checkout")
    world.apprunner.fail_next_deploy = RetryableError("apprunner UpdateService: ServiceUnavailable")

    with pytest.raises(RetryableError):
        rollback(world.ports, plan)

    assert world.index.all()[0].hold is None
    assert not [n for n in world.sink.notices[told:] if "rolled back" in n.title]
    # Run again, it starts, and only then holds and says so.
    assert rollback(world.ports, plan)["rollback"] == "deploying"
    assert world.index.all()[0].hold is not None
    assert [n.title for n in world.sink.notices[told:] if "rolled back" in n.title] == [
        "checkout is being rolled back to v1.4.0 (" + plan.target.digest[7:19] + ")"
    ]


def test_releases_lists_what_runs_where() -> None:
    world = live_story()
    push(world, "v2.0.0")

    [entry] = list_releases(world.ports)

    assert entry.service == "checkout"
    assert entry.policy == "semver:^1"
    assert entry.running is not None
    assert (entry.running.tag, entry.running.outcome) == ("v1.5.0", "live")
    assert [line.tag for line in entry.history] == ["v1.4.0"]
    text = render_releases([entry])
    assert "running  v1.5.0 sha256:" in text
    assert "before   v1.4.0 sha256:" in text


def test_a_service_without_a_policy_follows_its_tag_again_after_a_rollback_is_released() -> None:
    world = FakeWorld([service_snapshot("storefront", "web", tag="latest")])
    arn = world.index.all()[0].arn
    push(world, "latest", seed="a")
    finish(world, "storefront")
    push(world, "latest", seed="b")
    finish(world, "storefront")

    rollback(world.ports, plan_rollback(world.ports, "storefront"))
    finish(world, "storefront")
    # App Runner now runs the pinned digest; its change event re-reads the service into the index.
    snapshot = world.apprunner.snapshots[arn]
    world.apprunner.snapshots[arn] = snapshot.model_copy(
        update={"image_identifier": f"{REGISTRY}/web@{digest_of('a')}"}
    )
    world.index.upsert(world.apprunner.snapshots[arn], now=world.time.isoformat())

    push(world, "latest", seed="c")
    release_hold(world.ports, "storefront")
    push(world, "latest", seed="d")

    assert [call[2] for call in world.apprunner.deployed] == [
        None,
        None,
        f"{REGISTRY}/web@{digest_of('a')}",
        f"{REGISTRY}/web@{digest_of('d')}",
    ]
    assert [title for title in titles(world) if "it is held" in title] == [
        "latest not deployed to storefront: it is held (rolled back to latest ("
        + digest_of("a")[7:19]
        + ")); `pushpilot release storefront` lets pushes deploy again"
    ]


def test_a_push_queued_behind_a_rollback_before_its_hold_does_not_undo_it() -> None:
    """A push arrives after the rollback's deployment started and before the hold is set: it finds no
    hold and queues behind the rollback. When the rollback ends it is dropped and told, never deployed."""
    world = live_story()
    previous = digest_of("web-v1.4.0")
    world.apprunner.after_next_deploy = lambda: push(world, "v1.5.1")

    rollback(world.ports, plan_rollback(world.ports, "checkout"))
    finish(world, "checkout")
    refresh(world.ports)

    assert [call[1] for call in world.apprunner.deployed[2:]] == [previous]
    service = world.index.all()[0]
    assert service.pending is None
    assert service.in_flight is None
    queued = [n for n in world.sink.notices if n.thread_key == f"web@{digest_of('web-v1.5.1')}"]
    assert "held (rolled back to v1.4.0" in queued[-1].summary
    # Released, the next push deploys again.
    release_hold(world.ports, "checkout")
    push(world, "v1.5.2")
    assert world.apprunner.deployed[-1][2] == f"{REGISTRY}/web:v1.5.2"


def test_a_rollback_queued_behind_a_deployment_still_deploys_under_its_own_hold() -> None:
    world = live_story()
    previous = digest_of("web-v1.4.0")
    push(world, "v1.5.1")

    result = rollback(world.ports, plan_rollback(world.ports, "checkout"))
    finish(world, "checkout")

    assert result["rollback"] == "queued"
    assert world.apprunner.deployed[-1][1] == previous
