"""ECS PAUSE lifecycle hooks driven from Slack and the CLI, with the fakes of the ports: a paused
deployment asks in its release's thread (Continue / Roll back, who may, when ECS acts alone); a listed
approver's click resumes it with ContinueServiceDeployment once; Roll back rolls it back; a hook that
times out is told with its timeoutAction and no later click resumes anything. The adapter's call is
checked against botocore's ECS model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from botocore.stub import Stubber
from pydantic import TypeAdapter

from pushpilot.adapters import clients
from pushpilot.core.approvals import ApprovalState, VoteRefusal, hook_key
from pushpilot.core.errors import PermanentError, ServiceBusyError
from pushpilot.core.notices import NoticeKind
from pushpilot.core.slack_interaction import Click, Decision
from pushpilot.entry.handling import parse_event
from pushpilot.flows.approve import cast_vote, find_approval
from pushpilot.flows.hooks import find_pause, hook_paused, hook_timed_out, resume_hook
from pushpilot.flows.slack_actions import handle_click, run_decision
from pushpilot.ports import HookControl
from pushpilot.targets.ecs.hook_control import EcsHookControl
from pushpilot.targets.ecs.hook_events import EcsHookStateChange
from pushpilot.targets.ecs.progress import progress_of
from tests.fakes import ACCOUNT, REGION, FakeTarget, FakeWorld, service_snapshot
from tests.unit.test_approvals import APPROVER, POLICY, push

pytestmark = pytest.mark.unit

_HOOK = TypeAdapter(EcsHookStateChange)


class FakeHooks(HookControl):
    """`stands`: what `progress` says of every deployment (None: it has no stages)."""

    def __init__(self, stands: str | None = None) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.stands = stands

    def continue_deployment(
        self, service_deployment_arn: str, hook_id: str, action: Literal["CONTINUE", "ROLLBACK"]
    ) -> None:
        self.calls.append((service_deployment_arn, hook_id, action))

    def progress(self, service_deployment_arn: str, *, now: datetime) -> str | None:
        return self.stands


class Replies:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def reply(self, response_url: str, text: str) -> None:
        self.sent.append(text)


class Decisions:
    def __init__(self) -> None:
        self.sent: list[Decision] = []

    def send(self, decision: Decision) -> None:
        self.sent.append(decision)


def ecs_world(tags: dict[str, str] | None = None) -> FakeWorld:
    ecs = FakeTarget(
        [service_snapshot("web", "web", kind="ecs", tags=tags or POLICY)], kind="ecs", label="Amazon ECS"
    )
    return FakeWorld([], extra_targets=[ecs])


def hook_event(
    world: FakeWorld, *, name: str = "HOOK_AWAITING_ACTION", status: str = "AWAITING_ACTION", **extra: str
) -> EcsHookStateChange:
    [service] = world.index.all()
    cluster, _, service_id = service.arn.partition(":service/")[2].partition("/")
    deployment = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{cluster}/{service_id}/r9Z3mQ2xK8pL1vN4"
    return parse_event(
        _HOOK,
        {
            "version": "0",
            "id": f"hook-{name}-{status}",
            "detail-type": "ECS Hook State Change",
            "source": "aws.ecs",
            "account": ACCOUNT,
            "time": "2026-05-04T09:20:00Z",
            "region": REGION,
            "resources": [deployment],
            "detail": {
                "eventType": "INFO",
                "eventName": name,
                "serviceDeploymentArn": deployment,
                "hookId": "a1b2c3d4-hook-0001",
                "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
                "targetType": "PAUSE",
                "status": status,
                "expiresAt": "2026-05-04T10:20:00+00:00",
                "timeoutAction": "ROLLBACK",
                **extra,
            },
        },
    )


def paused(world: FakeWorld, control: HookControl | None = None) -> EcsHookStateChange:
    event = hook_event(world)
    hook_paused(
        world.ports,
        event_id=event.id,
        service_arn=event.service_arn,
        pause=event.pause(),
        expires_at=event.detail.expires_at,
        control=control,
    )
    return event


def click(world: FakeWorld, action: str, user: str = APPROVER) -> Decisions:
    from pushpilot.core.approval_notices import button_value

    pause = find_pause(world.ports, "web")
    decisions = Decisions()
    handle_click(
        world.ports,
        Click(
            action=action,
            user_id=user,
            value=button_value(pause),
            response_url="https://hooks.slack.com/actions/T/1/x",
        ),  # type: ignore[arg-type]
        decisions,
    )
    return decisions


def run_all(world: FakeWorld, decisions: Decisions, hooks: FakeHooks) -> list[dict[str, Any]]:
    return [run_decision(world.ports, decision, Replies(), hooks) for decision in decisions.sent]


def test_the_event_names_its_service_and_pause() -> None:
    world = ecs_world()
    event = hook_event(world)
    [service] = world.index.all()
    assert event.service_arn == service.arn
    assert (event.pause().stage, event.pause().timeout_action) == ("POST_TEST_TRAFFIC_SHIFT", "ROLLBACK")


def test_a_pause_asks_for_continue_or_roll_back() -> None:
    # Approvers alone, without a release approval policy, answer pauses.
    world = ecs_world({"pushpilot:approvers": APPROVER})
    paused(world)
    [notice] = [n for n in world.sink.notices if n.kind is NoticeKind.APPROVAL]
    assert [action.action_id for action in notice.actions] == ["continue", "rollback"]
    assert "Amazon ECS will rollback at 2026-05-04T10:20:00+00:00" in notice.summary
    assert APPROVER in notice.summary
    assert "pushpilot continue web" in (notice.next_step or "")


def test_continue_from_slack_resumes_the_deployment_once() -> None:
    world = ecs_world()
    event = paused(world)
    hooks = FakeHooks()

    run_all(world, click(world, "continue"), hooks)
    replayed = click_after(world, "continue")
    run_all(world, replayed, hooks)

    assert hooks.calls == [(event.detail.service_deployment_arn, "a1b2c3d4-hook-0001", "CONTINUE")]
    assert the_pause(world).state is ApprovalState.DEPLOYED
    assert any(n.title == "web continued past POST_TEST_TRAFFIC_SHIFT" for n in world.sink.notices)


def the_pause(world: FakeWorld) -> Any:
    """The pause's record, whatever its state."""
    [service] = world.index.all()
    assert world.ports.approvals is not None
    found = world.ports.approvals.get(service.arn, hook_key("a1b2c3d4-hook-0001"))
    assert found is not None
    return found


