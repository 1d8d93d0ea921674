"""Every scenario shipped in scenarios/ runs, and tells the story it claims."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.scenario import run_scenario
from tests.e2e.sandbox_support import sns_kinds

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _run(name: str) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name, out=io.StringIO())


def _kinds(report: dict[str, Any]) -> list[str]:
    return sns_kinds(report["notifications"])


def _deployments(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [call for call in report["calls"] if call["operation"] in {"StartDeployment", "UpdateService"}]


# Scenarios whose story is an error pushpilot reports (and does not retry or dead-letter).
EXPECTED_ERRORS = {
    "cross-account-denied": ["AccessDeniedError"],
    "unreadable-push": ["NotFoundError"],
    # The completion event is lost to a denied read; a late event of an older deployment then closes it.
    "ecs-stale-reason": ["AccessDeniedError"],
}


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda path: path.stem)
def test_every_scenario_runs_clean(path: Path) -> None:
    report = _run(path.name)
    assert [error["type"] for error in report["errors"]] == EXPECTED_ERRORS.get(path.stem, [])
    assert report["dead_letters"] == []
    assert report.get("refused_events", []) == []


def test_multi_arch_scenario_deploys_and_goes_live() -> None:
    report = _run("multi-arch.yaml")
    assert len(_deployments(report)) == 1
    assert _kinds(report) == ["verified", "deploying", "live"]


def test_auto_deploy_scenario_tracks_and_warns_without_deploying() -> None:
    report = _run("auto-deploy.yaml")
    assert _deployments(report) == []
    assert _kinds(report) == ["verified", "auto_deploy_tracked", "live", "rejected"]


def test_an_update_ending_before_app_runner_deploys_the_push_closes_nothing() -> None:
    report = _run("operation-before-auto-deploy.yaml")
    assert _deployments(report) == []
    assert _kinds(report) == ["verified", "auto_deploy_tracked"]


def test_an_automatic_deployment_that_never_comes_is_told_unconfirmed_not_live() -> None:
    report = _run("auto-deploy-never-deployed.yaml")
    assert _deployments(report) == []
    assert _kinds(report) == ["verified", "auto_deploy_tracked", "unconfirmed"]


def test_burst_scenario_deploys_the_first_and_then_only_the_newest() -> None:
    report = _run("burst.yaml")
    assert len(_deployments(report)) == 2
    assert _kinds(report).count("live") == 2


def test_duplicates_scenario_deploys_once() -> None:
    report = _run("duplicates.yaml")
    assert len(_deployments(report)) == 1
    assert _kinds(report) == ["verified", "deploying", "live"]


def test_dry_run_scenario_changes_nothing() -> None:
    report = _run("dry-run.yaml")
    assert [call for call in report["calls"] if call["service"] in {"apprunner", "route53"}] == []
    assert _kinds(report) == ["verified", "dry_run"]


def test_cross_account_scenario_forwards_deploys_and_rejects_arm64() -> None:
    report = _run("cross-account.yaml")
    assert len(_deployments(report)) == 1
    assert _kinds(report) == ["verified", "deploying", "live", "rejected"]


def test_cross_account_denied_scenario_names_the_policy_and_deploys_nothing() -> None:
    report = _run("cross-account-denied.yaml")
    assert _deployments(report) == []
    assert len(report["errors"]) == 1
    assert "repository policy" in report["errors"][0]["message"]
    notices = [note for note in report["notifications"] if note["channel"] == "sns"]
    assert len(notices) == 1
    assert "repository policy" in str(notices[0]["payload"])


def test_ecr_public_scenario_deploys_only_the_changed_digest() -> None:
    report = _run("ecr-public.yaml")
    assert len(_deployments(report)) == 1
    assert _kinds(report) == ["verified", "deploying", "live", "rejected"]
