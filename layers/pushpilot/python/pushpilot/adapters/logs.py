"""CloudWatch Logs adapter: the last lines of a build's log stream.

A missing stream or a denied read is an answer ("the logs are unavailable, and why"), not a failure:
the build notice goes out either way. Only throttling and service faults, once botocore's retries are
spent, are raised as retryable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.build_report import LogTail
from pushpilot.core.errors import AccessDeniedError, NotFoundError, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_logs.client import CloudWatchLogsClient

__all__ = ["BuildLogs", "LogTail"]


class BuildLogs:
    def __init__(self, client: CloudWatchLogsClient | None = None) -> None:
        self._client: CloudWatchLogsClient = client or clients.client("logs")

    def tail(self, group: str, stream: str, lines: int = 20) -> LogTail:
        """The stream's last `lines` events, oldest first, without trailing newlines."""
        try:
            response = self._client.get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=False, limit=lines
            )
        except (ClientError, BotoCoreError) as exc:
            error = aws_error(exc, service="logs", action="GetLogEvents", target=group)
            if isinstance(error, RetryableError):
                raise error from exc
            if isinstance(error, NotFoundError):
                return LogTail(
                    unavailable_reason=(
                        f"log stream {stream} in {group} does not exist (not created yet, or deleted)"
                    )
                )
            if isinstance(error, AccessDeniedError):
                return LogTail(
                    unavailable_reason=f"this function may not read {group} (logs:GetLogEvents was denied)"
                )
            return LogTail(unavailable_reason=f"CloudWatch Logs refused to read {group}: {error}")
        return LogTail(
            lines=tuple(event.get("message", "").rstrip("\r\n") for event in response.get("events", []))
        )
