"""What the DNS reconcile is about to tell, held before it changes anything and sent after.

A reconcile that applied its records and then failed to queue its notices would, on retry, find the
records in place, plan nothing, and tell nobody. So the notices of a run are held first (with the
changes they speak of), and released only once they are queued. A later run sends what it finds held,
but only when the changes those notices announce are in the zones now: nothing says "updated" for
records that never changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from pushpilot.core.dns.models import ChangeAction, ZonePlan, ZoneSnapshot
from pushpilot.core.notices import Notice


class HeldNotices(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    held_at: str
    # The changes the notices announce as applied (none: the notices assume no change).
    zones: tuple[ZonePlan, ...] = ()
    notices: tuple[Notice, ...] = ()


def held_key(notices: Iterable[Notice], zones: Iterable[ZonePlan]) -> str:
    """The same notices about the same changes are held once, however often a run is retried."""
    parts = sorted(notice.dedupe_key for notice in notices)
    parts.extend(sorted(zone.model_dump_json() for zone in zones))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def in_effect(zone_plan: ZonePlan, zone: ZoneSnapshot) -> bool:
    """True when the zone holds what the plan's changes leave: each written record exactly, and no
    deleted record as it was."""
    records = {record.key: record for record in zone.records}
    for change in zone_plan.changes:
        current = records.get(change.record.key)
        if change.action is ChangeAction.DELETE:
            replaced = any(
                other.record.key == change.record.key and other.action is not ChangeAction.DELETE
                for other in zone_plan.changes
            )
            if current is not None and current.identical(change.record) and not replaced:
                return False
        elif current is None or not current.identical(change.record):
            return False
    return True
