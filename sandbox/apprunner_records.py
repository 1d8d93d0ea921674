"""The App Runner emulator's records (services, operations, custom domains, recorded calls) and the
answer bodies built from them alone; ids and validation records are derived, so runs repeat exactly."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pushpilot_sandbox.emulator import Json, epoch

_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"

DEFAULT_HEALTH_CHECK: Final[Json] = {
    "Protocol": "TCP",
    "Path": "/",
    "Interval": 10,
    "Timeout": 5,
    "HealthyThreshold": 1,
    "UnhealthyThreshold": 5,
}
DEFAULT_NETWORK: Final[Json] = {
    "EgressConfiguration": {"EgressType": "DEFAULT"},
    "IngressConfiguration": {"IsPubliclyAccessible": True},
    "IpAddressType": "IPV4",
}


@dataclass(frozen=True, slots=True)
class RecordedCall:
    operation: str
    params: Json
    mutating: bool
    error: str | None
    answered: bool = True
    """False when the emulator acted but closed the connection instead of answering (a timeout fault)."""


@dataclass(frozen=True, slots=True)
class OperationRecord:
    id: str
    type: str
    status: str
    target_arn: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    image_identifier: str
    image_digest: str | None
    # What an unsuccessful UPDATE_SERVICE puts back.
    previous_source_configuration: Json | None = None


@dataclass(frozen=True, slots=True)
class ValidationRecord:
    name: str
    value: str
    status: str = "PENDING_VALIDATION"


@dataclass(frozen=True, slots=True)
class CustomDomainRecord:
    domain_name: str
    enable_www_subdomain: bool
    status: str
    validation_records: tuple[ValidationRecord, ...]


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    name: str
    id: str
    arn: str
    url: str
    status: str
    created_at: datetime
    updated_at: datetime
    source_configuration: Json
    instance_configuration: Json
    health_check_configuration: Json
    network_configuration: Json
    auto_scaling_configuration_arn: str
    encryption_configuration: Json | None = None
    # Oldest first; ListOperations answers newest first.
    operations: tuple[OperationRecord, ...] = ()
    custom_domains: tuple[CustomDomainRecord, ...] = ()
    running_image_digest: str | None = None
    # Key → value, as CreateService's `Tags` and TagResource set them.
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def image_identifier(self) -> str:
        return str(self.source_configuration["ImageRepository"]["ImageIdentifier"])

    @property
    def image_repository_type(self) -> str:
        return str(self.source_configuration["ImageRepository"]["ImageRepositoryType"])

    @property
    def auto_deployments_enabled(self) -> bool:
        return bool(self.source_configuration.get("AutoDeploymentsEnabled", False))

    @property
    def operation_in_progress(self) -> OperationRecord | None:
        return next((op for op in self.operations if op.status == "IN_PROGRESS"), None)

    def custom_domain(self, domain_name: str) -> CustomDomainRecord | None:
        wanted = domain_name.lower()
        return next((d for d in self.custom_domains if d.domain_name.lower() == wanted), None)


def hashed(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode()).digest()


def spell(digest: bytes, alphabet: str, length: int) -> str:
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:length])


def validation_record(service_arn: str, domain_name: str, name: str) -> ValidationRecord:
    name_token = hashed(service_arn, domain_name.lower(), name.lower(), "name").hex()[:32]
    value_digest = hashed(service_arn, domain_name.lower(), name.lower(), "value")
    value_token = value_digest.hex()[:32]
    letters = spell(value_digest[16:], _LETTERS, 10)
    return ValidationRecord(
        name=f"_{name_token}.{name}", value=f"_{value_token}.{letters}.acm-validations.aws."
    )


def domain_body(domain: CustomDomainRecord) -> Json:
    return {
        "DomainName": domain.domain_name,
        "EnableWWWSubdomain": domain.enable_www_subdomain,
        "CertificateValidationRecords": [
            {"Name": rec.name, "Type": "CNAME", "Value": rec.value, "Status": rec.status}
            for rec in domain.validation_records
        ],
        "Status": domain.status,
    }


def operation_body(operation: OperationRecord) -> Json:
    body: Json = {
        "Id": operation.id,
        "Type": operation.type,
        "Status": operation.status,
        "TargetArn": operation.target_arn,
        "StartedAt": epoch(operation.started_at),
        "UpdatedAt": epoch(operation.updated_at),
    }
    if operation.ended_at is not None:
        body["EndedAt"] = epoch(operation.ended_at)
    return body
