"""Deliver notices to Slack: the channel the notify function uses, in bot or webhook mode.

The credentials (`slack_credentials`), the slack-sdk clients (`slack_client`) and the two ways of
posting (`slack_bot`, `slack_webhook`) live in their own modules; this one connects them per send.
The token or webhook URL is never logged: slack-sdk gets a logger of ours that redacts it, and our own
log lines name only the channel and message ts.
"""

from __future__ import annotations

from collections.abc import Callable

from pushpilot.adapters.slack_bot import SlackBotChannel
from pushpilot.adapters.slack_client import (
    REQUEST_TIMEOUT_SECONDS,
    RETRIES_PER_FAILURE,
    SlackOutcomeUnknownError,
    SlackRejectedError,
    web_client,
    webhook_client,
)
from pushpilot.adapters.slack_credentials import SlackCredentials, SlackSource, load_slack_credentials
from pushpilot.adapters.slack_webhook import SlackWebhookChannel
from pushpilot.adapters.threads import SlackThreads
from pushpilot.core.errors import SettingsError
from pushpilot.core.notices import Notice

__all__ = [
    "REQUEST_TIMEOUT_SECONDS",
    "RETRIES_PER_FAILURE",
    "SlackBotChannel",
    "SlackChannel",
    "SlackOutcomeUnknownError",
    "SlackRejectedError",
    "SlackWebhookChannel",
    "load_slack_credentials",
]


class SlackChannel:
    """Connects on every send, so a rotated secret is picked up once Powertools' cache expires;
    building slack-sdk clients is cheap and does no I/O."""

    name = "slack"

    def __init__(
        self,
        settings: SlackSource,
        threads: SlackThreads,
        *,
        credentials: Callable[[SlackSource], SlackCredentials] = load_slack_credentials,
    ) -> None:
        self._settings = settings
        self._threads = threads
        self._credentials = credentials

    def connect(self) -> SlackBotChannel | SlackWebhookChannel:
        credentials = self._credentials(self._settings)
        if credentials.mode == "bot":
            if credentials.channel is None:
                raise SettingsError("bot mode needs a channel")
            client = web_client(credentials, self._settings.slack_api_url)
            return SlackBotChannel(client, credentials.channel, self._threads)
        return SlackWebhookChannel(webhook_client(credentials))

    def send(self, notice: Notice) -> dict[str, str]:
        return self.connect().send(notice)
