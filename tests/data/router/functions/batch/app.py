"""Processes JSON bodies: `fail` marks a record as failed, `explode` fails the whole batch."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        # The whole record, so tests can check the shape the function received.
        logger.info("record received", extra={"record": record})
    bodies = [(record["messageId"], json.loads(record["body"])) for record in event["Records"]]
    if any(body.get("explode") for _, body in bodies):
        raise ValueError("a record asked the whole batch to fail")
    return {
        "batchItemFailures": [
            {"itemIdentifier": message_id} for message_id, body in bodies if body.get("fail")
        ]
    }
