"""One SQS queue's SendMessage, for the adapters that put work on a queue (notices, decisions, outcome
looks): the client built once, lazily unless injected, and its errors classified in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import SQS_CODES, aws_error

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._injected = client

    @property
    def _client(self) -> SQSClient:
        if self._injected is None:
            self._injected = clients.client("sqs")
        return self._injected

    def send(self, body: str, *, delay_seconds: int = 0) -> None:
        try:
            # No DelaySeconds unless asked: the queue's own delay (none) applies.
            if delay_seconds:
                self._client.send_message(
                    QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=delay_seconds
                )
            else:
                self._client.send_message(QueueUrl=self.queue_url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(
                exc, service="sqs", action="SendMessage", target=self.queue_url, codes=SQS_CODES
            ) from exc
