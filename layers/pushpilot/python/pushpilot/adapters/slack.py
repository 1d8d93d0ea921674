"""Deliver notices to Slack with slack-sdk: a bot token (one thread per release) or an incoming webhook.

The token or webhook URL comes from Secrets Manager or an SSM SecureString through Powertools
parameters (cached for `SLACK_SECRET_MAX_AGE` seconds) and is never logged: slack-sdk gets a logger of
ours that redacts it, and our own log lines name only the channel and message ts.

slack-sdk's retry handlers absorb short outages (429 with Retry-After, 500/503, and connections that
failed before the request was sent). What is left after them becomes a RetryableError, so the SQS
record is retried and finally dead-lettered with its payload. Slack's `ok: false` answers that no
retry can fix (`invalid_auth`, `channel_not_found`, ...) become SlackRejectedError, a PermanentError.

A post whose answer never came (read timeout, connection dropped after sending) may have been acted
on: Slack has no idempotency key for chat.postMessage. Every post carries its notice's key as message
metadata; after such a failure the thread is read back (conversations.replies / .history, which need
the `channels:history` or `groups:history` scope) and the message adopted if Slack did post it.
Otherwise the post is marked uncertain in the table and the SQS retry looks again before posting.
Without the history scope delivery stays at least once: a warning says a duplicate is possible.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import cache
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, Literal
from urllib.error import URLError

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from pushpilot.adapters import clients
from pushpilot.core.errors import PermanentError, PushpilotError, RetryableError, ThrottledError
from pushpilot.core.notices import Notice
from pushpilot.entry.settings import SettingsError
from pushpilot.flows.notify import (
    NotifySettings,
    SlackMessage,
    occurred_at_millis,
    render_slack_headline,
    render_slack_reply,
    render_slack_webhook,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
    from slack_sdk import WebClient
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState
    from slack_sdk.webhook import WebhookClient

    from pushpilot.adapters.threads import SlackThreads, ThreadRef

logger = Logger(child=True)

REQUEST_TIMEOUT_SECONDS = 5
RETRIES_PER_FAILURE = 2
# Waiting longer than this inside the Lambda would burn its time: the SQS retry waits instead.
MAX_RETRY_AFTER_SECONDS = 10

# Message metadata type of our posts; its payload's `key` names the notice (or thread headline).
METADATA_EVENT_TYPE = "pushpilot_notice"
# How many of the channel's newest messages are searched for a headline whose answer was lost.
HEADLINE_LOOKBACK_MESSAGES = 200
# Slack errors of a token that may post but not read the channel back.
_CANNOT_READ_ERRORS = frozenset({"missing_scope", "not_in_channel", "not_allowed_token_type"})

# Slack Web API errors that say "try again later" rather than "this will never work".
RETRYABLE_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackRejectedError(PermanentError):
    """Slack answered and said no: bad credentials, unknown or archived channel, invalid payload."""


class SlackOutcomeUnknownError(RetryableError):
    """The request was sent but no answer came back: Slack may or may not have acted on it."""


# --- credentials ----------------------------------------------------------------------------------------


class SlackCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: Literal["bot", "webhook"]
    token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    channel: str | None = None


def parse_slack_secret(
    raw: str, *, mode: Literal["bot", "webhook"], default_channel: str | None
) -> SlackCredentials:
    """Bot mode: `xoxb-...` or JSON `{"token": ..., "channel": ...}`; webhook mode: the URL or JSON
    `{"url": ...}`. Errors never quote the secret."""
    value = raw.strip()
    fields: dict[str, Any] = {}
    if value.startswith("{"):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError("the Slack secret looks like JSON but does not parse") from exc
        if not isinstance(loaded, dict):
            raise SettingsError("the Slack secret JSON must be an object")
        fields = loaded
    elif mode == "bot":
        fields = {"token": value}
    else:
        fields = {"url": value}
    channel = fields.get("channel") or default_channel
    if mode == "bot":
        token = fields.get("token")
        if not isinstance(token, str) or not token.startswith("xox"):
            raise SettingsError("the Slack secret holds no bot token (expected xoxb-...)")
        if not isinstance(channel, str) or not channel:
            raise SettingsError("bot mode needs a channel: SLACK_CHANNEL or `channel` in the secret")
        return SlackCredentials(mode="bot", token=SecretStr(token), channel=channel)
    url = fields.get("url") or fields.get("webhook_url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise SettingsError("the Slack secret holds no incoming webhook URL")
    return SlackCredentials(mode="webhook", webhook_url=SecretStr(url), channel=channel)


@cache
def _secrets_provider(client: Any) -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)


@cache
def _ssm_provider(client: Any) -> SSMProvider:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=client)


def load_slack_credentials(settings: NotifySettings) -> SlackCredentials:
    """Read the secret through Powertools parameters, whose cache spares a call per notice. The
    providers get the project's clients (retry mode, endpoint settings), one provider per client."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    if settings.slack_mode == "none":
        raise SettingsError("SLACK_MODE=none has no Slack credentials")
    if bool(settings.slack_secret_id) == bool(settings.slack_parameter_name):
        raise SettingsError(
            f"SLACK_MODE={settings.slack_mode} needs exactly one of SLACK_SECRET_ID or SLACK_PARAMETER_NAME"
        )
    max_age = settings.slack_secret_max_age
    try:
        if settings.slack_secret_id:
            source = settings.slack_secret_id
            raw = _secrets_provider(clients.client("secretsmanager")).get(source, max_age=max_age)
        else:
            source = settings.slack_parameter_name or ""
            raw = _ssm_provider(clients.client("ssm")).get(source, max_age=max_age, decrypt=True)
    except GetParameterError as exc:
        # Powertools wraps the botocore error without `from`: the original is the implicit context.
        raise _secret_error(exc.__cause__ or exc.__context__, source) from exc
    if not isinstance(raw, str):
        raise SettingsError(f"the Slack secret {source} is not a string")
    return parse_slack_secret(raw, mode=settings.slack_mode, default_channel=settings.slack_channel)


