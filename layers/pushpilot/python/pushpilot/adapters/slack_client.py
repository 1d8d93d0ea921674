"""slack-sdk clients as pushpilot uses them: bounded retries, short timeouts, a logger that redacts the
credentials, and Slack's answers turned into typed errors.

slack-sdk's retry handlers absorb short outages (429 with Retry-After, 500/503, and connections that
failed before the request was sent). What is left after them becomes a RetryableError, so the SQS
record is retried and finally dead-lettered with its payload. Slack's `ok: false` answers that no
retry can fix (`invalid_auth`, `channel_not_found`, ...) become SlackRejectedError, a PermanentError.
"""

from __future__ import annotations

import logging
from http.client import HTTPException
from typing import TYPE_CHECKING
from urllib.error import URLError

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from pushpilot.adapters.slack_credentials import SlackCredentials
from pushpilot.core.errors import (
    PermanentError,
    PushpilotError,
    RetryableError,
    SettingsError,
    ThrottledError,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState
    from slack_sdk.webhook import WebhookClient

REQUEST_TIMEOUT_SECONDS = 5
RETRIES_PER_FAILURE = 2
# Waiting longer than this inside the Lambda would burn its time: the SQS retry waits instead.
MAX_RETRY_AFTER_SECONDS = 10

# Slack Web API errors that say "try again later" rather than "this will never work".
RETRYABLE_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackRejectedError(PermanentError):
    """Slack answered and said no: bad credentials, unknown or archived channel, invalid payload."""


class SlackOutcomeUnknownError(RetryableError):
    """The request was sent but no answer came back: Slack may or may not have acted on it."""


class _Redactor(logging.Filter):
    """slack-sdk logs request URLs at info/debug; a webhook's URL is its credential. Hand-written:
    neither slack-sdk nor Powertools redacts values it was not told about."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "(redacted)")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_redactor = _Redactor()


def sdk_logger() -> logging.Logger:
    sdk = logging.getLogger("pushpilot.slack_sdk")
    if _redactor not in sdk.filters:
        sdk.addFilter(_redactor)
        sdk.setLevel(logging.WARNING)
    return sdk


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Honours Retry-After like slack-sdk's own handler, unless Slack asks for a long wait."""

    def __init__(self, max_retry_count: int, max_wait_seconds: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or not super()._can_retry(
            state=state, request=request, response=response, error=error
        ):
            return False
        values = next((value for key, value in response.headers.items() if key.lower() == "retry-after"), [])
        try:
            wait = int(values[0]) if values else 1
        except ValueError:
            wait = 1
        return wait <= self.max_wait_seconds


def retry_handlers() -> list[RetryHandler]:
    return [
        BoundedRateLimitRetryHandler(
            max_retry_count=RETRIES_PER_FAILURE, max_wait_seconds=MAX_RETRY_AFTER_SECONDS
        ),
        ServerErrorRetryHandler(max_retry_count=RETRIES_PER_FAILURE),
        # urllib raises URLError only while connecting and sending; a timeout or a dropped connection
        # while waiting for the answer comes raw, after Slack may have acted, so it is not retried here.
        ConnectionErrorRetryHandler(max_retry_count=RETRIES_PER_FAILURE, error_types=[URLError]),
    ]


def web_client(credentials: SlackCredentials, api_url: str) -> WebClient:
    from slack_sdk import WebClient

    if credentials.token is None:
        raise SettingsError("bot mode needs a token")
    token = credentials.token.get_secret_value()
    _redactor.secrets.add(token)
    return WebClient(
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
        logger=sdk_logger(),
    )


def webhook_client(credentials: SlackCredentials) -> WebhookClient:
    from slack_sdk.webhook import WebhookClient

    if credentials.webhook_url is None:
        raise SettingsError("webhook mode needs a URL")
    url = credentials.webhook_url.get_secret_value()
    _redactor.secrets.add(url)
    return WebhookClient(
        url=url, timeout=REQUEST_TIMEOUT_SECONDS, retry_handlers=retry_handlers(), logger=sdk_logger()
    )


def slack_api_error(exc: SlackApiError, method: str) -> PushpilotError:
    status = exc.response.status_code
    data = exc.response.data
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if status == 429 or code == "ratelimited":
        return ThrottledError(f"Slack {method} still rate limited after retries")
    if status >= 500 or code in RETRYABLE_SLACK_ERRORS:
        return RetryableError(f"Slack {method} failed: HTTP {status} {code[:80]}".rstrip())
    return SlackRejectedError(f"Slack {method} rejected: {code or f'HTTP {status}'}")


def transport_error(exc: OSError | HTTPException, method: str) -> RetryableError:
    # The exception text can carry the request URL; only its type is reported.
    if isinstance(exc, URLError):
        return RetryableError(f"Slack {method} unreachable after retries ({type(exc).__name__})")
    return SlackOutcomeUnknownError(f"Slack {method} sent but unanswered ({type(exc).__name__})")
