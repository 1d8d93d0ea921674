"""The claim on a service's deployment against moto's DynamoDB (in process, no sockets): a claim whose
deployment never started is given back, so the retry deploys instead of queueing behind nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.service_index import ServiceIndex
from pushpilot.core.tracking import Pending
from tests.fakes import service_snapshot
from tests.integration.tables import create_stack_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "pushpilot-test"
NOW = "2026-05-04T09:14:09.000+00:00"
PUSH = Pending(digest="sha256:" + "a" * 64, release_id="web@sha256:" + "a" * 64, pushed_at=NOW)


@pytest.fixture
def index() -> Iterator[ServiceIndex]:
    with mock_aws():
        client: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(client, TABLE)
        index = ServiceIndex(TABLE, client)
        index.upsert(service_snapshot("storefront", "web"), now=NOW)
        yield index


def _arn(index: ServiceIndex) -> str:
    return index.all()[0].arn


def test_a_claim_whose_deployment_never_started_is_given_back(index: ServiceIndex) -> None:
    arn = _arn(index)
    assert index.claim(arn, PUSH.as_claim())

    index.unclaim(arn, PUSH.as_claim())

    service = index.get(arn)
    assert service is not None
    assert service.in_flight is None
    # Free again: the retry's claim succeeds.
    assert index.claim(arn, PUSH.as_claim())


def test_a_claim_whose_deployment_started_is_kept(index: ServiceIndex) -> None:
    arn = _arn(index)
    assert index.claim(arn, PUSH.as_claim())
    index.set_operation(arn, PUSH.digest, "op-1")

    index.unclaim(arn, PUSH.as_claim())

    service = index.get(arn)
    assert service is not None
    assert service.in_flight is not None
    assert service.in_flight.operation_id == "op-1"


def test_a_claim_given_back_after_a_lost_answer_is_remembered_until_an_operation_is_known(
    index: ServiceIndex,
) -> None:
    arn = _arn(index)
    assert index.claim(arn, PUSH.as_claim())

    index.unclaim(arn, PUSH.as_claim(), answer_lost=True)

    service = index.get(arn)
    assert service is not None
    assert service.in_flight is None
    assert service.answer_lost_for(PUSH.digest)
    # The retry claims, and learns the operation: nothing is left to look for.
    assert index.claim(arn, PUSH.as_claim())
    claimed = index.get(arn)
    assert claimed is not None
    assert claimed.answer_lost_for(PUSH.digest)
    index.set_operation(arn, PUSH.digest, "op-1")
    service = index.get(arn)
    assert service is not None
    assert service.lost_answer is None
    assert service.in_flight is not None


def test_a_service_pinned_to_a_digest_keeps_following_the_tag_it_was_deployed_from(
    index: ServiceIndex,
) -> None:
    before = index.all()[0]
    pinned = service_snapshot("storefront", "web").model_copy(
        update={"image_identifier": before.image_identifier.replace(":latest", "@sha256:" + "b" * 64)}
    )

    index.upsert(pinned, now=NOW)

    after = index.all()[0]
    assert after.image_key == before.image_key
    assert after.image_identifier == pinned.image_identifier
    repository = before.image_key.rsplit(":", 1)[0]
    assert [service.arn for service in index.services_following(repository)] == [before.arn]


def test_a_service_moved_to_another_repository_is_found_by_its_new_image(index: ServiceIndex) -> None:
    moved = service_snapshot("storefront", "web").model_copy(
        update={
            "image_identifier": index.all()[0].image_identifier.replace(
                "/web:latest", "/shop@sha256:" + "c" * 64
            )
        }
    )

    index.upsert(moved, now=NOW)

    assert index.all()[0].image_key.endswith("/shop@sha256:" + "c" * 64)


def test_a_claim_records_the_intent_until_its_operation_is_known_or_it_is_given_back(
    index: ServiceIndex,
) -> None:
    """The claim's own update says an attempt may act: one that dies before it can say more (the function
    timed out between its writes) leaves its retry the cue to look. Given back unheard-of, it goes."""
    arn = _arn(index)
    assert index.claim(arn, PUSH.as_claim())
    claimed = index.get(arn)
    assert claimed is not None
    assert claimed.answer_lost_for(PUSH.digest)

    index.unclaim(arn, PUSH.as_claim())

    service = index.get(arn)
    assert service is not None
    assert service.in_flight is None
    assert service.lost_answer is None
    assert index.claim(arn, PUSH.as_claim())
    index.set_operation(arn, PUSH.digest, "op-1")
    started = index.get(arn)
    assert started is not None
    assert started.lost_answer is None
