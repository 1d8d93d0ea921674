"""The adapters of release stages against moto in process: the bakes in the stack's table (a newer
upstream release replaces an older one, never the reverse; a state moves only from the one read), the
alarms that hold a bake, and the image parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.alarms import CloudWatchAlarms
from pushpilot.adapters.image_parameters import SsmImageParameters
from pushpilot.adapters.promotions import PromotionTable
from pushpilot.core.promotion import BakeState, Baking
from tests.integration.tables import create_stack_table

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TABLE = "pushpilot-test"
PROD = "arn:aws:ecs:us-east-1:123456789012:service/prod/prod-web"
FIRST = "sha256:" + "1" * 64
SECOND = "sha256:" + "2" * 64


def baking(digest: str, live_since: str) -> Baking:
    return Baking(
        service_arn=PROD,
        service_name="prod-web",
        release_id=f"web@{digest}",
        repository="web",
        registry="123456789012.dkr.ecr.us-east-1.amazonaws.com",
        digest=digest,
        tag="latest",
        upstream_service="staging-web",
        live_since=live_since,
        bake_started=live_since,
    )


@pytest.fixture
def table() -> Iterator[PromotionTable]:
    with mock_aws():
        client: DynamoDBClient = boto3.client("dynamodb", region_name=REGION)
        create_stack_table(client, TABLE)
        yield PromotionTable(TABLE, client)


def test_a_newer_upstream_release_replaces_an_older_one_and_never_the_reverse(table: PromotionTable) -> None:
    first = baking(FIRST, "2026-05-04T09:00:00.000+00:00")
    second = baking(SECOND, "2026-05-04T09:20:00.000+00:00")

    assert table.offer(first) == (True, None)
    assert table.offer(first) == (False, None)
    taken, replaced = table.offer(second)
    assert taken
    assert replaced == first
    assert table.offer(first) == (False, None)
    assert table.get(PROD) == second
    assert table.all() == [second]


def test_a_state_moves_only_from_the_one_it_was_read_in(table: PromotionTable) -> None:
    read = baking(FIRST, "2026-05-04T09:00:00.000+00:00")
    table.offer(read)

    assert table.move(read, BakeState.HELD, held_by=("storefront-5xx",))
    # A second refresh that read the same bake before the first moved it changes nothing.
    assert not table.move(read, BakeState.PROMOTED)
    held = table.get(PROD)
    assert held is not None
    assert held.state is BakeState.HELD
    assert held.held_by == ("storefront-5xx",)
    assert table.move(held, BakeState.BAKING, bake_started="2026-05-04T09:40:00.000+00:00")
    fresh = table.get(PROD)
    assert fresh is not None
    assert (fresh.state, fresh.bake_started, fresh.held_by) == (
        BakeState.BAKING,
        "2026-05-04T09:40:00.000+00:00",
        (),
    )


def test_alarms_in_alarm_and_missing_ones_hold_a_bake_quiet_ones_do_not() -> None:
    with mock_aws():
        client: CloudWatchClient = boto3.client("cloudwatch", region_name=REGION)
        for name in ("storefront-5xx", "storefront-latency", "storefront-quiet"):
            client.put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/ApplicationELB",
                MetricName="HTTPCode_Target_5XX_Count",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=5,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
            )
        client.set_alarm_state(AlarmName="storefront-5xx", StateValue="ALARM", StateReason="5xx")
        client.set_alarm_state(AlarmName="storefront-latency", StateValue="OK", StateReason="fine")
        alarms = CloudWatchAlarms(client)

        held = alarms.in_alarm(["storefront-5xx", "storefront-latency", "storefront-quiet", "storefornt-5xx"])

    assert held == ["storefront-5xx", "storefornt-5xx (no such alarm)"]


def test_the_image_parameter_is_written_and_overwritten() -> None:
    with mock_aws():
        client: SSMClient = boto3.client("ssm", region_name=REGION)
        parameters = SsmImageParameters(client)
        parameters.publish("ecs", "storefront", f"repo/web@{FIRST}")
        parameters.publish("ecs", "storefront", f"repo/web@{SECOND}")

        stored = client.get_parameter(Name="/pushpilot/ecs/storefront/image")["Parameter"]

    assert stored["Value"] == f"repo/web@{SECOND}"
    assert stored["Type"] == "String"
