"""Two accounts in one moto: the gateway lets another account's ECR be read only as its policy allows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pushpilot_sandbox.accounts import in_account
from pushpilot_sandbox.ecr import BlobStore, EcrSandbox, pull_policy
from pushpilot_sandbox.forwarding import bus_policy_refusal
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.oci import OCI_MANIFEST, synthesize_image
from pushpilot_sandbox.repository_policy import Caller
from pushpilot_sandbox.sam_functions import BusPolicyStatement

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

pytestmark = pytest.mark.sandbox

REGISTRY = "111111111111"
SERVICE = "222222222222"
REGION = "us-east-1"
ROLE = "pushpilot-ImagePushFunctionRole-ABC"
ROLE_ARN = f"arn:aws:iam::{SERVICE}:role/{ROLE}"
BUS = f"arn:aws:events:{REGION}:{SERVICE}:event-bus/default"


class CallerSwitch:
    """Who the gateway believes is calling; a test sets it as a function invocation would."""

    def __init__(self) -> None:
        self.current: Caller | None = Caller(account_id=SERVICE, role_name=ROLE, session_name="push-fn")

    def __call__(self) -> Caller | None:
        return self.current


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        handle.reset()
        yield handle


@pytest.fixture(scope="module")
def caller() -> CallerSwitch:
    return CallerSwitch()


@pytest.fixture(scope="module")
def blobs() -> BlobStore:
    return BlobStore()


@pytest.fixture(scope="module")
def gateway(moto: MotoHandle, blobs: BlobStore, caller: CallerSwitch) -> Iterator[AwsGateway]:
    with AwsGateway(moto_url=moto.url, blobs=blobs, account_id=SERVICE, caller=caller) as running:
        yield running


def moto_ecr(moto: MotoHandle, account: str) -> ECRClient:
    client: ECRClient = boto3.client(
        "ecr", endpoint_url=moto.url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return in_account(client, account)


@pytest.fixture(scope="module")
def pushed(moto: MotoHandle, blobs: BlobStore) -> dict[str, Any]:
    registry = EcrSandbox(
        ecr=moto_ecr(moto, SERVICE),
        blobs=blobs,
        emit=lambda _event: None,
        account_id=SERVICE,
        region=REGION,
        ecr_in=lambda account: moto_ecr(moto, account),
    )
    registry.create_repository("web", account=REGISTRY)
    registry.create_repository("local")
    image = synthesize_image(["linux/amd64"], seed="gateway-cross-account")
    result = registry.push("web", "latest", image, account=REGISTRY)
    registry.push("local", "latest", image)
    return {"registry": registry, "digest": result.digest, "events": result.events}


@pytest.fixture
def handler_ecr(gateway: AwsGateway) -> ECRClient:
    """What a function holds: an ECR client on the gateway, with the stack account's credentials."""
    client: ECRClient = boto3.client(
        "ecr", endpoint_url=gateway.url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client


def set_policy(pushed: dict[str, Any], statement: dict[str, Any] | None) -> None:
    registry: EcrSandbox = pushed["registry"]
    if statement is None:
        registry.set_repository_policy("web", pull_policy(ROLE_ARN), account=REGISTRY)
        return
    document = {"Version": "2012-10-17", "Statement": [statement]}
    registry.set_repository_policy("web", json.dumps(document), account=REGISTRY)


def read(handler_ecr: ECRClient, digest: str) -> Any:
    return handler_ecr.batch_get_image(
        registryId=REGISTRY,
        repositoryName="web",
        imageIds=[{"imageDigest": digest}],
        acceptedMediaTypes=[OCI_MANIFEST],
    )


def test_events_of_a_registry_account_push_carry_that_account(pushed: dict[str, Any]) -> None:
    assert [event["account"] for event in pushed["events"]] == [REGISTRY]


def test_without_a_repository_policy_the_read_is_denied_in_ecrs_words(
    pushed: dict[str, Any], handler_ecr: ECRClient, gateway: AwsGateway
) -> None:
    with pytest.raises(ClientError) as raised:
        read(handler_ecr, pushed["digest"])
    error = raised.value.response
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == (
        f"User: arn:aws:sts::{SERVICE}:assumed-role/{ROLE}/push-fn is not authorized to perform: "
        f"ecr:BatchGetImage on resource: arn:aws:ecr:{REGION}:{REGISTRY}:repository/web because no "
        "resource-based policy allows the ecr:BatchGetImage action"
    )
    last = gateway.calls[-1]
    assert (last.operation, last.status, last.params["registryId"]) == ("BatchGetImage", 400, REGISTRY)


def test_the_pull_policy_lets_exactly_that_role_read(
    pushed: dict[str, Any], handler_ecr: ECRClient, caller: CallerSwitch
) -> None:
    set_policy(pushed, None)
    images = read(handler_ecr, pushed["digest"])["images"]
    assert [image["imageId"]["imageDigest"] for image in images] == [pushed["digest"]]
    located = handler_ecr.get_download_url_for_layer(
        registryId=REGISTRY,
        repositoryName="web",
        layerDigest=json.loads(images[0]["imageManifest"])["config"]["digest"],
    )
    assert located["downloadUrl"]

    caller.current = Caller(account_id=SERVICE, role_name="someone-else", session_name="other")
    try:
        with pytest.raises(ClientError, match="assumed-role/someone-else/other is not authorized"):
            read(handler_ecr, pushed["digest"])
        with pytest.raises(ClientError, match="ecr:GetDownloadUrlForLayer"):
            handler_ecr.get_download_url_for_layer(
                registryId=REGISTRY, repositoryName="web", layerDigest=pushed["digest"]
            )
    finally:
        caller.current = Caller(account_id=SERVICE, role_name=ROLE, session_name="push-fn")


def test_the_account_as_principal_and_wildcard_actions_are_understood(
    pushed: dict[str, Any], handler_ecr: ECRClient
) -> None:
    set_policy(
        pushed,
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SERVICE}:root"}, "Action": "ecr:BatchGet*"},
    )
    assert read(handler_ecr, pushed["digest"])["images"]
    set_policy(pushed, {"Effect": "Allow", "Principal": {"AWS": [REGISTRY]}, "Action": "ecr:*"})
    with pytest.raises(ClientError, match="no resource-based policy allows"):
        read(handler_ecr, pushed["digest"])


