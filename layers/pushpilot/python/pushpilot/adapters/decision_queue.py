"""The decision queue: what the request URL hands on after it acknowledged a click (a deploy of an
approved release, an ephemeral answer to the person who clicked), for the decisions function to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pushpilot.adapters.sqs_queue import SqsQueue
from pushpilot.core.slack_interaction import Decision

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DecisionQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue = SqsQueue(queue_url, client)

    def send(self, decision: Decision) -> None:
        self._queue.send(decision.model_dump_json())
