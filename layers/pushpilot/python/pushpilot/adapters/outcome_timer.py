"""The outcome timer: an SQS queue whose messages become visible after a delay.

Chosen over EventBridge Scheduler one-time schedules: a per-message DelaySeconds is second-precise and
needs no schedule to create, name, clean up or pay a role for; the queue's own redrive keeps a look that
keeps failing; and SQS's at-least-once delivery is harmless here (a second look at an ended deployment
changes nothing). Its one limit, 15 minutes per delay, is far above the backoff's ceiling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pushpilot.adapters.sqs_queue import SqsQueue
from pushpilot.core.targets import OutcomeCheck

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS's largest DelaySeconds.
MAX_DELAY_SECONDS: Final = 900


class SqsOutcomeTimer:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue = SqsQueue(queue_url, client)

    def schedule(self, check: OutcomeCheck, *, delay_seconds: int) -> None:
        self._queue.send(check.model_dump_json(), delay_seconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)))
