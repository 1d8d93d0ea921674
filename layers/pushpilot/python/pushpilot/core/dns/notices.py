"""What a DNS reconcile tells people, as notices: conflicts, planned or applied changes, blocked
validations, advice, and domains gone live. Pure: the reconcile flow hands in what it read and decided."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from pushpilot.core.dns.diagnosis import Finding
from pushpilot.core.dns.models import (
    PENDING_STATUSES,
    VALIDATED_STATUSES,
    Conflict,
    DnsPlan,
    DomainBinding,
    RecordSet,
    ZoneSnapshot,
    canonical_target,
)
from pushpilot.core.dns.ownership import is_marker
from pushpilot.core.dns.rendering import render_conflict, render_plan_line
from pushpilot.core.dns.triggers import DnsTrigger
from pushpilot.core.dns.zones import authoritative_zone
from pushpilot.core.notices import Notice, NoticeKind, Severity


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
    return domain.service_name if domain.bare_name else f"{domain.service_name} ({domain.service_kind})"


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
        # The platform itself validated the certificate it manages for the domain.
        summary = (
            f"{domain.service_kind} validated the certificate for {domain.domain_name}; the domain is ACTIVE."
        )
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


def awaiting(domain: DomainBinding, zones: Sequence[ZoneSnapshot]) -> bool:
    """Waiting for validation, or (a certificate of our own to route) issued but not routed yet."""
    if domain.status in PENDING_STATUSES:
        return True
    return (
        domain.certificate_arn is not None
        and domain.status in VALIDATED_STATUSES
        and not routed(domain, zones)
    )


def validated_notices(
    event: DnsTrigger | None,
    domains: Sequence[DomainBinding],
    zones: Sequence[ZoneSnapshot] = (),
    settled: Iterable[str] = (),
    *,
    settled_at: str,
) -> list[Notice]:
    """Domains now live: the ones the triggering validation event is about (App Runner's association
    ACTIVE; an ACM certificate issued and its names routed), and the load-balanced ones that were
    waiting at the last run and are live now (ACM's events are best effort), told at `settled_at`."""
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
                notices.setdefault(domain.domain_name, _live_notice(domain, key, when or settled_at))
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
