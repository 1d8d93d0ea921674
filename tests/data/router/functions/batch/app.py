"""Processes JSON bodies: `fail` marks a record as failed, `explode` fails the whole batch."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bodies = [(record["messageId"], json.loads(record["body"])) for record in event["Records"]]
    if any(body.get("explode") for _, body in bodies):
        raise ValueError("a record asked the whole batch to fail")
    return {
        "batchItemFailures": [
            {"itemIdentifier": message_id} for message_id, body in bodies if body.get("fail")
        ]
    }
