"""The decision queue: what the request URL hands on after it acknowledged a click (a deploy of an
approved release, an ephemeral answer to the person who clicked), for the decisions function to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.slack_interaction import Decision

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DecisionQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._injected = client

    @property
    def _client(self) -> SQSClient:
        if self._injected is None:
            self._injected = clients.client("sqs")
        return self._injected

    def send(self, decision: Decision) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=decision.model_dump_json())
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, service="sqs", action="SendMessage", target=self._queue_url) from exc
