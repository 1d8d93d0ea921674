"""pushpilot's own events on EventBridge: PutEvents in batches, entries EventBridge refused put again.

PutEvents answers 200 even when some entries failed (`FailedEntryCount`, an `ErrorCode` per entry), and
botocore retries only the call, never a refused entry: that part is written here. Entries refused for
a transient reason (throttling, an internal failure) are put again, up to `attempts` times; what is
still refused then is raised typed, so the flow's retry (and its once-per-change record) sends it later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.errors import PermanentError, RetryableError
from pushpilot.core.release_events import SOURCE, ReleaseEvent

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

# PutEvents takes at most 10 entries a call.
BATCH = 10
# Entry error codes worth putting again; any other (access denied, malformed detail) will not heal.
RETRYABLE_ENTRY_CODES = frozenset({"InternalFailure", "InternalException", "ThrottlingException"})


class ReleaseEventsRefusedError(RetryableError):
    """EventBridge refused some entries for a transient reason, after every attempt."""


class ReleaseEventsRejectedError(PermanentError):
    """EventBridge refused some entries for good (access denied, a malformed entry)."""


class EventBridgeReleaseEvents:
    """The ReleaseEvents port on one bus (its name or ARN; `default` is the account's default bus)."""

    def __init__(
        self, bus: str = "default", client: EventBridgeClient | None = None, *, attempts: int = 3
    ) -> None:
        self._bus = bus
        self._injected = client
        self._attempts = attempts

    @property
    def _client(self) -> EventBridgeClient:
        if self._injected is None:
            self._injected = clients.client("events")
        return self._injected

    def entry(self, event: ReleaseEvent) -> PutEventsRequestEntryTypeDef:
        return {
            "Source": SOURCE,
            "DetailType": str(event.detail_type),
            "Detail": json.dumps(event.detail.model_dump(mode="json"), separators=(",", ":")),
            "Resources": event.resources,
            "EventBusName": self._bus,
        }

    def put(self, events: Sequence[ReleaseEvent]) -> None:
        entries = [self.entry(event) for event in events]
        for start in range(0, len(entries), BATCH):
            self._put_batch(entries[start : start + BATCH])

    def _put_batch(self, entries: list[PutEventsRequestEntryTypeDef]) -> None:
        remaining = entries
        refused: list[tuple[PutEventsRequestEntryTypeDef, Any]] = []
        for _ in range(self._attempts):
            try:
                response = self._client.put_events(Entries=remaining)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(exc, service="events", action="PutEvents", target=self._bus) from exc
            if not response.get("FailedEntryCount"):
                return
            # Results come in the order of the entries sent.
            refused = [
                (entry, result)
                for entry, result in zip(remaining, response["Entries"], strict=True)
                if result.get("ErrorCode")
            ]
            lasting = [pair for pair in refused if pair[1].get("ErrorCode") not in RETRYABLE_ENTRY_CODES]
            if lasting:
                raise ReleaseEventsRejectedError(_summary(self._bus, lasting))
            remaining = [entry for entry, _ in refused]
        raise ReleaseEventsRefusedError(_summary(self._bus, refused))


def _summary(bus: str, refused: Sequence[tuple[PutEventsRequestEntryTypeDef, Any]]) -> str:
    shown = "; ".join(
        f"{entry['DetailType']}: {result.get('ErrorCode')} ({result.get('ErrorMessage', '')})"
        for entry, result in refused
    )
    return f"EventBridge bus {bus} refused {len(refused)} pushpilot event(s): {shown}"
