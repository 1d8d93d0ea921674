"""App Runner events, normalised at this edge → true outcomes, a current service index, domain checks."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from pushpilot.entry.handling import parse_event, run_guarded
from pushpilot.entry.wiring import deploy_ports, reconcile_dns
from pushpilot.flows.outcome import handle_operation_ended, handle_service_changed
from pushpilot.flows.results import FlowResult, handled
from pushpilot.targets.apprunner.events import (
    AppRunnerCustomDomainEvent,
    AppRunnerEvent,
    AppRunnerOperationEvent,
    AppRunnerServiceStatusEvent,
)

logger = Logger()
metrics = Metrics()
_EVENT: TypeAdapter[AppRunnerEvent] = TypeAdapter(AppRunnerEvent)


def _dispatch(event: dict[str, Any], context: LambdaContext) -> FlowResult:
    parsed = parse_event(_EVENT, event)
    match parsed:
        case AppRunnerOperationEvent():
            return handle_operation_ended(parsed.to_domain(), deploy_ports(context=context))
        case AppRunnerServiceStatusEvent():
            return handle_service_changed(parsed.to_domain(), deploy_ports(context=context))
        case AppRunnerCustomDomainEvent():
            detail = reconcile_dns(service=parsed.service_arn or parsed.detail.service_name, event=parsed)
            return handled(parsed.id, detail)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(event, lambda: _dispatch(event, context), logger=logger, metrics=metrics)
