"""Does a certificate-validation CNAME resolve? Answered from the sandbox's Route 53, the way DNS would.

Resolution starts at the least specific public hosted zone that encloses the name (the sandbox has no
registrar above it) and follows NS delegations down: a child zone answers only when its parent holds an
NS record set at the child's apex naming exactly the child's delegation-set name servers. A record in a
zone that nothing delegates to is invisible, as it would be on the internet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client


def normalise(name: str) -> str:
    """DNS names compare case-insensitively, with or without the root's trailing dot."""
    return name.strip().rstrip(".").lower()


def encloses(zone_name: str, name: str) -> bool:
    return name == zone_name or name.endswith(f".{zone_name}")


@dataclass(frozen=True, slots=True)
class RecordSet:
    name: str
    type: str
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class HostedZone:
    zone_id: str
    name: str
    name_servers: frozenset[str]
    record_sets: tuple[RecordSet, ...]

    def values_at(self, name: str, record_type: str) -> frozenset[str]:
        found: set[str] = set()
        for record_set in self.record_sets:
            if record_set.name == name and record_set.type == record_type:
                found |= record_set.values
        return frozenset(found)

    def delegation_points(self) -> set[str]:
        return {rs.name for rs in self.record_sets if rs.type == "NS" and rs.name != self.name}


def read_public_zones(route53: Route53Client) -> list[HostedZone]:
    """Every public hosted zone with its delegation set and record sets, names normalised."""
    zones: list[HostedZone] = []
    for page in route53.get_paginator("list_hosted_zones").paginate():
        for zone in page["HostedZones"]:
            if zone.get("Config", {}).get("PrivateZone", False):
                continue
            delegation = route53.get_hosted_zone(Id=zone["Id"]).get("DelegationSet", {})
            zones.append(
                HostedZone(
                    zone_id=zone["Id"],
                    name=normalise(zone["Name"]),
                    name_servers=frozenset(normalise(ns) for ns in delegation.get("NameServers", [])),
                    record_sets=tuple(_read_record_sets(route53, zone["Id"])),
                )
            )
    return zones


def _read_record_sets(route53: Route53Client, zone_id: str) -> Iterable[RecordSet]:
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        for record_set in page["ResourceRecordSets"]:
            yield RecordSet(
                name=normalise(record_set["Name"]),
                type=record_set["Type"],
                values=frozenset(normalise(rr["Value"]) for rr in record_set.get("ResourceRecords", [])),
            )


def authoritative_zones(name: str, zones: Iterable[HostedZone]) -> list[HostedZone]:
    """The zones whose answer for `name` the world would see; empty when none does."""
    target = normalise(name)
    enclosing = [zone for zone in zones if encloses(zone.name, target)]
    if not enclosing:
        return []
    top = min(len(zone.name) for zone in enclosing)
    current = [zone for zone in enclosing if len(zone.name) == top]
    while True:
        cuts = {
            point
            for zone in current
            for point in zone.delegation_points()
            if encloses(point, target) and encloses(zone.name, point)
        }
        if not cuts:
            return current
        # A resolver follows the first delegation on the way down from the apex.
        cut = min(cuts, key=len)
        servers = frozenset().union(*(zone.values_at(cut, "NS") for zone in current))
        current = [zone for zone in enclosing if zone.name == cut and zone.name_servers == servers]
        if not current:
            return []


def cname_resolves(name: str, value: str, zones: Iterable[HostedZone]) -> bool:
    """True when the authoritative zone for `name` holds a CNAME with `value`."""
    target = normalise(name)
    wanted = normalise(value)
    return any(wanted in zone.values_at(target, "CNAME") for zone in authoritative_zones(target, zones))
