"""The ECS emulator keeps AWS's contract: every answer fits botocore's model on the wire, requests ECS
would refuse are refused with ECS's error, lists page as ECS pages them, and every operation the
emulator does not own still reaches moto."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from pushpilot_sandbox.ecs_model import operation_model, output_problems
from tests.sandbox.ecs_support import (
    INFRASTRUCTURE_ROLE,
    Ecs,
    Running,
    ecs_client,
    fresh,
    image,
    running_ecs,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_ecs() as started:
        yield started


@pytest.fixture
def ecs(running: Running) -> Ecs:
    return fresh(running)


@pytest.fixture
def wire(ecs: Ecs) -> list[tuple[str, int, dict[str, Any]]]:
    """(operation, HTTP status, body as sent) for every answer, read before botocore parses it."""
    seen: list[tuple[str, int, dict[str, Any]]] = []

    def capture(http_response: Any, model: Any, **_: Any) -> None:
        seen.append((model.name, http_response.status_code, json.loads(http_response.content or b"{}")))

    ecs.client.meta.events.register("after-call.ecs", capture)
    return seen


def _with_datetimes(shape: Shape, value: Any) -> Any:
    """The wire body in botocore's parameter form: epoch-second timestamps become datetimes."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            key: _with_datetimes(shape.members[key], item) if key in shape.members else item
            for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_with_datetimes(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _with_datetimes(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return value


def _exercise_every_operation(ecs: Ecs) -> None:
    client = ecs.client
    client.create_cluster(clusterName="prod", tags=[{"key": "team", "value": "shop"}])
    client.create_cluster()
    client.describe_clusters(clusters=["prod", "nowhere"], include=["TAGS"])
    client.list_clusters(maxResults=1)
    first = ecs.register(
        "web", {"app": image("web", "v1"), "envoy": image("envoy", "v1")}, tags=[{"key": "a", "value": "b"}]
    )
    second = ecs.register("web", {"app": image("web", "v2"), "envoy": image("envoy", "v1")})
    service = ecs.create_service(
        "storefront", first, cluster="prod", tags=[{"key": "team", "value": "shop"}], propagateTags="SERVICE"
    )
    ecs.emulator.complete_deployment(service["serviceArn"], "succeeded")
    client.update_service(cluster="prod", service="storefront", taskDefinition=second)
    ecs.emulator.complete_deployment(
        service["serviceArn"], "rolled_back", stopped_reason="CannotPullContainerError: x"
    )
    client.update_service(cluster="prod", service="storefront", forceNewDeployment=True)
    client.describe_services(cluster="prod", services=["storefront", "missing"], include=["TAGS"])
    client.list_services(cluster="prod", maxResults=1)
    deployments = client.list_service_deployments(cluster="prod", service="storefront", maxResults=1)
    arns = [item["serviceDeploymentArn"] for item in deployments["serviceDeployments"]]
    described = client.describe_service_deployments(serviceDeploymentArns=[*arns, f"{arns[0]}x"])
    target = described["serviceDeployments"][0]["targetServiceRevision"]["arn"]
    client.describe_service_revisions(serviceRevisionArns=[target, f"{target}9"])
    tasks = client.list_tasks(cluster="prod", desiredStatus="STOPPED", maxResults=1)["taskArns"]
    client.describe_tasks(cluster="prod", tasks=[*tasks, "0" * 32], include=["TAGS"])
    client.list_tags_for_resource(resourceArn=service["serviceArn"])
    client.tag_resource(resourceArn=service["serviceArn"], tags=[{"key": "stage", "value": "prod"}])
    client.untag_resource(resourceArn=service["serviceArn"], tagKeys=["stage"])
    ecs.emulator.register_container_instance("prod", "arm64")
    instances = client.list_container_instances(cluster="prod")["containerInstanceArns"]
    client.describe_container_instances(cluster="prod", containerInstances=[*instances, "f" * 32])
    created = client.create_express_gateway_service(
        infrastructureRoleArn=INFRASTRUCTURE_ROLE,
        serviceName="checkout",
        primaryContainer={"image": image("checkout"), "containerPort": 8080},
        cpuArchitecture="ARM64",
        tags=[{"key": "team", "value": "pay"}],
    )["service"]
    ecs.emulator.complete_deployment(created["serviceArn"], "succeeded")
    client.update_express_gateway_service(
        serviceArn=created["serviceArn"],
        primaryContainer={"image": image("checkout", "v2"), "containerPort": 8080},
    )
    client.describe_express_gateway_service(serviceArn=created["serviceArn"], include=["TAGS"])
    client.delete_express_gateway_service(serviceArn=created["serviceArn"])
    client.update_service(cluster="prod", service="storefront", desiredCount=0)
    client.delete_service(cluster="prod", service="storefront")


def test_every_answer_fits_the_output_shape(ecs: Ecs, wire: list[tuple[str, int, dict[str, Any]]]) -> None:
    _exercise_every_operation(ecs)

    emulated = {operation for operation, _, _ in wire} - {"RegisterTaskDefinition"}
    assert emulated == ecs.emulator.supported_operations
    assert all(status == 200 for _, status, _ in wire)
    for operation, _, body in wire:
        if operation == "RegisterTaskDefinition":
            continue  # moto's answer
        assert output_problems(operation, body) == [], operation
        shape = operation_model(operation).output_shape
        assert shape is not None
        report = ParamValidator().validate(_with_datetimes(shape, body), shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def test_missing_resources_are_failures_not_errors(ecs: Ecs) -> None:
    ecs.client.create_cluster()

    described = ecs.client.describe_services(services=["ghost"])
    clusters = ecs.client.describe_clusters(clusters=["nowhere"])

    assert described["services"] == []
    assert described["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:123456789012:service/default/ghost", "reason": "MISSING"}
    ]
    assert clusters["failures"][0]["reason"] == "MISSING"


# --- requests ECS refuses ---------------------------------------------------------------------------


@pytest.fixture
def unchecked(ecs: Ecs) -> Any:
    """A client that sends what it is given: the emulator, not botocore, must refuse."""
    return ecs_client(ecs.gateway.url, parameter_validation=False)


@pytest.mark.parametrize(
    ("operation", "params", "fragment"),
    [
        ("ListServices", {"maxResults": 101}, "maxResults"),
        ("ListServices", {"launchType": "LAMBDA"}, "LAMBDA"),
        ("DescribeServices", {"services": [f"s{n}" for n in range(11)]}, "at most 10"),
        ("DescribeServiceDeployments", {"serviceDeploymentArns": [f"a{n}" for n in range(21)]}, "at most 20"),
        ("UpdateService", {}, "service"),
        ("CreateExpressGatewayService", {"serviceName": "checkout"}, "infrastructureRoleArn"),
    ],
)
def test_requests_botocore_would_refuse_are_refused(
    unchecked: Any, operation: str, params: dict[str, Any], fragment: str
) -> None:
    method = getattr(unchecked, "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_"))

    with pytest.raises(ClientError) as raised:
        method(**params)

    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    assert fragment in raised.value.response["Error"]["Message"]


def _raw(url: str, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """An awsJson request as any client could send it, unchecked by botocore."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/",
            body=body,
            headers={
                "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{operation}",
                "Content-Type": "application/x-amz-json-1.1",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260302/us-east-1/ecs/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_unknown_members_and_unreadable_bodies_are_refused(ecs: Ecs) -> None:
    unknown = _raw(ecs.gateway.url, "UpdateService", json.dumps({"service": "s", "colour": "blue"}).encode())
    unreadable = _raw(ecs.gateway.url, "ListServices", b"[1, 2")

    assert unknown[0] == 400
    assert unknown[1]["__type"] == "InvalidParameterException"
    assert "colour" in unknown[1]["message"]
    assert (unreadable[0], unreadable[1]["__type"]) == (400, "SerializationException")


def test_ecs_errors_name_what_is_missing(ecs: Ecs) -> None:
    with pytest.raises(ecs.client.exceptions.ClusterNotFoundException):
        ecs.client.list_services(cluster="nowhere")
    ecs.client.create_cluster()
    with pytest.raises(ecs.client.exceptions.ServiceNotFoundException):
        ecs.client.update_service(service="ghost", forceNewDeployment=True)
    with pytest.raises(ecs.client.exceptions.ClientException, match="TaskDefinition not found"):
        ecs.create_service("storefront", "web:7")
    ec2_only = ecs.register("worker", fargate=False, architecture=None)
    with pytest.raises(ecs.client.exceptions.InvalidParameterException, match="FARGATE"):
        ecs.create_service("worker", ec2_only)


def test_a_service_name_is_taken_until_the_service_is_deleted(ecs: Ecs) -> None:
    definition = ecs.register("web")
    ecs.settled_service("storefront", definition)

    with pytest.raises(ecs.client.exceptions.InvalidParameterException, match="not idempotent"):
        ecs.create_service("storefront", definition)
    ecs.client.delete_service(service="storefront", force=True)
    assert ecs.describe("storefront")["status"] == "INACTIVE"
    assert ecs.create_service("storefront", definition)["status"] == "ACTIVE"


# --- paging -----------------------------------------------------------------------------------------


def test_list_services_pages_as_ecs_does(ecs: Ecs) -> None:
    definition = ecs.register("web")
    ecs.client.create_cluster()
    created = [ecs.create_service(f"svc-{n:02d}", definition)["serviceArn"] for n in range(23)]

    first = ecs.client.list_services()
    pages = list(ecs.client.get_paginator("list_services").paginate(cluster="default"))
    small = ecs.client.list_services(maxResults=5)

    assert len(first["serviceArns"]) == 10
    assert "nextToken" in first
    assert [len(page["serviceArns"]) for page in pages] == [10, 10, 3]
    assert [arn for page in pages for arn in page["serviceArns"]] == created
    assert len(small["serviceArns"]) == 5


def test_a_next_token_belongs_to_its_listing(ecs: Ecs) -> None:
    definition = ecs.register("web")
    for cluster in ("default", "other"):
        ecs.client.create_cluster(clusterName=cluster)
        for n in range(3):
            ecs.create_service(f"svc-{n}", definition, cluster=cluster)
    token = ecs.client.list_services(cluster="default", maxResults=1)["nextToken"]

    with pytest.raises(ecs.client.exceptions.InvalidParameterException, match="nextToken"):
        ecs.client.list_services(cluster="other", nextToken=token)
    with pytest.raises(ecs.client.exceptions.InvalidParameterException):
        ecs.client.list_services(cluster="default", nextToken="not-a-token")


def test_clusters_tasks_and_service_deployments_page_too(ecs: Ecs) -> None:
    for n in range(3):
        ecs.client.create_cluster(clusterName=f"c{n}")
    definition = ecs.register("web")
    service = ecs.settled_service("storefront", definition, cluster="c0", desired=3)
    for _ in range(2):
        ecs.client.update_service(cluster="c0", service="storefront", forceNewDeployment=True)

    clusters = list(ecs.client.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}))
    tasks = list(
        ecs.client.get_paginator("list_tasks").paginate(cluster="c0", PaginationConfig={"PageSize": 2})
    )
    first = ecs.client.list_service_deployments(cluster="c0", service=service["serviceArn"], maxResults=2)
    rest = ecs.client.list_service_deployments(
        cluster="c0", service=service["serviceArn"], maxResults=2, nextToken=first["nextToken"]
    )

    assert [len(page["clusterArns"]) for page in clusters] == [2, 1]
    assert [len(page["taskArns"]) for page in tasks] == [2, 1]
    statuses = [item["status"] for item in first["serviceDeployments"] + rest["serviceDeployments"]]
    assert statuses == ["IN_PROGRESS", "STOPPED", "SUCCESSFUL"]  # newest first
    assert "nextToken" not in rest


# --- what stays with moto ---------------------------------------------------------------------------


def test_task_definitions_stay_in_moto_and_the_emulator_reads_them(ecs: Ecs) -> None:
    tags = [{"key": "pushpilot:release", "value": "r-1"}]
    arn = ecs.register("web", {"app": image("web", "v1")}, architecture="ARM64", tags=tags)
    ecs.client.create_cluster()
    ecs.create_service("storefront", "web")  # the family's latest revision, as ECS resolves it

    described = ecs.client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    listed = ecs.client.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    td_tags = ecs.client.list_tags_for_resource(resourceArn=arn)["tags"]

    assert described["taskDefinition"]["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert described["tags"] == tags
    assert listed == [arn]
    assert td_tags == tags
    assert ecs.describe("storefront")["taskDefinition"] == arn
    operations = [(call.operation, call.params.get("family")) for call in ecs.gateway.calls]
    assert ("RegisterTaskDefinition", "web") in operations


def test_every_call_is_recorded_by_the_gateway_with_its_parameters(ecs: Ecs) -> None:
    definition = ecs.register("web")
    ecs.settled_service("storefront", definition)
    ecs.gateway.clear_calls()

    ecs.client.update_service(service="storefront", taskDefinition=definition, forceNewDeployment=True)

    (call,) = ecs.gateway.calls
    assert (call.service, call.operation, call.mutating, call.status) == ("ecs", "UpdateService", True, 200)
    assert call.params == {"service": "storefront", "taskDefinition": definition, "forceNewDeployment": True}


def test_gateway_faults_apply_to_emulated_operations(ecs: Ecs) -> None:
    definition = ecs.register("web")
    ecs.settled_service("storefront", definition)
    ecs.gateway.inject_fault("ecs", "UpdateService", code="ThrottlingException", times=1)
    throttled = ecs_client(ecs.gateway.url, retries={"mode": "standard", "total_max_attempts": 1})

    with pytest.raises(ClientError, match="ThrottlingException"):
        throttled.update_service(service="storefront", forceNewDeployment=True)
    assert len(ecs.describe("storefront")["deployments"]) == 1
