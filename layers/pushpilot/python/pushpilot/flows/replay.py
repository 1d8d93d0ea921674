"""Re-drive dead-lettered events after a fix: read each dead letter, hand its event back to its
function asynchronously, and delete the message only once the hand-off succeeded.

Two queues hold dead letters, in two shapes:
- the functions' on-failure destination gets Lambda's invocation record: the original event in
  `requestPayload`, the function in `requestContext.functionArn`, the error in `responsePayload`;
- the rules' dead-letter queue gets the event itself as the body, with EventBridge's message
  attributes `TARGET_ARN` (the function), `RULE_ARN`, `ERROR_CODE` and `ERROR_MESSAGE`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pushpilot.core.errors import PermanentError, RetryableError
from pushpilot.ports import DeadLetterQueue, Invoke

# SQS hands out at most ten messages per receive: the most one receive asks for.
_BATCH = 10
_REASON_LIMIT = 300
_LAMBDA_ARN_PARTS = 7


class ReplayItem(BaseModel):
    """One dead letter that can be replayed: which function gets which event, and why it failed."""

    model_config = ConfigDict(frozen=True)

    function_arn: str
    payload: dict[str, Any]
    receipt_handle: str
    message_id: str
    reason: str

    @property
    def event_id(self) -> str | None:
        value = self.payload.get("id")
        return value if isinstance(value, str) else None


class UnreadableLetter(BaseModel):
    """A message in a dead-letter queue that names no function or holds no event: left in place."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    receipt_handle: str
    problem: str


class ReplayResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    status: Literal["replayed", "would replay", "failed", "unreadable"]
    function_arn: str | None = None
    event_id: str | None = None
    reason: str = ""
    """Why the event was dead-lettered (or, for an unreadable message, what is wrong with it)."""
    error: str | None = None
    """Why the replay itself failed."""


class ReplayReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    queue_url: str
    dry_run: bool
    results: tuple[ReplayResult, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def complete(self) -> bool:
        """Every message read was replayed (or, in a dry run, could be)."""
        return all(result.status in {"replayed", "would replay"} for result in self.results)


# --- reading dead letters (pure) ------------------------------------------------------------------


def _truncate(text: str) -> str:
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"


def _attribute(message: Mapping[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name)
    if isinstance(value, Mapping):
        text = value.get("StringValue")
        return text if isinstance(text, str) else None
    return None


def _is_lambda_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) >= _LAMBDA_ARN_PARTS and parts[2] == "lambda" and parts[5] == "function"


def _from_destination_record(record: Mapping[str, Any]) -> tuple[str, Any, str] | str:
    context = record.get("requestContext")
    if not isinstance(context, Mapping) or not isinstance(context.get("functionArn"), str):
        return "the invocation record names no function (requestContext.functionArn)"
    response = record.get("responsePayload")
    condition = str(context.get("condition", "failed"))
    if isinstance(response, Mapping) and ("errorType" in response or "errorMessage" in response):
        reason = f"{condition}: {response.get('errorType', '?')}: {response.get('errorMessage', '')}"
    else:
        reason = condition
    return context["functionArn"], record.get("requestPayload"), reason


def _from_rule_dead_letter(message: Mapping[str, Any], body: Any) -> tuple[str, Any, str] | str:
    target = _attribute(message, "TARGET_ARN")
    if target is None:
        return "neither a Lambda invocation record nor an EventBridge dead letter (no TARGET_ARN)"
    code = _attribute(message, "ERROR_CODE") or "delivery failed"
    detail = _attribute(message, "ERROR_MESSAGE")
    return target, body, f"{code}: {detail}" if detail else code


def read_dead_letter(message: Mapping[str, Any]) -> ReplayItem | UnreadableLetter:
    """What one SQS message (as `receive_message` returns it) asks to replay, from either queue."""
    message_id = str(message.get("MessageId", "?"))
    receipt_handle = str(message.get("ReceiptHandle", ""))

    def unreadable(problem: str) -> UnreadableLetter:
        return UnreadableLetter(message_id=message_id, receipt_handle=receipt_handle, problem=problem)

    try:
        body = json.loads(str(message.get("Body", "")))
    except json.JSONDecodeError:
        return unreadable("the body is not JSON")
    is_record = isinstance(body, Mapping) and "requestContext" in body and "requestPayload" in body
    found = _from_destination_record(body) if is_record else _from_rule_dead_letter(message, body)
    if isinstance(found, str):
        return unreadable(found)
    function_arn, payload, reason = found
    if not _is_lambda_arn(function_arn):
        return unreadable(f"the target {function_arn} is not a Lambda function")
    if not isinstance(payload, dict):
        return unreadable("the dead letter holds no event object")
    return ReplayItem(
        function_arn=function_arn,
        payload=payload,
        receipt_handle=receipt_handle,
        message_id=message_id,
        reason=_truncate(reason),
    )


def dead_letter_items(messages: Sequence[Mapping[str, Any]]) -> list[ReplayItem]:
    """The replayable dead letters among `messages`; unreadable ones are left out (see read_dead_letter)."""
    return [item for item in map(read_dead_letter, messages) if isinstance(item, ReplayItem)]


# --- replaying -------------------------------------------------------------------------------------


def _replay_one(item: ReplayItem, *, queue: DeadLetterQueue, invoke: Invoke, dry_run: bool) -> ReplayResult:
    base = ReplayResult(
        message_id=item.message_id,
        status="would replay",
        function_arn=item.function_arn,
        event_id=item.event_id,
        reason=item.reason,
    )
    if dry_run:
        return base
    try:
        invoke(item.function_arn, item.payload)
    except (RetryableError, PermanentError) as exc:
        return base.model_copy(update={"status": "failed", "error": str(exc)})
    # Only now: a message deleted before the hand-off would lose the event if the hand-off failed.
    queue.delete(item.receipt_handle)
    return base.model_copy(update={"status": "replayed"})


def replay(
    queue: DeadLetterQueue, invoke: Invoke, *, dry_run: bool = False, max_messages: int | None = None
) -> ReplayReport:
    """Replay up to `max_messages` dead letters of the queue (all of them when None).

    Each message is read once per run: deleted after a successful hand-off; when the hand-off fails,
    the message is unreadable, or in a dry run, it is held until the run ends and then released.
    """
    results: list[ReplayResult] = []
    # Messages that stay in the queue are held invisible until the run ends, so that a later receive
    # in the same run reaches the rest of the queue instead of offering them again.
    held: list[str] = []
    seen: set[str] = set()
    try:
        while max_messages is None or len(results) < max_messages:
            wanted = _BATCH if max_messages is None else max_messages - len(results)
            fresh = [m for m in queue.receive(wanted) if m.get("MessageId") not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(str(message.get("MessageId")))
                letter = read_dead_letter(message)
                if max_messages is not None and len(results) >= max_messages:
                    held.append(letter.receipt_handle)
                elif isinstance(letter, UnreadableLetter):
                    held.append(letter.receipt_handle)
                    results.append(
                        ReplayResult(message_id=letter.message_id, status="unreadable", reason=letter.problem)
                    )
                else:
                    result = _replay_one(letter, queue=queue, invoke=invoke, dry_run=dry_run)
                    if result.status != "replayed":
                        held.append(letter.receipt_handle)
                    results.append(result)
    finally:
        for receipt_handle in held:
            queue.release(receipt_handle)
    return ReplayReport(queue_url=queue.url, dry_run=dry_run, results=tuple(results))


def render_report(report: ReplayReport) -> str:
    """One line per message, then the totals: what the CLI prints."""
    lines = []
    for result in report.results:
        target = result.function_arn.rsplit(":function:", 1)[-1] if result.function_arn else "-"
        line = f"{result.status:<12} {result.message_id}  {target}  event {result.event_id or '-'}"
        if result.reason:
            line += f"\n             dead-lettered: {result.reason}"
        if result.error:
            line += f"\n             replay failed: {result.error}"
        lines.append(line)
    verb = "would replay" if report.dry_run else "replayed"
    lines.append(
        f"{report.count(verb)} {verb}, {report.count('failed')} failed, "
        f"{report.count('unreadable')} unreadable (left in the queue)"
    )
    return "\n".join(lines)
