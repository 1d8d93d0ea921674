"""The notify handler and its adapters against moto (in process, no sockets); Slack through a fake
WebClient whose transport is replaced, so slack-sdk's own method and response handling still run."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from pushpilot.adapters.slack import (
    SlackBotChannel,
    SlackChannel,
    SlackRejectedError,
    load_slack_credentials,
)
from pushpilot.adapters.sns import SnsChannel
from pushpilot.adapters.threads import DeliveryLedger, SlackThreads
from pushpilot.core.errors import RetryableError
from pushpilot.core.notice_selection import KindSelection
from pushpilot.core.notices import Notice, NoticeKind
from pushpilot.core.render_sns import render_q_developer
from pushpilot.entry.settings import NotifySettings, SettingsError
from pushpilot.flows.notify import NoticeChannel, deliver
from tests.integration.tables import create_stack_table
from tests.sqs_events import notice_queue_batch
from tests.unit.notify_samples import release_story, sample

REGION = "us-east-1"
TABLE = "pushpilot-test"
APP = Path(__file__).resolve().parents[2] / "functions" / "notify" / "app.py"


@cache
def _handler_module() -> ModuleType:
    """Imported on first use, inside a test: the handler's Logger and Metrics read the environment the
    shared conftest sets."""
    spec = importlib.util.spec_from_file_location("notify_app_under_test", APP)
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
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 55_000


@dataclass
class Aws:
    topic_arn: str
    queue_url: str

    def published(self) -> list[dict[str, Any]]:
        """What the queue subscribed to the topic received (the `default` member of each message)."""
        sqs = boto3.client("sqs", region_name=REGION)
        messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def raw_published(self) -> list[tuple[str, str, str | None, Any, Any]]:
        return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[self.topic_arn].sent_notifications)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(dynamodb, TABLE)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="pushpilot-notifications")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="topic-reader")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
        monkeypatch.setenv("SLACK_MODE", "none")
        monkeypatch.delenv("NOTIFY_KINDS", raising=False)
        yield Aws(topic_arn=topic_arn, queue_url=queue_url)


def sqs_event(*bodies: str) -> dict[str, Any]:
    return notice_queue_batch(*bodies, region=REGION)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = _handler_module().handler(event, FakeLambdaContext())
    return result


# --- handler: SNS only -------------------------------------------------------------------------------------


def test_handler_publishes_q_developer_json_and_email_text(aws: Aws) -> None:
    notice = sample(NoticeKind.REJECTED)

    result = invoke(sqs_event(notice.model_dump_json()))

    assert result == {"batchItemFailures": []}
    [envelope] = aws.published()
    assert envelope["Subject"] == "[pushpilot] Image rejected: linux/arm64 only"
    assert json.loads(envelope["Message"]) == render_q_developer(notice)
    assert envelope["MessageAttributes"]["severity"]["Value"] == "failure"
    [(_, raw, subject, _, _)] = aws.raw_published()
    structure = json.loads(raw)
    assert set(structure) == {"default", "email"}
    assert structure["email"].startswith("Image rejected: linux/arm64 only\n")
    assert "docker buildx build --platform linux/amd64" in structure["email"]
    assert subject == envelope["Subject"]


def test_duplicate_delivery_publishes_once(aws: Aws) -> None:
    body = sample(NoticeKind.LIVE).model_dump_json()

    first = invoke(sqs_event(body, body))
    second = invoke(sqs_event(body))

    assert first == second == {"batchItemFailures": []}
    assert len(aws.raw_published()) == 1


def test_malformed_body_is_dropped_not_retried(
    aws: Aws, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    good = sample(NoticeKind.DEPLOYING).model_dump_json()
    event = sqs_event("{not json", json.dumps({"kind": "pushed"}), good)

    result = invoke(event)

    assert result == {"batchItemFailures": []}
    assert len(aws.raw_published()) == 1
    dropped = [
        record for record in caplog.records if record.getMessage() == "notice dropped: body is not a Notice"
    ]
    assert [record.message_id for record in dropped] == [r["messageId"] for r in event["Records"][:2]]  # type: ignore[attr-defined]
    assert '"MalformedNotice":[1.0,1.0]' in capsys.readouterr().out


def test_a_notice_too_large_for_sns_fails_its_record_for_the_dead_letter_queue(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    too_large = sample(NoticeKind.BUILD_FAILED).model_copy(update={"title": "Build failed " + "x" * 270_000})
    event = sqs_event(too_large.model_dump_json(), sample(NoticeKind.LIVE).model_dump_json())

    result = invoke(event)

    # Retried by SQS, then dead-lettered with its payload (and alarmed): never published half, never dropped.
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(aws.raw_published()) == 1
    assert '"SnsFailed":[1.0]' in capsys.readouterr().out


def test_notify_kinds_filters_before_any_channel(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_KINDS", "failures")

    invoke(sqs_event(sample(NoticeKind.LIVE).model_dump_json(), sample(NoticeKind.FAILED).model_dump_json()))

    [(_, raw, _, _, _)] = aws.raw_published()
    assert json.loads(json.loads(raw)["default"])["metadata"]["eventType"] == "failed"


def test_missing_topic_is_permanent_and_not_retried(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPIC_ARN", aws.topic_arn + "-gone")

    result = invoke(sqs_event(sample(NoticeKind.LIVE).model_dump_json()))

    assert result == {"batchItemFailures": []}
    assert aws.raw_published() == []


def test_bad_configuration_fails_the_whole_batch(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_KINDS", "everything-please")
    with pytest.raises(SettingsError, match="NOTIFY_KINDS"):
        invoke(sqs_event(sample(NoticeKind.LIVE).model_dump_json()))


def test_slack_mode_without_a_secret_still_publishes_to_sns(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_MODE", "bot")
    monkeypatch.setenv("SLACK_SECRET_ID", "")

    result = invoke(sqs_event(sample(NoticeKind.LIVE).model_dump_json()))

    # Slack's answer is permanent (no retry can create the secret): recorded, not retried; SNS delivered.
    assert result == {"batchItemFailures": []}
    assert len(aws.raw_published()) == 1
    [slack] = [r for r in caplog.records if r.getMessage() == "notice delivery" and r.channel == "slack"]  # type: ignore[attr-defined]
    assert slack.status == "rejected"  # type: ignore[attr-defined]
    assert "SLACK_SECRET_ID or SLACK_PARAMETER_NAME" in slack.reason  # type: ignore[attr-defined]


# --- Slack through a fake transport ------------------------------------------------------------


class FakeSlack(WebClient):
    """slack-sdk's WebClient with its HTTP call replaced: every Web API call is recorded and answered."""

    def __init__(self) -> None:
        super().__init__(token="xoxb-fake", base_url="https://slack.invalid/api/")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answered: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.before_call: Callable[[str, dict[str, Any]], None] | None = None
        self._next_ts = 0

    def api_call(
        self,
        api_method: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        **_: Any,
    ) -> SlackResponse:
        arguments = dict(json or params or {})
        hook, self.before_call = self.before_call, None
        if hook is not None:
            hook(api_method, arguments)
        self.calls.append((api_method, arguments))
        if self.answers:
            status, data = self.answers.pop(0)
        else:
            self._next_ts += 1
            data = {"ok": True, "channel": arguments.get("channel"), "ts": f"1741944413.{self._next_ts:06d}"}
            status = 200
        self.answered.append((api_method, arguments, data))
        return SlackResponse(
            client=self,
            http_verb="POST",
            api_url=f"{self.base_url}{api_method}",
            req_args={},
            data=data,
            headers={},
            status_code=status,
        ).validate()

    def posts(self) -> list[dict[str, Any]]:
        return [arguments for method, arguments in self.calls if method == "chat.postMessage"]

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


