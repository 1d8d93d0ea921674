"""ACM and ELBv2 made truthful for custom domains: moto keeps the certificates and load balancers, this
module decides what moto cannot.

- moto issues a requested certificate after `MOTO_ACM_VALIDATION_WAIT` seconds without looking at DNS.
  Here a DNS-validated certificate is issued only when every validation CNAME it asks for resolves in
  the sandbox's Route 53 (followed through delegations, as `apprunner_domains` resolves App Runner's);
  ACM's `ACM Certificate Available` event (Action ISSUANCE) is emitted then, shaped as ACM documents
  it. Once validated, a CAA record that forbids Amazon's authority for one of its names fails the
  certificate instead (Status FAILED, as ACM's FailureReason CAA_ERROR), as ACM checks CAA at issuance.
  moto's own timer is pushed out of reach; the state is driven in process, as moto runs in process.
- moto answers every load balancer's `CanonicalHostedZoneId` with one placeholder; Route 53 aliases
  need the region's real zone (ELB endpoints page: us-east-1 Application Load Balancers use
  Z35SXDOTRQ7X7K).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto import settings as moto_settings
from moto.acm.models import acm_backends
from moto.elbv2.models import elbv2_backends

from pushpilot_sandbox.apprunner_domains import (
    HostedZone,
    authoritative_zones,
    cname_resolves,
    normalise,
    read_public_zones,
)

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

# Route 53 hosted zone ids of Application Load Balancers, per region ("Elastic Load Balancing endpoints
# and quotas"). Only the regions the sandbox is run in need one.
ALB_HOSTED_ZONE_IDS = {"us-east-1": "Z35SXDOTRQ7X7K"}
MOTO_PLACEHOLDER_ZONE_ID = "Z2P70J7EXAMPLE"
AMAZON_CAA_ISSUERS = frozenset({"amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"})
# Far beyond any sandbox run: moto never issues on its own.
_NEVER = 10**9


def _caa_allows_amazon(values: Iterable[str], wildcard: bool) -> bool:
    entries: list[tuple[str, str]] = []
    for value in values:
        parts = value.split(None, 2)
        if len(parts) == 3:
            entries.append((parts[1].lower(), parts[2].strip().strip('"').split(";", 1)[0].strip().lower()))
    tag = "issuewild" if wildcard and any(t == "issuewild" for t, _ in entries) else "issue"
    issuers = [issuer for t, issuer in entries if t == tag]
    return not issuers or any(issuer in AMAZON_CAA_ISSUERS for issuer in issuers)


def caa_allows(name: str, zones: list[HostedZone]) -> bool:
    """RFC 8659: the CAA set at the name or, failing that, at its closest ancestor decides."""
    wildcard = name.startswith("*.")
    candidate = normalise(name.removeprefix("*."))
    while candidate:
        for zone in authoritative_zones(candidate, zones):
            values = zone.values_at(candidate, "CAA")
            if values:
                return _caa_allows_amazon(values, wildcard)
        candidate = candidate.partition(".")[2]
    return True


class AcmValidator:
    def __init__(
        self, *, account_id: str, region: str, route53: Route53Client, emit: Callable[[dict[str, Any]], None]
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.route53 = route53
        self.emit = emit
        # What ACM decided, in order, for the timeline.
        self.decisions: list[str] = []
        moto_settings.ACM_VALIDATION_WAIT = _NEVER

    def _certificates(self) -> list[Any]:
        backend = acm_backends[self.account_id][self.region]
        return list(backend._certificates.values())

    def fix_load_balancer_zones(self) -> None:
        zone_id = ALB_HOSTED_ZONE_IDS.get(self.region)
        if zone_id is None:
            return
        for load_balancer in elbv2_backends[self.account_id][self.region].load_balancers.values():
            if load_balancer.canonical_hosted_zone_id == MOTO_PLACEHOLDER_ZONE_ID:
                load_balancer.canonical_hosted_zone_id = zone_id

    def check(self) -> list[dict[str, Any]]:
        """Issue every pending certificate whose validation records resolve (fail it when CAA forbids
        Amazon); the events emitted."""
        self.fix_load_balancer_zones()
        pending = [
            bundle
            for bundle in self._certificates()
            if bundle.type == "AMAZON_ISSUED" and bundle.status == "PENDING_VALIDATION"
        ]
        if not pending:
            return []
        zones = read_public_zones(self.route53)
        events: list[dict[str, Any]] = []
        for bundle in pending:
            detail = bundle.describe()["Certificate"]
            options = detail.get("DomainValidationOptions", [])
            resolves = all(
                cname_resolves(option["ResourceRecord"]["Name"], option["ResourceRecord"]["Value"], zones)
                for option in options
            )
            if not resolves:
                continue
            names = ", ".join(option["DomainName"] for option in options)
            if not all(caa_allows(option["DomainName"], zones) for option in options):
                bundle.status = "FAILED"
                self.decisions.append(
                    f"ACM failed the certificate for {names}: CAA forbids Amazon (CAA_ERROR)"
                )
                continue
            bundle.status = "ISSUED"
            self.decisions.append(f"ACM issued the certificate for {names}: its validation records resolve")
            event = self._available_event(bundle.arn, detail)
            self.emit(event)
            events.append(event)
        return events

    def _available_event(self, arn: str, detail: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        not_after = detail.get("NotAfter")
        expires = (
            datetime.fromtimestamp(float(not_after), UTC) if isinstance(not_after, (int, float)) else now
        )
        sans = [name for name in detail.get("SubjectAlternativeNames", []) if name != detail["DomainName"]]
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "ACM Certificate Available",
            "source": "aws.acm",
            "account": self.account_id,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [arn],
            "detail": {
                "Action": "ISSUANCE",
                "CertificateType": "AMAZON_ISSUED",
                "CommonName": detail["DomainName"],
                "FirstSubjectAlternativeName": sans[0] if sans else detail["DomainName"],
                "DomainValidationMethod": "DNS",
                "CertificateCreatedDate": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "CertificateExpirationDate": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "DaysToExpiry": max(0, (expires - now).days),
                "InUse": True,
                "Exported": False,
            },
        }
