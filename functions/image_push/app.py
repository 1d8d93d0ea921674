"""ECR image pushed → judge its platform once per platform its services need → deploy it once to each."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from pushpilot.entry.handling import parse_event, run_guarded
from pushpilot.entry.wiring import deploy_ports
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.push import handle_push

logger = Logger()
metrics = Metrics()
_EVENT = TypeAdapter(EcrImageActionEvent)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(
        event,
        lambda: handle_push(parse_event(_EVENT, event), deploy_ports(context=context)),
        logger=logger,
        metrics=metrics,
    )
