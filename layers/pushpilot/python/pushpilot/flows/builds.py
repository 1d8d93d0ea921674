"""CodeBuild builds in the release story: progress notices, and failures explained from their logs.

Everything here is a value computed from a parsed event plus what the adapters read (a log tail, the
build's exported image variables). `handle_build_event` wires those reads through injected ports and
does no I/O of its own, so the same decisions are printed in a dry run and asserted in tests.

Build environment variables may hold secrets: `pushpilot.events` drops them at parse time, and the
extras parsed here keep only `IMAGE_URI` and `IMAGE_DIGEST` from the exported variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpilot.core.errors import AccessDeniedError
from pushpilot.core.notices import Link, Notice, NoticeKind, ReleaseHeadline, Severity, release_id
from pushpilot.entry.handling import HandlerOutcome
from pushpilot.entry.settings import EnvSettings
from pushpilot.events.codebuild import CodeBuildLogs, CodeBuildPhase, CodeBuildPhaseEvent, CodeBuildStateEvent

BuildStatus = Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"]

IMAGE_EXPORT_NAMES: frozenset[str] = frozenset({"IMAGE_URI", "IMAGE_DIGEST"})
"""The only exported variables pushpilot ever reads; every other name is discarded unread."""

FAILING_PHASE_STATUSES: frozenset[str] = frozenset(
    {"FAILED", "FAULT", "TIMED_OUT", "CLIENT_ERROR", "STOPPED"}
)
# A stopped phase is reported by the STOPPED build state that follows it, not as a phase notice.
PHASE_NOTICE_STATUSES: frozenset[str] = FAILING_PHASE_STATUSES - {"STOPPED"}

DETAIL_WIDTH = 200
_COMMIT_SHA = re.compile(r"[0-9a-f]{7,64}")


class BuildSettings(EnvSettings):
    log_lines: int = Field(default=20, alias="BUILD_LOG_LINES", ge=1, le=200)


# --- what the adapters hand back ---------------------------------------------------------------------


class LogTail(BaseModel):
    """The last lines of a build's log stream, or why they could not be read."""

    model_config = ConfigDict(frozen=True)

    lines: tuple[str, ...] = ()
    unavailable_reason: str | None = None


class BuildFacts(BaseModel):
    """What `batch_get_builds` adds to the event: only these fields are ever read from it."""

    model_config = ConfigDict(frozen=True)

    resolved_source_version: str | None = None
    build_number: int | None = None
    image_uri: str | None = None
    image_digest: str | None = None


# --- what the typed event models leave out -----------------------------------------------------------


class _ExportedVariable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    value: str | None = None


class _ExtrasInformation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    build_number: int | None = Field(default=None, alias="build-number")
    exported: tuple[_ExportedVariable, ...] = Field(default=(), alias="exported-environment-variables")

    @field_validator("build_number", mode="before")
    @classmethod
    def _whole_number_or_none(cls, value: object) -> object:
        # Samples carry 55 or 55.0; anything else is no number, never a reason to reject the event.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @field_validator("exported", mode="before")
    @classmethod
    def _keep_image_exports_only(cls, value: object) -> object:
        # Filter before validation so no other exported value ever becomes part of a model.
        if not isinstance(value, list):
            return ()
        return [
            item for item in value if isinstance(item, Mapping) and item.get("name") in IMAGE_EXPORT_NAMES
        ]


class _ExtrasDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    additional_information: _ExtrasInformation = Field(
        default_factory=_ExtrasInformation, alias="additional-information"
    )