def _bot(slack: FakeSlack) -> SlackBotChannel:
    return SlackBotChannel(slack, "C0PUSHPILOT", SlackThreads(TABLE))


def test_bot_mode_threads_a_release_under_one_headline(aws: Aws) -> None:
    slack = FakeSlack()
    channel = _bot(slack)

    story = release_story()
    for notice in story:
        channel.send(notice)

    headline, *replies = slack.posts()
    assert "thread_ts" not in headline or headline["thread_ts"] is None
    # Every notice is a reply; the headline is posted once, then updated by each later notice.
    assert len(replies) == len(story) == 4
    assert {reply["thread_ts"] for reply in replies} == {"1741944413.000001"}
    updates = [arguments for method, arguments in slack.calls if method == "chat.update"]
    assert len(updates) == len(story) - 1
    assert updates[-1]["ts"] == "1741944413.000001"
    assert "*Stage:* live" in updates[-1]["blocks"][0]["text"]["text"]


def test_a_late_older_notice_does_not_turn_the_headline_back(aws: Aws) -> None:
    slack = FakeSlack()
    channel = _bot(slack)
    first, _, deploying, live = release_story()

    for notice in (first, live, deploying):
        channel.send(notice)

    updates = [arguments for method, arguments in slack.calls if method == "chat.update"]
    assert len(updates) == 1
    assert "*Stage:* live" in updates[0]["blocks"][0]["text"]["text"]
    assert len(slack.posts()) == 4


def test_racing_first_notices_leave_one_headline(aws: Aws) -> None:
    slack = FakeSlack()
    first, second = _bot(slack), _bot(slack)
    first_notice, second_notice, _, _ = release_story()

    def the_other_delivery_wins(method: str, arguments: dict[str, Any]) -> None:
        # Runs between the first delivery's thread lookup and its claim: the second opens the thread.
        assert method == "chat.postMessage"
        second.send(second_notice)

    slack.before_call = the_other_delivery_wins
    first.send(first_notice)

    headlines = [
        answer["ts"]
        for method, arguments, answer in slack.answered
        if method == "chat.postMessage" and arguments.get("thread_ts") is None
    ]
    deleted = [arguments["ts"] for method, arguments in slack.calls if method == "chat.delete"]
    thread = SlackThreads(TABLE).get(first_notice.thread_key)
    assert thread is not None
    assert len(headlines) == 2
    assert set(headlines) - set(deleted) == {thread.ts}
    replies = [post for post in slack.posts() if post.get("thread_ts") is not None]
    assert len(replies) == 2
    assert {reply["thread_ts"] for reply in replies} == {thread.ts}


