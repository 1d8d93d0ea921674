"""Reach: images in another account's ECR and on ECR Public deploy like local pushes, told precisely."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox import steps
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.scenario import ScenarioError, Setup, sandbox_config
from tests.e2e.sandbox_support import Story

REGISTRY = "111111111111"
SERVICE = "222222222222"
REGION = "us-east-1"
PUBLIC_REPOSITORY = "pushpilot-demo/web"
PUBLIC_KEY = f"public.ecr.aws/{PUBLIC_REPOSITORY}:latest"


def cross_account(**repository: Any) -> dict[str, Any]:
    return {
        "repositories": [{"name": "web", "account": REGISTRY, **repository}],
        "services": [{"name": "storefront", "image": "web:latest", "account": SERVICE}],
    }


PUBLIC = {
    "public_images": [{"repository": PUBLIC_REPOSITORY, "tag": "latest", "platforms": ["linux/amd64"]}],
    "services": [{"name": "public-web", "image": f"public.ecr.aws/{PUBLIC_REPOSITORY}:latest"}],
}


@contextmanager
def reach_story(setup: dict[str, Any], base_dir: Path) -> Iterator[Story]:
    """A sandbox configured from the setup exactly as a scenario file would configure it."""
    parsed = Setup.model_validate(setup)
    with Sandbox(sandbox_config(parsed, region=REGION)) as sandbox:
        running = Story(sandbox, base_dir)
        steps.apply_setup(sandbox, parsed, running.timeline, base_dir)
        yield running


def push_in_registry(run: Story, platforms: list[str]) -> None:
    run.step("push", {"repository": "web", "tag": "latest", "platforms": platforms, "account": REGISTRY})


def image_push_deliveries(sandbox: Sandbox) -> list[Any]:
    return [delivery for delivery in sandbox.router.deliveries if delivery.function == "ImagePushFunction"]


def batch_get_image_calls(sandbox: Sandbox) -> list[Any]:
    return [call for call in sandbox.gateway.calls if call.operation == "BatchGetImage"]


# --- cross-account ---------------------------------------------------------------------------------


def test_registry_account_push_is_forwarded_verified_and_deployed_once(tmp_path: Path) -> None:
    with reach_story(cross_account(), tmp_path) as run:
        sandbox = run.sandbox
        assert sandbox.parameters["EventSourceAccounts"] == REGISTRY

        push_in_registry(run, ["linux/amd64"])

        forwarded = [record for record in sandbox.forwarding if record.status == "forwarded"]
        assert [(record.source_account, record.target_account) for record in forwarded] == [
            (REGISTRY, SERVICE)
        ]
        assert any(f"↪ forwarded from {REGISTRY} to {SERVICE}'s bus" in line for line in run.lines)
        # The image was read from the registry account, with the account the event carries.
        reads = batch_get_image_calls(sandbox)
        assert [(call.params.get("registryId"), call.status) for call in reads] == [(REGISTRY, 200)]
        deployments = run.deployments("storefront")
        assert len(deployments) == 1
        assert deployments[0].image_identifier == f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/web:latest"

        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
        assert run.notice_kinds() == ["verified", "deploying", "live"]

        push_in_registry(run, ["linux/arm64"])
        assert len(run.deployments("storefront")) == 1
        assert run.notice_kinds() == ["verified", "deploying", "live", "rejected"]
        report = run.report()
        assert report["errors"] == []
        assert report["dead_letters"] == []
        assert report["refused_events"] == []


def test_missing_repository_policy_names_the_policy_once_and_deploys_nothing(tmp_path: Path) -> None:
    with reach_story(cross_account(pull_policy=False), tmp_path) as run:
        sandbox = run.sandbox
        push_in_registry(run, ["linux/amd64"])

        deliveries = image_push_deliveries(sandbox)
        assert len(deliveries) == 1
        assert deliveries[0].attempts == 1
        assert deliveries[0].outcome is not None
        assert deliveries[0].outcome["status"] == "rejected"
        assert deliveries[0].outcome["error_type"] == "AccessDeniedError"
        assert "repository policy" in deliveries[0].outcome["error_message"]
        # One read per delivered event: no SDK retries, no Lambda retries, nothing dead-lettered.
        reads = batch_get_image_calls(sandbox)
        assert [(call.params.get("registryId"), call.status) for call in reads] == [(REGISTRY, 400)]
        assert run.deployments("storefront") == []
        assert sandbox.router.dead_letters == []
        assert sandbox.queue_messages("HandlerDeadLetterQueue") == []

        report = run.report()
        assert [error["type"] for error in report["errors"]] == ["AccessDeniedError"]
        notices = run.notices("sns")
        assert len(notices) == 1
        assert "access denied" in notices[0]["text"]
        assert "repository policy" in str(notices[0]["payload"])


def test_bus_policy_without_the_registry_account_refuses_and_reports(tmp_path: Path) -> None:
    setup = cross_account() | {"parameters": {"EventSourceAccounts": "333333333333"}}
    with reach_story(setup, tmp_path) as run:
        sandbox = run.sandbox
        push_in_registry(run, ["linux/amd64"])

        assert image_push_deliveries(sandbox) == []
        assert batch_get_image_calls(sandbox) == []
        assert run.deployments("storefront") == []
        refused = run.report()["refused_events"]
        assert len(refused) == 1
        assert refused[0]["source_account"] == REGISTRY
        assert refused[0]["target_account"] == SERVICE
        assert REGISTRY in refused[0]["reason"]
        assert any(f"{SERVICE}'s bus refused the event from {REGISTRY}" in line for line in run.lines)
        # EventBridge keeps what it could not put in the forwarder's dead-letter queue (registry account).
        kept = sandbox.forwarding_dead_letters(REGISTRY)
        assert [event["detail"]["repository-name"] for event in kept] == ["web"]


def test_without_a_forwarder_the_push_stays_in_the_registry_account(tmp_path: Path) -> None:
    with reach_story(cross_account(forwarder=False), tmp_path) as run:
        push_in_registry(run, ["linux/amd64"])

        assert image_push_deliveries(run.sandbox) == []
        assert run.deployments("storefront") == []
        assert [record.status for record in run.sandbox.forwarding] == ["not-forwarded"]
        assert run.report()["refused_events"] == []


def test_services_in_two_accounts_are_refused_with_a_clear_message() -> None:
    setup = Setup.model_validate(
        {
            "services": [
                {"name": "storefront", "image": "web:latest", "account": SERVICE},
                {"name": "payments", "image": "api:latest", "account": REGISTRY},
            ]
        }
    )
    with pytest.raises(ScenarioError, match="one account"):
        sandbox_config(setup)


# --- ECR Public ------------------------------------------------------------------------------------


def public_tag_item(sandbox: Sandbox) -> dict[str, Any] | None:
    table = sandbox.resources["Table"].ref
    item = sandbox.direct_client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"PUBLICTAG#{PUBLIC_KEY}"}, "sk": {"S": "TAG"}}
    )
    found: dict[str, Any] | None = item.get("Item")
    return found


def manifest_heads(sandbox: Sandbox) -> int:
    return sum(
        1
        for call in sandbox.public_registry.calls
        if call.method == "HEAD" and call.path.startswith(f"/v2/{PUBLIC_REPOSITORY}/manifests/")
    )


def test_public_tag_deploys_only_when_its_digest_changes(tmp_path: Path) -> None:
    with reach_story(PUBLIC, tmp_path) as run:
        sandbox = run.sandbox
        first_digest = sandbox.public_registry.digest_of(PUBLIC_REPOSITORY, "latest")

        run.step("check_public_images", {})
        item = public_tag_item(sandbox)
        assert item is not None
        assert item["digest"]["S"] == first_digest
        assert run.deployments("public-web") == []
        assert manifest_heads(sandbox) == 1

        run.step("check_public_images", {})
        assert run.deployments("public-web") == []
        assert run.notice_kinds() == []
        assert manifest_heads(sandbox) == 2

        run.step(
            "public_push", {"repository": PUBLIC_REPOSITORY, "tag": "latest", "platforms": ["linux/amd64"]}
        )
        new_digest = sandbox.public_registry.digest_of(PUBLIC_REPOSITORY, "latest")
        assert new_digest != first_digest
        assert run.deployments("public-web") == []

        run.step("check_public_images", {})
        deployments = run.deployments("public-web")
        assert len(deployments) == 1
        # App Runner pulls what the tag names now: the new image.
        assert deployments[0].image_digest == new_digest
        run.step("complete_operation", {"service": "public-web", "outcome": "succeeded"})
        assert run.notice_kinds() == ["verified", "deploying", "live"]

        run.step("check_public_images", {})
        assert len(run.deployments("public-web")) == 1
        assert run.notice_kinds() == ["verified", "deploying", "live"]

        run.step(
            "public_push", {"repository": PUBLIC_REPOSITORY, "tag": "latest", "platforms": ["linux/arm64"]}
        )
        run.step("check_public_images", {})
        assert len(run.deployments("public-web")) == 1
        assert run.notice_kinds() == ["verified", "deploying", "live", "rejected"]
        report = run.report()
        assert report["errors"] == []
        assert report["dead_letters"] == []


def test_public_registry_throttling_is_retried_by_the_next_run_not_lost(tmp_path: Path) -> None:
    with reach_story(PUBLIC, tmp_path) as run:
        sandbox = run.sandbox
        run.step("check_public_images", {})
        run.step(
            "public_push", {"repository": PUBLIC_REPOSITORY, "tag": "latest", "platforms": ["linux/amd64"]}
        )
        new_digest = sandbox.public_registry.digest_of(PUBLIC_REPOSITORY, "latest")

        sandbox.public_registry.inject_fault(429, times=1)
        run.step("check_public_images", {})
        assert [call.status for call in sandbox.public_registry.calls if call.status == 429] == [429]
        assert run.deployments("public-web") == []
        item = public_tag_item(sandbox)
        assert item is not None
        assert item["digest"]["S"] != new_digest

        run.step("check_public_images", {})
        deployments = run.deployments("public-web")
        assert [operation.image_digest for operation in deployments] == [new_digest]
        assert run.report()["dead_letters"] == []
