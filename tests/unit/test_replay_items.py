"""Reading dead letters from either queue: what to replay, to which function, and why it failed."""

from __future__ import annotations

import json
from typing import Any

from pushpilot.flows.replay import ReplayItem, UnreadableLetter, dead_letter_items, read_dead_letter

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:210987654321:function:pushpilot-ImagePushFunction-Q1w2E3r4T5y6"
EVENT = {
    "version": "0",
    "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    "detail-type": "ECR Image Action",
    "source": "aws.ecr",
    "account": "210987654321",
    "time": "2025-03-04T05:06:07Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {
        "action-type": "PUSH",
        "result": "SUCCESS",
        "repository-name": "checkout",
        "image-digest": "sha256:" + "4d" * 32,
    },
}


def _message(body: Any, attributes: dict[str, str] | None = None, message_id: str = "m-1") -> dict[str, Any]:
    message: dict[str, Any] = {
        "MessageId": message_id,
        "ReceiptHandle": f"receipt-{message_id}",
        "Body": body if isinstance(body, str) else json.dumps(body),
    }
    if attributes:
        message["MessageAttributes"] = {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        }
    return message


def _destination_record() -> dict[str, Any]:
    return {
        "version": "1.0",
        "timestamp": "2025-03-04T05:09:07.123Z",
        "requestContext": {
            "requestId": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            "functionArn": f"{FUNCTION_ARN}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": EVENT,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "ECR BatchGetImage failed: ServerException",
            "errorType": "RetryableError",
        },
    }


def test_an_invocation_record_replays_its_request_payload_to_its_function() -> None:
    item = read_dead_letter(_message(_destination_record()))
    assert item == ReplayItem(
        function_arn=f"{FUNCTION_ARN}:$LATEST",
        payload=EVENT,
        receipt_handle="receipt-m-1",
        message_id="m-1",
        reason="RetriesExhausted: RetryableError: ECR BatchGetImage failed: ServerException",
    )
    assert item.event_id == EVENT["id"]


def test_an_eventbridge_dead_letter_replays_its_body_to_its_target() -> None:
    item = read_dead_letter(
        _message(
            EVENT,
            {
                "TARGET_ARN": FUNCTION_ARN,
                "RULE_ARN": "arn:aws:events:eu-west-1:210987654321:rule/r",
                "ERROR_CODE": "NO_PERMISSIONS",
            },
        )
    )
    assert isinstance(item, ReplayItem)
    assert (item.function_arn, item.payload, item.reason) == (FUNCTION_ARN, EVENT, "NO_PERMISSIONS")


def test_messages_that_name_no_function_or_no_event_are_unreadable() -> None:
    not_json = read_dead_letter(_message("{not json"))
    no_target = read_dead_letter(_message(EVENT))
    not_lambda = read_dead_letter(_message(EVENT, {"TARGET_ARN": "arn:aws:sqs:eu-west-1:210987654321:q"}))
    no_event = read_dead_letter(_message({**_destination_record(), "requestPayload": "text"}))
    letters = [not_json, no_target, not_lambda, no_event]
    assert all(isinstance(letter, UnreadableLetter) for letter in letters)
    problems = [letter.problem for letter in letters if isinstance(letter, UnreadableLetter)]
    expected = ["not JSON", "no TARGET_ARN", "not a Lambda function", "no event"]
    assert all(part in problem for part, problem in zip(expected, problems, strict=True))


def test_dead_letter_items_keeps_only_the_replayable() -> None:
    messages = [_message("{not json", message_id="bad"), _message(_destination_record(), message_id="good")]
    assert [item.message_id for item in dead_letter_items(messages)] == ["good"]


def test_a_long_error_is_cut_short_in_the_reason() -> None:
    record = _destination_record()
    record["responsePayload"]["errorMessage"] = "x" * 5000
    item = read_dead_letter(_message(record))
    assert isinstance(item, ReplayItem)
    assert len(item.reason) == 300
