"""CodeBuild builds in the release story: progress notices, and failures explained from their logs.

Everything here is a value computed from a parsed event plus what the adapters read (a log tail, the
build's exported image variables), so the same report is printed in a dry run and asserted in tests.

Build environment variables may hold secrets: `pushpilot.events` drops them at parse time, keeping only
the PLAINTEXT values as `SecretValues`, which mask the log lines and phase context here before any
line is matched, quoted or summarised. The extras parsed here keep only `IMAGE_URI` and `IMAGE_DIGEST`
from the exported variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpilot.core.build_hints import HintMatch, match_hints
from pushpilot.core.message_limits import BUILD_LOG_LINE_WIDTH
from pushpilot.core.notices import Link, Notice, NoticeKind, ReleaseHeadline, Severity, release_id
from pushpilot.core.plain_text import clip, strip_terminal
from pushpilot.core.redaction import NO_SECRETS, SecretValues

BuildStatus = Literal["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"]

IMAGE_EXPORT_NAMES: frozenset[str] = frozenset({"IMAGE_URI", "IMAGE_DIGEST"})
"""The only exported variables pushpilot ever reads; every other name is discarded unread."""

FAILING_PHASE_STATUSES: frozenset[str] = frozenset(
    {"FAILED", "FAULT", "TIMED_OUT", "CLIENT_ERROR", "STOPPED"}
)
# A stopped phase is reported by the STOPPED build state that follows it, not as a phase notice.
PHASE_NOTICE_STATUSES: frozenset[str] = FAILING_PHASE_STATUSES - {"STOPPED"}

_COMMIT_SHA = re.compile(r"[0-9a-f]{7,64}")


# --- the build as the report sees it: the event models (pushpilot.events.codebuild) convert into these --


class BuildLogLocation(BaseModel):
    """Where the build's log stream lives."""

    model_config = ConfigDict(frozen=True)

    group_name: str | None = None
    stream_name: str | None = None
    deep_link: str | None = None


class BuildPhase(BaseModel):
    model_config = ConfigDict(frozen=True)

    phase_type: str
    phase_status: str | None = None
    phase_context: tuple[str, ...] = ()
    duration_in_seconds: float | None = None


class BuildInformation(BaseModel):
    """What every build event carries beside its status; the environment is never part of it."""

    model_config = ConfigDict(frozen=True)

    logs: BuildLogLocation | None = None
    phases: tuple[BuildPhase, ...] = ()
    source_version: str | None = None


class BuildStateChange(BaseModel):
    """A build entered a state: started, succeeded, failed or stopped."""

    model_config = ConfigDict(frozen=True)

    id: str
    region: str
    account: str
    time: datetime
    build_status: BuildStatus
    project_name: str
    build_id: str
    current_phase: str | None = None
    info: BuildInformation = BuildInformation()


class BuildPhaseChange(BaseModel):
    """A build finished one phase, in whatever status."""

    model_config = ConfigDict(frozen=True)

    id: str
    region: str
    account: str
    time: datetime
    completed_phase: str
    completed_phase_status: str | None = None
    project_name: str
    build_id: str
    info: BuildInformation = BuildInformation()


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


def failing_phase(phases: Sequence[BuildPhase], current_phase: str | None) -> BuildPhase | None:
    """The first phase that did not succeed; else the current phase as the event lists it."""
    failed = next((p for p in phases if p.phase_status in FAILING_PHASE_STATUSES), None)
    if failed is not None:
        return failed
    return next((p for p in phases if p.phase_type == current_phase), None)


def _named(value: str | None) -> bool:
    # A build that has not started yet carries `null` (JSON null, or the word in its deep link).
    return bool(value) and value != "null"


def logs_deep_link(logs: BuildLogLocation | None, region: str) -> str | None:
    """The build's log in the CloudWatch console; None when the event names no log group and stream."""
    if log_location(logs) is None or logs is None:
        return None
    if logs.deep_link and "group=null" not in logs.deep_link:
        return logs.deep_link
    return (
        f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEvent:group={logs.group_name};stream={logs.stream_name}"
    )


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


def log_location(logs: BuildLogLocation | None) -> tuple[str, str] | None:
    if logs is None or logs.group_name is None or logs.stream_name is None:
        return None
    if not (_named(logs.group_name) and _named(logs.stream_name)):
        return None
    return logs.group_name, logs.stream_name


NO_LOG_STREAM_REASON = (
    "the event names no log stream: the build ended before its logs were created, "
    "or the project does not send logs to CloudWatch Logs"
)

LOGS_NOT_READ_REASON = "the log stream was not read"


def truncate(line: str, width: int = BUILD_LOG_LINE_WIDTH) -> str:
    """One quoted line: terminal escapes gone, cut at `width` with a note of what was left out."""
    return clip(strip_terminal(line).rstrip(), width)


