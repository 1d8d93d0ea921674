"""Slack incoming-webhook delivery: one message per notice, each opening with the release headline."""

from __future__ import annotations

from http.client import HTTPException
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackClientError

from pushpilot.adapters.slack_client import SlackRejectedError, transport_error
from pushpilot.core.errors import RetryableError, ThrottledError
from pushpilot.core.notices import Notice
from pushpilot.core.render_slack import render_slack_webhook

if TYPE_CHECKING:
    from slack_sdk.webhook import WebhookClient

logger = Logger(child=True)


class SlackWebhookChannel:
    """Incoming webhook mode: one message per notice, each opening with the release headline."""

    name = "slack"

    def __init__(self, client: WebhookClient) -> None:
        self._client = client

    def send(self, notice: Notice) -> dict[str, str]:
        message = render_slack_webhook(notice)
        try:
            response = self._client.send(
                text=message.text, blocks=list(message.blocks), unfurl_links=False, unfurl_media=False
            )
        except (OSError, HTTPException) as exc:
            raise transport_error(exc, "webhook") from exc
        except SlackClientError as exc:
            raise SlackRejectedError(f"Slack webhook request invalid ({type(exc).__name__})") from exc
        status, body = response.status_code, (response.body or "")[:80]
        if status == 200:
            logger.info("slack webhook message posted")
            return {"status": str(status)}
        if status == 429:
            raise ThrottledError("Slack webhook still rate limited after retries")
        if status >= 500:
            raise RetryableError(f"Slack webhook failed: HTTP {status} {body}".rstrip())
        raise SlackRejectedError(f"Slack webhook rejected: HTTP {status} {body}".rstrip())
