"""The emulator's checks against App Runner's botocore model: what they accept and what they catch."""

from __future__ import annotations

from typing import Any

import pytest

from pushpilot_sandbox.apprunner_model import input_problems, output_problems

ARN = "arn:aws:apprunner:us-east-1:111122223333:service/orders-api/0f3a9c2be6d14a7f8c5e2d1b4a6c8e90"
IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/orders/api:release-7"


def _create(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ServiceName": "orders-api",
        "SourceConfiguration": {
            "ImageRepository": {"ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR"},
            "AutoDeploymentsEnabled": False,
        },
    }
    return params | overrides


@pytest.mark.parametrize(
    "identifier",
    [
        IMAGE,
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orders/api@sha256:" + "c4" * 32,
        "public.ecr.aws/nginx/nginx:1.27",
    ],
)
def test_valid_create_requests_pass(identifier: str) -> None:
    repository_type = "ECR_PUBLIC" if identifier.startswith("public.") else "ECR"
    params = _create(
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": identifier, "ImageRepositoryType": repository_type}
        }
    )
    assert input_problems("CreateService", params) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (_create(ServiceName="abc"), "ServiceName"),  # botocore's own minimum length
        (_create(ServiceName="orders api!"), "pattern"),
        (_create(ServiceName="o" * 41), "above the maximum 40"),
        (_create(Colour="blue"), "Colour"),
        ({"ServiceName": "orders-api"}, "SourceConfiguration"),
        (
            _create(
                SourceConfiguration={
                    "ImageRepository": {"ImageIdentifier": IMAGE, "ImageRepositoryType": "DOCKER_HUB"}
                }
            ),
            "DOCKER_HUB",
        ),
        (
            _create(
                SourceConfiguration={
                    "ImageRepository": {"ImageIdentifier": "nginx:latest", "ImageRepositoryType": "ECR"}
                }
            ),
            "ImageIdentifier",
        ),
    ],
)
def test_invalid_create_requests_are_named(params: dict[str, Any], expected: str) -> None:
    problems = input_problems("CreateService", params)
    assert problems
    assert any(expected in problem for problem in problems)


def test_maximum_page_size_is_enforced_as_the_service_does() -> None:
    assert input_problems("ListServices", {"MaxResults": 20}) == []
    assert input_problems("ListServices", {"MaxResults": 21}) == [
        "MaxResults: value 21 is above the maximum 20"
    ]
    assert input_problems("DescribeCustomDomains", {"ServiceArn": ARN, "MaxResults": 6})


def test_a_complete_output_passes() -> None:
    body = {
        "OperationSummaryList": [
            {
                "Id": "2b0e7c1a-5d3f-4e8a-9b6c-1f2e3d4c5b6a",
                "Type": "START_DEPLOYMENT",
                "Status": "IN_PROGRESS",
                "TargetArn": ARN,
                "StartedAt": 1767225600.5,
                "UpdatedAt": 1767225600,
            }
        ]
    }
    assert output_problems("ListOperations", body) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ServiceArn": ARN, "CustomDomains": [], "DNSTarget": "x"}, "missing required member VpcDNSTargets"),
        (
            {"ServiceArn": ARN, "CustomDomains": [], "DNSTarget": "x", "VpcDNSTargets": [], "Extra": 1},
            "unknown member Extra",
        ),
        (
            {
                "ServiceArn": ARN,
                "DNSTarget": "x",
                "VpcDNSTargets": [],
                "CustomDomains": [
                    {"DomainName": "shop.example.org", "EnableWWWSubdomain": True, "Status": "OK"}
                ],
            },
            "'OK' is not one of",
        ),
        (
            {
                "ServiceArn": ARN,
                "DNSTarget": "x",
                "VpcDNSTargets": [],
                "CustomDomains": [
                    {"DomainName": "shop.example.org", "EnableWWWSubdomain": "yes", "Status": "ACTIVE"}
                ],
            },
            "expected a boolean",
        ),
    ],
)
def test_output_departures_are_named(body: dict[str, Any], expected: str) -> None:
    problems = output_problems("DescribeCustomDomains", body)
    assert any(expected in problem for problem in problems), problems


def test_output_timestamps_must_be_epoch_numbers() -> None:
    body = {
        "OperationSummaryList": [
            {"Id": "2b0e7c1a-5d3f-4e8a-9b6c-1f2e3d4c5b6a", "StartedAt": "2026-01-01T00:00:00Z"}
        ]
    }
    assert output_problems("ListOperations", body) == [
        "OperationSummaryList[0].StartedAt: expected a number, got str"
    ]
