"""Slack bot-token delivery: one thread per release, its first message the headline, edited in place.

A post whose answer never came (read timeout, connection dropped after sending) may have been acted
on: Slack has no idempotency key for chat.postMessage. Every post carries its notice's key as message
metadata; after such a failure the thread is read back (conversations.replies / .history, which need
the `channels:history` or `groups:history` scope) and the message adopted if Slack did post it.
Otherwise the post is marked uncertain in the table and the SQS retry looks again before posting.
Without the history scope delivery stays at least once: a warning says a duplicate is possible.
"""

from __future__ import annotations

from collections.abc import Callable
from http.client import HTTPException
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError, SlackClientError

from pushpilot.adapters.slack_client import (
    SlackOutcomeUnknownError,
    SlackRejectedError,
    slack_api_error,
    transport_error,
)
from pushpilot.core.errors import PushpilotError
from pushpilot.core.notices import Notice, occurred_at_millis
from pushpilot.core.render_slack import SlackMessage, render_slack_headline, render_slack_reply

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from pushpilot.adapters.threads import SlackThreads, ThreadRef

logger = Logger(child=True)

# Message metadata type of our posts; its payload's `key` names the notice (or thread headline).
METADATA_EVENT_TYPE = "pushpilot_notice"
# How many of the channel's newest messages are searched for a headline whose answer was lost.
HEADLINE_LOOKBACK_MESSAGES = 200
# Slack errors of a token that may post but not read the channel back.
_CANNOT_READ_ERRORS = frozenset({"missing_scope", "not_in_channel", "not_allowed_token_type"})


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
            raise transport_error(exc, method) from exc
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
            raise transport_error(exc, "conversations read") from exc
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
