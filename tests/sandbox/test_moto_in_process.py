"""moto's application reached in process answers as its server does, over the same state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest

from pushpilot_sandbox.accounts import in_account
from pushpilot_sandbox.ecr import BlobStore
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.moto_server import MotoHandle, answer_in_process, start_moto

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"
OTHER_ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@pytest.fixture
def fresh_moto(moto: MotoHandle) -> MotoHandle:
    moto.reset()
    return moto


def _client(service: str, endpoint_url: str) -> Any:
    # The service name is a plain str here, so no typed overload of Session.client applies.
    make_client = cast("Callable[..., Any]", boto3.session.Session().client)
    return make_client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def test_an_in_process_client_and_an_http_client_share_moto_state(fresh_moto: MotoHandle) -> None:
    in_process = fresh_moto.serve_in_process(_client("sqs", fresh_moto.url))
    over_http = _client("sqs", fresh_moto.url)

    created = in_process.create_queue(QueueName="made-in-process")["QueueUrl"]
    over_http.send_message(QueueUrl=created, MessageBody="hello")
    received = in_process.receive_message(QueueUrl=created, WaitTimeSeconds=0)["Messages"]

    assert over_http.get_queue_url(QueueName="made-in-process")["QueueUrl"] == created
    assert [message["Body"] for message in received] == ["hello"]


def test_an_in_process_client_keeps_its_account(fresh_moto: MotoHandle) -> None:
    other = in_account(fresh_moto.serve_in_process(_client("sqs", fresh_moto.url)), OTHER_ACCOUNT)
    mine = fresh_moto.serve_in_process(_client("sqs", fresh_moto.url))

    other.create_queue(QueueName="elsewhere")

    assert other.list_queues().get("QueueUrls", []) != []
    assert mine.list_queues().get("QueueUrls", []) == []


def test_modeled_errors_come_back_as_the_service_spells_them(fresh_moto: MotoHandle) -> None:
    client = fresh_moto.serve_in_process(_client("ecr", fresh_moto.url))

    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.describe_repositories(repositoryNames=["not-there"])


def test_the_gateway_answers_the_same_in_process_as_over_http(fresh_moto: MotoHandle) -> None:
    with (
        AwsGateway(moto_url=fresh_moto.url, blobs=BlobStore()) as over_http,
        AwsGateway(moto_url=fresh_moto.url, blobs=BlobStore(), moto_app=fresh_moto.app) as in_process,
    ):
        _client("ecr", in_process.url).create_repository(repositoryName="web")
        seen_over_http = _client("ecr", over_http.url).describe_repositories()["repositories"]
        seen_in_process = _client("ecr", in_process.url).describe_repositories()["repositories"]
        recorded = [(call.service, call.operation, call.status) for call in in_process.calls]

    assert [repository["repositoryName"] for repository in seen_over_http] == ["web"]
    assert seen_in_process == seen_over_http
    assert recorded == [("ecr", "CreateRepository", 200), ("ecr", "DescribeRepositories", 200)]


def test_an_application_error_is_a_500_answer() -> None:
    def failing(environ: Any, start_response: Any) -> Any:
        raise RuntimeError("broken backend")

    answer = answer_in_process(failing, method="POST", target="/", headers=[], body=b"{}")

    assert answer.status == 500
