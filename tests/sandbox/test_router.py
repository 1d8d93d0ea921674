"""The event router delivers events from the template's own rules, with Lambda's retry semantics."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools import Logger

from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.provision import provision
from pushpilot_sandbox.router import EventRouter, RouterError
from pushpilot_sandbox.template import PhysicalResource, load_template

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"
ACCOUNT = "123456789012"
TEST_TEMPLATE = Path(__file__).parents[1] / "data" / "router" / "template.yaml"
PROJECT_TEMPLATE = Path(__file__).parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@pytest.fixture
def moto_url(moto: MotoHandle) -> str:
    moto.reset()
    return moto.url


@pytest.fixture
def sqs(moto_url: str) -> SQSClient:
    client: SQSClient = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    return client


def make_router(
    moto_url: str,
    parameters: Mapping[str, str] | None = None,
    template: Path = TEST_TEMPLATE,
    stack_name: str = "pushpilot",
) -> tuple[EventRouter, dict[str, PhysicalResource]]:
    parameters = dict(parameters or {})
    resources = provision(
        load_template(template),
        parameters,
        endpoint_url=moto_url,
        region=REGION,
        account_id=ACCOUNT,
        stack_name=stack_name,
    )
    router = EventRouter(
        template_path=template,
        parameters=parameters,
        resources=resources,
        base_env={
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
        region=REGION,
        account_id=ACCOUNT,
        stack_name=stack_name,
    )
    return router, resources


def ecr_event(
    action: str = "PUSH", repository: str = "shop/web", tag: str | None = "v1.4.2"
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": "sha256:" + uuid.uuid4().hex * 2,
        "action-type": action,
    }
    if tag is not None:
        detail["image-tag"] = tag
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2025-03-04T10:11:12Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def scan_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Scan",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2025-03-04T10:12:00Z",
        "region": REGION,
        "resources": [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop/web"],
        "detail": {
            "scan-status": "COMPLETE",
            "repository-name": "shop/web",
            "finding-severity-counts": {"HIGH": 2},
            "image-digest": "sha256:" + uuid.uuid4().hex * 2,
            "image-tags": ["v1.4.2"],
        },
    }


def flaky_event(fail_times: int) -> dict[str, Any]:
    return {"source": "sandbox.test", "detail-type": "Flaky", "detail": {"fail_times": fail_times}}


def drain(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# --- EventBridge rules -----------------------------------------------------------------------------


def test_push_reaches_only_the_push_function_with_its_merged_environment(moto_url: str) -> None:
    router, resources = make_router(moto_url)
    event = ecr_event()

    assert router.targets_for(event) == ["PushFunction"]
    (delivery,) = router.deliver(event)

    assert delivery.succeeded
    assert delivery.attempts == 1
    assert delivery.event_id == event["id"]
    assert delivery.outcome is not None
    seen = delivery.outcome["detail"]
    assert seen["role"] == "push"
    assert seen["shared"] == "own"  # the function's own value wins over Globals
    assert seen["table"] == resources["Table"].ref
    assert seen["tier"] == "silver"
    assert seen["memory"] == 256
    assert (
        seen["function_name"] == seen["lambda_function_name"] == router.function("PushFunction").function_name
    )


@pytest.mark.parametrize("event", [ecr_event(action="DELETE"), scan_event()], ids=["delete", "scan"])
def test_events_no_rule_matches_are_delivered_nowhere(moto_url: str, event: dict[str, Any]) -> None:
    router, _ = make_router(moto_url)

    assert router.targets_for(event) == []
    assert router.deliver(event) == []
    assert router.deliveries == []


def test_repository_prefix_parameter_changes_delivery(moto_url: str) -> None:
    router, _ = make_router(moto_url, {"RepoPrefix": "team-a/"})

    assert router.targets_for(ecr_event(repository="team-a/api")) == ["PushFunction"]
    assert router.targets_for(ecr_event(repository="team-b/api")) == []


def test_untagged_child_manifest_push_still_matches(moto_url: str) -> None:
    router, _ = make_router(moto_url)

    assert router.targets_for(ecr_event(tag=None)) == ["PushFunction"]


def test_raw_rule_follows_its_conditional_state(moto_url: str) -> None:
    ping = {"source": "sandbox.test", "detail-type": "Raw Ping", "detail": {}}
    test_router, _ = make_router(moto_url)
    prod_router, _ = make_router(moto_url, {"Stage": "prod"}, stack_name="prod")

    assert test_router.targets_for(ping) == []
    assert prod_router.targets_for(ping) == ["EchoFunction"]
    assert prod_router.function("EchoFunction").memory_mb == 512


def test_conditional_secret_is_provisioned_only_when_given(moto_url: str) -> None:
    without_router, without = make_router(moto_url)
    with_router, with_secret = make_router(moto_url, {"SecretValue": "hunter2"}, stack_name="with-secret")

    assert "Secret" not in without
    assert "SECRET_ARN" not in without_router.function("PushFunction").environment
    assert with_router.function("PushFunction").environment["SECRET_ARN"] == with_secret["Secret"].ref


# --- asynchronous invocation -----------------------------------------------------------------------


def test_raising_handler_is_retried_then_sent_to_its_on_failure_destination(
    moto_url: str, sqs: SQSClient
) -> None:
    router, resources = make_router(moto_url)

    (delivery,) = router.deliver(flaky_event(fail_times=5))

    assert delivery.attempts == 2  # MaximumRetryAttempts: 1
    assert delivery.error_type == "FlakyError"
    assert delivery.dead_lettered
    (record,) = drain(sqs, resources["FailureQueue"].ref)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].startswith(router.function("FlakyFunction").arn)
    assert record["requestPayload"]["id"] == delivery.event_id
    assert record["requestPayload"]["detail"] == {"fail_times": 5}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "FlakyError"
    assert [letter.record for letter in router.dead_letters] == [record]


def test_handler_that_recovers_on_retry_is_not_dead_lettered(moto_url: str, sqs: SQSClient) -> None:
    router, resources = make_router(moto_url)

    (delivery,) = router.deliver(flaky_event(fail_times=1))

    assert delivery.succeeded
    assert delivery.attempts == 2
    assert delivery.outcome is not None
    assert delivery.outcome["detail"] == {"attempts": 2}
    assert drain(sqs, resources["FailureQueue"].ref) == []
    assert router.dead_letters == []


def test_schedule_delivers_its_input_or_a_scheduled_event(moto_url: str) -> None:
    router, _ = make_router(moto_url)

    with_input = router.invoke_schedule("FlakyFunction")
    plain = router.invoke_schedule("FlakyFunction", "Plain")

    assert with_input.outcome is not None
    assert with_input.outcome["detail"] == {"task": "tick"}
    assert plain.outcome is not None
    assert plain.outcome["event_id"] == plain.event_id
    (resource,) = plain.outcome["detail"]["resources"]
    assert resource.endswith(router.function("FlakyFunction").schedules[1].name)
    with pytest.raises(RouterError, match="no schedule"):
        router.invoke_schedule("PushFunction")


def test_burst_from_several_threads_delivers_every_event_once(moto_url: str) -> None:
    router, _ = make_router(moto_url)
    events = [ecr_event(tag=f"v{number}") for number in range(12)]

    deliveries = router.deliver_many(events, workers=4)

    assert sorted(delivery.event_id for delivery in deliveries) == sorted(event["id"] for event in events)
    assert all(delivery.succeeded for delivery in deliveries)


def test_burst_across_functions_that_disagree_on_a_variable_is_refused(moto_url: str) -> None:
    router, _ = make_router(moto_url)

    with pytest.raises(RouterError, match="SHARED"):
        router.deliver_many([ecr_event(), flaky_event(fail_times=0)], workers=2)


# --- SQS event sources -----------------------------------------------------------------------------


def test_partial_batch_failure_retries_only_failed_records_then_redrives(
    moto_url: str, sqs: SQSClient
) -> None:
    router, resources = make_router(moto_url)
    queue_url = resources["WorkQueue"].ref
    sent = {}
    for number in range(4):
        body = {"number": number, "fail": number % 2 == 1}
        sent[sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))["MessageId"]] = body
    failing = {message_id for message_id, body in sent.items() if body["fail"]}

    deliveries = router.drain_queues()

    first, *retries = deliveries
    assert set(first.record_ids) == set(sent)
    assert set(first.failed_record_ids) == failing
    assert len(retries) == 1  # maxReceiveCount 2: one more receive, then the queue moves them
    assert set(retries[0].record_ids) == failing
    dead = drain(sqs, resources["WorkDeadLetterQueue"].ref)
    assert sorted(body["number"] for body in dead) == [1, 3]
    assert drain(sqs, queue_url) == []


def test_raising_batch_handler_fails_every_record(moto_url: str, sqs: SQSClient) -> None:
    router, resources = make_router(moto_url)
    queue_url = resources["WorkQueue"].ref
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"number": 1}))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"number": 2, "explode": True}))

    first, *_ = router.drain_queues()

    assert first.error_type == "ValueError"
    assert set(first.failed_record_ids) == set(first.record_ids)
    assert len(drain(sqs, resources["WorkDeadLetterQueue"].ref)) == 2


def test_sqs_records_have_the_lambda_shape(moto_url: str, sqs: SQSClient) -> None:
    router, resources = make_router(moto_url)
    sqs.send_message(
        QueueUrl=resources["WorkQueue"].ref,
        MessageBody=json.dumps({"number": 7}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "notice"}},
    )

    (delivery,) = router.drain_queues()

    (logged,) = [line for line in router.log_sink.json_records() if line.get("message") == "record received"]
    record = logged["record"]
    assert record["messageId"] == delivery.event_id
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == resources["WorkQueue"].attributes["Arn"]
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "notice"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert json.loads(record["body"]) == {"number": 7}


# --- logs ------------------------------------------------------------------------------------------


def test_handler_logs_and_metrics_are_captured(moto_url: str) -> None:
    router, _ = make_router(moto_url)
    event = ecr_event()

    router.deliver(event)
    router.deliver(flaky_event(fail_times=5))

    records = router.log_sink.json_records()
    (echo,) = [record for record in records if record.get("message") == "echo"]
    assert echo["event_id"] == event["id"]
    assert echo["function_name"] == router.function("PushFunction").function_name
    assert any("Echoed" in record for record in records if "_aws" in record)
    errors = [record for record in records if record.get("level") == "ERROR"]
    assert [error["message"]["errorType"] for error in errors] == ["FlakyError", "FlakyError"]


def test_logs_are_captured_even_when_the_service_logger_was_bound_elsewhere_first(moto_url: str) -> None:
    elsewhere = io.StringIO()
    # As if a handler module had been imported outside any router: the service's handler writes elsewhere.
    Logger(service="router-test")
    logging.getLogger("router-test").handlers[0].setStream(elsewhere)  # type: ignore[attr-defined]
    router, _ = make_router(moto_url, stack_name="bound-elsewhere")

    router.deliver(ecr_event())

    assert [record["message"] for record in router.log_sink.json_records() if "message" in record] == ["echo"]
    assert elsewhere.getvalue() == ""


def test_each_router_captures_only_its_own_invocations(moto_url: str) -> None:
    first, _ = make_router(moto_url)
    second, _ = make_router(moto_url, stack_name="second")

    first.deliver(ecr_event())

    assert first.log_sink.lines
    assert second.log_sink.lines == []


# --- the project's template ------------------------------------------------------------------------


def test_project_template_routes_pushes_only_to_the_image_push_function(moto_url: str) -> None:
    router, _ = make_router(moto_url, template=PROJECT_TEMPLATE)

    assert router.targets_for(ecr_event()) == ["ImagePushFunction"]
    assert router.targets_for(ecr_event(action="DELETE")) == []
    assert router.targets_for(scan_event()) == []


def test_project_template_repository_prefix_parameter(moto_url: str) -> None:
    router, _ = make_router(moto_url, {"RepositoryPrefix": "shop/"}, template=PROJECT_TEMPLATE)

    assert router.targets_for(ecr_event(repository="shop/web")) == ["ImagePushFunction"]
    assert router.targets_for(ecr_event(repository="other/web")) == []


def test_project_template_notice_queue_feeds_a_function_and_failures_go_to_the_handler_dlq(
    moto_url: str,
) -> None:
    router, resources = make_router(moto_url, template=PROJECT_TEMPLATE)

    sources = [(spec.logical_id, source) for spec in router.functions() for source in spec.sqs_sources]
    destinations = {spec.invoke_config.on_failure for spec in router.functions() if spec.rules}
    handler_dlq = resources["HandlerDeadLetterQueue"].attributes["Arn"]

    # The notice queue feeds the notify function; the outcome-timer queue feeds the outcome checks.
    assert {(function, source.queue_arn) for function, source in sources} == {
        ("NotifyFunction", resources["NoticeQueue"].attributes["Arn"]),
        ("OutcomeChecksFunction", resources["OutcomeTimerQueue"].attributes["Arn"]),
    }
    assert all(source.report_batch_item_failures for _, source in sources)
    assert {destination.arn if destination else None for destination in destinations} == {handler_dlq}
