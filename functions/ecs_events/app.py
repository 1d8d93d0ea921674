"""ECS deployment events, normalised at this edge → the true outcome of deployments, a current index;
ECS hook events → a paused deployment asks for Continue / Roll back in its thread."""

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
from pushpilot.targets.ecs.hook_control import EcsHookControl
from pushpilot.targets.ecs.hook_events import AWAITING, EcsHookStateChange

logger = Logger()
metrics = Metrics()
_EVENT = TypeAdapter(EcsDeploymentStateChange)
_HOOK = TypeAdapter(EcsHookStateChange)


def _hook(event: dict[str, Any], context: LambdaContext) -> FlowResult:
    """A PAUSE hook waiting for Continue / Roll back, or one that timed out."""
    from pushpilot.flows.hooks import hook_paused, hook_timed_out

    parsed = parse_event(_HOOK, event)
    ports = deploy_ports(context=context)
    pause = parsed.pause()
    if parsed.timed_out:
        detail = hook_timed_out(ports, service_arn=parsed.service_arn, pause=pause)
    elif parsed.detail.event_name == AWAITING and parsed.detail.target_type == "PAUSE":
        detail = hook_paused(
            ports,
            event_id=parsed.id,
            service_arn=parsed.service_arn,
            pause=pause,
            expires_at=parsed.detail.expires_at,
            control=EcsHookControl(),
        )
    else:
        return FlowResult(
            event_id=parsed.id,
            status="ignored",
            detail={
                "reason": f"{parsed.detail.event_name} of a {parsed.detail.target_type} hook needs nothing"
            },
        )
    return FlowResult(event_id=parsed.id, status="handled", detail=detail)


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
    if event.get("detail-type") == "ECS Hook State Change":
        return run_guarded(event, lambda: _hook(event, context), logger=logger, metrics=metrics)
    return run_guarded(event, lambda: _dispatch(event, context), logger=logger, metrics=metrics)
