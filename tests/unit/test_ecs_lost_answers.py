"""After a lost answer, ECS is not asked twice: the flow remembers that the target may have acted, and the
copies registered for a release are settled the same way by every attempt (reuse one, adopt the
deployment that runs it, deregister what nothing runs)."""

from __future__ import annotations

import pytest

from pushpilot.core.errors import OutcomeUnknownError, RetryableError
from pushpilot.flows.push import handle_push
from pushpilot.targets.ecs.task_definitions import (
    family_revision,
    is_copy_of,
    release_tags,
    settle_copies,
)
from tests.fakes import FakeWorld, digest_of, service_snapshot
from tests.unit.test_deploy_path_truth import push_event

pytestmark = pytest.mark.unit

BASE = "arn:aws:ecs:us-east-1:123456789012:task-definition/storefront:4"
COPY_5, COPY_6, COPY_7 = (
    f"arn:aws:ecs:us-east-1:123456789012:task-definition/storefront:{n}" for n in (5, 6, 7)
)
DIGEST = "sha256:" + "b" * 64


def _deployment(task_definition: str, status: str, number: int) -> dict[str, str]:
    return {"id": f"ecs-svc/{number:019d}", "status": status, "taskDefinition": task_definition}


# --- the copies: which one is kept, which deployment is adopted ---------------------------------------


def test_with_no_copy_registered_a_copy_is_still_to_register() -> None:
    decision = settle_copies([], [_deployment(BASE, "PRIMARY", 1)])

    assert (decision.keep, decision.deregister, decision.adopt) == (None, (), None)


def test_copies_nothing_runs_keep_the_first_registered_and_deregister_the_others() -> None:
    decision = settle_copies([COPY_7, COPY_5, COPY_6], [_deployment(BASE, "PRIMARY", 1)])

    assert decision.keep == COPY_5
    assert decision.deregister == (COPY_6, COPY_7)
    assert decision.adopt is None


def test_a_deployment_that_runs_a_copy_is_adopted_and_its_copy_kept() -> None:
    deployments = [_deployment(COPY_6, "PRIMARY", 2), _deployment(BASE, "ACTIVE", 1)]

    decision = settle_copies([COPY_5, COPY_6, COPY_7], deployments)

    assert decision.keep == COPY_6
    assert decision.adopt == "ecs-svc/0000000000000000002"
    assert decision.deregister == (COPY_5, COPY_7)


def test_every_copy_a_deployment_runs_is_kept_and_the_primary_one_adopted() -> None:
    # Two deployments of one digest already ran (the fault this settles): neither copy is taken away.
    deployments = [_deployment(COPY_5, "ACTIVE", 1), _deployment(COPY_7, "PRIMARY", 2)]

    decision = settle_copies([COPY_5, COPY_6, COPY_7], deployments)

    assert decision.keep == COPY_7
    assert decision.adopt == "ecs-svc/0000000000000000002"
    assert decision.deregister == (COPY_6,)


def test_attempts_that_see_the_copies_in_another_order_decide_the_same() -> None:
    orders = [[COPY_5, COPY_6, COPY_7], [COPY_7, COPY_6, COPY_5], [COPY_6, COPY_7, COPY_5]]

    decisions = {settle_copies(order, []) for order in orders}

    assert len(decisions) == 1


def test_a_copy_is_known_by_both_tags_of_its_release() -> None:
    tags = {tag["key"]: tag["value"] for tag in release_tags(BASE, DIGEST)}

    assert is_copy_of(tags, base=BASE, digest=DIGEST)
    assert not is_copy_of(tags, base=BASE, digest="sha256:" + "c" * 64)
    assert not is_copy_of(tags, base=COPY_5, digest=DIGEST)
    assert not is_copy_of({"pushpilot:digest": DIGEST}, base=BASE, digest=DIGEST)


def test_a_revision_is_read_from_an_arn_or_a_family_revision() -> None:
    assert family_revision(COPY_7) == ("storefront", 7)
    assert family_revision("storefront:12") == ("storefront", 12)
    assert family_revision("storefront") == ("storefront", 0)


# --- the flow: a lost answer is remembered for the retry ------------------------------------------------


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld([service_snapshot("storefront", "web")])


def test_a_lost_answer_is_remembered_and_the_retry_is_told_to_look_first(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    world.apprunner.fail_next_deploy = OutcomeUnknownError("UpdateService: read timeout")
    with pytest.raises(OutcomeUnknownError):
        handle_push(push_event(digest), world.ports)
    service = world.index.all()[0]
    assert service.in_flight is None
    assert service.answer_lost_for(digest)

    handle_push(push_event(digest), world.ports)

    assert world.apprunner.told_answer_lost == [False, True]
    service = world.index.all()[0]
    # Once an operation is known, nothing is left to look for.
    assert service.in_flight is not None
    assert service.in_flight.operation_id is not None
    assert service.lost_answer is None


def test_a_refused_attempt_is_not_remembered_as_a_lost_answer(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    world.apprunner.fail_next_deploy = RetryableError(
        "UpdateService: not sent, the endpoint could not be reached"
    )
    with pytest.raises(RetryableError):
        handle_push(push_event(digest), world.ports)

    handle_push(push_event(digest), world.ports)

    assert world.apprunner.told_answer_lost == [False, False]


def test_a_lost_answer_for_another_digest_asks_nothing_of_this_push(world: FakeWorld) -> None:
    world.apprunner.fail_next_deploy = OutcomeUnknownError("UpdateService: read timeout")
    with pytest.raises(OutcomeUnknownError):
        handle_push(push_event(digest_of("web-1")), world.ports)

    handle_push(push_event(digest_of("web-2"), time="2026-05-04T09:20:00Z"), world.ports)

    assert world.apprunner.told_answer_lost == [False, False]


class FunctionTimedOut(BaseException):
    """Lambda ends a timed-out invocation: nothing after the line it was on runs, no handler sees it."""


def test_an_attempt_that_timed_out_mid_deploy_has_its_retry_deploy_and_look_first(world: FakeWorld) -> None:
    """The function timed out inside the deploy (after RegisterTaskDefinition, before UpdateService): no
    exception reached the flow, so only the intent the claim recorded says an attempt may have acted.
    Lambda's retry finds the claim it left, deploys, and is told to look for what the dead one did."""
    digest = digest_of("web-1")
    world.apprunner.fail_next_deploy = FunctionTimedOut()
    with pytest.raises(FunctionTimedOut):
        handle_push(push_event(digest), world.ports)
    service = world.index.all()[0]
    assert service.in_flight is not None
    assert service.in_flight.operation_id is None
    assert service.answer_lost_for(digest)

    handle_push(push_event(digest), world.ports)

    assert world.apprunner.told_answer_lost == [False, True]
    service = world.index.all()[0]
    assert service.in_flight is not None
    assert service.in_flight.operation_id is not None
    assert service.lost_answer is None
    assert world.apprunner.started == 1


def test_a_retry_of_a_deployment_that_started_starts_nothing(world: FakeWorld) -> None:
    digest = digest_of("web-1")
    handle_push(push_event(digest), world.ports)
    world.once.results.clear()

    handle_push(push_event(digest), world.ports)

    assert world.apprunner.told_answer_lost == [False]
