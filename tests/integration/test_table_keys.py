"""The table's key schema and its one partition query, against moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import query_items
from tests.integration.tables import create_stack_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

TABLE = "pushpilot-test"


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        client: DynamoDBClient = boto3.client("dynamodb", region_name="us-east-1")
        create_stack_table(client, TABLE)
        yield client


def test_a_partition_read_follows_every_page(dynamodb: DynamoDBClient) -> None:
    domains = [f"d{n}.example.com" for n in range(5)]
    for domain in domains:
        dynamodb.put_item(TableName=TABLE, Item=table_keys.pending_domain(domain).item())
    dynamodb.put_item(TableName=TABLE, Item=table_keys.dns_outbox("other-partition").item())

    items = query_items(
        dynamodb,
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": table_keys.DNS_PENDING}},
        Limit=2,  # three pages of at most two items
    )

    assert [item["sk"]["S"] for item in items] == domains


def test_every_key_family_has_a_partition_of_its_own() -> None:
    keys = [
        table_keys.service("arn:aws:ecs:us-east-1:111122223333:service/c/web"),
        table_keys.history("arn:aws:ecs:us-east-1:111122223333:service/c/web", "2026-05-04T09:00:00Z", "r"),
        table_keys.release("web@sha256:" + "a" * 64),
        table_keys.public_tag("public.ecr.aws/x/web:latest"),
        table_keys.slack_thread("web@sha256:" + "a" * 64),
        table_keys.uncertain_post("post"),
        table_keys.dns_outbox("reconcile"),
        table_keys.pending_domain("www.example.com"),
    ]
    families = {key.pk.partition("#")[0] for key in keys}
    assert len(families) == len(keys)
    assert all(not family.startswith("idempotency") for family in families)
