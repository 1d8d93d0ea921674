"""A CodeBuild build or phase change, end to end: read what the report needs through injected ports,
compose the report (`pushpilot.core.build_report`) and publish its notice. No I/O of its own.

The event's PLAINTEXT environment values arrive as `SecretValues` and mask every log line before the
report is composed; they are never logged and never leave this call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pushpilot.core.build_report import (
    NO_LOG_STREAM_REASON,
    BuildEventExtras,
    BuildFacts,
    BuildReport,
    LogTail,
    build_report,
    log_location,
    needs_build_facts,
    phase_report,
)
from pushpilot.core.errors import AccessDeniedError
from pushpilot.core.notices import Notice
from pushpilot.core.redaction import NO_SECRETS, SecretValues
from pushpilot.events.codebuild import CodeBuildPhaseEvent, CodeBuildStateEvent
from pushpilot.flows.results import FlowResult

# --- one event, end to end, through injected ports ---------------------------------------------------


class LogSource(Protocol):
    def tail(self, group: str, stream: str, lines: int = 20) -> LogTail: ...


class BuildFactsSource(Protocol):
    def build_facts(self, build_id: str) -> BuildFacts | None: ...


class NoticeSink(Protocol):
    def publish(self, notice: Notice) -> None: ...


def handle_build_event(
    event: CodeBuildStateEvent | CodeBuildPhaseEvent,
    extras: BuildEventExtras,
    *,
    logs: LogSource,
    builds: BuildFactsSource,
    notices: NoticeSink,
    log_lines: int = 20,
    secrets: SecretValues = NO_SECRETS,
) -> FlowResult:
    if isinstance(event, CodeBuildPhaseEvent):
        phase_change = event.to_core()
        report = phase_report(phase_change, extras, max_lines=log_lines, secrets=secrets)
        if report is None:
            return FlowResult(
                event_id=event.id,
                status="ignored",
                detail={
                    "build_id": phase_change.build_id,
                    "project": phase_change.project_name,
                    "phase": phase_change.completed_phase,
                    "phase_status": phase_change.completed_phase_status,
                },
            )
        notices.publish(report.notice)
        return _handled(event.id, report, {})

    change = event.to_core()
    extra_detail: dict[str, str] = {}
    tail: LogTail | None = None
    if change.build_status in {"FAILED", "STOPPED"}:
        location = log_location(change.info.logs)
        tail = (
            logs.tail(*location, lines=log_lines)
            if location
            else LogTail(unavailable_reason=NO_LOG_STREAM_REASON)
        )
    facts: BuildFacts | None = None
    if needs_build_facts(change, extras):
        try:
            facts = builds.build_facts(change.build_id)
        except AccessDeniedError as exc:
            # The notice matters more than the link: report the build, say why it is not linked.
            extra_detail["link_unavailable"] = str(exc)
    report = build_report(change, extras, tail=tail, facts=facts, max_lines=log_lines, secrets=secrets)
    notices.publish(report.notice)
    return _handled(event.id, report, extra_detail)


def _handled(event_id: str, report: BuildReport, extra: Mapping[str, str]) -> FlowResult:
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
    return FlowResult(event_id=event_id, status="handled", detail=detail)
