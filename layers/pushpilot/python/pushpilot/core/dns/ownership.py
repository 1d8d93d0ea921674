"""Ownership markers: the TXT records that say pushpilot made a record, and the only records it may change."""

from __future__ import annotations

import hashlib

from pushpilot.core.dns.models import (
    MARKER_HERITAGE,
    MARKER_PREFIX,
    RECORD_TTL,
    FrozenModel,
    RecordSet,
    ZoneSnapshot,
    canonical_name,
)

# --- ownership markers -----------------------------------------------------------------------------


class Marker(FrozenModel):
    owner_id: str
    domain_name: str


def marker_name(record_name: str, record_type: str, zone_name: str) -> str:
    name, zone = canonical_name(record_name), canonical_name(zone_name)
    kind = record_type.lower()
    if name == zone:
        return f"{MARKER_PREFIX}{kind}.{zone}"
    first, _, rest = name.partition(".")
    label = f"{MARKER_PREFIX}{kind}-{first}"
    if len(label) > 63:
        label = f"{MARKER_PREFIX}{kind}-h{hashlib.sha256(first.encode()).hexdigest()[:24]}"
    return f"{label}.{rest}"


def marker_value(owner_id: str, domain_name: str) -> str:
    return f'"{MARKER_HERITAGE},pushpilot/owner={owner_id},pushpilot/domain={domain_name}"'


def parse_marker(value: str) -> Marker | None:
    fields = dict(part.split("=", 1) for part in value.strip().strip('"').split(",") if "=" in part)
    if fields.get("heritage") != "pushpilot" or "pushpilot/owner" not in fields:
        return None
    return Marker(owner_id=fields["pushpilot/owner"], domain_name=fields.get("pushpilot/domain", ""))


def marker_record(record: RecordSet, zone_name: str, owner_id: str, domain_name: str) -> RecordSet:
    return RecordSet(
        name=marker_name(record.name, record.type, zone_name),
        type="TXT",
        ttl=RECORD_TTL,
        values=(marker_value(owner_id, domain_name),),
    )


class MarkerSlot(FrozenModel):
    """What sits at the marker name of one record."""

    record: RecordSet | None = None
    marker: Marker | None = None

    @property
    def foreign_txt(self) -> bool:
        return self.record is not None and self.marker is None


def marker_slot(zone: ZoneSnapshot, record_name: str, record_type: str) -> MarkerSlot:
    txt = zone.find(marker_name(record_name, record_type, zone.name), "TXT")
    if txt is None:
        return MarkerSlot()
    marker = next((m for m in map(parse_marker, txt.values) if m is not None), None)
    return MarkerSlot(record=txt, marker=marker)


def is_marker(record: RecordSet) -> bool:
    return record.type == "TXT" and record.name.split(".", 1)[0].startswith(MARKER_PREFIX)


def owned_by(zone: ZoneSnapshot, record: RecordSet, owner_id: str) -> bool:
    slot = marker_slot(zone, record.name, record.type)
    return record.set_identifier is None and slot.marker is not None and slot.marker.owner_id == owner_id
