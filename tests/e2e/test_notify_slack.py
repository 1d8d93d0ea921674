"""The notify handler against the sandbox: moto in server mode for AWS and the Slack sink, both on
127.0.0.1. The handler reaches them only through its settings (AWS_ENDPOINT_URL, SLACK_API_URL and
the secret's webhook URL)."""

from __future__ import annotations

import importlib.util
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from pushpilot.core.notices import NoticeKind
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.product_clients import follow_endpoints
from pushpilot_sandbox.slack_sink import SlackSink
from tests.sqs_events import notice_queue_batch
from tests.unit.notify_samples import release_story, sample

REGION = "us-east-1"
TABLE = "pushpilot-e2e"
CHANNEL = "C0RELEASES"
TOKEN = "xoxb-314159-265358-e2eSandboxToken"
APP = Path(__file__).resolve().parents[2] / "functions" / "notify" / "app.py"


@cache
def _handler_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notify_app_e2e", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    function_name: str = "pushpilot-notify"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:pushpilot-notify"
    aws_request_id: str = "c0ffee00-0000-4000-8000-0000000000e2"

    def get_remaining_time_in_millis(self) -> int:
        return 55_000


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@dataclass
class Stack:
    moto: MotoHandle
    sink: SlackSink
    topic_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.moto.url)

    def sns_messages(self) -> list[dict[str, Any]]:
        queue_url = self.client("sqs").get_queue_url(QueueName="topic-reader")["QueueUrl"]
        received = self.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in received.get("Messages", [])]


@pytest.fixture
def stack(moto_server: MotoHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    follow_endpoints()
    aws = Stack(moto=moto_server, sink=SlackSink(), topic_arn="")
    aws.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.topic_arn = aws.client("sns").create_topic(Name="pushpilot-notifications")["TopicArn"]
    queue_url = aws.client("sqs").create_queue(QueueName="topic-reader")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=aws.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("TOPIC_ARN", aws.topic_arn)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    # Each test reads its own secret: no value cached by an earlier test can answer for it.
    monkeypatch.setenv("SLACK_SECRET_ID", f"pushpilot/slack-{uuid.uuid4().hex[:8]}")
    with aws.sink:
        yield aws


def use_bot(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    stack.client("secretsmanager").create_secret(
        Name=os.environ["SLACK_SECRET_ID"], SecretString=json.dumps({"token": TOKEN, "channel": CHANNEL})
    )
    monkeypatch.setenv("SLACK_MODE", "bot")
    monkeypatch.setenv("SLACK_API_URL", stack.sink.api_url())


def use_webhook(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    stack.client("secretsmanager").create_secret(
        Name=os.environ["SLACK_SECRET_ID"], SecretString=stack.sink.webhook_url()
    )
    monkeypatch.setenv("SLACK_MODE", "webhook")


def sqs_event(*bodies: str) -> dict[str, Any]:
    return notice_queue_batch(*bodies, region=REGION)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = _handler_module().handler(event, FakeLambdaContext())
    return result


def test_bot_mode_one_release_is_one_thread_with_its_headline_updated(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_bot(stack, monkeypatch)

    for notice in release_story():
        assert invoke(sqs_event(notice.model_dump_json())) == {"batchItemFailures": []}

    messages = stack.sink.messages(CHANNEL)
    headlines = [message for message in messages if "thread_ts" not in message]
    assert len(headlines) == 1
    headline = headlines[0]
    replies = stack.sink.thread(CHANNEL, headline["ts"])[1:]
    assert [reply["blocks"][0]["text"]["text"] for reply in replies] == [
        f":{emoji}: {notice.title}"
        for emoji, notice in zip(
            ["white_check_mark", "hourglass_flowing_sand", "rocket", "large_green_circle"],
            release_story(),
            strict=True,
        )
    ]
    assert headline["text"] == ":large_green_circle: shop/checkout-api:v2.14.0: live"
    assert "edited" in headline
    updates = [post for post in stack.sink.delivered() if post.method == "chat.update"]
    assert len(updates) == 3
    assert len(stack.sns_messages()) == 4


def test_webhook_mode_posts_one_message_per_step(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    use_webhook(stack, monkeypatch)
    story = release_story()

    assert invoke(sqs_event(*(notice.model_dump_json() for notice in story))) == {"batchItemFailures": []}

    posts = stack.sink.delivered()
    assert [post.kind for post in posts] == ["webhook"] * 4
    for post, notice in zip(posts, story, strict=True):
        assert "shop/checkout-api:v2.14.0" in post.payload["blocks"][0]["text"]["text"]
        assert post.payload["text"].endswith(notice.summary)


def test_rate_limited_then_accepted_delivers_exactly_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_webhook(stack, monkeypatch)
    stack.sink.fail_next(429, retry_after=1)

    result = invoke(sqs_event(sample(NoticeKind.LIVE).model_dump_json()))

    assert result == {"batchItemFailures": []}
    assert [post.status for post in stack.sink.posts] == [429, 200]
    assert len(stack.sink.delivered()) == 1


def test_lasting_slack_outage_fails_the_item_and_keeps_sns(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_bot(stack, monkeypatch)
    stack.sink.fail_always(500)
    event = sqs_event(sample(NoticeKind.FAILED).model_dump_json())

    first = invoke(event)

    assert first == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert stack.sink.delivered() == []
    assert len(stack.sns_messages()) == 1

    stack.sink.recover()
    second = invoke(event)  # SQS redelivers the same record

    assert second == {"batchItemFailures": []}
    assert len([post for post in stack.sink.delivered() if post.method == "chat.postMessage"]) == 2
    assert stack.sns_messages() == []  # already published: not sent again


def test_secrets_never_reach_the_logs(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    use_bot(stack, monkeypatch)
    stack.sink.fail_next(500, times=3)
    invoke(sqs_event(sample(NoticeKind.REJECTED).model_dump_json()))
    invoke(sqs_event(sample(NoticeKind.VERIFIED).model_dump_json()))

    monkeypatch.setenv("SLACK_SECRET_ID", f"pushpilot/slack-{uuid.uuid4().hex[:8]}")
    use_webhook(stack, monkeypatch)
    stack.sink.fail_next(429, retry_after=1)
    stack.sink.fail_always(503)
    invoke(sqs_event(sample(NoticeKind.LIVE).model_dump_json()))

    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert CHANNEL in logged  # the log does name where messages went
    assert TOKEN not in logged
    assert stack.sink.webhook_url() not in logged
    assert "sandboxsecret" not in logged


def test_a_long_retry_after_is_left_to_the_queue(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    use_webhook(stack, monkeypatch)
    stack.sink.fail_next(429, retry_after=120)
    event = sqs_event(sample(NoticeKind.LIVE).model_dump_json())

    result = invoke(event)

    # One request, no in-function wait: the record goes back to SQS, whose redelivery is the wait.
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert [post.status for post in stack.sink.posts] == [429]