def test_an_explicit_deny_wins(pushed: dict[str, Any], handler_ecr: ECRClient) -> None:
    registry: EcrSandbox = pushed["registry"]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": SERVICE}, "Action": "ecr:*"},
            {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"},
        ],
    }
    registry.set_repository_policy("web", json.dumps(document), account=REGISTRY)
    with pytest.raises(ClientError, match="with an explicit deny in a resource-based policy"):
        read(handler_ecr, pushed["digest"])


def test_own_account_reads_need_no_repository_policy(pushed: dict[str, Any], handler_ecr: ECRClient) -> None:
    images = handler_ecr.batch_get_image(
        registryId=SERVICE, repositoryName="local", imageIds=[{"imageTag": "latest"}]
    )["images"]
    assert [image["imageId"]["imageDigest"] for image in images] == [pushed["digest"]]


# --- the service bus's policy ------------------------------------------------------------------------

ECR_ONLY = BusPolicyStatement(
    key="CrossAccountPushesPolicy",
    event_bus="default",
    effect="Allow",
    principals=(REGISTRY,),
    actions=("events:PutEvents",),
    conditions={"StringEquals": {"events:source": ("aws.ecr",)}},
)


def event(source: str) -> dict[str, Any]:
    return {"source": source, "detail-type": "ECR Image Action", "account": REGISTRY, "detail": {}}


def test_the_bus_admits_listed_accounts_ecr_events_only() -> None:
    assert (
        bus_policy_refusal([ECR_ONLY], event=event("aws.ecr"), sender_account=REGISTRY, bus_arn=BUS) is None
    )
    refusal = bus_policy_refusal(
        [ECR_ONLY], event=event("aws.codebuild"), sender_account=REGISTRY, bus_arn=BUS
    )
    assert refusal is not None
    assert "events:source" in refusal
    unlisted = bus_policy_refusal(
        [ECR_ONLY], event=event("aws.ecr"), sender_account="333333333333", bus_arn=BUS
    )
    assert unlisted is not None
    assert "333333333333" in unlisted


def test_without_a_policy_only_the_bus_account_itself_may_put() -> None:
    assert bus_policy_refusal([], event=event("aws.ecr"), sender_account=REGISTRY, bus_arn=BUS) is not None
    assert bus_policy_refusal([], event=event("aws.ecr"), sender_account=SERVICE, bus_arn=BUS) is None


def test_an_organization_statement_admits_member_accounts() -> None:
    organization = BusPolicyStatement(
        key="OrganizationPushesPolicy",
        event_bus="default",
        effect="Allow",
        principals=("*",),
        actions=("events:PutEvents",),
        conditions={"StringEquals": {"aws:PrincipalOrgID": ("o-abc123",), "events:source": ("aws.ecr",)}},
    )
    admitted = bus_policy_refusal(
        [organization],
        event=event("aws.ecr"),
        sender_account=REGISTRY,
        bus_arn=BUS,
        organization_id="o-abc123",
    )
    assert admitted is None
    outsider = bus_policy_refusal(
        [organization],
        event=event("aws.ecr"),
        sender_account=REGISTRY,
        bus_arn=BUS,
        organization_id="o-other",
    )
    assert outsider is not None
