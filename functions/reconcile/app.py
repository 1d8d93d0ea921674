"""Scheduled safety net: refresh the service index, recover lost outcomes, start pending deployments,
move promotions' bakes on, reconcile custom-domain DNS, deploy ECR Public tags that moved. pushpilot's own
Release Live events start bakes. ACM's certificate events (issued, approaching expiration, renewal action
required) run the DNS reconcile at once.

It also backs the stack's `ServiceIndexFill` custom resource: at stack creation (and when an update
changes what it reaches) it fills the service index, so services that ran before the install are known
to the first push instead of after the first scheduled refresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, TypeAdapter

from pushpilot.adapters.stack_response import answer_stack
from pushpilot.core.errors import PushpilotError
from pushpilot.entry.handling import parse_event, run_guarded
from pushpilot.entry.settings import CoreSettings
from pushpilot.entry.wiring import deploy_ports, public_image_check, reconcile_dns
from pushpilot.events.acm import AcmCertificateEvent
from pushpilot.events.pushpilot import PushpilotReleaseEvent
from pushpilot.flows.index_fill import discover
from pushpilot.flows.promote import advance_bakes, on_release_event
from pushpilot.flows.refresh import refresh
from pushpilot.flows.results import FlowResult, handled

logger = Logger()
metrics = Metrics()


class ScheduledTask(BaseModel):
    task: Literal["refresh", "dns", "public-images"]


_TASK = TypeAdapter(ScheduledTask)
_ACM_EVENT = TypeAdapter(AcmCertificateEvent)
_RELEASE_EVENT = TypeAdapter(PushpilotReleaseEvent)
type _StackRequest = (
    CloudFormationCustomResourceCreateModel
    | CloudFormationCustomResourceUpdateModel
    | CloudFormationCustomResourceDeleteModel
)
_STACK_REQUEST: TypeAdapter[_StackRequest] = TypeAdapter(
    Annotated[_StackRequest, Field(discriminator="request_type")]
)


def _fill_index(event: dict[str, Any], context: LambdaContext) -> FlowResult:
    """The `ServiceIndexFill` custom resource. CloudFormation is answered SUCCESS first, whatever
    follows: the answer is one PUT bounded by its timeout, and the fill runs after it, so nothing the
    fill meets (a denied or throttled listing, a slow account with many services) can fail, roll back or
    hang the stack. A fill that fails or does not finish leaves the index unmarked: the first push
    discovers before deciding, and the scheduled refresh fills it too."""
    request = parse_event(_STACK_REQUEST, event)
    physical_id = getattr(request, "physical_resource_id", None) or f"{request.logical_resource_id}-filled"
    answered = True
    try:
        answer_stack(
            request, status="SUCCESS", physical_id=physical_id, reason="the service index is filled next"
        )
    except PushpilotError as exc:
        # Nothing more can be told to CloudFormation; its ServiceTimeout bounds the wait.
        answered = False
        logger.warning("could not answer CloudFormation", extra={"error": str(exc)})
        metrics.add_metric(name="StackAnswerFailed", unit=MetricUnit.Count, value=1)
    if request.request_type == "Delete":
        return handled(request.request_id, {"request": "Delete", "answered": answered})
    try:
        described = discover(deploy_ports(CoreSettings.from_env(), context=context))
    except PushpilotError as exc:
        logger.warning("the service index was not filled at stack creation", extra={"error": str(exc)})
        metrics.add_metric(name="ServiceIndexFillFailed", unit=MetricUnit.Count, value=1)
        return FlowResult(
            event_id=request.request_id,
            status="handled",
            detail={"answered": answered, "filled": False, "error": str(exc)},
        )
    return FlowResult(
        event_id=request.request_id,
        status="handled",
        detail={
            "request": request.request_type,
            "answered": answered,
            "filled": True,
            "services": len(described),
        },
    )


def _refresh(context: LambdaContext) -> dict[str, Any]:
    from pushpilot.flows.approve import expire_overdue
    from pushpilot.flows.hooks import follow_continued
    from pushpilot.targets.ecs.hook_control import EcsHookControl

    settings = CoreSettings.from_env()
    ports = deploy_ports(settings, context=context)
    detail = refresh(ports, stuck_after=timedelta(minutes=settings.stuck_after_minutes))
    # The bake clock of promotions runs on the same schedule, after the index is current; releases waiting
    # for approval past their deadline are told expired without waiting for a click; deployments continued
    # past a pause are followed through their stages and bake.
    return (
        detail
        | advance_bakes(ports)
        | {
            "approvals_expired": expire_overdue(ports),
            "continued": follow_continued(ports, EcsHookControl()),
        }
    )


def _run(event: dict[str, Any], context: LambdaContext) -> FlowResult:
    if "ResponseURL" in event and "RequestType" in event:
        return _fill_index(event, context)
    if event.get("source") == "aws.acm":
        certificate = parse_event(_ACM_EVENT, event)
        return handled(certificate.id, reconcile_dns(event=certificate))
    if event.get("source") == "pushpilot":
        release = parse_event(_RELEASE_EVENT, event)
        return handled(release.id, on_release_event(release, deploy_ports(context=context)))
    task = parse_event(_TASK, event).task
    if task == "refresh":
        return handled(task, _refresh(context))
    if task == "public-images":
        detail = public_image_check(context)
        for error in detail["errors"]:
            # One failing tag does not fail the run (the next run checks it again), so it is told here.
            logger.warning("public image check failed", extra=error)
        if detail["errors"]:
            metrics.add_metric(
                name="PublicImageCheckErrors", unit=MetricUnit.Count, value=len(detail["errors"])
            )
        return handled(task, detail)
    return handled(task, reconcile_dns())


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_guarded(event, lambda: _run(event, context), logger=logger, metrics=metrics)
