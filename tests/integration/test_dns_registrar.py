"""A hosted zone its registrar does not delegate to, found through Route 53 Domains (moto's): the
registrar's name servers are asked only when a validation is to be diagnosed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.route53 import Route53Zones
from pushpilot.adapters.route53_domains import RegisteredDomains
from pushpilot.core.dns.models import DnsPolicy, DomainBinding, ValidationRecord
from pushpilot.flows.dns import DnsPorts, ReconcileResult, ReconcileRules, reconcile
from tests.integration.test_dns_reconcile import NOW, OWNER, REGION, InMemoryDomains

CONTACT = {
    "FirstName": "Ana",
    "LastName": "Ops",
    "ContactType": "PERSON",
    "AddressLine1": "1 Main St",
    "City": "Springfield",
    "State": "IL",
    "CountryCode": "US",
    "ZipCode": "12345",
    "PhoneNumber": "+1.5555550100",
    "Email": "ops@tickets.com",
}
DOMAIN = DomainBinding(
    service_arn="arn:aws:ecs:us-east-1:123456789012:service/web/tickets",
    service_name="tickets",
    service_kind="ECS",
    dns_target="web-alb-1.us-east-1.elb.amazonaws.com",
    domain_name="tickets.com",
    status="PENDING_VALIDATION",
    names=("tickets.com",),
    alias_zone_id="Z35SXDOTRQ7X7K",
    alias_every_name=True,
    route_ready=False,
    certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
    validation_records=(
        ValidationRecord(
            name="_3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f.tickets.com.",
            value="_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c.jkddzztszm.acm-validations.aws.",
        ),
    ),
)


class CountingRegistrar(RegisteredDomains):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.asked: list[str] = []

    def name_servers(self, domain: str) -> tuple[str, ...] | None:
        self.asked.append(domain)
        return super().name_servers(domain)


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        domains = boto3.client("route53domains", region_name="us-east-1")
        domains.register_domain(
            DomainName="tickets.com",
            DurationInYears=2,
            AdminContact=CONTACT,
            RegistrantContact=CONTACT,
            TechContact=CONTACT,
        )
        yield domains, boto3.client("route53", region_name=REGION)


def run(aws: tuple[Any, Any], registrar: CountingRegistrar, *, waited: timedelta) -> ReconcileResult:
    return reconcile(
        DnsPorts(
            domains=InMemoryDomains(DOMAIN),
            zones=Route53Zones(aws[1]),
            registrar=registrar,
        ),
        ReconcileRules(
            policy=DnsPolicy(),
            owner_id=OWNER,
            region=REGION,
            apply=True,
            pending_hours=2,
        ),
        now=NOW,
        pending_since={"tickets.com": NOW - waited},
    )


def zone_name_servers(route53: Any) -> list[str]:
    (zone,) = route53.list_hosted_zones()["HostedZones"]
    servers: list[str] = route53.get_hosted_zone(Id=zone["Id"])["DelegationSet"]["NameServers"]
    return servers


def test_registrar_listing_other_name_servers_is_the_cause_found(aws: tuple[Any, Any]) -> None:
    domains, _ = aws
    domains.update_domain_nameservers(
        DomainName="tickets.com", Nameservers=[{"Name": "ns1.old-dns-host.example.net"}]
    )
    registrar = CountingRegistrar(domains)

    result = run(aws, registrar, waited=timedelta(hours=3))

    found = [finding for finding in result.findings if finding.code == "zone-not-delegated"]
    assert len(found) == 1
    assert "ns1.old-dns-host.example.net" in found[0].cause
    assert registrar.asked == ["tickets.com"]


def test_registrar_listing_the_zones_name_servers_is_no_cause(aws: tuple[Any, Any]) -> None:
    domains, route53 = aws
    domains.update_domain_nameservers(
        DomainName="tickets.com", Nameservers=[{"Name": server} for server in zone_name_servers(route53)]
    )

    result = run(aws, CountingRegistrar(domains), waited=timedelta(hours=3))

    assert [finding for finding in result.findings if finding.code == "zone-not-delegated"] == []


def test_registrar_is_not_asked_before_a_diagnosis_is_due(aws: tuple[Any, Any]) -> None:
    registrar = CountingRegistrar(aws[0])

    run(aws, registrar, waited=timedelta(minutes=5))

    assert registrar.asked == []


def test_a_domain_not_registered_here_is_unknown_not_an_error(aws: tuple[Any, Any]) -> None:
    assert RegisteredDomains(aws[0]).name_servers("elsewhere.com") is None
