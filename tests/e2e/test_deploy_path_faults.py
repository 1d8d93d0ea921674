"""The deploy path tells the truth under faults, through the sandbox: each scenario in scenarios/ that
tells one of those stories is played with the real handlers, moto, the App Runner emulator and the
router with the template's rules, and what was deployed and told is checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.router import Delivery
from tests.e2e.sandbox_support import Story, played, story

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ONE_AUTO = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": True}],
}
AMD64_PUSH = {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]}
RELEASE_KINDS = {"verified", "queued", "deploying", "live", "failed", "rolled_back", "auto_deploy_tracked"}


def _release_kinds(run: Story) -> list[str]:
    return [kind for kind in run.notice_kinds() if kind in RELEASE_KINDS]


def _deliveries(run: Story, function: str) -> list[Delivery]:
    return [d for d in run.sandbox.router.deliveries if d.function == function]


def _start_deployments(run: Story) -> list[dict[str, Any]]:
    return run.handler_calls("apprunner", "StartDeployment")


def _sns_titles(run: Story, kind: str) -> list[str]:
    return [
        str(note["payload"])
        for note in run.notices("sns")
        if isinstance(note["payload"], dict) and note["payload"]["metadata"]["eventType"] == kind
    ]


def _nothing_lost(run: Story) -> None:
    report = run.report()
    assert report["dead_letters"] == []
    assert run.sandbox.router.dead_letters == []


# --- 1. the rollback notice cannot be queued ------------------------------------------------------


def test_a_rollback_whose_notice_could_not_be_queued_is_told_once_after_lambdas_retry() -> None:
    with played(SCENARIOS / "rollback-notice-queue-fails.yaml") as run:
        # The App Runner events function met SQS unavailable past botocore's retries, then succeeded.
        failed_sends = [
            call for call in run.sandbox.gateway.calls if call.operation == "SendMessage" and call.fault
        ]
        assert len(failed_sends) == 6
        retried = [d for d in _deliveries(run, "AppRunnerEventsFunction") if d.attempts > 1]
        assert retried
        assert all(d.succeeded for d in retried)

        assert _release_kinds(run) == ["verified", "deploying", "rolled_back"]
        assert len(_sns_titles(run, "rolled_back")) == 1
        assert len(run.deployments("storefront")) == 1
        _nothing_lost(run)


# --- 2. an unrelated operation on an auto-deploy service ------------------------------------------


def test_an_update_that_ends_before_app_runner_deploys_the_push_closes_nothing() -> None:
    with played(SCENARIOS / "operation-before-auto-deploy.yaml") as run:
        assert _release_kinds(run) == ["verified", "auto_deploy_tracked"]
        assert _start_deployments(run) == []
        _nothing_lost(run)


@pytest.mark.parametrize(
    ("story_steps", "told"),
    [
        pytest.param(
            [
                ("operation", {"service": "storefront", "type": "pause", "outcome": "succeeded"}),
                ("push", AMD64_PUSH),
                ("operation", {"service": "storefront", "type": "resume", "outcome": "succeeded"}),
            ],
            "a resume",
            id="pause-push-resume",
        ),
        pytest.param(
            [
                ("operation", {"service": "storefront", "type": "update"}),
                ("push", AMD64_PUSH),
                ("complete_operation", {"service": "storefront", "outcome": "failed"}),
            ],
            "a failed update",
            id="update-push-update-fails",
        ),
        pytest.param(
            [
                ("operation", {"service": "storefront", "type": "pause"}),
                ("push", AMD64_PUSH),
                ("complete_operation", {"service": "storefront", "outcome": "failed"}),
            ],
            "a failed pause",
            id="pause-push-pause-fails",
        ),
    ],
)
def test_only_app_runners_own_deployment_of_the_push_makes_an_auto_deploy_release_live(
    tmp_path: Path, story_steps: list[tuple[str, Any]], told: str
) -> None:
    with story(ONE_AUTO, tmp_path) as run:
        for action, args in story_steps:
            run.step(action, args)

        assert run.sandbox.apprunner.service("storefront").status == "RUNNING"
        assert _release_kinds(run) == ["verified", "auto_deploy_tracked"], told
        assert run.deployments("storefront") == []

        # Someone deploys the tag from the console: that deployment started after the push, so it is
        # the push's, and its end is what the release waited for.
        sandbox = run.sandbox
        sandbox.apprunner_client().start_deployment(ServiceArn=sandbox.apprunner.service("storefront").arn)
        run.timeline.skip_user_calls()
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})

        assert _release_kinds(run) == ["verified", "auto_deploy_tracked", "live"]
        assert _start_deployments(run) == []
        _nothing_lost(run)


# --- 3. the deploying notice cannot be queued after StartDeployment succeeded ---------------------


def test_a_retry_after_the_deploying_notice_was_lost_deploys_nothing_again() -> None:
    with played(SCENARIOS / "deploying-notice-queue-fails.yaml") as run:
        pushes = _deliveries(run, "ImagePushFunction")
        assert any(d.attempts > 1 and d.succeeded for d in pushes)

        assert len(_start_deployments(run)) == 1
        assert len(run.deployments("storefront")) == 1
        assert "queued" not in run.notice_kinds()
        assert _release_kinds(run) == ["verified", "deploying", "live"]
        _nothing_lost(run)


# --- 4. StartDeployment's answer lost, or StartDeployment refused ---------------------------------


def test_a_lost_start_deployment_answer_is_adopted_by_the_retry() -> None:
    with played(SCENARIOS / "start-deployment-answer-lost.yaml") as run:
        attempts = _start_deployments(run)
        # The first invocation's six attempts were never answered; the retry's was.
        assert [call.get("answered", True) for call in attempts] == [False] * 6 + [True]
        assert len(run.deployments("storefront")) == 1
        pushes = _deliveries(run, "ImagePushFunction")
        assert any(d.attempts > 1 and d.succeeded for d in pushes)

        assert _release_kinds(run) == ["verified", "deploying", "live"]
        _nothing_lost(run)


def test_a_start_deployment_that_started_nothing_is_deployed_by_the_retry_and_live_only_after_it() -> None:
    with played(SCENARIOS / "start-deployment-refused.yaml") as run:
        deployments = run.deployments("storefront")
        assert len(deployments) == 1
        # Six refused attempts (botocore's), then the retry's one that started the deployment.
        assert len(_start_deployments(run)) == 7
        (push,) = _deliveries(run, "ImagePushFunction")
        assert push.attempts == 2
        assert push.outcome is not None
        assert push.outcome["detail"]["services"][0]["action"] == "start_deployment"
        # The refresh that ran while it deployed recovered nothing and called nothing live.
        # (The reconcile function also hears pushpilot's own release events; the refresh is its schedule.)
        (refreshed,) = [d for d in _deliveries(run, "ReconcileFunction") if d.trigger == "schedule"]
        assert refreshed.outcome is not None
        assert refreshed.outcome["detail"]["recovered"] == []
        assert refreshed.outcome["detail"]["unconfirmed"] == []

        assert _release_kinds(run) == ["verified", "deploying", "live"]
        _nothing_lost(run)


# --- 6. a push whose image cannot be read; an untagged push ---------------------------------------


def _push_outcomes(run: Story) -> list[dict[str, Any]]:
    return [d.outcome or {} for d in _deliveries(run, "ImagePushFunction")]


def test_a_push_whose_image_was_deleted_is_told_in_its_release_thread_and_nothing_deploys() -> None:
    with played(SCENARIOS / "unreadable-push.yaml") as run:
        assert [outcome.get("status") for outcome in _push_outcomes(run)] == ["rejected"]
        assert run.notice_kinds() == ["unverified"]
        told = _sns_titles(run, "unverified")
        assert len(told) == 1
        assert "web:latest could not be read" in told[0]
        assert "Nothing was deployed" in told[0]
        # In the release's Slack thread, under its headline.
        slack = [note for note in run.notices("slack") if note["method"] == "chat.postMessage"]
        assert any("could not be read" in note["text"] for note in slack)
        assert [call for call in run.report()["calls"] if call["service"] == "apprunner"] == []
        assert run.deployments("storefront") == []
        _nothing_lost(run)


def test_a_push_ecr_cannot_find_when_read_is_told_and_nothing_deploys(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web"],
        "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": False}],
        "notifications": {"slack": "none", "sns": True},
    }
    with story(setup, tmp_path) as run:
        run.step("fault", {"service": "ecr", "operation": "BatchGetImage", "code": "ImageNotFoundException"})
        run.step("push", AMD64_PUSH)

        assert [outcome.get("status") for outcome in _push_outcomes(run)] == ["rejected"]
        assert run.notice_kinds() == ["unverified"]
        assert "could not be read" in _sns_titles(run, "unverified")[0]
        assert run.deployments("storefront") == []
        _nothing_lost(run)


def test_untagged_pushes_are_named_untagged_manifests_and_deploy_nothing() -> None:
    with played(SCENARIOS / "untagged-push.yaml") as run:
        outcomes = _push_outcomes(run)
        assert len(outcomes) == 3
        for outcome in outcomes:
            assert outcome["status"] == "ignored"
            assert "untagged manifest" in outcome["detail"]["reason"]
            # Not "no service runs <registry>/web:" with an empty tag.
            assert "/web:" not in outcome["detail"]["reason"]
        assert run.notice_kinds() == []
        assert run.deployments("storefront") == []
        _nothing_lost(run)


# --- 5. an exactly-once record expires with the invocation that holds it --------------------------

DEPLOY_PATH = ("ImagePushFunction", "AppRunnerEventsFunction", "ReconcileFunction")


def _in_progress_records(run: Story) -> list[dict[str, Any]]:
    """The deploy path's INPROGRESS idempotency records, as the handlers sent them to DynamoDB."""
    return [
        call["params"]
        for call in run.report()["calls"]
        if call["service"] == "dynamodb"
        and call["operation"] == "PutItem"
        and call["params"]["Item"].get("status", {}).get("S") == "INPROGRESS"
        and call["params"]["Item"]["pk"]["S"].startswith("idempotency#")
    ]


def test_every_exactly_once_record_expires_with_the_invocation_that_holds_it() -> None:
    with played(SCENARIOS / "push-during-update.yaml") as run:
        assert _release_kinds(run) == ["verified", "queued", "deploying", "live"]
        assert len(_start_deployments(run)) == 1
        longest = max(run.sandbox.router.function(name).timeout_seconds for name in DEPLOY_PATH)

        records = _in_progress_records(run)
        # The verdict and the deployment (push), the follow-up deployment (App Runner's event).
        assert len(records) >= 3
        for record in records:
            now_ms = int(record["ExpressionAttributeValues"][":now_in_millis"]["N"])
            assert "in_progress_expiration" in record["Item"], record["Item"]["pk"]
            deadline_ms = int(record["Item"]["in_progress_expiration"]["N"])
            # The invocation's deadline (the context's remaining time), not the ten-minute window.
            assert now_ms < deadline_ms <= now_ms + longest * 1000
        _nothing_lost(run)
