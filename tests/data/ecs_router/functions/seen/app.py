"""Answers with what it was told: the event's type, its name or task status, and the deployment."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    detail = event.get("detail") or {}
    return {
        "event_id": event.get("id", "unknown"),
        "status": "handled",
        "detail": {
            "detail_type": event.get("detail-type"),
            "name": detail.get("eventName") or detail.get("lastStatus"),
            "deployment": detail.get("deploymentId") or detail.get("startedBy"),
            "service": (event.get("resources") or [""])[0],
        },
    }
