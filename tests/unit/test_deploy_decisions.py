"""Deploy decisions are values: which services get an image and what happens to each."""

from __future__ import annotations

import pytest

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.releases import Release, RolloutStatus, ServiceRollout, Stage, overall_stage
from pushpilot.core.rollout_plan import ActionKind, Candidate, plan_rollout
from pushpilot.core.targets import Outcome
from pushpilot.core.tracking import IndexedService, InFlight
from pushpilot.targets import registry
from pushpilot.targets.apprunner.services import operation_from_api

MOVES = "the release policy moves the service to this image"
KEY = "111122223333.dkr.ecr.us-east-1.amazonaws.com/web:latest"


def service(name: str, *, auto: bool = False, status: str = "RUNNING", busy: bool = False) -> IndexedService:
    return IndexedService(
        kind="apprunner",
        arn=f"arn:aws:apprunner:us-east-1:111122223333:service/{name}/0123456789abcdef0123456789abcdef",
        name=name,
        status=status,
        image_identifier=KEY,
        image_key=KEY,
        auto_deploy=auto,
        busy=status != "RUNNING",
        in_flight=InFlight(digest="sha256:old", release_id="web@sha256:old", started_at="2026-01-01T00:00:00")
        if busy
        else None,
    )


def candidates(verdict_passed: bool, *services: IndexedService) -> list[Candidate]:
    return [Candidate(service=service, verdict_passed=verdict_passed) for service in services]


def kinds(verdict_passed: bool, *services: IndexedService, dry_run: bool = False) -> dict[str, ActionKind]:
    plan = plan_rollout("web@sha256:new", candidates=candidates(verdict_passed, *services), dry_run=dry_run)
    return {action.service_name: action.kind for action in plan.actions}


def test_manual_service_gets_a_deployment_and_auto_deploy_service_is_only_tracked() -> None:
    assert kinds(True, service("api"), service("web", auto=True)) == {
        "api": ActionKind.START_DEPLOYMENT,
        "web": ActionKind.TRACK_AUTO_DEPLOY,
    }


def test_each_service_is_planned_against_the_verdict_for_its_own_platform() -> None:
    plan = plan_rollout(
        "r",
        candidates=[
            Candidate(service=service("amd"), verdict_passed=False),
            Candidate(service=service("arm"), verdict_passed=True),
        ],
        dry_run=False,
    )
    assert {a.service_name: a.kind for a in plan.actions} == {
        "amd": ActionKind.HOLD,
        "arm": ActionKind.START_DEPLOYMENT,
    }


def test_rejected_image_deploys_nothing_and_warns_where_app_runner_would_deploy_anyway() -> None:
    plan = plan_rollout(
        "r", candidates=candidates(False, service("api"), service("web", auto=True)), dry_run=False
    )
    assert {a.service_name: a.kind for a in plan.actions} == {
        "api": ActionKind.HOLD,
        "web": ActionKind.WARN_AUTO_DEPLOY,
    }
    assert "anyway" in plan.actions[1].reason


@pytest.mark.parametrize(("status", "busy"), [("OPERATION_IN_PROGRESS", False), ("RUNNING", True)])
def test_busy_service_queues_the_push(status: str, busy: bool) -> None:
    assert kinds(True, service("api", status=status, busy=busy)) == {"api": ActionKind.QUEUE}


@pytest.mark.parametrize(
    ("kind", "auto", "tags", "retargets", "reason"),
    [
        ("apprunner", False, {}, False, "manual deployment mode: pushpilot starts the deployment"),
        (
            "ecs",
            False,
            {},
            False,
            "pushpilot registers a task definition revision pinned to this digest and updates the service",
        ),
        # ECS runs the digest pushpilot pinned: a new push moves it, and no release policy is involved.
        (
            "ecs",
            False,
            {},
            True,
            "pushpilot registers a task definition revision pinned to this digest and updates the service",
        ),
        ("ecs_express", False, {}, True, "pushpilot updates the Express Mode service to this image"),
        ("lambda", False, {}, False, "pushpilot starts the deployment"),
        (
            "ecs",
            False,
            {"pushpilot:pin": "digest"},
            True,
            "the release policy moves the service to this image",
        ),
        (
            "apprunner",
            False,
            {"pushpilot:follow": "semver:^1"},
            True,
            MOVES,
        ),
        (
            "apprunner",
            True,
            {},
            True,
            (
                "the service runs a pinned digest, which automatic deployment does not follow:"
                " pushpilot starts the deployment"
            ),
        ),
    ],
)
def test_a_deployment_is_explained_in_its_targets_words(
    kind: str, auto: bool, tags: dict[str, str], retargets: bool, reason: str
) -> None:
    target = service("shop", auto=auto).model_copy(update={"kind": kind, "tags": tags})
    plan = plan_rollout(
        "shop@sha256:new",
        candidates=[Candidate(service=target, verdict_passed=True, retargets=retargets)],
        dry_run=False,
        starts={declaration.kind: declaration.deploy_wording for declaration in registry.declarations()},
    )
    [action] = plan.actions
    assert (action.kind, action.reason) == (ActionKind.START_DEPLOYMENT, reason)


