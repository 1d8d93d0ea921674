"""ECS services' tags reach the flows (release policies live in them), read with DescribeServices'
`include=['TAGS']` against moto (in process, no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.targets.ecs.services import EcsTarget
from tests.integration.test_ecs_target import REGION, register

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

pytestmark = pytest.mark.integration


@pytest.fixture
def ecs() -> Iterator[ECSClient]:
    with mock_aws():
        client: ECSClient = boto3.client("ecs", region_name=REGION)
        client.create_cluster(clusterName="prod")
        yield client


def test_service_tags_are_read_with_the_service(ecs: ECSClient) -> None:
    arn = ecs.create_service(
        cluster="prod",
        serviceName="checkout",
        taskDefinition=register(ecs, "checkout", architecture="X86_64"),
        desiredCount=1,
        launchType="FARGATE",
        tags=[{"key": "pushpilot:follow", "value": "semver:^1"}, {"key": "team", "value": "shop"}],
    )["service"]["serviceArn"]

    described = EcsTarget(ecs, region=REGION).describe(arn)

    assert described.tags == {"pushpilot:follow": "semver:^1", "team": "shop"}


def test_a_service_without_tags_has_none(ecs: ECSClient) -> None:
    arn = ecs.create_service(
        cluster="prod",
        serviceName="storefront",
        taskDefinition=register(ecs, "storefront", architecture="X86_64"),
        desiredCount=1,
        launchType="FARGATE",
    )["service"]["serviceArn"]

    assert EcsTarget(ecs, region=REGION).describe(arn).tags == {}
