"""Delivering a notice: the noise filter (core/notice_selection.py) applied, then the per-channel delivery.

The decisions take values and return values. The renderers live in `pushpilot.core` (render_slack,
render_sns); the adapters that talk to Slack, SNS and DynamoDB live in `pushpilot.adapters` and are
handed in as `NoticeChannel`s, so the same code is asserted in tests and run in Lambda.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from pushpilot.core.errors import PermanentError, RetryableError
from pushpilot.core.message_limits import MessageTooLargeError
from pushpilot.core.notice_selection import KindSelection, should_send
from pushpilot.core.notices import Notice, NoticeKind

# --- delivery, as decisions --------------------------------------------------------------------------------


class NoticeChannel(Protocol):
    """A destination for notices. `send` raises RetryableError for what a later retry may fix and
    PermanentError for what it cannot (bad credentials, unknown channel)."""

    @property
    def name(self) -> str: ...

    def send(self, notice: Notice) -> dict[str, str]: ...


class ChannelResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    status: Literal["sent", "rejected", "failed"]
    error_type: str | None = None
    reason: str | None = None
    receipt: dict[str, str] = {}


class DeliveryReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    dedupe_key: str
    kind: NoticeKind
    filtered: bool = False
    results: tuple[ChannelResult, ...] = ()

    @property
    def failed_channels(self) -> tuple[str, ...]:
        return tuple(result.channel for result in self.results if result.status == "failed")


# Runs `send` at most once per (channel, notice) across redeliveries; returns what the first run returned.
DeliverOnce = Callable[[str, Notice, Callable[[Notice], dict[str, str]]], dict[str, str]]


def _run_directly(channel: str, notice: Notice, send: Callable[[Notice], dict[str, str]]) -> dict[str, str]:
    del channel
    return send(notice)


def send_or_reject(channel: NoticeChannel, notice: Notice) -> dict[str, str]:
    """A permanent failure is an answer, not an error: it is recorded as this channel's (final) result,
    so a redelivery of the notice does not knock on a door that stays shut. A message too large for its
    channel is the exception: it is raised, so the notice fails and is dead-lettered with its payload."""
    try:
        return channel.send(notice)
    except MessageTooLargeError:
        raise
    except PermanentError as exc:
        return {"rejected": type(exc).__name__, "reason": str(exc)}


def deliver(
    notice: Notice,
    channels: Sequence[NoticeChannel],
    *,
    selection: KindSelection,
    once: DeliverOnce = _run_directly,
) -> DeliveryReport:
    """Send the notice to every channel independently: one channel's failure never stops another."""
    if not should_send(notice, selection):
        return DeliveryReport(dedupe_key=notice.dedupe_key, kind=notice.kind, filtered=True)
    results: list[ChannelResult] = []
    for channel in channels:

        def send(item: Notice, channel: NoticeChannel = channel) -> dict[str, str]:
            return send_or_reject(channel, item)

        try:
            receipt = once(channel.name, notice, send)
        except (RetryableError, MessageTooLargeError) as exc:
            results.append(
                ChannelResult(
                    channel=channel.name, status="failed", error_type=type(exc).__name__, reason=str(exc)
                )
            )
            continue
        if "rejected" in receipt:
            results.append(
                ChannelResult(
                    channel=channel.name,
                    status="rejected",
                    error_type=receipt["rejected"],
                    reason=receipt.get("reason"),
                )
            )
        else:
            results.append(ChannelResult(channel=channel.name, status="sent", receipt=receipt))
    return DeliveryReport(dedupe_key=notice.dedupe_key, kind=notice.kind, results=tuple(results))
