"""The deploy path tells the truth under faults: each test drives the flows with the fakes of the ports
through the fault it names, then retries as Lambda would, and checks what was deployed and told."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from pushpilot.core.errors import NotFoundError, OutcomeUnknownError, RetryableError
from pushpilot.core.notices import NoticeKind
from pushpilot.core.releases import RolloutStatus, Stage
from pushpilot.core.targets import OperationEnded
from pushpilot.core.verdicts import LINUX_ARM64, Platform, Verdict, VerdictStatus, fix_command
from pushpilot.entry.handling import parse_event
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.outcome import handle_operation_ended
from pushpilot.flows.push import handle_push
from pushpilot.flows.refresh import refresh
from tests.fakes import (
    ACCOUNT,
    REGION,
    FakeTarget,
    FakeWorld,
    PassingInspector,
    digest_of,
    service_snapshot,
)

pytestmark = pytest.mark.unit

_ECR = TypeAdapter(EcrImageActionEvent)


def push_event(
    digest: str, *, tag: str | None = "latest", time: str = "2026-05-04T09:14:09Z"
) -> EcrImageActionEvent:
    detail: dict[str, Any] = {
        "action-type": "PUSH",
        "result": "SUCCESS",
        "repository-name": "web",
        "image-digest": digest,
    }
    if tag is not None:
        detail["image-tag"] = tag
    return parse_event(
        _ECR,
        {
            "version": "0",
            "id": f"push-{digest[-6:]}",
            "detail-type": "ECR Image Action",
            "source": "aws.ecr",
            "account": ACCOUNT,
            "time": time,
            "region": REGION,
            "resources": [],
            "detail": detail,
        },
    )


def ended(world: FakeWorld, name: str, status: str) -> OperationEnded:
    service = world.index.find_by_name("apprunner", name)
    assert service is not None
    return OperationEnded(
        event_id=f"op-{status}", kind="apprunner", service_arn=service.arn, service_name=name, status=status
    )


def kinds(world: FakeWorld) -> list[NoticeKind]:
    return [notice.kind for notice in world.sink.notices]


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld([service_snapshot("storefront", "web")])


def test_a_rollback_is_told_even_when_queueing_its_notice_failed_the_first_time(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    handle_push(push_event(digest), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "ROLLBACK_SUCCEEDED")

    world.sink.fail_next = RetryableError("SQS SendMessage throttled past its retries")
    with pytest.raises(RetryableError):
        handle_operation_ended(ended(world, "storefront", "DeploymentFailed"), world.ports)
    # Lambda's retry of the same event:
    outcome = handle_operation_ended(ended(world, "storefront", "DeploymentFailed"), world.ports)

    assert outcome.detail["rollout"] == "rolled_back"
    assert kinds(world).count(NoticeKind.ROLLED_BACK) == 1
    assert world.index.all()[0].in_flight is None


@pytest.mark.parametrize(
    ("end", "told", "stage"),
    [
        ("ROLLBACK_SUCCEEDED", NoticeKind.ROLLED_BACK, Stage.ROLLED_BACK),
        ("ROLLBACK_FAILED", NoticeKind.ROLLBACK_FAILED, Stage.ROLLBACK_FAILED),
    ],
)
def test_a_rollback_is_told_rolling_back_once_and_ends_as_the_target_confirms(
    world: FakeWorld, end: str, told: NoticeKind, stage: Stage
) -> None:
    digest = digest_of("web-1")
    handle_push(push_event(digest), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "ROLLBACK_IN_PROGRESS")

    first = handle_operation_ended(ended(world, "storefront", "DeploymentFailed"), world.ports)
    again = handle_operation_ended(ended(world, "storefront", "RollbackStarted"), world.ports)

    assert (first.detail, again.detail) == (
        {"outcome": "rolling_back", "told": True},
        {"outcome": "rolling_back", "told": False},
    )
    assert kinds(world).count(NoticeKind.ROLLING_BACK) == 1
    assert world.index.all()[0].in_flight is not None
    release = world.releases.get(f"web@{digest}")
    assert release is not None
    assert release.stage is Stage.ROLLING_BACK

    world.apprunner.end_operation(arn, end)
    outcome = handle_operation_ended(ended(world, "storefront", "RollbackEnded"), world.ports)

    assert outcome.detail["rollout"] == str(told)
    assert kinds(world)[-1] is told
    assert world.index.all()[0].in_flight is None
    release = world.releases.get(f"web@{digest}")
    assert release is not None
    assert release.stage is stage


@pytest.mark.parametrize(("about", "quoted"), [("ours", True), ("ecs-svc/older", False)])
def test_an_events_words_are_quoted_only_in_the_notice_of_the_operation_it_is_about(
    world: FakeWorld, about: str, quoted: bool
) -> None:
    handle_push(push_event(digest_of("web-1")), world.ports)
    service = world.index.all()[0]
    assert service.in_flight is not None
    world.apprunner.end_operation(service.arn, "SUCCEEDED")
    event = ended(world, "storefront", "SERVICE_DEPLOYMENT_FAILED").model_copy(
        update={
            "message": "ECS deployment circuit breaker: task failed to start.",
            "operation_id": service.in_flight.operation_id if about == "ours" else about,
        }
    )

    handle_operation_ended(event, world.ports)

    live = world.sink.notices[-1]
    assert live.kind is NoticeKind.LIVE
    assert ("task failed to start" in live.summary) is quoted


# A pause, resume or configuration update is, to the flow, an operation that deploys no image; the
# sandbox tests (tests/e2e/test_deploy_path_faults.py) run each kind for real. Here: ended well or badly.
@pytest.mark.parametrize(
    ("status", "event_status"),
    [("SUCCEEDED", "PauseServiceCompletedSuccessfully"), ("FAILED", "UpdateServiceFailed")],
)
def test_an_unrelated_operation_never_closes_an_auto_deploy_release(status: str, event_status: str) -> None:
    world = FakeWorld([service_snapshot("storefront", "web", auto_deploy=True)])
    arn = world.index.all()[0].arn
    # A deployment that ended before the push is not the push's either.
    world.apprunner.run_operation(arn, deploys_image=True, status="SUCCEEDED")
    world.advance(5)
    handle_push(push_event(digest_of("web-1"), time=world.time.isoformat()), world.ports)
    world.advance(5)
    world.apprunner.run_operation(arn, deploys_image=False, status=status)

    outcome = handle_operation_ended(ended(world, "storefront", event_status), world.ports)

    assert outcome.status == "ignored"
    release = next(iter(world.releases.releases.values()))
    assert release.services[arn].status is RolloutStatus.AWAITING_AUTO_DEPLOY
    assert NoticeKind.LIVE not in kinds(world)
    assert NoticeKind.FAILED not in kinds(world)

    # App Runner's own deployment of the push, started after it, is what closes it.
    world.advance(5)
    world.apprunner.run_operation(arn, deploys_image=True)
    world.apprunner.end_operation(arn, "SUCCEEDED")
    closed = handle_operation_ended(
        ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports
    )
    assert closed.detail["rollout"] == "live"
    assert kinds(world).count(NoticeKind.LIVE) == 1


def test_a_retry_after_the_deploying_notice_failed_does_not_deploy_again(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    # The verdict notice goes out; the deploying notice cannot be queued.
    sink = world.sink
    original = sink.publish
    failures = iter([True])

    def flaky(notice: Any) -> None:
        if notice.kind is NoticeKind.DEPLOYING and next(failures, False):
            raise RetryableError("SQS SendMessage failed past its retries")
        original(notice)

    sink.publish = flaky  # type: ignore[method-assign]
    with pytest.raises(RetryableError):
        handle_push(push_event(digest), world.ports)
    retried = handle_push(push_event(digest), world.ports)

    assert world.apprunner.started == 1
    assert retried.detail["services"][0]["status"] == "deploying"
    assert NoticeKind.QUEUED not in kinds(world)
    assert world.index.all()[0].pending is None


def test_a_lost_answer_to_the_deployment_is_adopted_by_the_retry_not_deployed_twice(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    world.apprunner.lose_next_answer = True
    with pytest.raises(OutcomeUnknownError):
        handle_push(push_event(digest), world.ports)
    # The claim was given back: nothing we know of started.
    assert world.index.all()[0].in_flight is None

    retried = handle_push(push_event(digest), world.ports)

    assert retried.detail["services"][0]["status"] == "deploying"
    assert world.apprunner.started == 1
    service = world.index.all()[0]
    assert service.in_flight is not None
    assert service.in_flight.operation_id == world.apprunner.operations[service.arn][0].operation_id
    world.apprunner.end_operation(service.arn, "SUCCEEDED")
    closed = handle_operation_ended(
        ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports
    )
    assert closed.detail["rollout"] == "live"


def test_a_deployment_that_never_started_is_told_as_unconfirmed_never_live(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    handle_push(push_event(digest), world.ports)
    service = world.index.all()[0]
    # Its operation cannot be found any more (say the answer was lost and nothing ever ran).
    world.apprunner.operations[service.arn].clear()
    world.apprunner.end_operation(service.arn)
    world.advance(21 * 60)

    report = refresh(world.ports)

    assert report["unconfirmed"] == ["storefront"]
    release = world.releases.get(f"web@{digest}")
    assert release is not None
    assert release.services[service.arn].status is RolloutStatus.UNCONFIRMED
    assert release.stage is Stage.UNCONFIRMED
    assert NoticeKind.LIVE not in kinds(world)
    assert world.index.all()[0].in_flight is None


def test_an_image_that_cannot_be_read_is_told_and_nothing_deploys(world: FakeWorld) -> None:
    class VanishedImage(PassingInspector):
        def inspect(self, repository: str, **kwargs: Any) -> Verdict:
            raise NotFoundError(f"BatchGetImage on {repository}: ImageNotFoundException")

    world.ports.inspector = VanishedImage()
    with pytest.raises(NotFoundError):
        handle_push(push_event(digest_of("web-1")), world.ports)

    assert kinds(world) == [NoticeKind.UNVERIFIED]
    assert "could not be read" in world.sink.notices[0].title
    assert world.apprunner.started == 0


@pytest.mark.parametrize("tag", ["", None])
def test_an_untagged_push_is_named_as_an_untagged_manifest(world: FakeWorld, tag: str | None) -> None:
    outcome = handle_push(push_event(digest_of("child"), tag=tag), world.ports)

    assert outcome.status == "ignored"
    assert "untagged manifest" in outcome.detail["reason"]
    assert world.sink.notices == []


class ArmOnlyImage(PassingInspector):
    """An image built on an Apple-silicon Mac: linux/arm64 only."""

    def inspect(self, repository: str, *, required: Platform, **kwargs: Any) -> Verdict:
        verdict = super().inspect(repository, required=required, **kwargs)
        if required == LINUX_ARM64:
            return verdict.model_copy(update={"platforms": (LINUX_ARM64,)})
        return verdict.model_copy(
            update={
                "status": VerdictStatus.REJECT,
                "platforms": (LINUX_ARM64,),
                "reason": f"The image is built for linux/arm64 only; the service runs {required}.",
                "fix": fix_command(required, f"{repository}:latest"),
            }
        )


def test_one_release_is_rejected_for_an_amd64_service_and_deployed_to_an_arm64_one() -> None:
    arm_target = FakeTarget(
        [service_snapshot("graviton", "web", kind="arm-target", platform=LINUX_ARM64)],
        kind="arm-target",
        label="Arm service",
    )
    world = FakeWorld([service_snapshot("storefront", "web")], extra_targets=[arm_target])
    world.ports.inspector = ArmOnlyImage()
    digest = digest_of("mac-build")

    outcome = handle_push(push_event(digest), world.ports)

    assert outcome.detail["verdict"] == {"linux/amd64": "reject", "linux/arm64": "pass"}
    statuses = {item["service"]: item["status"] for item in outcome.detail["services"]}
    assert statuses == {"graviton": "deploying", "storefront": "skipped"}
    assert world.apprunner.started == 0
    assert arm_target.started == 1
    release = world.releases.get(f"web@{digest}")
    assert release is not None
    assert {platform: verdict.status for platform, verdict in release.verdicts.items()} == {
        "linux/amd64": VerdictStatus.REJECT,
        "linux/arm64": VerdictStatus.PASS,
    }
    rejected = next(notice for notice in world.sink.notices if notice.kind is NoticeKind.REJECTED)
    assert "App Runner needs linux/amd64" in rejected.title
    assert rejected.next_step is not None
    assert "buildx" in rejected.next_step
    assert {notice.thread_key for notice in world.sink.notices} == {f"web@{digest}"}


def test_the_verdict_is_judged_once_per_platform_however_often_the_push_arrives() -> None:
    arm_target = FakeTarget(
        [service_snapshot("graviton", "web", kind="arm-target", platform=LINUX_ARM64)], kind="arm-target"
    )
    world = FakeWorld([service_snapshot("storefront", "web")], extra_targets=[arm_target])
    digest = digest_of("multi")
    for _ in range(3):
        handle_push(push_event(digest), world.ports)

    assert world.inspector.calls == 2
