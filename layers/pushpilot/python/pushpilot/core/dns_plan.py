"""Custom-domain DNS, as data: the records each domain binding needs, compared with the hosted zones'
records, become a plan; and a diagnosis says what keeps a certificate from validating.

Pure: no I/O, and no deploy target named: each target reads its own bindings (App Runner's custom
domains, the certificates on an ECS service's load balancer) into `DomainBinding` values, which say
which names must resolve, to which endpoint, how (CNAME or ALIAS, IPv6 or not), and which validation
records the certificate needs. The Route 53 adapter reads zones and applies plans.

What a binding needs (App Runner developer guide, "Managing custom domain names"; ACM user guide, "DNS
validation"; Route 53 developer guide, "Routing traffic to an ELB load balancer"):
- every certificate-validation CNAME App Runner returns;
- the domain itself → the service's DNS target: ALIAS A and AAAA (dual-stack) with the endpoint's
  hosted zone id when the name is a zone apex (DNS allows no CNAME there), a CNAME otherwise; a load
  balancer's names are ALIAS at every name (A, plus AAAA when it is dual-stack), and only once its
  certificate is issued (until then, the old record keeps serving);
- `www.<domain>` the same way when EnableWWWSubdomain is on (App Runner);
- a working delegation: when a name lives in a child hosted zone, the parent zone needs an NS record
  set at the child's apex that lists the child's name servers.

Ownership registry: TXT markers next to the records, not rows in DynamoDB. A marker lives in the
same zone as the record it claims, so it survives the loss of our table or stack, is visible to anyone
who lists the zone, and tells other tools and people which records are ours. Records without our
marker are never changed or deleted; they show up as conflicts, replaced only on explicit take-over.

Marker naming works for CNAMEs (a CNAME owns its name exclusively, so no TXT may sit beside it):
the marker of record (name, type) prefixes the *first label* of the name, `_pushpilot-<type>-<label>`,
and keeps the rest: `www.example.com` CNAME → `_pushpilot-cname-www.example.com`. Prefixing the label
rather than adding one keeps markers of NS delegation records out of the delegated subtree (where
they would be occluded). A zone apex has no label of its own in the zone: its marker is
`_pushpilot-<type>.<apex>`. Labels that would exceed DNS's 63-octet limit use a digest of the label.
The marker's value names the owner (the stack) and the custom domain the record serves:
`"heritage=pushpilot,pushpilot/owner=<owner id>,pushpilot/domain=<domain>"`.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpilot.core.errors import PermanentError

# Route 53 hosted zone ids of App Runner's regional endpoints, for ALIAS records. No API returns them:
# they come from the "AWS App Runner endpoints and quotas" page
# (https://docs.aws.amazon.com/general/latest/gr/apprunner.html), column "Route 53 Hosted Zone ID".
APPRUNNER_ALIAS_HOSTED_ZONE_IDS: Mapping[str, str] = {
    "us-east-2": "Z0224347AD7KVHMLOX31",
    "us-east-1": "Z01915732ZBZKC8D32TPT",
    "us-west-2": "Z02243383FTQ64HJ5772Q",
    "ap-south-1": "Z00855883LBHKTIC4ODF2",
    "ap-southeast-1": "Z09819469CZ3KQ8PWMCL",
    "ap-southeast-2": "Z03657752RA8799S0TI5I",
    "ap-northeast-1": "Z08491812XW6IPYLR6CCA",
    "eu-central-1": "Z0334911C2FDI2Q9M4FZ",
    "eu-west-1": "Z087551914Z2PCAU0QHMW",
    "eu-west-2": "Z098228427VC6B3IX76ON",
    "eu-west-3": "Z087117439MBKHYM69QS6",
}

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

OWNER_ID_PATTERN = r"^[A-Za-z0-9._:/-]{1,128}$"
_OCTAL_ESCAPE = re.compile(r"\\(\d{3})")


def canonical_name(name: str) -> str:
    """Route 53 returns names with a trailing dot and special characters as octal escapes (`\\052`)."""
    decoded = _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), name.strip())
    return decoded.rstrip(".").lower()


def _canonical_target(value: str) -> str:
    return value.strip().rstrip(".").lower()


def is_within(name: str, zone_name: str) -> bool:
    name, zone_name = canonical_name(name), canonical_name(zone_name)
    return name == zone_name or name.endswith(f".{zone_name}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- inputs ----------------------------------------------------------------------------------------


class AliasTarget(_Frozen):
    hosted_zone_id: str
    dns_name: str
    evaluate_target_health: bool = False

    def same_target(self, other: AliasTarget) -> bool:
        return (
            self.hosted_zone_id == other.hosted_zone_id
            and _canonical_target(self.dns_name) == _canonical_target(other.dns_name)
            and self.evaluate_target_health == other.evaluate_target_health
        )


class RecordSet(_Frozen):
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
            return {_canonical_target(v) for v in self.values} == {_canonical_target(v) for v in other.values}
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


class ValidationRecord(_Frozen):
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


class Advisory(_Frozen):
    """Something the binding's source saw that people should fix; never a DNS write."""

    code: str
    cause: str
    fix: str


