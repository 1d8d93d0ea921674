"""The last-seen digest of each ECR Public tag against moto's DynamoDB (in process, no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.public_tags import PublicTagStore
from pushpilot.adapters.service_index import ServiceIndex
from pushpilot.core.public_sightings import Sighting, SightingKind
from tests.integration.tables import create_stack_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "pushpilot-test"
KEY = "public.ecr.aws/nginx/nginx:stable"
OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
NEWER = "sha256:" + "3" * 64


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        client: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(client, TABLE)
        yield client


@pytest.fixture
def tags(dynamodb: DynamoDBClient) -> PublicTagStore:
    return PublicTagStore(TABLE, dynamodb)


def test_first_sighting_then_unchanged_then_changed(tags: PublicTagStore) -> None:
    first = tags.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")
    again = tags.observe(KEY, OLD, "2026-05-04T09:05:00.000+00:00")
    moved = tags.observe(KEY, NEW, "2026-05-04T09:10:00.000+00:00")

    assert first == Sighting(image_key=KEY, digest=OLD, kind=SightingKind.FIRST)
    assert again == Sighting(image_key=KEY, digest=OLD, kind=SightingKind.UNCHANGED)
    assert moved == Sighting(image_key=KEY, digest=NEW, kind=SightingKind.CHANGED, previous=OLD)


def test_runs_seeing_the_same_change_get_one_changed(dynamodb: DynamoDBClient) -> None:
    """Two scheduled runs that both saw the tag move: the conditional write lets only the first one
    call it a change. (DynamoDB makes the condition atomic; moto does not serialize concurrent
    writes, so the runs take turns here.)"""
    first_run, second_run = PublicTagStore(TABLE, dynamodb), PublicTagStore(TABLE, dynamodb)
    first_run.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")

    one = first_run.observe(KEY, NEW, "2026-05-04T09:05:00.000+00:00")
    two = second_run.observe(KEY, NEW, "2026-05-04T09:05:00.001+00:00")

    assert [one.kind, two.kind] == [SightingKind.CHANGED, SightingKind.UNCHANGED]
    assert one.previous == OLD
    assert two.previous == OLD


def test_two_first_sightings_give_one_first(tags: PublicTagStore) -> None:
    one = tags.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")
    two = tags.observe(KEY, OLD, "2026-05-04T09:00:00.001+00:00")

    assert [one.kind, two.kind] == [SightingKind.FIRST, SightingKind.UNCHANGED]
    # Both know the digest has never been seen under another: the first-sighting rule still applies.
    assert one.previous is None
    assert two.previous is None


def test_settled_is_remembered_per_digest(tags: PublicTagStore) -> None:
    tags.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")
    assert tags.observe(KEY, OLD, "2026-05-04T09:01:00.000+00:00").settled is False

    assert tags.settle(KEY, OLD, "2026-05-04T09:02:00.000+00:00") is True
    assert tags.observe(KEY, OLD, "2026-05-04T09:03:00.000+00:00").settled is True

    tags.observe(KEY, NEW, "2026-05-04T09:04:00.000+00:00")
    unsettled = tags.observe(KEY, NEW, "2026-05-04T09:05:00.000+00:00")
    assert (unsettled.settled, unsettled.previous) == (False, OLD)


def test_settling_a_digest_the_tag_has_moved_past_changes_nothing(tags: PublicTagStore) -> None:
    tags.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")
    tags.observe(KEY, NEW, "2026-05-04T09:01:00.000+00:00")

    assert tags.settle(KEY, OLD, "2026-05-04T09:02:00.000+00:00") is False
    assert tags.observe(KEY, NEW, "2026-05-04T09:03:00.000+00:00").settled is False
    assert tags.observe(KEY, NEWER, "2026-05-04T09:04:00.000+00:00").previous == NEW


def test_item_lives_under_the_capability_prefix(tags: PublicTagStore, dynamodb: DynamoDBClient) -> None:
    tags.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")

    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"PUBLICTAG#{KEY}"}, "sk": {"S": "TAG"}})
    assert item["Item"]["digest"] == {"S": OLD}


def test_a_watched_tag_never_shows_up_as_a_service_in_the_repository_index(
    tags: PublicTagStore, dynamodb: DynamoDBClient
) -> None:
    tags.observe(KEY, OLD, "2026-05-04T09:00:00.000+00:00")
    tags.settle(KEY, OLD, "2026-05-04T09:00:01.000+00:00")

    assert ServiceIndex(TABLE, dynamodb).services_following(KEY.rsplit(":", 1)[0]) == []
