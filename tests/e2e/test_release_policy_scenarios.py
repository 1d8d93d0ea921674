"""The release-policy scenarios in scenarios/ tell the stories they claim, through the whole stack in the
sandbox: tags read from App Runner, decisions told over SNS, `pushpilot` command lines run as `run` steps."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.scenario import run_scenario
from tests.e2e.sandbox_support import sns_kinds

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _said(report: dict[str, Any]) -> list[str]:
    """What SNS said, by title, in order."""
    return [
        str(note["text"]).removeprefix("[pushpilot] ")
        for note in report["notifications"]
        if note["channel"] == "sns"
    ]


def _image_updates(report: dict[str, Any]) -> list[str]:
    return [
        call["params"]["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"].rpartition("/")[2]
        for call in report["calls"]
        if call["operation"] == "UpdateService"
    ]


def _starts(report: dict[str, Any]) -> int:
    return sum(call["operation"] == "StartDeployment" for call in report["calls"])


def test_a_semver_range_follows_v1_5_0_and_ignores_v2_and_a_late_v1_3_9() -> None:
    report = _run("policy-semver.yaml")

    assert _image_updates(report) == ["web:v1.5.0"]
    said = _said(report)
    assert not [line for line in said if "matches" in line]
    assert any(line.endswith("deploying to checkout") for line in said)
    assert said[-2:] == [
        "v2.0.0 does not match semver:^1 on checkout: not deployed",
        "v1.3.9 skipped: older than v1.5.0 running on checkout",
    ]
    assert sns_kinds(report["notifications"]).count("live") == 2


def test_a_glob_policy_follows_release_tags_pinned_by_digest() -> None:
    report = _run("policy-glob.yaml")

    [update] = _image_updates(report)
    assert update.startswith("web@sha256:")
    # The decision to deploy is told once, by the rollout it starts.
    assert _said(report)[1].endswith("deploying to storefront")
    assert not [line for line in _said(report) if "matches" in line]
    assert _said(report)[-1] == "nightly-7 does not match glob:release-* on storefront: not deployed"


def test_an_invalid_policy_is_reported_once_and_the_tag_it_runs_still_deploys() -> None:
    report = _run("policy-invalid.yaml")

    assert _said(report).count("release policy of storefront cannot be read") == 1
    assert _starts(report) == 2
    assert sns_kinds(report["notifications"]).count("live") == 2


def test_rollback_hold_release_and_releases_after_a_mixed_story() -> None:
    report = _run("rollback.yaml")
    runs = {run["command"]: run for run in report["runs"]}

    dry = runs["pushpilot rollback checkout --dry-run"]
    assert dry["exit_code"] == 0
    assert dry["output"].startswith("dry run: would roll checkout back from v1.5.0")
    # The rollback deploys the previous live digest, pinned; the held push does not deploy; the one after
    # the release does.
    updates = _image_updates(report)
    assert updates[0:2] == ["web:v1.4.0", "web:v1.5.0"]
    assert (
        updates[2]
        == "web@" + runs["pushpilot releases checkout --json"]["output"].split('"digest": "')[1][:71]
    )
    assert updates[3:] == ["web:v1.5.2"]
    said = _said(report)
    assert any(line.startswith("checkout is being rolled back to v1.4.0") for line in said)
    assert any(line.startswith("v1.5.1 not deployed to checkout: it is held") for line in said)
    assert runs["pushpilot rollback checkout"]["exit_code"] == 0
    assert runs["pushpilot release checkout"]["output"].startswith("checkout released")

    [checkout] = json.loads(runs["pushpilot releases checkout --json"]["output"])
    assert checkout["policy"] == "semver:^1"
    assert (checkout["running"]["tag"], checkout["running"]["outcome"]) == ("v1.4.0", "live")
    assert [line["tag"] for line in checkout["history"]] == ["v1.5.0", "v1.4.0"]
    assert checkout["in_flight"].startswith("v1.5.2")
    assert checkout["held"] is None
    listing = runs["pushpilot releases"]["output"]
    assert "checkout (apprunner)" in listing
    assert "storefront (apprunner)" in listing
    assert "policy   the configured tag only" in listing
