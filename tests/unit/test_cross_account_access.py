"""A push in another account whose repository policy does not let pushpilot read: one clear notice
naming the policy, a rejected (not retried) event, and nothing remembered that would block the replay."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools import Logger, Metrics
from botocore.stub import Stubber
from pydantic import TypeAdapter

from pushpilot.adapters.ecr import ImageInspector
from pushpilot.core.errors import AccessDeniedError
from pushpilot.core.notices import NoticeKind, Severity
from pushpilot.core.releases import Stage
from pushpilot.core.targets import TargetService
from pushpilot.core.verdicts import ACCEPTED_MEDIA_TYPES, OCI_INDEX
from pushpilot.entry.handling import parse_event, run_guarded
from pushpilot.entry.settings import CoreSettings
from pushpilot.entry.wiring import deploy_ports
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.push import handle_push
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from tests.fakes import ACCOUNT, REGION, FakeWorld
from tests.unit.public_registry_fake import read

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

pytestmark = pytest.mark.unit

REGISTRY_ACCOUNT = "111111111111"
REPOSITORY = "shop/web"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pushpilot-ImagePushFunctionRole-0A1B2C3D4E5F"
INDEX = read("index.oci.amd64-arm64-attested.json")
DIGEST = "sha256:" + hashlib.sha256(INDEX).hexdigest()
_EVENT = TypeAdapter(EcrImageActionEvent)
DENIED = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/pushpilot-ImagePushFunctionRole-0A1B2C3D4E5F/pushpilot"
    f" is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:{REGION}:{REGISTRY_ACCOUNT}:"
    f"repository/{REPOSITORY} because no resource-based policy allows the ecr:BatchGetImage action"
)


def forwarded_push() -> dict[str, Any]:
    """An ECR push as the registry account's rule forwards it: `account` stays the registry's."""
    return {
        "version": "0",
        "id": "4f5ec4d5-4de4-7aad-a046-56d5cfe1df0e",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": REGISTRY_ACCOUNT,
        "time": "2026-05-04T09:14:09Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": REPOSITORY,
            "image-digest": DIGEST,
            "action-type": "PUSH",
            "image-tag": "latest",
        },
    }


def cross_account_service() -> TargetService:
    return TargetService(
        kind="apprunner",
        busy=False,
        required_platform=APP_RUNNER_PLATFORM,
        arn=f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/storefront/{'c' * 32}",
        name="storefront",
        status="RUNNING",
        image_identifier=f"{REGISTRY_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:latest",
        auto_deploy=False,
        service_url="cccccccccc.us-east-1.awsapprunner.com",
    )


@pytest.fixture
def ecr() -> Iterator[tuple[ECRClient, Stubber]]:
    client: ECRClient = boto3.client("ecr", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber


def deny(stubber: Stubber) -> None:
    stubber.add_client_error(
        "batch_get_image",
        service_error_code="AccessDeniedException",
        service_message=DENIED,
        http_status_code=400,
        expected_params={
            "repositoryName": REPOSITORY,
            "registryId": REGISTRY_ACCOUNT,
            "imageIds": [{"imageDigest": DIGEST}],
            "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
        },
    )


def allow(stubber: Stubber) -> None:
    stubber.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "registryId": REGISTRY_ACCOUNT,
                    "repositoryName": REPOSITORY,
                    "imageId": {"imageDigest": DIGEST, "imageTag": "latest"},
                    "imageManifest": INDEX.decode(),
                    "imageManifestMediaType": OCI_INDEX,
                }
            ],
            "failures": [],
        },
    )


@pytest.fixture
def world(ecr: tuple[ECRClient, Stubber]) -> FakeWorld:
    world = FakeWorld([cross_account_service()])
    world.ports.inspector = ImageInspector(ecr[0])
    world.ports.role_arn = ROLE_ARN
    return world


def push(world: FakeWorld) -> None:
    handle_push(parse_event(_EVENT, forwarded_push()), world.ports)


def test_denied_read_tells_which_policy_to_attach_and_propagates(
    world: FakeWorld, ecr: tuple[ECRClient, Stubber]
) -> None:
    deny(ecr[1])

    with pytest.raises(AccessDeniedError):
        push(world)

    [notice] = world.sink.notices
    assert (notice.kind, notice.severity) == (NoticeKind.UNVERIFIED, Severity.FAILURE)
    assert notice.title == f"{REPOSITORY}:latest could not be read: access denied"
    assert notice.next_step is not None
    for needed in (
        REGISTRY_ACCOUNT,
        f"repository {REPOSITORY}",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ):
        assert needed in notice.next_step
    assert ROLE_ARN in notice.next_step
    policy = json.loads("\n".join(notice.details))
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"AWS": ROLE_ARN}
    assert sorted(statement["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert notice.thread_key == f"{REPOSITORY}@{DIGEST}"
    assert world.apprunner.started == 0


def test_denied_read_remembers_no_verdict_so_the_replay_after_the_fix_deploys(
    world: FakeWorld, ecr: tuple[ECRClient, Stubber]
) -> None:
    deny(ecr[1])
    with pytest.raises(AccessDeniedError):
        push(world)
    assert world.once.results == {}
    release = world.releases.get(f"{REPOSITORY}@{DIGEST}")
    assert release is not None
    assert release.stage is Stage.UNVERIFIED

    allow(ecr[1])  # the registry account attached the policy
    push(world)

    assert world.apprunner.started == 1
    assert [notice.kind for notice in world.sink.notices] == [
        NoticeKind.UNVERIFIED,
        NoticeKind.VERIFIED,
        NoticeKind.DEPLOYING,
    ]


def test_the_handler_rejects_the_event_once_instead_of_retrying(
    world: FakeWorld, ecr: tuple[ECRClient, Stubber]
) -> None:
    deny(ecr[1])
    stream = io.StringIO()
    logger = Logger(service="pushpilot-test", logger_handler=logging.StreamHandler(stream))
    metrics = Metrics(namespace="pushpilot-tests")
    event = forwarded_push()

    outcome = run_guarded(
        event, lambda: handle_push(parse_event(_EVENT, event), world.ports), logger=logger, metrics=metrics
    )

    assert outcome["status"] == "rejected"
    assert outcome["error_type"] == "AccessDeniedError"
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (line["message"], line["event_id"]) == ("event rejected", event["id"])
    assert "repository policy" in line["reason"]


def test_without_the_role_arn_the_advice_still_names_the_role(
    world: FakeWorld, ecr: tuple[ECRClient, Stubber]
) -> None:
    world.ports.role_arn = None
    deny(ecr[1])

    with pytest.raises(AccessDeniedError):
        push(world)

    assert "ImagePushFunction role" in (world.sink.notices[0].next_step or "")


def test_the_function_learns_its_role_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUSHPILOT_ROLE_ARN", ROLE_ARN)
    settings = CoreSettings(table_name="t", notice_queue_url="https://sqs.us-east-1.amazonaws.com/1/q")

    assert deploy_ports(settings).role_arn == ROLE_ARN
    monkeypatch.delenv("PUSHPILOT_ROLE_ARN")
    assert deploy_ports(settings).role_arn is None


def test_a_denial_in_pushpilots_own_account_does_not_ask_for_a_repository_policy(
    world: FakeWorld, ecr: tuple[ECRClient, Stubber]
) -> None:
    world.ports.role_arn = (
        f"arn:aws:iam::{REGISTRY_ACCOUNT}:role/pushpilot-ImagePushFunctionRole-0A1B2C3D4E5F"
    )
    deny(ecr[1])

    with pytest.raises(AccessDeniedError):
        push(world)

    [notice] = world.sink.notices
    assert notice.next_step is not None
    assert "explicit Deny" in notice.next_step
    assert "attach an ECR repository policy" not in notice.next_step
    assert notice.details == ()
