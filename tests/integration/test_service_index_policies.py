"""The service index's release-policy parts against moto's DynamoDB (in process, no sockets): followers
found through the sparse index, holds set and lifted, what ran kept as history, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.service_index import ServiceIndex
from pushpilot.core.targets import TargetService
from pushpilot.core.tracking import Hold, InFlight, LiveImage, Pending
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from tests.integration.tables import create_stack_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "pushpilot-test"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
NOW = "2026-05-04T09:00:00.000+00:00"


def service(name: str, tag: str, tags: dict[str, str]) -> TargetService:
    return TargetService(
        kind="apprunner",
        arn=f"arn:aws:apprunner:{REGION}:123456789012:service/{name}/{'0' * 32}",
        name=name,
        status="RUNNING",
        image_identifier=f"{REGISTRY}/web:{tag}",
        auto_deploy=False,
        busy=False,
        required_platform=APP_RUNNER_PLATFORM,
        tags=tags,
    )


@pytest.fixture
def index() -> Iterator[ServiceIndex]:
    with mock_aws():
        client: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(client, TABLE)
        yield ServiceIndex(TABLE, client)


def test_one_query_by_repository_finds_every_service_of_it_whatever_tag_it_runs(
    index: ServiceIndex,
) -> None:
    follower = service("checkout", "v1.4.0", {"pushpilot:follow": "semver:^1"})
    plain = service("storefront", "latest", {"team": "shop"})
    index.upsert(follower, now=NOW)
    index.upsert(plain, now=NOW)

    found = sorted(found.name for found in index.services_following(f"{REGISTRY}/web"))
    assert found == ["checkout", "storefront"]
    assert index.services_following(f"{REGISTRY}/other") == []
    stored = index.get(follower.arn)
    assert stored is not None
    assert stored.tags == {"pushpilot:follow": "semver:^1"}
    assert stored.running_tag == "v1.4.0"

    # A removed policy keeps the service where a push of its repository finds it; its policy says no.
    index.upsert(follower.model_copy(update={"tags": {}}), now=NOW)
    refreshed = index.get(follower.arn)
    assert refreshed is not None
    assert refreshed.tags == {}
    assert len(index.services_following(f"{REGISTRY}/web")) == 2


def test_a_hold_is_set_and_lifted_and_bookkeeping_carries_the_image(index: ServiceIndex) -> None:
    checkout = service("checkout", "v1.4.0", {"pushpilot:follow": "semver:^1"})
    index.upsert(checkout, now=NOW)

    index.set_hold(checkout.arn, Hold(reason="rolled back to v1.4.0", since=NOW))
    # The scheduled refresh re-reads the service: the hold stays.
    index.upsert(checkout, now=NOW)
    held = index.get(checkout.arn)
    assert held is not None
    assert held.hold == Hold(reason="rolled back to v1.4.0", since=NOW)
    index.set_hold(checkout.arn, None)
    released = index.get(checkout.arn)
    assert released is not None
    assert released.hold is None

    claim = InFlight(
        digest="sha256:" + "1" * 64,
        release_id="web@x",
        started_at=NOW,
        image=f"{REGISTRY}/web:v1.5.0",
        tag="v1.5.0",
    )
    assert index.claim(checkout.arn, claim)
    index.unclaim_to_pending(checkout.arn, claim)
    waiting = index.get(checkout.arn)
    assert waiting is not None
    assert waiting.pending == Pending(
        digest=claim.digest, release_id="web@x", pushed_at=NOW, image=claim.image, tag="v1.5.0"
    )
    taken = index.take_pending(checkout.arn)
    assert taken is not None
    assert taken.tag == "v1.5.0"


def test_what_ran_is_kept_newest_first(index: ServiceIndex) -> None:
    checkout = service("checkout", "v1.4.0", {})
    index.upsert(checkout, now=NOW)
    first = LiveImage(release_id="web@a", digest="sha256:" + "a" * 64, tag="v1.4.0", since=NOW)
    second = LiveImage(
        release_id="web@b", digest="sha256:" + "b" * 64, tag="v1.5.0", since="2026-05-04T10:00:00.000+00:00"
    )

    index.record_live(checkout.arn, first, expires_at=1_900_000_000)
    index.record_live(checkout.arn, second, expires_at=1_900_000_000)

    assert index.history(checkout.arn) == [second, first]
    stored = index.get(checkout.arn)
    assert stored is not None
    assert stored.live == second
    assert stored.running_tag == "v1.5.0"
    # History items live beside the services, never among them.
    assert [found.name for found in index.all()] == ["checkout"]


def test_a_policy_problem_is_noted_once_per_wording_until_the_policy_is_fixed(index: ServiceIndex) -> None:
    broken = service("checkout", "latest", {"pushpilot:follow": "semver:^^1"})
    index.upsert(broken, now=NOW)

    assert index.note_policy_problem(broken.arn, "bad range")
    assert not index.note_policy_problem(broken.arn, "bad range")
    # The scheduled refresh re-reads the still-broken service: still noted.
    index.upsert(broken, now=NOW)
    assert not index.note_policy_problem(broken.arn, "bad range")
    assert index.note_policy_problem(broken.arn, "another mistake")

    index.upsert(broken.model_copy(update={"tags": {"pushpilot:follow": "semver:^1"}}), now=NOW)
    assert index.note_policy_problem(broken.arn, "another mistake")


def test_the_filled_marker_is_absent_until_marked_and_never_read_as_a_service(index: ServiceIndex) -> None:
    assert not index.filled()
    index.upsert(service("storefront", "latest", {}), now=NOW)

    index.mark_filled(now=NOW)

    assert index.filled()
    assert [found.name for found in index.all()] == ["storefront"]


def test_tags_read_at_deploy_time_replace_the_indexed_ones_and_never_create_a_service(
    index: ServiceIndex,
) -> None:
    storefront = service("storefront", "latest", {"team": "shop"})
    index.upsert(storefront, now=NOW)

    index.set_tags(storefront.arn, {"team": "shop", "pushpilot:hold": "incident 42"})
    index.set_tags(service("gone", "latest", {}).arn, {"pushpilot:hold": "x"})

    found = index.get(storefront.arn)
    assert found is not None
    assert found.tags == {"team": "shop", "pushpilot:hold": "incident 42"}
    assert index.get(service("gone", "latest", {}).arn) is None
