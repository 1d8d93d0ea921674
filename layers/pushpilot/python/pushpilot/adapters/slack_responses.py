"""Ephemeral answers at a click's `response_url` (only the person who clicked sees them), through
slack_sdk's WebhookClient. The URL came in a signed request, and is still checked to be Slack's before
anything is posted to it: the decisions function posts nowhere else."""

from __future__ import annotations

from pushpilot.core.errors import PermanentError, RetryableError

# Slack's response URLs (api.slack.com, "Handling user interaction"): https://hooks.slack.com/actions/...
SLACK_RESPONSE_PREFIX = "https://hooks.slack.com/actions/"


class SlackResponder:
    def __init__(self, allowed_prefix: str = SLACK_RESPONSE_PREFIX, *, timeout_seconds: int = 5) -> None:
        self._prefix = allowed_prefix
        self._timeout = timeout_seconds

    def reply(self, response_url: str, text: str) -> None:
        from slack_sdk.webhook import WebhookClient

        if not response_url.startswith(self._prefix):
            raise PermanentError("the click's response_url is not Slack's: nothing posted")
        response = WebhookClient(response_url, timeout=self._timeout).send_dict(
            {"response_type": "ephemeral", "replace_original": False, "text": text}
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"Slack answered {response.status_code} to an ephemeral reply")
        if response.status_code != 200:
            # 404 expired_url (after 30 minutes or five uses): nothing a retry can fix.
            raise PermanentError(
                f"Slack refused the ephemeral reply ({response.status_code} {response.body})"
            )