def click_after(world: FakeWorld, action: str) -> Decisions:
    """A click on the same (now decided) buttons."""
    from pushpilot.core.approval_notices import button_value

    pause = the_pause(world)
    decisions = Decisions()
    handle_click(
        world.ports,
        Click(action=action, user_id=APPROVER, value=button_value(pause)),  # type: ignore[arg-type]
        decisions,
    )
    return decisions


def test_roll_back_from_slack_rolls_the_deployment_back() -> None:
    world = ecs_world()
    event = paused(world)
    hooks = FakeHooks()

    run_all(world, click(world, "rollback"), hooks)

    assert hooks.calls == [(event.detail.service_deployment_arn, "a1b2c3d4-hook-0001", "ROLLBACK")]
    assert any(n.title == "web rolled back at POST_TEST_TRAFFIC_SHIFT" for n in world.sink.notices)


def test_a_stranger_cannot_continue() -> None:
    world = ecs_world()
    paused(world)
    hooks = FakeHooks()

    decisions = click(world, "continue", user="U0STRANGER")
    run_all(world, decisions, hooks)

    assert hooks.calls == []
    assert [d.reply for d in decisions.sent] == ["you are not an approver of web"]


def test_an_approve_button_cannot_answer_a_pause() -> None:
    world = ecs_world()
    paused(world)
    decisions = click(world, "approve")
    assert [d.kind for d in decisions.sent] == ["reply"]
    assert find_pause(world.ports, "web").votes == {}