class DomainBinding(_Frozen):
    """Names a service answers for, and what DNS they need; read by each target's source."""

    service_arn: str
    service_name: str
    # What people call the kind of service ("App Runner", "ECS").
    service_kind: str = "App Runner"
    dns_target: str
    domain_name: str
    enable_www: bool = False
    status: str
    validation_records: tuple[ValidationRecord, ...] = ()
    # The names that must resolve to the service; None: the domain (and www when enabled).
    names: tuple[str, ...] | None = None
    # The endpoint's hosted zone for ALIAS records (a load balancer's CanonicalHostedZoneId); None: the
    # App Runner zone of the region.
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


# The name App Runner's reader has always used.
CustomDomainState = DomainBinding


class ManualRecord(_Frozen):
    """A record a binding needs in DNS that pushpilot may not write: to be created by hand."""

    domain_name: str
    record: RecordSet
    where: str

    def describe(self) -> str:
        return f"{self.domain_name}: create {render_record(self.record)} by hand ({self.where})"


class ZoneSnapshot(_Frozen):
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


class DnsPolicy(_Frozen):
    take_over: bool = False
    max_changes: Annotated[int, Field(ge=0)] = 20
    # Zones we may read and write; empty means every public zone in the account.
    zone_ids: tuple[str, ...] = ()

    def allows(self, zone_id: str) -> bool:
        return not self.zone_ids or zone_id in self.zone_ids


# --- the plan --------------------------------------------------------------------------------------


class ChangeAction(StrEnum):
    CREATE = "CREATE"
    UPSERT = "UPSERT"
    DELETE = "DELETE"


class Change(_Frozen):
    action: ChangeAction
    record: RecordSet
    # What the zone held when planned (UPSERT): apply re-checks it is still there.
    previous: RecordSet | None = None
    domain_name: str | None = None


class Conflict(_Frozen):
    zone_id: str
    zone_name: str
    record: RecordSet
    reason: str
    domain_name: str
    # Another stack's ownership marker for the record, removed with it on take-over.
    marker: RecordSet | None = None
    replaced: bool = False


class ZonePlan(_Frozen):
    zone_id: str
    zone_name: str
    changes: tuple[Change, ...] = ()