class BuildEventExtras(BaseModel):
    """The build number and the two image exports from a raw CodeBuild event.

    When a buildspec exports variables, Build State Change events are read by their consumers at
    `detail.additional-information.exported-environment-variables` as `{name, value}` items; AWS's
    published samples predate exported variables and omit them, so they may be absent and
    `batch_get_builds` stays the authoritative source.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    detail: _ExtrasDetail = Field(default_factory=_ExtrasDetail)

    @property
    def build_number(self) -> int | None:
        return self.detail.additional_information.build_number

    def exported(self, name: str) -> str | None:
        values = (v.value for v in self.detail.additional_information.exported if v.name == name)
        return next((value for value in values if value), None)


# --- hints: one table, easy to extend ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hint:
    """A known failure: `pattern` finds it in a log or phase-context line; `fix` is a str.format
    template over the pattern's named groups (every match's values, joined) plus `region`, `account`
    and `project`; `defaults` fills a group no line captured."""

    name: str
    pattern: re.Pattern[str]
    title: str
    fix: str
    defaults: Mapping[str, str] = field(default_factory=dict)


_ECR_PERMISSIONS_FIX = (
    "Grant the CodeBuild service role {role} the permission(s) {action}: attach the managed policy "
    "AmazonEC2ContainerRegistryPowerUser (aws iam attach-role-policy --role-name {role} --policy-arn "
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser), or add an inline statement that allows "
    '{action} on {resource} (ecr:GetAuthorizationToken only works with Resource "*").'
)

HINTS: tuple[Hint, ...] = (
    Hint(
        name="ecr-access-denied",
        pattern=re.compile(
            r"User: arn:aws[\w-]*:(?:sts|iam)::(?P<account>\d{12}):"
            r"(?:assumed-role/(?P<role>[\w+=,.@-]+)/\S+|\S+)"
            r" is not authorized to perform: (?P<action>ecr:[A-Za-z]+)"
            r"(?: on resource: (?P<resource>\S+))?"
        ),
        title="The build's role is not allowed {action}",
        fix=_ECR_PERMISSIONS_FIX,
        defaults={"role": "of this project", "resource": "the repository's ARN"},
    ),
    Hint(
        name="ecr-login-missing",
        pattern=re.compile(r"no basic auth credentials"),
        title="Docker is not logged in to ECR",
        fix=(
            "Log in to ECR in the buildspec's pre_build phase: aws ecr get-login-password --region {region} "
            "| docker login --username AWS --password-stdin {account}.dkr.ecr.{region}.amazonaws.com"
        ),
    ),
    Hint(
        name="ecr-repository-missing",
        pattern=re.compile(r"The repository with name '(?P<repository>[^']+)' does not exist"),
        title="ECR repository {repository} does not exist",
        fix=(
            "Create it before pushing: aws ecr create-repository --repository-name {repository} "
            "--region {region} (or fix the repository name in IMAGE_URI)."
        ),
    ),
    Hint(
        name="docker-hub-rate-limit",
        pattern=re.compile(
            r"(?:docker\.io/(?:library/)?(?P<image>[\w./-]+:[\w.-]+)\b.*?)?toomanyrequests", re.IGNORECASE
        ),
        title="Docker Hub's pull rate limit stopped the build",
        fix=(
            "Pull base images from ECR Public instead of Docker Hub (FROM public.ecr.aws/docker/library/"
            "{image}), or create an ECR pull-through cache rule for Docker Hub (aws ecr "
            "create-pull-through-cache-rule --ecr-repository-prefix docker-hub --upstream-registry-url "
            "registry-1.docker.io --credential-arn <secret named ecr-pullthroughcache/...>) and pull "
            "{account}.dkr.ecr.{region}.amazonaws.com/docker-hub/library/{image}."
        ),
        defaults={"image": "<image>:<tag>"},
    ),
    Hint(
        name="exec-format-error",
        pattern=re.compile(r"exec format error"),
        title="A binary was built for another CPU architecture",
        fix=(
            "App Runner runs linux/amd64: build with docker buildx build --platform linux/amd64 (and "
            "FROM --platform=linux/amd64 for base images), or build arm64 images on an arm64 build image "
            "(environment type ARM_CONTAINER)."
        ),
    ),
    Hint(
        name="docker-daemon-unavailable",
        pattern=re.compile(r"Cannot connect to the Docker daemon"),
        title="Docker is not running in the build container",
        fix=(
            "Turn on privileged mode in the environment of project {project}: building images needs the "
            "Docker daemon, which CodeBuild starts only in privileged mode."
        ),
    ),
    Hint(
        name="buildspec-missing",
        pattern=re.compile(
            r"YAML_FILE_ERROR:?\s*(?:Message:\s*)?stat \S*/(?P<buildspec>[^/\s]+?): no such file or directory"
        ),
        title="The source has no {buildspec}",
        fix=(
            "Commit {buildspec} at the root of the source, or set project {project}'s buildspec to its path "
            "relative to the source root (aws codebuild update-project --name {project} --source ...)."
        ),
    ),
    Hint(
        name="buildspec-invalid",
        pattern=re.compile(r"YAML_FILE_ERROR:?+\s*+(?:Message:\s*+)?+(?P<problem>(?!stat )\S.*)"),
        title="The buildspec is not valid",
        fix=(
            "Fix the buildspec: {problem}. It needs `version: 0.2` and a `phases` map at the top level, "
            "indented with spaces."
        ),
    ),
)


class HintMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    fix: str
    evidence: str


class _TemplateValues(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def match_hints(
    lines: Sequence[str], context: Mapping[str, str], hints: Sequence[Hint] = HINTS
) -> tuple[HintMatch, ...]:
    """Every hint some line shows, in table order; each fix names every value its matches captured."""
    found: list[HintMatch] = []
    for hint in hints:
        matches = [m for line in lines if (m := hint.pattern.search(line))]
        if not matches:
            continue
        captured: dict[str, list[str]] = {}
        for match in matches:
            for group, value in match.groupdict().items():
                if value and value not in captured.setdefault(group, []):
                    captured[group].append(value)
        values = _TemplateValues({**context, **hint.defaults})
        values.update(
            {group: ", ".join(found_values) for group, found_values in captured.items() if found_values}
        )
        found.append(
            HintMatch(
                name=hint.name,
                title=hint.title.format_map(values),
                fix=hint.fix.format_map(values),
                evidence=truncate(matches[0].string.strip()),
            )
        )
    return tuple(found)


# --- explanation, link, report -----------------------------------------------------------------------


class FailureExplanation(BaseModel):
    model_config = ConfigDict(frozen=True)

    phase: str
    phase_status: str | None
    phase_context: tuple[str, ...]
    log_lines: tuple[str, ...]
    logs_unavailable_reason: str | None
    deep_link: str | None
    hints: tuple[HintMatch, ...]


class BuildLink(BaseModel):
    """The image a build pushed: `digest` threads it into its release, `tag` lets a push find it."""

    model_config = ConfigDict(frozen=True)

    repository: str
    digest: str | None = None
    tag: str | None = None


class BuildReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    build_id: str
    project: str
    status: str
    phase: str | None
    explanation: FailureExplanation | None
    link: BuildLink | None
    notice: Notice


class ImageReference(BaseModel):
    model_config = ConfigDict(frozen=True)

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None


def parse_image_uri(uri: str) -> ImageReference | None:
    """Split `registry/repository[:tag][@digest]`; hand-written because no library the layer ships
    parses image references."""
    remainder, _, digest = uri.strip().partition("@")
    first, slash, rest = remainder.partition("/")
    registry: str | None = None
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, remainder = first, rest
    name, colon, tag = remainder.rpartition(":")
    if not colon or "/" in tag:
        name, tag = remainder, ""
    if not name:
        return None
    return ImageReference(registry=registry, repository=name, tag=tag or None, digest=digest or None)


def _digest_only(value: str | None) -> str | None:
    # `docker inspect` RepoDigests give `repo@sha256:...`; a bare digest is accepted as it is.
    if not value:
        return None
    return value.rpartition("@")[2].strip() or None


def link_build(
    image_uri: str | None, image_digest: str | None, resolved_source_version: str | None
) -> BuildLink | None:
    """The image a succeeded build pushed, from its exports; None when IMAGE_URI was not exported."""
    reference = parse_image_uri(image_uri) if image_uri else None
    if reference is None:
        return None
    digest = _digest_only(image_digest) or reference.digest
    tag = reference.tag
    if tag is None and resolved_source_version and _COMMIT_SHA.fullmatch(resolved_source_version):
        # Convention: an image exported without a tag is tagged with the commit it was built from.
        tag = resolved_source_version
    return BuildLink(repository=reference.repository, digest=digest, tag=tag)


def build_thread_key(project: str, build_id: str, source_version: str | None, link: BuildLink | None) -> str:
    if link is not None and link.digest:
        return release_id(link.repository, link.digest)
    return f"build:{project}:{source_version or build_id}"


def failing_phase(phases: Sequence[CodeBuildPhase], current_phase: str | None) -> CodeBuildPhase | None:
    """The first phase that did not succeed; else the current phase as the event lists it."""
    failed = next((p for p in phases if p.phase_status in FAILING_PHASE_STATUSES), None)
    if failed is not None:
        return failed
    return next((p for p in phases if p.phase_type == current_phase), None)


def logs_deep_link(logs: CodeBuildLogs | None, region: str) -> str | None:
    if logs is None:
        return None
    if logs.deep_link:
        return logs.deep_link
    if logs.group_name and logs.stream_name:
        return (
            f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logEvent:group={logs.group_name};stream={logs.stream_name}"
        )
    return None


def console_build_url(build_id: str, region: str, account: str) -> str | None:
    """The build's page in the CodeBuild console, from its ARN (or `project:uuid` id)."""
    resource = build_id.split(":build/", 1)[1] if ":build/" in build_id else build_id
    project, colon, _ = resource.partition(":")
    if not colon:
        return None
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codebuild/{account}/projects/{quote(project)}"
        f"/build/{quote(resource, safe='')}/?region={region}"
    )


