"""ECS's own pause points through the whole stack: the ECS emulator pauses a blue/green (or canary)
deployment at its PAUSE hook and emits `ECS Hook State Change`; the thread asks Continue / Roll back; the
listed approver's click reaches ContinueServiceDeployment once; a hook nobody answers times out with its
timeoutAction, told in the same thread, and a late click changes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.scenario import run_scenario

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _continues(report: dict[str, Any]) -> list[str]:
    return [
        call["params"]["action"]
        for call in report["calls"]
        if call["operation"] == "ContinueServiceDeployment"
    ]


def _said(report: dict[str, Any]) -> list[str]:
    return [
        str(note["text"]).removeprefix("[pushpilot] ")
        for note in report["notifications"]
        if note["channel"] == "sns"
    ]


def _threads(report: dict[str, Any]) -> set[str]:
    return {
        note["payload"]["metadata"]["threadId"]
        for note in report["notifications"]
        if note["channel"] == "sns" and isinstance(note["payload"], dict) and "metadata" in note["payload"]
    }


def test_a_blue_green_pause_continued_from_slack_goes_live() -> None:
    report = _run("ecs-pause-continue.yaml")

    said = _said(report)
    assert "storefront paused at POST_TEST_TRAFFIC_SHIFT: continue or roll back?" in said
    assert _continues(report) == ["CONTINUE"]
    assert said.index("storefront continued past POST_TEST_TRAFFIC_SHIFT") < len(said) - 1
    assert said[-1].endswith("live on storefront")
    assert report["slack_actions"][0]["ephemeral"] == [
        "you continued POST_TEST_TRAFFIC_SHIFT pause on storefront"
    ]
    # The pause, the decision and the outcome are told in the release's one thread.
    assert len(_threads(report)) == 1
    assert report["errors"] == []


def test_a_blue_green_pause_rolled_back_from_slack_is_told_as_rolled_back() -> None:
    report = _run("ecs-pause-rollback.yaml")

    said = _said(report)
    assert _continues(report) == ["ROLLBACK"]
    assert "storefront rolled back at POST_TEST_TRAFFIC_SHIFT" in said
    assert said[-1].endswith("deployment to storefront failed and Amazon ECS rolled back")
    # A decision, not a crash: told as asked for, without the advice for a failed deployment.
    [rolled_back] = [
        json.dumps(note["payload"])
        for note in report["notifications"]
        if note["channel"] == "sns" and str(note["text"]).endswith("Amazon ECS rolled back")
    ]
    assert "rolled back at its POST_TEST_TRAFFIC_SHIFT pause, as U0123ABCD" in rolled_back
    assert "Push again once the release is fixed." in rolled_back
    assert "stopped tasks" not in rolled_back
    assert not [line for line in said if line.endswith("live on storefront")]
    assert len(_threads(report)) == 1
    assert report["errors"] == []


def test_a_pause_that_times_out_is_told_with_its_timeout_action_and_a_late_click_does_nothing() -> None:
    report = _run("ecs-pause-timeout.yaml")

    said = _said(report)
    assert "storefront pause at POST_TEST_TRAFFIC_SHIFT timed out: Amazon ECS chose ROLLBACK" in said
    # Nobody called ContinueServiceDeployment: ECS acted on its own, and the late click was refused.
    assert _continues(report) == []
    [late] = report["slack_actions"]
    assert late["ephemeral"] == [
        "the approval of POST_TEST_TRAFFIC_SHIFT pause on storefront is already expired"
    ]
    assert len(_threads(report)) == 1
    assert report["errors"] == []


def test_a_paused_canary_says_where_it_stands() -> None:
    report = _run("ecs-pause-canary.yaml")

    stands = (
        "Where it stands: canary: 5 % for 10 min, then 100 %; bake 15 min. Now: after the production"
        " traffic shift, 5 % of production traffic on the new revision."
    )
    asked = [
        note
        for note in report["notifications"]
        if note["channel"] == "sns" and "paused at POST_PRODUCTION_TRAFFIC_SHIFT" in str(note["text"])
    ]
    assert len(asked) == 1
    assert stands in json.dumps(asked[0]["payload"])
    # The same words reach the Slack thread, with the buttons.
    assert any(
        stands in json.dumps(note["payload"])
        for note in report["notifications"]
        if note["channel"] == "slack"
    )
    assert _continues(report) == ["CONTINUE"]
    # The refresh ten minutes into the bake follows it in the same thread; the one after the bake says
    # nothing more of it (the deployment ended live).
    following = [
        json.dumps(note["payload"])
        for note in report["notifications"]
        if note["channel"] == "sns"
        and str(note["text"]).endswith("checkout after its POST_PRODUCTION_TRAFFIC_SHIFT pause")
    ]
    assert len(following) == 1
    assert (
        "Now: baking: both revisions run, the old one ready to take traffic back, 100 % of production traffic"
        " on the new revision, 5 min of bake left" in following[0]
    )
    assert _said(report)[-1].endswith("live on checkout")
    assert len(_threads(report)) == 1
