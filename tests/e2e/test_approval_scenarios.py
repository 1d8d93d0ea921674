"""The approval scenarios in scenarios/ through the whole stack in the sandbox: the Slack emulator posts
signed (or forged, stale, oversized, malformed, replayed) clicks to the request URL over HTTP; the vote is
recorded, the decisions function deploys an approved release through the normal path, and every refused
request deploys nothing and gets its 4xx."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.scenario import run_scenario

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _starts(report: dict[str, Any]) -> list[str]:
    return [
        call["params"]["ServiceArn"] for call in report["calls"] if call["operation"] == "StartDeployment"
    ]


def _said(report: dict[str, Any]) -> list[str]:
    return [
        str(note["text"]).removeprefix("[pushpilot] ")
        for note in report["notifications"]
        if note["channel"] == "sns"
    ]


def _answers(report: dict[str, Any]) -> list[tuple[int, str]]:
    return [(action["status"], action["body"]) for action in report["slack_actions"]]


def _no_function_failed(report: dict[str, Any]) -> None:
    assert report["errors"] == []
    assert report["dead_letters"] == []


def test_a_strangers_click_is_refused_and_one_approvers_click_deploys_once() -> None:
    report = _run("approval.yaml")

    assert _answers(report) == [(200, ""), (200, ""), (200, "")]
    stranger, approver, again = (action["ephemeral"] for action in report["slack_actions"])
    assert stranger == ["you are not an approver of prod-web"]
    assert approver == ["you approved latest on prod-web"]
    assert again == ["the approval of latest on prod-web is already deployed"]
    # One deployment: the stranger's click deployed nothing, the second click nothing more.
    assert len(_starts(report)) == 1
    said = _said(report)
    assert said.index("latest waits for approval on prod-web") < said.index("latest approved for prod-web")
    assert said[-1].endswith("live on prod-web")
    _no_function_failed(report)


def test_forged_stale_oversized_and_malformed_requests_and_a_replay_change_nothing() -> None:
    report = _run("approval-hostile.yaml")

    assert _answers(report) == [
        (401, "forged"),
        (401, "stale"),
        (413, "too_large"),
        (400, "malformed"),
        (200, ""),
        (200, ""),
    ]
    # Nothing moved before the real click: no vote, no reply, no deployment.
    assert all(action["ephemeral"] == [] for action in report["slack_actions"][:4])
    assert report["slack_actions"][-1]["replay"] is True
    assert report["slack_actions"][-1]["ephemeral"] == [
        "the approval of latest on prod-web is already deployed"
    ]
    assert len(_starts(report)) == 1
    assert _said(report).count("latest approved for prod-web") == 1
    _no_function_failed(report)


def test_two_approvals_need_two_distinct_approvers_and_a_replay_counts_once() -> None:
    report = _run("approval-two.yaml")

    first, replay, second = (action["ephemeral"] for action in report["slack_actions"])
    assert first == ["your approval of latest on prod-web is counted; 1 more needed"]
    assert replay == ["your vote on latest for prod-web is already counted"]
    assert second == ["you approved latest on prod-web"]
    assert len(_starts(report)) == 1
    said = _said(report)
    assert said.count("latest on prod-web: approval 1 of 2") == 1
    # The deployment came only after the second approver.
    assert said.index("latest approved for prod-web") > said.index("latest on prod-web: approval 1 of 2")
    _no_function_failed(report)


def test_an_approval_after_the_deadline_deploys_nothing_and_says_expired() -> None:
    report = _run("approval-expired.yaml")

    [click] = report["slack_actions"]
    assert click["status"] == 200
    [told] = click["ephemeral"]
    assert told.startswith("the approval of latest on prod-web expired at ")
    assert _starts(report) == []
    assert "approval of latest on prod-web expired" in _said(report)
    _no_function_failed(report)


def test_a_newer_release_supersedes_the_waiting_one_in_both_threads() -> None:
    report = _run("approval-superseded.yaml")

    said = _said(report)
    assert "latest superseded on prod-web: not deployed" in said
    assert "latest supersedes latest waiting on prod-web" in said
    superseded = [
        note
        for note in report["notifications"]
        if note["channel"] == "sns" and "supersede" in str(note["text"])
    ]
    # One in the old release's thread, one in the new one's.
    threads = {note["payload"]["metadata"]["threadId"] for note in superseded}
    assert len(threads) == 2
    # The click approves the newer digest: one deployment, of the release that waited last.
    assert len(_starts(report)) == 1
    deploying = [line for line in said if line.endswith("deploying to prod-web")]
    assert len(deploying) == 1
    _no_function_failed(report)


def test_approve_and_reject_from_the_command_line() -> None:
    report = _run("approval-cli.yaml")

    reject, approve, again = report["runs"]
    assert reject["exit_code"] == 0
    assert "you rejected latest on prod-web (as arn:aws:sts::" in reject["output"]
    assert approve["exit_code"] == 0
    assert "you approved latest on prod-web (as arn:aws:sts::" in approve["output"]
    assert again["exit_code"] != 0
    assert "no release waits for approval on prod-web (the newest, web@sha256:" in again["output"]
    assert "is deployed)" in again["output"]
    assert len(_starts(report)) == 1
    said = _said(report)
    assert "latest rejected for prod-web" in said
    assert said[-1].endswith("live on prod-web")
    _no_function_failed(report)