def explain_failure(
    event: BuildStateChange, tail: LogTail, *, max_lines: int, secrets: SecretValues = NO_SECRETS
) -> FailureExplanation:
    """The build's secrets are masked in every line it keeps. Hints read the lines as the build wrote them
    (a masked account id would hide the role a fix must name), and what they say is masked in turn."""
    info = event.info
    phase = failing_phase(info.phases, event.current_phase)
    raw_context = tuple(line for line in (phase.phase_context if phase else []) if line.strip())
    raw_log = tail.lines[-max_lines:] if max_lines > 0 else ()
    template_context = {"region": event.region, "account": event.account, "project": event.project_name}
    return FailureExplanation(
        phase=phase.phase_type if phase else (event.current_phase or "UNKNOWN"),
        phase_status=phase.phase_status if phase else None,
        phase_context=secrets.mask_all(raw_context),
        log_lines=secrets.mask_all(raw_log),
        logs_unavailable_reason=tail.unavailable_reason,
        deep_link=logs_deep_link(info.logs, event.region),
        hints=match_hints((*raw_context, *raw_log), template_context, redact=secrets.mask),
    )


def build_label(project: str, build_id: str, build_number: int | None) -> str:
    if build_number is not None:
        return f"{project} #{build_number}"
    return f"{project} {build_id.rpartition(':')[2][:8]}"


def _links(event: BuildStateChange | BuildPhaseChange) -> tuple[Link, ...]:
    links: list[Link] = []
    deep_link = logs_deep_link(event.info.logs, event.region)
    if deep_link:
        links.append(Link(label="Build logs", url=deep_link))
    console = console_build_url(event.build_id, event.region, event.account)
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
    event: BuildStateChange,
    extras: BuildEventExtras,
    *,
    tail: LogTail | None = None,
    facts: BuildFacts | None = None,
    max_lines: int = 20,
    secrets: SecretValues = NO_SECRETS,
) -> BuildReport:
    """The report of one build state change: FAILED/STOPPED explained, SUCCEEDED linked to its image."""
    info = event.info
    status = event.build_status
    number = (
        extras.build_number if extras.build_number is not None else (facts.build_number if facts else None)
    )
    label = build_label(event.project_name, event.build_id, number)
    explanation: FailureExplanation | None = None
    link: BuildLink | None = None
    release: ReleaseHeadline | None = None
    next_step: str | None = None
    details: tuple[str, ...] = ()
    phase = event.current_phase

    if status in {"FAILED", "STOPPED"}:
        log_tail = tail or LogTail(
            unavailable_reason=LOGS_NOT_READ_REASON if log_location(info.logs) else NO_LOG_STREAM_REASON
        )
        explanation = explain_failure(event, log_tail, max_lines=max_lines, secrets=secrets)
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
        log_url=logs_deep_link(info.logs, event.region),
        release=release,
        thread_key=build_thread_key(event.project_name, event.build_id, info.source_version, link),
        dedupe_key=f"{event.build_id}:{status}",
        occurred_at=event.time.isoformat(),
    )
    return BuildReport(
        build_id=event.build_id,
        project=event.project_name,
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
    event: BuildPhaseChange,
    extras: BuildEventExtras,
    *,
    max_lines: int = 20,
    secrets: SecretValues = NO_SECRETS,
) -> BuildReport | None:
    """A short progress notice for a phase that failed; None for every other phase change."""
    status = event.completed_phase_status
    if status is None or status not in PHASE_NOTICE_STATUSES:
        return None
    info = event.info
    phase = next((p for p in info.phases if p.phase_type == event.completed_phase), None)
    raw_context = tuple(line for line in (phase.phase_context if phase else []) if line.strip())
    hints = match_hints(
        raw_context,
        {"region": event.region, "account": event.account, "project": event.project_name},
        redact=secrets.mask,
    )
    context_lines = secrets.mask_all(raw_context)
    label = build_label(event.project_name, event.build_id, extras.build_number)
    summary = f"Phase {event.completed_phase} of {label} ended {status}."
    if hints:
        summary += f" {hints[0].title}."
    elif context_lines:
        summary += f" {truncate(context_lines[0])}"
    notice = Notice(
        kind=NoticeKind.BUILD_FAILED,
        # The build's own FAILED state change carries the failure; this is progress on the way.
        severity=Severity.WARNING,
        title=f"Phase {event.completed_phase} failed: {label}",
        summary=summary,
        next_step=hints[0].fix if hints else None,
        details=tuple(truncate(line) for line in context_lines[:max_lines]),
        links=_links(event),
        log_url=logs_deep_link(info.logs, event.region),
        thread_key=build_thread_key(event.project_name, event.build_id, info.source_version, None),
        dedupe_key=f"{event.build_id}:phase:{event.completed_phase}",
        occurred_at=event.time.isoformat(),
    )
    return BuildReport(
        build_id=event.build_id,
        project=event.project_name,
        status=status,
        phase=event.completed_phase,
        explanation=None,
        link=None,
        notice=notice,
    )


def needs_build_facts(event: BuildStateChange, extras: BuildEventExtras) -> bool:
    """One `batch_get_builds` call, for succeeded builds whose event lacks the image exports."""
    if event.build_status != "SUCCEEDED":
        return False
    return not (extras.exported("IMAGE_URI") and extras.exported("IMAGE_DIGEST"))
