"""The ECS target against moto after lost answers: the copies registered for a release are found by their
tags, one is deployed and the others deregistered; the happy path never lists them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from moto import mock_aws

from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.tracking import IndexedService, InFlight
from pushpilot.targets.ecs.services import EcsTarget
from pushpilot.targets.ecs.task_definitions import pinned_copy, release_tags
from tests.integration.test_ecs_target import DIGEST, create_service, indexed, register

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"


@pytest.fixture
def ecs() -> Iterator[ECSClient]:
    with mock_aws():
        client: ECSClient = boto3.client("ecs", region_name=REGION)
        client.create_cluster(clusterName="prod")
        yield client


def _called(ecs: ECSClient, operation: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    ecs.meta.events.register(
        f"provide-client-params.ecs.{operation}", lambda params, **_: calls.append(dict(params))
    )
    return calls


def _lost_copies(ecs: ECSClient, base: str, count: int) -> list[str]:
    """What attempts whose answers were lost left behind: copies registered for the release."""
    from pushpilot.core.image_ref import ImageRef

    described = ecs.describe_task_definition(taskDefinition=base, include=["TAGS"])
    image = ImageRef.parse(described["taskDefinition"]["containerDefinitions"][0]["image"])
    register_input, _ = pinned_copy(
        dict(described["taskDefinition"]), image=image, digest=DIGEST, tags=release_tags(base, DIGEST)
    )
    return [
        ecs.register_task_definition(**register_input)["taskDefinition"]["taskDefinitionArn"]
        for _ in range(count)
    ]


def _active_copies(ecs: ECSClient) -> list[str]:
    arns = ecs.list_task_definitions(familyPrefix="storefront", status="ACTIVE")["taskDefinitionArns"]
    return [
        arn
        for arn in arns
        if {"key": "pushpilot:digest", "value": DIGEST}
        in ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]).get("tags", [])
    ]


def _after_lost_answer(service: IndexedService) -> IndexedService:
    lost = InFlight(digest=DIGEST, release_id=f"web@{DIGEST}", started_at="2026-05-04T09:14:09+00:00")
    return service.model_copy(update={"lost_answer": lost})


def _no_service_deployment_since_the_push(ecs: ECSClient) -> None:
    """moto has no service deployments API: answer as ECS does when none began since the push."""
    from botocore.awsrequest import AWSResponse

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://ecs.us-east-1.amazonaws.com/", 200, {}, None), {"serviceDeployments": []}

    ecs.meta.events.register("before-call.ecs.ListServiceDeployments", answer)


def test_after_a_lost_answer_the_first_copy_is_deployed_and_the_others_deregistered(ecs: ECSClient) -> None:
    base = register(ecs, "storefront", architecture="X86_64")
    _no_service_deployment_since_the_push(ecs)
    arn = create_service(ecs, "storefront", base)
    first, *others = _lost_copies(ecs, base, 3)
    target = EcsTarget(ecs, region=REGION)
    registered = _called(ecs, "RegisterTaskDefinition")
    updated = _called(ecs, "UpdateService")

    target.deploy(_after_lost_answer(indexed(target, arn)), DIGEST)

    assert registered == []
    assert [call["taskDefinition"] for call in updated] == [first]
    assert _active_copies(ecs) == [first]
    for other in others:
        assert ecs.describe_task_definition(taskDefinition=other)["taskDefinition"]["status"] == "INACTIVE"


def test_a_registration_botocore_had_to_retry_settles_the_copies_its_lost_attempts_left(
    ecs: ECSClient,
) -> None:
    base = register(ecs, "storefront", architecture="X86_64")
    arn = create_service(ecs, "storefront", base)
    (lost,) = _lost_copies(ecs, base, 1)

    def answered_after_one_retry(parsed: dict[str, Any], **_: Any) -> None:
        parsed["ResponseMetadata"]["RetryAttempts"] = 1

    ecs.meta.events.register("after-call.ecs.RegisterTaskDefinition", answered_after_one_retry)
    target = EcsTarget(ecs, region=REGION)
    updated = _called(ecs, "UpdateService")

    target.deploy(indexed(target, arn), DIGEST)

    assert [call["taskDefinition"] for call in updated] == [lost]
    assert _active_copies(ecs) == [lost]


def test_the_happy_path_never_lists_the_family(ecs: ECSClient) -> None:
    base = register(ecs, "storefront", architecture="X86_64")
    arn = create_service(ecs, "storefront", base)
    target = EcsTarget(ecs, region=REGION)
    listed = _called(ecs, "ListTaskDefinitions")
    deregistered = _called(ecs, "DeregisterTaskDefinition")

    target.deploy(indexed(target, arn), DIGEST)

    assert listed == []
    assert deregistered == []
    assert len(_active_copies(ecs)) == 1


def test_a_lost_deployment_already_rolled_back_is_adopted_not_deployed_again() -> None:
    """The circuit breaker rolled the lost attempt's deployment back before the retry: it is gone from
    the service, and only the service deployments remember it. Stubbed: moto has no such API."""
    from datetime import UTC, datetime

    from botocore.stub import ANY, Stubber

    client: ECSClient = boto3.client("ecs", region_name=REGION)
    prefix = f"arn:aws:ecs:{REGION}:123456789012"
    base, deployed, spare = (f"{prefix}:task-definition/storefront:{n}" for n in (4, 5, 6))
    service_arn = f"{prefix}:service/prod/storefront"
    rolled_back = f"{prefix}:service-deployment/prod/storefront/Rb12"
    revision = f"{prefix}:service-revision/prod/storefront/5555"
    pushed = datetime(2026, 5, 4, 9, 14, 9, tzinfo=UTC)
    service = IndexedService(
        kind="ecs",
        arn=service_arn,
        name="storefront",
        status="ACTIVE",
        image_identifier="123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest",
        image_key="123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest",
        auto_deploy=False,
        details={"cluster": f"{prefix}:cluster/prod", "task_definition": base},
        lost_answer=InFlight(digest=DIGEST, release_id=f"web@{DIGEST}", started_at=pushed.isoformat()),
    )
    with Stubber(client) as stub:
        stub.add_response(
            "describe_task_definition",
            {"taskDefinition": {"taskDefinitionArn": base}, "tags": [{"key": "team", "value": "shop"}]},
            {"taskDefinition": base, "include": ["TAGS"]},
        )
        stub.add_response(
            "list_task_definitions",
            {"taskDefinitionArns": [spare, deployed, base]},
            {"familyPrefix": "storefront", "status": "ACTIVE", "sort": "DESC"},
        )
        for arn in (spare, deployed):
            stub.add_response(
                "describe_task_definition",
                {"taskDefinition": {"taskDefinitionArn": arn}, "tags": release_tags(base, DIGEST)},
                {"taskDefinition": arn, "include": ["TAGS"]},
            )
        stub.add_response(
            "describe_services",
            {
                "services": [
                    {
                        "serviceArn": service_arn,
                        "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": base}],
                    }
                ]
            },
        )
        stub.add_response(
            "list_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": rolled_back}]},
            {"service": service_arn, "cluster": ANY, "maxResults": 20, "createdAt": {"after": pushed}},
        )
        stub.add_response(
            "describe_service_deployments",
            {
                "serviceDeployments": [
                    {
                        "serviceDeploymentArn": rolled_back,
                        "status": "ROLLBACK_SUCCESSFUL",
                        "targetServiceRevision": {"arn": revision},
                    }
                ]
            },
        )
        stub.add_response(
            "describe_service_revisions",
            {"serviceRevisions": [{"serviceRevisionArn": revision, "taskDefinition": deployed}]},
            {"serviceRevisionArns": [revision]},
        )
        stub.add_response("deregister_task_definition", {"taskDefinition": {}}, {"taskDefinition": spare})

        operation_id = EcsTarget(client, region=REGION).deploy(service, DIGEST)

        stub.assert_no_pending_responses()
    # No UpdateService (the stub would refuse it): the rolled-back deployment is this push's one.
    assert operation_id == rolled_back


def test_when_the_index_already_names_the_copy_no_copy_of_the_copy_is_registered(ecs: ECSClient) -> None:
    """An event of the lost attempt's deployment refreshed the index before Lambda's retry: the service's
    task definition is already the copy, so its copies are looked up from the revision it came from."""
    base = register(ecs, "storefront", architecture="X86_64")
    arn = create_service(ecs, "storefront", base)
    (copy,) = _lost_copies(ecs, base, 1)
    ecs.update_service(cluster="prod", service=arn, taskDefinition=copy)
    _no_service_deployment_since_the_push(ecs)
    target = EcsTarget(ecs, region=REGION)
    service = _after_lost_answer(indexed(target, arn))
    assert service.details["task_definition"] == copy
    registered = _called(ecs, "RegisterTaskDefinition")
    updated = _called(ecs, "UpdateService")

    target.deploy(service, DIGEST)

    assert registered == []
    # The service's deployments run the copy (then it is adopted, nothing sent) or it is sent again,
    # which names what the service runs and changes nothing: never another revision.
    assert {call["taskDefinition"] for call in updated} <= {copy}
    assert _active_copies(ecs) == [copy]


def _deregistration_fails(ecs: ECSClient, code: str, message: str) -> list[dict[str, Any]]:
    """ECS refuses DeregisterTaskDefinition (after botocore's own retries): the refused requests."""
    asked = _called(ecs, "DeregisterTaskDefinition")

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, "DeregisterTaskDefinition")

    ecs.meta.events.register("before-call.ecs.DeregisterTaskDefinition", refuse)
    return asked


