"""Logs the event's id, emits one metric, and answers with what it saw of its environment."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.info("echo", extra={"event_id": event.get("id"), "role": os.environ["ROLE"]})
    metrics.add_metric(name="Echoed", unit=MetricUnit.Count, value=1)
    return {
        "event_id": event.get("id", "unknown"),
        "status": "handled",
        "detail": {
            "role": os.environ["ROLE"],
            "shared": os.environ["SHARED"],
            "table": os.environ["TABLE_NAME"],
            "secret_arn": os.environ.get("SECRET_ARN"),
            "tier": os.environ.get("TIER"),
            "function_name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "lambda_function_name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        },
    }