def log_location(logs: CodeBuildLogs | None) -> tuple[str, str] | None:
    if logs is None or not logs.group_name or not logs.stream_name:
        return None
    return logs.group_name, logs.stream_name


NO_LOG_STREAM_REASON = (
    "the event names no log stream: the build ended before its logs were created, "
    "or the project does not send logs to CloudWatch Logs"
)

LOGS_NOT_READ_REASON = "the log stream was not read"


def truncate(line: str, width: int = DETAIL_WIDTH) -> str:
    line = line.rstrip()
    return line if len(line) <= width else line[: width - 1] + "…"


def explain_failure(event: CodeBuildStateEvent, tail: LogTail, *, max_lines: int) -> FailureExplanation:
    detail = event.detail
    info = detail.additional_information
    phase = failing_phase(info.phases, detail.current_phase)
    context_lines = tuple(line for line in (phase.phase_context if phase else []) if line.strip())
    log_lines = tail.lines[-max_lines:] if max_lines > 0 else ()
    template_context = {"region": event.region, "account": event.account, "project": detail.project_name}
    return FailureExplanation(
        phase=phase.phase_type if phase else (detail.current_phase or "UNKNOWN"),
        phase_status=phase.phase_status if phase else None,
        phase_context=context_lines,
        log_lines=log_lines,
        logs_unavailable_reason=tail.unavailable_reason,
        deep_link=logs_deep_link(info.logs, event.region),
        hints=match_hints((*context_lines, *log_lines), template_context),
    )


