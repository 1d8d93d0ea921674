"""Scheduled safety net: refresh the service index, recover lost outcomes, start pending deployments,
reconcile custom-domain DNS."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, TypeAdapter

from pushpilot.handling import HandlerOutcome, parse_event, run_guarded
from pushpilot.rollout import refresh
from pushpilot.wiring import deploy_ports, reconcile_dns

logger = Logger()
metrics = Metrics()


class ScheduledTask(BaseModel):
    task: Literal["refresh", "dns"]


_TASK = TypeAdapter(ScheduledTask)


def _run(event: dict[str, Any]) -> HandlerOutcome:
    task = parse_event(_TASK, event).task
    if task == "refresh":
        return HandlerOutcome(event_id=task, status="handled", detail=refresh(deploy_ports()))
    return HandlerOutcome(event_id=task, status="handled", detail=reconcile_dns())


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(event, lambda: _run(event), logger=logger, metrics=metrics)
