"""Approvals with the fakes of the ports: a release waits on a service whose policy asks people first, a
listed approver's vote deploys it once through the normal path, `slack:2` needs two distinct voters, a
reject or the deadline deploy nothing, a newer release supersedes, and a vote binds to its digest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from pushpilot.core.approval_notices import button_value
from pushpilot.core.approvals import (
    ApprovalState,
    VoteRefusal,
    parse_duration,
    read_approval_policy,
)
from pushpilot.core.notices import NoticeKind
from pushpilot.core.releases import RolloutStatus
from pushpilot.core.render_slack import render_slack_reply
from pushpilot.entry.handling import parse_event
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.approve import cast_vote, deploy_approved, find_approval
from pushpilot.flows.push import handle_push
from tests.fakes import ACCOUNT, REGION, FakeWorld, digest_of, service_snapshot

pytestmark = pytest.mark.unit

_ECR = TypeAdapter(EcrImageActionEvent)
APPROVER = "U0123ABCD"
OTHER = "U0999WXYZ"


def world_with(tags: dict[str, str]) -> FakeWorld:
    return FakeWorld([service_snapshot("prod-web", "web", tag="latest", tags=tags)])


def push(world: FakeWorld, seed: str) -> dict[str, Any]:
    digest = digest_of(seed)
    event = parse_event(
        _ECR,
        {
            "version": "0",
            "id": f"push-{seed}",
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
                "image-tag": "latest",
            },
        },
    )
    world.advance(1)
    return handle_push(event, world.ports).detail


def vote(world: FakeWorld, voter: str, choice: str = "approve", *, via: str = "slack") -> Any:
    approval = find_approval(world.ports, "prod-web")
    result = cast_vote(world.ports, approval, voter=voter, choice=choice, via=via)  # type: ignore[arg-type]
    if result.dispatch is not None:
        deploy_approved(world.ports, result.dispatch)
    return result


POLICY = {"pushpilot:approve": "slack", "pushpilot:approvers": f"{APPROVER} S0GROUP1"}


def test_policy_is_read_from_tags() -> None:
    policy = read_approval_policy(
        {
            "pushpilot:approve": "slack:2",
            "pushpilot:approvers": "U1AA U2BB  U1AA",
            "pushpilot:approval-deadline": "90m",
        }
    )
    assert policy is not None
    assert (policy.required, policy.approvers, policy.deadline) == (
        2,
        ("U1AA", "U2BB"),
        timedelta(minutes=90),
    )
    assert read_approval_policy({}) is None
    default = read_approval_policy({"pushpilot:approve": "slack", "pushpilot:approvers": "U1AA"})
    assert default is not None
    assert (default.deadline, default.problems) == (timedelta(hours=24), ())


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"pushpilot:approve": "yes", "pushpilot:approvers": "U1AA"}, "write slack or slack:2"),
        ({"pushpilot:approve": "slack"}, "names nobody"),
        ({"pushpilot:approve": "slack", "pushpilot:approvers": "alice"}, "not Slack user"),
        (
            {
                "pushpilot:approve": "slack",
                "pushpilot:approvers": "U1AA",
                "pushpilot:approval-deadline": "soon",
            },
            "24h",
        ),
    ],
)
def test_a_policy_that_cannot_be_read_still_gates(tags: dict[str, str], problem: str) -> None:
    policy = read_approval_policy(tags)
    assert policy is not None
    assert policy.required >= 1
    assert any(problem in text for text in policy.problems)


def test_durations() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("0m") is None
    assert parse_duration("") is None


def test_a_push_waits_for_approval_with_buttons_and_deploys_nothing() -> None:
    world = world_with(POLICY)
    detail = push(world, "one")
    assert [item["status"] for item in detail["services"]] == [str(RolloutStatus.AWAITING_APPROVAL)]
    assert world.apprunner.started == 0
    asks = [notice for notice in world.sink.notices if notice.kind is NoticeKind.APPROVAL]
    assert len(asks) == 1
    blocks = render_slack_reply(asks[0]).payload()["blocks"]
    buttons = [element for block in blocks if block["type"] == "actions" for element in block["elements"]]
    approval = find_approval(world.ports, "prod-web")
    assert [(button["action_id"], button.get("value")) for button in buttons[:2]] == [
        ("approve", button_value(approval)),
        ("reject", button_value(approval)),
    ]
    assert APPROVER in asks[0].summary
    assert approval.deadline in asks[0].summary
    assert "pushpilot approve prod-web" in (asks[0].next_step or "")


def test_one_approver_deploys_once_and_a_second_click_deploys_nothing_more() -> None:
    world = world_with(POLICY)
    push(world, "one")
    first = vote(world, APPROVER)
    assert (first.counted, first.state) == (True, ApprovalState.APPROVED)
    assert world.apprunner.started == 1
    again = vote_on_latest(world, APPROVER)
    assert again.counted is False
    assert world.apprunner.started == 1
    assert find_approval(world.ports, "prod-web", digest_of("one")).state is ApprovalState.DEPLOYED


def vote_on_latest(world: FakeWorld, voter: str) -> Any:
    approval = find_approval(world.ports, "prod-web", digest_of("one"))
    result = cast_vote(world.ports, approval, voter=voter, choice="approve", via="slack")
    if result.dispatch is not None:
        deploy_approved(world.ports, result.dispatch)
    return result


def test_a_stranger_is_told_and_counts_for_nothing() -> None:
    world = world_with(POLICY)
    push(world, "one")
    result = vote(world, OTHER)
    assert result.refusal is VoteRefusal.NOT_APPROVER
    assert result.text == "you are not an approver of prod-web"
    assert world.apprunner.started == 0
    assert find_approval(world.ports, "prod-web").votes == {}


def test_a_member_of_a_listed_user_group_counts() -> None:
    world = world_with(POLICY)
    push(world, "one")
    approval = find_approval(world.ports, "prod-web")
    result = cast_vote(
        world.ports,
        approval,
        voter=OTHER,
        choice="approve",
        via="slack",
        in_groups=lambda groups: "S0GROUP1" in groups,
    )
    assert result.state is ApprovalState.APPROVED


def test_two_approvals_need_two_distinct_voters() -> None:
    world = world_with(
        {**POLICY, "pushpilot:approve": "slack:2", "pushpilot:approvers": f"{APPROVER} {OTHER}"}
    )
    push(world, "one")
    assert vote(world, APPROVER).state is ApprovalState.WAITING
    assert vote_on_latest(world, APPROVER).refusal is VoteRefusal.ALREADY_VOTED
    assert world.apprunner.started == 0
    assert vote(world, OTHER).state is ApprovalState.APPROVED
    assert world.apprunner.started == 1
    titles = [notice.title for notice in world.sink.notices if notice.kind is NoticeKind.APPROVAL]
    assert "latest on prod-web: approval 1 of 2" in titles


def test_a_reject_deploys_nothing_and_is_told() -> None:
    world = world_with(POLICY)
    push(world, "one")
    result = vote(world, APPROVER, "reject")
    assert result.state is ApprovalState.REJECTED
    assert world.apprunner.started == 0
    release = world.releases.get(f"web@{digest_of('one')}")
    assert release is not None
    assert release.services[next(iter(release.services))].status is RolloutStatus.NOT_APPROVED
    assert any("rejected" in notice.title for notice in world.sink.notices)


def test_after_the_deadline_nothing_deploys_and_it_says_expired() -> None:
    world = world_with({**POLICY, "pushpilot:approval-deadline": "1h"})
    push(world, "one")
    world.advance(3601)
    result = vote(world, APPROVER)
    assert result.refusal is VoteRefusal.EXPIRED
    assert "expired" in result.text
    assert world.apprunner.started == 0
    assert find_approval(world.ports, "prod-web", digest_of("one")).state is ApprovalState.EXPIRED
    assert any("expired" in notice.title for notice in world.sink.notices)


def test_a_newer_release_supersedes_the_waiting_one_in_both_threads() -> None:
    world = world_with(POLICY)
    push(world, "one")
    push(world, "two")
    older = find_approval(world.ports, "prod-web", digest_of("one"))
    assert older.state is ApprovalState.SUPERSEDED
    threads = {
        notice.thread_key
        for notice in world.sink.notices
        if notice.kind is NoticeKind.APPROVAL and "supersede" in notice.title
    }
    assert threads == {f"web@{digest_of('one')}", f"web@{digest_of('two')}"}
    # A click on the old release's button changes nothing; the waiting one is the newer digest.
    stale = cast_vote(world.ports, older, voter=APPROVER, choice="approve", via="slack")
    assert stale.refusal is VoteRefusal.CLOSED
    assert find_approval(world.ports, "prod-web").digest == digest_of("two")
    assert world.apprunner.started == 0


def test_an_approval_binds_to_its_digest() -> None:
    world = world_with(POLICY)
    push(world, "one")
    vote(world, APPROVER)
    assert world.apprunner.started == 1
    # The tag pushed again with another digest asks again: the first approval does not carry over.
    detail = push(world, "two")
    assert [item["status"] for item in detail["services"]] == [str(RolloutStatus.AWAITING_APPROVAL)]
    assert world.apprunner.started == 1


def test_a_vote_whose_answer_was_lost_is_finished_by_its_retry() -> None:
    world = world_with(POLICY)
    push(world, "one")
    approval = find_approval(world.ports, "prod-web")
    # The vote reached the table but its answer did not: the record holds it, the approval still waits.
    from pushpilot.core.approvals import Vote

    world.approvals.vote(
        approval.service_arn, approval.digest, Vote(voter=APPROVER, choice="approve", at="t", via="slack")
    )
    result = vote(world, APPROVER)
    assert result.state is ApprovalState.APPROVED
    assert world.apprunner.started == 1


def test_the_cli_vote_is_recorded_with_the_caller() -> None:
    world = world_with(POLICY)
    push(world, "one")
    caller = "arn:aws:sts::123456789012:assumed-role/release-managers/alice"
    approval = find_approval(world.ports, "prod-web")
    result = cast_vote(world.ports, approval, voter=caller, choice="approve", via="cli", name=caller)
    assert result.dispatch is not None
    deploy_approved(world.ports, result.dispatch)
    stored = find_approval(world.ports, "prod-web", approval.release_id)
    assert stored.votes[caller].via == "cli"
    assert world.apprunner.started == 1


def test_the_scheduled_sweep_tells_an_expired_approval_once_without_a_click() -> None:
    from pushpilot.flows.approve import expire_overdue

    world = world_with({**POLICY, "pushpilot:approval-deadline": "2h"})
    push(world, "one")
    assert expire_overdue(world.ports) == []
    world.advance(2 * 3600 + 1)

    first = expire_overdue(world.ports)
    again = expire_overdue(world.ports)

    assert first == [f"prod-web: web@{digest_of('one')}"]
    assert again == []
    assert find_approval(world.ports, "prod-web", digest_of("one")).state is ApprovalState.EXPIRED
    assert [n.title for n in world.sink.notices if "expired" in n.title] == [
        "approval of latest on prod-web expired"
    ]
    assert world.apprunner.started == 0


def test_a_stack_that_records_no_approvals_deploys_nothing_to_a_service_that_asks_for_one() -> None:
    world = world_with(POLICY)
    world.ports.approvals = None
    detail = push(world, "one")
    assert world.apprunner.started == 0
    assert [service["status"] for service in detail["services"]] == ["skipped"]
    [release] = world.releases.releases.values()
    [rollout] = release.services.values()
    assert rollout.message == "its approval policy cannot be recorded by this stack: not deployed"