def build_label(project: str, build_id: str, build_number: int | None) -> str:
    if build_number is not None:
        return f"{project} #{build_number}"
    return f"{project} {build_id.rpartition(':')[2][:8]}"


def _links(event: CodeBuildStateEvent | CodeBuildPhaseEvent) -> tuple[Link, ...]:
    detail = event.detail
    links: list[Link] = []
    deep_link = logs_deep_link(detail.additional_information.logs, event.region)
    if deep_link:
        links.append(Link(label="Build logs", url=deep_link))
    console = console_build_url(detail.build_id, event.region, event.account)
    if console:
        links.append(Link(label="Build in CodeBuild", url=console))
    return tuple(links)


def _quoted_details(explanation: FailureExplanation, max_lines: int) -> tuple[str, ...]:
    lines = (*explanation.phase_context, *explanation.log_lines)
    return tuple(truncate(line) for line in lines[-max_lines:]) if max_lines > 0 else ()


def _failure_summary(label: str, verb: str, explanation: FailureExplanation) -> str:
    status = f" ({explanation.phase_status})" if explanation.phase_status else ""
    parts = [f"{label} {verb} in phase {explanation.phase}{status}."]
    if explanation.hints:
        parts.append(explanation.hints[0].title + ".")
    elif explanation.phase_context:
        parts.append(truncate(explanation.phase_context[0]))
    if explanation.logs_unavailable_reason:
        where = " Open the logs from the link." if explanation.deep_link else ""
        parts.append(f"Logs unavailable: {explanation.logs_unavailable_reason}.{where}")
    return " ".join(parts)


