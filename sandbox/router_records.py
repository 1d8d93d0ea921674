"""What the event router hands back and hands on: deliveries, dead letters, the Lambda context object a
handler receives, and an invocation's result."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pushpilot_sandbox.sam_functions import DestinationSpec


class Delivery(BaseModel):
    """One delivery of one event (or one SQS batch) to one function, after any retries."""

    model_config = ConfigDict(frozen=True)

    function: str
    trigger: Literal["rule", "schedule", "sqs", "stack"]
    trigger_name: str
    event_id: str
    attempts: int
    outcome: dict[str, Any] | None = None
    error_type: str | None = None
    error_message: str | None = None
    record_ids: tuple[str, ...] = ()
    failed_record_ids: tuple[str, ...] = ()
    dead_lettered: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error_type is None and not self.failed_record_ids


class DeadLetter(BaseModel):
    """What Lambda sent to a function's on-failure destination or dead-letter queue."""

    model_config = ConfigDict(frozen=True)

    function: str
    destination: DestinationSpec
    kind: Literal["on-failure destination", "dead-letter queue"]
    record: Any
    """The destination record, or for a dead-letter queue the event itself."""


@dataclass
class LambdaContext:
    """The context object a Python handler receives, with the fields Powertools reads."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    started_at: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass(frozen=True)
class _Failure:
    error_type: str
    error_message: str
    stack_trace: list[str]

    def payload(self, request_id: str) -> dict[str, Any]:
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": request_id,
            "stackTrace": self.stack_trace,
        }


@dataclass(frozen=True)
class _Result:
    request_id: str
    response: Any = None
    failure: _Failure | None = None
