"""The dead-letter queues and the hand-off to Lambda that `pushpilot replay` uses (flows/replay.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import LAMBDA_CODES, SQS_CODES, aws_error
from pushpilot.core.errors import PushpilotError, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

    from pushpilot.ports import Invoke

# SQS hands out at most ten messages per receive.
_BATCH = 10
# Long enough to replay one batch before SQS offers the same messages again.
_HOLD_SECONDS = 120


class SqsDeadLetterQueue:
    """One SQS dead-letter queue: messages received with their attributes and held while replayed."""

    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        self.url = queue_url
        self._sqs: SQSClient = sqs or clients.client("sqs")

    def receive(self, wanted: int) -> list[dict[str, Any]]:
        try:
            answer = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(_BATCH, wanted)),
                MessageAttributeNames=["All"],
                VisibilityTimeout=_HOLD_SECONDS,
                WaitTimeSeconds=0,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "ReceiveMessage") from exc
        return [dict(message) for message in answer.get("Messages", [])]

    def release(self, receipt_handle: str) -> None:
        """Make a message visible again at once: it stays for a later replay."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "ChangeMessageVisibility") from exc

    def delete(self, receipt_handle: str) -> None:
        try:
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DeleteMessage") from exc

    def _error(self, exc: ClientError | BotoCoreError, action: str) -> PushpilotError:
        return aws_error(exc, service="sqs", action=action, target=self.url, codes=SQS_CODES)


def lambda_invoker(client: LambdaClient | None = None) -> Invoke:
    """Production hand-off: an asynchronous `Invoke`, accepted when Lambda answers 202."""

    def invoke(function_arn: str, payload: dict[str, Any]) -> None:
        lambda_client: LambdaClient = client or clients.client("lambda")
        try:
            answer = lambda_client.invoke(
                FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(
                exc,
                service="lambda",
                action="Invoke",
                target=function_arn,
                codes=LAMBDA_CODES,
                permission="lambda:InvokeFunction",
            ) from exc
        if answer.get("StatusCode") != 202:
            raise RetryableError(f"lambda Invoke {function_arn}: status {answer.get('StatusCode')}, not 202")

    return invoke
