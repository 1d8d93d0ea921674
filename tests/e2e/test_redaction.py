"""Secrets stay secret: the Slack token, the webhook's secret path and a build's environment values
never reach the handlers' logs or any message, in either Slack mode, even when Slack fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.codebuild import emit_build
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.steps import BuildArgs
from tests.e2e.sandbox_support import Story, story

BUILD_SECRETS = {
    "DOCKERHUB_TOKEN": "dckr_pat_Zq7v1Kx9Rw3Ty5Ub8Nm2Lp4",
    "NPM_TOKEN": "npm_4hT9sQ2vX7bK1mR8yW3zL6pN0cF5",
    "DATABASE_URL": "postgres://ci:S3cr3t-Pa55w0rd@db.internal:5432/app",
}


def _setup(slack_mode: str) -> dict[str, Any]:
    return {
        "repositories": ["web"],
        "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": False}],
        "notifications": {"slack": slack_mode, "sns": True},
    }


def _failed_build_with_secrets(sandbox: Sandbox) -> dict[str, Any]:
    args = BuildArgs(
        project="web-image",
        status="FAILED",
        failed_phase="BUILD",
        log=["Step 4/9 : RUN npm ci", "npm ERR! 401 Unauthorized - GET https://registry.npmjs.org/left-pad"],
    )
    emit_build(sandbox, args)
    event = sandbox.bus.pop()
    event["detail"]["additional-information"]["environment"]["environment-variables"] = [
        {"name": name, "type": "PLAINTEXT", "value": value} for name, value in BUILD_SECRETS.items()
    ]
    return event


def _run_story(run: Story) -> None:
    sandbox = run.sandbox
    # Slack fails along the way, so the error paths log too.
    run.step("slack", {"fail_next": 500, "times": 2})
    run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
    run.step("slack", {"fail_next": 429, "retry_after": 0})
    run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
    sandbox.bus.append(_failed_build_with_secrets(sandbox))
    sandbox.settle()
    run.timeline.record()


def _secrets(sandbox: Sandbox, slack_mode: str) -> list[str]:
    found = list(BUILD_SECRETS.values())
    if slack_mode == "bot":
        found.append("xoxb-sandbox-token")
    else:
        webhook = sandbox.slack.webhook_url()
        found.extend([webhook, webhook.rsplit("/", 1)[-1]])
    return found


@pytest.mark.parametrize("slack_mode", ["bot", "webhook"])
def test_no_secret_reaches_a_log_or_a_message(slack_mode: str, tmp_path: Path) -> None:
    with story(_setup(slack_mode), tmp_path) as run:
        _run_story(run)
        sandbox = run.sandbox

        builds = [d for d in sandbox.router.deliveries if d.function == "BuildEventsFunction"]
        assert builds
        assert all(d.succeeded for d in builds)
        assert any((d.outcome or {}).get("status") == "handled" for d in builds)
        channels = {note["channel"] for note in run.timeline.notifications}
        assert channels == {"slack", "sns"}
        messages = json.dumps(run.timeline.notifications) + json.dumps(
            [post.payload for post in sandbox.slack.posts]
        )
        assert "web-image" in messages  # the failed build was told
        logs = sandbox.logs.text()
        assert "web-image" in logs  # and logged

        for secret in _secrets(sandbox, slack_mode):
            assert secret not in logs
            assert secret not in messages
        for name in BUILD_SECRETS:
            assert name not in messages
