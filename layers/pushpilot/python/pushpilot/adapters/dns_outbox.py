"""The DNS notice outbox in the stack's table: `pk=DNSOUTBOX`, `sk=<key>`, `held` (the notices and
the changes they announce, as JSON). One partition, read with one Query: a run holds at most one item,
and an item lives only between a run's hold and its release (or the next run's)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import table_keys
from pushpilot.adapters.dynamodb import TableAdapter, dynamodb_error
from pushpilot.adapters.table_keys import DNS_OUTBOX
from pushpilot.core.dns.outbox import HeldNotices

# A safety net only: runs release what they hold.
HELD_TTL_SECONDS = 7 * 24 * 3600


class DnsNoticeOutbox(TableAdapter):
    def hold(self, held: HeldNotices) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key(held.key),
                    "held": {"S": held.model_dump_json()},
                    "expires_at": {"N": str(int(self._clock()) + HELD_TTL_SECONDS)},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "PutItem") from exc

    def held(self) -> list[HeldNotices]:
        found = [HeldNotices.model_validate_json(item["held"]["S"]) for item in self._partition(DNS_OUTBOX)]
        return sorted(found, key=lambda held: held.held_at)

    def release(self, key: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise dynamodb_error(exc, "DeleteItem") from exc

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return table_keys.dns_outbox(key).item()
