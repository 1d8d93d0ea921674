"""BuildLookup: one batch_get_builds call, reading only the image exports and the resolved commit.

Responses come from botocore's Stubber, which validates them against CodeBuild's service model (moto
keeps no exported variables); the unknown-build case runs against moto.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pushpilot.adapters.codebuild import BuildLookup
from pushpilot.core.errors import AccessDeniedError, ThrottledError

if TYPE_CHECKING:
    from mypy_boto3_codebuild.client import CodeBuildClient

BUILD_ID = "web-build:3f1c9a52-7d4e-4b8a-9c61-0e2f5b7a4d13"
SHA = "8b2f4e1c9d7a6b5e4f3a2c1d0e9f8a7b6c5d4e3f"
DIGEST = "sha256:" + "4a" * 32


def codebuild() -> CodeBuildClient:
    client: CodeBuildClient = boto3.client("codebuild", region_name="us-east-1")
    return client


def test_reads_the_two_image_exports_and_the_resolved_commit_only() -> None:
    client = codebuild()
    stubber = Stubber(client)
    stubber.add_response(
        "batch_get_builds",
        {
            "builds": [
                {
                    "id": BUILD_ID,
                    "buildNumber": 42,
                    "buildStatus": "SUCCEEDED",
                    "startTime": datetime(2026, 5, 4, 9, 12, 3, tzinfo=UTC),
                    "sourceVersion": "refs/heads/main",
                    "resolvedSourceVersion": SHA,
                    "projectName": "web-build",
                    "environment": {
                        "type": "LINUX_CONTAINER",
                        "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                        "computeType": "BUILD_GENERAL1_SMALL",
                        "environmentVariables": [
                            {"name": "DB_PASSWORD", "value": "hunter2-db-secret", "type": "PLAINTEXT"}
                        ],
                    },
                    "exportedEnvironmentVariables": [
                        {
                            "name": "IMAGE_URI",
                            "value": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:{SHA}",
                        },
                        {"name": "IMAGE_DIGEST", "value": DIGEST},
                        {"name": "RELEASE_TOKEN", "value": "exported-secret-value"},
                    ],
                }
            ],
        },
        {"ids": [BUILD_ID]},
    )
    with stubber:
        facts = BuildLookup(client).build_facts(BUILD_ID)
        stubber.assert_no_pending_responses()

    assert facts is not None
    assert facts.resolved_source_version == SHA
    assert facts.build_number == 42
    assert facts.image_uri == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:{SHA}"
    assert facts.image_digest == DIGEST
    dumped = facts.model_dump_json()
    assert "exported-secret-value" not in dumped
    assert "hunter2-db-secret" not in dumped


def test_an_unknown_build_is_none() -> None:
    with mock_aws():
        assert BuildLookup(codebuild()).build_facts(BUILD_ID) is None


@pytest.mark.parametrize(
    ("code", "error"), [("AccessDeniedException", AccessDeniedError), ("ThrottlingException", ThrottledError)]
)
def test_errors_are_typed(code: str, error: type[Exception]) -> None:
    client = codebuild()
    stubber = Stubber(client)
    stubber.add_client_error("batch_get_builds", service_error_code=code, http_status_code=400)
    with stubber, pytest.raises(error):
        BuildLookup(client).build_facts(BUILD_ID)
