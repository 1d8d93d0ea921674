"""ECS deployment events, normalised at this edge → the true outcome of deployments, a current index."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from pushpilot.entry.handling import parse_event, run_guarded
from pushpilot.entry.wiring import deploy_ports
from pushpilot.flows.outcome import handle_operation_ended, handle_service_changed
from pushpilot.flows.results import FlowResult, is_skip
from pushpilot.targets.ecs.events import EcsDeploymentStateChange

logger = Logger()
metrics = Metrics()
_EVENT = TypeAdapter(EcsDeploymentStateChange)


def _dispatch(event: dict[str, Any], context: LambdaContext) -> FlowResult:
    parsed = parse_event(_EVENT, event)
    ports = deploy_ports(context=context)
    outcome = handle_operation_ended(parsed.to_domain(), ports)
    index = handle_service_changed(parsed.service_changed(), ports)
    skip = next((result for result in (outcome, index) if is_skip(result)), None)
    if skip is not None:
        # Outside EcsClusters, or deleted since the event was sent: one skip, logged and counted once by
        # the handler's edge, whichever of the two flows met it.
        return skip.model_copy(update={"detail": {**outcome.detail, **index.detail, **skip.detail}})
    return outcome.model_copy(update={"detail": {**outcome.detail, "index": index.detail.get("index")}})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(event, lambda: _dispatch(event, context), logger=logger, metrics=metrics)
