"""The replay use case over a dead-letter queue: a message goes only once its event was handed off."""

from __future__ import annotations

from typing import Any

from pushpilot.core.errors import RetryableError
from pushpilot.flows.replay import replay
from tests.fakes import FakeDeadLetterQueue
from tests.unit.test_replay_items import EVENT, FUNCTION_ARN, _message

RULE_DEAD_LETTER = {"TARGET_ARN": FUNCTION_ARN, "ERROR_CODE": "SDK_CLIENT_ERROR"}


def _queue() -> FakeDeadLetterQueue:
    return FakeDeadLetterQueue(
        [
            _message(EVENT, RULE_DEAD_LETTER, message_id="good"),
            _message("not json", message_id="unreadable"),
            _message({**EVENT, "id": "refused"}, RULE_DEAD_LETTER, message_id="refused"),
        ]
    )


def test_only_handed_off_events_leave_the_queue() -> None:
    queue = _queue()
    handed_off: list[tuple[str, dict[str, Any]]] = []

    def invoke(function_arn: str, payload: dict[str, Any]) -> None:
        if payload["id"] == "refused":
            raise RetryableError("lambda Invoke: TooManyRequestsException")
        handed_off.append((function_arn, payload))

    report = replay(queue, invoke)

    assert [(r.message_id, r.status) for r in report.results] == [
        ("good", "replayed"),
        ("unreadable", "unreadable"),
        ("refused", "failed"),
    ]
    assert handed_off == [(FUNCTION_ARN, EVENT)]
    assert queue.deleted == ["receipt-good"]
    assert sorted(queue.released) == ["receipt-refused", "receipt-unreadable"]
    assert queue.held == set()
    assert not report.complete


def test_a_dry_run_hands_off_nothing_and_keeps_every_message() -> None:
    queue = _queue()

    def invoke(function_arn: str, payload: dict[str, Any]) -> None:
        raise AssertionError(f"a dry run invoked {function_arn} with {payload['id']}")

    report = replay(queue, invoke, dry_run=True, max_messages=2)

    assert [r.status for r in report.results] == ["would replay", "unreadable"]
    assert queue.deleted == []
    assert len(queue.messages) == 3
    assert queue.held == set()
