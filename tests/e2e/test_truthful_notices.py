"""Notices that tell the truth, and a refused rollback that leaves nothing behind: the scenarios in
scenarios/ run end to end through the template's rules, the handlers and the emulators."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushpilot_sandbox.scenario import run_scenario, step_action
from tests.e2e.sandbox_support import sns_kinds, story

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@functools.cache
def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _sns(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        note["payload"]
        for note in report["notifications"]
        if note["channel"] == "sns" and isinstance(note["payload"], dict) and "metadata" in note["payload"]
    ]


def _titles(report: dict[str, Any]) -> list[str]:
    """What SNS said, by title (its subject line), in order."""
    return [
        str(note["text"]).removeprefix("[pushpilot] ")
        for note in report["notifications"]
        if note["channel"] == "sns"
    ]


def _said(report: dict[str, Any], kind: str) -> list[str]:
    """Title and summary of every SNS notice of one kind."""
    return [
        f"{payload['content']['title']} | {payload['content'].get('description', '')}"
        for payload in _sns(report)
        if payload["metadata"]["eventType"] == kind
    ]


def _calls(report: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    return [call for call in report["calls"] if call["operation"] == operation]


def _runs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["command"]: run for run in report["runs"]}


# --- §3 notices that tell the truth ----------------------------------------------------------------------


def test_a_late_failed_event_of_an_older_deployment_lends_no_reason_to_the_live_notice() -> None:
    report = _run("ecs-stale-reason.yaml")

    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "live"]
    (live,) = _said(report, "live")
    assert "live on storefront" in live
    assert "task failed to start" not in live
    assert "circuit breaker" not in live
    # The completion event itself was lost to the denied read: the late event only prompted the read.
    assert [error["type"] for error in report["errors"]] == ["AccessDeniedError"]
    # One deployment, and the late event of the older one changed nothing on ECS.
    writes = {"RegisterTaskDefinition", "UpdateService", "DeregisterTaskDefinition"}
    assert [call["operation"] for call in report["calls"] if call["operation"] in writes] == [
        "RegisterTaskDefinition",
        "UpdateService",
    ]


def test_a_rollback_is_told_rolling_back_then_rolled_back_or_rollback_failed_as_ecs_says() -> None:
    report = _run("ecs-rolling-back.yaml")

    storefront = [title for title in _titles(report) if "storefront" in title]
    checkout = [title for title in _titles(report) if "checkout" in title]
    assert [title.split(" ", 1)[1] for title in storefront] == [
        "deploying to storefront",
        "deployment to storefront failed and Amazon ECS is rolling back",
        "deployment to storefront failed and Amazon ECS rolled back",
    ]
    assert [title.split(" ", 1)[1] for title in checkout] == [
        "deploying to checkout",
        "deployment to checkout failed and Amazon ECS is rolling back",
        "deployment to checkout failed and its rollback failed",
    ]
    # Told once each, though ECS sent the FAILED and the rollback's IN_PROGRESS events.
    assert sns_kinds(report["notifications"]).count("rolling_back") == 2
    (failed,) = _said(report, "rollback_failed")
    assert "CannotPullContainerError" in failed
    # Only one deployment per push: the rollbacks are ECS's own.
    assert len(_calls(report, "UpdateService")) == 2


def test_a_policy_decision_to_deploy_is_told_once_in_the_words_of_what_happened() -> None:
    report = _run("policy-one-wording.yaml")

    titles = _titles(report)
    assert not [title for title in titles if "matches" in title]
    assert sns_kinds(report["notifications"]) == [
        "verified",
        "deploying",
        "verified",
        "queued",
        "live",
        "deploying",
        "live",
    ]
    (queued,) = _said(report, "queued")
    assert "queued for checkout" in queued
    assert "v1.6.0 matches semver:^1 on checkout" in queued
    assert [
        call["params"]["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"].rpartition("/")[2]
        for call in _calls(report, "UpdateService")
    ] == ["web:v1.5.0", "web:v1.6.0"]


def test_an_event_for_a_deleted_cluster_is_a_skip_with_its_own_metric_and_no_error() -> None:
    document = yaml.safe_load((SCENARIOS / "ecs-deleted-cluster.yaml").read_text(encoding="utf-8"))
    with story(document["setup"], SCENARIOS) as run:
        for step in document["steps"]:
            action = step_action(step)
            run.step(action, step[action])
        report = run.report()
        records = run.sandbox.logs.json_records()

    assert report["errors"] == []
    metrics = {name for record in records if "_aws" in record for name in record if name != "_aws"}
    assert "EventsForDeletedServices" in metrics
    assert "PermanentFailure" not in metrics
    skipped = [record for record in records if record.get("skip") == "EventsForDeletedServices"]
    assert [record["level"] for record in skipped] == ["INFO"]
    assert skipped[0]["service_arn"].endswith(":service/retired/storefront-legacy")
    assert not [record for record in records if record.get("level") == "ERROR"]
    # The next push deploys as ever.
    assert [call["operation"] for call in report["calls"] if call["service"] == "ecs"] == [
        "RegisterTaskDefinition",
        "UpdateService",
    ]
    assert run.notice_kinds() == ["verified", "deploying", "live"]


# --- §5 a refused rollback leaves nothing behind ---------------------------------------------------------


def test_a_rollback_to_an_unknown_digest_exits_2_announces_nothing_holds_nothing() -> None:
    report = _run("rollback-unknown-digest.yaml")
    runs = _runs(report)

    refused = next(run for command, run in runs.items() if command.startswith("pushpilot rollback"))
    assert refused["exit_code"] == 2
    assert "is no image in web" in refused["output"]
    assert not [title for title in _titles(report) if "rolled back" in title or "held" in title]
    # Not held: the next push deploys, and the service's releases say nothing holds it.
    assert len(_calls(report, "StartDeployment")) == 2
    assert sns_kinds(report["notifications"]).count("live") == 2
    [storefront] = json.loads(runs["pushpilot releases storefront --json"]["output"])
    assert storefront["held"] is None
    assert storefront["history"][0]["digest"] != "sha256:" + "0f3c9a1e5b7d2468ace" * 3


def test_a_rollback_after_the_tag_moved_deploys_the_untagged_previous_image() -> None:
    report = _run("rollback-after-tag-moved.yaml")
    runs = _runs(report)

    [before] = json.loads(runs["pushpilot releases storefront --json"]["output"])
    previous = before["history"][0]["digest"]
    assert previous != before["running"]["digest"]
    assert runs["pushpilot rollback storefront"]["exit_code"] == 0
    (update,) = _calls(report, "UpdateService")
    image = update["params"]["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"]
    assert image == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web@{previous}"
    assert _titles(report)[-1] == f"web@{previous[:19]} live on storefront"
    assert report["errors"] == []
