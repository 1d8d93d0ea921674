"""The Lambda scenarios in scenarios/ tell the stories they claim, end to end: pushpilot's handlers against
the Lambda emulator, through the template's own rules and the outcome timer's queue."""

from __future__ import annotations

import functools
import io
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushpilot_sandbox.scenario import run_scenario, step_action
from tests.e2e.sandbox_support import sns_kinds, story

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
WEB = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@"


@functools.cache
def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _lambda_calls(report: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    return [
        call for call in report["calls"] if call["service"] == "lambda" and call["operation"] == operation
    ]


def _updated(report: dict[str, Any]) -> dict[str, str]:
    """Function name → the digest its UpdateFunctionCode named."""
    return {
        call["params"]["FunctionName"].rpartition(":")[2]: call["params"]["ImageUri"].removeprefix(WEB)
        for call in _lambda_calls(report, "UpdateFunctionCode")
    }


def _notices(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        note["payload"]
        for note in report["notifications"]
        if note["channel"] == "sns" and note["payload"]["metadata"]["eventType"] == kind
    ]


def _pushed(report: dict[str, Any]) -> set[str]:
    """The digests pushed, as the releases name them (an index's own digest for a multi-platform push)."""
    return {str(note["metadata"]["additionalContext"]["digest"]) for note in _notices(report, "verified")}


def test_a_multi_arch_index_updates_each_function_once_to_its_own_child_digest() -> None:
    report = _run("lambda-architectures.yaml")

    updates = _lambda_calls(report, "UpdateFunctionCode")
    assert len(updates) == 2
    digests = _updated(report)
    assert set(digests) == {"thumbs-arm", "thumbs-x86"}
    assert digests["thumbs-arm"] != digests["thumbs-x86"]
    # Each is a child of the pushed index, never the index itself (the release's digest).
    (pushed,) = _pushed(report)
    assert pushed not in digests.values()
    assert all(update["params"]["RevisionId"] for update in updates)
    assert sns_kinds(report["notifications"]).count("live") == 2


def test_an_arm64_only_image_is_refused_for_x86_64_with_the_fix_and_deployed_to_arm64() -> None:
    report = _run("lambda-arm64-only.yaml")

    assert list(_updated(report)) == ["thumbs-arm"]
    kinds = sns_kinds(report["notifications"])
    assert kinds.count("rejected") == 1
    assert kinds.count("live") == 1
    (refusal,) = _notices(report, "rejected")
    assert "thumbs-x86" in refusal["content"]["description"]
    assert any(
        step.startswith("docker buildx build --platform linux/amd64 --provenance=false")
        for step in refusal["content"]["nextSteps"]
    )


def test_a_one_platform_buildx_index_with_provenance_deploys_by_its_image_child() -> None:
    report = _run("lambda-provenance.yaml")

    digests = _updated(report)
    (pushed,) = _pushed(report)
    assert digests["thumbs"].startswith("sha256:")
    assert digests["thumbs"] != pushed
    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "live"]


def test_a_failed_update_is_told_with_its_reason() -> None:
    report = _run("lambda-failed.yaml")

    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "failed"]
    (failure,) = _notices(report, "failed")
    assert "Runtime.ExitError" in str(failure["content"])


def test_the_alias_moves_after_success_and_a_rollback_deploys_the_first_child_again() -> None:
    report = _run("lambda-alias.yaml")

    published = _lambda_calls(report, "PublishVersion")
    moved = _lambda_calls(report, "UpdateAlias")
    assert len(published) == len(moved) == 3
    assert [call["params"]["Name"] for call in moved] == ["live", "live", "live"]
    first, second, rolled_back = (
        call["params"]["ImageUri"] for call in _lambda_calls(report, "UpdateFunctionCode")
    )
    assert rolled_back == first != second
    # The rollback names the first release's arm64 child, not the index the release is named by.
    assert rolled_back.removeprefix(WEB) not in _pushed(report)
    # v1 and v2 told live (the rollback's end is the v1 release's, already told live in its thread).
    assert sns_kinds(report["notifications"]).count("live") == 2
    plan = report["runs"][0]["output"]
    assert "(if an index, its child for the service's platform)" in plan
    releases = report["runs"][-1]["output"]
    assert "running  v1 " in releases
    assert "held     rolled back to v1" in releases
    # The hold keeps v3 from deploying.
    assert len(_lambda_calls(report, "UpdateFunctionCode")) == 3


def test_a_lost_update_answer_is_adopted_not_repeated() -> None:
    report = _run("lambda-answer-lost.yaml")

    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "live"]
    updates = _lambda_calls(report, "UpdateFunctionCode")
    assert updates[0]["answered"] is False
    # Whatever was sent again found the function changed by the first attempt and adopted it.
    assert len({call["params"]["ImageUri"] for call in updates}) == 1


def test_a_lost_update_answer_changes_the_function_once_under_the_gateways_fault() -> None:
    """The scenario's story, with the gateway's own record: of every UpdateFunctionCode sent, only the one
    whose answer was lost changed the function; whatever was sent again was refused and adopted."""
    document = yaml.safe_load((SCENARIOS / "lambda-answer-lost.yaml").read_text(encoding="utf-8"))
    with story(document["setup"], SCENARIOS) as run:
        for step in document["steps"]:
            action = step_action(step)
            run.step(action, step[action])
        sent = [
            call
            for call in run.sandbox.gateway.calls
            if call.service == "lambda" and call.operation == "UpdateFunctionCode"
        ]
        function = run.sandbox.lambda_functions.function("thumbs")
        kinds = run.notice_kinds()

    acted = [call for call in sent if call.status == HTTPStatus.OK]
    assert [(call.answered, call.fault) for call in acted] == [(False, "timeout")]
    assert all(call.status in {HTTPStatus.PRECONDITION_FAILED, HTTPStatus.CONFLICT} for call in sent[1:])
    assert function.resolved_image_uri == acted[0].params["ImageUri"]
    assert function.update_status == "Successful"
    assert kinds == ["verified", "deploying", "live"]


def test_a_change_between_read_and_update_is_told_and_not_overwritten() -> None:
    report = _run("lambda-changed-meanwhile.yaml")

    assert len(_lambda_calls(report, "UpdateFunctionCode")) == 1
    assert sns_kinds(report["notifications"]) == ["verified", "policy"]
    (told,) = _notices(report, "policy")
    assert "RevisionId" in told["content"]["description"]
    assert "not overwritten" in told["content"]["description"]