def test_a_copy_that_cannot_be_deregistered_does_not_stop_the_deployment(
    ecs: ECSClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Cleanup is best effort: the copy kept is deployed, the one left is logged by ARN and counted, and
    stays findable by its tags for the next attempt that looks."""
    from aws_lambda_powertools import Metrics

    from pushpilot.targets.ecs.copies import CLEANUP_METRIC

    base = register(ecs, "storefront", architecture="X86_64")
    _no_service_deployment_since_the_push(ecs)
    arn = create_service(ecs, "storefront", base)
    first, second = _lost_copies(ecs, base, 2)
    refused = _deregistration_fails(ecs, "ServerException", "Service unavailable")
    target = EcsTarget(ecs, region=REGION)
    updated = _called(ecs, "UpdateService")
    metrics = Metrics()
    metrics.clear_metrics()

    operation_id = target.deploy(_after_lost_answer(indexed(target, arn)), DIGEST)

    assert operation_id
    assert [call["taskDefinition"] for call in updated] == [first]
    assert [call["taskDefinition"] for call in refused] == [second]
    (left,) = [record for record in caplog.records if "left registered" in record.getMessage()]
    assert left.__dict__["task_definition"] == second
    assert metrics.metric_set[CLEANUP_METRIC]["Value"] == [1.0]
    assert sorted(_active_copies(ecs)) == sorted([first, second])
    metrics.clear_metrics()


def test_a_copy_already_inactive_counts_as_deregistered(
    ecs: ECSClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A racing attempt deregistered it first: whatever ECS answers for a second deregistration (moto
    answers with the INACTIVE revision; an error saying it is inactive is read the same), it is done."""
    from aws_lambda_powertools import Metrics

    from pushpilot.targets.ecs import copies

    base = register(ecs, "storefront", architecture="X86_64")
    (copy,) = _lost_copies(ecs, base, 1)
    ecs.deregister_task_definition(taskDefinition=copy)
    assert copies.deregister(ecs, [copy], aws_error_of) == []
    _deregistration_fails(ecs, "ClientException", "The specified task definition is inactive.")
    metrics = Metrics()
    metrics.clear_metrics()

    left = copies.deregister(ecs, [copy], aws_error_of)

    assert left == []
    assert copies.CLEANUP_METRIC not in metrics.metric_set
    assert not [record for record in caplog.records if "left registered" in record.getMessage()]
    assert ecs.describe_task_definition(taskDefinition=copy)["taskDefinition"]["status"] == "INACTIVE"


def aws_error_of(exc: ClientError | BotoCoreError, action: str, target: str) -> Exception:
    return aws_error(exc, service="ecs", action=action, target=target)