def test_slack_outage_does_not_block_sns_and_retry_skips_the_delivered_channel(aws: Aws) -> None:
    slack = FakeSlack()
    channels: list[NoticeChannel] = [SnsChannel(aws.topic_arn), _bot(slack)]
    ledger = DeliveryLedger(TABLE)
    ledger.register_lambda_context(FakeLambdaContext())  # type: ignore[arg-type]
    notice = sample(NoticeKind.FAILED)
    slack.answers = [(503, {"ok": False, "error": "service_unavailable"})]

    first = deliver(notice, channels, selection=KindSelection(everything=True), once=ledger.once)
    second = deliver(notice, channels, selection=KindSelection(everything=True), once=ledger.once)
    third = deliver(notice, channels, selection=KindSelection(everything=True), once=ledger.once)

    assert [r.status for r in first.results] == ["sent", "failed"]
    assert first.failed_channels == ("slack",)
    assert [r.status for r in second.results] == ["sent", "sent"]
    assert [r.status for r in third.results] == ["sent", "sent"]
    assert len(aws.raw_published()) == 1
    assert len(slack.posts()) == 3  # the refused attempt, then headline and reply once each


def test_permanent_slack_rejection_is_recorded_not_retried(aws: Aws) -> None:
    slack = FakeSlack()
    ledger = DeliveryLedger(TABLE)
    ledger.register_lambda_context(FakeLambdaContext())  # type: ignore[arg-type]
    notice = sample(NoticeKind.LIVE)
    slack.answers = [(200, {"ok": False, "error": "channel_not_found"})]

    first = deliver(notice, [_bot(slack)], selection=KindSelection(everything=True), once=ledger.once)
    again = deliver(notice, [_bot(slack)], selection=KindSelection(everything=True), once=ledger.once)

    assert [(r.status, r.error_type) for r in first.results] == [("rejected", SlackRejectedError.__name__)]
    assert "channel_not_found" in (first.results[0].reason or "")
    assert again.results == first.results
    assert len(slack.calls) == 1


def test_rate_limit_left_after_retries_is_retryable(aws: Aws) -> None:
    slack = FakeSlack()
    slack.answers = [(429, {"ok": False, "error": "ratelimited"})]
    with pytest.raises(RetryableError, match="rate limited"):
        _bot(slack).send(sample(NoticeKind.VERIFIED))


# --- credentials from Secrets Manager and SSM --------------------------------------------------


def _settings(**env: str) -> NotifySettings:
    return NotifySettings.from_env({"TABLE_NAME": TABLE, **env})


def test_bot_credentials_from_a_json_secret(aws: Aws) -> None:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="pushpilot/slack", SecretString=json.dumps({"token": "xoxb-1-2-abc", "channel": "C0RELEASES"})
    )
    credentials = load_slack_credentials(_settings(SLACK_MODE="bot", SLACK_SECRET_ID="pushpilot/slack"))
    assert credentials.channel == "C0RELEASES"
    assert credentials.token is not None
    assert credentials.token.get_secret_value() == "xoxb-1-2-abc"
    assert "xoxb-1-2-abc" not in repr(credentials)


def test_webhook_url_from_an_ssm_secure_string(aws: Aws) -> None:
    url = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX"
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/pushpilot/slack", Value=url, Type="SecureString"
    )
    credentials = load_slack_credentials(
        _settings(SLACK_MODE="webhook", SLACK_PARAMETER_NAME="/pushpilot/slack")
    )
    assert credentials.webhook_url is not None
    assert credentials.webhook_url.get_secret_value() == url


def test_missing_secret_is_a_settings_error_that_does_not_block_sns(aws: Aws) -> None:
    settings = _settings(SLACK_MODE="bot", SLACK_SECRET_ID="pushpilot/missing", SLACK_CHANNEL="C0X")
    with pytest.raises(SettingsError, match="does not exist"):
        load_slack_credentials(settings)
    channels: list[NoticeChannel] = [SnsChannel(aws.topic_arn), SlackChannel(settings, SlackThreads(TABLE))]
    report = deliver(sample(NoticeKind.LIVE), channels, selection=KindSelection(everything=True))
    assert [(r.channel, r.status) for r in report.results] == [("sns", "sent"), ("slack", "rejected")]


def test_bot_secret_without_a_token_never_echoes_the_secret(aws: Aws) -> None:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="pushpilot/slack-wrong", SecretString="https://hooks.slack.com/services/T1/B1/SECRETPART"
    )
    with pytest.raises(SettingsError) as raised:
        load_slack_credentials(_settings(SLACK_MODE="bot", SLACK_SECRET_ID="pushpilot/slack-wrong"))
    assert "SECRETPART" not in str(raised.value)


def test_notice_queue_body_round_trips(aws: Aws) -> None:
    notice = sample(NoticeKind.BUILD_FAILED)
    assert Notice.model_validate_json(notice.model_dump_json()) == notice
