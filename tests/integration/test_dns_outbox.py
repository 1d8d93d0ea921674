"""The DNS notice outbox against moto's DynamoDB and Route 53: a run's notices are held before its
records change and released once queued; a retry tells what an earlier run applied but could not
queue, and never tells of changes that did not happen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.dns_outbox import DnsNoticeOutbox
from pushpilot.adapters.route53 import DnsChangeRejectedError, Route53Zones
from pushpilot.core.dns.models import ZonePlan
from pushpilot.core.errors import RetryableError
from pushpilot.core.notices import Notice
from pushpilot.flows.dns import DnsPorts, ReconcileResult, ReconcileRules, deliver, reconcile
from tests.integration.tables import create_stack_table
from tests.integration.test_dns_reconcile import NOW, OWNER, REGION, InMemoryDomains, listed, tickets_domain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_route53 import Route53Client

TABLE = "pushpilot-test"


class FailingQueue:
    """A notice queue that is down for its first `failures` publishes."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.published: list[Notice] = []

    def publish(self, notice: Notice) -> None:
        if self.failures:
            self.failures -= 1
            raise RetryableError("sqs SendMessage: ServiceUnavailable")
        self.published.append(notice)


class RejectingZones(Route53Zones):
    """Route 53 refusing every change batch."""

    def apply(self, zone_plan: ZonePlan, *, wait: bool = False) -> str | None:
        raise DnsChangeRejectedError(f"zone {zone_plan.zone_name}: InvalidChangeBatch")


@pytest.fixture
def aws() -> Iterator[tuple[DynamoDBClient, Route53Client]]:
    with mock_aws():
        dynamodb: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(dynamodb, TABLE)
        route53: Route53Client = boto3.client("route53", region_name=REGION)
        route53.create_hosted_zone(Name="tickets.example", CallerReference="tickets")
        yield dynamodb, route53


def run_once(
    aws: tuple[DynamoDBClient, Route53Client], queue: FailingQueue, zones: Route53Zones | None = None
) -> ReconcileResult:
    dynamodb, route53 = aws
    outbox = DnsNoticeOutbox(TABLE, dynamodb)
    result = reconcile(
        DnsPorts(
            domains=InMemoryDomains(tickets_domain()),
            zones=zones or Route53Zones(route53),
            outbox=outbox,
        ),
        ReconcileRules(
            policy=listed(route53),
            owner_id=OWNER,
            region=REGION,
            apply=True,
        ),
        now=NOW,
    )
    deliver(result, queue, outbox)
    return result


def titles(queue: FailingQueue) -> list[str]:
    return [notice.title for notice in queue.published]


def test_a_retry_tells_what_the_failed_run_applied(aws: tuple[DynamoDBClient, Route53Client]) -> None:
    queue = FailingQueue(failures=1)
    with pytest.raises(RetryableError):
        run_once(aws, queue)
    assert queue.published == []

    retry = run_once(aws, queue)

    assert retry.plan.total_changes == 0, "the records were applied by the first run"
    assert titles(queue) == ["DNS updated for tickets.example"]
    assert DnsNoticeOutbox(TABLE, aws[0]).held() == []


def test_a_delivered_run_leaves_nothing_held_and_tells_once(
    aws: tuple[DynamoDBClient, Route53Client],
) -> None:
    queue = FailingQueue()
    run_once(aws, queue)
    run_once(aws, queue)

    assert titles(queue) == ["DNS updated for tickets.example"]
    assert DnsNoticeOutbox(TABLE, aws[0]).held() == []


def test_changes_that_never_landed_are_never_told(aws: tuple[DynamoDBClient, Route53Client]) -> None:
    dynamodb, route53 = aws
    queue = FailingQueue()
    with pytest.raises(DnsChangeRejectedError):
        run_once(aws, queue, zones=RejectingZones(route53))
    assert len(DnsNoticeOutbox(TABLE, dynamodb).held()) == 1, "held before the apply"

    # The next run finds the held notices untrue (nothing changed), drops them, and applies itself.
    retry = run_once(aws, queue)

    assert retry.applied
    assert titles(queue) == ["DNS updated for tickets.example"]
    assert DnsNoticeOutbox(TABLE, dynamodb).held() == []
