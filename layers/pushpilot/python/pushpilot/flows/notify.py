"""Notices become messages: Slack Block Kit, SNS email text and Amazon Q Developer custom notifications.

Everything here is pure: rendering, the noise filter and the per-channel delivery decision take values
and return values. The adapters that talk to Slack, SNS and DynamoDB live in `pushpilot.adapters` and are
handed in as `NoticeChannel`s, so the same code is asserted in tests and run in Lambda.

Slack messages use blocks only, with the status emoji in the text: attachments (the colour bar) are
Slack's legacy format and fold long content behind "Show more". A top-level `text` is always set because
Slack uses it for notifications and screen readers when blocks are present.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pushpilot.core.errors import PermanentError, RetryableError
from pushpilot.core.notices import Link, Notice, NoticeKind, ReleaseHeadline, Severity
from pushpilot.entry.settings import EnvSettings

Block = dict[str, Any]

# Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_URL = 3000
MAX_ACTION_ELEMENTS = 25
# Slack shows `text` in notifications only; keeping it short keeps the whole payload small.
MAX_FALLBACK_TEXT = 3000
# SNS: "Subjects must be ASCII text ... no line breaks or control characters, and less than 100 characters".
MAX_SUBJECT = 99

KIND_EMOJI: Mapping[NoticeKind, str] = {
    NoticeKind.PUSHED: ":package:",
    NoticeKind.VERIFIED: ":white_check_mark:",
    NoticeKind.REJECTED: ":no_entry:",
    NoticeKind.UNVERIFIED: ":grey_question:",
    NoticeKind.DEPLOYING: ":rocket:",
    NoticeKind.QUEUED: ":hourglass_flowing_sand:",
    NoticeKind.AUTO_DEPLOY_TRACKED: ":eyes:",
    NoticeKind.AUTO_DEPLOY_WARNING: ":warning:",
    NoticeKind.LIVE: ":large_green_circle:",
    NoticeKind.FAILED: ":x:",
    NoticeKind.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    NoticeKind.DRY_RUN: ":memo:",
    NoticeKind.POLICY: ":compass:",
    NoticeKind.BUILD_STARTED: ":hammer_and_wrench:",
    NoticeKind.BUILD_SUCCEEDED: ":white_check_mark:",
    NoticeKind.BUILD_FAILED: ":x:",
    NoticeKind.BUILD_STOPPED: ":black_square_for_stop:",
    NoticeKind.DOMAIN_PLANNED: ":world_map:",
    NoticeKind.DOMAIN_CONFLICT: ":warning:",
    NoticeKind.DOMAIN_VALIDATED: ":lock:",
    NoticeKind.DOMAIN_BLOCKED: ":no_entry_sign:",
    NoticeKind.ERROR: ":rotating_light:",
}

SEVERITY_EMOJI: Mapping[Severity, str] = {
    Severity.INFO: ":information_source:",
    Severity.SUCCESS: ":white_check_mark:",
    Severity.WARNING: ":warning:",
    Severity.FAILURE: ":x:",
}

# The stages a release headline moves through; an unknown stage falls back to the severity's emoji.
STAGE_EMOJI: Mapping[str, str] = {
    "pushed": ":package:",
    "verified": ":white_check_mark:",
    "unverified": ":grey_question:",
    "rejected": ":no_entry:",
    "queued": ":hourglass_flowing_sand:",
    "deploying": ":rocket:",
    "live": ":large_green_circle:",
    "failed": ":x:",
    "rolled_back": ":leftwards_arrow_with_hook:",
    "dry_run": ":memo:",
}

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
    name of the secret (Secrets Manager) or of the SecureString parameter (SSM) that holds them."""

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

    @model_validator(mode="after")
    def _slack_source(self) -> NotifySettings:
        if self.slack_mode != "none" and bool(self.slack_secret_id) == bool(self.slack_parameter_name):
            raise ValueError(
                f"SLACK_MODE={self.slack_mode} needs exactly one of SLACK_SECRET_ID or SLACK_PARAMETER_NAME"
            )
        return self


# --- text helpers -----------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _more(count: int) -> str:
    return f"… {count} more line{'s' if count != 1 else ''}"


def clip_lines(lines: Sequence[str], budget: int) -> str:
    """Keep whole lines from the top while they fit in `budget`, then say how many were left out.
    Hand-written: textwrap.shorten collapses the newlines that make log lines readable."""
    whole = "\n".join(lines)
    if len(whole) <= budget:
        return whole
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = len(line) + (1 if kept else 0)
        if used + cost + 1 + len(_more(len(lines) - index)) > budget:
            break
        kept.append(line)
        used += cost
    left_out = len(lines) - len(kept)
    if not kept:
        if left_out == 1:
            return clip(lines[0], budget)
        # Not even the first line fits whole: show its beginning rather than nothing.
        room = budget - len(_more(left_out - 1)) - 1
        if room > 1:
            kept, left_out = [clip(lines[0], room)], left_out - 1
    clipped = "\n".join([*kept, _more(left_out)])
    return clipped if len(clipped) <= budget else clip(whole, budget)


