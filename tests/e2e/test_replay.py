"""Dead letters are not the end: after a fix, `pushpilot replay` re-drives them, exactly once."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

from pushpilot.adapters.dead_letters import SqsDeadLetterQueue
from pushpilot.flows.replay import ReplayItem, dead_letter_items, replay
from pushpilot_cli import replay_cmd
from pushpilot_sandbox.environment import Sandbox
from tests.e2e.sandbox_support import Story, story

ONE_MANUAL = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": False}],
}
# ECR's modeled server error: botocore does not retry it (no 5xx status in the model), pushpilot
# does, so every Lambda attempt meets it exactly once.
_OUTAGE = "ServerException"


def _sandbox_invoker(sandbox: Sandbox, handed_off: list[tuple[str, dict[str, Any]]]) -> Any:
    """Lambda's asynchronous Invoke in the sandbox: the event goes back through the bus to its function."""
    by_arn = {spec.arn: spec.logical_id for spec in sandbox.router.functions()}

    def invoke(function_arn: str, payload: dict[str, Any]) -> None:
        unqualified = function_arn.removesuffix(":$LATEST")
        # Re-publishing reaches every matching rule: only honest when the event has one target.
        assert sandbox.router.targets_for(payload) == [by_arn[unqualified]]
        handed_off.append((function_arn, payload))
        sandbox.bus.append(payload)

    return invoke


def _fail_one_push(run: Story) -> None:
    # Three faults: Lambda's first attempt and both of its retries.
    run.sandbox.gateway.inject_fault("ecr", "BatchGetImage", code=_OUTAGE, times=3)
    run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})


def _handler_dlq(sandbox: Sandbox) -> str:
    url: str = sandbox.resources["HandlerDeadLetterQueue"].ref
    return url


def test_a_push_that_exhausted_its_retries_deploys_once_when_replayed(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        sandbox = run.sandbox
        _fail_one_push(run)
        failed = [d for d in sandbox.router.deliveries if d.function == "ImagePushFunction"]
        assert [(d.attempts, d.dead_lettered) for d in failed] == [(3, True)]
        assert run.deployments("storefront") == []
        assert len(sandbox.queue_messages("HandlerDeadLetterQueue")) == 1

        handed_off: list[tuple[str, dict[str, Any]]] = []
        report = replay(
            SqsDeadLetterQueue(_handler_dlq(sandbox), sandbox.direct_client("sqs")),
            _sandbox_invoker(sandbox, handed_off),
        )
        sandbox.settle()
        run.timeline.record()

        assert [result.status for result in report.results] == ["replayed"]
        assert report.results[0].event_id == failed[0].event_id
        assert _OUTAGE in report.results[0].reason
        assert [payload["id"] for _, payload in handed_off] == [failed[0].event_id]
        assert len(run.deployments("storefront")) == 1
        assert sandbox.queue_messages("HandlerDeadLetterQueue") == []
        replayed = [d for d in sandbox.router.deliveries if d.function == "ImagePushFunction"][1:]
        assert [(d.event_id, d.succeeded) for d in replayed] == [(failed[0].event_id, True)]

        # A second replay finds nothing, and the deployment is still the only one.
        again = replay(
            SqsDeadLetterQueue(_handler_dlq(sandbox), sandbox.direct_client("sqs")),
            _sandbox_invoker(sandbox, []),
        )
        sandbox.settle()
        assert again.results == ()
        assert len(run.deployments("storefront")) == 1


def test_replay_command_dry_run_lists_and_keeps_then_a_failed_hand_off_keeps_the_message(
    tmp_path: Path,
) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        sandbox = run.sandbox
        _fail_one_push(run)
        queue_url = _handler_dlq(sandbox)
        sqs = sandbox.direct_client("sqs")
        parser = argparse.ArgumentParser()
        replay_cmd.register(parser.add_subparsers())

        out = io.StringIO()
        dry = parser.parse_args(["replay", "--queue-url", queue_url, "--dry-run"])
        assert dry.run(dry, sqs=sqs, invoke=_sandbox_invoker(sandbox, []), out=out) == replay_cmd.EXIT_OK
        assert "would replay" in out.getvalue()
        assert sandbox.router.function("ImagePushFunction").function_name in out.getvalue()
        assert len(sandbox.queue_messages("HandlerDeadLetterQueue")) == 1
        assert not sandbox.bus

        def refuse(function_arn: str, payload: dict[str, Any]) -> None:
            from pushpilot.core.errors import RetryableError

            raise RetryableError(f"lambda Invoke {function_arn}: TooManyRequestsException")

        out = io.StringIO()
        real = parser.parse_args(["replay", "--queue-url", queue_url])
        assert real.run(real, sqs=sqs, invoke=refuse, out=out) == replay_cmd.EXIT_INCOMPLETE
        assert "TooManyRequestsException" in out.getvalue()
        assert len(sandbox.queue_messages("HandlerDeadLetterQueue")) == 1
        assert run.deployments("storefront") == []

        out = io.StringIO()
        handed_off: list[tuple[str, dict[str, Any]]] = []
        assert real.run(real, sqs=sqs, invoke=_sandbox_invoker(sandbox, handed_off), out=out) == 0
        sandbox.settle()
        assert len(handed_off) == 1
        assert len(run.deployments("storefront")) == 1
        assert sandbox.queue_messages("HandlerDeadLetterQueue") == []


def test_event_delivery_dead_letters_name_their_target_in_message_attributes(tmp_path: Path) -> None:
    """EventBridge's own dead letters (the function could not be reached) carry the raw event."""
    with story(ONE_MANUAL, tmp_path) as run:
        sandbox = run.sandbox
        function = sandbox.router.function("ImagePushFunction")
        event = {
            "version": "0",
            "id": "3f1b7f52-0c5e-4a7c-9f3e-2d8a1c6b5e10",
            "detail-type": "ECR Image Action",
            "source": "aws.ecr",
            "account": sandbox.config.account_id,
            "time": "2025-01-15T10:00:00Z",
            "region": sandbox.config.region,
            "resources": [],
            "detail": {
                "result": "SUCCESS",
                "repository-name": "web",
                "image-digest": "sha256:" + "ab" * 32,
                "action-type": "PUSH",
                "image-tag": "latest",
            },
        }
        queue_url = sandbox.resources["EventDeliveryDeadLetterQueue"].ref
        rule_arn = (
            f"arn:aws:events:{sandbox.config.region}:{sandbox.config.account_id}:rule/pushpilot-EcrPush"
        )
        sqs = sandbox.direct_client("sqs")
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RULE_ARN": {"DataType": "String", "StringValue": rule_arn},
                "TARGET_ARN": {"DataType": "String", "StringValue": function.arn},
                "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Rate exceeded"},
            },
        )
        messages = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], VisibilityTimeout=0)
        items = dead_letter_items(messages["Messages"])
        assert items == [
            ReplayItem(
                function_arn=function.arn,
                payload=event,
                receipt_handle=items[0].receipt_handle,
                message_id=messages["Messages"][0]["MessageId"],
                reason="SDK_CLIENT_ERROR: Rate exceeded",
            )
        ]

        handed_off: list[tuple[str, dict[str, Any]]] = []
        report = replay(SqsDeadLetterQueue(queue_url, sqs), _sandbox_invoker(sandbox, handed_off))
        assert [result.status for result in report.results] == ["replayed"]
        assert handed_off == [(function.arn, event)]
        assert sandbox.queue_messages("EventDeliveryDeadLetterQueue") == []
