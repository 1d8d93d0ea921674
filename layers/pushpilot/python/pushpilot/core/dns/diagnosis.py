"""Why a certificate does not validate or a domain does not route, and advice that writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pushpilot.core.dns.models import (
    AMAZON_CAA_ISSUERS,
    FAILED_STATUSES,
    PENDING_STATUSES,
    RENEWAL_WINDOW,
    TIMED_OUT,
    VALIDATED_STATUSES,
    DomainBinding,
    FrozenModel,
    RecordSet,
    ZoneSnapshot,
    canonical_target,
)
from pushpilot.core.dns.zones import authoritative_zone, delegation_record, zone_chain

# --- diagnosis -------------------------------------------------------------------------------------


class Finding(FrozenModel):
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
    if {canonical_target(ns) for ns in registrar} == {canonical_target(ns) for ns in top.name_servers}:
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
    target = canonical_target(domain.dns_target)
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
                    and canonical_target(record.values[0] if record.values else "") != target
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
                    {canonical_target(record.alias_target.dns_name)}
                    if record.alias_target is not None
                    else {canonical_target(v) for v in record.values}
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
