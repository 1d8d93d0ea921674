"""The Lambda emulator through an unmodified boto3 client, on the emulator base: what Lambda refuses (an
index, a stale RevisionId, an update during an update, a member its model does not have, a page marker it
did not give, a body that is not JSON), its answers checked against botocore's model, tags, pages of 50,
and the gateway's recording and injected faults on the operations the emulator answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

from pushpilot_sandbox.emulator import Reply
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.lambda_functions import LambdaEmulator
from pushpilot_sandbox.oci import synthesize_image

pytestmark = pytest.mark.sandbox

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(sns=False)) as started:
        started.ecr.create_repository("web", account=started.config.account_id)
        yield started


def _client(sandbox: Sandbox, *, attempts: int = 3) -> Any:
    return boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=sandbox.gateway.url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def _digest(sandbox: Sandbox, tag: str, platforms: list[str]) -> str:
    return str(sandbox.ecr.push("web", tag, synthesize_image(platforms, seed=tag)).digest)


def _create(sandbox: Sandbox, name: str, *, tags: dict[str, str] | None = None) -> str:
    created = sandbox.lambda_functions.create(
        name, image_uri=f"{HOST}/web:latest", architecture="arm64", tags=tags or {}, alias=None
    )
    return created.arn


def test_an_index_is_refused_as_lambda_refuses_it(sandbox: Sandbox) -> None:
    _create(sandbox, "index")
    digest = _digest(sandbox, "multi", ["linux/amd64", "linux/arm64"])
    client = _client(sandbox)

    with pytest.raises(client.exceptions.InvalidParameterValueException, match="is not supported"):
        client.update_function_code(FunctionName="index", ImageUri=f"{HOST}/web@{digest}")
    assert sandbox.lambda_functions.function("index").update_status == "Successful"


def test_a_stale_revision_is_refused_with_412(sandbox: Sandbox) -> None:
    _create(sandbox, "stale")
    digest = _digest(sandbox, "stale", ["linux/arm64"])
    client = _client(sandbox)

    with pytest.raises(client.exceptions.PreconditionFailedException) as raised:
        client.update_function_code(FunctionName="stale", ImageUri=f"{HOST}/web@{digest}", RevisionId="old")

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_an_update_during_an_update_is_refused_and_publish_answers_201_after_it(
    sandbox: Sandbox,
) -> None:
    _create(sandbox, "busy")
    first, second = _digest(sandbox, "busy-1", ["linux/arm64"]), _digest(sandbox, "busy-2", ["linux/arm64"])
    client = _client(sandbox)
    started = client.update_function_code(FunctionName="busy", ImageUri=f"{HOST}/web@{first}")
    assert started["LastUpdateStatus"] == "InProgress"

    with pytest.raises(client.exceptions.ResourceConflictException, match="update is in progress"):
        client.update_function_code(FunctionName="busy", ImageUri=f"{HOST}/web@{second}")
    sandbox.lambda_functions.complete_update("busy", "succeeded")
    published = client.publish_version(FunctionName="busy")

    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["Version"] == "1"
    assert published["CodeSha256"] == first.removeprefix("sha256:")
    # Nothing changed since: Lambda answers the same version instead of publishing another.
    assert client.publish_version(FunctionName="busy")["Version"] == "1"


def test_a_failed_update_carries_a_reason_code_of_the_model(sandbox: Sandbox) -> None:
    _create(sandbox, "fails")
    digest = _digest(sandbox, "fails", ["linux/arm64"])
    client = _client(sandbox)
    client.update_function_code(FunctionName="fails", ImageUri=f"{HOST}/web@{digest}")

    sandbox.lambda_functions.complete_update("fails", "failed", reason="Runtime.ExitError")
    configuration = client.get_function_configuration(FunctionName="fails")

    assert configuration["LastUpdateStatus"] == "Failed"
    assert configuration["LastUpdateStatusReasonCode"] == "FunctionError"
    assert "Runtime.ExitError" in configuration["LastUpdateStatusReason"]


def test_tags_are_set_and_removed_by_arn_and_leave_the_revision(sandbox: Sandbox) -> None:
    arn = _create(sandbox, "tagged", tags={"team": "media"})
    client = _client(sandbox)
    revision = client.get_function(FunctionName="tagged")["Configuration"]["RevisionId"]

    client.tag_resource(Resource=arn, Tags={"pushpilot:hold": "incident 42", "owner": "ops"})
    assert client.list_tags(Resource=arn)["Tags"] == {
        "team": "media",
        "pushpilot:hold": "incident 42",
        "owner": "ops",
    }
    # Two keys travel as a repeated query parameter: both are removed.
    client.untag_resource(Resource=arn, TagKeys=["pushpilot:hold", "owner"])

    after = client.get_function(FunctionName="tagged")
    assert after["Tags"] == {"team": "media"}
    assert after["Configuration"]["RevisionId"] == revision


def test_list_functions_pages_by_50_at_most_and_refuses_a_marker_it_did_not_give(sandbox: Sandbox) -> None:
    for number in range(60):
        _create(sandbox, f"paged-{number:02d}")
    client = _client(sandbox)
    total = len(sandbox.lambda_functions.functions)

    first = client.list_functions(MaxItems=500)
    rest = client.list_functions(Marker=first["NextMarker"])

    assert len(first["Functions"]) == 50
    assert len(first["Functions"]) + len(rest["Functions"]) == total
    assert "NextMarker" not in rest
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="Invalid Marker"):
        client.list_functions(Marker="not-a-marker")


def test_a_member_the_model_does_not_have_is_refused(sandbox: Sandbox) -> None:
    answer = sandbox.lambda_functions.answer("UpdateFunctionCode", b'{"FunctionName": "thumbs", "Bogus": 1}')

    assert answer.status == 400
    assert answer.body["__type"] == "InvalidParameterValueException"
    assert "Bogus" in answer.body["message"]


def test_a_body_that_is_not_json_is_refused_in_lambdas_words(sandbox: Sandbox) -> None:
    answer = sandbox.lambda_functions.answer("GetFunction", b"{not json")

    assert answer.status == 400
    assert answer.body == {
        "__type": "InvalidRequestContentException",
        "message": "Could not parse request body into json",
    }


def test_an_answer_the_model_would_not_send_fails_loudly_as_a_service_exception() -> None:
    emulator = LambdaEmulator(
        account_id="123456789012",
        region="us-east-1",
        media_type_of=lambda _uri: None,
        resolve_digest=lambda _uri: None,
    )
    emulator._handlers["GetFunction"] = lambda _params: Reply({"Configuration": {"Timeout": "thirty"}})

    answer = emulator.answer("GetFunction", b'{"FunctionName": "thumbs"}')

    assert answer.status == 500
    assert answer.body["__type"] == "ServiceException"
    assert "invalid GetFunction response" in answer.body["message"]


def test_a_lost_update_answer_acts_once_and_the_retry_is_refused(sandbox: Sandbox) -> None:
    _create(sandbox, "lost")
    digest = _digest(sandbox, "lost", ["linux/arm64"])
    revision = sandbox.lambda_functions.function("lost").revision_id
    sandbox.gateway.inject_fault("lambda", "UpdateFunctionCode", kind="timeout")
    before = len(sandbox.gateway.calls)

    with pytest.raises(ConnectionClosedError):
        _client(sandbox, attempts=1).update_function_code(
            FunctionName="lost", ImageUri=f"{HOST}/web@{digest}", RevisionId=revision
        )
    with pytest.raises(_client(sandbox).exceptions.PreconditionFailedException):
        _client(sandbox).update_function_code(
            FunctionName="lost", ImageUri=f"{HOST}/web@{digest}", RevisionId=revision
        )

    function = sandbox.lambda_functions.function("lost")
    assert function.update_status == "InProgress"
    assert function.resolved_image_uri == f"{HOST}/web@{digest}"
    recorded = [
        (call.service, call.operation, call.status, call.answered, call.fault)
        for call in sandbox.gateway.calls[before:]
    ]
    assert recorded == [
        ("lambda", "UpdateFunctionCode", 200, False, "timeout"),
        ("lambda", "UpdateFunctionCode", 412, True, None),
    ]


def test_an_injected_error_answers_lambdas_modeled_error_and_changes_nothing(sandbox: Sandbox) -> None:
    _create(sandbox, "throttled")
    digest = _digest(sandbox, "throttled", ["linux/arm64"])
    sandbox.gateway.inject_fault(
        "lambda", "UpdateFunctionCode", code="TooManyRequestsException", status=429, times=1
    )
    client = _client(sandbox, attempts=1)

    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.update_function_code(FunctionName="throttled", ImageUri=f"{HOST}/web@{digest}")

    assert sandbox.lambda_functions.function("throttled").update_status == "Successful"
    assert sandbox.gateway.calls[-1].fault == "TooManyRequestsException"
