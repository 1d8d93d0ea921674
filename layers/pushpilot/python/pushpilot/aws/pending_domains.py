"""When each custom domain was first seen waiting for certificate validation.

App Runner reports a domain's status but not since when it has had it, so "pending longer than N
hours" needs our own first-seen time. Items: `pk=DNSPENDING#<domain>`, `sk=SINCE`, `since` (ISO 8601),
removed once the domain is no longer pending, and expiring on their own after `PENDING_TTL_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.aws.dynamodb import TableAdapter, dynamodb_error
from pushpilot.domains import PENDING_VALIDATION, CustomDomainState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# App Runner gives up on a validation after 30 days; a record older than that has no use.
PENDING_TTL_SECONDS = 30 * 24 * 3600
# BatchGetItem reads at most 100 keys per request.
_BATCH_GET_LIMIT = 100


class PendingDomains(TableAdapter):
    """First-seen times of pending validations, kept in the stack's table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(table_name, client)
        self._clock = clock

    @staticmethod
    def _key(domain: str) -> dict[str, Any]:
        return {"pk": {"S": f"DNSPENDING#{domain}"}, "sk": {"S": "SINCE"}}

    def track(self, states: Sequence[CustomDomainState], now: datetime) -> dict[str, datetime]:
        """Since when each pending domain of `states` has been pending; forget the others."""
        known = self._read([state.domain_name for state in states])
        since: dict[str, datetime] = {}
        for state in states:
            domain = state.domain_name
            if state.status == PENDING_VALIDATION:
                since[domain] = known.get(domain) or self._remember(domain, now)
            elif domain in known:
                self._forget(domain)
        return since

    def _read(self, domains: Sequence[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        unique = list(dict.fromkeys(domains))
        for start in range(0, len(unique), _BATCH_GET_LIMIT):
            keys = [self._key(domain) for domain in unique[start : start + _BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise dynamodb_error(exc, "BatchGetItem") from exc
                for item in response.get("Responses", {}).get(self._table, []):
                    domain = item["pk"]["S"].removeprefix("DNSPENDING#")
                    found[domain] = datetime.fromisoformat(item["since"]["S"])
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def _remember(self, domain: str, now: datetime) -> datetime:
        """Record `now` as the first sighting, unless a concurrent run recorded an earlier one."""
        item = {
            **self._key(domain),
            "since": {"S": now.isoformat()},
            "expires_at": {"N": str(int(self._clock()) + PENDING_TTL_SECONDS)},
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise dynamodb_error(exc, "PutItem") from exc
            return self._read([domain]).get(domain, now)
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "PutItem") from exc
        return now

    def _forget(self, domain: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(domain))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "DeleteItem") from exc
