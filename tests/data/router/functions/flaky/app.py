"""Fails the first `detail.fail_times` attempts at each event, then succeeds; answers schedule inputs."""

from __future__ import annotations

from collections import Counter
from typing import Any

# A warm Lambda keeps module state between invocations; retries of one event count up here.
_attempts: Counter[str] = Counter()


class FlakyError(RuntimeError):
    """Raised on purpose so the caller's retry policy is exercised."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "task" in event:
        return {"event_id": event["task"], "status": "handled", "detail": {"task": event["task"]}}
    if event.get("detail-type") == "Scheduled Event":
        return {"event_id": event["id"], "status": "handled", "detail": {"resources": event["resources"]}}
    event_id = event["id"]
    _attempts[event_id] += 1
    if _attempts[event_id] <= int(event["detail"]["fail_times"]):
        raise FlakyError(f"attempt {_attempts[event_id]} at {event_id} failed")
    return {"event_id": event_id, "status": "handled", "detail": {"attempts": _attempts[event_id]}}
