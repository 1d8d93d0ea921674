"""Hosted zones: which zone is authoritative for a name, its parent, and the delegation between them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pushpilot.core.dns.models import DELEGATION_TTL, RecordSet, ZoneSnapshot, is_within

# --- zones -----------------------------------------------------------------------------------------


def authoritative_zone(name: str, zones: Iterable[ZoneSnapshot]) -> ZoneSnapshot | None:
    """The most specific public zone containing the name: the one resolvers ask, if delegation works."""
    candidates = [zone for zone in zones if not zone.private and is_within(name, zone.name)]
    return max(candidates, key=lambda zone: len(zone.name), default=None)


def parent_zone(zone: ZoneSnapshot, zones: Iterable[ZoneSnapshot]) -> ZoneSnapshot | None:
    parent_name = zone.name.partition(".")[2]
    return authoritative_zone(parent_name, zones) if parent_name else None


def delegation_record(child: ZoneSnapshot) -> RecordSet:
    return RecordSet(name=child.name, type="NS", ttl=DELEGATION_TTL, values=child.name_servers)


def zone_chain(zone: ZoneSnapshot, zones: Sequence[ZoneSnapshot]) -> list[tuple[ZoneSnapshot, ZoneSnapshot]]:
    """(parent, child) pairs from the zone up through every ancestor zone in the account."""
    pairs: list[tuple[ZoneSnapshot, ZoneSnapshot]] = []
    child = zone
    while (parent := parent_zone(child, zones)) is not None:
        pairs.append((parent, child))
        child = parent
    return pairs
