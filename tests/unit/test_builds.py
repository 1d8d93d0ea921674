"""Build notices and failure explanations, from real-shaped CodeBuild events (pure: no I/O)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pushpilot.core.build_hints import HINTS, match_hints
from pushpilot.core.build_report import (
    NO_LOG_STREAM_REASON,
    BuildEventExtras,
    BuildFacts,
    LogTail,
    build_report,
    console_build_url,
    failing_phase,
    link_build,
    parse_image_uri,
    phase_report,
)
from pushpilot.core.errors import AccessDeniedError
from pushpilot.core.message_limits import BUILD_LOG_LINE_WIDTH as DETAIL_WIDTH
from pushpilot.core.notices import Notice, NoticeKind, Severity, release_id
from pushpilot.entry.settings import BuildSettings, SettingsError
from pushpilot.events.codebuild import CodeBuildEvent, CodeBuildPhaseEvent, CodeBuildStateEvent
from pushpilot.flows.builds import handle_build_event

EVENTS = Path(__file__).resolve().parents[2] / "events"
EVENT_ADAPTER: TypeAdapter[CodeBuildEvent] = TypeAdapter(CodeBuildEvent)
CONTEXT = {"region": "us-east-1", "account": "123456789012", "project": "web-build"}

ROLE = "codebuild-web-service-role"
REPO_ARN = "arn:aws:ecr:us-east-1:123456789012:repository/web"
ACCESS_DENIED_CLI = (
    "An error occurred (AccessDeniedException) when calling the InitiateLayerUpload operation: "
    f"User: arn:aws:sts::123456789012:assumed-role/{ROLE}/AWSCodeBuild-3f1c9a52-7d4e-4b8a-9c61-0e2f5b7a4d13 "
    f"is not authorized to perform: ecr:InitiateLayerUpload on resource: {REPO_ARN} "
    "because no identity-based policy allows the ecr:InitiateLayerUpload action"
)
ACCESS_DENIED_DOCKER = (
    f"denied: User: arn:aws:sts::123456789012:assumed-role/{ROLE}/AWSCodeBuild-3f1c9a52-7d4e-4b8a-9c61 "
    f"is not authorized to perform: ecr:PutImage on resource: {REPO_ARN} "
    "because no identity-based policy allows the ecr:PutImage action"
)
FAILED_PUSH_LOG = (
    "[Container] 2026/05/04 09:13:58.204117 Running command docker push $IMAGE_URI",
    "The push refers to repository [123456789012.dkr.ecr.us-east-1.amazonaws.com/web]",
    "5f70bf18a086: Preparing",
    ACCESS_DENIED_DOCKER,
    "",
    "[Container] 2026/05/04 09:14:01 Command did not exit successfully docker push $IMAGE_URI exit status 1",
    "[Container] 2026/05/04 09:14:01.517052 Phase complete: BUILD State: FAILED",
)


def raw_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def parsed(raw: dict[str, Any]) -> tuple[CodeBuildStateEvent | CodeBuildPhaseEvent, BuildEventExtras]:
    return EVENT_ADAPTER.validate_python(raw), BuildEventExtras.model_validate(raw)


def state(raw: dict[str, Any]) -> tuple[CodeBuildStateEvent, BuildEventExtras]:
    event, extras = parsed(raw)
    assert isinstance(event, CodeBuildStateEvent)
    return event, extras


# --- fakes for the ports -----------------------------------------------------------------------------


class FakeLogs:
    def __init__(self, tail: LogTail) -> None:
        self.result = tail
        self.calls: list[tuple[str, str, int]] = []

    def tail(self, group: str, stream: str, lines: int = 20) -> LogTail:
        self.calls.append((group, stream, lines))
        return LogTail(lines=self.result.lines[-lines:], unavailable_reason=self.result.unavailable_reason)


class FakeBuilds:
    def __init__(self, facts: BuildFacts | None = None, *, denied: bool = False) -> None:
        self.facts = facts
        self.denied = denied
        self.calls: list[str] = []

    def build_facts(self, build_id: str) -> BuildFacts | None:
        self.calls.append(build_id)
        if self.denied:
            raise AccessDeniedError("codebuild:BatchGetBuilds was denied")
        return self.facts


class FakeNotices:
    def __init__(self) -> None:
        self.published: list[Notice] = []

    def publish(self, notice: Notice) -> None:
        self.published.append(notice)


# --- state changes -----------------------------------------------------------------------------------


def test_in_progress_is_a_started_notice_threaded_by_commit() -> None:
    raw = raw_event("codebuild-build-in-progress.json")
    event, extras = state(raw)

    report = build_report(event.to_core(), extras)

    assert report.notice.kind is NoticeKind.BUILD_STARTED
    assert report.notice.severity is Severity.INFO
    assert report.notice.title == "Build started: web-build #42"
    sha = raw["detail"]["additional-information"]["source-version"]
    assert report.notice.thread_key == f"build:web-build:{sha}"
    assert report.explanation is None
    assert report.link is None


def test_succeeded_with_exported_image_joins_its_release() -> None:
    raw = raw_event("codebuild-build-succeeded.json")
    event, extras = state(raw)
    exports = {
        v["name"]: v["value"]
        for v in raw["detail"]["additional-information"]["exported-environment-variables"]
    }

    report = build_report(event.to_core(), extras)

    assert report.link is not None
    assert report.link.repository == "web"
    assert report.link.digest == exports["IMAGE_DIGEST"]
    assert report.link.tag == exports["IMAGE_URI"].rpartition(":")[2]
    assert report.notice.kind is NoticeKind.BUILD_SUCCEEDED
    assert report.notice.severity is Severity.SUCCESS
    assert report.notice.thread_key == release_id("web", exports["IMAGE_DIGEST"])
    assert report.notice.release is not None
    assert report.notice.release.release_id == report.notice.thread_key


def test_succeeded_links_through_build_facts_when_the_event_has_no_exports() -> None:
    raw = raw_event("codebuild-build-succeeded.json")
    del raw["detail"]["additional-information"]["exported-environment-variables"]
    event, extras = state(raw)
    sha = "0123456789abcdef0123456789abcdef01234567"
    facts = BuildFacts(
        resolved_source_version=sha,
        build_number=42,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web",
        image_digest="123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web@sha256:" + "ab" * 32,
    )

    report = build_report(event.to_core(), extras, facts=facts)

    assert report.link is not None
    assert report.link.repository == "team/web"
    assert report.link.digest == "sha256:" + "ab" * 32
    # No tag exported: the commit the build resolved is the tag by convention.
    assert report.link.tag == sha
    assert report.notice.thread_key == release_id("team/web", "sha256:" + "ab" * 32)


def test_succeeded_without_any_image_export_is_threaded_by_build() -> None:
    raw = raw_event("codebuild-build-succeeded.json")
    del raw["detail"]["additional-information"]["exported-environment-variables"]
    event, extras = state(raw)

    report = build_report(event.to_core(), extras, facts=BuildFacts(resolved_source_version="feedface" * 5))

    assert report.link is None
    assert report.notice.release is None
    assert "exported no IMAGE_URI" in report.notice.summary
    sha = raw["detail"]["additional-information"]["source-version"]
    assert report.notice.thread_key == f"build:web-build:{sha}"


def test_failed_build_is_explained_by_its_failing_phase_logs_and_hint() -> None:
    raw = raw_event("codebuild-build-failed.json")
    event, extras = state(raw)

    report = build_report(event.to_core(), extras, tail=LogTail(lines=FAILED_PUSH_LOG), max_lines=5)

    notice = report.notice
    assert notice.kind is NoticeKind.BUILD_FAILED
    assert notice.severity is Severity.FAILURE
    assert notice.title == "Build failed in BUILD: web-build #42"
    assert report.explanation is not None
    assert report.explanation.phase == "BUILD"
    assert [hint.name for hint in report.explanation.hints] == ["ecr-access-denied"]
    assert notice.next_step is not None
    assert ROLE in notice.next_step
    assert "ecr:PutImage" in notice.next_step
    assert "AmazonEC2ContainerRegistryPowerUser" in notice.next_step
    assert REPO_ARN in notice.next_step
    assert len(notice.details) <= 5
    assert all(len(line) <= DETAIL_WIDTH for line in notice.details)
    assert notice.details[-1] == FAILED_PUSH_LOG[-1]
    assert [link.label for link in notice.links] == ["Build logs", "Build in CodeBuild"]
    assert notice.links[0].url == raw["detail"]["additional-information"]["logs"]["deep-link"]


def test_failed_build_whose_buildspec_is_missing_is_explained_from_phase_context() -> None:
    # The shape of a real captured failure: DOWNLOAD_SOURCE fails before any build command runs.
    raw = raw_event("codebuild-build-failed.json")
    info = raw["detail"]["additional-information"]
    source = next(p for p in info["phases"] if p["phase-type"] == "DOWNLOAD_SOURCE")
    source["phase-status"] = "FAILED"
    source["phase-context"] = [
        "YAML_FILE_ERROR: stat /codebuild/output/src118804327/src/buildspec.yml: no such file or directory"
    ]
    info["phases"] = [
        p for p in info["phases"] if p["phase-type"] not in {"INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"}
    ]
    event, extras = state(raw)

    report = build_report(
        event.to_core(), extras, tail=LogTail(unavailable_reason="log stream s in g does not exist")
    )

    assert report.notice.title == "Build failed in DOWNLOAD_SOURCE: web-build #42"
    assert report.explanation is not None
    assert [hint.name for hint in report.explanation.hints] == ["buildspec-missing"]
    assert report.notice.next_step is not None
    assert "buildspec.yml" in report.notice.next_step
    assert "Logs unavailable: log stream s in g does not exist" in report.notice.summary
    assert report.notice.details == tuple(source["phase-context"])


def test_stopped_build_is_a_warning_naming_its_phase() -> None:
    event, extras = state(raw_event("codebuild-build-stopped.json"))

    report = build_report(
        event.to_core(),
        extras,
        tail=LogTail(lines=("[Container] 2026/05/04 09:13:24.1 Phase complete: BUILD State: STOPPED",)),
    )

    assert report.notice.kind is NoticeKind.BUILD_STOPPED
    assert report.notice.severity is Severity.WARNING
    assert report.notice.title == "Build stopped in BUILD: web-build #42"
    assert report.phase == "BUILD"


def test_a_failure_without_logs_says_why_and_links_what_it_can() -> None:
    raw = raw_event("codebuild-build-failed.json")
    del raw["detail"]["additional-information"]["logs"]
    event, extras = state(raw)

    report = build_report(event.to_core(), extras)

    assert report.explanation is not None
    assert report.explanation.logs_unavailable_reason == NO_LOG_STREAM_REASON
    assert report.explanation.deep_link is None
    assert NO_LOG_STREAM_REASON in report.notice.summary
    assert [link.label for link in report.notice.links] == ["Build in CodeBuild"]


def test_the_logs_deep_link_is_built_when_the_event_lacks_one() -> None:
    raw = raw_event("codebuild-build-failed.json")
    logs = raw["detail"]["additional-information"]["logs"]
    del logs["deep-link"]
    event, extras = state(raw)

    report = build_report(event.to_core(), extras, tail=LogTail())

    assert report.explanation is not None
    assert report.explanation.deep_link == (
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        f"#logEvent:group={logs['group-name']};stream={logs['stream-name']}"
    )


def test_failing_phase_falls_back_to_the_current_phase() -> None:
    raw = raw_event("codebuild-build-failed.json")
    info = raw["detail"]["additional-information"]
    for phase in info["phases"]:
        if phase.get("phase-status") == "FAILED":
            phase["phase-status"] = "SUCCEEDED"
    raw["detail"]["current-phase"] = "FINALIZING"
    event, _ = state(raw)

    change = event.to_core()
    phase = failing_phase(change.info.phases, change.current_phase)

    assert phase is not None
    assert phase.phase_type == "FINALIZING"


def test_build_number_falls_back_to_the_build_id() -> None:
    raw = raw_event("codebuild-build-in-progress.json")
    del raw["detail"]["additional-information"]["build-number"]
    event, extras = state(raw)

    report = build_report(event.to_core(), extras)

    assert report.notice.title == "Build started: web-build 3f1c9a52"


def test_console_build_url_quotes_the_build_id() -> None:
    arn = "arn:aws:codebuild:eu-west-1:111122223333:build/web-build:3f1c9a52-7d4e"
    assert console_build_url(arn, "eu-west-1", "111122223333") == (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/111122223333/projects/web-build"
        "/build/web-build%3A3f1c9a52-7d4e/?region=eu-west-1"
    )


# --- hints -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "hint", "fix_mentions"),
    [
        (ACCESS_DENIED_CLI, "ecr-access-denied", (ROLE, "ecr:InitiateLayerUpload", REPO_ARN)),
        (
            ACCESS_DENIED_DOCKER,
            "ecr-access-denied",
            (ROLE, "ecr:PutImage", "AmazonEC2ContainerRegistryPowerUser"),
        ),
        (
            (
                'Error response from daemon: Get "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/": '
                "no basic auth credentials"
            ),
            "ecr-login-missing",
            (
                "aws ecr get-login-password --region us-east-1 | docker login --username AWS",
                "--password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "pre_build",
            ),
        ),
        (
            (
                "ERROR: failed to solve: python:3.13-slim: failed to resolve source metadata for "
                "docker.io/library/python:3.13-slim: failed to copy: httpReadSeeker: failed open: "
                "unexpected status code https://registry-1.docker.io/v2/library/python/manifests/"
                "sha256:9f3e: 429 Too Many Requests - Server message: toomanyrequests: "
                "You have reached your pull rate limit."
            ),
            "docker-hub-rate-limit",
            ("public.ecr.aws/docker/library/python:3.13-slim", "pull-through cache"),
        ),
        (
            "exec /bin/sh: exec format error",
            "exec-format-error",
            ("docker buildx build --platform linux/amd64", "ARM_CONTAINER"),
        ),
        (
            (
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                "Is the docker daemon running?"
            ),
            "docker-daemon-unavailable",
            ("privileged mode", "web-build"),
        ),
        (
            (
                "name unknown: The repository with name 'web' does not exist in the registry "
                "with id '123456789012'"
            ),
            "ecr-repository-missing",
            ("aws ecr create-repository --repository-name web --region us-east-1",),
        ),
        (
            "YAML_FILE_ERROR: stat /codebuild/output/src4248/src/buildspec.yml: no such file or directory",
            "buildspec-missing",
            ("buildspec.yml", "web-build"),
        ),
        (
            "YAML_FILE_ERROR Message: did not find expected key at line 14",
            "buildspec-invalid",
            ("did not find expected key at line 14",),
        ),
    ],
)
def test_each_hint_is_recognised_from_a_realistic_line(
    line: str, hint: str, fix_mentions: tuple[str, ...]
) -> None:
    matches = match_hints(["[Container] 2026/05/04 09:13:40.1 Running command docker build .", line], CONTEXT)

    assert [match.name for match in matches] == [hint]
    for mention in fix_mentions:
        assert mention in matches[0].fix
    assert "<" not in matches[0].title


def test_every_hint_in_the_table_has_a_test_line() -> None:
    # Adding a hint without a realistic line above fails here first.
    tested = {
        "ecr-access-denied",
        "ecr-login-missing",
        "docker-hub-rate-limit",
        "exec-format-error",
        "docker-daemon-unavailable",
        "ecr-repository-missing",
        "buildspec-missing",
        "buildspec-invalid",
    }
    assert {hint.name for hint in HINTS} == tested


def test_access_denied_fix_names_every_missing_permission_once() -> None:
    matches = match_hints([ACCESS_DENIED_CLI, ACCESS_DENIED_DOCKER, ACCESS_DENIED_CLI], CONTEXT)

    assert len(matches) == 1
    assert matches[0].fix.count("ecr:InitiateLayerUpload, ecr:PutImage") == 2


def test_a_clean_build_log_matches_no_hint() -> None:
    lines = [
        "[Container] 2026/05/04 09:15:20.7 Running command docker push $IMAGE_URI",
        "8b2f4e1c9d7a: digest: sha256:4a7d1ed414474e4033ac29ccb8653d9b2f1c3e5a6b7c8d9e size: 1574",
        "[Container] 2026/05/04 09:15:41.0 Phase complete: POST_BUILD State: SUCCEEDED",
    ]
    assert match_hints(lines, CONTEXT) == ()


@given(lines=st.lists(st.text(max_size=400), max_size=60), max_lines=st.integers(min_value=1, max_value=30))
def test_details_are_bounded_in_count_and_width(lines: list[str], max_lines: int) -> None:
    event, extras = state(raw_event("codebuild-build-failed.json"))

    report = build_report(event.to_core(), extras, tail=LogTail(lines=tuple(lines)), max_lines=max_lines)

    assert len(report.notice.details) <= max_lines
    assert all(len(line) <= DETAIL_WIDTH for line in report.notice.details)


# --- image references and exports --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "repository", "tag", "digest"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1.2", "web", "v1.2", None),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web", "team/web", None, None),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "0f" * 32,
            "web",
            None,
            "sha256:" + "0f" * 32,
        ),
        ("localhost:5000/web:dev", "web", "dev", None),
        ("web:dev", "web", "dev", None),
    ],
)
def test_parse_image_uri(uri: str, repository: str, tag: str | None, digest: str | None) -> None:
    reference = parse_image_uri(uri)
    assert reference is not None
    assert (reference.repository, reference.tag, reference.digest) == (repository, tag, digest)


def test_a_branch_name_is_not_taken_for_a_commit_tag() -> None:
    link = link_build("123456789012.dkr.ecr.us-east-1.amazonaws.com/web", None, "refs/heads/main")
    assert link is not None
    assert link.tag is None


def test_extras_keep_only_the_two_image_exports() -> None:
    raw = raw_event("codebuild-build-succeeded.json")
    raw["detail"]["additional-information"]["exported-environment-variables"].append(
        {"name": "DEPLOY_TOKEN", "value": "ghp_exportedsecret"}
    )

    extras = BuildEventExtras.model_validate(raw)

    assert extras.exported("DEPLOY_TOKEN") is None
    assert "ghp_exportedsecret" not in extras.model_dump_json()
    assert extras.exported("IMAGE_DIGEST") is not None


def test_build_settings_default_and_bounds() -> None:
    assert BuildSettings.from_env({}).log_lines == 20
    assert BuildSettings.from_env({"BUILD_LOG_LINES": "7"}).log_lines == 7
    with pytest.raises(SettingsError, match="BUILD_LOG_LINES"):
        BuildSettings.from_env({"BUILD_LOG_LINES": "0"})


# --- phase changes -----------------------------------------------------------------------------------


def test_a_failed_phase_is_a_short_progress_notice() -> None:
    raw = raw_event("codebuild-phase-build-failed.json")
    event, extras = parsed(raw)
    assert isinstance(event, CodeBuildPhaseEvent)

    report = phase_report(event.to_core(), extras)

    assert report is not None
    assert report.notice.kind is NoticeKind.BUILD_FAILED
    assert report.notice.severity is Severity.WARNING
    assert report.notice.title == "Phase BUILD failed: web-build #42"
    assert report.notice.details[0].startswith("COMMAND_EXECUTION_ERROR")
    sha = raw["detail"]["additional-information"]["source-version"]
    assert report.notice.thread_key == f"build:web-build:{sha}"


def test_a_succeeded_phase_is_no_notice() -> None:
    event, extras = parsed(raw_event("codebuild-phase-pre-build-succeeded.json"))
    assert isinstance(event, CodeBuildPhaseEvent)
    assert phase_report(event.to_core(), extras) is None


# --- the whole event through the ports ---------------------------------------------------------------


def test_failed_event_reads_the_tail_of_its_stream_and_publishes_once() -> None:
    raw = raw_event("codebuild-build-failed.json")
    event, extras = state(raw)
    logs, builds, notices = FakeLogs(LogTail(lines=FAILED_PUSH_LOG)), FakeBuilds(), FakeNotices()

    outcome = handle_build_event(event, extras, logs=logs, builds=builds, notices=notices, log_lines=4)

    info = raw["detail"]["additional-information"]
    assert logs.calls == [(info["logs"]["group-name"], info["logs"]["stream-name"], 4)]
    assert builds.calls == []
    assert len(notices.published) == 1
    assert outcome.status == "handled"
    assert outcome.detail["hints"] == ["ecr-access-denied"]


def test_succeeded_event_with_exports_needs_no_lookup() -> None:
    event, extras = state(raw_event("codebuild-build-succeeded.json"))
    logs, builds, notices = FakeLogs(LogTail()), FakeBuilds(), FakeNotices()

    handle_build_event(event, extras, logs=logs, builds=builds, notices=notices)

    assert builds.calls == []
    assert logs.calls == []
    assert notices.published[0].kind is NoticeKind.BUILD_SUCCEEDED


def test_succeeded_event_without_exports_looks_the_build_up_once() -> None:
    raw = raw_event("codebuild-build-succeeded.json")
    del raw["detail"]["additional-information"]["exported-environment-variables"]
    event, extras = state(raw)
    digest = "sha256:" + "c3" * 32
    builds = FakeBuilds(
        BuildFacts(image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v7", image_digest=digest)
    )
    notices = FakeNotices()

    outcome = handle_build_event(event, extras, logs=FakeLogs(LogTail()), builds=builds, notices=notices)

    assert builds.calls == [event.detail.build_id]
    assert notices.published[0].thread_key == release_id("web", digest)
    assert outcome.detail["link"] == {"repository": "web", "digest": digest, "tag": "v7"}


def test_a_denied_lookup_still_reports_the_build() -> None:
    raw = raw_event("codebuild-build-succeeded.json")
    del raw["detail"]["additional-information"]["exported-environment-variables"]
    event, extras = state(raw)
    notices = FakeNotices()

    outcome = handle_build_event(
        event, extras, logs=FakeLogs(LogTail()), builds=FakeBuilds(denied=True), notices=notices
    )

    assert len(notices.published) == 1
    assert "BatchGetBuilds" in outcome.detail["link_unavailable"]


@pytest.mark.parametrize("name", ["codebuild-build-in-progress.json", "codebuild-build-stopped.json"])
def test_other_states_never_look_builds_up(name: str) -> None:
    event, extras = state(raw_event(name))
    builds, notices = FakeBuilds(), FakeNotices()

    handle_build_event(event, extras, logs=FakeLogs(LogTail()), builds=builds, notices=notices)

    assert builds.calls == []
    assert len(notices.published) == 1


def test_an_ignored_phase_publishes_nothing() -> None:
    event, extras = parsed(raw_event("codebuild-phase-pre-build-succeeded.json"))
    notices = FakeNotices()

    outcome = handle_build_event(
        event, extras, logs=FakeLogs(LogTail()), builds=FakeBuilds(), notices=notices
    )

    assert outcome.status == "ignored"
    assert notices.published == []


def test_fixtures_keep_the_documented_shape() -> None:
    # Each fixture must parse whole with the shared event models; a drifted fixture fails here.
    names = sorted(path.name for path in EVENTS.glob("codebuild-*.json"))
    assert len(names) >= 5
    for name in names:
        raw = raw_event(name)
        event = EVENT_ADAPTER.validate_python(copy.deepcopy(raw))
        assert event.source == "aws.codebuild"


@pytest.mark.parametrize(
    ("value", "number"), [(42, 42), (55.0, 55), (55.5, None), ("42", None), (None, None)]
)
def test_an_odd_build_number_is_no_number_not_a_rejection(value: object, number: int | None) -> None:
    raw = raw_event("codebuild-build-in-progress.json")
    raw["detail"]["additional-information"]["build-number"] = value
    raw["detail"]["additional-information"]["exported-environment-variables"] = [{"name": "IMAGE_URI"}]

    extras = BuildEventExtras.model_validate(raw)

    assert extras.build_number == number
    assert extras.exported("IMAGE_URI") is None
