"""The Lambda target's reach and tags against moto (in process, no sockets): `serves` reads the prefix off
the function ARN with no call, and `current_tags` reads the tags as they are at deploy time with the one
GetFunction the deploy policy already grants (a hold set since the last refresh counts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.core.errors import NotFoundError
from pushpilot.core.tracking import IndexedService
from pushpilot.targets.lambda_fn.services import LambdaTarget

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:latest"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"


@pytest.fixture
def client() -> Iterator[LambdaClient]:
    with mock_aws():
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="thumbs-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        lambda_client: LambdaClient = boto3.client("lambda", region_name=REGION)
        lambda_client.create_function(
            FunctionName="media-thumbs",
            Role=role,
            PackageType="Image",
            Code={"ImageUri": IMAGE},
            Architectures=["arm64"],
            Tags={"team": "media"},
        )
        yield lambda_client


def _indexed(target: LambdaTarget, name: str) -> IndexedService:
    described = target.describe(FUNCTION_ARN.format(name))
    return IndexedService(
        kind=described.kind,
        arn=described.arn,
        name=described.name,
        status=described.status,
        image_identifier=str(described.image_identifier),
        image_key=IMAGE,
        auto_deploy=False,
        required_platform=str(described.required_platform),
        tags=described.tags,
    )


def test_the_tags_read_at_deploy_time_include_a_hold_set_since_discovery(client: LambdaClient) -> None:
    target = LambdaTarget(client, region=REGION, prefix="media-")
    service = _indexed(target, "media-thumbs")
    assert service.tags == {"team": "media"}

    client.tag_resource(Resource=service.arn, Tags={"pushpilot:hold": "incident 42"})

    assert target.current_tags(service) == {"team": "media", "pushpilot:hold": "incident 42"}
    client.untag_resource(Resource=service.arn, TagKeys=["pushpilot:hold"])
    assert target.current_tags(service) == {"team": "media"}


def test_the_tags_of_a_function_deleted_since_discovery_are_not_found(client: LambdaClient) -> None:
    target = LambdaTarget(client, region=REGION, prefix="media-")
    service = _indexed(target, "media-thumbs")
    client.delete_function(FunctionName="media-thumbs")

    with pytest.raises(NotFoundError):
        target.current_tags(service)


@pytest.mark.parametrize(
    ("arn", "served"),
    [
        (FUNCTION_ARN.format("media-thumbs"), True),
        (FUNCTION_ARN.format("media-thumbs") + ":7", True),
        (FUNCTION_ARN.format("media-thumbs") + ":live", True),
        (FUNCTION_ARN.format("media"), False),
        (FUNCTION_ARN.format("billing-media-thumbs"), False),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:media-thumbs:1", False),
        (f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/media-/media-thumbs", False),
        ("media-thumbs", False),
    ],
)
def test_serves_reads_the_prefix_off_the_arn_with_no_call(arn: str, served: bool) -> None:
    # No client is given: `serves` answers without one (a call would meet no AWS here: no sockets).
    assert LambdaTarget(region=REGION, prefix="media-").serves(arn) is served
    assert LambdaTarget(region=REGION, prefix="").serves(arn) is False