def stage_label(stage: str) -> str:
    return stage.replace("_", " ")


def release_label(release: ReleaseHeadline) -> str:
    return f"{release.repository}:{release.tag}" if release.tag else f"{release.repository} (untagged)"


def notice_emoji(notice: Notice) -> str:
    return KIND_EMOJI.get(notice.kind, SEVERITY_EMOJI[notice.severity])


def stage_emoji(release: ReleaseHeadline, severity: Severity) -> str:
    return STAGE_EMOJI.get(release.stage, SEVERITY_EMOJI[severity])


def occurred_at_millis(notice: Notice) -> int | None:
    """The notice's time as epoch milliseconds, to order headline updates; None when unparseable."""
    try:
        moment = datetime.fromisoformat(notice.occurred_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


# --- Slack ---------------------------------------------------------------------------------------------


class SlackMessage(BaseModel):
    """A chat.postMessage / chat.update / incoming-webhook body: fallback text plus blocks."""

    model_config = ConfigDict(frozen=True)

    text: str
    blocks: tuple[Block, ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [dict(block) for block in self.blocks]}


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def _code_section(heading: str, lines: Sequence[str]) -> Block:
    opening, closing = f"*{heading}*\n```\n", "\n```"
    body = clip_lines([slack_escape(line) for line in lines], MAX_SECTION_TEXT - len(opening) - len(closing))
    return _mrkdwn(f"{opening}{body}{closing}")


def _buttons(links: Iterable[Link]) -> Block | None:
    elements: list[Block] = [
        {
            "type": "button",
            "action_id": f"link-{index}",
            "text": {"type": "plain_text", "text": clip(link.label, MAX_BUTTON_TEXT), "emoji": True},
            "url": link.url,
        }
        for index, link in enumerate(links)
        if len(link.url) <= MAX_BUTTON_URL
    ][:MAX_ACTION_ELEMENTS]
    return {"type": "actions", "elements": elements} if elements else None


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}]}


def _within_limits(blocks: Sequence[Block]) -> tuple[Block, ...]:
    return tuple(blocks[:MAX_BLOCKS])


def _reply_blocks(notice: Notice) -> list[Block]:
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": clip(f"{notice_emoji(notice)} {notice.title}", MAX_HEADER_TEXT),
                "emoji": True,
            },
        },
        _mrkdwn(slack_escape(notice.summary)),
    ]
    if notice.next_step:
        blocks.append(_code_section("What to do next", notice.next_step.splitlines()))
    if notice.details:
        blocks.append(_code_section("Details", notice.details))
    buttons = _buttons(notice.links)
    if buttons:
        blocks.append(buttons)
    facts = [f"*{notice.severity.value.capitalize()}*", f"`{notice.kind.value}`"]
    if notice.release:
        facts.append(f"{slack_escape(release_label(notice.release))} `{notice.release.short_digest}`")
    blocks.append(_context(" · ".join(facts)))
    return blocks


def _fallback(notice: Notice) -> str:
    return clip(f"{notice_emoji(notice)} {notice.title}: {notice.summary}", MAX_FALLBACK_TEXT)


def render_slack_reply(notice: Notice) -> SlackMessage:
    """One step of the story: posted in the release's thread (bot mode)."""
    return SlackMessage(text=_fallback(notice), blocks=_within_limits(_reply_blocks(notice)))


def _headline_blocks(notice: Notice) -> list[Block]:
    release = notice.release
    if release is None:
        # Builds, domains and errors have no release: their thread opens with the notice itself.
        return [
            _mrkdwn(f"{notice_emoji(notice)} *{slack_escape(notice.title)}*"),
            _context(f"Latest: {slack_escape(clip(notice.summary, 500))}"),
        ]
    emoji = stage_emoji(release, notice.severity)
    lines = [
        f"{emoji} *{slack_escape(release_label(release))}*  `{release.short_digest}`",
        f"*Stage:* {stage_label(release.stage)}",
    ]
    if release.services:
        lines.append(f"*Services:* {slack_escape(', '.join(release.services))}")
    return [
        _mrkdwn("\n".join(lines)),
        _context(f"Latest: {notice_emoji(notice)} {slack_escape(notice.title)}"),
    ]


def render_slack_headline(notice: Notice) -> SlackMessage:
    """The thread's first message, edited in place as the release moves from stage to stage."""
    release = notice.release
    if release is None:
        text = f"{notice_emoji(notice)} {notice.title}"
    else:
        text = (
            f"{stage_emoji(release, notice.severity)} {release_label(release)}: {stage_label(release.stage)}"
        )
    return SlackMessage(text=clip(text, MAX_FALLBACK_TEXT), blocks=_within_limits(_headline_blocks(notice)))


