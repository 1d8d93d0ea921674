"""pushpilot's own events: one per change of a release, each following the published schema, put once
however often a flow runs again; the EventBridge adapter batches, puts refused entries again, and raises
typed errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from pushpilot.adapters import clients
from pushpilot.adapters.release_events import (
    EventBridgeReleaseEvents,
    ReleaseEventsRefusedError,
    ReleaseEventsRejectedError,
)
from pushpilot.core.errors import ConcurrentDeliveryError, RetryableError, ThrottledError
from pushpilot.core.release_events import ReleaseEventType, event_service, release_event
from pushpilot.core.releases import Release
from pushpilot.flows.outcome import handle_operation_ended
from pushpilot.flows.push import handle_push
from pushpilot_sandbox.release_event_bus import SchemaViolationError, check_release_event
from tests.fakes import ACCOUNT, REGION, FakeWorld, digest_of, service_snapshot
from tests.unit.test_deploy_path_truth import ended, push_event

pytestmark = pytest.mark.unit


def types(world: FakeWorld) -> list[str]:
    return [event["detail-type"] for event in world.events.delivered]


def test_a_push_that_goes_live_is_verified_deploying_then_live_each_told_once() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    digest = digest_of("web-1")
    handle_push(push_event(digest), world.ports)
    # The same push delivered again changes nothing, and tells the bus nothing new.
    handle_push(push_event(digest), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "SUCCEEDED")
    handle_operation_ended(ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports)

    assert types(world) == ["Release Verified", "Release Deploying", "Release Live"]
    live = world.events.of_type("Release Live")[0]
    assert live["resources"] == [arn]
    assert live["detail"]["digest"] == digest
    assert live["detail"]["image"].endswith(f"/web@{digest}")
    assert live["detail"]["service"] == {
        "name": "storefront",
        "arn": arn,
        "kind": "apprunner",
        "account": ACCOUNT,
    }
    assert live["detail"]["stage"] == "live"
    assert world.events.of_type("Release Verified")[0]["detail"]["verdicts"] == {"linux/amd64": "pass"}


def test_a_retried_outcome_whose_notice_failed_puts_live_once() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    handle_push(push_event(digest_of("web-1")), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "SUCCEEDED")
    # The live event went out; forgetting the deployment then failed: Lambda retries the whole event.
    finish = world.index.finish
    calls = {"n": 0}

    def finish_failing_once(service_arn: str, digest: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RetryableError("UpdateItem throttled")
        return finish(service_arn, digest)

    world.index.finish = finish_failing_once  # type: ignore[method-assign]
    with pytest.raises(RetryableError):
        handle_operation_ended(ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports)
    handle_operation_ended(ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports)

    assert types(world).count("Release Live") == 1


def test_a_put_that_failed_is_put_by_the_retry() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    handle_push(push_event(digest_of("web-1")), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "SUCCEEDED")
    world.events.fail_next = ReleaseEventsRefusedError("EventBridge refused 1 pushpilot event(s)")
    with pytest.raises(ReleaseEventsRefusedError):
        handle_operation_ended(ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports)
    handle_operation_ended(ended(world, "storefront", "DeploymentCompletedSuccessfully"), world.ports)

    assert types(world).count("Release Live") == 1


def test_a_rollback_is_its_own_event() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    handle_push(push_event(digest_of("web-1")), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "ROLLBACK_SUCCEEDED")
    handle_operation_ended(ended(world, "storefront", "DeploymentFailed"), world.ports)

    assert types(world)[-1] == "Release Rolled Back"
    assert "Release Live" not in types(world)


def test_a_rollback_that_failed_ends_the_release_as_failed_saying_so() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    handle_push(push_event(digest_of("web-1")), world.ports)
    arn = world.index.all()[0].arn
    world.apprunner.end_operation(arn, "ROLLBACK_FAILED")
    handle_operation_ended(ended(world, "storefront", "DeploymentFailed"), world.ports)

    # `delivered` holds each event against the schema, the new stage included.
    assert types(world) == ["Release Verified", "Release Deploying", "Release Failed"]
    assert world.events.of_type("Release Failed")[0]["detail"]["stage"] == "rollback_failed"


def test_a_push_to_a_held_service_is_told_held() -> None:
    world = FakeWorld([service_snapshot("storefront", "web", tags={"pushpilot:hold": "freeze"})])
    handle_push(push_event(digest_of("web-1")), world.ports)

    held = world.events.of_type("Release Held")
    assert len(held) == 1
    assert held[0]["detail"]["held_by"] == ["tag pushpilot:hold"]
    assert "Release Deploying" not in types(world)


# --- the schema ------------------------------------------------------------------------------------


def _release() -> Release:
    digest = digest_of("web-1")
    return Release(
        release_id=f"web@{digest}",
        repository="web",
        registry=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        digest=digest,
        tags=("latest",),
        created_at="2026-05-04T09:14:09.000+00:00",
        updated_at="2026-05-04T09:14:09.000+00:00",
    )


def _envelope(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "pushpilot",
        "account": ACCOUNT,
        "time": "2026-05-04T09:14:09Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def test_the_schema_refuses_what_subscribers_could_not_read() -> None:
    service = event_service(
        name="storefront", arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/storefront", kind="ecs"
    )
    live = release_event(ReleaseEventType.LIVE, _release(), occurred_at="t", service=service, stage="live")
    good = _envelope("Release Live", live.detail.model_dump(mode="json"))
    check_release_event(good)

    with pytest.raises(SchemaViolationError, match="service"):
        check_release_event(_envelope("Release Live", {**good["detail"], "service": None}))
    with pytest.raises(SchemaViolationError, match="digest"):
        check_release_event(_envelope("Release Live", {**good["detail"], "digest": "latest"}))
    with pytest.raises(SchemaViolationError, match="promoted_from"):
        check_release_event(_envelope("Release Promoted", good["detail"]))
    with pytest.raises(SchemaViolationError, match="Additional properties"):
        check_release_event(_envelope("Release Live", {**good["detail"], "surprise": 1}))


# --- the EventBridge adapter ----------------------------------------------------------------------


def _events(n: int) -> list[Any]:
    service = event_service(
        name="storefront", arn=f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/storefront/1", kind="apprunner"
    )
    return [
        release_event(
            ReleaseEventType.LIVE, _release(), occurred_at="t", service=service, operation_id=f"op-{i}"
        )
        for i in range(n)
    ]


@pytest.fixture
def eventbridge() -> Any:
    client = clients._session().client(
        "events", region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_events_are_put_ten_at_a_time_on_the_named_bus(eventbridge: Any) -> None:
    client, stubber = eventbridge
    adapter = EventBridgeReleaseEvents("pushpilot-events", client)
    events = _events(12)
    for batch in (events[:10], events[10:]):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(len(batch))]},
            {"Entries": [adapter.entry(event) for event in batch]},
        )
    adapter.put(events)
    entry = adapter.entry(events[0])
    assert entry["Source"] == "pushpilot"
    assert entry["DetailType"] == "Release Live"
    assert entry["EventBusName"] == "pushpilot-events"
    assert json.loads(entry["Detail"])["operation_id"] == "op-0"


def test_entries_refused_for_a_while_are_put_again_alone(eventbridge: Any) -> None:
    client, stubber = eventbridge
    adapter = EventBridgeReleaseEvents("default", client)
    events = _events(2)
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [{"EventId": "e0"}, {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
        },
        {"Entries": [adapter.entry(event) for event in events]},
    )
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]},
        {"Entries": [adapter.entry(events[1])]},
    )
    adapter.put(events)


def test_entries_still_refused_after_every_attempt_raise_a_retryable_error(eventbridge: Any) -> None:
    client, stubber = eventbridge
    adapter = EventBridgeReleaseEvents("default", client, attempts=2)
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}]}
    for _ in range(2):
        stubber.add_response("put_events", refused)
    with pytest.raises(ReleaseEventsRefusedError, match="InternalFailure"):
        adapter.put(_events(1))


def test_an_entry_refused_for_good_is_not_put_again(eventbridge: Any) -> None:
    client, stubber = eventbridge
    adapter = EventBridgeReleaseEvents("default", client)
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDeniedException", "ErrorMessage": "no"}]},
    )
    with pytest.raises(ReleaseEventsRejectedError, match="AccessDeniedException"):
        adapter.put(_events(1))


def test_a_throttled_call_is_a_typed_error(eventbridge: Any) -> None:
    client, stubber = eventbridge
    stubber.add_client_error("put_events", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(ThrottledError):
        EventBridgeReleaseEvents("default", client).put(_events(1))


def test_a_change_a_concurrent_delivery_is_telling_does_not_fail_this_one() -> None:
    world = FakeWorld([service_snapshot("storefront", "web")])
    once = world.ports.once

    def busy_for_events(*, scope: str, key: dict[str, str], work: Any) -> dict[str, Any]:
        if scope == "release-event":
            raise ConcurrentDeliveryError(f"{scope} {key} is being handled by a concurrent delivery")
        return once(scope=scope, key=key, work=work)

    world.ports.once = busy_for_events
    outcome = handle_push(push_event(digest_of("web-1")), world.ports)

    assert outcome.status == "handled"
    assert world.events.delivered == []
