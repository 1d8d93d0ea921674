"""CloudWatch Logs adapter: the last lines of a build's log stream.

A missing stream or a denied read is an answer ("the logs are unavailable, and why"), not a failure:
the build notice goes out either way. Only throttling and service faults, once botocore's retries are
spent, are raised as retryable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.error_codes import ACCESS_DENIED_CODES, SERVER_FAULT_CODES, THROTTLING_CODES
from pushpilot.core.build_report import LogTail
from pushpilot.core.errors import RetryableError, ThrottledError

if TYPE_CHECKING:
    from mypy_boto3_logs.client import CloudWatchLogsClient

__all__ = ["BuildLogs", "LogTail"]

_DENIED_CODES = ACCESS_DENIED_CODES | {"UnauthorizedOperation"}


class BuildLogs:
    def __init__(self, client: CloudWatchLogsClient | None = None) -> None:
        self._client: CloudWatchLogsClient = client or clients.client("logs")

    def tail(self, group: str, stream: str, lines: int = 20) -> LogTail:
        """The stream's last `lines` events, oldest first, without trailing newlines."""
        try:
            response = self._client.get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=False, limit=lines
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                return LogTail(
                    unavailable_reason=(
                        f"log stream {stream} in {group} does not exist (not created yet, or deleted)"
                    )
                )
            if code in _DENIED_CODES:
                return LogTail(
                    unavailable_reason=f"this function may not read {group} (logs:GetLogEvents was denied)"
                )
            if code in THROTTLING_CODES:
                raise ThrottledError(f"CloudWatch Logs throttled reading {group}: {code}") from exc
            if (
                code in SERVER_FAULT_CODES
                or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
            ):
                raise RetryableError(f"CloudWatch Logs failed reading {group}: {code}") from exc
            return LogTail(unavailable_reason=f"CloudWatch Logs refused to read {group}: {code}")
        except BotoCoreError as exc:
            raise RetryableError(
                f"CloudWatch Logs unreachable reading {group}: {type(exc).__name__}"
            ) from exc
        return LogTail(
            lines=tuple(event.get("message", "").rstrip("\r\n") for event in response.get("events", []))
        )
