"""The ECS Express Mode target against botocore-stubbed answers in the API's own shapes (moto has no
Express operations): the whole primary container re-sent with only its image pinned, and the truth of a
canary read from the service deployment that targets the update's revision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pushpilot.core.targets import Outcome
from pushpilot.core.tracking import IndexedService, InFlight
from pushpilot.core.verdicts import LINUX_ARM64
from pushpilot.targets.ecs_express.services import EcsExpressTarget

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/checkout"
REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/default/checkout/4032897013589023456"
OLD_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/default/checkout/1111111111111111111"
DIGEST = "sha256:" + "b" * 64
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
PRIMARY_CONTAINER = {
    "image": f"{REGISTRY}/web:latest",
    "containerPort": 8080,
    "environment": [{"name": "MODE", "value": "production"}],
    "awsLogsConfiguration": {"logGroup": "/aws/ecs/checkout", "logStreamPrefix": "ecs"},
}


def express_service(*, current_deployment: str | None = None, architecture: str = "ARM64") -> dict[str, Any]:
    return {
        "service": {
            "cluster": "default",
            "serviceName": "checkout",
            "serviceArn": SERVICE_ARN,
            "status": {"statusCode": "ACTIVE"},
            **({"currentDeployment": current_deployment} if current_deployment else {}),
            "activeConfigurations": [
                {
                    "serviceRevisionArn": OLD_REVISION,
                    "cpuArchitecture": architecture,
                    "primaryContainer": PRIMARY_CONTAINER,
                    "ingressPaths": [
                        {"accessType": "PUBLIC", "endpoint": "ch-0123456789abcdef.ecs.us-east-1.on.aws"}
                    ],
                }
            ],
        }
    }


def indexed() -> IndexedService:
    return IndexedService(
        kind="ecs_express",
        arn=SERVICE_ARN,
        name="checkout",
        status="ACTIVE",
        image_identifier=f"{REGISTRY}/web:latest",
        image_key=f"{REGISTRY}/web:latest",
        auto_deploy=False,
        details={"cluster": "default", "cpu_architecture": "ARM64"},
    )


@pytest.fixture
def ecs() -> ECSClient:
    client: ECSClient = boto3.client("ecs", region_name=REGION)
    return client


def test_describe_reads_platform_endpoint_and_image(ecs: ECSClient) -> None:
    with Stubber(ecs) as stub:
        stub.add_response("describe_express_gateway_service", express_service())
        described = EcsExpressTarget(ecs, region=REGION).describe(SERVICE_ARN)

    assert described.required_platform == LINUX_ARM64
    assert described.service_url == "ch-0123456789abcdef.ecs.us-east-1.on.aws"
    assert described.image_identifier == f"{REGISTRY}/web:latest"
    assert described.busy is False


def test_deploy_resends_the_whole_primary_container_with_only_the_image_pinned(ecs: ECSClient) -> None:
    with Stubber(ecs) as stub:
        stub.add_response("describe_express_gateway_service", express_service())
        stub.add_response(
            "update_express_gateway_service",
            {
                "service": {
                    "serviceArn": SERVICE_ARN,
                    "targetConfiguration": {"serviceRevisionArn": REVISION},
                }
            },
            {
                "serviceArn": SERVICE_ARN,
                "primaryContainer": {**PRIMARY_CONTAINER, "image": f"{REGISTRY}/web@{DIGEST}"},
            },
        )
        revision = EcsExpressTarget(ecs, region=REGION).deploy(indexed(), DIGEST)

    assert revision == REVISION


def _deployments(status: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/default/checkout/Xy12"
    listed = {"serviceDeployments": [{"serviceDeploymentArn": arn, "status": status}]}
    described = {
        "serviceDeployments": [
            {
                "serviceDeploymentArn": arn,
                "status": status,
                "createdAt": NOW,
                "targetServiceRevision": {"arn": REVISION},
                **extra,
            }
        ]
    }
    return listed, described


@pytest.mark.parametrize(
    ("status", "extra", "outcome", "reason"),
    [
        ("IN_PROGRESS", {}, Outcome.IN_PROGRESS, None),
        (
            "ROLLBACK_IN_PROGRESS",
            {
                "rollback": {"reason": "Rolling back: alarm breached."},
                "alarms": {"status": "TRIGGERED", "triggeredAlarmNames": ["checkout-4xx-5xx"]},
            },
            Outcome.ROLLING_BACK,
            "alarm fired: checkout-4xx-5xx",
        ),
        (
            "ROLLBACK_SUCCESSFUL",
            {
                "rollback": {"reason": "Rolling back: alarm breached."},
                "alarms": {"status": "TRIGGERED", "triggeredAlarmNames": ["checkout-4xx-5xx"]},
            },
            Outcome.ROLLED_BACK,
            "alarm fired: checkout-4xx-5xx",
        ),
        (
            "STOPPED",
            {"statusReason": "stopped by a newer deployment"},
            Outcome.FAILED,
            "stopped by a newer deployment",
        ),
    ],
)
def test_the_canary_is_read_from_the_service_deployment_of_the_updates_revision(
    ecs: ECSClient, status: str, extra: dict[str, Any], outcome: Outcome, reason: str | None
) -> None:
    listed, described = _deployments(status, **extra)
    with Stubber(ecs) as stub:
        stub.add_response(
            "list_service_deployments",
            listed,
            {"service": SERVICE_ARN, "cluster": "default", "maxResults": ANY},
        )
        stub.add_response("describe_service_deployments", described)
        operation = EcsExpressTarget(ecs, region=REGION).find_operation(indexed(), REVISION)

    assert operation is not None
    assert operation.outcome is outcome
    if reason:
        assert reason in operation.reasons


def test_a_live_canary_reports_an_architecture_ecs_chose_instead(ecs: ECSClient) -> None:
    listed, described = _deployments("SUCCESSFUL")
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", listed)
        stub.add_response("describe_service_deployments", described)
        stub.add_response(
            "describe_service_revisions",
            {
                "serviceRevisions": [
                    {
                        "serviceRevisionArn": REVISION,
                        "overrides": {"runtimePlatform": {"cpuArchitecture": "X86_64"}},
                    }
                ]
            },
        )
        operation = EcsExpressTarget(ecs, region=REGION).find_operation(indexed(), REVISION)

    assert operation is not None
    assert operation.outcome is Outcome.LIVE
    assert operation.reasons == ("ECS ran the tasks on X86_64 instead of the ARM64 the service asks for",)


def test_a_deployment_for_another_revision_is_not_ours(ecs: ECSClient) -> None:
    listed, described = _deployments("SUCCESSFUL")
    described["serviceDeployments"][0]["targetServiceRevision"] = {"arn": OLD_REVISION}
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", listed)
        stub.add_response("describe_service_deployments", described)
        assert EcsExpressTarget(ecs, region=REGION).find_operation(indexed(), REVISION) is None


def _after_lost_answer(pushed: datetime) -> IndexedService:
    lost = InFlight(digest=DIGEST, release_id=f"web@{DIGEST}", started_at=pushed.isoformat())
    return indexed().model_copy(update={"lost_answer": lost})


def _revisions(image: str, digest: str) -> dict[str, Any]:
    return {
        "serviceRevisions": [
            {
                "serviceRevisionArn": REVISION,
                "containerImages": [{"containerName": "Main", "image": image, "imageDigest": digest}],
            }
        ]
    }


@pytest.mark.parametrize("status", ["IN_PROGRESS", "ROLLBACK_SUCCESSFUL"])
def test_after_a_lost_answer_the_revision_the_update_created_is_adopted_not_updated_again(
    ecs: ECSClient, status: str
) -> None:
    # Even when the canary already rolled back: it was this push's one deployment.
    listed, described = _deployments(status)
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", listed)
        stub.add_response("describe_service_deployments", described)
        stub.add_response(
            "describe_service_revisions",
            _revisions(f"{REGISTRY}/web@{DIGEST}", DIGEST),
            {"serviceRevisionArns": [REVISION]},
        )
        revision = EcsExpressTarget(ecs, region=REGION).deploy(
            _after_lost_answer(NOW - timedelta(minutes=1)), DIGEST
        )

    assert revision == REVISION


def test_after_a_lost_answer_that_changed_nothing_the_update_is_sent(ecs: ECSClient) -> None:
    # The only deployment since the push runs another digest: the lost update never went through.
    listed, described = _deployments("SUCCESSFUL")
    other = "sha256:" + "c" * 64
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", listed)
        stub.add_response("describe_service_deployments", described)
        stub.add_response("describe_service_revisions", _revisions(f"{REGISTRY}/web@{other}", other))
        stub.add_response("describe_express_gateway_service", express_service())
        stub.add_response(
            "update_express_gateway_service",
            {"service": {"serviceArn": SERVICE_ARN, "targetConfiguration": {"serviceRevisionArn": REVISION}}},
        )
        revision = EcsExpressTarget(ecs, region=REGION).deploy(
            _after_lost_answer(NOW - timedelta(minutes=1)), DIGEST
        )
        stub.assert_no_pending_responses()

    assert revision == REVISION


def test_a_deployment_that_began_before_the_push_is_not_the_lost_updates(ecs: ECSClient) -> None:
    listed, described = _deployments("SUCCESSFUL")
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", listed)
        stub.add_response("describe_service_deployments", described)
        stub.add_response("describe_express_gateway_service", express_service())
        stub.add_response(
            "update_express_gateway_service",
            {"service": {"serviceArn": SERVICE_ARN, "targetConfiguration": {"serviceRevisionArn": REVISION}}},
        )
        revision = EcsExpressTarget(ecs, region=REGION).deploy(
            _after_lost_answer(NOW + timedelta(minutes=1)), DIGEST
        )
        # Nothing began after the push: the update is sent.
        stub.assert_no_pending_responses()

    assert revision == REVISION
