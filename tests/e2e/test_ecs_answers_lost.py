"""One push, one ECS deployment, whatever answers are lost: RegisterTaskDefinition, UpdateService and
UpdateExpressGatewayService take no idempotency token, so a retry after a lost answer must find what
the lost attempt did. Each scenario in scenarios/ that tells one of those stories is played with the
real handlers, moto, the ECS emulator and the router with the template's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.sandbox_support import Story, played

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
RELEASE_KINDS = {"verified", "queued", "deploying", "live", "failed", "rolled_back"}


def _release_kinds(run: Story) -> list[str]:
    return [kind for kind in run.notice_kinds() if kind in RELEASE_KINDS]


def _pushed_digest(run: Story) -> str:
    (push,) = [d for d in run.sandbox.router.deliveries if d.function == "ImagePushFunction"]
    assert push.outcome is not None
    release_id = str(push.outcome["detail"]["release_id"])
    return release_id.split("@", 1)[1]


def _deployments_of(run: Story, service: str, digest: str) -> list[Any]:
    """The service deployments ECS ran whose revision runs the pushed digest."""
    record = run.sandbox.ecs.service(service)
    return [
        deployment
        for deployment in record.service_deployments
        if any(image.digest == digest for image in deployment.target.container_images)
    ]


def _push_retried(run: Story) -> bool:
    pushes = [d for d in run.sandbox.router.deliveries if d.function == "ImagePushFunction"]
    return any(d.attempts > 1 and d.succeeded for d in pushes)


def _nothing_lost(run: Story) -> None:
    assert run.report()["dead_letters"] == []
    assert run.sandbox.router.dead_letters == []


def _active_copies(run: Story, digest: str) -> list[str]:
    """The task definitions still ACTIVE that were registered to deploy the digest (by their tags)."""
    ecs = run.sandbox.ecs_client()
    arns = ecs.list_task_definitions(familyPrefix="storefront", status="ACTIVE")["taskDefinitionArns"]
    found = []
    for arn in arns:
        tags = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]).get("tags", [])
        if {"key": "pushpilot:digest", "value": digest} in tags:
            found.append(arn)
    return found


def test_a_lost_update_service_answer_is_adopted_not_deployed_again() -> None:
    with played(SCENARIOS / "ecs-update-service-answer-lost.yaml") as run:
        updates = run.handler_calls("ecs", "UpdateService")
        # botocore's six attempts in the first invocation, all with the one copy; the retry adopts.
        assert [call.get("answered", True) for call in updates] == [False] * 6
        assert {call["params"]["taskDefinition"] for call in updates} == {
            updates[0]["params"]["taskDefinition"]
        }
        assert len(run.handler_calls("ecs", "RegisterTaskDefinition")) == 1
        assert _push_retried(run)

        digest = _pushed_digest(run)
        assert len(_deployments_of(run, "storefront", digest)) == 1
        assert _active_copies(run, digest) == [updates[0]["params"]["taskDefinition"]]
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        _nothing_lost(run)


def test_registrations_whose_answers_were_lost_are_reused_or_deregistered() -> None:
    with played(SCENARIOS / "ecs-register-answer-lost.yaml") as run:
        registered = run.handler_calls("ecs", "RegisterTaskDefinition")
        assert [call.get("answered", True) for call in registered] == [False] * 6
        used = {call["params"]["taskDefinition"] for call in run.handler_calls("ecs", "UpdateService")}
        deregistered = run.handler_calls("ecs", "DeregisterTaskDefinition")
        assert len(used) == 1
        assert len(registered) - len(used) - len(deregistered) == 0
        assert used.isdisjoint(call["params"]["taskDefinition"] for call in deregistered)
        assert _push_retried(run)

        digest = _pushed_digest(run)
        assert _active_copies(run, digest) == sorted(used)
        assert len(_deployments_of(run, "storefront", digest)) == 1
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        _nothing_lost(run)


def test_a_lost_express_update_answer_is_adopted_not_deployed_again() -> None:
    with played(SCENARIOS / "ecs-express-update-answer-lost.yaml") as run:
        updates = run.handler_calls("ecs", "UpdateExpressGatewayService")
        # Sent once (botocore does not repeat it), unanswered; the retry adopts its revision.
        assert [call.get("answered", True) for call in updates] == [False]
        assert _push_retried(run)

        assert len(_deployments_of(run, "checkout", _pushed_digest(run))) == 1
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        _nothing_lost(run)
