"""Notify's state in the stack's table: the Slack thread of each release, and which channel has
already delivered which notice.

Items:
- `pk=THREAD#<thread_key>`, `sk=SLACK`: the channel and `ts` of the thread's headline message, and the
  time of the notice the headline shows (so a late, older notice never turns the headline back).
- `pk=SLACKPOST#<key>`, `sk=UNCERTAIN`: a Slack post that was sent but never answered, so the retry
  reads the channel back before posting again.
- delivery records: one exactly-once record per channel and notice (scope `deliver#<channel>`), kept by
  the stack's one idempotency helper (adapters/idempotency.py) beside the deploy path's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import TableAdapter, dynamodb_error
from pushpilot.adapters.idempotency import run_once
from pushpilot.core.errors import (
    RetryableError,
)
from pushpilot.core.notices import Notice

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient

THREAD_TTL_SECONDS = 30 * 24 * 3600
# At least the longest an SQS message can live (14 days), so a redrive from the DLQ is deduplicated too.
DELIVERY_TTL_SECONDS = 14 * 24 * 3600


class ThreadRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


class SlackThreads(TableAdapter):
    """Where each thread's headline lives. Two first notices of one release may race: `claim` is a
    conditional put, so exactly one headline wins and the loser learns the winner's ts."""

    @staticmethod
    def _key(thread_key: str) -> dict[str, Any]:
        return table_keys.slack_thread(thread_key).item()

    def get(self, thread_key: str) -> ThreadRef | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=self._key(thread_key), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        item = response.get("Item")
        if not item or "ts" not in item or "channel" not in item:
            return None
        return ThreadRef(channel=item["channel"]["S"], ts=item["ts"]["S"])

    def claim(self, thread_key: str, channel: str, ts: str, *, headline_at: int | None = None) -> ThreadRef:
        """Record our headline as the thread's; if another got there first, return theirs instead."""
        item: dict[str, Any] = {
            **self._key(thread_key),
            "channel": {"S": channel},
            "ts": {"S": ts},
            "expires_at": {"N": str(int(self._clock()) + THREAD_TTL_SECONDS)},
        }
        if headline_at is not None:
            item["headline_at"] = {"N": str(headline_at)}
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise dynamodb_error(exc, "PutItem") from exc
            winner = self.get(thread_key)
            if winner is None:
                raise RetryableError(f"thread {thread_key!r} was claimed but cannot be read yet") from exc
            return winner
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "PutItem") from exc
        return ThreadRef(channel=channel, ts=ts)

    def advance_headline(self, thread_key: str, headline_at: int) -> bool:
        """True when the headline may show a notice from `headline_at` (nothing newer is shown yet)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(thread_key),
                UpdateExpression="SET headline_at = :at",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(headline_at) OR headline_at <= :at)",
                ExpressionAttributeValues={":at": {"N": str(headline_at)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise dynamodb_error(exc, "UpdateItem") from exc
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return True

    @staticmethod
    def _uncertain_key(post_key: str) -> dict[str, Any]:
        return table_keys.uncertain_post(post_key).item()

    def mark_uncertain(self, post_key: str) -> None:
        """Remember that the post `post_key` was sent but its answer was lost."""
        item = {
            **self._uncertain_key(post_key),
            "expires_at": {"N": str(int(self._clock()) + DELIVERY_TTL_SECONDS)},
        }
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "PutItem") from exc

    def is_uncertain(self, post_key: str) -> bool:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=self._uncertain_key(post_key), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return "Item" in response

    def clear_uncertain(self, post_key: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._uncertain_key(post_key))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "DeleteItem") from exc


class DeliveryLedger:
    """At most one delivery per (channel, notice), through the stack's one exactly-once helper.

    Powertools idempotency rather than a hand-made conditional put: a second copy of the notice arriving
    while the first is being sent finds an in-progress record and is retried later instead of sending
    twice, and a failed send deletes its record so the retry can send.
    """

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table_name = table_name
        self._client = client
        self._context: LambdaContext | None = None

    def register_lambda_context(self, context: LambdaContext) -> None:
        """An in-progress record then expires with the invocation, so a crash mid-send is retried."""
        self._context = context

    def once(self, channel: str, notice: Notice, send: Callable[[Notice], dict[str, str]]) -> dict[str, str]:
        result = run_once(
            self._table_name,
            scope=f"deliver#{channel}",
            key={"notice": notice.dedupe_key},
            work=lambda: send(notice),
            expires_after_seconds=DELIVERY_TTL_SECONDS,
            lambda_context=self._context,
            client=self._client,
        )
        return {str(name): str(value) for name, value in result.items()}
