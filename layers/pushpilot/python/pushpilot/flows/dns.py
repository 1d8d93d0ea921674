"""Custom-domain DNS, end to end: read the domains and their zones, plan, apply what the policy allows,
diagnose blocked validations, and say what happened as notices."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpilot.core.dns_plan import (
    OWNER_ID_PATTERN,
    Conflict,
    CustomDomainState,
    DnsPlan,
    DnsPolicy,
    Finding,
    ZonePlan,
    ZoneSnapshot,
    diagnose,
    is_marker,
    is_within,
    plan_dns,
    project,
    render_conflict,
    render_plan_line,
)
from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.entry.settings import EnvSettings
from pushpilot.targets.apprunner.events import AppRunnerCustomDomainEvent


class HostedZoneSummary(Protocol):
    @property
    def zone_id(self) -> str: ...

    @property
    def name(self) -> str: ...


class CustomDomainSource(Protocol):
    """What reconcile reads domains from; CustomDomainReader is the real one."""

    def list_all(self) -> list[CustomDomainState]: ...

    def for_service(self, service_arn_or_name: str) -> list[CustomDomainState]: ...


class PendingTracker(Protocol):
    """Remembers since when each domain has waited for validation; PendingDomains is the real one."""

    def track(
        self, states: Sequence[CustomDomainState], now: datetime, *, complete: bool = True
    ) -> Mapping[str, datetime]: ...


class ZoneStore(Protocol):
    """What reconcile reads and changes zones with; Route53Zones is the real one."""

    def list_public_zones(self) -> Sequence[HostedZoneSummary]: ...

    def snapshot(self, zone_id: str) -> ZoneSnapshot: ...

    def apply(self, zone_plan: ZonePlan, *, wait: bool = False) -> str | None: ...


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


def names_of_interest(domains: Iterable[CustomDomainState]) -> set[str]:
    return {
        name
        for domain in domains
        for name in (*domain.target_names, *(record.name for record in domain.validation_records))
    }


def read_zones(
    zones: ZoneStore, domains: Sequence[CustomDomainState], policy: DnsPolicy
) -> tuple[ZoneSnapshot, ...]:
    """Snapshots of the zones that can hold the domains' names; zones outside the allow-list are only
    named (their records are neither read nor written)."""
    names = names_of_interest(domains)
    relevant = [ref for ref in zones.list_public_zones() if any(is_within(name, ref.name) for name in names)]
    return tuple(
        zones.snapshot(ref.zone_id)
        if policy.allows(ref.zone_id)
        else ZoneSnapshot(zone_id=ref.zone_id, name=ref.name, loaded=False)
        for ref in relevant
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
        elif plan.refused:
            title, severity, next_step = (
                f"DNS changes refused for {domain_name}",
                Severity.WARNING,
                plan.refused,
            )
        else:
            title, severity = f"DNS changes planned for {domain_name}", Severity.INFO
            next_step = "dry run: review, then run `pushpilot dns apply`"
        state = "applied" if applied else "refused" if plan.refused else "planned"
        notices.append(
            Notice(
                kind=NoticeKind.DOMAIN_PLANNED,
                severity=severity,
                title=title,
                summary=f"{len(lines)} record change(s) {state} (ownership markers not counted).",
                next_step=next_step,
                details=tuple(lines),
                thread_key=_thread(domain_name),
                dedupe_key=f"domain-planned:{domain_name}:{state}:{_digest(lines)}",
                occurred_at=occurred_at,
            )
        )
    return notices


def blocked_notice(domain: CustomDomainState, findings: Sequence[Finding], occurred_at: str) -> Notice:
    return Notice(
        kind=NoticeKind.DOMAIN_BLOCKED,
        severity=Severity.FAILURE if domain.status == "CREATE_FAILED" else Severity.WARNING,
        title=f"Certificate validation for {domain.domain_name} is blocked",
        summary=(
            f"{domain.domain_name} on {domain.service_name} is {domain.status}; "
            f"{len(findings)} cause(s) found."
        ),
        next_step=findings[0].fix if findings else None,
        details=tuple(f"{finding.cause} → {finding.fix}" for finding in findings),
        thread_key=_thread(domain.domain_name),
        dedupe_key=(
            f"domain-blocked:{domain.domain_name}:{domain.status}:"
            f"{_digest(f'{finding.code}:{finding.cause}' for finding in findings)}"
        ),
        occurred_at=occurred_at,
    )


def validated_notices(
    trigger: AppRunnerCustomDomainEvent, domains: Sequence[CustomDomainState]
) -> list[Notice]:
    """ACTIVE domains the triggering validation event is about."""
    wanted_name = trigger.detail.domain_name.rstrip(".").lower() if trigger.detail.domain_name else None
    service_arn, service_name = trigger.service_arn, trigger.detail.service_name
    return [
        Notice(
            kind=NoticeKind.DOMAIN_VALIDATED,
            severity=Severity.SUCCESS,
            title=f"{domain.domain_name} is live on {domain.service_name}",
            summary=f"App Runner validated the certificate for {domain.domain_name}; the domain is ACTIVE.",
            details=tuple(f"https://{name}" for name in domain.target_names),
            thread_key=_thread(domain.domain_name),
            dedupe_key=f"domain-validated:{domain.domain_name}:{trigger.id}",
            occurred_at=trigger.time.isoformat(),
        )
        for domain in domains
        if domain.status == "ACTIVE"
        and (wanted_name is None or domain.domain_name == wanted_name)
        and (service_arn is None or domain.service_arn == service_arn)
        and (service_name is None or domain.service_name == service_name)
    ]


def reconcile(
    *,
    domains: CustomDomainSource,
    zones: ZoneStore,
    policy: DnsPolicy,
    owner_id: str,
    region: str,
    apply: bool,
    service: str | None = None,
    trigger: AppRunnerCustomDomainEvent | None = None,
    now: datetime | None = None,
    pending_since: Mapping[str, datetime] | None = None,
    pending_tracker: PendingTracker | None = None,
    pending_hours: float = 2.0,
    wait: bool = False,
) -> ReconcileResult:
    """Read → plan → apply (only when asked and not refused) → diagnose → notices.

    A pending validation is diagnosed once it has waited `pending_hours`, counted from `pending_since`
    or, when that is not given, from the first sighting `pending_tracker` remembers."""
    now = now or datetime.now(UTC)
    occurred_at = trigger.time.isoformat() if trigger is not None else now.isoformat()
    states = domains.for_service(service) if service else domains.list_all()
    snapshots = read_zones(zones, states, policy)
    plan = plan_dns(states, snapshots, owner_id=owner_id, region=region, policy=policy)

    applied = False
    if apply and plan.applicable:
        for zone_plan in plan.zones:
            zones.apply(zone_plan, wait=wait)
        applied = True

    # Diagnose against what the zones hold now: after an apply, that is the projected state.
    current = project(snapshots, plan) if applied else snapshots
    if pending_since is None and pending_tracker is not None:
        pending_since = pending_tracker.track(states, now, complete=service is None)
    since = pending_since or {}
    findings_by_domain = {
        state.domain_name: diagnose(state, current, now, since.get(state.domain_name), pending_hours)
        for state in states
    }

    notices: list[Notice] = [conflict_notice(conflict, occurred_at) for conflict in plan.conflicts]
    notices.extend(planned_notices(plan, applied, occurred_at))
    notices.extend(
        blocked_notice(state, findings_by_domain[state.domain_name], occurred_at)
        for state in states
        if findings_by_domain[state.domain_name]
    )
    if trigger is not None:
        notices.extend(validated_notices(trigger, states))
    return ReconcileResult(
        plan=plan,
        applied=applied,
        notices=tuple(notices),
        findings=tuple(finding for findings in findings_by_domain.values() for finding in findings),
    )
