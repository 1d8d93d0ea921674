"""Every answer the emulator sends, as bytes on the wire, fits botocore's model of App Runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

from pushpilot_sandbox.apprunner_model import operation_model, output_problems, service_model
from tests.sandbox.apprunner_support import ACCOUNT, REGION, Running, Sandbox, fresh, image, running_emulator

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with running_emulator() as started:
        yield started


@pytest.fixture
def sandbox(running: Running) -> Sandbox:
    return fresh(running)


@pytest.fixture
def wire(sandbox: Sandbox) -> list[tuple[str, int, dict[str, Any]]]:
    """(operation, HTTP status, body as sent) for every response, read before botocore parses it."""
    seen: list[tuple[str, int, dict[str, Any]]] = []

    def capture(http_response: Any, model: Any, **_: Any) -> None:
        seen.append((model.name, http_response.status_code, json.loads(http_response.content)))

    sandbox.client.meta.events.register("after-call.apprunner", capture)
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


def _exercise_every_operation(sandbox: Sandbox) -> None:
    client = sandbox.client
    full = client.create_service(
        ServiceName="orders-api",
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": image("orders-api", "v1"),
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {
                    "Port": "8080",
                    "RuntimeEnvironmentVariables": {"LOG_LEVEL": "info"},
                    "StartCommand": "python -m orders",
                },
            },
            "AutoDeploymentsEnabled": False,
            "AuthenticationConfiguration": {
                "AccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/apprunner-ecr-access"
            },
        },
        InstanceConfiguration={"Cpu": "1 vCPU", "Memory": "2 GB"},
        HealthCheckConfiguration={"Protocol": "HTTP", "Path": "/healthz"},
        NetworkConfiguration={"IngressConfiguration": {"IsPubliclyAccessible": False}},
        EncryptionConfiguration={
            "KmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        },
        AutoScalingConfigurationArn=(
            f"arn:aws:apprunner:{REGION}:{ACCOUNT}:autoscalingconfiguration/burst/3/7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
        ),
        Tags=[{"Key": "team", "Value": "orders"}],
    )["Service"]
    arn = full["ServiceArn"]
    client.create_service(
        ServiceName="public-nginx",
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": "public.ecr.aws/nginx/nginx:1.27",
                "ImageRepositoryType": "ECR_PUBLIC",
            }
        },
    )
    client.list_services(MaxResults=1)
    client.describe_service(ServiceArn=arn)
    client.update_service(
        ServiceArn=arn,
        SourceConfiguration={
            "ImageRepository": {
                "ImageIdentifier": f"{image('orders-api').rsplit(':', 1)[0]}@sha256:{'9f' * 32}",
                "ImageRepositoryType": "ECR",
            }
        },
        InstanceConfiguration={"Cpu": "2 vCPU", "Memory": "4 GB"},
    )
    sandbox.emulator.complete_operation(arn, "rolled_back")
    client.start_deployment(ServiceArn=arn)
    client.list_operations(ServiceArn=arn)  # one in progress, without EndedAt
    sandbox.emulator.complete_operation(arn, "succeeded")
    client.pause_service(ServiceArn=arn)
    sandbox.emulator.complete_operation(arn, "succeeded")
    client.resume_service(ServiceArn=arn)
    sandbox.emulator.complete_operation(arn, "failed")
    client.list_operations(ServiceArn=arn, MaxResults=2)
    client.associate_custom_domain(ServiceArn=arn, DomainName="example.com")
    client.associate_custom_domain(ServiceArn=arn, DomainName="*.shop.example.com", EnableWWWSubdomain=False)
    client.describe_custom_domains(ServiceArn=arn, MaxResults=1)
    client.describe_custom_domains(ServiceArn=arn)
    client.disassociate_custom_domain(ServiceArn=arn, DomainName="example.com")
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "pushpilot:follow", "Value": "semver:^1"}])
    client.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "pushpilot:follow", "Value": "semver:^1"}
    ]


def test_every_response_fits_the_output_shape(
    sandbox: Sandbox, wire: list[tuple[str, int, dict[str, Any]]]
) -> None:
    _exercise_every_operation(sandbox)

    assert {operation for operation, _, _ in wire} == sandbox.emulator.supported_operations
    assert all(status == 200 for _, status, _ in wire)
    for operation, _, body in wire:
        assert output_problems(operation, body) == [], operation
        shape = operation_model(operation).output_shape
        assert shape is not None
        report = ParamValidator().validate(_with_datetimes(shape, body), shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def test_paged_answers_carry_next_tokens(
    sandbox: Sandbox, wire: list[tuple[str, int, dict[str, Any]]]
) -> None:
    _exercise_every_operation(sandbox)

    tokens = {operation for operation, _, body in wire if "NextToken" in body}
    assert tokens == {"ListServices", "ListOperations", "DescribeCustomDomains"}


def test_errors_are_modelled_aws_json_errors(
    sandbox: Sandbox, wire: list[tuple[str, int, dict[str, Any]]]
) -> None:
    missing = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/ghost/{'0' * 32}"
    with pytest.raises(sandbox.client.exceptions.ResourceNotFoundException):
        sandbox.client.describe_service(ServiceArn=missing)
    with pytest.raises(sandbox.client.exceptions.InvalidRequestException):
        sandbox.client.list_services(MaxResults=21)

    model = service_model()
    assert [(operation, status) for operation, status, _ in wire] == [
        ("DescribeService", 400),
        ("ListServices", 400),
    ]
    for _, _, body in wire:
        assert set(body) == {"__type", "Message"}
        error_shape = model.shape_for(body["__type"])
        assert error_shape.metadata.get("exception") is True
        assert output_problems_for_error(error_shape, body) == []


def output_problems_for_error(shape: Shape, body: dict[str, Any]) -> list[str]:
    assert isinstance(shape, StructureShape)
    report = ParamValidator().validate({"Message": body["Message"]}, shape)
    return [report.generate_report()] if report.has_errors() else []
