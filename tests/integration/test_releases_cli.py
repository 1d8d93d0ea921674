"""`pushpilot releases` against moto's DynamoDB (in process, no sockets): read-only, it runs with the
stack's table alone, no notice queue named anywhere."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.service_index import ServiceIndex
from pushpilot.core.targets import TargetService
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from pushpilot_cli.main import build_parser
from tests.integration.tables import create_stack_table

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "pushpilot-Table-releases"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.delenv("NOTICE_QUEUE_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(client, TABLE)
        ServiceIndex(TABLE, client).upsert(
            TargetService(
                kind="apprunner",
                arn=f"arn:aws:apprunner:{REGION}:123456789012:service/storefront/{'0' * 32}",
                name="storefront",
                status="RUNNING",
                image_identifier="123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest",
                auto_deploy=False,
                busy=False,
                required_platform=APP_RUNNER_PLATFORM,
            ),
            now="2026-05-04T09:00:00.000+00:00",
        )
        yield TABLE


def test_releases_lists_with_the_table_alone(table: str) -> None:
    args = build_parser().parse_args(["releases", "--table", table, "--json"])
    out, err = io.StringIO(), io.StringIO()

    code = args.run(args, out=out, err=err)

    assert (code, err.getvalue()) == (0, "")
    assert [entry["service"] for entry in json.loads(out.getvalue())] == ["storefront"]
