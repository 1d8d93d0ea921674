"""The App Runner emulator through an unmodified boto3 client: states, events, errors, paging, faults."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from pushpilot.targets.apprunner.events import AppRunnerOperationEvent, AppRunnerServiceStatusEvent
from pushpilot_sandbox.apprunner import EmulatorError, NoOperationInProgressError, UnknownServiceError
from tests.sandbox.apprunner_support import (
    ACCOUNT,
    EVENTS,
    REGION,
    Running,
    Sandbox,
    apprunner_client,
    create_service,
    digest_for,
    fresh,
    image,
    running_emulator,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_emulator() as started:
        yield started


@pytest.fixture
def sandbox(running: Running) -> Sandbox:
    return fresh(running)


@pytest.fixture
def service_arn(sandbox: Sandbox) -> str:
    arn = str(create_service(sandbox.client, "orders-api")["ServiceArn"])
    sandbox.events.clear()
    return arn


# --- creation --------------------------------------------------------------------------------------


def test_create_service_runs_at_once_with_real_shaped_identity(sandbox: Sandbox) -> None:
    response = sandbox.client.create_service(
        ServiceName="orders-api",
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": image("orders-api", "v1"), "ImageRepositoryType": "ECR"}
        },
    )
    service = response["Service"]

    assert service["Status"] == "RUNNING"
    assert re.fullmatch(
        rf"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/orders-api/[0-9a-f]{{32}}", service["ServiceArn"]
    )
    assert service["ServiceArn"].endswith(f"/{service['ServiceId']}")
    assert re.fullmatch(rf"[a-z0-9]{{10}}\.{REGION}\.awsapprunner\.com", service["ServiceUrl"])
    assert service["SourceConfiguration"]["AutoDeploymentsEnabled"] is True
    operations = sandbox.client.list_operations(ServiceArn=service["ServiceArn"])["OperationSummaryList"]
    assert [(op["Id"], op["Type"], op["Status"]) for op in operations] == [
        (response["OperationId"], "CREATE_SERVICE", "SUCCEEDED")
    ]
    (event,) = [EVENTS.validate_python(raw) for raw in sandbox.events]
    assert isinstance(event, AppRunnerServiceStatusEvent)
    assert (event.detail.previous_status, event.detail.current_status) == ("OPERATION_IN_PROGRESS", "RUNNING")
    assert event.service_arn == service["ServiceArn"]
    assert sandbox.emulator.service("orders-api").running_image_digest == digest_for(
        image("orders-api", "v1")
    )


def test_service_names_are_unique(sandbox: Sandbox) -> None:
    create_service(sandbox.client, "orders-api")
    with pytest.raises(sandbox.client.exceptions.InvalidRequestException, match="already exists"):
        create_service(sandbox.client, "orders-api")


def test_public_and_cross_account_images_default_to_manual_deployment(sandbox: Sandbox) -> None:
    public = sandbox.client.create_service(
        ServiceName="public-nginx",
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": "public.ecr.aws/nginx/nginx:1.27",
                "ImageRepositoryType": "ECR_PUBLIC",
            }
        },
    )["Service"]
    other_account = create_service(
        sandbox.client, "shared-api", "999988887777.dkr.ecr.us-east-1.amazonaws.com/shared/api:stable"
    )

    assert public["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    assert other_account["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    with pytest.raises(sandbox.client.exceptions.InvalidRequestException, match="ECR Public"):
        sandbox.client.create_service(
            ServiceName="public-httpd",
            SourceConfiguration={
                "ImageRepository": {
                    "ImageIdentifier": "public.ecr.aws/docker/httpd:2",
                    "ImageRepositoryType": "ECR_PUBLIC",
                },
                "AutoDeploymentsEnabled": True,
            },
        )


# --- deployments and updates -----------------------------------------------------------------------


def test_start_deployment_puts_the_service_in_progress(sandbox: Sandbox, service_arn: str) -> None:
    operation_id = sandbox.client.start_deployment(ServiceArn=service_arn)["OperationId"]

    described = sandbox.client.describe_service(ServiceArn=service_arn)["Service"]
    assert described["Status"] == "OPERATION_IN_PROGRESS"
    latest = sandbox.client.list_operations(ServiceArn=service_arn)["OperationSummaryList"][0]
    assert (latest["Id"], latest["Type"], latest["Status"]) == (
        operation_id,
        "START_DEPLOYMENT",
        "IN_PROGRESS",
    )
    assert "EndedAt" not in latest
    recorded = sandbox.emulator.service(service_arn).operations[-1]
    assert recorded.image_digest == digest_for(image("orders-api"))
    (event,) = [EVENTS.validate_python(raw) for raw in sandbox.events]
    assert isinstance(event, AppRunnerServiceStatusEvent)
    assert (event.detail.previous_status, event.detail.current_status) == ("RUNNING", "OPERATION_IN_PROGRESS")


def test_a_service_in_progress_rejects_deployments_and_updates(sandbox: Sandbox, service_arn: str) -> None:
    sandbox.client.start_deployment(ServiceArn=service_arn)

    with pytest.raises(sandbox.client.exceptions.InvalidStateException, match="OPERATION_IN_PROGRESS"):
        sandbox.client.start_deployment(ServiceArn=service_arn)
    with pytest.raises(sandbox.client.exceptions.InvalidStateException):
        sandbox.client.update_service(
            ServiceArn=service_arn,
            SourceConfiguration={
                "ImageRepository": {
                    "ImageIdentifier": image("orders-api", "v2"),
                    "ImageRepositoryType": "ECR",
                }
            },
        )
    assert [op.type for op in sandbox.emulator.service(service_arn).operations] == [
        "CREATE_SERVICE",
        "START_DEPLOYMENT",
    ]


def test_concurrent_deployments_start_exactly_once(sandbox: Sandbox, service_arn: str) -> None:
    def attempt(_: int) -> str:
        try:
            return sandbox.client.start_deployment(ServiceArn=service_arn)["OperationId"]
        except sandbox.client.exceptions.InvalidStateException:
            return "rejected"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert outcomes.count("rejected") == 7
    started = [op for op in sandbox.emulator.service(service_arn).operations if op.type == "START_DEPLOYMENT"]
    assert [op.id for op in started] == [outcome for outcome in outcomes if outcome != "rejected"]


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("succeeded", ("SUCCEEDED", "DeploymentCompletedSuccessfully", "INFO")),
        ("failed", ("FAILED", "DeploymentFailed", "ERROR")),
        ("rolled_back", ("ROLLBACK_SUCCEEDED", "DeploymentFailed", "ERROR")),
    ],
)
def test_completing_a_deployment_reports_the_truth(
    sandbox: Sandbox, service_arn: str, outcome: Any, expected: tuple[str, str, str]
) -> None:
    operation_status, event_status, severity = expected
    operation_id = sandbox.client.start_deployment(ServiceArn=service_arn)["OperationId"]
    sandbox.events.clear()

    finished = sandbox.emulator.complete_operation("orders-api", outcome)

    assert (finished.id, finished.status) == (operation_id, operation_status)
    assert sandbox.client.describe_service(ServiceArn=service_arn)["Service"]["Status"] == "RUNNING"
    listed = sandbox.client.list_operations(ServiceArn=service_arn)["OperationSummaryList"][0]
    assert (listed["Id"], listed["Status"]) == (operation_id, operation_status)
    assert listed["EndedAt"] >= listed["StartedAt"]
    operation_event, status_event = (EVENTS.validate_python(raw) for raw in sandbox.events)
    assert isinstance(operation_event, AppRunnerOperationEvent)
    assert operation_event.detail.operation_status == event_status
    assert operation_event.detail.severity == severity
    assert operation_event.detail.service_name == "orders-api"
    assert operation_event.service_arn == service_arn
    assert isinstance(status_event, AppRunnerServiceStatusEvent)
    assert (status_event.detail.previous_status, status_event.detail.current_status) == (
        "OPERATION_IN_PROGRESS",
        "RUNNING",
    )


def test_events_use_the_real_camel_case_shape(sandbox: Sandbox, service_arn: str) -> None:
    sandbox.client.start_deployment(ServiceArn=service_arn)
    sandbox.events.clear()
    sandbox.emulator.complete_operation(service_arn, "succeeded")

    operation_event, status_event = sandbox.events
    assert set(operation_event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert operation_event["source"] == "aws.apprunner"
    assert (operation_event["account"], operation_event["region"]) == (ACCOUNT, REGION)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", operation_event["time"])
    assert set(operation_event["detail"]) == {
        "operationStatus",
        "serviceName",
        "serviceId",
        "message",
        "severity",
    }
    assert set(status_event["detail"]) == {
        "previousServiceStatus",
        "currentServiceStatus",
        "serviceName",
        "serviceId",
        "message",
        "severity",
    }
    assert operation_event["id"] != status_event["id"]


def test_update_service_applies_the_new_source_at_once(sandbox: Sandbox, service_arn: str) -> None:
    pinned = f"{image('orders-api').rsplit(':', 1)[0]}@sha256:{'ab' * 32}"

    response = sandbox.client.update_service(
        ServiceArn=service_arn,
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": pinned, "ImageRepositoryType": "ECR"},
            "AutoDeploymentsEnabled": False,
        },
    )

    service = response["Service"]
    assert service["Status"] == "OPERATION_IN_PROGRESS"
    assert service["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == pinned
    assert service["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    state = sandbox.emulator.service(service_arn)
    assert (state.image_identifier, state.auto_deployments_enabled) == (pinned, False)
    assert (state.operations[-1].type, state.operations[-1].id) == ("UPDATE_SERVICE", response["OperationId"])
    assert state.operations[-1].image_digest == digest_for(pinned)

    sandbox.events.clear()
    sandbox.emulator.complete_operation("orders-api", "succeeded")
    operation_event = EVENTS.validate_python(sandbox.events[0])
    assert isinstance(operation_event, AppRunnerOperationEvent)
    assert operation_event.detail.operation_status == "UpdateServiceCompletedSuccessfully"
    assert sandbox.emulator.service(service_arn).running_image_digest == digest_for(pinned)


@pytest.mark.parametrize("outcome", ["failed", "rolled_back"])
def test_an_unsuccessful_update_puts_the_previous_image_back(
    sandbox: Sandbox, service_arn: str, outcome: Any
) -> None:
    before = sandbox.emulator.service(service_arn)
    sandbox.client.update_service(
        ServiceArn=service_arn,
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": image("orders-api", "broken"),
                "ImageRepositoryType": "ECR",
            }
        },
    )
    sandbox.events.clear()

    sandbox.emulator.complete_operation(service_arn, outcome)

    after = sandbox.client.describe_service(ServiceArn=service_arn)["Service"]
    assert after["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == before.image_identifier
    assert sandbox.emulator.service(service_arn).running_image_digest == before.running_image_digest
    operation_event = EVENTS.validate_python(sandbox.events[0])
    assert isinstance(operation_event, AppRunnerOperationEvent)
    assert operation_event.detail.operation_status == "UpdateServiceFailed"


def test_completing_without_an_operation_is_a_clear_error(sandbox: Sandbox, service_arn: str) -> None:
    with pytest.raises(NoOperationInProgressError, match="orders-api"):
        sandbox.emulator.complete_operation(service_arn, "succeeded")
    with pytest.raises(UnknownServiceError):
        sandbox.emulator.complete_operation("no-such-service", "succeeded")


def test_pause_and_resume(sandbox: Sandbox, service_arn: str) -> None:
    sandbox.client.pause_service(ServiceArn=service_arn)
    with pytest.raises(EmulatorError, match="cannot be rolled back"):
        sandbox.emulator.complete_operation(service_arn, "rolled_back")
    sandbox.emulator.complete_operation(service_arn, "succeeded")
    assert sandbox.emulator.service(service_arn).status == "PAUSED"
    with pytest.raises(sandbox.client.exceptions.InvalidStateException):
        sandbox.client.start_deployment(ServiceArn=service_arn)

    sandbox.client.resume_service(ServiceArn=service_arn)
    sandbox.emulator.complete_operation(service_arn, "succeeded")

    assert sandbox.emulator.service(service_arn).status == "RUNNING"
    statuses = [
        event.detail.operation_status
        for event in map(EVENTS.validate_python, sandbox.events)
        if isinstance(event, AppRunnerOperationEvent)
    ]
    assert statuses == ["PauseServiceCompletedSuccessfully", "ResumeServiceCompletedSuccessfully"]


# --- errors --------------------------------------------------------------------------------------


def test_unknown_arns_are_not_found(sandbox: Sandbox) -> None:
    missing = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/ghost/{'0' * 32}"
    for call in (
        sandbox.client.describe_service,
        sandbox.client.start_deployment,
        sandbox.client.list_operations,
        sandbox.client.describe_custom_domains,
    ):
        with pytest.raises(sandbox.client.exceptions.ResourceNotFoundException):
            call(ServiceArn=missing)


def test_bad_input_is_rejected_by_the_server_as_aws_does(sandbox: Sandbox) -> None:
    unchecked = apprunner_client(sandbox.emulator.url, parameter_validation=False)

    with pytest.raises(unchecked.exceptions.InvalidRequestException, match="ServiceName") as invalid_name:
        unchecked.create_service(
            ServiceName="orders api!",
            SourceConfiguration={
                "ImageRepository": {"ImageIdentifier": image("orders"), "ImageRepositoryType": "ECR"}
            },
        )
    with pytest.raises(unchecked.exceptions.InvalidRequestException, match="Missing required parameter"):
        unchecked.create_service(ServiceName="orders-api")  # type: ignore[call-arg]
    # botocore checks no maximums client-side: the server must.
    with pytest.raises(sandbox.client.exceptions.InvalidRequestException, match="MaxResults"):
        sandbox.client.list_services(MaxResults=50)

    assert invalid_name.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sandbox.client.list_services()["ServiceSummaryList"] == []
    assert [call.error for call in sandbox.emulator.calls] == ["InvalidRequestException"] * 3 + [None]


def test_unknown_targets_get_an_aws_json_error(sandbox: Sandbox) -> None:
    address = urlsplit(sandbox.emulator.url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/",
            body=b"{}",
            headers={"X-Amz-Target": "AppRunner.LaunchRocket", "Content-Type": "application/x-amz-json-1.0"},
        )
        answer = connection.getresponse()
        status, body = answer.status, json.loads(answer.read())
    finally:
        connection.close()

    assert status == 400
    assert body["__type"] == "UnknownOperationException"
    assert sandbox.emulator.calls[-1].error == "UnknownOperationException"


# --- faults ----------------------------------------------------------------------------------------


def test_throttling_is_retried_by_botocore(sandbox: Sandbox, service_arn: str) -> None:
    sandbox.emulator.inject_fault("UpdateService", "ThrottlingException", times=2, message="Rate exceeded")

    response = sandbox.client.update_service(
        ServiceArn=service_arn,
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": image("orders-api", "v2"), "ImageRepositoryType": "ECR"}
        },
    )

    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert [call.error for call in sandbox.emulator.calls if call.operation == "UpdateService"] == [
        "ThrottlingException",
        "ThrottlingException",
        None,
    ]
    assert all(call.mutating for call in sandbox.emulator.calls if call.operation == "UpdateService")


def test_a_fault_answers_before_touching_state(sandbox: Sandbox, service_arn: str) -> None:
    sandbox.emulator.inject_fault("StartDeployment", "InvalidStateException", message="Service is busy")

    with pytest.raises(sandbox.client.exceptions.InvalidStateException, match="Service is busy"):
        sandbox.client.start_deployment(ServiceArn=service_arn)

    assert sandbox.emulator.service(service_arn).status == "RUNNING"
    assert sandbox.events == []
    sandbox.client.start_deployment(ServiceArn=service_arn)  # the fault was used up
    assert sandbox.emulator.service(service_arn).status == "OPERATION_IN_PROGRESS"


def test_server_errors_carry_their_status(sandbox: Sandbox, service_arn: str) -> None:
    single_attempt = apprunner_client(sandbox.emulator.url, retries={"total_max_attempts": 1})
    sandbox.emulator.inject_fault("DescribeService", "InternalServiceErrorException", status=500)

    with pytest.raises(ClientError) as failure:
        single_attempt.describe_service(ServiceArn=service_arn)

    error = failure.value.response
    assert error["Error"]["Code"] == "InternalServiceErrorException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_faults_name_real_operations_only(sandbox: Sandbox) -> None:
    with pytest.raises(EmulatorError, match="LaunchRocket"):
        sandbox.emulator.inject_fault("LaunchRocket", "ThrottlingException")


# --- paging ----------------------------------------------------------------------------------------


def _all_pages(client: Any, method: str, key: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    token: str | None = None
    while True:
        page = getattr(client, method)(**params, **({"NextToken": token} if token else {}))
        pages.append(page[key])
        token = page.get("NextToken")
        if not token:
            return pages


def test_list_services_pages_by_twenty(sandbox: Sandbox) -> None:
    names = [f"svc-{index:02d}" for index in range(45)]
    for name in names:
        create_service(sandbox.client, name)

    pages = _all_pages(sandbox.client, "list_services", "ServiceSummaryList", MaxResults=20)

    assert [len(page) for page in pages] == [20, 20, 5]
    assert [summary["ServiceName"] for page in pages for summary in page] == names
    assert [len(page) for page in _all_pages(sandbox.client, "list_services", "ServiceSummaryList")] == [
        20,
        20,
        5,
    ]


def test_list_operations_pages_newest_first(sandbox: Sandbox, service_arn: str) -> None:
    for _ in range(3):
        sandbox.client.start_deployment(ServiceArn=service_arn)
        sandbox.emulator.complete_operation(service_arn, "succeeded")

    pages = _all_pages(
        sandbox.client, "list_operations", "OperationSummaryList", ServiceArn=service_arn, MaxResults=3
    )

    listed = [op for page in pages for op in page]
    assert [len(page) for page in pages] == [3, 1]
    assert [op["Type"] for op in listed] == ["START_DEPLOYMENT"] * 3 + ["CREATE_SERVICE"]
    started = [op["StartedAt"] for op in listed]
    assert started == sorted(started, reverse=True)
    assert len(set(started)) == 4


def test_a_token_belongs_to_its_listing(sandbox: Sandbox, service_arn: str) -> None:
    other_arn = create_service(sandbox.client, "billing-api")["ServiceArn"]
    for _ in range(2):
        sandbox.client.start_deployment(ServiceArn=service_arn)
        sandbox.emulator.complete_operation(service_arn, "succeeded")
    token = sandbox.client.list_operations(ServiceArn=service_arn, MaxResults=1)["NextToken"]

    with pytest.raises(sandbox.client.exceptions.InvalidRequestException, match="NextToken"):
        sandbox.client.list_operations(ServiceArn=other_arn, NextToken=token)
    with pytest.raises(sandbox.client.exceptions.InvalidRequestException, match="NextToken"):
        sandbox.client.list_services(NextToken="not-a-token")


def test_describe_custom_domains_pages_by_five(sandbox: Sandbox, service_arn: str) -> None:
    domains = [f"shop{index}.example.org" for index in range(7)]
    for domain in domains:
        sandbox.client.associate_custom_domain(
            ServiceArn=service_arn, DomainName=domain, EnableWWWSubdomain=False
        )

    pages = _all_pages(sandbox.client, "describe_custom_domains", "CustomDomains", ServiceArn=service_arn)

    assert [len(page) for page in pages] == [5, 2]
    assert [domain["DomainName"] for page in pages for domain in page] == domains
