"""The bakes of promoted-to services in the stack's table: one item per service, `pk = PROMOTIONS`,
`sk = <service arn>`, so the scheduled refresh reads them all with one Query. Every change is
conditional: a newer upstream release replaces an older one, never the reverse, and a state moves
only from the one it was read in (two refreshes at once promote once)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters.dynamodb import (
    TableAdapter,
    dynamodb_error,
    from_item,
    is_conditional_failure,
    to_item,
)
from pushpilot.core.promotion import BakeState, Baking

PARTITION = "PROMOTIONS"


class PromotionTable(TableAdapter):
    @staticmethod
    def _key(service_arn: str) -> dict[str, Any]:
        return to_item({"pk": PARTITION, "sk": service_arn})

    def offer(self, baking: Baking) -> tuple[bool, Baking | None]:
        item = {"pk": PARTITION, "sk": baking.service_arn, **baking.model_dump(mode="json")}
        try:
            response = self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR (digest <> :d AND live_since < :since)",
                ExpressionAttributeValues=to_item({":d": baking.digest, ":since": baking.live_since}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False, None
            raise dynamodb_error(exc, "PutItem") from exc
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "PutItem") from exc
        old = response.get("Attributes")
        return True, (self._baking(from_item(old)) if old else None)

    @staticmethod
    def _baking(values: dict[str, Any]) -> Baking:
        values.pop("pk", None)
        values.pop("sk", None)
        return Baking.model_validate({**values, "held_by": tuple(values.get("held_by") or ())})

    def get(self, service_arn: str) -> Baking | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=self._key(service_arn), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "GetItem") from exc
        return self._baking(from_item(item)) if item else None

    def all(self) -> list[Baking]:
        found: list[Baking] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": to_item({":p": PARTITION}),
            "ConsistentRead": True,
        }
        try:
            paginator = self._client.get_paginator("query")
            for page in paginator.paginate(**kwargs):
                found.extend(self._baking(from_item(item)) for item in page.get("Items", []))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "Query") from exc
        return found

    def move(
        self,
        baking: Baking,
        state: BakeState,
        *,
        bake_started: str | None = None,
        held_by: tuple[str, ...] = (),
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(baking.service_arn),
                UpdateExpression="SET #state = :to, bake_started = :started, held_by = :held",
                ConditionExpression="digest = :d AND #state = :from",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_item(
                    {
                        ":to": str(state),
                        ":from": str(baking.state),
                        ":d": baking.digest,
                        ":started": bake_started or baking.bake_started,
                        ":held": list(held_by),
                    }
                ),
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise dynamodb_error(exc, "UpdateItem") from exc
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return True