def test_a_hook_that_times_out_is_told_with_its_timeout_action_and_no_click_resumes_it() -> None:
    world = ecs_world()
    paused(world)
    timed_out = hook_event(world, name="HOOK_TIMED_OUT", status="TIMED_OUT")
    hooks = FakeHooks()

    detail = hook_timed_out(world.ports, service_arn=timed_out.service_arn, pause=timed_out.pause())
    again = hook_timed_out(world.ports, service_arn=timed_out.service_arn, pause=timed_out.pause())
    run_all(world, click_after(world, "continue"), hooks)

    assert (detail["status"], again["status"]) == ("timed_out", "already_closed")
    assert hooks.calls == []
    assert any(
        n.title == "web pause at POST_TEST_TRAFFIC_SHIFT timed out: Amazon ECS chose ROLLBACK"
        for n in world.sink.notices
    )


def test_the_cli_continues_with_the_callers_identity() -> None:
    world = ecs_world()
    paused(world)
    hooks = FakeHooks()
    caller = "arn:aws:sts::123456789012:assumed-role/oncall/bob"

    result = cast_vote(
        world.ports, find_pause(world.ports, "web"), voter=caller, choice="approve", via="cli", name=caller
    )
    assert result.dispatch is not None
    resume_hook(world.ports, result.dispatch, hooks)

    assert [call[2] for call in hooks.calls] == ["CONTINUE"]
    with pytest.raises(Exception, match="no deployment of web waits at a pause hook"):
        find_pause(world.ports, "web")


def test_a_pause_does_not_supersede_a_release_waiting_for_approval() -> None:
    world = FakeWorld([service_snapshot("prod-web", "web", tags=POLICY)])
    push(world, "one")
    [service] = world.index.all()
    from pushpilot.core.approvals import HookPause

    hook_paused(
        world.ports,
        event_id="e",
        service_arn=service.arn,
        pause=HookPause(
            platform="Amazon ECS",
            service_deployment_arn="arn:aws:ecs:us-east-1:1:service-deployment/c/s/x",
            hook_id="h",
            stage="S",
        ),
        expires_at=None,
    )
    assert find_approval(world.ports, "prod-web").state is ApprovalState.WAITING
    assert (
        cast_vote(
            world.ports, find_approval(world.ports, "prod-web"), voter="U9", choice="approve", via="slack"
        ).refusal
        is VoteRefusal.NOT_APPROVER
    )


def test_the_adapter_calls_continue_service_deployment_as_botocores_model_says() -> None:
    ecs = clients.client("ecs")
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/shop/web/r9Z3mQ2xK8pL1vN4"
    with Stubber(ecs) as stub:
        stub.add_response(
            "continue_service_deployment",
            {"serviceDeploymentArn": arn},
            {"serviceDeploymentArn": arn, "hookId": "a1b2c3d4-hook-0001", "action": "ROLLBACK"},
        )
        EcsHookControl(ecs).continue_deployment(arn, "a1b2c3d4-hook-0001", "ROLLBACK")
        stub.assert_no_pending_responses()


# --- where a paused deployment stands ----------------------------------------------------------------

NOW = datetime(2026, 5, 4, 9, 20, tzinfo=UTC)


def service_deployment(strategy: str, stage: str, **configuration: Any) -> dict[str, Any]:
    """One DescribeServiceDeployments entry, as botocore parses it (timestamps as datetimes)."""
    return {
        "serviceDeploymentArn": "arn:aws:ecs:us-east-1:1:service-deployment/shop/web/r9Z3mQ2xK8pL1vN4",
        "status": "IN_PROGRESS",
        "lifecycleStage": stage,
        "updatedAt": NOW - timedelta(minutes=4),
        "deploymentConfiguration": {"strategy": strategy, "bakeTimeInMinutes": 15, **configuration},
        "targetServiceRevision": {"arn": "rev", "requestedProductionTrafficWeight": 5.0},
    }


