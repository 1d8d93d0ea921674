"""SQS adapter: producers put notices on the notice queue; the notify function delivers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import SQS_CODES, aws_error
from pushpilot.core.errors import RetryableError

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from pushpilot.core.notices import Notice


class NoticeQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client: SQSClient = client or clients.client("sqs")

    def publish(self, notice: Notice) -> None:
        """Queue the notice as JSON."""
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=notice.model_dump_json())
        except (ClientError, BotoCoreError) as exc:
            error = aws_error(
                exc, service="sqs", action="SendMessage", target=self._queue_url, codes=SQS_CODES
            )
            # A lost notice is worse than a repeated one (the notifier dedupes): even a failure retrying
            # cannot fix is retried, so the event ends in the dead-letter queue rather than dropped.
            kind = type(error) if isinstance(error, RetryableError) else RetryableError
            raise kind(f"could not queue notice {notice.dedupe_key}: {error}") from exc
