"""The DNS plan's values: the records a binding wants, what the zones hold, the changes and conflicts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# CAA issuer domains that let Amazon's certificate authority issue (ACM user guide, "CAA records").
AMAZON_CAA_ISSUERS = frozenset({"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"})

MARKER_PREFIX = "_pushpilot-"
MARKER_HERITAGE = "heritage=pushpilot"
RECORD_TTL = 300
DELEGATION_TTL = 172800
PENDING_VALIDATION = "PENDING_CERTIFICATE_DNS_VALIDATION"
# Statuses as the sources report them: App Runner's association statuses, ACM's certificate statuses.
PENDING_STATUSES = frozenset({PENDING_VALIDATION, "PENDING_VALIDATION"})
VALIDATED_STATUSES = frozenset({"ACTIVE", "ISSUED"})
TIMED_OUT = "VALIDATION_TIMED_OUT"
# Bindings being removed, or whose certificate can never validate: their records are neither planned
# nor cleaned up here.
# NO_CERTIFICATE: a name a service claims (by tag) that no certificate on its load balancer covers.
NO_CERTIFICATE = "NO_CERTIFICATE"
UNPLANNED_STATUSES = frozenset(
    {
        "DELETING",
        "DELETE_FAILED",
        "CREATE_FAILED",
        "FAILED",
        TIMED_OUT,
        "EXPIRED",
        "REVOKED",
        "INACTIVE",
        NO_CERTIFICATE,
    }
)
FAILED_STATUSES = frozenset({"CREATE_FAILED", "FAILED", TIMED_OUT})
# ACM tells "Approaching Expiration" 45 days ahead; a managed certificate renews from 60 days ahead,
# and only while its validation records still resolve.
RENEWAL_WINDOW = timedelta(days=60)

_OCTAL_ESCAPE = re.compile(r"\\(\d{3})")


def canonical_name(name: str) -> str:
    """Route 53 returns names with a trailing dot and special characters as octal escapes (`\\052`)."""
    decoded = _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), name.strip())
    return decoded.rstrip(".").lower()


def canonical_target(value: str) -> str:
    return value.strip().rstrip(".").lower()


def is_within(name: str, zone_name: str) -> bool:
    name, zone_name = canonical_name(name), canonical_name(zone_name)
    return name == zone_name or name.endswith(f".{zone_name}")


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- inputs ----------------------------------------------------------------------------------------


class AliasTarget(FrozenModel):
    hosted_zone_id: str
    dns_name: str
    evaluate_target_health: bool = False

    def same_target(self, other: AliasTarget) -> bool:
        return (
            self.hosted_zone_id == other.hosted_zone_id
            and canonical_target(self.dns_name) == canonical_target(other.dns_name)
            and self.evaluate_target_health == other.evaluate_target_health
        )


class RecordSet(FrozenModel):
    name: str
    type: str
    ttl: int | None = None
    values: tuple[str, ...] = ()
    alias_target: AliasTarget | None = None
    set_identifier: str | None = None

    @field_validator("name")
    @classmethod
    def _canonical(cls, value: str) -> str:
        return canonical_name(value)

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.name, self.type, self.set_identifier)

    def same_data(self, other: RecordSet) -> bool:
        """Same answer to a resolver (TTL aside)."""
        if self.type != other.type or self.set_identifier != other.set_identifier:
            return False
        if self.alias_target is not None or other.alias_target is not None:
            return (
                self.alias_target is not None
                and other.alias_target is not None
                and self.alias_target.same_target(other.alias_target)
            )
        if self.type in {"CNAME", "NS"}:
            return {canonical_target(v) for v in self.values} == {canonical_target(v) for v in other.values}
        return set(self.values) == set(other.values)

    def identical(self, other: RecordSet) -> bool:
        return self.same_data(other) and self.ttl == other.ttl

    def describe(self) -> str:
        if self.alias_target is not None:
            data = f"ALIAS {self.alias_target.dns_name} ({self.alias_target.hosted_zone_id})"
        else:
            data = " ".join(self.values)
        routed = f" [set {self.set_identifier}]" if self.set_identifier else ""
        return f"{self.type} {self.name} {data}{routed}".rstrip()


def render_record(record: RecordSet) -> str:
    if record.alias_target is not None:
        data = f"ALIAS {record.alias_target.dns_name} (zone {record.alias_target.hosted_zone_id})"
    else:
        data = " ".join(record.values)
    return f"{record.type} {record.name} → {data}"


class ValidationRecord(FrozenModel):
    name: str
    type: str = "CNAME"
    value: str
    status: str = "PENDING_VALIDATION"
    # The certificate names this record validates (a name and its wildcard share one record).
    for_names: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _canonical(cls, value: str) -> str:
        return canonical_name(value)


class Advisory(FrozenModel):
    """Something the binding's source saw that people should fix; never a DNS write."""

    code: str
    cause: str
    fix: str


class DnsEndpoint(FrozenModel):
    """What a target declares about the endpoints its services' names point at, for its bindings."""

    # What DNS notices call the kind of service.
    service_kind: str
    # The endpoints' Route 53 hosted zones by region, for ALIAS records, when no API answers them.
    alias_zone_ids: Mapping[str, str] = Field(default_factory=dict)
    # Notices name a service alone, without its kind.
    bare_name: bool = False


