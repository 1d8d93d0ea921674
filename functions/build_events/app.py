"""CodeBuild build and phase changes → a build notice on the notice queue (failures explained)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from pushpilot.adapters.codebuild import BuildLookup
from pushpilot.adapters.logs import BuildLogs
from pushpilot.adapters.notice_queue import NoticeQueue
from pushpilot.core.build_report import BuildEventExtras
from pushpilot.entry.handling import parse_event, run_guarded
from pushpilot.entry.settings import BuildSettings, CoreSettings
from pushpilot.events.codebuild import CodeBuildEnvironmentValues, CodeBuildEvent, CodeBuildStateEvent
from pushpilot.flows.builds import handle_build_event
from pushpilot.flows.results import FlowResult

logger = Logger()
metrics = Metrics()

_EVENT: TypeAdapter[CodeBuildEvent] = TypeAdapter(CodeBuildEvent)
_EXTRAS: TypeAdapter[BuildEventExtras] = TypeAdapter(BuildEventExtras)
_ENVIRONMENT: TypeAdapter[CodeBuildEnvironmentValues] = TypeAdapter(CodeBuildEnvironmentValues)


@cache
def _build_logs() -> BuildLogs:
    return BuildLogs()


@cache
def _build_lookup() -> BuildLookup:
    return BuildLookup()


@cache
def _notice_queue(queue_url: str) -> NoticeQueue:
    return NoticeQueue(queue_url)


def _handle(event: dict[str, Any]) -> FlowResult:
    core = CoreSettings.from_env()
    settings = BuildSettings.from_env()
    build_event = parse_event(_EVENT, event)
    extras = parse_event(_EXTRAS, event)
    # The build's PLAINTEXT values mask its log lines; they are read here and go nowhere else.
    secrets = parse_event(_ENVIRONMENT, event).secrets()
    if isinstance(build_event, CodeBuildStateEvent):
        status: str | None = build_event.detail.build_status
    else:
        status = build_event.detail.completed_phase_status
    # Only these three: the event's environment variables may hold secrets.
    logger.append_keys(
        build_id=build_event.detail.build_id, project=build_event.detail.project_name, status=status
    )
    outcome = handle_build_event(
        build_event,
        extras,
        logs=_build_logs(),
        builds=_build_lookup(),
        notices=_notice_queue(core.notice_queue_url),
        log_lines=settings.log_lines,
        secrets=secrets,
    )
    metric = "BuildNoticesQueued" if outcome.status == "handled" else "BuildEventsIgnored"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info("build event handled", extra={"outcome": outcome.status})
    return outcome


# log_event=False explicitly: POWERTOOLS_LOGGER_LOG_EVENT must never log build environment variables.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(event, lambda: _handle(event), logger=logger, metrics=metrics)