class DnsPlan(_Frozen):
    owner_id: str
    region: str
    take_over: bool = False
    zones: tuple[ZonePlan, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    notes: tuple[str, ...] = ()
    manual: tuple[ManualRecord, ...] = ()
    total_changes: int = 0
    refused: str | None = None

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(change for zone in self.zones for change in zone.changes)

    @property
    def applicable(self) -> bool:
        return self.refused is None and self.total_changes > 0


# --- ownership markers -----------------------------------------------------------------------------


class Marker(_Frozen):
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


class _MarkerSlot(_Frozen):
    """What sits at the marker name of one record."""

    record: RecordSet | None = None
    marker: Marker | None = None

    @property
    def foreign_txt(self) -> bool:
        return self.record is not None and self.marker is None


def _slot(zone: ZoneSnapshot, record_name: str, record_type: str) -> _MarkerSlot:
    txt = zone.find(marker_name(record_name, record_type, zone.name), "TXT")
    if txt is None:
        return _MarkerSlot()
    marker = next((m for m in map(parse_marker, txt.values) if m is not None), None)
    return _MarkerSlot(record=txt, marker=marker)


def is_marker(record: RecordSet) -> bool:
    return record.type == "TXT" and record.name.split(".", 1)[0].startswith(MARKER_PREFIX)


def owned_by(zone: ZoneSnapshot, record: RecordSet, owner_id: str) -> bool:
    slot = _slot(zone, record.name, record.type)
    return record.set_identifier is None and slot.marker is not None and slot.marker.owner_id == owner_id


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


# --- planning --------------------------------------------------------------------------------------


class _Wanted(_Frozen):
    zone_id: str
    record: RecordSet
    domain_name: str


class _Collector:
    """Accumulates the desired records across domains, with notes about what cannot be planned."""

    def __init__(self, zones: Sequence[ZoneSnapshot], policy: DnsPolicy, region: str) -> None:
        self.zones = [zone for zone in zones if not zone.private]
        self.policy = policy
        self.region = region
        self.wanted: dict[tuple[str, str, str], _Wanted] = {}
        self.notes: list[str] = []
        self.manual: list[ManualRecord] = []
        # Names whose desired records could not be computed: our records there are left alone.
        self.protected: set[tuple[str, str]] = set()

    def writable_zone(self, record: RecordSet, domain: str) -> ZoneSnapshot | None:
        """The zone to write `record` in; None (with the exact record to create by hand) when there is
        no such zone in the account, or the stack may not write it."""
        name = record.name
        zone = authoritative_zone(name, self.zones)
        if zone is None:
            self.notes.append(f"{domain}: no public hosted zone in this account holds {name}; skipped")
            self.manual.append(
                ManualRecord(
                    domain_name=domain,
                    record=_by_hand_elsewhere(record),
                    where="at the DNS provider that serves it",
                )
            )
        elif not zone.loaded or not self.policy.allows(zone.zone_id):
            self.notes.append(
                f"{domain}: {name} lives in zone {zone.name} ({zone.zone_id}), not in DNS_ZONE_IDS"
            )
            self.manual.append(
                ManualRecord(
                    domain_name=domain,
                    record=record,
                    where=f"zone {zone.name} ({zone.zone_id}) is not in DNS_ZONE_IDS",
                )
            )
            return None
        return zone

    def want(self, zone: ZoneSnapshot, record: RecordSet, domain: str) -> None:
        key = (zone.zone_id, record.name, record.type)
        existing = self.wanted.get(key)
        if existing is None:
            self.wanted[key] = _Wanted(zone_id=zone.zone_id, record=record, domain_name=domain)
            self._want_delegation(zone, domain)
        elif not existing.record.same_data(record):
            self.notes.append(
                f"{domain}: {record.type} {record.name} is also wanted by {existing.domain_name} "
                "with another value; kept the first"
            )

    def _want_delegation(self, zone: ZoneSnapshot, domain: str) -> None:
        for parent, child in zone_chain(zone, self.zones):
            if not child.name_servers:
                self.notes.append(
                    f"{domain}: name servers of zone {child.name} unknown; delegation not checked"
                )
                return
            if not parent.loaded or not self.policy.allows(parent.zone_id):
                self.notes.append(
                    f"{domain}: parent zone {parent.name} ({parent.zone_id}) not in DNS_ZONE_IDS; "
                    f"delegation of {child.name} not checked"
                )
                return
            key = (parent.zone_id, child.name, "NS")
            if key not in self.wanted:
                self.wanted[key] = _Wanted(
                    zone_id=parent.zone_id, record=delegation_record(child), domain_name=domain
                )

    def add_domain(self, domain: DomainBinding) -> None:
        name = domain.domain_name
        for validation in domain.validation_records:
            record = RecordSet(
                name=validation.name, type=validation.type, ttl=RECORD_TTL, values=(validation.value,)
            )
            zone = self.writable_zone(record, name)
            if zone is not None:
                self.want(zone, record, name)
        routed_types = ("A", "AAAA") if domain.ipv6 else ("A",)
        for target_name in domain.target_names:
            if not domain.route_ready:
                # Until the certificate is issued the names keep resolving where they do today; the
                # records we already own there stay as they are.
                self.protected.update({(target_name, "A"), (target_name, "AAAA"), (target_name, "CNAME")})
                continue
            zone = authoritative_zone(target_name, self.zones)
            apex = zone is not None and target_name == zone.name
            if not apex and not domain.alias_every_name:
                cname = RecordSet(name=target_name, type="CNAME", ttl=RECORD_TTL, values=(domain.dns_target,))
                zone = self.writable_zone(cname, name)
                if zone is not None:
                    self.want(zone, cname, name)
                continue
            alias_zone_id = domain.alias_zone_id or APPRUNNER_ALIAS_HOSTED_ZONE_IDS.get(self.region)
            if alias_zone_id is None:
                self.notes.append(
                    f"{name}: App Runner's ALIAS hosted zone id for region {self.region} is not known; "
                    f"no ALIAS planned for {target_name}"
                )
                self.protected.update({(target_name, "A"), (target_name, "AAAA")})
                continue
            alias = AliasTarget(hosted_zone_id=alias_zone_id, dns_name=domain.dns_target)
            for record_type in routed_types:
                record = RecordSet(name=target_name, type=record_type, alias_target=alias)
                zone = self.writable_zone(record, name)
                if zone is not None:
                    self.want(zone, record, name)
                elif authoritative_zone(target_name, self.zones) is None:
                    break  # one CNAME by hand at another provider stands for both


def _by_hand_elsewhere(record: RecordSet) -> RecordSet:
    """Another DNS provider has no Route 53 ALIAS: the endpoint's name as a CNAME does the same job
    (below the apex; at an apex, the provider's own ALIAS/ANAME flattening)."""
    if record.alias_target is None:
        return record
    return RecordSet(name=record.name, type="CNAME", ttl=RECORD_TTL, values=(record.alias_target.dns_name,))


class _ZonePlanner:
    """Turns the desired records of one zone into changes and conflicts."""

    def __init__(self, zone: ZoneSnapshot, owner_id: str, take_over: bool) -> None:
        self.zone = zone
        self.owner_id = owner_id
        self.take_over = take_over
        self.deletes: list[Change] = []
        self.writes: list[Change] = []
        self.conflicts: list[Conflict] = []
        self.deleted: set[tuple[str, str, str | None]] = set()

    def _delete(self, record: RecordSet, domain: str) -> None:
        if record.key not in self.deleted:
            self.deleted.add(record.key)
            self.deletes.append(Change(action=ChangeAction.DELETE, record=record, domain_name=domain))

    def _write_marker(self, record: RecordSet, domain: str, slot: _MarkerSlot) -> None:
        marker = marker_record(record, self.zone.name, self.owner_id, domain)
        if slot.record is None or slot.record.key in self.deleted:
            self.writes.append(Change(action=ChangeAction.CREATE, record=marker, domain_name=domain))
        elif not slot.record.identical(marker):
            self.writes.append(
                Change(action=ChangeAction.UPSERT, record=marker, previous=slot.record, domain_name=domain)
            )

    def _reason(self, slot: _MarkerSlot) -> str:
        if slot.marker is not None and slot.marker.owner_id != self.owner_id:
            return f"owned by pushpilot stack {slot.marker.owner_id}"
        return "not ours"

    def _conflicts(
        self, found: Sequence[tuple[RecordSet, str, RecordSet | None]], domain: str
    ) -> list[Conflict]:
        """Records in the way: replaced only on take-over, and only if every one of them can be."""
        replaceable = self.take_over and all(record.set_identifier is None for record, _, _ in found)
        conflicts = [
            Conflict(
                zone_id=self.zone.zone_id,
                zone_name=self.zone.name,
                record=record,
                reason=reason if record.set_identifier is None else f"{reason}; has a routing policy",
                domain_name=domain,
                marker=marker,
                replaced=replaceable,
            )
            for record, reason, marker in found
        ]
        self.conflicts.extend(conflicts)
        return conflicts

    def plan(self, wanted: Sequence[_Wanted]) -> None:
        groups: dict[str, list[_Wanted]] = defaultdict(list)
        for item in wanted:
            # A and AAAA of one name move together: half a dual-stack switch sends some clients to
            # the old host and some to the service.
            group = item.record.name if item.record.type in {"A", "AAAA"} else f"{item.record.key}"
            groups[group].append(item)
        for items in groups.values():
            deletes, writes, conflicts = len(self.deletes), len(self.writes), len(self.conflicts)
            deleted = set(self.deleted)
            blocked = [item for item in items if not self._plan_record(item.record, item.domain_name)]
            if blocked:
                del self.deletes[deletes:], self.writes[writes:]
                self.deleted = deleted
                self.conflicts[conflicts:] = [
                    conflict.model_copy(update={"replaced": False}) for conflict in self.conflicts[conflicts:]
                ]

    def _in_the_way(self, desired: RecordSet) -> list[RecordSet]:
        """Records that cannot coexist with the desired one: a CNAME owns its name alone."""
        here = self.zone.at(desired.name)
        same_type_routed = [r for r in here if r.type == desired.type and r.set_identifier is not None]
        if desired.type == "CNAME":
            return [*same_type_routed, *(r for r in here if r.type != "CNAME")]
        return [*same_type_routed, *(r for r in here if r.type == "CNAME")]

    def _plan_record(self, desired: RecordSet, domain: str) -> bool:
        """Plan one desired record; False when records we may not replace are in its way."""
        slot = _slot(self.zone, desired.name, desired.type)
        mine = slot.marker is not None and slot.marker.owner_id == self.owner_id
        existing = self.zone.find(desired.name, desired.type)
        owned_blockers: list[tuple[RecordSet, _MarkerSlot]] = []
        found: list[tuple[RecordSet, str, RecordSet | None]] = []
        for record in self._in_the_way(desired):
            record_slot = _slot(self.zone, record.name, record.type)
            if owned_by(self.zone, record, self.owner_id):
                owned_blockers.append((record, record_slot))
            else:
                foreign_marker = record_slot.record if record_slot.marker is not None else None
                found.append((record, self._reason(record_slot), foreign_marker))

        if existing is not None and existing.same_data(desired) and not found:
            # A correct record someone else made is left as it is, and stays theirs.
            if mine:
                if existing.ttl != desired.ttl:
                    self.writes.append(
                        Change(
                            action=ChangeAction.UPSERT, record=desired, previous=existing, domain_name=domain
                        )
                    )
                self._write_marker(desired, domain, slot)
            for record, record_slot in owned_blockers:
                self._remove_owned(record, record_slot, domain)
            return True

        if existing is not None and not mine:
            foreign_marker = slot.record if slot.marker is not None else None
            found.append((existing, self._reason(slot), foreign_marker))
        if slot.record is not None and not mine and (existing is None or slot.marker is None):
            # The marker's name is taken by a TXT that is not our marker: writing ours would clobber it.
            what = "TXT at our ownership marker's name" if slot.marker is None else "ownership marker"
            found.append((slot.record, f"{what}, {self._reason(slot)}", None))
        conflicts = self._conflicts(found, domain)
        if conflicts and not conflicts[0].replaced:
            return False
        for conflict in conflicts:
            self._delete(conflict.record, domain)
            if conflict.marker is not None:
                self._delete(conflict.marker, domain)
        for record, record_slot in owned_blockers:
            self._remove_owned(record, record_slot, domain)
        if existing is not None and mine:
            self.writes.append(
                Change(action=ChangeAction.UPSERT, record=desired, previous=existing, domain_name=domain)
            )
        else:
            self.writes.append(Change(action=ChangeAction.CREATE, record=desired, domain_name=domain))
        self._write_marker(desired, domain, slot)
        return True

    def _remove_owned(self, record: RecordSet, slot: _MarkerSlot, domain: str) -> None:
        self._delete(record, domain)
        if slot.record is not None:
            self._delete(slot.record, domain)

    def collect_garbage(
        self, wanted_keys: set[tuple[str, str]], planned_domains: set[str], protected: set[tuple[str, str]]
    ) -> None:
        """Remove records we own for a planned domain that it no longer needs (www turned off, a
        validation record App Runner replaced)."""
        for record in self.zone.records:
            if is_marker(record) or (record.name, record.type) in wanted_keys | protected:
                continue
            slot = _slot(self.zone, record.name, record.type)
            if (
                slot.marker is not None
                and slot.marker.owner_id == self.owner_id
                and slot.marker.domain_name in planned_domains
                and record.set_identifier is None
            ):
                self._remove_owned(record, slot, slot.marker.domain_name)

    def result(self) -> ZonePlan:
        return ZonePlan(
            zone_id=self.zone.zone_id, zone_name=self.zone.name, changes=(*self.deletes, *self.writes)
        )


def plan_dns(
    domains: Sequence[DomainBinding],
    zones: Sequence[ZoneSnapshot],
    *,
    owner_id: str,
    region: str,
    policy: DnsPolicy,
) -> DnsPlan:
    """What to change so every custom domain resolves and validates, touching only records we own."""
    if not re.match(OWNER_ID_PATTERN, owner_id):
        raise ValueError(f"owner id {owner_id!r} must match {OWNER_ID_PATTERN}")
    collector = _Collector(zones, policy, region)
    planned_domains: set[str] = set()
    for domain in sorted(domains, key=lambda d: d.domain_name):
        if domain.status in UNPLANNED_STATUSES:
            collector.notes.append(
                f"{domain.domain_name}: association is {domain.status}; no records planned"
            )
            continue
        planned_domains.add(domain.domain_name)
        collector.add_domain(domain)

    by_zone: dict[str, list[_Wanted]] = defaultdict(list)
    for wanted in collector.wanted.values():
        by_zone[wanted.zone_id].append(wanted)

    zone_plans: list[ZonePlan] = []
    conflicts: list[Conflict] = []
    for zone in sorted(collector.zones, key=lambda z: (z.name, z.zone_id)):
        if not zone.loaded or not policy.allows(zone.zone_id):
            continue
        wanted_here = sorted(by_zone.get(zone.zone_id, []), key=lambda w: (w.record.name, w.record.type))
        planner = _ZonePlanner(zone, owner_id, policy.take_over)
        planner.plan(wanted_here)
        planner.collect_garbage(
            {(w.record.name, w.record.type) for w in wanted_here}, planned_domains, collector.protected
        )
        conflicts.extend(planner.conflicts)
        zone_plan = planner.result()
        if zone_plan.changes:
            zone_plans.append(zone_plan)

    total = sum(len(zone_plan.changes) for zone_plan in zone_plans)
    refused = None
    if total > policy.max_changes:
        refused = (
            f"the plan has {total} changes, more than the limit of {policy.max_changes}; "
            f"review it and allow it with --max-changes {total} (or DNS_MAX_CHANGES)"
        )
    return DnsPlan(
        owner_id=owner_id,
        region=region,
        take_over=policy.take_over,
        zones=tuple(zone_plans),
        conflicts=tuple(conflicts),
        notes=tuple(dict.fromkeys(collector.notes)),
        manual=tuple(dict.fromkeys(collector.manual)),
        total_changes=total,
        refused=refused,
    )


# --- projecting and re-checking --------------------------------------------------------------------


class PlanMismatchError(PermanentError):
    """A change cannot apply to the zone as it is (Route 53 would reject the batch)."""


def _replay(
    zone: ZoneSnapshot, changes: Iterable[Change]
) -> tuple[dict[tuple[str, str, str | None], RecordSet], list[str]]:
    """Apply changes in order with Route 53's batch rules: CREATE needs a free slot, DELETE an exact
    match; an UPSERT must find what the plan saw there."""
    records = {record.key: record for record in zone.records}
    problems: list[str] = []
    for change in changes:
        key = change.record.key
        current = records.get(key)
        now = current.describe() if current is not None else "nothing"
        if change.action is ChangeAction.CREATE and current is not None:
            problems.append(f"{change.record.type} {change.record.name} now exists: {now}")
        elif change.action is ChangeAction.DELETE and (
            current is None or not current.identical(change.record)
        ):
            problems.append(f"{change.record.describe()} changed since planning: now {now}")
        elif change.action is ChangeAction.UPSERT and (
            current is None
            if change.previous is None
            else current is None or not current.identical(change.previous)
        ):
            was = change.previous.describe() if change.previous is not None else "nothing"
            problems.append(
                f"{change.record.type} {change.record.name} changed since planning: was {was}, now {now}"
            )
        if change.action is ChangeAction.DELETE:
            records.pop(key, None)
        else:
            records[key] = change.record
    return records, problems


def stale_changes(zone_plan: ZonePlan, zone: ZoneSnapshot) -> list[str]:
    """Why a saved plan no longer fits the zone as it is now (empty: safe to apply exactly)."""
    return _replay(zone, zone_plan.changes)[1]


def project_zone(zone: ZoneSnapshot, changes: Iterable[Change]) -> ZoneSnapshot:
    """The zone after the changes; raises PlanMismatchError where Route 53 would reject the batch."""
    records, problems = _replay(zone, changes)
    if problems:
        raise PlanMismatchError("; ".join(problems))
    return zone.model_copy(update={"records": tuple(records.values())})


def project(zones: Sequence[ZoneSnapshot], plan: DnsPlan) -> tuple[ZoneSnapshot, ...]:
    changes = {zone_plan.zone_id: zone_plan.changes for zone_plan in plan.zones}
    return tuple(project_zone(zone, changes.get(zone.zone_id, ())) for zone in zones)


# --- rendering -------------------------------------------------------------------------------------

_SYMBOLS = {ChangeAction.CREATE: "+", ChangeAction.UPSERT: "~", ChangeAction.DELETE: "-"}


def render_record(record: RecordSet) -> str:
    if record.alias_target is not None:
        data = f"ALIAS {record.alias_target.dns_name} (zone {record.alias_target.hosted_zone_id})"
    else:
        data = " ".join(record.values)
    return f"{record.type} {record.name} → {data}"


def render_plan_line(change: Change) -> str:
    if change.action is ChangeAction.DELETE:
        return f"- {change.record.describe()}"
    line = f"{_SYMBOLS[change.action]} {render_record(change.record)}"
    return f"{line}  (was {change.previous.describe()})" if change.previous is not None else line


def render_conflict(conflict: Conflict) -> str:
    if conflict.replaced:
        action = "replacing it: take-over is on"
    elif conflict.record.set_identifier is not None:
        action = "left alone"
    else:
        action = "--take-over to replace"
    return f"! conflict: {conflict.record.describe()} ({conflict.reason}; {action})"


def render_plan(plan: DnsPlan) -> str:
    """Readable text, like an infrastructure plan."""
    lines: list[str] = []
    for zone_plan in plan.zones:
        lines.append(f"zone {zone_plan.zone_name} ({zone_plan.zone_id})")
        lines.extend(f"  {render_plan_line(change)}" for change in zone_plan.changes)
    lines.extend(render_conflict(conflict) for conflict in plan.conflicts)
    lines.extend(f"note: {note}" for note in plan.notes)
    lines.extend(f"by hand: {manual.describe()}" for manual in plan.manual)
    counts = {action: sum(1 for c in plan.changes if c.action is action) for action in ChangeAction}
    if plan.total_changes:
        lines.append(
            f"Plan: {counts[ChangeAction.CREATE]} to create, {counts[ChangeAction.UPSERT]} to update, "
            f"{counts[ChangeAction.DELETE]} to delete."
        )
    else:
        lines.append("No changes: DNS matches the custom domains (apart from any conflicts above).")
    if plan.refused:
        lines.append(f"REFUSED: {plan.refused}")
    return "\n".join(lines)


# --- diagnosis -------------------------------------------------------------------------------------


class Finding(_Frozen):
    domain_name: str
    code: str
    cause: str
    fix: str
    record: RecordSet | None = None


def _validation_findings(domain: DomainBinding, zones: Sequence[ZoneSnapshot]) -> list[Finding]:
    findings: list[Finding] = []
    for validation in domain.validation_records:
        if validation.status == "SUCCESS":
            continue
        wanted = f"CNAME {validation.name} → {validation.value}"
        zone = authoritative_zone(validation.name, zones)
        if zone is None:
            findings.append(
                Finding(
                    domain_name=domain.domain_name,
                    code="validation-record-no-zone",
                    cause=f"no public hosted zone in this account holds {validation.name}",
                    fix=f"create {wanted} at the DNS provider that serves {domain.domain_name}",
                )
            )
            continue
        current = zone.find(validation.name, validation.type)
        if current is None:
            findings.append(
                Finding(
                    domain_name=domain.domain_name,
                    code="validation-record-missing",
                    cause=(
                        f"validation record {validation.name} is missing from zone "
                        f"{zone.name} ({zone.zone_id})"
                    ),
                    fix=f"create {wanted} (`pushpilot dns apply`)",
                )
            )
        elif not current.same_data(
            RecordSet(name=validation.name, type=validation.type, values=(validation.value,))
        ):
            findings.append(
                Finding(
                    domain_name=domain.domain_name,
                    code="validation-record-wrong",
                    cause=f"validation record has another value: {current.describe()}",
                    fix=f"change it to {wanted} (`pushpilot dns apply --take-over` if it is not ours)",
                    record=current,
                )
            )
        findings.extend(_delegation_findings(domain, zone, zones))
    return findings


def _registrar_findings(
    domain: DomainBinding, zone: ZoneSnapshot, zones: Sequence[ZoneSnapshot]
) -> list[Finding]:
    """The topmost zone in the account answers only if the registrar names its own name servers."""
    chain = zone_chain(zone, zones)
    top = chain[-1][0] if chain else zone
    registrar = top.registrar_name_servers
    if registrar is None or not top.name_servers:
        return []
    if {_canonical_target(ns) for ns in registrar} == {_canonical_target(ns) for ns in top.name_servers}:
        return []
    return [
        Finding(
            domain_name=domain.domain_name,
            code="zone-not-delegated",
            cause=(
                f"the registrar of {top.name} lists name servers {' '.join(registrar)}, not those of hosted "
                f"zone {top.zone_id}: nobody sees the records pushpilot writes there"
            ),
            fix=f"set the name servers of {top.name} at its registrar to {' '.join(top.name_servers)}",
        )
    ]


def _delegation_findings(
    domain: DomainBinding, zone: ZoneSnapshot, zones: Sequence[ZoneSnapshot]
) -> list[Finding]:
    findings: list[Finding] = _registrar_findings(domain, zone, zones)
    for parent, child in zone_chain(zone, zones):
        if not child.name_servers:
            continue
        wanted = delegation_record(child)
        current = parent.find(child.name, "NS")
        if current is not None and current.same_data(wanted):
            continue
        state = "has no NS record" if current is None else f"delegates elsewhere ({current.describe()})"
        findings.append(
            Finding(
                domain_name=domain.domain_name,
                code="zone-not-delegated",
                cause=(
                    f"zone {child.name} ({child.zone_id}) is not authoritative: parent zone {parent.name} "
                    f"{state} for {child.name}"
                ),
                fix=(
                    f"set NS {child.name} → {' '.join(child.name_servers)} "
                    f"in zone {parent.name} ({parent.zone_id})"
                ),
                record=current,
            )
        )
    return findings


def _target_findings(domain: DomainBinding, zones: Sequence[ZoneSnapshot]) -> list[Finding]:
    findings: list[Finding] = []
    target = _canonical_target(domain.dns_target)
    for name in domain.target_names:
        zone = authoritative_zone(name, zones)
        if zone is None:
            continue
        for record in zone.at(name):
            if not domain.route_ready:
                # Only the certificate matters yet; a CNAME at the name sends ACM's CAA check (and
                # every resolver) to its target, and leaves no room for the ALIAS records to come.
                if (
                    record.type == "CNAME"
                    and _canonical_target(record.values[0] if record.values else "") != target
                ):
                    findings.append(
                        Finding(
                            domain_name=domain.domain_name,
                            code="name-is-cname",
                            cause=(
                                f"{name} is itself a CNAME ({record.describe()}): CAA is checked at its "
                                "target, and no ALIAS record can stand beside it"
                            ),
                            fix=(
                                f"remove the CNAME at {name}, or let pushpilot replace it "
                                "(`pushpilot dns apply --take-over`)"
                            ),
                            record=record,
                        )
                    )
                continue
            if record.type == "CNAME" and name == zone.name:
                findings.append(
                    Finding(
                        domain_name=domain.domain_name,
                        code="cname-at-apex",
                        cause=f"{name} is the apex of zone {zone.name}: a CNAME cannot exist there",
                        fix=f"replace it with ALIAS A and AAAA records → {domain.dns_target}",
                        record=record,
                    )
                )
            elif record.type in {"A", "AAAA", "CNAME"}:
                points_at = (
                    {_canonical_target(record.alias_target.dns_name)}
                    if record.alias_target is not None
                    else {_canonical_target(v) for v in record.values}
                )
                if points_at != {target}:
                    findings.append(
                        Finding(
                            domain_name=domain.domain_name,
                            code="points-elsewhere",
                            cause=f"{name} points elsewhere: {record.describe()}",
                            fix=f"point {name} at {domain.dns_target} (`pushpilot dns apply --take-over`)",
                            record=record,
                        )
                    )
    return findings


def _caa_allows_amazon(record: RecordSet, wildcard: bool) -> bool:
    entries: list[tuple[str, str]] = []
    for value in record.values:
        parts = value.split(None, 2)
        if len(parts) == 3:
            issuer = parts[2].strip().strip('"').split(";", 1)[0].strip().lower()
            entries.append((parts[1].lower(), issuer))
    tag = "issuewild" if wildcard and any(t == "issuewild" for t, _ in entries) else "issue"
    issuers = [issuer for t, issuer in entries if t == tag]
    # A CAA set without issue properties (only iodef, say) restricts nobody.
    return not issuers or any(issuer in AMAZON_CAA_ISSUERS for issuer in issuers)


def _caa_findings(domain: DomainBinding, zones: Sequence[ZoneSnapshot]) -> list[Finding]:
    findings: list[Finding] = []
    for name in domain.certificate_names:
        wildcard = name.startswith("*.")
        tag = "issuewild" if wildcard else "issue"
        # RFC 8659: the relevant CAA set is the one at the name or, failing that, its closest ancestor.
        candidate = name.removeprefix("*.")
        while candidate:
            zone = authoritative_zone(candidate, zones)
            caa = zone.find(candidate, "CAA") if zone is not None else None
            if caa is not None:
                if not _caa_allows_amazon(caa, wildcard):
                    findings.append(
                        Finding(
                            domain_name=domain.domain_name,
                            code="caa-forbids-amazon",
                            cause=f"CAA at {candidate} lets no Amazon CA issue for {name}: {caa.describe()}",
                            fix=f'add 0 {tag} "amazon.com" to the CAA record at {candidate}',
                            record=caa,
                        )
                    )
                break
            candidate = candidate.partition(".")[2]
    return findings


def needs_diagnosis(
    domain: DomainBinding, now: datetime, pending_since: datetime | None, pending_hours: float
) -> bool:
    if domain.status in FAILED_STATUSES:
        return True
    if domain.status not in PENDING_STATUSES or pending_since is None:
        return False
    return now - pending_since >= timedelta(hours=pending_hours)


def _ended_findings(domain: DomainBinding) -> list[Finding]:
    """A certificate ACM gave up on (72 hours without validating) or failed (a CAA record, say) will
    never be issued: a new one must be requested."""
    if domain.certificate_arn is None or domain.status not in {TIMED_OUT, "FAILED"}:
        return []
    if domain.status == TIMED_OUT:
        cause = (
            f"ACM tried to validate the certificate for {domain.domain_name} for 72 hours and gave up "
            f"({domain.certificate_arn} is {TIMED_OUT}); it will never be issued"
        )
    else:
        cause = (
            f"ACM failed the certificate for {domain.domain_name} ({domain.certificate_arn}); "
            "it will never be issued"
        )
    return [
        Finding(
            domain_name=domain.domain_name,
            code="request-new-certificate",
            cause=cause,
            fix=(
                "fix the other causes listed, then request a new certificate for the same names and attach "
                "it to the HTTPS listener (pushpilot writes its validation records)"
            ),
        )
    ]


def diagnose(
    domain_state: DomainBinding,
    zones: Sequence[ZoneSnapshot],
    now: datetime,
    pending_since: datetime | None,
    pending_hours: float,
) -> list[Finding]:
    """What keeps the certificate of a domain from validating, once it has waited long enough or failed."""
    if not needs_diagnosis(domain_state, now, pending_since, pending_hours):
        return []
    public = [zone for zone in zones if not zone.private]
    findings = [
        *_validation_findings(domain_state, public),
        *_target_findings(domain_state, public),
        *_caa_findings(domain_state, public),
        *_ended_findings(domain_state),
    ]
    return list(dict.fromkeys(findings))


def advise(domain: DomainBinding, zones: Sequence[ZoneSnapshot], now: datetime) -> list[Finding]:
    """What people should fix that pushpilot never writes: the source's advisories (listeners,
    redirects, attachments), and a certificate about to expire that cannot renew because its
    validation record is gone."""
    findings = [
        Finding(domain_name=domain.domain_name, code=advisory.code, cause=advisory.cause, fix=advisory.fix)
        for advisory in domain.advisories
    ]
    expires = domain.certificate_expires_at
    if domain.status in VALIDATED_STATUSES and expires is not None and expires - now <= RENEWAL_WINDOW:
        public = [zone for zone in zones if not zone.private]
        for validation in domain.validation_records:
            wanted = RecordSet(name=validation.name, type=validation.type, values=(validation.value,))
            zone = authoritative_zone(validation.name, public)
            current = zone.find(validation.name, validation.type) if zone is not None else None
            if current is None or not current.same_data(wanted):
                findings.append(
                    Finding(
                        domain_name=domain.domain_name,
                        code="renewal-blocked",
                        cause=(
                            f"the certificate for {domain.domain_name} expires {expires.date().isoformat()} "
                            f"and cannot renew: its validation record {validation.name} is "
                            f"{'gone' if current is None else 'changed'}"
                        ),
                        fix=f"restore CNAME {validation.name} → {validation.value} (`pushpilot dns apply`)",
                        record=current,
                    )
                )
    return list(dict.fromkeys(findings))
