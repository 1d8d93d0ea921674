"""Faults with `after: N` and `kind: error | timeout`, as the gateway, the App Runner emulator and the
Slack sink inject them.

A timeout means the service acted and its answer never came: each test shows both halves — the state
changed (moto holds the item, the emulator started the deployment, Slack posted the message) and the
client saw a transport error, not a service error. The sandbox closes the connection instead of
answering, so botocore raises `ConnectionClosedError` (an `HTTPClientError`, as its `ReadTimeoutError`
is) and urllib `http.client.RemoteDisconnected`, at once rather than after the client's read timeout.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, HTTPClientError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from pushpilot_sandbox.ecr import BlobStore
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.slack_sink import SlackSink
from tests.e2e.sandbox_support import story
from tests.sandbox.apprunner_support import (
    Running,
    Sandbox,
    apprunner_client,
    create_service,
    fresh,
    running_emulator,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"
TABLE = "releases"
# One attempt: what a single request meets, with no retry mode answering in between.
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


# --- the gateway (moto's services) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@pytest.fixture(scope="module")
def running_gateway(moto: MotoHandle) -> Iterator[AwsGateway]:
    with AwsGateway(moto_url=moto.url, blobs=BlobStore()) as running:
        yield running


@pytest.fixture
def gateway(moto: MotoHandle, running_gateway: AwsGateway) -> AwsGateway:
    moto.reset()
    running_gateway.clear_calls()
    running_gateway.clear_faults()
    return running_gateway


def _dynamodb(gateway: AwsGateway, config: Config | None = None) -> DynamoDBClient:
    make_client = cast("Callable[..., Any]", boto3.session.Session().client)
    client: DynamoDBClient = make_client(
        "dynamodb", endpoint_url=gateway.url, region_name=REGION, config=config or ONE_ATTEMPT
    )
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _item(key: str) -> Any:
    return {"pk": {"S": key}}


def test_a_gateway_timeout_acts_then_leaves_the_client_a_transport_error(gateway: AwsGateway) -> None:
    dynamodb = _dynamodb(gateway)
    gateway.inject_fault("dynamodb", "PutItem", kind="timeout")

    with pytest.raises(ConnectionClosedError) as raised:
        dynamodb.put_item(TableName=TABLE, Item=_item("v1"))

    assert isinstance(raised.value, HTTPClientError)
    assert not isinstance(raised.value, ClientError)
    # moto acted: the item is there although the client never heard so.
    assert "Item" in dynamodb.get_item(TableName=TABLE, Key=_item("v1"))
    put = [call for call in gateway.calls if call.operation == "PutItem"]
    assert [(call.status, call.fault, call.answered) for call in put] == [(200, "timeout", False)]


def test_a_gateway_fault_after_n_lets_the_first_calls_through(gateway: AwsGateway) -> None:
    dynamodb = _dynamodb(gateway)
    gateway.inject_fault(
        "dynamodb", "PutItem", code="ProvisionedThroughputExceededException", after=2, times=1
    )

    dynamodb.put_item(TableName=TABLE, Item=_item("one"))
    dynamodb.put_item(TableName=TABLE, Item=_item("two"))
    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName=TABLE, Item=_item("three"))
    dynamodb.put_item(TableName=TABLE, Item=_item("four"))  # times: 1 is used up

    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    faults = [call.fault for call in gateway.calls if call.operation == "PutItem"]
    assert faults == [None, None, "ProvisionedThroughputExceededException", None]
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=_item("three"))


def test_a_gateway_timeout_after_n_meets_botocores_retries_as_aws_would(gateway: AwsGateway) -> None:
    """Standard retries resend a call whose answer was lost: each attempt acts again, as against AWS."""
    dynamodb = _dynamodb(gateway, Config(retries={"mode": "standard", "total_max_attempts": 3}))
    gateway.inject_fault("dynamodb", "UpdateItem", kind="timeout", after=1, times=3)
    update: Any = {
        "TableName": TABLE,
        "Key": _item("counter"),
        "UpdateExpression": "ADD hits :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }

    dynamodb.update_item(**update)
    with pytest.raises(ConnectionClosedError):
        dynamodb.update_item(**update)

    item = dynamodb.get_item(TableName=TABLE, Key=_item("counter"))["Item"]
    assert item["hits"] == {"N": "4"}  # one answered call, three acted on and unanswered
    answered = [call.answered for call in gateway.calls if call.operation == "UpdateItem"]
    assert answered == [True, False, False, False]


def test_a_timeout_fault_refuses_a_code(gateway: AwsGateway) -> None:
    with pytest.raises(ValueError, match="after must be 0 or more"):
        gateway.inject_fault("dynamodb", "PutItem", kind="timeout", after=-1)
    with pytest.raises(ValueError, match="needs a code"):
        gateway.inject_fault("dynamodb", "PutItem")


# --- the App Runner emulator -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_emulator() as started:
        yield started


@pytest.fixture
def emulator(running: Running) -> Sandbox:
    return fresh(running)


def test_an_app_runner_timeout_starts_the_deployment_and_loses_the_answer(emulator: Sandbox) -> None:
    arn = str(create_service(emulator.client, "orders-api")["ServiceArn"])
    emulator.events.clear()
    client = apprunner_client(emulator.emulator.url, retries={"mode": "standard", "total_max_attempts": 1})
    emulator.emulator.inject_fault("StartDeployment", kind="timeout")

    with pytest.raises(ConnectionClosedError) as raised:
        client.start_deployment(ServiceArn=arn)

    assert not isinstance(raised.value, ClientError)
    # App Runner acted: the deployment runs, ListOperations and DescribeService say so, the event went out.
    operations = client.list_operations(ServiceArn=arn)["OperationSummaryList"]
    newest = operations[0]
    assert (newest["Type"], newest["Status"]) == ("START_DEPLOYMENT", "IN_PROGRESS")
    assert client.describe_service(ServiceArn=arn)["Service"]["Status"] == "OPERATION_IN_PROGRESS"
    assert [event["detail"]["currentServiceStatus"] for event in emulator.events] == ["OPERATION_IN_PROGRESS"]
    started = [call for call in emulator.emulator.calls if call.operation == "StartDeployment"]
    assert [(call.error, call.answered) for call in started] == [(None, False)]


def test_an_app_runner_retry_after_a_lost_answer_meets_the_deployment_it_started(emulator: Sandbox) -> None:
    """With botocore's retries, the second attempt finds the first one's deployment in progress."""
    arn = str(create_service(emulator.client, "orders-api")["ServiceArn"])
    client = apprunner_client(emulator.emulator.url, retries={"mode": "standard", "total_max_attempts": 2})
    emulator.emulator.inject_fault("StartDeployment", kind="timeout")

    with pytest.raises(ClientError) as raised:
        client.start_deployment(ServiceArn=arn)

    assert raised.value.response["Error"]["Code"] == "InvalidStateException"
    started = [call for call in emulator.emulator.calls if call.operation == "StartDeployment"]
    assert [(call.error, call.answered) for call in started] == [
        (None, False),
        ("InvalidStateException", True),
    ]
    deployments = [
        op for op in emulator.emulator.service("orders-api").operations if op.type == "START_DEPLOYMENT"
    ]
    assert len(deployments) == 1


def test_an_app_runner_fault_after_n_lets_the_first_calls_through(emulator: Sandbox) -> None:
    arn = str(create_service(emulator.client, "orders-api")["ServiceArn"])
    client = apprunner_client(emulator.emulator.url, retries={"mode": "standard", "total_max_attempts": 1})
    emulator.emulator.inject_fault("DescribeService", "InternalServiceErrorException", status=500, after=1)

    client.describe_service(ServiceArn=arn)
    with pytest.raises(ClientError) as raised:
        client.describe_service(ServiceArn=arn)
    client.describe_service(ServiceArn=arn)

    assert raised.value.response["Error"]["Code"] == "InternalServiceErrorException"
    errors = [call.error for call in emulator.emulator.calls if call.operation == "DescribeService"]
    assert errors == [None, "InternalServiceErrorException", None]


# --- the Slack sink --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def running_sink() -> Iterator[SlackSink]:
    with SlackSink() as sink:
        yield sink


@pytest.fixture
def sink(running_sink: SlackSink) -> SlackSink:
    running_sink.recover()
    return running_sink


def _web_client(sink: SlackSink) -> WebClient:
    # No retry handlers: the test sees what one request meets.
    return WebClient(token="xoxb-sandbox", base_url=sink.api_url(), timeout=30, retry_handlers=[])


def test_a_slack_timeout_posts_the_message_and_drops_the_answer(sink: SlackSink) -> None:
    client = _web_client(sink)
    sink.inject_fault("chat.postMessage", kind="timeout")

    with pytest.raises(http.client.RemoteDisconnected):
        client.chat_postMessage(channel="C0RELEASES", text="orders-api is live")

    assert [message["text"] for message in sink.messages("C0RELEASES")] == ["orders-api is live"]
    post = sink.posts[-1]
    assert (post.method, post.ok, post.answered) == ("chat.postMessage", True, False)


def test_a_slack_fault_after_n_lets_the_first_posts_through(sink: SlackSink) -> None:
    client = _web_client(sink)
    before = len(sink.messages("C0AFTER"))
    sink.inject_fault("chat.postMessage", code="channel_not_found", after=1)

    client.chat_postMessage(channel="C0AFTER", text="first")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0AFTER", text="second")
    client.chat_postMessage(channel="C0AFTER", text="third")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    texts = [message["text"] for message in sink.messages("C0AFTER")[before:]]
    assert texts == ["first", "third"]


def test_a_slack_fault_for_one_method_lets_other_methods_by(sink: SlackSink) -> None:
    client = _web_client(sink)
    sink.inject_fault("chat.update", status=503)

    posted = client.chat_postMessage(channel="C0METHOD", text="deploying")
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C0METHOD", ts=str(posted["ts"]), text="live")

    assert raised.value.response.status_code == 503
    assert [message["text"] for message in sink.messages("C0METHOD")] == ["deploying"]


def test_a_slack_webhook_timeout_posts_and_drops_the_answer(sink: SlackSink) -> None:
    webhook = WebhookClient(sink.webhook_url(), timeout=30, retry_handlers=[])
    sink.inject_fault("webhook", kind="timeout")
    before = len(sink.delivered())

    with pytest.raises(http.client.RemoteDisconnected):
        webhook.send(text="orders-api is live")

    delivered = sink.delivered()[before:]
    assert [(post.kind, post.payload.get("text"), post.answered) for post in delivered] == [
        ("webhook", "orders-api is live", False)
    ]
    assert webhook.send(text="next").status_code == 200


def test_a_slack_webhook_error_answers_its_text(sink: SlackSink) -> None:
    webhook = WebhookClient(sink.webhook_url(), timeout=30, retry_handlers=[])
    sink.inject_fault("webhook", status=404, code="no_team")

    response = webhook.send(text="orders-api is live")

    assert (response.status_code, response.body) == (404, "no_team")


# --- through the scenario's fault step ------------------------------------------------------------

ONE_MANUAL: dict[str, Any] = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": False}],
    "notifications": {"slack": "bot", "sns": True},
}
PUSH = {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]}


def test_the_fault_step_times_out_app_runner_after_it_acted(tmp_path: Path) -> None:
    """The handler's StartDeployment (and every retry botocore makes) acts and is never answered."""
    with story(ONE_MANUAL, tmp_path) as run:
        run.step(
            "fault", {"service": "apprunner", "operation": "StartDeployment", "kind": "timeout", "times": 10}
        )
        run.step("push", PUSH)

        attempts = [call for call in run.sandbox.apprunner.calls if call.operation == "StartDeployment"]
        # The fault's ten calls are never answered; Lambda's retry of the push makes any after them.
        faulted = attempts[:10]
        assert len(faulted) == 10
        assert all(not call.answered for call in faulted)
        assert all(call.answered for call in attempts[10:])
        # The first attempt started the deployment; the retries met it in progress.
        assert attempts[0].error is None
        assert {call.error for call in attempts[1:]} <= {"InvalidStateException"}
        assert len(run.deployments("storefront")) == 1
        recorded = run.handler_calls("apprunner", "StartDeployment")
        assert [call.get("answered", True) for call in recorded] == [False] * 10 + [True] * (
            len(recorded) - 10
        )
        assert any("answer never arrived (timeout)" in line for line in run.lines)


def test_the_fault_step_lets_after_calls_through_the_gateway(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step("fault", {"service": "sns", "operation": "Publish", "kind": "timeout", "after": 1})
        run.step("push", PUSH)

        publishes = [call for call in run.sandbox.gateway.calls if call.operation == "Publish"]
        assert len(publishes) >= 2
        assert [call.answered for call in publishes[:2]] == [True, False]
        assert all(call.answered for call in publishes[2:])
        assert any("after 1 call(s) through" in line for line in run.lines)


def test_the_fault_step_times_out_slack_after_it_posted(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step("fault", {"service": "slack", "operation": "chat.postMessage", "kind": "timeout"})
        run.step("push", PUSH)

        posts = [post for post in run.sandbox.slack.posts if post.method == "chat.postMessage"]
        assert posts
        first = posts[0]
        assert (first.ok, first.answered) == (True, False)
        # Slack acted: the message the client never heard about is the channel's first, found by its
        # metadata (its text was updated since).
        metadata = first.payload["metadata"]
        oldest = run.sandbox.slack.messages(str(first.payload["channel"]))[0]
        assert oldest["metadata"] == (json.loads(metadata) if isinstance(metadata, str) else metadata)
        assert all(post.answered for post in posts[1:])
