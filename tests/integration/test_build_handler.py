"""The build_events handler end to end in process: moto Logs and SQS, the notice read back off the queue."""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from pushpilot.core.notices import Notice, NoticeKind

if TYPE_CHECKING:
    from mypy_boto3_logs.client import CloudWatchLogsClient
    from mypy_boto3_sqs.client import SQSClient

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ROLE = "codebuild-web-service-role"
DENIED_LINE = (
    f"denied: User: arn:aws:sts::123456789012:assumed-role/{ROLE}/AWSCodeBuild-3f1c9a52 is not authorized "
    "to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/web "
    "because no identity-based policy allows the ecr:InitiateLayerUpload action"
)
SECRETS = ("xoxb-secret-123", "s3cr3t-db-password-value", "exported-deploy-token-value")


@dataclass
class FakeLambdaContext:
    function_name: str = "pushpilot-build-events"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pushpilot-build-events"
    aws_request_id: str = "5d3b7e1c-8f2a-4c69-9e0d-1b7a6c4f2e38"
    log_group_name: str = "/aws/lambda/pushpilot-build-events"
    log_stream_name: str = "2026/05/04/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_handler_module() -> ModuleType:
    # Handlers are Lambda entry files, not packages: load the file itself under a unique name.
    spec = importlib.util.spec_from_file_location("build_events_app", ROOT / "functions/build_events/app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app() -> ModuleType:
    # Loaded per test, after the shared fixtures set the Powertools environment it reads at import.
    return load_handler_module()


class CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@dataclass
class Aws:
    logs: CloudWatchLogsClient
    sqs: SQSClient
    queue_url: str


@pytest.fixture
def aws(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Aws]:
    with mock_aws():
        sqs: SQSClient = boto3.client("sqs", region_name="us-east-1")
        logs: CloudWatchLogsClient = boto3.client("logs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="pushpilot-notices")["QueueUrl"]
        monkeypatch.setenv("TABLE_NAME", "pushpilot")
        monkeypatch.setenv("NOTICE_QUEUE_URL", queue_url)
        monkeypatch.setenv("BUILD_LOG_LINES", "6")
        # Powertools configures the service's logger once per process and its handler keeps the stream
        # it was created with: make it write to whatever sys.stdout is when the test body runs.
        # Not setStream: that would flush the previous test's capture, which is closed by now.
        handlers = logging.getLogger(app.logger.service).handlers
        assert handlers
        for handler in handlers:
            assert isinstance(handler, logging.StreamHandler)
            handler.stream = CurrentStdout()
        yield Aws(logs=logs, sqs=sqs, queue_url=queue_url)


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def put_build_log(aws: Aws, raw: dict[str, Any], lines: list[str]) -> None:
    logs = raw["detail"]["additional-information"]["logs"]
    aws.logs.create_log_group(logGroupName=logs["group-name"])
    aws.logs.create_log_stream(logGroupName=logs["group-name"], logStreamName=logs["stream-name"])
    start = int(time.time() * 1000)
    aws.logs.put_log_events(
        logGroupName=logs["group-name"],
        logStreamName=logs["stream-name"],
        logEvents=[{"timestamp": start + i, "message": line + "\n"} for i, line in enumerate(lines)],
    )


def queued_bodies(aws: Aws) -> list[str]:
    response = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10)
    return [message["Body"] for message in response.get("Messages", [])]


def test_a_failed_build_queues_an_explained_notice(app: ModuleType, aws: Aws) -> None:
    raw = event("codebuild-build-failed.json")
    put_build_log(
        aws,
        raw,
        [
            "[Container] 2026/05/04 09:13:58 Running command docker push $IMAGE_URI",
            "The push refers to repository [123456789012.dkr.ecr.us-east-1.amazonaws.com/web]",
            DENIED_LINE,
            "[Container] 2026/05/04 09:14:01 Command did not exit successfully docker push exit status 1",
            "[Container] 2026/05/04 09:14:01 Phase complete: BUILD State: FAILED",
        ],
    )

    outcome = app.handler(raw, FakeLambdaContext())

    assert outcome["status"] == "handled"
    bodies = queued_bodies(aws)
    assert len(bodies) == 1
    notice = Notice.model_validate_json(bodies[0])
    assert notice.kind is NoticeKind.BUILD_FAILED
    assert notice.title == "Build failed in BUILD: web-build #42"
    assert notice.next_step is not None
    assert ROLE in notice.next_step
    assert "ecr:InitiateLayerUpload" in notice.next_step
    assert len(notice.details) <= 6
    assert any(line.startswith("denied: User:") for line in notice.details)


def test_a_failed_build_whose_stream_is_gone_still_queues_a_notice(app: ModuleType, aws: Aws) -> None:
    raw = event("codebuild-build-failed.json")

    outcome = app.handler(raw, FakeLambdaContext())

    assert outcome["status"] == "handled"
    notice = Notice.model_validate_json(queued_bodies(aws)[0])
    assert "Logs unavailable" in notice.summary
    assert notice.links[0].url == raw["detail"]["additional-information"]["logs"]["deep-link"]


def test_a_succeeded_build_queues_a_notice_threaded_into_its_release(app: ModuleType, aws: Aws) -> None:
    raw = event("codebuild-build-succeeded.json")
    digest = next(
        v["value"]
        for v in raw["detail"]["additional-information"]["exported-environment-variables"]
        if v["name"] == "IMAGE_DIGEST"
    )

    outcome = app.handler(raw, FakeLambdaContext())

    notice = Notice.model_validate_json(queued_bodies(aws)[0])
    assert notice.kind is NoticeKind.BUILD_SUCCEEDED
    assert notice.thread_key == f"web@{digest}"
    assert outcome["detail"]["link"]["digest"] == digest


def test_a_succeeded_phase_is_ignored_and_queues_nothing(app: ModuleType, aws: Aws) -> None:
    outcome = app.handler(event("codebuild-phase-pre-build-succeeded.json"), FakeLambdaContext())

    assert outcome["status"] == "ignored"
    assert queued_bodies(aws) == []


def test_a_malformed_event_is_rejected_without_a_notice(app: ModuleType, aws: Aws) -> None:
    raw = event("codebuild-build-failed.json")
    del raw["detail"]["build-id"]

    outcome = app.handler(raw, FakeLambdaContext())

    assert outcome["status"] == "rejected"
    assert outcome["error_type"] == "MalformedEventError"
    assert queued_bodies(aws) == []


def with_secrets(raw: dict[str, Any]) -> dict[str, Any]:
    secret_event = copy.deepcopy(raw)
    info = secret_event["detail"]["additional-information"]
    info["environment"]["environment-variables"] += [
        {"name": "SLACK_TOKEN", "value": SECRETS[0], "type": "PLAINTEXT"},
        {"name": "DB_PASSWORD", "value": SECRETS[1], "type": "PLAINTEXT"},
    ]
    info.setdefault("exported-environment-variables", []).append(
        {"name": "DEPLOY_TOKEN", "value": SECRETS[2]}
    )
    return secret_event


@pytest.mark.parametrize(
    "name",
    [
        "codebuild-build-failed.json",
        "codebuild-build-succeeded.json",
        "codebuild-build-in-progress.json",
        "codebuild-build-stopped.json",
        "codebuild-phase-build-failed.json",
    ],
)
def test_environment_secrets_never_reach_logs_or_notices(
    app: ModuleType,
    aws: Aws,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Even with event logging switched on by configuration, the handler must not log the event.
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    raw = with_secrets(event(name))

    outcome = app.handler(raw, FakeLambdaContext())

    captured = capsys.readouterr()
    bodies = queued_bodies(aws)
    assert outcome["status"] == "handled"
    assert len(bodies) == 1
    # The capture is real: the handler's own log line with the build id is in it.
    assert raw["detail"]["build-id"] in captured.out
    for secret in SECRETS:
        assert secret not in captured.out
        assert secret not in captured.err
        assert secret not in bodies[0]
        assert secret not in json.dumps(outcome)


def test_secrets_stay_out_of_the_rejection_log_too(
    app: ModuleType, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = with_secrets(event("codebuild-build-failed.json"))
    raw["detail"]["build-status"] = "EXPLODED"

    outcome = app.handler(raw, FakeLambdaContext())

    captured = capsys.readouterr()
    assert outcome["status"] == "rejected"
    assert "event rejected" in captured.out
    for secret in SECRETS:
        assert secret not in captured.out
        assert secret not in json.dumps(outcome)
