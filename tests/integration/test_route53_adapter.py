"""Route53Zones against moto's Route 53: snapshots, applying plans, and leaving others' records alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from pushpilot.adapters.route53 import DnsChangeRejectedError, Route53Zones
from pushpilot.core.dns.models import (
    Change,
    ChangeAction,
    DnsPlan,
    DnsPolicy,
    DomainBinding,
    RecordSet,
    ValidationRecord,
    ZonePlan,
    ZoneSnapshot,
)
from pushpilot.core.dns.ownership import is_marker, owned_by
from pushpilot.core.dns.planning import plan_dns
from pushpilot.core.errors import RetryableError
from pushpilot.targets.apprunner.declaration import DNS as APP_RUNNER_DNS

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

OWNER = "pushpilot-prod"
REGION = "us-east-1"
TARGET = "r8c4vn2k0q.us-east-1.awsapprunner.com"
DOMAIN = DomainBinding(
    **APP_RUNNER_DNS.model_dump(),
    service_arn="arn:aws:apprunner:us-east-1:111122223333:service/catalog/7a6b5c4d3e2f10918273645546372819",
    service_name="catalog",
    dns_target=TARGET,
    domain_name="books.example",
    enable_www=True,
    status="PENDING_CERTIFICATE_DNS_VALIDATION",
    validation_records=(
        ValidationRecord(
            name="_3c2b1a09f8e7d6c5b4a3928170f6e5d4.books.example.",
            value="_8f7e6d5c4b3a29180f7e6d5c4b3a2918.kdmvqhrtzw.acm-validations.aws.",
        ),
        ValidationRecord(
            name="_d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9.www.books.example.",
            value="_1a2b3c4d5e6f708192a3b4c5d6e7f809.kdmvqhrtzw.acm-validations.aws.",
        ),
    ),
)


@pytest.fixture
def route53() -> Iterator[Route53Client]:
    with mock_aws():
        yield boto3.client("route53", region_name=REGION)


def create_zone(client: Route53Client, name: str, *, private: bool = False) -> str:
    extra: dict[str, object] = {}
    if private:
        extra = {
            "VPC": {"VPCRegion": REGION, "VPCId": "vpc-0a1b2c3d"},
            "HostedZoneConfig": {"PrivateZone": True},
        }
    zone = client.create_hosted_zone(Name=name, CallerReference=f"ref-{name}-{private}", **extra)  # type: ignore[arg-type]
    return zone["HostedZone"]["Id"].rsplit("/", 1)[-1]


def put(client: Route53Client, zone_id: str, *records: dict[str, object]) -> None:
    client.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": r} for r in records]},  # type: ignore[typeddict-item]
    )


def read_all(zones: Route53Zones) -> list[ZoneSnapshot]:
    return [zones.snapshot(ref.zone_id) for ref in zones.list_public_zones()]


def plan_now(zones: Route53Zones, *, take_over: bool = False) -> DnsPlan:
    return plan_dns(
        [DOMAIN], read_all(zones), owner_id=OWNER, region=REGION, policy=DnsPolicy(take_over=take_over)
    )


def apply_all(zones: Route53Zones, plan: DnsPlan) -> None:
    for zone_plan in plan.zones:
        zones.apply(zone_plan)


def not_ours(snapshots: list[ZoneSnapshot]) -> set[tuple[str, RecordSet]]:
    return {
        (snapshot.zone_id, record)
        for snapshot in snapshots
        for record in snapshot.records
        if not is_marker(record) and not owned_by(snapshot, record, OWNER)
    }


def rrset(name: str, record_type: str, value: str, ttl: int = 300) -> dict[str, object]:
    return {"Name": name, "Type": record_type, "TTL": ttl, "ResourceRecords": [{"Value": value}]}


STALE_A = rrset("books.example.", "A", "203.0.113.10")
MAIL = rrset("books.example.", "MX", "10 mx.books.example.")
SPF = rrset("books.example.", "TXT", '"v=spf1 -all"')
BLOG = rrset("blog.books.example.", "CNAME", "pages.host.", ttl=60)


def test_snapshot_reads_records_name_servers_and_aliases(route53: Route53Client) -> None:
    zone_id = create_zone(route53, "books.example")
    create_zone(route53, "internal.books.example", private=True)
    alias = {
        "HostedZoneId": APP_RUNNER_DNS.alias_zone_ids[REGION],
        "DNSName": TARGET,
        "EvaluateTargetHealth": False,
    }
    put(route53, zone_id, {"Name": "books.example.", "Type": "AAAA", "AliasTarget": alias}, BLOG)
    zones = Route53Zones(route53)

    public = zones.list_public_zones()
    snapshot = zones.snapshot(f"/hostedzone/{zone_id}")

    assert [(ref.zone_id, ref.name) for ref in public] == [(zone_id, "books.example")]
    assert snapshot.zone_id == zone_id
    assert snapshot.name == "books.example"
    assert snapshot.name_servers
    aaaa = snapshot.find("books.example", "AAAA")
    assert aaaa is not None
    assert aaaa.alias_target is not None
    assert aaaa.alias_target.dns_name == TARGET
    blog = snapshot.find("blog.books.example", "CNAME")
    assert blog is not None
    assert blog.values == ("pages.host.",)


def test_snapshot_follows_pagination(route53: Route53Client) -> None:
    zone_id = create_zone(route53, "books.example")
    many = [rrset(f"host{i}.books.example.", "A", "192.0.2.1") for i in range(420)]
    put(route53, zone_id, *many)

    snapshot = Route53Zones(route53).snapshot(zone_id)

    assert len([r for r in snapshot.records if r.name.startswith("host")]) == 420


def test_apply_then_plan_again_is_empty(route53: Route53Client) -> None:
    create_zone(route53, "books.example")
    zones = Route53Zones(route53)
    first = plan_now(zones)
    assert first.total_changes > 0

    apply_all(zones, first)
    second = plan_now(zones)

    assert second.changes == ()
    snapshot = read_all(zones)[0]
    apex = snapshot.find("books.example", "A")
    assert apex is not None
    assert apex.alias_target is not None
    assert apex.alias_target.hosted_zone_id == APP_RUNNER_DNS.alias_zone_ids[REGION]
    www = snapshot.find("www.books.example", "CNAME")
    assert www is not None
    assert www.values == (TARGET,)


def test_records_that_are_not_ours_are_unchanged_by_apply(route53: Route53Client) -> None:
    zone_id = create_zone(route53, "books.example")
    put(route53, zone_id, STALE_A, MAIL, SPF, BLOG)
    zones = Route53Zones(route53)
    before = not_ours(read_all(zones))

    plan = plan_now(zones)
    apply_all(zones, plan)

    assert not_ours(read_all(zones)) == before
    assert [c.record.describe() for c in plan.conflicts] == ["A books.example 203.0.113.10"]


def test_take_over_replaces_only_the_listed_conflict(route53: Route53Client) -> None:
    zone_id = create_zone(route53, "books.example")
    put(route53, zone_id, STALE_A, MAIL, SPF, BLOG)
    zones = Route53Zones(route53)
    before = not_ours(read_all(zones))

    plan = plan_now(zones, take_over=True)
    apply_all(zones, plan)

    replaced = {(c.zone_id, c.record) for c in plan.conflicts if c.replaced}
    assert {record.describe() for _, record in replaced} == {"A books.example 203.0.113.10"}
    assert not_ours(read_all(zones)) == before - replaced
    apex = read_all(zones)[0].find("books.example", "A")
    assert apex is not None
    assert apex.alias_target is not None
    assert plan_now(zones, take_over=True).changes == ()


def test_delegation_to_a_child_zone_is_created(route53: Route53Client) -> None:
    parent_id = create_zone(route53, "books.example")
    child_id = create_zone(route53, "www.books.example")
    zones = Route53Zones(route53)
    child_servers = zones.snapshot(child_id).name_servers

    apply_all(zones, plan_now(zones))

    delegation = zones.snapshot(parent_id).find("www.books.example", "NS")
    assert delegation is not None
    assert set(delegation.values) == set(child_servers)
    child = zones.snapshot(child_id)
    assert child.find("www.books.example", "A") is not None
    assert child.find("www.books.example", "AAAA") is not None
    assert plan_now(zones).changes == ()


def test_apply_can_wait_for_the_change_to_be_in_sync(route53: Route53Client) -> None:
    create_zone(route53, "books.example")
    zones = Route53Zones(route53)
    plan = plan_now(zones)

    change_id = zones.apply(plan.zones[0], wait=True)

    assert change_id
    assert route53.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"


def test_a_rejected_batch_carries_route53s_message(route53: Route53Client) -> None:
    zone_id = create_zone(route53, "books.example")
    put(route53, zone_id, BLOG)
    duplicate = RecordSet(name="blog.books.example", type="CNAME", ttl=60, values=("pages.host.",))
    zone_plan = ZonePlan(
        zone_id=zone_id,
        zone_name="books.example",
        changes=(Change(action=ChangeAction.CREATE, record=duplicate),),
    )

    with pytest.raises(DnsChangeRejectedError, match="already exists"):
        Route53Zones(route53).apply(zone_plan)


def test_a_change_still_in_progress_is_retryable_not_throttling() -> None:
    client = boto3.client("route53", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    zone_plan = ZonePlan(
        zone_id="Z0ABCDEF123456",
        zone_name="books.example",
        changes=(
            Change(
                action=ChangeAction.CREATE,
                record=RecordSet(name="a.books.example", type="A", ttl=60, values=("192.0.2.9",)),
            ),
        ),
    )
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "change_resource_record_sets",
            service_error_code="PriorRequestNotComplete",
            service_message="The request was rejected because Route 53 was still processing a prior request.",
            http_status_code=400,
        )
        with pytest.raises(RetryableError, match="PriorRequestNotComplete") as raised:
            Route53Zones(client).apply(zone_plan)

    # The zone is busy applying an earlier change: retry, but it is not a rate limit.
    assert type(raised.value) is RetryableError
