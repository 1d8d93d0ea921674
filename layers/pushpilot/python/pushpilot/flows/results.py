"""What a flow did with one event: the flows' own result; the handlers' edge turns it into their outcome."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class FlowResult(BaseModel):
    """Handled (and what was done) or ignored (and why). Failures are exceptions, not results: the
    handler edge decides what a failure becomes (a rejection, or a retry)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    status: Literal["handled", "ignored"]
    detail: dict[str, Any] = {}


def handled(event_id: str, detail: dict[str, Any]) -> FlowResult:
    return FlowResult(event_id=event_id, status="handled", detail=detail)


def ignored(event_id: str, reason: str) -> FlowResult:
    """An event that needs nothing done, and why."""
    return FlowResult(event_id=event_id, status="ignored", detail={"reason": reason})


def skipped(event_id: str, reason: str, *, metric: str, **detail: str) -> FlowResult:
    """An event pushpilot must leave alone on purpose: ignored, logged at info (with `detail`) and counted
    as `metric`, once, by the handler's edge."""
    return FlowResult(
        event_id=event_id, status="ignored", detail={**detail, "reason": reason, "skip": metric}
    )


def is_skip(result: FlowResult) -> bool:
    return isinstance(result.detail.get("skip"), str)