class DomainBinding(FrozenModel):
    """Names a service answers for, and what DNS they need; read by each target's source."""

    service_arn: str
    service_name: str
    # What people call the kind of service, as its target declares (DnsEndpoint.service_kind).
    service_kind: str
    # The target's endpoint zones by region (DnsEndpoint.alias_zone_ids): the planner's region picks the
    # ALIAS zone when `alias_zone_id` is None.
    alias_zone_ids: Mapping[str, str] = Field(default_factory=dict)
    # Notices name the service alone (DnsEndpoint.bare_name).
    bare_name: bool = False
    dns_target: str
    domain_name: str
    enable_www: bool = False
    status: str
    validation_records: tuple[ValidationRecord, ...] = ()
    # The names that must resolve to the service; None: the domain (and www when enabled).
    names: tuple[str, ...] | None = None
    # The endpoint's hosted zone for ALIAS records (a load balancer's CanonicalHostedZoneId); None: the
    # zone of the region in `alias_zone_ids`.
    alias_zone_id: str | None = None
    # ALIAS at every name, not only where DNS forbids a CNAME (a load balancer's names).
    alias_every_name: bool = False
    # An AAAA alias beside the A alias (dual-stack endpoints).
    ipv6: bool = True
    # False while the names should keep resolving where they do (certificate not issued yet).
    route_ready: bool = True
    certificate_arn: str | None = None
    certificate_expires_at: datetime | None = None
    advisories: tuple[Advisory, ...] = ()

    @field_validator("domain_name")
    @classmethod
    def _canonical(cls, value: str) -> str:
        return canonical_name(value)

    @field_validator("names")
    @classmethod
    def _canonical_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(dict.fromkeys(canonical_name(name) for name in value))

    @property
    def target_names(self) -> tuple[str, ...]:
        """Names that must resolve to the service (and that its certificate covers)."""
        if self.names is not None:
            return self.names
        return (self.domain_name, f"www.{self.domain_name}") if self.enable_www else (self.domain_name,)

    @property
    def certificate_names(self) -> tuple[str, ...]:
        """Every name the certificate covers, wildcards included."""
        covered = [name for record in self.validation_records for name in record.for_names]
        return tuple(dict.fromkeys([self.domain_name, *self.target_names, *map(canonical_name, covered)]))


class ManualRecord(FrozenModel):
    """A record a binding needs in DNS that pushpilot may not write: to be created by hand."""

    domain_name: str
    record: RecordSet
    where: str

    def describe(self) -> str:
        return f"{self.domain_name}: create {render_record(self.record)} by hand ({self.where})"


class ZoneSnapshot(FrozenModel):
    zone_id: str
    name: str
    private: bool = False
    name_servers: tuple[str, ...] = ()
    records: tuple[RecordSet, ...] = ()
    # False when only the zone's existence is known (outside the allow-list): never written to.
    loaded: bool = True
    # The name servers the domain's registrar lists, when known (a domain registered with Route 53 in
    # this account); None: unknown.
    registrar_name_servers: tuple[str, ...] | None = None

    @field_validator("name")
    @classmethod
    def _canonical(cls, value: str) -> str:
        return canonical_name(value)

    def at(self, name: str) -> list[RecordSet]:
        wanted = canonical_name(name)
        return [record for record in self.records if record.name == wanted]

    def find(self, name: str, record_type: str) -> RecordSet | None:
        return next(
            (r for r in self.at(name) if r.type == record_type and r.set_identifier is None),
            None,
        )


class DnsPolicy(FrozenModel):
    take_over: bool = False
    max_changes: Annotated[int, Field(ge=0)] = 20
    # The zones pushpilot may write to (DnsZoneIds). IAM cannot tell a public zone from a private one,
    # so the stack grants writes only on listed zones; empty means every public zone is read and planned
    # for, and nothing is written.
    zone_ids: tuple[str, ...] = ()

    def allows(self, zone_id: str) -> bool:
        """May the zone's records be read and planned for (and, with `writes`, changed)."""
        return not self.zone_ids or zone_id in self.zone_ids

    @property
    def writes(self) -> bool:
        return bool(self.zone_ids)


# --- the plan --------------------------------------------------------------------------------------


class ChangeAction(StrEnum):
    CREATE = "CREATE"
    UPSERT = "UPSERT"
    DELETE = "DELETE"


class Change(FrozenModel):
    action: ChangeAction
    record: RecordSet
    # What the zone held when planned (UPSERT): apply re-checks it is still there.
    previous: RecordSet | None = None
    domain_name: str | None = None


class Conflict(FrozenModel):
    zone_id: str
    zone_name: str
    record: RecordSet
    reason: str
    domain_name: str
    # Another stack's ownership marker for the record, removed with it on take-over.
    marker: RecordSet | None = None
    replaced: bool = False


class ZonePlan(FrozenModel):
    zone_id: str
    zone_name: str
    changes: tuple[Change, ...] = ()


class DnsPlan(FrozenModel):
    owner_id: str
    region: str
    take_over: bool = False
    zones: tuple[ZonePlan, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    notes: tuple[str, ...] = ()
    manual: tuple[ManualRecord, ...] = ()
    total_changes: int = 0
    refused: str | None = None
    # The zones the plan would change while DnsZoneIds lists none: the plan is told, never applied.
    unlisted_zones: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(change for zone in self.zones for change in zone.changes)

    @property
    def applicable(self) -> bool:
        return self.refused is None and self.total_changes > 0
