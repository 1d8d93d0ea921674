"""SQS adapter: producers put notices on the notice queue; the notify function delivers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
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
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            # A lost notice is worse than a repeated one (the notifier dedupes): always retry.
            raise RetryableError(f"could not queue notice {notice.dedupe_key}: {code}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"could not queue notice {notice.dedupe_key}: {type(exc).__name__}") from exc
