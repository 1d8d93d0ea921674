"""reconcile() end to end against moto's Route 53, with an in-memory source of custom domains."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.route53 import Route53Zones
from pushpilot.core.dns.models import DnsPolicy, DomainBinding, ValidationRecord
from pushpilot.core.notices import NoticeKind
from pushpilot.entry.settings import DnsSettings, SettingsError
from pushpilot.flows.dns import DnsPorts, ReconcileResult, ReconcileRules, reconcile
from pushpilot.targets.apprunner.declaration import DNS as APP_RUNNER_DNS
from pushpilot.targets.apprunner.events import AppRunnerCustomDomainEvent

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

OWNER = "pushpilot-prod"
REGION = "us-east-1"
SERVICE_ARN = "arn:aws:apprunner:us-east-1:111122223333:service/tickets/5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def tickets_domain(status: str = "PENDING_CERTIFICATE_DNS_VALIDATION") -> DomainBinding:
    return DomainBinding(
        **APP_RUNNER_DNS.model_dump(),
        service_arn=SERVICE_ARN,
        service_name="tickets",
        dns_target="m3n4b5v6c7.us-east-1.awsapprunner.com",
        domain_name="tickets.example",
        enable_www=True,
        status=status,
        validation_records=(
            ValidationRecord(
                name="_6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d.tickets.example.",
                value="_b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6.xlfgrmvvlj.acm-validations.aws.",
            ),
            ValidationRecord(
                name="_0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a.www.tickets.example.",
                value="_e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1.xlfgrmvvlj.acm-validations.aws.",
            ),
        ),
    )


class InMemoryDomains:
    """The custom domains App Runner would describe, held in memory."""

    def __init__(self, *states: DomainBinding) -> None:
        self.states = list(states)

    def list_all(self) -> list[DomainBinding]:
        return list(self.states)

    def for_service(self, service_arn_or_name: str) -> list[DomainBinding]:
        return [s for s in self.states if service_arn_or_name in {s.service_arn, s.service_name}]


@pytest.fixture
def route53() -> Iterator[Route53Client]:
    with mock_aws():
        yield boto3.client("route53", region_name=REGION)


@pytest.fixture
def zone_id(route53: Route53Client) -> str:
    return route53.create_hosted_zone(Name="tickets.example", CallerReference="tickets")["HostedZone"]["Id"]


def listed(route53: Route53Client, **policy: Any) -> DnsPolicy:
    """The policy of an operator who listed every zone of the account in DnsZoneIds."""
    zone_ids = tuple(
        zone["Id"].rsplit("/", 1)[-1]
        for page in route53.get_paginator("list_hosted_zones").paginate()
        for zone in page["HostedZones"]
    )
    return DnsPolicy(zone_ids=zone_ids, **policy)


def run(
    route53: Route53Client,
    *states: DomainBinding,
    apply: bool = True,
    take_over: bool = False,
    max_changes: int = 50,
    trigger: AppRunnerCustomDomainEvent | None = None,
    pending_since: datetime | None = None,
) -> ReconcileResult:
    return reconcile(
        DnsPorts(
            domains=InMemoryDomains(*states),
            zones=Route53Zones(route53),
        ),
        ReconcileRules(
            policy=listed(route53, take_over=take_over, max_changes=max_changes),
            owner_id=OWNER,
            region=REGION,
            apply=apply,
            pending_hours=2,
        ),
        trigger=trigger,
        now=NOW,
        pending_since={"tickets.example": pending_since} if pending_since else None,
    )


def record_count(route53: Route53Client, zone_id: str) -> int:
    return sum(
        len(page["ResourceRecordSets"])
        for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    )


def kinds(result: ReconcileResult) -> list[NoticeKind]:
    return [notice.kind for notice in result.notices]


def add_stale_a(route53: Route53Client, zone_id: str) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "tickets.example.",
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "203.0.113.10"}],
                    },
                }
            ]
        },
    )


def test_a_listed_private_zone_is_never_written_and_the_plan_says_why(route53: Route53Client) -> None:
    private = route53.create_hosted_zone(
        Name="tickets.example",
        CallerReference="tickets-private",
        VPC={"VPCRegion": REGION, "VPCId": "vpc-0a1b2c3d"},
        HostedZoneConfig={"Comment": "internal", "PrivateZone": True},
    )["HostedZone"]["Id"]
    before = record_count(route53, private)

    result = reconcile(
        DnsPorts(domains=InMemoryDomains(tickets_domain()), zones=Route53Zones(route53)),
        ReconcileRules(
            policy=DnsPolicy(zone_ids=(private.rsplit("/", 1)[-1],)),
            owner_id=OWNER,
            region=REGION,
            apply=True,
        ),
        now=NOW,
    )

    assert not result.applied
    assert result.plan.changes == ()
    assert any("is private: pushpilot never writes a private zone" in note for note in result.plan.notes)
    assert record_count(route53, private) == before


def test_with_no_zone_listed_nothing_is_written_and_the_fix_is_told(
    route53: Route53Client, zone_id: str
) -> None:
    before = record_count(route53, zone_id)

    result = reconcile(
        DnsPorts(domains=InMemoryDomains(tickets_domain()), zones=Route53Zones(route53)),
        ReconcileRules(policy=DnsPolicy(), owner_id=OWNER, region=REGION, apply=True),
        now=NOW,
    )

    assert not result.applied
    assert result.plan.total_changes > 0
    assert record_count(route53, zone_id) == before
    [planned] = [n for n in result.notices if n.kind is NoticeKind.DOMAIN_PLANNED]
    assert planned.title == "DNS changes for tickets.example wait for DnsZoneIds"
    assert planned.next_step == (
        f"would change {result.plan.total_changes} record(s) in zone tickets.example "
        f"({zone_id.rsplit('/', 1)[-1]}); set DnsZoneIds to {zone_id.rsplit('/', 1)[-1]} "
        "to let pushpilot apply it"
    )


def test_dry_run_plans_without_changing_the_zone(route53: Route53Client, zone_id: str) -> None:
    before = record_count(route53, zone_id)

    result = run(route53, tickets_domain(), apply=False)

    assert not result.applied
    assert result.plan.total_changes > 0
    assert record_count(route53, zone_id) == before
    planned = [n for n in result.notices if n.kind is NoticeKind.DOMAIN_PLANNED]
    assert len(planned) == 1
    assert planned[0].thread_key == "domain:tickets.example"
    assert "dry run" in (planned[0].next_step or "")


def test_apply_then_reconcile_again_changes_nothing(route53: Route53Client, zone_id: str) -> None:
    first = run(route53, tickets_domain())
    after_first = record_count(route53, zone_id)
    second = run(route53, tickets_domain())

    assert first.applied
    assert NoticeKind.DOMAIN_PLANNED in kinds(first)
    assert second.plan.total_changes == 0
    assert not second.applied
    assert NoticeKind.DOMAIN_PLANNED not in kinds(second)
    assert record_count(route53, zone_id) == after_first


def test_stale_a_yields_a_conflict_notice_saying_how_to_opt_in(route53: Route53Client, zone_id: str) -> None:
    add_stale_a(route53, zone_id)

    first = run(route53, tickets_domain())
    again = run(route53, tickets_domain())

    conflicts = [n for n in first.notices if n.kind is NoticeKind.DOMAIN_CONFLICT]
    assert len(conflicts) == 1
    assert "A tickets.example 203.0.113.10" in conflicts[0].summary
    assert "DNS_TAKE_OVER=true" in (conflicts[0].next_step or "")
    assert conflicts[0].thread_key == "domain:tickets.example"
    again_conflict = next(n for n in again.notices if n.kind is NoticeKind.DOMAIN_CONFLICT)
    assert again_conflict.dedupe_key == conflicts[0].dedupe_key


def test_take_over_replaces_the_stale_a(route53: Route53Client, zone_id: str) -> None:
    add_stale_a(route53, zone_id)

    result = run(route53, tickets_domain(), take_over=True)

    assert result.applied
    a_records = [
        r
        for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        if r["Name"] == "tickets.example." and r["Type"] == "A"
    ]
    assert len(a_records) == 1
    assert "AliasTarget" in a_records[0]


def test_oversized_plan_is_refused_and_nothing_is_applied(route53: Route53Client, zone_id: str) -> None:
    before = record_count(route53, zone_id)

    result = run(route53, tickets_domain(), max_changes=2)

    assert not result.applied
    assert result.plan.refused is not None
    assert record_count(route53, zone_id) == before
    refused = next(n for n in result.notices if n.kind is NoticeKind.DOMAIN_PLANNED)
    assert "--max-changes" in (refused.next_step or "")


def test_validation_waiting_too_long_is_reported_with_findings(route53: Route53Client, zone_id: str) -> None:
    result = run(route53, tickets_domain(), apply=False, pending_since=NOW - timedelta(hours=6))

    blocked = [n for n in result.notices if n.kind is NoticeKind.DOMAIN_BLOCKED]
    assert len(blocked) == 1
    assert any("_6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d.tickets.example" in line for line in blocked[0].details)
    assert {f.code for f in result.findings} == {"validation-record-missing"}


def test_after_apply_diagnosis_sees_the_records_just_written(route53: Route53Client, zone_id: str) -> None:
    result = run(route53, tickets_domain(), pending_since=NOW - timedelta(hours=6))

    assert result.applied
    assert result.findings == ()
    assert NoticeKind.DOMAIN_BLOCKED not in kinds(result)


def test_validation_event_for_an_active_domain_is_announced(route53: Route53Client, zone_id: str) -> None:
    event = AppRunnerCustomDomainEvent.model_validate(
        {
            "version": "0",
            "id": "2f1e0d9c-8b7a-6f5e-4d3c-2b1a0f9e8d7c",
            "detail-type": "AppRunner Custom Domain Validation Status Update",
            "source": "aws.apprunner",
            "account": "111122223333",
            "time": "2026-05-04T09:29:55Z",
            "region": REGION,
            "resources": [SERVICE_ARN],
            "detail": {
                "domainName": "tickets.example",
                "customDomainStatus": "ACTIVE",
                "serviceName": "tickets",
            },
        }
    )

    result = run(route53, tickets_domain(status="ACTIVE"), trigger=event)

    validated = [n for n in result.notices if n.kind is NoticeKind.DOMAIN_VALIDATED]
    assert len(validated) == 1
    assert validated[0].thread_key == "domain:tickets.example"
    assert validated[0].dedupe_key == f"domain-validated:tickets.example:{event.id}"
    assert validated[0].occurred_at.startswith("2026-05-04T09:29:55")


def test_settings_read_the_environment() -> None:
    settings = DnsSettings.from_env(
        {
            "DNS_OWNER_ID": "pushpilot-prod",
            "DNS_ZONE_IDS": "Z0123456789ABCDEFGHIJ, /hostedzone/Z9876543210ZYXWVUTSRQ",
            "DNS_TAKE_OVER": "true",
            "DNS_MAX_CHANGES": "5",
        }
    )

    assert settings.policy() == DnsPolicy(
        take_over=True, max_changes=5, zone_ids=("Z0123456789ABCDEFGHIJ", "Z9876543210ZYXWVUTSRQ")
    )
    assert settings.validation_pending_hours == 2
    assert not settings.dry_run


def test_settings_require_an_owner_id() -> None:
    with pytest.raises(SettingsError, match="DNS_OWNER_ID"):
        DnsSettings.from_env({"DNS_ZONE_IDS": ""})