def _secret_error(cause: BaseException | None, source: str) -> PushpilotError:
    from botocore.exceptions import ClientError

    code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
    if code in {"ResourceNotFoundException", "ParameterNotFound"}:
        return SettingsError(f"the Slack secret {source} does not exist")
    if code in {"AccessDeniedException", "AccessDenied"}:
        return SettingsError(f"the function may not read the Slack secret {source} ({code})")
    return RetryableError(f"cannot read the Slack secret {source} now ({code or type(cause).__name__})")


# --- slack-sdk plumbing -----------------------------------------------------------------------------------


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


def _transport_error(exc: OSError | HTTPException, method: str) -> RetryableError:
    # The exception text can carry the request URL; only its type is reported.
    if isinstance(exc, URLError):
        return RetryableError(f"Slack {method} unreachable after retries ({type(exc).__name__})")
    return SlackOutcomeUnknownError(f"Slack {method} sent but unanswered ({type(exc).__name__})")


# --- channels -------------------------------------------------------------------------------------------


class SlackBotChannel:
    """Bot token mode: one thread per thread_key; the first message is the headline, edited in place."""

    name = "slack"

    def __init__(self, client: WebClient, channel: str, threads: SlackThreads) -> None:
        self._client = client
        self._channel = channel
        self._threads = threads

    def _call(self, method: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except SlackApiError as exc:
            raise slack_api_error(exc, method) from exc
        except (OSError, HTTPException) as exc:
            raise _transport_error(exc, method) from exc
        except SlackClientError as exc:
            raise SlackRejectedError(f"Slack {method} request invalid ({type(exc).__name__})") from exc

    def _post(self, channel: str, message: SlackMessage, *, key: str, thread_ts: str | None = None) -> str:
        """Post once: a post whose answer was lost is looked up by its key before it is sent again."""
        uncertain = self._threads.is_uncertain(key)
        if uncertain:
            found = self._find_posted(channel, key, thread_ts)
            if found is not None:
                self._threads.clear_uncertain(key)
                return found
        try:
            response = self._call(
                "chat.postMessage",
                lambda: self._client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=list(message.blocks),
                    thread_ts=thread_ts,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": key}},
                ),
            )
        except SlackOutcomeUnknownError:
            # Marked before looking: if the read-back fails too, the retry still looks first.
            self._threads.mark_uncertain(key)
            found = self._find_posted(channel, key, thread_ts)
            if found is None:
                raise
            self._threads.clear_uncertain(key)
            return found
        if uncertain:
            self._threads.clear_uncertain(key)
        return str(response["ts"])

    def _find_posted(self, channel: str, key: str, thread_ts: str | None) -> str | None:
        """The ts of our message carrying `key`, read back from Slack; None when absent or unreadable."""
        try:
            if thread_ts is not None:
                response = self._client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=1000
                )
            else:
                # Newest first: a headline looked for minutes after it was sent is near the top.
                response = self._client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=HEADLINE_LOOKBACK_MESSAGES
                )
        except SlackApiError as exc:
            data = exc.response.data
            if not isinstance(data, dict) or data.get("error") not in _CANNOT_READ_ERRORS:
                raise slack_api_error(exc, "conversations read") from exc
            logger.warning(
                "slack post unconfirmed and the channel cannot be read back: a duplicate is possible"
                " (grant channels:history or groups:history)",
                extra={"channel": channel, "error": data.get("error")},
            )
            return None
        except (OSError, HTTPException) as exc:
            raise _transport_error(exc, "conversations read") from exc
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("key") == key:
                logger.info("slack post confirmed after a lost answer", extra={"channel": channel})
                return str(message["ts"])
        return None

    def _open_thread(self, notice: Notice) -> tuple[ThreadRef, bool]:
        """Post the headline and claim the thread; a loser of the race removes its headline."""
        # Keyed by the notice too: racing first notices each look for their own headline, not the winner's.
        ts = self._post(
            self._channel,
            render_slack_headline(notice),
            key=f"headline#{notice.thread_key}#{notice.dedupe_key}",
        )
        thread = self._threads.claim(
            notice.thread_key, self._channel, ts, headline_at=occurred_at_millis(notice)
        )
        if thread.ts == ts:
            logger.info("slack thread opened", extra={"channel": self._channel, "ts": ts})
            return thread, True
        logger.info(
            "slack thread already opened elsewhere", extra={"channel": thread.channel, "ts": thread.ts}
        )
        try:
            self._call("chat.delete", lambda: self._client.chat_delete(channel=self._channel, ts=ts))
        except PushpilotError as exc:
            logger.warning(
                "duplicate headline left in place",
                extra={"channel": self._channel, "ts": ts, "error_type": type(exc).__name__},
            )
        return thread, False

    def _refresh_headline(self, thread: ThreadRef, notice: Notice) -> None:
        """Best effort: the headline is a summary; the reply already told the story."""
        moment = occurred_at_millis(notice)
        try:
            if moment is not None and not self._threads.advance_headline(notice.thread_key, moment):
                return
            headline = render_slack_headline(notice)
            self._call(
                "chat.update",
                lambda: self._client.chat_update(
                    channel=thread.channel, ts=thread.ts, text=headline.text, blocks=list(headline.blocks)
                ),
            )
        except PushpilotError as exc:
            logger.warning(
                "slack headline not updated",
                extra={"channel": thread.channel, "ts": thread.ts, "error_type": type(exc).__name__},
            )

    def send(self, notice: Notice) -> dict[str, str]:
        thread = self._threads.get(notice.thread_key)
        opened = False
        if thread is None:
            thread, opened = self._open_thread(notice)
        ts = self._post(
            thread.channel, render_slack_reply(notice), key=notice.dedupe_key, thread_ts=thread.ts
        )
        if not opened:
            self._refresh_headline(thread, notice)
        logger.info("slack reply posted", extra={"channel": thread.channel, "thread_ts": thread.ts, "ts": ts})
        return {"channel": thread.channel, "thread_ts": thread.ts, "ts": ts}


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
            raise _transport_error(exc, "webhook") from exc
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


class SlackChannel:
    """Connects on every send, so a rotated secret is picked up once Powertools' cache expires;
    building slack-sdk clients is cheap and does no I/O."""

    name = "slack"

    def __init__(
        self,
        settings: NotifySettings,
        threads: SlackThreads,
        *,
        credentials: Callable[[NotifySettings], SlackCredentials] = load_slack_credentials,
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
