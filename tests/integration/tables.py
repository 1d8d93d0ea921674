"""The stack's table as template.yaml declares its keys, created in moto for adapter tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pushpilot.adapters.table_keys import BY_FOLLOWED_REPOSITORY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def create_stack_table(client: DynamoDBClient, table_name: str) -> None:
    """String `pk`/`sk` and the `ByFollowedRepository` index on `follows_repository`, on demand: what
    every adapter of the one table relies on (and must not disturb)."""
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "follows_repository", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_FOLLOWED_REPOSITORY,
                "KeySchema": [{"AttributeName": "follows_repository", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