@pytest.mark.parametrize(
    ("strategy", "configuration", "plan"),
    [
        ("CANARY", {}, "canary: 5 % for 10 min, then 100 %; bake 15 min"),
        (
            "CANARY",
            {"canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 30}},
            "canary: 20 % for 30 min, then 100 %; bake 15 min",
        ),
        ("LINEAR", {}, "linear: 10 % more every 6 min; bake 15 min"),
        (
            "BLUE_GREEN",
            {},
            "blue/green: test traffic first, then all production traffic at once; bake 15 min",
        ),
    ],
)
def test_a_gradual_deployment_is_told_by_its_strategy_stage_and_traffic_share(
    strategy: str, configuration: dict[str, Any], plan: str
) -> None:
    said = progress_of(service_deployment(strategy, "POST_TEST_TRAFFIC_SHIFT", **configuration), now=NOW)
    assert said == (
        f"{plan}. Now: test traffic on the new revision, production still on the old one,"
        " 5 % of production traffic on the new revision"
    )


def test_the_bake_time_left_counts_from_when_the_deployment_entered_the_bake() -> None:
    said = progress_of(service_deployment("BLUE_GREEN", "BAKE_TIME"), now=NOW)
    assert said is not None
    assert said.endswith("11 min of bake left")


def test_a_rolling_deployment_or_one_that_ended_has_no_stages_to_tell() -> None:
    assert progress_of(service_deployment("ROLLING", "RECONCILE_SERVICE"), now=NOW) is None
    ended = service_deployment("CANARY", "CLEAN_UP") | {"status": "SUCCESSFUL"}
    assert progress_of(ended, now=NOW) is None
    assert progress_of({"deploymentConfiguration": {}}, now=NOW) is None


def test_the_pause_says_where_the_deployment_stands() -> None:
    world = ecs_world({"pushpilot:approvers": APPROVER})
    paused(world, FakeHooks(stands="canary: 5 % for 10 min, then 100 %. Now: 5 % of production traffic"))
    [notice] = [n for n in world.sink.notices if n.kind is NoticeKind.APPROVAL]
    assert "Where it stands: canary: 5 % for 10 min, then 100 %. Now: 5 % of production traffic." in (
        notice.summary
    )


class UnreadableProgress(FakeHooks):
    def progress(self, service_deployment_arn: str, *, now: datetime) -> str | None:
        raise ServiceBusyError("DescribeServiceDeployments throttled")


def test_a_pause_whose_progress_cannot_be_read_still_asks() -> None:
    world = ecs_world({"pushpilot:approvers": APPROVER})
    paused(world, UnreadableProgress())
    [notice] = [n for n in world.sink.notices if n.kind is NoticeKind.APPROVAL]
    assert "Where it stands" not in notice.summary
    assert find_pause(world.ports, "web").state is ApprovalState.WAITING


def _answered_hook(ecs: Any, arn: str, status: str) -> None:
    ecs.add_response(
        "describe_service_deployments",
        {
            "serviceDeployments": [
                {
                    "serviceDeploymentArn": arn,
                    "lifecycleHookDetails": [{"hookId": "a1b2c3d4-hook-0001", "status": status}],
                }
            ]
        },
        {"serviceDeploymentArns": [arn]},
    )


def test_a_retry_after_a_lost_answer_finds_the_hook_answered_and_calls_nothing_more() -> None:
    ecs = clients.client("ecs")
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/shop/web/r9Z3mQ2xK8pL1vN4"
    with Stubber(ecs) as stub:
        stub.add_client_error(
            "continue_service_deployment", "InvalidParameterException", "The hook is not awaiting an action."
        )
        _answered_hook(stub, arn, "SUCCEEDED")
        EcsHookControl(ecs).continue_deployment(arn, "a1b2c3d4-hook-0001", "CONTINUE")
        stub.assert_no_pending_responses()


def test_a_hook_that_timed_out_is_not_taken_for_answered() -> None:
    ecs = clients.client("ecs")
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/shop/web/r9Z3mQ2xK8pL1vN4"
    with Stubber(ecs) as stub:
        stub.add_client_error(
            "continue_service_deployment", "InvalidParameterException", "The hook is not awaiting an action."
        )
        _answered_hook(stub, arn, "TIMED_OUT")
        with pytest.raises(PermanentError):
            EcsHookControl(ecs).continue_deployment(arn, "a1b2c3d4-hook-0001", "CONTINUE")


def test_the_refresh_follows_a_continued_deployment_in_its_thread_until_it_ends() -> None:
    from pushpilot.flows.hooks import follow_continued

    world = ecs_world({"pushpilot:approvers": APPROVER})
    push(world, "one")
    [service] = world.index.all()
    assert service.in_flight is not None
    paused(world)
    run_all(world, click(world, "continue"), FakeHooks())

    baking = FakeHooks(stands="blue/green: …; bake 15 min. Now: baking, 11 min of bake left")
    assert follow_continued(world.ports, baking) == [
        "web: blue/green: …; bake 15 min. Now: baking, 11 min of bake left"
    ]
    [told] = [n for n in world.sink.notices if n.title == "web after its POST_TEST_TRAFFIC_SHIFT pause"]
    assert told.summary == "Where it stands: blue/green: …; bake 15 min. Now: baking, 11 min of bake left."
    assert told.thread_key == service.in_flight.release_id
    # The same answer at the next refresh is the same notice (told once); a new one is a new notice.
    follow_continued(world.ports, baking)
    follow_continued(world.ports, FakeHooks(stands="… Now: baking, 1 min of bake left"))
    keys = [n.dedupe_key for n in world.sink.notices if n.title == told.title]
    assert len(keys) == 3
    assert len(set(keys)) == 2

    # Once the deployment ended (nothing in flight), nothing more is read or told.
    world.index.finish(service.arn, service.in_flight.digest)
    assert follow_continued(world.ports, baking) == []


def test_a_pause_still_waiting_or_rolled_back_is_not_followed() -> None:
    from pushpilot.flows.hooks import follow_continued

    world = ecs_world({"pushpilot:approvers": APPROVER})
    push(world, "one")
    paused(world)
    stands = FakeHooks(stands="anything")
    assert follow_continued(world.ports, stands) == []
    run_all(world, click(world, "rollback"), FakeHooks())
    assert follow_continued(world.ports, stands) == []


def test_approve_from_the_command_line_never_takes_a_pause_for_a_release() -> None:
    from pushpilot.core.errors import NotFoundError

    world = ecs_world({"pushpilot:approvers": APPROVER})
    paused(world)
    with pytest.raises(NotFoundError, match="no release waits for approval on web"):
        find_approval(world.ports, "web")


class LostOnce(FakeHooks):
    """ContinueServiceDeployment whose first call is lost (a timeout): nothing reached ECS."""

    def continue_deployment(
        self, service_deployment_arn: str, hook_id: str, action: Literal["CONTINUE", "ROLLBACK"]
    ) -> None:
        if not self.calls:
            self.calls.append(("lost", hook_id, action))
            raise ServiceBusyError("ContinueServiceDeployment timed out")
        super().continue_deployment(service_deployment_arn, hook_id, action)


def test_a_roll_back_that_never_reached_ecs_is_sent_again_by_the_next_click() -> None:
    world = ecs_world({"pushpilot:approvers": APPROVER})
    event = paused(world)
    hooks = LostOnce()
    with pytest.raises(ServiceBusyError):
        run_all(world, click(world, "rollback"), hooks)
    # The decision is recorded (rejected); a click on the same buttons hands it on again, and ECS hears it.
    run_all(world, click_after(world, "rollback"), hooks)
    assert hooks.calls[-1] == (event.detail.service_deployment_arn, "a1b2c3d4-hook-0001", "ROLLBACK")
    run_all(world, click_after(world, "rollback"), hooks)
    assert len(hooks.calls) == 2


def test_a_pause_deadline_without_a_time_zone_is_read_as_utc() -> None:
    world = ecs_world({"pushpilot:approvers": APPROVER})
    event = hook_event(world, expiresAt="2026-05-04T10:20:00")
    hook_paused(
        world.ports,
        event_id=event.id,
        service_arn=event.service_arn,
        pause=event.pause(),
        expires_at=event.detail.expires_at,
    )
    pause = find_pause(world.ports, "web")
    assert pause.deadline == "2026-05-04T10:20:00+00:00"
    assert cast_vote(world.ports, pause, voter=APPROVER, choice="approve", via="slack").counted
