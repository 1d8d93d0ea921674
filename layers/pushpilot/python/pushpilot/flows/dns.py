"""Custom-domain DNS, end to end: read every target's domain bindings and their zones, plan, apply what
the policy allows, diagnose blocked validations, advise, and say what happened as notices.

The notices of a run are held in an outbox before anything changes and released once queued
(`deliver`), so a run that applied its records and then failed to queue its notices is told by its
retry, whose own plan is empty (see core/dns_outbox)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpilot.core.dns.diagnosis import Finding, advise, diagnose, needs_diagnosis
from pushpilot.core.dns.models import (
    OWNER_ID_PATTERN,
    PENDING_STATUSES,
    VALIDATED_STATUSES,
    Conflict,
    DnsPlan,
    DnsPolicy,
    DomainBinding,
    RecordSet,
    ZonePlan,
    ZoneSnapshot,
    canonical_target,
    is_within,
    render_record,
)
from pushpilot.core.dns.outbox import HeldNotices, held_key, in_effect
from pushpilot.core.dns.ownership import is_marker
from pushpilot.core.dns.planning import plan_dns, project
from pushpilot.core.dns.rendering import render_conflict, render_plan_line
from pushpilot.core.dns.triggers import DnsTrigger
from pushpilot.core.dns.zones import authoritative_zone, parent_zone
from pushpilot.core.errors import NotFoundError
from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.entry.settings import EnvSettings
from pushpilot.ports import DnsNoticeOutbox, DomainBindingSource, NoticeSink


class HostedZoneSummary(Protocol):
    @property
    def zone_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def private(self) -> bool: ...


class TriggerEvent(Protocol):
    """An event model that says what set a reconcile off (App Runner's, ACM's)."""

    def dns_trigger(self) -> DnsTrigger: ...


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


class PendingTracker(Protocol):
    """Remembers since when each domain has waited for validation; PendingDomains is the real one."""

    def known(self) -> Mapping[str, datetime]:
        """Every domain tracked as waiting, with its first sighting; changes nothing."""
        ...

    def track(
        self, states: Sequence[DomainBinding], now: datetime, *, complete: bool = True
    ) -> Mapping[str, datetime]: ...


class ZoneStore(Protocol):
    """What reconcile reads and changes zones with; Route53Zones is the real one."""

    def list_zones(self) -> Sequence[HostedZoneSummary]: ...

    def snapshot(self, zone_id: str) -> ZoneSnapshot: ...

    def apply(self, zone_plan: ZonePlan, *, wait: bool = False) -> str | None: ...


class Registrar(Protocol):
    """The name servers a domain's registrar lists; RegisteredDomains (Route 53 Domains) is the real one."""

    def name_servers(self, domain: str) -> tuple[str, ...] | None: ...


def with_registrar(zones: Sequence[ZoneSnapshot], registrar: Registrar) -> tuple[ZoneSnapshot, ...]:
    """The topmost zones in the account (no parent zone here), with what their registrar lists."""
    return tuple(
        zone.model_copy(update={"registrar_name_servers": registrar.name_servers(zone.name)})
        if zone.loaded and not zone.private and parent_zone(zone, zones) is None
        else zone
        for zone in zones
    )