def test_dry_run_mutates_nothing() -> None:
    plan = plan_rollout("r", candidates=candidates(True, service("api")), dry_run=True)
    assert [a.kind for a in plan.actions] == [ActionKind.DRY_RUN]


@pytest.mark.parametrize(
    ("operation_type", "status", "outcome", "deploys_image"),
    [
        ("START_DEPLOYMENT", "SUCCEEDED", Outcome.LIVE, True),
        ("START_DEPLOYMENT", "FAILED", Outcome.FAILED, True),
        # A rollback is a failure even when the rollback itself succeeded.
        ("START_DEPLOYMENT", "ROLLBACK_SUCCEEDED", Outcome.ROLLED_BACK, True),
        ("START_DEPLOYMENT", "ROLLBACK_IN_PROGRESS", Outcome.IN_PROGRESS, True),
        ("START_DEPLOYMENT", "IN_PROGRESS", Outcome.IN_PROGRESS, True),
        ("UPDATE_SERVICE", "SUCCEEDED", Outcome.LIVE, False),
        ("PAUSE_SERVICE", "SUCCEEDED", Outcome.LIVE, False),
        ("RESUME_SERVICE", "FAILED", Outcome.FAILED, False),
        # A status word App Runner may add later is not taken for an ending.
        ("START_DEPLOYMENT", "SOMETHING_NEW", Outcome.IN_PROGRESS, True),
    ],
)
def test_app_runner_operations_are_classified_by_their_own_status_and_type(
    operation_type: str, status: str, outcome: Outcome, deploys_image: bool
) -> None:
    operation = operation_from_api({"Id": "op", "Type": operation_type, "Status": status})  # type: ignore[typeddict-item]
    assert operation is not None
    assert operation.outcome is outcome
    assert operation.deploys_image is deploys_image


def _release(*statuses: RolloutStatus) -> Release:
    rollouts = {
        f"arn:{index}": ServiceRollout(
            service_arn=f"arn:{index}", service_name=f"s{index}", status=status, updated_at="t"
        )
        for index, status in enumerate(statuses)
    }
    return Release(
        release_id="web@sha256:x",
        repository="web",
        registry="r",
        digest="sha256:x",
        stage=Stage.VERIFIED,
        services=rollouts,
        created_at="t",
        updated_at="t",
    )


def test_release_is_live_only_when_every_service_is_live_and_a_rollback_wins() -> None:
    assert overall_stage(_release(RolloutStatus.LIVE, RolloutStatus.LIVE)) is Stage.LIVE
    assert overall_stage(_release(RolloutStatus.LIVE, RolloutStatus.DEPLOYING)) is Stage.DEPLOYING
    assert overall_stage(_release(RolloutStatus.LIVE, RolloutStatus.FAILED)) is Stage.FAILED
    assert overall_stage(_release(RolloutStatus.FAILED, RolloutStatus.ROLLED_BACK)) is Stage.ROLLED_BACK


@pytest.mark.parametrize(
    ("identifier", "key"),
    [
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com/web:latest", KEY),
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com/web", KEY),
        (
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/web:v2",
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/team/web:v2",
        ),
        ("public.ecr.aws/abc1d2e3/web:1.2", "public.ecr.aws/abc1d2e3/web:1.2"),
        (
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/web@sha256:ab",
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/web@sha256:ab",
        ),
    ],
)
def test_image_identifiers_reduce_to_the_key_a_push_looks_up(identifier: str, key: str) -> None:
    assert ImageRef.parse(identifier).key == key


def test_push_key_matches_the_service_key() -> None:
    pushed = ImageRef.for_ecr_push(account="111122223333", region="us-east-1", repository="web", tag="latest")
    assert pushed.key == KEY
    assert pushed.registry_account == "111122223333"
