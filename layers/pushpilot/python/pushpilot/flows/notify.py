"""Delivering a notice: the notify function's settings, the noise filter and the per-channel delivery.

The decisions take values and return values. The renderers live in `pushpilot.core` (render_slack,
render_sns); the adapters that talk to Slack, SNS and DynamoDB live in `pushpilot.adapters` and are
handed in as `NoticeChannel`s, so the same code is asserted in tests and run in Lambda.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pushpilot.core.errors import PermanentError, RetryableError
from pushpilot.core.message_limits import MessageTooLargeError
from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.entry.settings import EnvSettings

_NOISY_SEVERITIES = frozenset({Severity.FAILURE, Severity.WARNING})


# --- settings and the noise filter ----------------------------------------------------------------


class KindSelection(BaseModel):
    """Which notices are sent: `all`, `failures` (failure and warning severities), and/or listed kinds."""

    model_config = ConfigDict(frozen=True)

    everything: bool = False
    failures: bool = False
    kinds: frozenset[NoticeKind] = frozenset()

    @classmethod
    def parse(cls, raw: str) -> KindSelection:
        words = [word.strip().lower() for word in raw.split(",") if word.strip()]
        if not words or "all" in words:
            return cls(everything=True)
        known = {kind.value for kind in NoticeKind}
        unknown = sorted(word for word in words if word != "failures" and word not in known)
        if unknown:
            valid = ", ".join(["all", "failures", *sorted(known)])
            raise ValueError(f"NOTIFY_KINDS has unknown kinds {unknown}; valid values: {valid}")
        return cls(
            failures="failures" in words,
            kinds=frozenset(NoticeKind(word) for word in words if word != "failures"),
        )


def should_send(notice: Notice, selection: KindSelection) -> bool:
    if selection.everything or notice.kind in selection.kinds:
        return True
    return selection.failures and notice.severity in _NOISY_SEVERITIES


SlackMode = Literal["bot", "webhook", "none"]


class NotifySettings(EnvSettings):
    """The notify function's configuration. Slack credentials are never an env var value: only the
    name of the secret (Secrets Manager) or of the SecureString parameter (SSM) that holds them. A
    Slack source that is missing is the Slack channel's error (`load_slack_credentials`), never the
    whole function's: SNS still gets every notice."""

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    slack_mode: SlackMode = Field(default="none", alias="SLACK_MODE")
    slack_secret_id: str | None = Field(default=None, alias="SLACK_SECRET_ID")
    slack_parameter_name: str | None = Field(default=None, alias="SLACK_PARAMETER_NAME")
    slack_channel: str | None = Field(default=None, alias="SLACK_CHANNEL")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_secret_max_age: int = Field(default=300, ge=0, alias="SLACK_SECRET_MAX_AGE")
    topic_arn: str | None = Field(default=None, alias="TOPIC_ARN")
    notify_kinds: KindSelection = Field(
        default_factory=lambda: KindSelection(everything=True), alias="NOTIFY_KINDS"
    )

    @field_validator("slack_mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("notify_kinds", mode="before")
    @classmethod
    def _parse_kinds(cls, value: object) -> object:
        return KindSelection.parse(value) if isinstance(value, str) else value


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
