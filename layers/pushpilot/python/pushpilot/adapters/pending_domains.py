"""When each custom domain was first seen waiting for certificate validation.

App Runner reports a domain's status but not since when it has had it, so "pending longer than N
hours" needs our own first-seen time. Items: `pk=DNSPENDING`, `sk=<domain>`, `since` (ISO 8601): one
partition, so a run reads every tracked domain with one Query (custom domains are few). A record goes
when its domain is no longer pending or, after a run that saw every domain, no longer exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import TableAdapter, dynamodb_error, is_conditional_failure
from pushpilot.adapters.table_keys import DNS_PENDING, SK
from pushpilot.core.dns.models import PENDING_STATUSES, DomainBinding

# A safety net only: records are removed by the runs themselves.
PENDING_TTL_SECONDS = 90 * 24 * 3600


class PendingDomains(TableAdapter):
    """First-seen times of pending validations, kept in the stack's table."""

    def track(
        self, states: Sequence[DomainBinding], now: datetime, *, complete: bool = True
    ) -> dict[str, datetime]:
        """Since when each pending domain of `states` has been pending. Domains of `states` that are
        not pending are forgotten; with `complete` (states holds every domain), so are vanished ones."""
        known = self._read_all()
        since: dict[str, datetime] = {}
        listed = {state.domain_name for state in states}
        for state in states:
            domain = state.domain_name
            if state.status in PENDING_STATUSES:
                since[domain] = known.get(domain) or self._remember(domain, now)
        for domain in known:
            if domain not in since and (complete or domain in listed):
                self._forget(domain)
        return since

    def known(self) -> dict[str, datetime]:
        """Every domain tracked as pending, with its first sighting; changes nothing."""
        return self._read_all()

    def _read_all(self) -> dict[str, datetime]:
        return {
            item[SK]["S"]: datetime.fromisoformat(item["since"]["S"]) for item in self._partition(DNS_PENDING)
        }

    @staticmethod
    def _key(domain: str) -> dict[str, Any]:
        return table_keys.pending_domain(domain).item()

    def _remember(self, domain: str, now: datetime) -> datetime:
        """Record `now` as the first sighting, unless a concurrent run recorded one first."""
        item = {
            **self._key(domain),
            "since": {"S": now.isoformat()},
            "expires_at": {"N": str(int(self._clock()) + PENDING_TTL_SECONDS)},
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise dynamodb_error(exc, "PutItem") from exc
            stored: Any = exc.response.get("Item", {})
            return datetime.fromisoformat(stored["since"]["S"]) if "since" in stored else now
        except BotoCoreError as exc:
            raise dynamodb_error(exc, "PutItem") from exc
        return now

    def _forget(self, domain: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(domain))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "DeleteItem") from exc
