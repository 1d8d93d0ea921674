"""The DNS reconcile use case: read every target's domain bindings and their zones, plan, apply what the
policy allows, diagnose blocked validations, advise, and say what happened as notices (worded in
core/dns/notices.py). What it talks to comes as one bundle of ports (`DnsPorts`, Protocols in ports.py),
what it may do as its rules (`ReconcileRules`).

The notices of a run are held in an outbox before anything changes and released once queued
(`deliver`), so a run that applied its records and then failed to queue its notices is told by its
retry, whose own plan is empty (see core/dns_outbox)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from pushpilot.core.dns.diagnosis import Finding, advise, diagnose, needs_diagnosis
from pushpilot.core.dns.models import (
    PENDING_STATUSES,
    DnsPlan,
    DnsPolicy,
    DomainBinding,
    ZonePlan,
    ZoneSnapshot,
    is_within,
    render_record,
)
from pushpilot.core.dns.notices import (
    advice_notice,
    awaiting,
    blocked_notice,
    conflict_notice,
    planned_notices,
    validated_notices,
)
from pushpilot.core.dns.outbox import HeldNotices, held_key, in_effect
from pushpilot.core.dns.planning import plan_dns, project
from pushpilot.core.dns.triggers import DnsTrigger
from pushpilot.core.dns.zones import parent_zone
from pushpilot.core.errors import NotFoundError
from pushpilot.core.notices import Notice
from pushpilot.ports import (
    DnsNoticeOutbox,
    DomainBindingSource,
    NoticeSink,
    PendingTracker,
    Registrar,
    TriggerEvent,
    ZoneStore,
)


class AllBindings:
    """Every target's bindings as one source: the planner sees them together, so a name wanted by two
    services is noticed, and one zone gets one change batch."""

    def __init__(self, *sources: DomainBindingSource) -> None:
        self.sources = sources

    def list_all(self) -> list[DomainBinding]:
        return [binding for source in self.sources for binding in source.list_all()]

    def for_service(self, service_arn_or_name: str) -> list[DomainBinding]:
        found: list[DomainBinding] = []
        missing: list[NotFoundError] = []
        for source in self.sources:
            try:
                found.extend(source.for_service(service_arn_or_name))
            except NotFoundError as exc:
                missing.append(exc)
        if missing and len(missing) == len(self.sources):
            raise NotFoundError("; ".join(str(exc) for exc in missing))
        return found


def with_registrar(zones: Sequence[ZoneSnapshot], registrar: Registrar) -> tuple[ZoneSnapshot, ...]:
    """The topmost zones in the account (no parent zone here), with what their registrar lists."""
    return tuple(
        zone.model_copy(update={"registrar_name_servers": registrar.name_servers(zone.name)})
        if zone.loaded and not zone.private and parent_zone(zone, zones) is None
        else zone
        for zone in zones
    )


class ReconcileResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan: DnsPlan
    applied: bool
    notices: tuple[Notice, ...] = ()
    findings: tuple[Finding, ...] = ()
    advice: tuple[Finding, ...] = ()
    # Outbox items whose notices are in `notices`: released once those are queued.
    held_keys: tuple[str, ...] = ()


def names_of_interest(domains: Iterable[DomainBinding]) -> set[str]:
    return {
        name
        for domain in domains
        for name in (
            *domain.certificate_names,
            *(record.name for record in domain.validation_records),
        )
    }


def read_zones(
    zones: ZoneStore, domains: Sequence[DomainBinding], policy: DnsPolicy
) -> tuple[ZoneSnapshot, ...]:
    """Snapshots of the public zones that can hold the domains' names; zones outside the allow-list are
    only named (their records are neither read nor written). A private zone DnsZoneIds lists is named
    too, so the plan can say why it is never written."""
    names = names_of_interest(domains)
    listed = zones.list_zones()
    relevant = [ref for ref in listed if not ref.private and any(is_within(name, ref.name) for name in names)]
    private = [
        ZoneSnapshot(zone_id=ref.zone_id, name=ref.name, private=True, loaded=False)
        for ref in listed
        if ref.private and ref.zone_id in policy.zone_ids
    ]
    return (
        *(
            zones.snapshot(ref.zone_id)
            if policy.allows(ref.zone_id)
            else ZoneSnapshot(zone_id=ref.zone_id, name=ref.name, loaded=False)
            for ref in relevant
        ),
        *private,
    )


def _recover_held(outbox: DnsNoticeOutbox, zones: ZoneStore) -> tuple[list[Notice], list[str]]:
    """Notices an earlier run held and never released: told now when the changes they announce are in
    the zones; dropped (released untold) when they are not, since then they would not be true."""
    notices: list[Notice] = []
    keys: list[str] = []
    for held in outbox.held():
        if all(_zone_in_effect(zone_plan, zones) for zone_plan in held.zones):
            notices.extend(held.notices)
        keys.append(held.key)
    return notices, keys


def _zone_in_effect(zone_plan: ZonePlan, zones: ZoneStore) -> bool:
    try:
        return in_effect(zone_plan, zones.snapshot(zone_plan.zone_id))
    except NotFoundError:
        return False  # the zone is gone: what the notices announce is not there


@dataclass
class DnsPorts:
    """What a reconcile reads, changes and remembers. Production wires Route 53, the registrar and the
    table (entry/wiring.py); tests wire moto or in-memory sources. Without a pending tracker, outbox or
    registrar, the run does without what each gives (first sightings, held notices, name servers)."""

    domains: DomainBindingSource
    zones: ZoneStore
    pending: PendingTracker | None = None
    outbox: DnsNoticeOutbox | None = None
    registrar: Registrar | None = None


class ReconcileRules(BaseModel):
    """What a run may do: the policy (zones, threshold, take-over), whose records it owns, the services'
    region, whether it applies (and waits for Route 53 to be in sync), and how long a validation may
    wait before it is diagnosed."""

    model_config = ConfigDict(frozen=True)

    policy: DnsPolicy
    owner_id: str
    region: str
    apply: bool
    pending_hours: float = 2.0
    wait: bool = False


class _Findings(BaseModel):
    """What a run found wrong (blocked validations) and what it advises, by domain."""

    model_config = ConfigDict(frozen=True)

    blocked: dict[str, list[Finding]]
    advice: dict[str, list[Finding]]


def reconcile(
    ports: DnsPorts,
    rules: ReconcileRules,
    *,
    service: str | None = None,
    trigger: TriggerEvent | DnsTrigger | None = None,
    now: datetime | None = None,
    pending_since: Mapping[str, datetime] | None = None,
) -> ReconcileResult:
    """Read → plan → hold the notices → apply (only when asked and not refused) → notices.

    A pending validation is diagnosed once it has waited `rules.pending_hours`, counted from
    `pending_since` or, when that is not given, from the first sighting the pending tracker remembers.
    With an outbox, the run's notices are held before any change (to Route 53 or to the tracker) and the
    result names the held items to release once the notices are queued (`deliver`)."""
    now = now or datetime.now(UTC)
    event = trigger.dns_trigger() if trigger is not None and not isinstance(trigger, DnsTrigger) else trigger
    occurred_at = event.time.isoformat() if event is not None else now.isoformat()
    outbox = ports.outbox
    recovered, held_keys = _recover_held(outbox, ports.zones) if outbox is not None else ([], [])
    states = ports.domains.for_service(service) if service else ports.domains.list_all()
    snapshots = read_zones(ports.zones, states, rules.policy)
    plan = plan_dns(states, snapshots, owner_id=rules.owner_id, region=rules.region, policy=rules.policy)
    applying = rules.apply and plan.applicable

    # Everything below speaks of the zones as they will be: after an apply, the projected state.
    current = project(snapshots, plan) if applying else snapshots
    known = ports.pending.known() if ports.pending is not None else {}
    if pending_since is None:
        pending_since = {
            state.domain_name: known.get(state.domain_name, now)
            for state in states
            if state.status in PENDING_STATUSES
        }
    if ports.registrar is not None and any(
        needs_diagnosis(state, now, pending_since.get(state.domain_name), rules.pending_hours)
        for state in states
    ):
        # Asked only when something is to be diagnosed: one call per topmost zone.
        current = with_registrar(current, ports.registrar)
    # Live since the last run: it was waiting then, or this run routes it.
    settled = {
        state.domain_name
        for state in states
        if not awaiting(state, current)
        and (state.domain_name in known or (applying and awaiting(state, snapshots)))
    }
    found = _find(
        states, plan, current, now=now, pending_since=pending_since, pending_hours=rules.pending_hours
    )
    notices = _notices(states, plan, found, occurred_at, applying=applying)
    notices.extend(validated_notices(event, states, current, settled, settled_at=_now_text()))

    if outbox is not None and notices:
        held = HeldNotices(
            key=held_key(notices, plan.zones if applying else ()),
            held_at=now.isoformat(),
            zones=plan.zones if applying else (),
            notices=tuple(notices),
        )
        outbox.hold(held)
        held_keys.append(held.key)

    applied = False
    if applying:
        for zone_plan in plan.zones:
            ports.zones.apply(zone_plan, wait=rules.wait)
        applied = True
    if ports.pending is not None:
        # Issued but not routed yet counts as waiting, so its "live" is told once it is.
        waiting = [
            state.model_copy(update={"status": "PENDING_VALIDATION"}) if awaiting(state, current) else state
            for state in states
        ]
        ports.pending.track(waiting, now, complete=service is None)

    return ReconcileResult(
        plan=plan,
        applied=applied,
        notices=(*recovered, *notices),
        findings=tuple(finding for findings in found.blocked.values() for finding in findings),
        advice=tuple(finding for advice in found.advice.values() for finding in advice),
        held_keys=tuple(dict.fromkeys(held_keys)),
    )


def _find(
    states: Sequence[DomainBinding],
    plan: DnsPlan,
    current: Sequence[ZoneSnapshot],
    *,
    now: datetime,
    pending_since: Mapping[str, datetime],
    pending_hours: float,
) -> _Findings:
    blocked = {
        state.domain_name: diagnose(state, current, now, pending_since.get(state.domain_name), pending_hours)
        for state in states
    }
    advice = {state.domain_name: advise(state, current, now) for state in states}
    for manual in plan.manual:
        # A record the stack may not write is told with its exact content, to be made by hand.
        advice.setdefault(manual.domain_name, []).append(
            Finding(
                domain_name=manual.domain_name,
                code="create-by-hand",
                cause=f"{manual.record.name} needs a record pushpilot may not write: {manual.where}",
                fix=f"create {render_record(manual.record)} by hand",
                record=manual.record,
            )
        )
    return _Findings(blocked=blocked, advice=advice)


def _notices(
    states: Sequence[DomainBinding], plan: DnsPlan, found: _Findings, occurred_at: str, *, applying: bool
) -> list[Notice]:
    notices: list[Notice] = [conflict_notice(conflict, occurred_at) for conflict in plan.conflicts]
    notices.extend(planned_notices(plan, applying, occurred_at))
    notices.extend(
        blocked_notice(state, found.blocked[state.domain_name], occurred_at)
        for state in states
        if found.blocked[state.domain_name]
    )
    advised = {state.domain_name: state for state in states}
    notices.extend(
        advice_notice(advised[domain_name], advice, occurred_at)
        for domain_name, advice in found.advice.items()
        if advice and domain_name in advised
    )
    return notices


def _now_text() -> str:
    return datetime.now(UTC).isoformat()


def deliver(result: ReconcileResult, sink: NoticeSink, outbox: DnsNoticeOutbox | None = None) -> None:
    """Queue the run's notices, then release what was held for them: a failure in between leaves them
    held for the next run (notices are deduplicated downstream by their keys)."""
    for notice in result.notices:
        sink.publish(notice)
    if outbox is not None:
        for key in result.held_keys:
            outbox.release(key)
