"""pushpilot's own events in the sandbox: PutEvents answered by the sandbox itself, each entry put on the
stack account's default bus as EventBridge would deliver it, and held against the published schema
(`events/schema/pushpilot-release.v1.json`): an event that breaks it is a sandbox error, never delivered.

moto stores PutEvents but routes only to its own rules; the sandbox's router reads the template's rules,
so the entries must reach the sandbox's bus instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "events" / "schema" / "pushpilot-release.v1.json"


class SchemaViolationError(ValueError):
    """A pushpilot event that does not follow its published schema."""


@cache
def _validator() -> Any:
    # jsonschema ships no type information; the validator is used through `Any`.
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_release_event(event: Mapping[str, Any]) -> None:
    """Raise SchemaViolationError naming every place `event` breaks the schema."""
    if _validator().is_valid(event):
        return
    errors = sorted(_validator().iter_errors(event), key=lambda error: list(error.absolute_path))
    if errors:
        problems = "; ".join(
            f"{'/'.join(str(part) for part in error.absolute_path) or '(event)'}: {error.message}"
            for error in errors
        )
        raise SchemaViolationError(f"{event.get('detail-type')} breaks the release event schema: {problems}")


def delivered_event(entry: Mapping[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """A PutEvents entry as EventBridge delivers it to a rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any]


@dataclass
class ReleaseEventBus:
    """Answers the handlers' PutEvents (an emulator of the gateway) and keeps what was put."""

    account_id: str
    region: str
    emit: Callable[[dict[str, Any]], None]
    events: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def owns(self, operation: str, params: dict[str, Any]) -> bool:
        del params
        return operation == "PutEvents"

    def answer(self, operation: str, body: bytes) -> _Answer:
        del operation
        entries = json.loads(body or b"{}").get("Entries", [])
        results: list[dict[str, str]] = []
        for entry in entries:
            event = delivered_event(entry, account=self.account_id, region=self.region)
            if event["source"] == "pushpilot":
                try:
                    check_release_event(event)
                except SchemaViolationError as exc:
                    self.violations.append(str(exc))
                    results.append({"ErrorCode": "MalformedDetail", "ErrorMessage": str(exc)})
                    continue
            self.events.append(event)
            self.emit(event)
            results.append({"EventId": event["id"]})
        failed = sum(1 for result in results if "ErrorCode" in result)
        return _Answer(200, {"FailedEntryCount": failed, "Entries": results})


def entries_summary(params: Mapping[str, Any]) -> str | None:
    """A PutEvents call of pushpilot's events in words, for the timeline: `Release Live (staging-web)`."""
    entries = params.get("Entries")
    if not isinstance(entries, list) or not entries:
        return None
    said: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("Source") != "pushpilot":
            return None
        try:
            detail = json.loads(str(entry.get("Detail") or "{}"))
        except json.JSONDecodeError:
            return None
        service = (detail.get("service") or {}).get("name")
        said.append(f"{entry.get('DetailType')}" + (f" ({service})" if service else ""))
    return ", ".join(said)
