"""Custom domains on the App Runner emulator, validated against Route 53 in moto's server mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from pushpilot.targets.apprunner.events import AppRunnerCustomDomainEvent
from pushpilot_sandbox.apprunner import AppRunnerEmulator, EmulatorError
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from tests.sandbox.apprunner_support import (
    EVENTS,
    REGION,
    Running,
    Sandbox,
    create_service,
    fresh,
    running_emulator,
)

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

pytestmark = pytest.mark.sandbox

NAME_PATTERN = r"_[0-9a-f]{32}\.%s"
VALUE_PATTERN = r"_[0-9a-f]{32}\.[a-z]{10}\.acm-validations\.aws\."


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@pytest.fixture(scope="module")
def running(moto: MotoHandle) -> Iterator[Running]:
    # Made once per module, before any test's environment exists: moto accepts any key.
    route53 = boto3.client(
        "route53",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    with running_emulator(route53) as started:
        yield started


@pytest.fixture
def sandbox(running: Running, moto: MotoHandle) -> Sandbox:
    moto.reset()
    return fresh(running)


@pytest.fixture
def route53(moto: MotoHandle) -> Route53Client:
    return boto3.client("route53", endpoint_url=moto.url, region_name=REGION)


@pytest.fixture
def service_arn(sandbox: Sandbox) -> str:
    arn = str(create_service(sandbox.client, "storefront")["ServiceArn"])
    sandbox.events.clear()
    return arn


def _zone(route53: Route53Client, name: str, *, private: bool = False) -> tuple[str, list[str]]:
    extra: dict[str, Any] = (
        {"VPC": {"VPCRegion": REGION, "VPCId": "vpc-0a1b2c3d"}, "HostedZoneConfig": {"PrivateZone": True}}
        if private
        else {}
    )
    created = route53.create_hosted_zone(Name=name, CallerReference=f"{name}-{private}", **extra)
    zone_id = created["HostedZone"]["Id"]
    # Private zones have no delegation set.
    delegation = route53.get_hosted_zone(Id=zone_id).get("DelegationSet", {"NameServers": []})
    return zone_id, list(delegation["NameServers"])


def _upsert(route53: Route53Client, zone_id: str, name: str, record_type: Any, values: list[str]) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": record_type,
                        "TTL": 300,
                        "ResourceRecords": [{"Value": value} for value in values],
                    },
                }
            ]
        },
    )


def _associate(sandbox: Sandbox, service_arn: str, domain: str, **options: Any) -> list[dict[str, Any]]:
    response = sandbox.client.associate_custom_domain(ServiceArn=service_arn, DomainName=domain, **options)
    return [dict(record) for record in response["CustomDomain"]["CertificateValidationRecords"]]


def _status(sandbox: Sandbox, service_arn: str, domain: str) -> tuple[str, list[str]]:
    domains = sandbox.client.describe_custom_domains(ServiceArn=service_arn)["CustomDomains"]
    (found,) = [d for d in domains if d["DomainName"] == domain]
    return found["Status"], [record["Status"] for record in found.get("CertificateValidationRecords", [])]


def test_association_answers_creating_with_validation_records(sandbox: Sandbox, service_arn: str) -> None:
    response = sandbox.client.associate_custom_domain(ServiceArn=service_arn, DomainName="example.com")

    described = sandbox.client.describe_service(ServiceArn=service_arn)["Service"]
    assert response["DNSTarget"] == described["ServiceUrl"]
    assert response["VpcDNSTargets"] == []
    domain = response["CustomDomain"]
    assert (domain["DomainName"], domain["EnableWWWSubdomain"], domain["Status"]) == (
        "example.com",
        True,
        "CREATING",
    )
    apex, www = domain["CertificateValidationRecords"]
    assert re.fullmatch(NAME_PATTERN % r"example\.com", apex["Name"])
    assert re.fullmatch(NAME_PATTERN % r"www\.example\.com", www["Name"])
    for record in (apex, www):
        assert re.fullmatch(VALUE_PATTERN, record["Value"])
        assert (record["Type"], record["Status"]) == ("CNAME", "PENDING_VALIDATION")
    assert _status(sandbox, service_arn, "example.com") == (
        "PENDING_CERTIFICATE_DNS_VALIDATION",
        ["PENDING_VALIDATION", "PENDING_VALIDATION"],
    )


def test_without_www_there_is_one_record(sandbox: Sandbox, service_arn: str) -> None:
    records = _associate(sandbox, service_arn, "shop.example.com", EnableWWWSubdomain=False)
    assert [record["Name"].split(".", 1)[1] for record in records] == ["shop.example.com"]


def test_validation_records_repeat_for_the_same_service_and_domain(
    sandbox: Sandbox, service_arn: str
) -> None:
    first = _associate(sandbox, service_arn, "example.com")
    sandbox.emulator.reset()
    again_arn = create_service(sandbox.client, "storefront")["ServiceArn"]

    assert again_arn == service_arn
    assert _associate(sandbox, again_arn, "example.com") == first


def test_a_domain_is_associated_once(sandbox: Sandbox, service_arn: str) -> None:
    _associate(sandbox, service_arn, "example.com")
    with pytest.raises(sandbox.client.exceptions.InvalidRequestException, match="already associated"):
        _associate(sandbox, service_arn, "EXAMPLE.com")


def test_disassociation_removes_the_domain(sandbox: Sandbox, service_arn: str) -> None:
    _associate(sandbox, service_arn, "example.com")

    response = sandbox.client.disassociate_custom_domain(ServiceArn=service_arn, DomainName="example.com")

    assert response["CustomDomain"]["Status"] == "DELETING"
    assert sandbox.client.describe_custom_domains(ServiceArn=service_arn)["CustomDomains"] == []
    with pytest.raises(sandbox.client.exceptions.ResourceNotFoundException):
        sandbox.client.disassociate_custom_domain(ServiceArn=service_arn, DomainName="example.com")


def test_cnames_in_the_right_zone_make_the_domain_active(
    sandbox: Sandbox, service_arn: str, route53: Route53Client
) -> None:
    zone_id, _ = _zone(route53, "example.com")
    for record in _associate(sandbox, service_arn, "example.com"):
        _upsert(route53, zone_id, record["Name"], "CNAME", [record["Value"]])

    emitted = sandbox.emulator.check_domain_validation()

    assert emitted == sandbox.events
    (event,) = [EVENTS.validate_python(raw) for raw in emitted]
    assert isinstance(event, AppRunnerCustomDomainEvent)
    assert (event.detail.domain_name, event.detail.status) == ("example.com", "ACTIVE")
    assert event.detail.service_name == "storefront"
    assert event.service_arn == service_arn
    assert set(emitted[0]["detail"]) == {
        "serviceName",
        "serviceId",
        "domainName",
        "customDomainStatus",
        "message",
        "severity",
    }
    assert _status(sandbox, service_arn, "example.com") == ("ACTIVE", ["SUCCESS", "SUCCESS"])
    assert sandbox.emulator.check_domain_validation() == []  # already active: nothing more to say


def test_a_missing_cname_leaves_the_domain_pending(
    sandbox: Sandbox, service_arn: str, route53: Route53Client
) -> None:
    zone_id, _ = _zone(route53, "example.com")
    apex, _www = _associate(sandbox, service_arn, "example.com")
    _upsert(route53, zone_id, apex["Name"], "CNAME", [apex["Value"]])

    assert sandbox.emulator.check_domain_validation() == []
    assert sandbox.events == []
    assert _status(sandbox, service_arn, "example.com") == (
        "PENDING_CERTIFICATE_DNS_VALIDATION",
        ["PENDING_VALIDATION", "PENDING_VALIDATION"],
    )


def test_a_wrong_value_leaves_the_domain_pending(
    sandbox: Sandbox, service_arn: str, route53: Route53Client
) -> None:
    zone_id, _ = _zone(route53, "example.com")
    for record in _associate(sandbox, service_arn, "example.com", EnableWWWSubdomain=False):
        _upsert(route53, zone_id, record["Name"], "CNAME", ["_0000.wrongtarget.acm-validations.aws."])

    assert sandbox.emulator.check_domain_validation() == []


def test_a_private_zone_does_not_count(sandbox: Sandbox, service_arn: str, route53: Route53Client) -> None:
    zone_id, _ = _zone(route53, "example.com", private=True)
    for record in _associate(sandbox, service_arn, "example.com", EnableWWWSubdomain=False):
        _upsert(route53, zone_id, record["Name"], "CNAME", [record["Value"]])

    assert sandbox.emulator.check_domain_validation() == []


@pytest.mark.parametrize(
    ("delegated", "expected"), [(False, "PENDING_CERTIFICATE_DNS_VALIDATION"), (True, "ACTIVE")]
)
def test_a_child_zone_counts_only_when_delegated(
    sandbox: Sandbox, service_arn: str, route53: Route53Client, delegated: bool, expected: str
) -> None:
    parent_id, _ = _zone(route53, "example.com")
    child_id, child_servers = _zone(route53, "www.example.com")
    apex, www = _associate(sandbox, service_arn, "example.com")
    _upsert(route53, parent_id, apex["Name"], "CNAME", [apex["Value"]])
    _upsert(route53, child_id, www["Name"], "CNAME", [www["Value"]])
    if delegated:
        _upsert(
            route53, parent_id, "www.example.com", "NS", [f"{server.upper()}." for server in child_servers]
        )

    emitted = sandbox.emulator.check_domain_validation()

    assert _status(sandbox, service_arn, "example.com")[0] == expected
    assert len(emitted) == (1 if delegated else 0)


def test_validation_needs_a_route53_client() -> None:
    with pytest.raises(EmulatorError, match="Route 53"):
        AppRunnerEmulator().check_domain_validation()


def test_a_record_in_the_parent_counts_while_the_child_zone_is_not_delegated(
    sandbox: Sandbox, service_arn: str, route53: Route53Client
) -> None:
    # Without delegation the world never asks the child zone: the parent answers for www.
    parent_id, _ = _zone(route53, "example.com")
    _zone(route53, "www.example.com")
    for record in _associate(sandbox, service_arn, "example.com"):
        _upsert(route53, parent_id, record["Name"], "CNAME", [record["Value"]])

    assert len(sandbox.emulator.check_domain_validation()) == 1
    assert _status(sandbox, service_arn, "example.com")[0] == "ACTIVE"
