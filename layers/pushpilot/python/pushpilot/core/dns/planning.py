"""Planning: the changes that make the zones hold what the bindings want, touching only owned records.

Custom-domain DNS, as data: the records each domain binding needs, compared with the hosted zones'
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

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pushpilot.core.dns import OWNER_ID_PATTERN
from pushpilot.core.dns.models import (
    RECORD_TTL,
    UNPLANNED_STATUSES,
    AliasTarget,
    Change,
    ChangeAction,
    Conflict,
    DnsPlan,
    DnsPolicy,
    DomainBinding,
    FrozenModel,
    ManualRecord,
    RecordSet,
    ZonePlan,
    ZoneSnapshot,
)
from pushpilot.core.dns.ownership import MarkerSlot, is_marker, marker_record, marker_slot, owned_by
from pushpilot.core.dns.zones import authoritative_zone, delegation_record, zone_chain
from pushpilot.core.errors import PermanentError

# --- planning --------------------------------------------------------------------------------------


class _Wanted(FrozenModel):
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
            alias_zone_id = domain.alias_zone_id or domain.alias_zone_ids.get(self.region)
            if alias_zone_id is None:
                self.notes.append(
                    f"{name}: {domain.service_kind}'s ALIAS hosted zone id for region {self.region} is not"
                    f" known; no ALIAS planned for {target_name}"
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

    def _write_marker(self, record: RecordSet, domain: str, slot: MarkerSlot) -> None:
        marker = marker_record(record, self.zone.name, self.owner_id, domain)
        if slot.record is None or slot.record.key in self.deleted:
            self.writes.append(Change(action=ChangeAction.CREATE, record=marker, domain_name=domain))
        elif not slot.record.identical(marker):
            self.writes.append(
                Change(action=ChangeAction.UPSERT, record=marker, previous=slot.record, domain_name=domain)
            )

    def _reason(self, slot: MarkerSlot) -> str:
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
        slot = marker_slot(self.zone, desired.name, desired.type)
        mine = slot.marker is not None and slot.marker.owner_id == self.owner_id
        existing = self.zone.find(desired.name, desired.type)
        owned_blockers: list[tuple[RecordSet, MarkerSlot]] = []
        found: list[tuple[RecordSet, str, RecordSet | None]] = []
        for record in self._in_the_way(desired):
            record_slot = marker_slot(self.zone, record.name, record.type)
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

    def _remove_owned(self, record: RecordSet, slot: MarkerSlot, domain: str) -> None:
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
            slot = marker_slot(self.zone, record.name, record.type)
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
    unlisted = tuple(zone_plan.zone_id for zone_plan in zone_plans) if not policy.writes else ()
    for zone in zones:
        if zone.private and zone.zone_id in policy.zone_ids:
            collector.notes.append(
                f"zone {zone.name} ({zone.zone_id}) is private: pushpilot never writes a private zone, "
                "even one DnsZoneIds lists; remove it from DnsZoneIds"
            )
    if unlisted:
        where = ", ".join(f"zone {zone_plan.zone_name} ({zone_plan.zone_id})" for zone_plan in zone_plans)
        refused = (
            f"would change {total} record(s) in {where}; "
            f"set DnsZoneIds to {','.join(unlisted)} to let pushpilot apply it"
        )
    elif total > policy.max_changes:
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
        unlisted_zones=unlisted,
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
