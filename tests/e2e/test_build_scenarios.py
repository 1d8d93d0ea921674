"""CodeBuild builds through the whole sandbox: log stream in CloudWatch Logs + state-change event →
build handler → notice queue → Slack and SNS."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pushpilot.core.build_report import BuildEventExtras
from pushpilot.core.notices import release_id
from pushpilot.events.codebuild import CodeBuildStateEvent
from pushpilot_sandbox.codebuild import emit_build
from pushpilot_sandbox.scenario import run_scenario
from pushpilot_sandbox.steps import BuildArgs, StepError
from tests.e2e.sandbox_support import Story, sns_kinds, story

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CHANNEL = "C0SANDBOX"
DENIED = (
    "An error occurred (AccessDeniedException) when calling the InitiateLayerUpload operation: User: "
    "arn:aws:sts::123456789012:assumed-role/codebuild-web-service-role/AWSCodeBuild-1 is not authorized to "
    "perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/web because "
    "no identity-based policy allows the ecr:InitiateLayerUpload action"
)
FAILED_PUSH_LOG = [
    "[Container] 2026/05/04 09:12:38.120 Running command docker push $IMAGE_URI",
    "The push refers to repository [123456789012.dkr.ecr.us-east-1.amazonaws.com/web]",
    DENIED,
    "[Container] 2026/05/04 09:14:02.205 Phase complete: BUILD State: FAILED",
]
ONE_SERVICE: dict[str, Any] = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest"}],
    "notifications": {"slack": "bot", "sns": True},
}


def _sns_of_kind(run: Story, kind: str) -> list[dict[str, Any]]:
    return [
        note["payload"] for note in run.notices("sns") if note["payload"]["metadata"]["eventType"] == kind
    ]


def _digest(run: Story, repository: str, tag: str) -> str:
    images = run.sandbox.direct_client("ecr").describe_images(
        repositoryName=repository, imageIds=[{"imageTag": tag}]
    )
    digest: str = images["imageDetails"][0]["imageDigest"]
    return digest


def test_build_step_carries_environment_variables_as_codebuild_lists_them(tmp_path: Path) -> None:
    variables = [
        {"name": "STAGE", "type": "PLAINTEXT", "value": "production"},
        {"name": "NPM_TOKEN", "type": "PARAMETER_STORE", "value": "/ci/npm-token"},
        {"name": "DOCKER_HUB", "type": "SECRETS_MANAGER", "value": "ci/dockerhub:password"},
    ]
    with story({"repositories": ["web"]}, tmp_path) as run:
        args = BuildArgs.model_validate(
            {"project": "web-build", "status": "FAILED", "environment_variables": variables}
        )
        event = emit_build(run.sandbox, args)
        assert event["detail"]["additional-information"]["environment"]["environment-variables"] == variables
        CodeBuildStateEvent.model_validate(event)
        with pytest.raises(StepError, match="environment_variables"):
            run.step(
                "build",
                {
                    "project": "web-build",
                    "status": "FAILED",
                    "environment_variables": [{"name": "X", "type": "SSM"}],
                },
            )


def test_emitted_event_parses_and_its_log_stream_holds_the_lines(tmp_path: Path) -> None:
    with story({"repositories": ["web"]}, tmp_path) as run:
        event = emit_build(
            run.sandbox,
            BuildArgs(project="web-build", status="FAILED", failed_phase="PRE_BUILD", log=FAILED_PUSH_LOG),
        )
        parsed = CodeBuildStateEvent.model_validate(event)
        info = parsed.detail.additional_information
        assert info.logs is not None
        assert (info.logs.group_name, info.logs.stream_name) == (
            "/aws/codebuild/web-build",
            parsed.detail.build_id.rpartition(":")[2],
        )
        statuses = [(phase.phase_type, phase.phase_status) for phase in info.phases]
        assert [status for _, status in statuses].count("FAILED") == 1
        assert ("PRE_BUILD", "FAILED") in statuses
        assert ("BUILD", "SUCCEEDED") not in statuses
        assert statuses[-1] == ("COMPLETED", None)
        assert event["detail"]["additional-information"]["environment"]["environment-variables"] == []
        assert "exported-environment-variables" not in event["detail"]["additional-information"]

        logs = run.sandbox.direct_client("logs")
        stored = logs.get_log_events(
            logGroupName=info.logs.group_name, logStreamName=info.logs.stream_name, startFromHead=True
        )
        assert [item["message"] for item in stored["events"]] == FAILED_PUSH_LOG
        assert list(run.sandbox.bus) == [event]


def test_exports_the_digest_the_pushed_tag_points_at(tmp_path: Path) -> None:
    with story({"repositories": ["web"]}, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "v7", "platforms": ["linux/amd64"]})
        event = emit_build(run.sandbox, BuildArgs(project="web-build", status="SUCCEEDED", push="web:v7"))
        extras = BuildEventExtras.model_validate(event)
        assert extras.exported("IMAGE_DIGEST") == _digest(run, "web", "v7")
        assert extras.exported("IMAGE_URI") == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v7"
        with pytest.raises(StepError, match="push web:never"):
            emit_build(run.sandbox, BuildArgs(project="web-build", status="SUCCEEDED", push="web:never"))


def test_failed_push_gives_one_message_with_phase_lines_and_fix(tmp_path: Path) -> None:
    with story(ONE_SERVICE, tmp_path) as run:
        run.step(
            "build",
            {"project": "web-build", "status": "FAILED", "failed_phase": "BUILD", "log": FAILED_PUSH_LOG},
        )

        failed = _sns_of_kind(run, "build_failed")
        assert len(failed) == 1
        assert run.notice_kinds() == ["build_failed"]
        text = str(failed[0])
        assert "Build failed in BUILD" in text
        assert DENIED[:120] in text
        assert "Phase complete: BUILD State: FAILED" in text
        assert "codebuild-web-service-role" in text
        assert "AmazonEC2ContainerRegistryPowerUser" in text

        explained = [
            message for message in run.sandbox.slack.messages(CHANNEL) if DENIED[:120] in str(message)
        ]
        assert len(explained) == 1
        assert "BUILD" in str(explained[0])
        assert "aws iam attach-role-policy --role-name codebuild-web-service-role" in str(explained[0])
        assert run.report()["errors"] == []
        assert run.report()["dead_letters"] == []


def test_succeeded_build_joins_its_image_release_thread(tmp_path: Path) -> None:
    with story(ONE_SERVICE, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        run.step("build", {"project": "web-build", "status": "SUCCEEDED", "push": "web:latest"})
        release = release_id("web", _digest(run, "web", "latest"))

        built = _sns_of_kind(run, "build_succeeded")
        assert len(built) == 1
        assert built[0]["metadata"]["threadId"] == release
        assert _sns_of_kind(run, "verified")[0]["metadata"]["threadId"] == release

        messages = run.sandbox.slack.messages(CHANNEL)
        build_reply = next(message for message in messages if "Build succeeded" in str(message.get("text")))
        verified_reply = next(message for message in messages if "verified for" in str(message.get("text")))
        assert build_reply.get("thread_ts")
        assert build_reply["thread_ts"] == verified_reply["thread_ts"]
        headline = [message for message in messages if message["ts"] == build_reply["thread_ts"]]
        assert len(headline) == 1
        assert "thread_ts" not in headline[0] or headline[0]["thread_ts"] == headline[0]["ts"]


def test_unlinked_build_gets_a_thread_of_its_own(tmp_path: Path) -> None:
    with story(ONE_SERVICE, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        run.step("build", {"project": "web-build", "status": "SUCCEEDED", "source_version": "main"})
        built = _sns_of_kind(run, "build_succeeded")
        assert len(built) == 1
        assert built[0]["metadata"]["threadId"] == "build:web-build:main"


@pytest.mark.parametrize(
    ("scenario", "kinds"),
    [
        ("build-failed.yaml", ["build_failed"]),
        ("build-joins-release.yaml", ["verified", "deploying", "build_succeeded", "live"]),
    ],
)
def test_build_scenario_files_tell_their_story(scenario: str, kinds: list[str]) -> None:
    out = io.StringIO()
    report = run_scenario(SCENARIOS / scenario, out=out)
    sent = sns_kinds(report["notifications"])
    assert sent == kinds
    assert report["errors"] == []
    assert report["dead_letters"] == []
    assert "CodeBuild web-build" in out.getvalue()
