"""The request URL's edge: a Lambda function URL request from Slack becomes an HTTP answer.

Order matters: the body's size is checked before anything reads it, the signature before anything parses
it, and only a verified, parsed click reaches a flow. A refused request gets a 4xx with a one-word body,
one log line (the reason, never the body, headers or signature) and a metric per reason; nothing here
raises for what a caller sends.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pushpilot.core.errors import PermanentError, PushpilotError, RetryableError
from pushpilot.core.slack_interaction import MAX_BODY_BYTES, MalformedRequestError, parse_click

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

    from pushpilot.flows.deploy_ports import DeployPorts
    from pushpilot.ports import DecisionSink


def _answer(status: int, body: str = "") -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": body}


def answer_slack_request(
    event: dict[str, Any],
    *,
    logger: Logger,
    metrics: Metrics,
    signing_secret: Callable[[], str],
    ports: Callable[[], DeployPorts],
    decisions: Callable[[], DecisionSink],
    now: Callable[[], float] = time.time,
    members: Callable[[frozenset[str], str], bool] | None = None,
) -> dict[str, Any]:
    from aws_lambda_powertools.metrics import MetricUnit

    from pushpilot.adapters.slack_requests import Verification, verify
    from pushpilot.flows.slack_actions import handle_click

    context = event.get("requestContext")
    request_id = str(context.get("requestId", "")) if isinstance(context, dict) else ""

    def refuse(status: int, reason: str, metric: str) -> dict[str, Any]:
        logger.warning("slack request refused", extra={"request_id": request_id, "reason": reason})
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        return _answer(status, reason)

    http = context.get("http") if isinstance(context, dict) else None
    if not isinstance(http, dict) or http.get("method") != "POST":
        return refuse(405, "method_not_allowed", "SlackRequestRefused")
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        return refuse(400, "malformed", "SlackRequestMalformed")
    if len(raw) > MAX_BODY_BYTES * 2:
        # Checked before decoding too: a base64 body is a third longer than what it holds.
        return refuse(413, "too_large", "SlackRequestOversized")
    try:
        body_bytes = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
        body = body_bytes.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return refuse(400, "malformed", "SlackRequestMalformed")
    if len(body_bytes) > MAX_BODY_BYTES:
        return refuse(413, "too_large", "SlackRequestOversized")
    headers = event.get("headers")
    headers = {str(key): str(value) for key, value in headers.items()} if isinstance(headers, dict) else {}
    try:
        verification = verify(signing_secret(), body, headers, now=now)
    except PushpilotError as exc:
        logger.error("slack signing secret unavailable", extra={"request_id": request_id, "reason": str(exc)})  # noqa: TRY400
        metrics.add_metric(name="SlackEndpointError", unit=MetricUnit.Count, value=1)
        return _answer(503, "unavailable")
    if verification is not Verification.VALID:
        return refuse(401, str(verification), f"SlackRequest{verification.value.title()}")
    try:
        click = parse_click(body)
        result = handle_click(ports(), click, decisions(), members=members)
    except MalformedRequestError as exc:
        logger.warning("slack request refused", extra={"request_id": request_id, "reason": str(exc)})
        metrics.add_metric(name="SlackRequestMalformed", unit=MetricUnit.Count, value=1)
        return _answer(400, "malformed")
    except RetryableError as exc:
        logger.error("slack click not applied", extra={"request_id": request_id, "reason": str(exc)})  # noqa: TRY400
        metrics.add_metric(name="SlackEndpointError", unit=MetricUnit.Count, value=1)
        return _answer(503, "unavailable")
    except PermanentError as exc:
        logger.error("slack click not applied", extra={"request_id": request_id, "reason": str(exc)})  # noqa: TRY400
        metrics.add_metric(name="SlackEndpointError", unit=MetricUnit.Count, value=1)
        return _answer(500, "error")
    logger.info(
        "slack click",
        extra={
            "request_id": request_id,
            "user": click.user_id,
            "action": click.action,
            "outcome": result.outcome,
        },
    )
    metrics.add_metric(name="SlackClicks", unit=MetricUnit.Count, value=1)
    # Slack shows nothing of this body for a block action; the person hears back at the response_url.
    return _answer(200)
