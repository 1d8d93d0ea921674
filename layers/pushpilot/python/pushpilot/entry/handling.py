"""What every handler does around its one domain call: parse whole, fence bad input, report an outcome.

A malformed event is logged once with its id, counted, and answered with a `rejected` outcome, so
Lambda does not retry it; a RetryableError propagates so Lambda retries and finally dead-letters the
original event; a PermanentError is logged, counted and rejected like a malformed event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from pushpilot.core.errors import MalformedEventError, PermanentError
from pushpilot.flows.results import FlowResult

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


class HandlerOutcome(BaseModel):
    """The value an asynchronous handler returns: Lambda ignores it; the sandbox and tests read it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    status: Literal["handled", "ignored", "rejected"]
    error_type: str | None = None
    error_message: str | None = None
    detail: dict[str, Any] = {}

    @classmethod
    def of(cls, result: FlowResult) -> HandlerOutcome:
        """A flow's result as the handler reports it."""
        return cls(event_id=result.event_id, status=result.status, detail=result.detail)


def event_id_of(event: object) -> str:
    if isinstance(event, Mapping):
        value = event.get("id")
        if isinstance(value, str):
            return value
    return "unknown"


def parse_event[ModelT](adapter: TypeAdapter[ModelT], event: object) -> ModelT:
    """Validate the whole event; a shape error becomes a MalformedEventError naming the bad fields."""
    try:
        return adapter.validate_python(event)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(part) for part in err["loc"]) for err in exc.errors()}))
        raise MalformedEventError(f"event does not match {adapter}: bad or missing {fields}") from exc


def run_guarded(
    event: object,
    work: Callable[[], FlowResult],
    *,
    logger: Logger,
    metrics: Metrics,
) -> dict[str, Any]:
    """Run a handler's work; turn permanent failures into a logged, counted `rejected` outcome."""
    from aws_lambda_powertools.metrics import MetricUnit

    event_id = event_id_of(event)
    try:
        outcome = HandlerOutcome.of(work())
    except PermanentError as exc:
        kind = "MalformedEvent" if isinstance(exc, MalformedEventError) else "PermanentFailure"
        # Only the id and our own message: the event itself may carry secrets (CodeBuild env vars).
        # No traceback: a rejection is an expected outcome, and the message already says why.
        logger.error(  # noqa: TRY400
            "event rejected",
            extra={"event_id": event_id, "error_type": type(exc).__name__, "reason": str(exc)},
        )
        metrics.add_metric(name=kind, unit=MetricUnit.Count, value=1)
        outcome = HandlerOutcome(
            event_id=event_id, status="rejected", error_type=type(exc).__name__, error_message=str(exc)
        )
    skip = outcome.detail.get("skip")
    if isinstance(skip, str):
        # A skip is expected and told apart from other ignored events: an info line and its own count.
        logger.info(
            "event skipped",
            extra={
                "event_id": event_id,
                "skip": skip,
                **{key: outcome.detail[key] for key in ("reason", "service_arn") if key in outcome.detail},
            },
        )
        metrics.add_metric(name=skip, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"Events{outcome.status.title()}", unit=MetricUnit.Count, value=1)
    return outcome.model_dump(mode="json")
