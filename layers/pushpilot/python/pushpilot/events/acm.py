"""ACM's certificate events (EventBridge source `aws.acm`), the ones that matter to custom domains.

Shapes: ACM user guide, "Supported events" and the EventBridge events reference for ACM. Delivery is
best effort, so the DNS schedule is the backstop: an event only makes the reconcile come sooner.
- `ACM Certificate Available`: on issuance, renewal and import (`detail.Action` ISSUANCE | RENEWAL |
  IMPORT | REIMPORT);
- `ACM Certificate Approaching Expiration`: daily from 45 days before expiry (`DaysToExpiry`);
- `ACM Certificate Renewal Action Required`: a managed renewal cannot go on without a person.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pushpilot.core.dns.triggers import DnsTrigger
from pushpilot.events.common import EventBridgeEnvelope, EventDetail

CERTIFICATE_AVAILABLE = "ACM Certificate Available"
APPROACHING_EXPIRATION = "ACM Certificate Approaching Expiration"
RENEWAL_ACTION_REQUIRED = "ACM Certificate Renewal Action Required"
DETAIL_TYPES = (CERTIFICATE_AVAILABLE, APPROACHING_EXPIRATION, RENEWAL_ACTION_REQUIRED)


class AcmCertificateDetail(EventDetail):
    """Every field optional: the three detail types share few, and the handler re-reads the certificate."""

    action: str | None = Field(default=None, validation_alias="Action")
    certificate_type: str | None = Field(default=None, validation_alias="CertificateType")
    common_name: str | None = Field(default=None, validation_alias="CommonName")
    domain_validation_method: str | None = Field(default=None, validation_alias="DomainValidationMethod")
    days_to_expiry: int | None = Field(default=None, validation_alias="DaysToExpiry")
    in_use: bool | None = Field(default=None, validation_alias="InUse")
    renewal_status: str | None = Field(default=None, validation_alias="RenewalStatus")
    failure_reason: str | None = Field(default=None, validation_alias="FailureReason")


class AcmCertificateEvent(EventBridgeEnvelope):
    source: Literal["aws.acm"]
    detail_type: Literal[
        "ACM Certificate Available",
        "ACM Certificate Approaching Expiration",
        "ACM Certificate Renewal Action Required",
    ] = Field(alias="detail-type")
    detail: AcmCertificateDetail

    @property
    def certificate_arn(self) -> str | None:
        return next((arn for arn in self.resources if ":acm:" in arn and ":certificate/" in arn), None)

    @property
    def issued(self) -> bool:
        """A new certificate was issued (not renewed or imported): its names can go live now."""
        return self.detail_type == CERTIFICATE_AVAILABLE and self.detail.action in {None, "ISSUANCE"}

    def dns_trigger(self) -> DnsTrigger:
        name = self.detail.common_name
        return DnsTrigger(
            id=self.id,
            time=self.time,
            domain_name=name.rstrip(".").lower() if name else None,
            certificate_arn=self.certificate_arn,
            validated=self.issued,
        )