class DnsSettings(EnvSettings):
    zone_ids: tuple[str, ...] = Field(default=(), alias="DNS_ZONE_IDS")
    take_over: bool = Field(default=False, alias="DNS_TAKE_OVER")
    max_changes: int = Field(default=20, ge=0, alias="DNS_MAX_CHANGES")
    owner_id: str = Field(alias="DNS_OWNER_ID", pattern=OWNER_ID_PATTERN)
    validation_pending_hours: float = Field(default=2, gt=0, alias="DNS_VALIDATION_PENDING_HOURS")
    dry_run: bool = Field(default=False, alias="DRY_RUN")
    region: str = Field(default="us-east-1", alias="AWS_REGION")

    @field_validator("zone_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rsplit("/", 1)[-1] for part in value.split(",") if part.strip())
        return value

    def policy(self) -> DnsPolicy:
        return DnsPolicy(take_over=self.take_over, max_changes=self.max_changes, zone_ids=self.zone_ids)


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


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


def _thread(domain_name: str) -> str:
    return f"domain:{domain_name}"


def conflict_notice(conflict: Conflict, occurred_at: str) -> Notice:
    record = conflict.record
    if conflict.replaced:
        next_step = "take-over is on: pushpilot replaces exactly this record set"
    elif record.set_identifier is not None:
        next_step = "it has a routing policy, which pushpilot never replaces: remove or change it by hand"
    else:
        next_step = (
            "remove it yourself, or let pushpilot replace exactly this record set: set DNS_TAKE_OVER=true "
            "or run `pushpilot dns apply --take-over`"
        )
    return Notice(
        kind=NoticeKind.DOMAIN_CONFLICT,
        severity=Severity.WARNING,
        title=f"DNS conflict for {conflict.domain_name}: {record.type} {record.name}",
        summary=f"{record.describe()} in zone {conflict.zone_name} is in the way ({conflict.reason}).",
        next_step=next_step,
        details=(render_conflict(conflict),),
        thread_key=_thread(conflict.domain_name),
        dedupe_key=(
            f"domain-conflict:{conflict.zone_id}:{record.name}:{record.type}:"
            f"{_digest(record.values or (record.describe(),))}:{conflict.replaced}"
        ),
        occurred_at=occurred_at,
    )


def planned_notices(plan: DnsPlan, applied: bool, occurred_at: str) -> list[Notice]:
    by_domain: dict[str, list[str]] = {}
    for zone_plan in plan.zones:
        for change in zone_plan.changes:
            if not is_marker(change.record):
                by_domain.setdefault(change.domain_name or "", []).append(render_plan_line(change))
    notices: list[Notice] = []
    for domain_name, lines in sorted(by_domain.items()):
        if applied:
            title, severity, next_step = f"DNS updated for {domain_name}", Severity.SUCCESS, None
        elif plan.unlisted_zones:
            # Told with the fix, and keyed on the plan: the same plan is told once, not at every run.
            title, severity, next_step = (
                f"DNS changes for {domain_name} wait for DnsZoneIds",
                Severity.WARNING,
                plan.refused,
            )
        elif plan.refused:
            title, severity, next_step = (
                f"DNS changes refused for {domain_name}",
                Severity.WARNING,
                plan.refused,
            )
        else:
            title, severity = f"DNS changes planned for {domain_name}", Severity.INFO
            next_step = "dry run: review, then run `pushpilot dns apply`"
        state = (
            "applied"
            if applied
            else "unlisted"
            if plan.unlisted_zones
            else "refused"
            if plan.refused
            else "planned"
        )
        notices.append(
            Notice(
                kind=NoticeKind.DOMAIN_PLANNED,
                severity=severity,
                title=title,
                summary=(
                    f"{len(lines)} record change(s) planned, none written: DnsZoneIds lists no zone."
                    if plan.unlisted_zones
                    else f"{len(lines)} record change(s) {state} (ownership markers not counted)."
                ),
                next_step=next_step,
                details=tuple(lines),
                thread_key=_thread(domain_name),
                dedupe_key=f"domain-planned:{domain_name}:{state}:{_digest(lines)}",
                occurred_at=occurred_at,
            )
        )
    return notices


def _on(domain: DomainBinding) -> str:
    return (
        domain.service_name
        if domain.service_kind == "App Runner"
        else f"{domain.service_name} ({domain.service_kind})"
    )


def _described(record: RecordSet | None) -> str:
    return record.describe() if record is not None else ""


def blocked_notice(domain: DomainBinding, findings: Sequence[Finding], occurred_at: str) -> Notice:
    return Notice(
        kind=NoticeKind.DOMAIN_BLOCKED,
        severity=Severity.FAILURE
        if domain.status in {"CREATE_FAILED", "FAILED", "VALIDATION_TIMED_OUT"}
        else Severity.WARNING,
        title=f"Certificate validation for {domain.domain_name} is blocked",
        summary=(
            f"{domain.domain_name} on {_on(domain)} is {domain.status}; {len(findings)} cause(s) found."
        ),
        next_step=findings[0].fix if findings else None,
        details=tuple(f"{finding.cause} → {finding.fix}" for finding in findings),
        thread_key=_thread(domain.domain_name),
        # What is wrong and what to do, not the wording of the cause (which names run-specific ids).
        dedupe_key=(
            f"domain-blocked:{domain.domain_name}:{domain.status}:"
            f"{_digest(f'{finding.code}:{finding.fix}:{_described(finding.record)}' for finding in findings)}"
        ),
        occurred_at=occurred_at,
    )


def advice_notice(domain: DomainBinding, advice: Sequence[Finding], occurred_at: str) -> Notice:
    return Notice(
        kind=NoticeKind.DOMAIN_ADVICE,
        severity=Severity.WARNING,
        title=f"Advice for {domain.domain_name} on {_on(domain)}",
        summary=f"{len(advice)} thing(s) to fix by hand; pushpilot changes no listener or certificate.",
        next_step=advice[0].fix if advice else None,
        details=tuple(f"{finding.cause} → {finding.fix}" for finding in advice),
        thread_key=_thread(domain.domain_name),
        dedupe_key=(
            f"domain-advice:{domain.domain_name}:"
            f"{_digest(f'{finding.code}:{finding.cause}' for finding in advice)}"
        ),
        occurred_at=occurred_at,
    )


def _live_notice(domain: DomainBinding, dedupe_key: str, occurred_at: str) -> Notice:
    if domain.certificate_arn is not None:
        summary = (
            f"ACM issued the certificate for {domain.domain_name} and its names point at {domain.dns_target}."
        )
    else:
        summary = f"App Runner validated the certificate for {domain.domain_name}; the domain is ACTIVE."
    return Notice(
        kind=NoticeKind.DOMAIN_VALIDATED,
        severity=Severity.SUCCESS,
        title=f"{domain.domain_name} is live on {_on(domain)}",
        summary=summary,
        details=tuple(f"https://{name}" for name in domain.target_names),
        thread_key=_thread(domain.domain_name),
        dedupe_key=dedupe_key,
        occurred_at=occurred_at,
    )


def routed(domain: DomainBinding, zones: Sequence[ZoneSnapshot]) -> bool:
    """Every name of a load-balanced binding resolves to its endpoint (an ALIAS A there)."""
    target = canonical_target(domain.dns_target)
    for name in domain.target_names:
        zone = authoritative_zone(name, [zone for zone in zones if zone.loaded])
        record = zone.find(name, "A") if zone is not None else None
        if record is None or record.alias_target is None:
            return False
        if canonical_target(record.alias_target.dns_name) != target:
            return False
    return True


def _awaiting(domain: DomainBinding, zones: Sequence[ZoneSnapshot]) -> bool:
    """Waiting for validation, or (a certificate of our own to route) issued but not routed yet."""
    if domain.status in PENDING_STATUSES:
        return True
    return (
        domain.certificate_arn is not None
        and domain.status in VALIDATED_STATUSES
        and not routed(domain, zones)
    )


def validated_notices(
    trigger: DnsTrigger | TriggerEvent | None,
    domains: Sequence[DomainBinding],
    zones: Sequence[ZoneSnapshot] = (),
    settled: Iterable[str] = (),
) -> list[Notice]:
    """Domains now live: the ones the triggering validation event is about (App Runner's association
    ACTIVE; an ACM certificate issued and its names routed), and the load-balanced ones that were
    waiting at the last run and are live now (ACM's events are best effort)."""
    event = trigger.dns_trigger() if trigger is not None and not isinstance(trigger, DnsTrigger) else trigger
    notices: dict[str, Notice] = {}
    settled_names = set(settled)
    for domain in domains:
        if domain.status not in VALIDATED_STATUSES:
            continue
        if domain.certificate_arn is not None:
            if not routed(domain, zones):
                continue
            key = f"domain-validated:{domain.domain_name}:{domain.certificate_arn}"
            about = event is not None and event.validated and event.certificate_arn == domain.certificate_arn
            if about or domain.domain_name in settled_names:
                when = event.time.isoformat() if about and event is not None else None
                notices.setdefault(domain.domain_name, _live_notice(domain, key, when or _now_text()))
            continue
        if (
            event is not None
            and event.validated
            and event.certificate_arn is None
            and (event.domain_name is None or domain.domain_name == event.domain_name)
            and (event.service_arn is None or domain.service_arn == event.service_arn)
            and (event.service_name is None or domain.service_name == event.service_name)
        ):
            notices.setdefault(
                domain.domain_name,
                _live_notice(
                    domain, f"domain-validated:{domain.domain_name}:{event.id}", event.time.isoformat()
                ),
            )
    return list(notices.values())


def _now_text() -> str:
    return datetime.now(UTC).isoformat()


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


def reconcile(
    *,
    domains: DomainBindingSource,
    zones: ZoneStore,
    policy: DnsPolicy,
    owner_id: str,
    region: str,
    apply: bool,
    service: str | None = None,
    trigger: TriggerEvent | DnsTrigger | None = None,
    now: datetime | None = None,
    pending_since: Mapping[str, datetime] | None = None,
    pending_tracker: PendingTracker | None = None,
    pending_hours: float = 2.0,
    wait: bool = False,
    outbox: DnsNoticeOutbox | None = None,
    registrar: Registrar | None = None,
) -> ReconcileResult:
    """Read → plan → hold the notices → apply (only when asked and not refused) → notices.

    A pending validation is diagnosed once it has waited `pending_hours`, counted from `pending_since`
    or, when that is not given, from the first sighting `pending_tracker` remembers. With an outbox,
    the run's notices are held before any change (to Route 53 or to the tracker) and the result names
    the held items to release once the notices are queued (`deliver`)."""
    now = now or datetime.now(UTC)
    event = trigger.dns_trigger() if trigger is not None and not isinstance(trigger, DnsTrigger) else trigger
    occurred_at = event.time.isoformat() if event is not None else now.isoformat()
    recovered, held_keys = _recover_held(outbox, zones) if outbox is not None else ([], [])
    states = domains.for_service(service) if service else domains.list_all()
    snapshots = read_zones(zones, states, policy)
    plan = plan_dns(states, snapshots, owner_id=owner_id, region=region, policy=policy)
    applying = apply and plan.applicable

    # Everything below speaks of the zones as they will be: after an apply, the projected state.
    current = project(snapshots, plan) if applying else snapshots
    known = pending_tracker.known() if pending_tracker is not None else {}
    if pending_since is None:
        pending_since = {
            state.domain_name: known.get(state.domain_name, now)
            for state in states
            if state.status in PENDING_STATUSES
        }
    if registrar is not None and any(
        needs_diagnosis(state, now, pending_since.get(state.domain_name), pending_hours) for state in states
    ):
        # Asked only when something is to be diagnosed: one call per topmost zone.
        current = with_registrar(current, registrar)
    # Live since the last run: it was waiting then, or this run routes it.
    settled = {
        state.domain_name
        for state in states
        if not _awaiting(state, current)
        and (state.domain_name in known or (applying and _awaiting(state, snapshots)))
    }
    findings_by_domain = {
        state.domain_name: diagnose(state, current, now, pending_since.get(state.domain_name), pending_hours)
        for state in states
    }
    advice_by_domain = {state.domain_name: advise(state, current, now) for state in states}
    for manual in plan.manual:
        # A record the stack may not write is told with its exact content, to be made by hand.
        advice_by_domain.setdefault(manual.domain_name, []).append(
            Finding(
                domain_name=manual.domain_name,
                code="create-by-hand",
                cause=f"{manual.record.name} needs a record pushpilot may not write: {manual.where}",
                fix=f"create {render_record(manual.record)} by hand",
                record=manual.record,
            )
        )

    notices: list[Notice] = [conflict_notice(conflict, occurred_at) for conflict in plan.conflicts]
    notices.extend(planned_notices(plan, applying, occurred_at))
    notices.extend(
        blocked_notice(state, findings_by_domain[state.domain_name], occurred_at)
        for state in states
        if findings_by_domain[state.domain_name]
    )
    advised = {state.domain_name: state for state in states}
    notices.extend(
        advice_notice(advised[domain_name], advice, occurred_at)
        for domain_name, advice in advice_by_domain.items()
        if advice and domain_name in advised
    )
    notices.extend(validated_notices(event, states, current, settled))

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
            zones.apply(zone_plan, wait=wait)
        applied = True
    if pending_tracker is not None:
        # Issued but not routed yet counts as waiting, so its "live" is told once it is.
        waiting = [
            state.model_copy(update={"status": "PENDING_VALIDATION"}) if _awaiting(state, current) else state
            for state in states
        ]
        pending_tracker.track(waiting, now, complete=service is None)

    return ReconcileResult(
        plan=plan,
        applied=applied,
        notices=(*recovered, *notices),
        findings=tuple(finding for findings in findings_by_domain.values() for finding in findings),
        advice=tuple(finding for advice in advice_by_domain.values() for finding in advice),
        held_keys=tuple(dict.fromkeys(held_keys)),
    )


def deliver(result: ReconcileResult, sink: NoticeSink, outbox: DnsNoticeOutbox | None = None) -> None:
    """Queue the run's notices, then release what was held for them: a failure in between leaves them
    held for the next run (notices are deduplicated downstream by their keys)."""
    for notice in result.notices:
        sink.publish(notice)
    if outbox is not None:
        for key in result.held_keys:
            outbox.release(key)
