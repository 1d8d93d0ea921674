"""The last digest seen under each watched ECR Public tag, in the stack's one table.

Key: `PUBLICTAG#<image key>` / `TAG`. Attributes: `digest` (the last digest seen), `previous` (the one
before it, "" after a first sighting), `seen_at`, and `settled` (the digest a check finished with).
Each sighting is one conditional UpdateItem, so the table decides which of two concurrent checks saw
a change: the other one sees the digest unchanged.
"""

from __future__ import annotations

from typing import Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import (
    TableAdapter,
    dynamodb_error,
    from_item,
    is_conditional_failure,
    to_item,
)
from pushpilot.core.public_sightings import Sighting, SightingKind


class PublicTagStore(TableAdapter):
    @staticmethod
    def _key(image_key: str) -> dict[str, Any]:
        return table_keys.public_tag(image_key).item()

    def observe(self, image_key: str, digest: str, now: str) -> Sighting:
        """Store `digest` as the tag's current one unless it already is; say what it was before."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(image_key),
                UpdateExpression=(
                    "SET watched_image = :key, previous = if_not_exists(digest, :none), digest = :digest,"
                    " seen_at = :now"
                ),
                ConditionExpression="attribute_not_exists(digest) OR digest <> :digest",
                ExpressionAttributeValues=to_item(
                    {":key": image_key, ":none": "", ":digest": digest, ":now": now}
                ),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise dynamodb_error(exc, "UpdateItem") from exc
            # ReturnValuesOnConditionCheckFailure puts the stored item in the error; botocore's type
            # for error responses does not name it.
            stored = from_item(cast("dict[str, Any]", exc.response.get("Item", {})))
            return Sighting(
                image_key=image_key,
                digest=digest,
                kind=SightingKind.UNCHANGED,
                previous=stored.get("previous") or None,
                settled=stored.get("settled") == digest,
            )
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        before = from_item(response.get("Attributes", {}))
        if "digest" not in before:
            return Sighting(image_key=image_key, digest=digest, kind=SightingKind.FIRST)
        return Sighting(
            image_key=image_key, digest=digest, kind=SightingKind.CHANGED, previous=str(before["digest"])
        )

    def settle(self, image_key: str, digest: str, now: str) -> bool:
        """Mark `digest` finished; False when the tag has moved on since (the newer digest is still due)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(image_key),
                UpdateExpression="SET settled = :digest, settled_at = :now",
                ConditionExpression="digest = :digest",
                ExpressionAttributeValues=to_item({":digest": digest, ":now": now}),
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise dynamodb_error(exc, "UpdateItem") from exc
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "UpdateItem") from exc
        return True
