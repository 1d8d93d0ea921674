"""SQS adapter: producers put notices on the notice queue; the notify function delivers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pushpilot.adapters.sqs_queue import SqsQueue
from pushpilot.core.errors import PushpilotError, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from pushpilot.core.notices import Notice


class NoticeQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue = SqsQueue(queue_url, client)

    def publish(self, notice: Notice) -> None:
        """Queue the notice as JSON."""
        try:
            self._queue.send(notice.model_dump_json())
        except PushpilotError as error:
            # A lost notice is worse than a repeated one (the notifier dedupes): even a failure retrying
            # cannot fix is retried, so the event ends in the dead-letter queue rather than dropped.
            kind = type(error) if isinstance(error, RetryableError) else RetryableError
            raise kind(f"could not queue notice {notice.dedupe_key}: {error}") from error
