"""pushpilot's Lambda target against the Lambda emulator: a change between read and update told, an update
in progress waited for, a retry adopted, the alias moved once, discovery through every page, a missing
alias told (the emulator's own behaviour is tested in tests/sandbox/test_lambda_emulator.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pushpilot.core.errors import ChangedMeanwhileError, ServiceBusyError
from pushpilot.core.targets import Outcome
from pushpilot.core.tracking import IndexedService
from pushpilot.targets.lambda_fn.services import LambdaTarget
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.oci import synthesize_image

pytestmark = pytest.mark.e2e

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(sns=False)) as started:
        started.ecr.create_repository("web", account=started.config.account_id)
        yield started


def _client(sandbox: Sandbox) -> Any:
    return boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=sandbox.gateway.url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def _push(sandbox: Sandbox, tag: str, platforms: list[str], **kwargs: Any) -> Any:
    return sandbox.ecr.push("web", tag, synthesize_image(platforms, seed=tag, **kwargs))


def _function(sandbox: Sandbox, name: str, *, alias: str | None = None) -> IndexedService:
    tags = {"pushpilot:alias": alias} if alias else {}
    sandbox.lambda_functions.create(
        name, image_uri=f"{HOST}/web:latest", architecture="arm64", tags=tags, alias=alias
    )
    described = LambdaTarget(_client(sandbox), prefix="thumbs").describe(name)
    return IndexedService(
        kind=described.kind,
        arn=described.arn,
        name=described.name,
        status=described.status,
        image_identifier=str(described.image_identifier),
        image_key=f"{HOST}/web:latest",
        auto_deploy=False,
        required_platform=str(described.required_platform),
        tags=described.tags,
    )


def _updates(sandbox: Sandbox, operation: str, name: str) -> int:
    return sum(
        1
        for call in sandbox.gateway.calls
        if call.operation == operation and str(call.params.get("FunctionName", "")).endswith(f":{name}")
    )


def test_a_change_between_read_and_update_is_told_not_overwritten(sandbox: Sandbox) -> None:
    service = _function(sandbox, "thumbs-stale")
    pushed = _push(sandbox, "stale", ["linux/arm64"])
    client = _client(sandbox)

    sandbox.gateway.inject_fault(
        "lambda", "UpdateFunctionCode", code="PreconditionFailedException", status=412
    )
    with pytest.raises(ChangedMeanwhileError, match="not overwritten"):
        LambdaTarget(client, prefix="thumbs").deploy(service, pushed.digest)


def test_an_update_stays_in_progress_until_the_story_ends_it(sandbox: Sandbox) -> None:
    service = _function(sandbox, "thumbs-update")
    pushed = _push(sandbox, "update", ["linux/arm64"])
    target = LambdaTarget(_client(sandbox), prefix="thumbs")

    operation_id = target.deploy(service, pushed.digest)

    assert operation_id == pushed.digest
    assert target.describe(service.arn).busy
    found = target.find_operation(service, operation_id)
    assert found is not None
    assert found.outcome is Outcome.IN_PROGRESS
    other = _push(sandbox, "other", ["linux/arm64"])
    with pytest.raises(ServiceBusyError):
        target.deploy(service, other.digest)
    # Asked again for the digest it is deploying (a retry after a lost answer): adopted, not sent again.
    assert target.deploy(service, pushed.digest) == pushed.digest
    assert _updates(sandbox, "UpdateFunctionCode", "thumbs-update") == 1

    sandbox.lambda_functions.complete_update("thumbs-update", "failed", reason="Runtime.ExitError")
    ended = target.find_operation(service, operation_id)
    assert ended is not None
    assert ended.outcome is Outcome.FAILED
    assert any("Runtime.ExitError" in reason for reason in ended.reasons)


def test_the_alias_moves_once_after_success_however_often_it_is_looked_at(sandbox: Sandbox) -> None:
    service = _function(sandbox, "thumbs-alias", alias="live")
    pushed = _push(sandbox, "alias", ["linux/arm64"])
    target = LambdaTarget(_client(sandbox), prefix="thumbs")
    target.deploy(service, pushed.digest)
    sandbox.lambda_functions.complete_update("thumbs-alias", "succeeded")

    first = target.find_operation(service, pushed.digest)
    again = target.find_operation(service, pushed.digest)

    assert first is not None
    assert again is not None
    assert first.outcome is again.outcome is Outcome.LIVE
    version = sandbox.lambda_functions.alias_version("thumbs-alias", "live")
    assert version is not None
    assert version.resolved_image_uri == f"{HOST}/web@{pushed.digest}"
    assert _updates(sandbox, "UpdateAlias", "thumbs-alias") == 1
    assert len(sandbox.lambda_functions.function("thumbs-alias").versions) == 2


def test_discovery_pages_through_every_function_and_keeps_the_prefixed_image_ones(sandbox: Sandbox) -> None:
    for number in range(55):
        sandbox.lambda_functions.create(
            f"other-{number:02d}", image_uri=f"{HOST}/web:latest", architecture="x86_64", tags={}, alias=None
        )
    _function(sandbox, "thumbs-listed")

    found = {service.name for service in LambdaTarget(_client(sandbox), prefix="thumbs").list_services()}

    assert "thumbs-listed" in found
    assert not any(name.startswith("other-") for name in found)
    assert LambdaTarget(_client(sandbox), prefix="").list_services() == []
    pages = [call for call in sandbox.gateway.calls if call.operation == "ListFunctions"]
    assert len(pages) >= 2


def test_an_alias_the_function_does_not_have_fails_the_release_with_why(sandbox: Sandbox) -> None:
    sandbox.lambda_functions.create(
        "thumbs-noalias",
        image_uri=f"{HOST}/web:latest",
        architecture="arm64",
        tags={"pushpilot:alias": "live"},
        alias=None,
    )
    target = LambdaTarget(_client(sandbox), prefix="thumbs")
    described = target.describe("thumbs-noalias")
    service = IndexedService(
        kind=described.kind,
        arn=described.arn,
        name=described.name,
        status=described.status,
        image_identifier=str(described.image_identifier),
        image_key=f"{HOST}/web:latest",
        auto_deploy=False,
        tags=described.tags,
    )
    pushed = _push(sandbox, "noalias", ["linux/arm64"])
    target.deploy(service, pushed.digest)
    sandbox.lambda_functions.complete_update("thumbs-noalias", "succeeded")

    found = target.find_operation(service, pushed.digest)

    assert found is not None
    assert found.outcome is Outcome.FAILED
    assert found.reasons == ("the function has no alias live (its pushpilot:alias tag names it)",)
