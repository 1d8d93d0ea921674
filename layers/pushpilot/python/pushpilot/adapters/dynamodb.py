"""The stack's one DynamoDB table: the base of its adapters, item (de)serialization, and failures as
typed errors (through the shared AWS error classifier)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import DYNAMODB_CODES, aws_error
from pushpilot.adapters.table_keys import PK

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb import DynamoDBClient

    from pushpilot.core.errors import PushpilotError


def dynamodb_error(exc: ClientError | BotoCoreError, action: str) -> PushpilotError:
    """Map a DynamoDB failure to the error type that decides whether it is retried."""
    return aws_error(exc, service="dynamodb", action=action, target="the stack's table", codes=DYNAMODB_CODES)


class TableAdapter:
    """The stack's table through an injected client, or a lazily built real one; `clock` (epoch
    seconds) dates the TTLs of the items an adapter writes."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._injected = client
        self._clock = clock

    @property
    def _client(self) -> DynamoDBClient:
        if self._injected is None:
            self._injected = clients.client("dynamodb")
        return self._injected

    def _partition(self, pk: str) -> Iterator[dict[str, Any]]:
        """Every item of one partition, read consistently, as DynamoDB attribute values."""
        return query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression=f"{PK} = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )


def query_items(client: DynamoDBClient, **query: Any) -> Iterator[dict[str, Any]]:
    """Every item one Query matches, page after page: botocore's Query paginator follows
    LastEvaluatedKey (a page holds at most 1 MB)."""
    try:
        for page in client.get_paginator("query").paginate(**query):
            yield from page.get("Items", [])
    except (ClientError, BotoCoreError) as exc:
        raise dynamodb_error(exc, "Query") from exc


@cache
def _serializer() -> TypeSerializer:
    # boto3's serializer module imports boto3 itself: loaded on first use, not at cold start.
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@cache
def _deserializer() -> TypeDeserializer:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values → DynamoDB attribute values; None values are left out."""
    return {key: _serializer().serialize(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer().deserialize(value) for key, value in item.items()}


def is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
