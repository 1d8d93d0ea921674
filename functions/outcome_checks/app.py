"""Scheduled looks at deployments whose platform emits no completion event (Lambda functions), from the
outcome-timer queue → the true outcome, told like any other.

A record fails (SQS retries it, then dead-letters it) only on an error a retry can fix; a body that is not
an outcome check is logged with its message id, counted and dropped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from pushpilot.core.errors import PermanentError
from pushpilot.core.targets import OutcomeCheck
from pushpilot.entry.wiring import deploy_ports
from pushpilot.flows.outcome_checks import handle_outcome_check

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record_handler(record: SQSRecord, context: LambdaContext) -> None:
    try:
        check = OutcomeCheck.model_validate_json(record.body)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in err["loc"]) or "body" for err in exc.errors()})
        logger.error(  # noqa: TRY400 - the fields say why; no traceback helps
            "outcome check dropped: malformed", extra={"message_id": record.message_id, "fields": fields}
        )
        metrics.add_metric(name="MalformedEvent", unit=MetricUnit.Count, value=1)
        return
    try:
        outcome = handle_outcome_check(check, deploy_ports(context=context), event_id=record.message_id)
    except PermanentError as exc:
        logger.error(  # noqa: TRY400 - the message says why; no retry can change it
            "outcome check rejected",
            extra={"message_id": record.message_id, "error_type": type(exc).__name__, "reason": str(exc)},
        )
        metrics.add_metric(name="PermanentFailure", unit=MetricUnit.Count, value=1)
        return
    logger.info(
        "outcome check", extra={"message_id": record.message_id, "status": outcome.status, **outcome.detail}
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _record_handler(record, context),
            processor=processor,
            context=context,
        )
    )
