"""ACM's certificate events, as the ACM user guide and the EventBridge events reference show them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from pushpilot.events.acm import AcmCertificateEvent

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/61f50cd4-45b9-4259-b049-d0a53682fa4b"
PARSE = TypeAdapter(AcmCertificateEvent)


def acm_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
        "detail-type": detail_type,
        "source": "aws.acm",
        "account": "123456789012",
        "time": "2019-12-22T18:43:48Z",
        "region": "us-east-1",
        "resources": [CERTIFICATE],
        "detail": detail,
    }


AVAILABLE = {
    "Action": "ISSUANCE",
    "CertificateType": "AMAZON_ISSUED",
    "CommonName": "example.com",
    "DomainValidationMethod": "DNS",
    "CertificateCreatedDate": "2019-12-22T18:43:48Z",
    "CertificateExpirationDate": "2020-12-22T18:43:48Z",
    "DaysToExpiry": 365,
    "InUse": True,
    "Exported": False,
}


def test_certificate_available_on_issuance_is_a_validated_trigger() -> None:
    event = PARSE.validate_python(acm_event("ACM Certificate Available", AVAILABLE))

    trigger = event.dns_trigger()
    assert event.issued
    assert trigger.validated
    assert trigger.certificate_arn == CERTIFICATE
    assert trigger.domain_name == "example.com"


@pytest.mark.parametrize("action", ["RENEWAL", "IMPORT", "REIMPORT"])
def test_renewal_and_import_are_not_a_new_domain_going_live(action: str) -> None:
    event = PARSE.validate_python(acm_event("ACM Certificate Available", {**AVAILABLE, "Action": action}))

    assert not event.dns_trigger().validated


@pytest.mark.parametrize(
    ("detail_type", "detail"),
    [
        ("ACM Certificate Approaching Expiration", {"DaysToExpiry": 31, "CommonName": "example.com"}),
        (
            "ACM Certificate Renewal Action Required",
            {"DaysToExpiry": 31, "CommonName": "example.com", "RenewalStatus": "PENDING_VALIDATION"},
        ),
    ],
)
def test_expiry_events_run_the_reconcile_without_saying_live(
    detail_type: str, detail: dict[str, Any]
) -> None:
    event = PARSE.validate_python(acm_event(detail_type, detail))

    assert event.detail.days_to_expiry == 31
    assert not event.dns_trigger().validated
    assert event.certificate_arn == CERTIFICATE


def test_other_acm_events_are_refused() -> None:
    with pytest.raises(ValidationError):
        PARSE.validate_python(acm_event("ACM Certificate Expired", {"CommonName": "example.com"}))
