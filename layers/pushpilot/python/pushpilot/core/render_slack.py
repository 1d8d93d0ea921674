"""Notices as Slack Block Kit messages: a thread's headline, its replies, and webhook messages.

Messages use blocks only, with the status emoji in the text: attachments (the colour bar) are Slack's
legacy format and fold long content behind "Show more". A top-level `text` is always set because Slack
uses it for notifications and screen readers when blocks are present; it is escaped like the blocks.
Every field is clipped to the limits in `pushpilot.core.message_limits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from pushpilot.core.message_limits import (
    SLACK_MAX_ACTION_ELEMENTS,
    SLACK_MAX_BLOCKS,
    SLACK_MAX_BLOCKS_TOTAL_TEXT,
    SLACK_MAX_BUTTON_TEXT,
    SLACK_MAX_BUTTON_URL,
    SLACK_MAX_FALLBACK_TEXT,
    SLACK_MAX_HEADER_TEXT,
    SLACK_MAX_SECTION_TEXT,
)
from pushpilot.core.notices import Link, Notice, NoticeKind, ReleaseHeadline, Severity
from pushpilot.core.plain_text import clip, clip_lines
from pushpilot.core.redaction import scrub_notice
from pushpilot.core.slack_text import code_line, inline_code, slack_escape, slack_link

Block = dict[str, Any]

KIND_EMOJI: Mapping[NoticeKind, str] = {
    NoticeKind.VERIFIED: ":white_check_mark:",
    NoticeKind.REJECTED: ":no_entry:",
    NoticeKind.UNVERIFIED: ":grey_question:",
    NoticeKind.DEPLOYING: ":rocket:",
    NoticeKind.QUEUED: ":hourglass_flowing_sand:",
    NoticeKind.AUTO_DEPLOY_TRACKED: ":eyes:",
    NoticeKind.LIVE: ":large_green_circle:",
    NoticeKind.FAILED: ":x:",
    NoticeKind.ROLLING_BACK: ":leftwards_arrow_with_hook:",
    NoticeKind.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    NoticeKind.ROLLBACK_FAILED: ":rotating_light:",
    NoticeKind.SUPERSEDED: ":fast_forward:",
    NoticeKind.STUCK: ":hourglass:",
    NoticeKind.UNCONFIRMED: ":grey_question:",
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
    NoticeKind.DOMAIN_ADVICE: ":bulb:",
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
    "partly_verified": ":warning:",
    "unverified": ":grey_question:",
    "rejected": ":no_entry:",
    "queued": ":hourglass_flowing_sand:",
    "deploying": ":rocket:",
    "live": ":large_green_circle:",
    "failed": ":x:",
    "rolling_back": ":leftwards_arrow_with_hook:",
    "rolled_back": ":leftwards_arrow_with_hook:",
    "rollback_failed": ":rotating_light:",
    "dry_run": ":memo:",
    "unconfirmed": ":grey_question:",
}

# The block and element types these renderers produce (the demo page renders each of them).
BLOCK_TYPES: frozenset[str] = frozenset({"header", "section", "context", "actions", "divider"})
ELEMENT_TYPES: frozenset[str] = frozenset({"mrkdwn", "plain_text", "button"})


def stage_label(stage: str) -> str:
    return stage.replace("_", " ")


def release_label(release: ReleaseHeadline) -> str:
    return f"{release.repository}:{release.tag}" if release.tag else f"{release.repository} (untagged)"


def notice_emoji(notice: Notice) -> str:
    return KIND_EMOJI.get(notice.kind, SEVERITY_EMOJI[notice.severity])


def stage_emoji(release: ReleaseHeadline, severity: Severity) -> str:
    return STAGE_EMOJI.get(release.stage, SEVERITY_EMOJI[severity])


class SlackMessage(BaseModel):
    """A chat.postMessage / chat.update / incoming-webhook body: fallback text plus blocks."""

    model_config = ConfigDict(frozen=True)

    text: str
    blocks: tuple[Block, ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [dict(block) for block in self.blocks]}


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SLACK_MAX_SECTION_TEXT)}}


def _code_section(
    heading: str, lines: Sequence[str], *, budget: int = SLACK_MAX_SECTION_TEXT, log_url: str | None = None
) -> Block:
    """Quoted lines in a ``` block; when they do not all fit, the block ends by saying how many were left
    out and the full log's link follows it."""
    opening, closing = f"*{heading}*\n```\n", "\n```"
    more = f"\n{slack_link(log_url, 'Full log')}" if log_url else ""
    room = min(budget, SLACK_MAX_SECTION_TEXT) - len(opening) - len(closing) - len(more)
    quoted = [code_line(line) for line in lines]
    body = clip_lines(quoted, max(room, 40))
    return _mrkdwn(f"{opening}{body}{closing}{more if body != chr(10).join(quoted) else ''}")


def _buttons(links: Iterable[Link]) -> Block | None:
    elements: list[Block] = [
        {
            "type": "button",
            "action_id": f"link-{index}",
            "text": {"type": "plain_text", "text": clip(link.label, SLACK_MAX_BUTTON_TEXT), "emoji": True},
            "url": link.url,
        }
        for index, link in enumerate(links)
        if link.url.startswith(("https://", "http://")) and len(link.url) <= SLACK_MAX_BUTTON_URL
    ][:SLACK_MAX_ACTION_ELEMENTS]
    return {"type": "actions", "elements": elements} if elements else None


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SLACK_MAX_SECTION_TEXT)}]}


def _text_size(block: Block) -> int:
    size = len(block.get("text", {}).get("text", ""))
    for element in block.get("elements", ()):
        text = element.get("text")
        size += len(text.get("text", "") if isinstance(text, dict) else text or "")
    return size


def _within_limits(blocks: Sequence[Block]) -> tuple[Block, ...]:
    return tuple(blocks[:SLACK_MAX_BLOCKS])


def _reply_blocks(notice: Notice, *, spent: int = 0) -> list[Block]:
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": clip(f"{notice_emoji(notice)} {notice.title}", SLACK_MAX_HEADER_TEXT),
                "emoji": True,
            },
        },
        _mrkdwn(slack_escape(notice.summary)),
    ]
    if notice.next_step:
        blocks.append(_code_section("What to do next", notice.next_step.splitlines()))
    tail: list[Block] = []
    buttons = _buttons(notice.links)
    if buttons:
        tail.append(buttons)
    facts = [f"*{notice.severity.value.capitalize()}*", f"`{notice.kind.value}`"]
    if notice.release:
        facts.append(
            f"{slack_escape(release_label(notice.release))} {inline_code(notice.release.short_digest)}"
        )
    tail.append(_context(" · ".join(facts)))
    if notice.details:
        # The log lines get what the whole-message budget leaves once everything else is counted.
        used = spent + sum(_text_size(block) for block in (*blocks, *tail))
        blocks.append(
            _code_section(
                "Details", notice.details, budget=SLACK_MAX_BLOCKS_TOTAL_TEXT - used, log_url=notice.log_url
            )
        )
    return [*blocks, *tail]


def _fallback(notice: Notice) -> str:
    return clip(
        slack_escape(f"{notice_emoji(notice)} {notice.title}: {notice.summary}"), SLACK_MAX_FALLBACK_TEXT
    )


def render_slack_reply(notice: Notice) -> SlackMessage:
    """One step of the story: posted in the release's thread (bot mode)."""
    notice = scrub_notice(notice)
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
        f"{emoji} *{slack_escape(release_label(release))}*  {inline_code(release.short_digest)}",
        f"*Stage:* {slack_escape(stage_label(release.stage))}",
    ]
    if release.services:
        lines.append(f"*Services:* {slack_escape(', '.join(release.services))}")
    return [
        _mrkdwn("\n".join(lines)),
        _context(f"Latest: {notice_emoji(notice)} {slack_escape(notice.title)}"),
    ]


def render_slack_headline(notice: Notice) -> SlackMessage:
    """The thread's first message, edited in place as the release moves from stage to stage."""
    notice = scrub_notice(notice)
    release = notice.release
    if release is None:
        text = f"{notice_emoji(notice)} {notice.title}"
    else:
        text = (
            f"{stage_emoji(release, notice.severity)} {release_label(release)}: {stage_label(release.stage)}"
        )
    return SlackMessage(
        text=clip(slack_escape(text), SLACK_MAX_FALLBACK_TEXT),
        blocks=_within_limits(_headline_blocks(notice)),
    )


def render_slack_webhook(notice: Notice) -> SlackMessage:
    """Incoming webhooks cannot thread: every step is a message that opens with the release headline."""
    notice = scrub_notice(notice)
    opening = _headline_blocks(notice)[:1]
    replies = _reply_blocks(notice, spent=sum(_text_size(block) for block in opening))
    return SlackMessage(
        text=_fallback(notice), blocks=_within_limits([*opening, {"type": "divider"}, *replies])
    )