def build_report(
    event: CodeBuildStateEvent,
    extras: BuildEventExtras,
    *,
    tail: LogTail | None = None,
    facts: BuildFacts | None = None,
    max_lines: int = 20,
) -> BuildReport:
    """The report of one build state change: FAILED/STOPPED explained, SUCCEEDED linked to its image."""
    detail = event.detail
    info = detail.additional_information
    status = detail.build_status
    number = (
        extras.build_number if extras.build_number is not None else (facts.build_number if facts else None)
    )
    label = build_label(detail.project_name, detail.build_id, number)
    explanation: FailureExplanation | None = None
    link: BuildLink | None = None
    release: ReleaseHeadline | None = None
    next_step: str | None = None
    details: tuple[str, ...] = ()
    phase = detail.current_phase

    if status in {"FAILED", "STOPPED"}:
        log_tail = tail or LogTail(
            unavailable_reason=LOGS_NOT_READ_REASON if log_location(info.logs) else NO_LOG_STREAM_REASON
        )
        explanation = explain_failure(event, log_tail, max_lines=max_lines)
        phase = explanation.phase
        verb = "failed" if status == "FAILED" else "was stopped"
        summary = _failure_summary(label, verb, explanation)
        next_step = explanation.hints[0].fix if explanation.hints else None
        details = _quoted_details(explanation, max_lines)
        title = f"Build {'failed' if status == 'FAILED' else 'stopped'} in {phase}: {label}"
    elif status == "SUCCEEDED":
        link = link_build(
            extras.exported("IMAGE_URI") or (facts.image_uri if facts else None),
            extras.exported("IMAGE_DIGEST") or (facts.image_digest if facts else None),
            (facts.resolved_source_version if facts else None) or info.source_version,
        )
        title = f"Build succeeded: {label}"
        summary = f"{label} succeeded."
        if link is None:
            summary += " It exported no IMAGE_URI, so it is not linked to an image."
        else:
            image = link.repository + (f":{link.tag}" if link.tag else "")
            summary += f" It pushed {image}" + (f" ({link.digest})." if link.digest else ".")
            if link.digest:
                release = ReleaseHeadline(
                    release_id=release_id(link.repository, link.digest),
                    repository=link.repository,
                    tag=link.tag,
                    digest=link.digest,
                    stage="built",
                )
    else:
        title = f"Build started: {label}"
        summary = f"{label} started" + (f" for {info.source_version}" if info.source_version else "") + "."

    kind, severity = _KIND_AND_SEVERITY[status]
    notice = Notice(
        kind=kind,
        severity=severity,
        title=title,
        summary=summary,
        next_step=next_step,
        details=details,
        links=_links(event),
        release=release,
        thread_key=build_thread_key(detail.project_name, detail.build_id, info.source_version, link),
        dedupe_key=f"{detail.build_id}:{status}",
        occurred_at=event.time.isoformat(),
    )
    return BuildReport(
        build_id=detail.build_id,
        project=detail.project_name,
        status=status,
        phase=phase,
        explanation=explanation,
        link=link,
        notice=notice,
    )


_KIND_AND_SEVERITY: Mapping[BuildStatus, tuple[NoticeKind, Severity]] = {
    "IN_PROGRESS": (NoticeKind.BUILD_STARTED, Severity.INFO),
    "SUCCEEDED": (NoticeKind.BUILD_SUCCEEDED, Severity.SUCCESS),
    "FAILED": (NoticeKind.BUILD_FAILED, Severity.FAILURE),
    "STOPPED": (NoticeKind.BUILD_STOPPED, Severity.WARNING),
}


