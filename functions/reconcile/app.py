"""Scheduled safety net: refresh the service index, recover lost outcomes, start pending deployments,
move promotions' bakes on, reconcile custom-domain DNS, deploy ECR Public tags that moved. pushpilot's own
Release Live events start bakes. ACM's certificate events (issued,
approaching expiration, renewal action required) run the DNS reconcile at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, TypeAdapter

from pushpilot.entry.handling import HandlerOutcome, parse_event, run_guarded
from pushpilot.entry.settings import CoreSettings
from pushpilot.entry.wiring import deploy_ports, public_image_check, reconcile_dns
from pushpilot.events.acm import AcmCertificateEvent
from pushpilot.events.pushpilot import PushpilotReleaseEvent
from pushpilot.flows.promote import advance_bakes, on_release_event
from pushpilot.flows.refresh import refresh

logger = Logger()
metrics = Metrics()


class ScheduledTask(BaseModel):
    task: Literal["refresh", "dns", "public-images"]


_TASK = TypeAdapter(ScheduledTask)
_ACM_EVENT = TypeAdapter(AcmCertificateEvent)
_RELEASE_EVENT = TypeAdapter(PushpilotReleaseEvent)


def _refresh(context: LambdaContext) -> dict[str, Any]:
    settings = CoreSettings.from_env()
    ports = deploy_ports(settings, context=context)
    detail = refresh(ports, stuck_after=timedelta(minutes=settings.stuck_after_minutes))
    # The bake clock of promotions runs on the same schedule, after the index is current.
    return detail | advance_bakes(ports)


def _run(event: dict[str, Any], context: LambdaContext) -> HandlerOutcome:
    if event.get("source") == "aws.acm":
        certificate = parse_event(_ACM_EVENT, event)
        return HandlerOutcome(
            event_id=certificate.id, status="handled", detail=reconcile_dns(event=certificate)
        )
    if event.get("source") == "pushpilot":
        release = parse_event(_RELEASE_EVENT, event)
        return HandlerOutcome(
            event_id=release.id,
            status="handled",
            detail=on_release_event(release, deploy_ports(context=context)),
        )
    task = parse_event(_TASK, event).task
    if task == "refresh":
        return HandlerOutcome(event_id=task, status="handled", detail=_refresh(context))
    if task == "public-images":
        detail = public_image_check(context)
        for error in detail["errors"]:
            # One failing tag does not fail the run (the next run checks it again), so it is told here.
            logger.warning("public image check failed", extra=error)
        if detail["errors"]:
            metrics.add_metric(
                name="PublicImageCheckErrors", unit=MetricUnit.Count, value=len(detail["errors"])
            )
        return HandlerOutcome(event_id=task, status="handled", detail=detail)
    return HandlerOutcome(event_id=task, status="handled", detail=reconcile_dns())


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(event, lambda: _run(event, context), logger=logger, metrics=metrics)