def render_slack_webhook(notice: Notice) -> SlackMessage:
    """Incoming webhooks cannot thread: every step is a message that opens with the release headline."""
    blocks = [*_headline_blocks(notice)[:1], {"type": "divider"}, *_reply_blocks(notice)]
    return SlackMessage(text=_fallback(notice), blocks=_within_limits(blocks))


# --- SNS: email text and Amazon Q Developer custom notifications ---------------------------------------


def sns_subject(notice: Notice) -> str:
    """Printable ASCII, one line, under 100 characters, as SNS requires of a subject."""
    decomposed = unicodedata.normalize("NFKD", f"[pushpilot] {notice.title}")
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    printable = "".join(char if char.isprintable() else " " for char in ascii_only)
    subject = " ".join(printable.split())
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 3].rstrip() + "..."
    return subject or "pushpilot notice"


def render_email(notice: Notice) -> str:
    """Readable plain text for the topic's email subscribers."""
    parts = [notice.title, "=" * min(len(notice.title), 78), "", notice.summary]
    if notice.release:
        release = notice.release
        parts += ["", f"Release:  {release_label(release)} ({release.short_digest})"]
        parts.append(f"Stage:    {stage_label(release.stage)}")
        if release.services:
            parts.append(f"Services: {', '.join(release.services)}")
    if notice.next_step:
        parts += ["", "What to do next:", *(f"    {line}" for line in notice.next_step.splitlines())]
    if notice.details:
        parts += ["", "Details:", *(f"    {line}" for line in clip_lines(notice.details, 6000).splitlines())]
    if notice.links:
        parts += ["", "Links:", *(f"- {link.label}: {link.url}" for link in notice.links)]
    parts += [
        "",
        f"Severity: {notice.severity.value} | Kind: {notice.kind.value} | Thread: {notice.thread_key}",
    ]
    return "\n".join(parts) + "\n"


def render_q_developer(notice: Notice) -> dict[str, Any]:
    """An Amazon Q Developer in chat applications custom notification (formerly AWS Chatbot):
    version "1.0", source "custom", content.{textType,title,description,nextSteps,keywords},
    metadata.{threadId,summary,eventType,relatedResources,additionalContext}."""
    description = [notice.summary]
    if notice.details:
        description.append("```\n" + clip_lines(notice.details, MAX_SECTION_TEXT) + "\n```")
    if notice.links:
        description.append("\n".join(f"{link.label}: {link.url}" for link in notice.links))
    content: dict[str, Any] = {
        "textType": "client-markdown",
        "title": f"{notice_emoji(notice)} {notice.title}",
        "description": "\n\n".join(description),
        "keywords": [notice.kind.value, notice.severity.value],
    }
    if notice.next_step:
        content["nextSteps"] = [notice.next_step]
    context: dict[str, str] = {"severity": notice.severity.value}
    related: list[str] = []
    if notice.release:
        release = notice.release
        content["keywords"].append(release.repository)
        related = [release.release_id, *release.services]
        context |= {"repository": release.repository, "digest": release.digest, "stage": release.stage}
        if release.tag:
            context["tag"] = release.tag
        if release.services:
            context["services"] = ", ".join(release.services)
    return {
        "version": "1.0",
        "source": "custom",
        "id": notice.dedupe_key,
        "content": content,
        "metadata": {
            "threadId": notice.thread_key,
            "summary": clip(notice.summary, 500),
            "eventType": notice.kind.value,
            "relatedResources": related,
            "additionalContext": context,
        },
    }


class SnsMessage(BaseModel):
    """What `sns.publish` sends: MessageStructure=json with `default` (Q Developer) and `email` (text)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    message: str
    attributes: dict[str, str]


def render_sns(notice: Notice) -> SnsMessage:
    structure = {
        "default": json.dumps(render_q_developer(notice), sort_keys=True),
        "email": render_email(notice),
    }
    return SnsMessage(
        subject=sns_subject(notice),
        message=json.dumps(structure, sort_keys=True),
        # Subscription filter policies can select on these, e.g. only failures to the pager address.
        attributes={"kind": notice.kind.value, "severity": notice.severity.value},
    )


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

    @property
    def rejected_channels(self) -> tuple[str, ...]:
        return tuple(result.channel for result in self.results if result.status == "rejected")


# Runs `send` at most once per (channel, notice) across redeliveries; returns what the first run returned.
DeliverOnce = Callable[[str, Notice, Callable[[Notice], dict[str, str]]], dict[str, str]]


def _run_directly(channel: str, notice: Notice, send: Callable[[Notice], dict[str, str]]) -> dict[str, str]:
    del channel
    return send(notice)


def send_or_reject(channel: NoticeChannel, notice: Notice) -> dict[str, str]:
    """A permanent failure is an answer, not an error: it is recorded as this channel's (final) result,
    so a redelivery of the notice does not knock on a door that stays shut."""
    try:
        return channel.send(notice)
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
        except RetryableError as exc:
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