def phase_report(
    event: CodeBuildPhaseEvent, extras: BuildEventExtras, *, max_lines: int = 20
) -> BuildReport | None:
    """A short progress notice for a phase that failed; None for every other phase change."""
    detail = event.detail
    status = detail.completed_phase_status
    if status is None or status not in PHASE_NOTICE_STATUSES:
        return None
    info = detail.additional_information
    phase = next((p for p in info.phases if p.phase_type == detail.completed_phase), None)
    context_lines = tuple(line for line in (phase.phase_context if phase else []) if line.strip())
    hints = match_hints(
        context_lines, {"region": event.region, "account": event.account, "project": detail.project_name}
    )
    label = build_label(detail.project_name, detail.build_id, extras.build_number)
    summary = f"Phase {detail.completed_phase} of {label} ended {status}."
    if hints:
        summary += f" {hints[0].title}."
    elif context_lines:
        summary += f" {truncate(context_lines[0])}"
    notice = Notice(
        kind=NoticeKind.BUILD_FAILED,
        # The build's own FAILED state change carries the failure; this is progress on the way.
        severity=Severity.WARNING,
        title=f"Phase {detail.completed_phase} failed: {label}",
        summary=summary,
        next_step=hints[0].fix if hints else None,
        details=tuple(truncate(line) for line in context_lines[:max_lines]),
        links=_links(event),
        thread_key=build_thread_key(detail.project_name, detail.build_id, info.source_version, None),
        dedupe_key=f"{detail.build_id}:phase:{detail.completed_phase}",
        occurred_at=event.time.isoformat(),
    )
    return BuildReport(
        build_id=detail.build_id,
        project=detail.project_name,
        status=status,
        phase=detail.completed_phase,
        explanation=None,
        link=None,
        notice=notice,
    )


# --- one event, end to end, through injected ports ---------------------------------------------------


class LogSource(Protocol):
    def tail(self, group: str, stream: str, lines: int = 20) -> LogTail: ...


class BuildFactsSource(Protocol):
    def build_facts(self, build_id: str) -> BuildFacts | None: ...


class NoticeSink(Protocol):
    def publish(self, notice: Notice) -> None: ...


def needs_build_facts(event: CodeBuildStateEvent, extras: BuildEventExtras) -> bool:
    """One `batch_get_builds` call, for succeeded builds whose event lacks the image exports."""
    if event.detail.build_status != "SUCCEEDED":
        return False
    return not (extras.exported("IMAGE_URI") and extras.exported("IMAGE_DIGEST"))


def handle_build_event(
    event: CodeBuildStateEvent | CodeBuildPhaseEvent,
    extras: BuildEventExtras,
    *,
    logs: LogSource,
    builds: BuildFactsSource,
    notices: NoticeSink,
    log_lines: int = 20,
) -> HandlerOutcome:
    if isinstance(event, CodeBuildPhaseEvent):
        report = phase_report(event, extras, max_lines=log_lines)
        if report is None:
            return HandlerOutcome(
                event_id=event.id,
                status="ignored",
                detail={
                    "build_id": event.detail.build_id,
                    "project": event.detail.project_name,
                    "phase": event.detail.completed_phase,
                    "phase_status": event.detail.completed_phase_status,
                },
            )
        notices.publish(report.notice)
        return _handled(event.id, report, {})

    extra_detail: dict[str, str] = {}
    tail: LogTail | None = None
    if event.detail.build_status in {"FAILED", "STOPPED"}:
        location = log_location(event.detail.additional_information.logs)
        tail = (
            logs.tail(*location, lines=log_lines)
            if location
            else LogTail(unavailable_reason=NO_LOG_STREAM_REASON)
        )
    facts: BuildFacts | None = None
    if needs_build_facts(event, extras):
        try:
            facts = builds.build_facts(event.detail.build_id)
        except AccessDeniedError as exc:
            # The notice matters more than the link: report the build, say why it is not linked.
            extra_detail["link_unavailable"] = str(exc)
    report = build_report(event, extras, tail=tail, facts=facts, max_lines=log_lines)
    notices.publish(report.notice)
    return _handled(event.id, report, extra_detail)


def _handled(event_id: str, report: BuildReport, extra: Mapping[str, str]) -> HandlerOutcome:
    explanation = report.explanation
    detail: dict[str, object] = {
        "build_id": report.build_id,
        "project": report.project,
        "status": report.status,
        "phase": report.phase,
        "notice_kind": report.notice.kind.value,
        "thread_key": report.notice.thread_key,
        "hints": [hint.name for hint in explanation.hints] if explanation else [],
        "logs_unavailable": explanation.logs_unavailable_reason if explanation else None,
        "link": report.link.model_dump() if report.link else None,
        **extra,
    }
    return HandlerOutcome(event_id=event_id, status="handled", detail=detail)
