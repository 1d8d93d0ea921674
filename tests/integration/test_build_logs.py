"""BuildLogs against moto's CloudWatch Logs; errors moto cannot produce come from botocore's Stubber."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pushpilot.adapters.logs import BuildLogs
from pushpilot.core.errors import RetryableError, ThrottledError

if TYPE_CHECKING:
    from mypy_boto3_logs.client import CloudWatchLogsClient

GROUP = "/aws/codebuild/web-build"
STREAM = "3f1c9a52-7d4e-4b8a-9c61-0e2f5b7a4d13"


@pytest.fixture
def logs_client() -> Iterator[CloudWatchLogsClient]:
    with mock_aws():
        client: CloudWatchLogsClient = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName=GROUP)
        client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        yield client


def put_lines(client: CloudWatchLogsClient, lines: list[str]) -> None:
    # CloudWatch Logs rejects events older than its retention window: stamp them now.
    start = int(time.time() * 1000)
    client.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=[{"timestamp": start + offset, "message": line} for offset, line in enumerate(lines)],
    )


def test_tail_returns_the_last_lines_oldest_first_without_newlines(logs_client: CloudWatchLogsClient) -> None:
    lines = [f"[Container] 2026/05/04 09:13:{second:02d} step {second}\n" for second in range(30)]
    lines.append("denied: requested access to the resource is denied\r\n")
    put_lines(logs_client, lines)

    tail = BuildLogs(logs_client).tail(GROUP, STREAM, lines=4)

    assert tail.unavailable_reason is None
    assert tail.lines == (
        "[Container] 2026/05/04 09:13:27 step 27",
        "[Container] 2026/05/04 09:13:28 step 28",
        "[Container] 2026/05/04 09:13:29 step 29",
        "denied: requested access to the resource is denied",
    )


def test_a_stream_not_created_yet_is_unavailable_not_an_error(logs_client: CloudWatchLogsClient) -> None:
    tail = BuildLogs(logs_client).tail(GROUP, "not-yet-created", lines=20)

    assert tail.lines == ()
    assert tail.unavailable_reason is not None
    assert "does not exist" in tail.unavailable_reason


def test_a_deleted_group_is_unavailable_not_an_error(logs_client: CloudWatchLogsClient) -> None:
    logs_client.delete_log_group(logGroupName=GROUP)

    tail = BuildLogs(logs_client).tail(GROUP, STREAM, lines=20)

    assert tail.unavailable_reason is not None
    assert GROUP in tail.unavailable_reason


def stubbed_error(code: str, status: int) -> tuple[CloudWatchLogsClient, Stubber]:
    client: CloudWatchLogsClient = boto3.client("logs", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_log_events",
        service_error_code=code,
        service_message=f"{code} from the stub",
        http_status_code=status,
        expected_params={"logGroupName": GROUP, "logStreamName": STREAM, "startFromHead": False, "limit": 20},
    )
    return client, stubber


def test_access_denied_is_unavailable_and_names_the_permission() -> None:
    client, stubber = stubbed_error("AccessDeniedException", 400)
    with stubber:
        tail = BuildLogs(client).tail(GROUP, STREAM, lines=20)
        stubber.assert_no_pending_responses()

    assert tail.unavailable_reason is not None
    assert "logs:GetLogEvents" in tail.unavailable_reason


def test_throttling_is_retryable() -> None:
    client, stubber = stubbed_error("ThrottlingException", 400)
    with stubber, pytest.raises(ThrottledError):
        BuildLogs(client).tail(GROUP, STREAM, lines=20)


def test_a_service_fault_is_retryable() -> None:
    client, stubber = stubbed_error("ServiceUnavailableException", 503)
    with stubber, pytest.raises(RetryableError):
        BuildLogs(client).tail(GROUP, STREAM, lines=20)
