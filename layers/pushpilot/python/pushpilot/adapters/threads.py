"""Notify's state in the stack's table: the Slack thread of each release, and which channel has
already delivered which notice.

Items:
- `pk=THREAD#<thread_key>`, `sk=SLACK`: the channel and `ts` of the thread's headline message, and the
  time of the notice the headline shows (so a late, older notice never turns the headline back).
- `pk=SLACKPOST#<key>`, `sk=UNCERTAIN`: a Slack post that was sent but never answered, so the retry
  reads the channel back before posting again.
- `pk=NOTIFY#DELIVERY`, `sk=<channel>#<hash of dedupe_key>`: Powertools idempotency records, one per
  channel and notice. One partition holds them all: notifications are a few per minute, far below a
  partition's write limit, and Powertools puts the key in the sort key when the table has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from pushpilot.adapters import clients
from pushpilot.adapters.dynamodb import TableAdapter, dynamodb_error
from pushpilot.core.errors import (
    RetryableError,
)
from pushpilot.core.notices import Notice

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient

THREAD_TTL_SECONDS = 30 * 24 * 3600
# At least the longest an SQS message can live (14 days), so a redrive from the DLQ is deduplicated too.
DELIVERY_TTL_SECONDS = 14 * 24 * 3600
DELIVERY_PARTITION = "NOTIFY#DELIVERY"


class ThreadRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


class SlackThreads(TableAdapter):
    """Where each thread's headline lives. Two first notices of one release may race: `claim` is a
    conditional put, so exactly one headline wins and the loser learns the winner's ts."""

    @staticmethod
    def _key(thread_key: str) -> dict[str, Any]:
        return {"pk": {"S": f"THREAD#{thread_key}"}, "sk": {"S": "SLACK"}}

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
        return {"pk": {"S": f"SLACKPOST#{post_key}"}, "sk": {"S": "UNCERTAIN"}}

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
    """At most one delivery per (channel, notice), with Powertools idempotency.

    Chosen over a hand-made conditional put because Powertools also covers the concurrent case: a
    second copy of the notice arriving while the first is being sent finds an INPROGRESS record and is
    retried later instead of sending twice, and a failed send deletes its record so the retry can send.
    """

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table_name = table_name
        self._client: DynamoDBClient = client or clients.client("dynamodb")
        self._config: IdempotencyConfig | None = None
        # One persistence layer per channel: Powertools fixes a layer's key prefix on first use.
        self._stores: dict[str, DynamoDBPersistenceLayer] = {}

    def _idempotency_config(self) -> IdempotencyConfig:
        if self._config is None:
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

            self._config = IdempotencyConfig(
                event_key_jmespath="dedupe_key",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=DELIVERY_TTL_SECONDS,
            )
        return self._config

    def register_lambda_context(self, context: LambdaContext) -> None:
        """An INPROGRESS record then expires with the invocation, so a crash mid-send is retried."""
        self._idempotency_config().register_lambda_context(context)

    def _store(self, channel: str) -> DynamoDBPersistenceLayer:
        if channel not in self._stores:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            self._stores[channel] = DynamoDBPersistenceLayer(
                table_name=self._table_name,
                key_attr="pk",
                sort_key_attr="sk",
                static_pk_value=DELIVERY_PARTITION,
                expiry_attr="expires_at",
                boto3_client=self._client,
            )
        return self._stores[channel]

    def once(self, channel: str, notice: Notice, send: Callable[[Notice], dict[str, str]]) -> dict[str, str]:
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
        )

        def deliver_notice(notice: Notice) -> dict[str, str]:
            return send(notice)

        guarded: Callable[..., dict[str, str]] = idempotent_function(
            deliver_notice,
            data_keyword_argument="notice",
            persistence_store=self._store(channel),
            config=self._idempotency_config(),
            key_prefix=channel,
        )
        try:
            return guarded(notice=notice)
        except IdempotencyAlreadyInProgressError as exc:
            raise RetryableError(
                f"{channel} delivery of {notice.dedupe_key} is in progress elsewhere"
            ) from exc
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            raise RetryableError(f"{channel} delivery record for {notice.dedupe_key}: {exc}") from exc
