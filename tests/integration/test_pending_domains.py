"""First-seen times of pending validations, against moto's DynamoDB and Route 53: a validation is
diagnosed once it has waited long enough across scheduled runs, and forgotten once it is no longer pending."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.pending_domains import PendingDomains
from pushpilot.adapters.route53 import Route53Zones
from pushpilot.core.dns.models import DnsPolicy, DomainBinding
from pushpilot.core.notices import NoticeKind
from pushpilot.flows.dns import DnsPorts, ReconcileResult, ReconcileRules, reconcile
from tests.integration.tables import create_stack_table
from tests.integration.test_dns_reconcile import NOW, OWNER, REGION, InMemoryDomains, tickets_domain

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_route53 import Route53Client

TABLE = "pushpilot-test"


@pytest.fixture
def aws() -> Iterator[tuple[DynamoDBClient, Route53Client]]:
    with mock_aws():
        dynamodb: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(dynamodb, TABLE)
        route53: Route53Client = boto3.client("route53", region_name=REGION)
        route53.create_hosted_zone(Name="tickets.example", CallerReference="tickets")
        yield dynamodb, route53


def scheduled_run(
    aws: tuple[DynamoDBClient, Route53Client], state: DomainBinding, now: datetime
) -> ReconcileResult:
    dynamodb, route53 = aws
    return reconcile(
        DnsPorts(
            domains=InMemoryDomains(state),
            zones=Route53Zones(route53),
            pending=PendingDomains(TABLE, dynamodb),
        ),
        ReconcileRules(
            policy=DnsPolicy(),
            owner_id=OWNER,
            region=REGION,
            apply=False,
            pending_hours=2,
        ),
        now=now,
    )


def blocked(result: ReconcileResult) -> int:
    return sum(1 for notice in result.notices if notice.kind is NoticeKind.DOMAIN_BLOCKED)


def test_a_validation_is_diagnosed_only_once_it_has_waited_long_enough(
    aws: tuple[DynamoDBClient, Route53Client],
) -> None:
    pending = tickets_domain()

    first = scheduled_run(aws, pending, NOW)
    later = scheduled_run(aws, pending, NOW + timedelta(hours=1))
    overdue = scheduled_run(aws, pending, NOW + timedelta(hours=2, minutes=1))

    assert (blocked(first), blocked(later), blocked(overdue)) == (0, 0, 1)
    assert {finding.code for finding in overdue.findings} == {"validation-record-missing"}


def test_the_first_sighting_is_kept_not_moved_by_later_runs(
    aws: tuple[DynamoDBClient, Route53Client],
) -> None:
    dynamodb, _ = aws
    tracker = PendingDomains(TABLE, dynamodb)

    seen = tracker.track([tickets_domain()], NOW)
    again = tracker.track([tickets_domain()], NOW + timedelta(hours=3))

    assert seen == {"tickets.example": NOW}
    assert again == {"tickets.example": NOW}


def test_a_domain_no_longer_pending_is_forgotten_and_starts_afresh(
    aws: tuple[DynamoDBClient, Route53Client],
) -> None:
    dynamodb, _ = aws
    tracker = PendingDomains(TABLE, dynamodb)
    tracker.track([tickets_domain()], NOW)

    active = tracker.track([tickets_domain(status="ACTIVE")], NOW + timedelta(hours=1))
    pending_again = tracker.track([tickets_domain()], NOW + timedelta(hours=5))

    assert active == {}
    assert pending_again == {"tickets.example": NOW + timedelta(hours=5)}
    stored = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "DNSPENDING"}, "sk": {"S": "tickets.example"}}
    )["Item"]
    assert "expires_at" in stored


def test_a_domain_removed_while_pending_is_forgotten_by_a_complete_run_only(
    aws: tuple[DynamoDBClient, Route53Client],
) -> None:
    dynamodb, _ = aws
    tracker = PendingDomains(TABLE, dynamodb)
    other = tickets_domain().model_copy(update={"domain_name": "shop.example"})
    tracker.track([tickets_domain(), other], NOW)

    # A run for one service sees only its domains: the other service's record stays.
    tracker.track([other], NOW + timedelta(hours=1), complete=False)
    assert tracker.track([tickets_domain(), other], NOW + timedelta(hours=2))["tickets.example"] == NOW

    # A full run no longer lists tickets.example: removed, so a later association starts afresh.
    tracker.track([other], NOW + timedelta(hours=3))
    later = NOW + timedelta(days=3)
    assert tracker.track([tickets_domain(), other], later)["tickets.example"] == later
