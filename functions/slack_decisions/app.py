"""Decisions from the request URL → done: an approved release deployed through the normal path (once per
service and digest, however often it is handed on), a paused ECS deployment continued or rolled back
(once per hook), an ephemeral answer posted to the person who clicked.
A body that is not a decision is logged with its message id, counted and dropped."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from pushpilot.adapters.slack_responses import SLACK_RESPONSE_PREFIX, SlackResponder
from pushpilot.core.errors import PermanentError
from pushpilot.core.slack_interaction import Decision
from pushpilot.entry.settings import EnvSettings
from pushpilot.entry.wiring import deploy_ports
from pushpilot.flows.slack_actions import run_decision
from pushpilot.targets.ecs.hook_control import EcsHookControl

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class DecisionSettings(EnvSettings):
    # Where ephemeral answers may be posted: Slack's response URLs.
    response_url_prefix: str = Field(default=SLACK_RESPONSE_PREFIX, alias="SLACK_RESPONSE_URL_PREFIX")


def _record(record: SQSRecord, context: LambdaContext) -> dict[str, Any]:
    try:
        decision = Decision.model_validate_json(record.body)
    except ValidationError:
        # The message id only: no retry can make the body parse, and its text is not ours to log.
        logger.error(  # noqa: TRY400
            "decision dropped: body is not a decision", extra={"message_id": record.message_id}
        )
        metrics.add_metric(name="MalformedDecision", unit=MetricUnit.Count, value=1)
        return {"kind": "dropped"}
    settings = DecisionSettings.from_env()
    try:
        responder = SlackResponder(settings.response_url_prefix)
        done = run_decision(deploy_ports(context=context), decision, responder, EcsHookControl())
    except PermanentError as exc:
        # No retry can fix it: said once, counted, not redriven.
        logger.error(  # noqa: TRY400
            "decision not done",
            extra={"message_id": record.message_id, "kind": decision.kind, "reason": str(exc)},
        )
        metrics.add_metric(name="DecisionFailed", unit=MetricUnit.Count, value=1)
        return {"kind": decision.kind, "failed": str(exc)}
    metrics.add_metric(name="DecisionsDone", unit=MetricUnit.Count, value=1)
    return done


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _record(record, context),
            processor=processor,
            context=context,
        )
    )
