"""Notices as one SNS publish: email text for the topic's mail subscribers and an Amazon Q Developer in
chat applications custom notification (formerly AWS Chatbot) for its chat channels.

Both parts travel in one message (MessageStructure=json), so together they must fit SNS's size limit;
every field is clipped to the limits in `pushpilot.core.message_limits`, the quoted log lines go first
when the whole is still too large, and a message that cannot fit is refused here rather than by SNS.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict

from pushpilot.core.message_limits import (
    EMAIL_MAX_DETAILS,
    EMAIL_MAX_SUMMARY,
    Q_MAX_DESCRIPTION,
    Q_MAX_NEXT_STEP,
    Q_MAX_SUMMARY,
    Q_MAX_TITLE,
    SNS_MAX_MESSAGE_BYTES,
    SNS_MAX_SUBJECT,
    MessageTooLargeError,
)
from pushpilot.core.notices import Notice
from pushpilot.core.plain_text import clip, clip_lines, strip_terminal
from pushpilot.core.redaction import mask_known_shapes, scrub_notice
from pushpilot.core.render_slack import notice_emoji, release_label, stage_label
from pushpilot.core.slack_text import code_line, slack_escape


def sns_subject(notice: Notice) -> str:
    """Printable ASCII, one line, under 100 characters, as SNS requires of a subject."""
    decomposed = unicodedata.normalize(
        "NFKD", f"[pushpilot] {mask_known_shapes(strip_terminal(notice.title))}"
    )
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    printable = "".join(char if char.isprintable() else " " for char in ascii_only)
    subject = " ".join(printable.split())
    if len(subject) > SNS_MAX_SUBJECT:
        subject = subject[: SNS_MAX_SUBJECT - 3].rstrip() + "..."
    return subject or "pushpilot notice"


def _email(notice: Notice, *, with_details: bool) -> str:
    title = notice.title
    parts = [title, "=" * min(len(title), 78), "", clip(notice.summary, EMAIL_MAX_SUMMARY)]
    if notice.release:
        release = notice.release
        parts += ["", f"Release:  {release_label(release)} ({release.short_digest})"]
        parts.append(f"Stage:    {stage_label(release.stage)}")
        if release.services:
            parts.append(f"Services: {', '.join(release.services)}")
    if notice.next_step:
        steps = clip(notice.next_step, EMAIL_MAX_SUMMARY).splitlines()
        parts += ["", "What to do next:", *(f"    {line}" for line in steps)]
    if notice.details and with_details:
        quoted = clip_lines(notice.details, EMAIL_MAX_DETAILS)
        parts += ["", "Details:", *(f"    {line}" for line in quoted.splitlines())]
        if notice.log_url and quoted != "\n".join(notice.details):
            parts.append(f"    Full log: {notice.log_url}")
    elif notice.details:
        parts += [
            "",
            f"Details: left out of this mail for size; full log: {notice.log_url or 'see the links'}",
        ]
    if notice.links:
        parts += ["", "Links:", *(f"- {link.label}: {link.url}" for link in notice.links)]
    parts += [
        "",
        f"Severity: {notice.severity.value} | Kind: {notice.kind.value} | Thread: {notice.thread_key}",
    ]
    return "\n".join(parts) + "\n"


def render_email(notice: Notice) -> str:
    """Readable plain text for the topic's email subscribers."""
    return _email(scrub_notice(notice), with_details=True)


def _q_developer(notice: Notice, *, with_details: bool) -> dict[str, Any]:
    # Q Developer shows client-markdown in Slack, which reads `<!channel>` as a mention: escape as for Slack.
    description = [slack_escape(notice.summary)]
    if notice.details and with_details:
        room = Q_MAX_DESCRIPTION - len(description[0]) - 16
        quoted = clip_lines([code_line(line) for line in notice.details], max(room, 200))
        description.append("```\n" + quoted + "\n```")
    if notice.links:
        description.append("\n".join(f"{slack_escape(link.label)}: {link.url}" for link in notice.links))
    content: dict[str, Any] = {
        "textType": "client-markdown",
        "title": clip(slack_escape(f"{notice_emoji(notice)} {notice.title}"), Q_MAX_TITLE),
        "description": clip("\n\n".join(description), Q_MAX_DESCRIPTION),
        "keywords": [notice.kind.value, notice.severity.value],
    }
    if notice.next_step:
        content["nextSteps"] = [clip(slack_escape(notice.next_step), Q_MAX_NEXT_STEP)]
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
            "summary": clip(slack_escape(notice.summary), Q_MAX_SUMMARY),
            "eventType": notice.kind.value,
            "relatedResources": related,
            "additionalContext": context,
        },
    }


def render_q_developer(notice: Notice) -> dict[str, Any]:
    """An Amazon Q Developer custom notification: version "1.0", source "custom",
    content.{textType,title,description,nextSteps,keywords},
    metadata.{threadId,summary,eventType,relatedResources,additionalContext}."""
    return _q_developer(scrub_notice(notice), with_details=True)


class SnsMessage(BaseModel):
    """What `sns.publish` sends: MessageStructure=json with `default` (Q Developer) and `email` (text)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    message: str
    attributes: dict[str, str]

    def size(self) -> int:
        """Bytes counted against SNS's limit: the message, its subject and its attributes."""
        attributes = sum(
            len(name) + len("String") + len(value.encode()) for name, value in self.attributes.items()
        )
        return len(self.message.encode()) + len(self.subject.encode()) + attributes


def _sns_message(notice: Notice, *, with_details: bool) -> SnsMessage:
    structure = {
        "default": json.dumps(_q_developer(notice, with_details=with_details), sort_keys=True),
        "email": _email(notice, with_details=with_details),
    }
    return SnsMessage(
        subject=sns_subject(notice),
        message=json.dumps(structure, sort_keys=True),
        # Subscription filter policies can select on these, e.g. only failures to the pager address.
        attributes={"kind": notice.kind.value, "severity": notice.severity.value},
    )


def render_sns(notice: Notice) -> SnsMessage:
    notice = scrub_notice(notice)
    message = _sns_message(notice, with_details=True)
    if message.size() > SNS_MAX_MESSAGE_BYTES:
        message = _sns_message(notice, with_details=False)
    if message.size() > SNS_MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(
            f"notice {notice.dedupe_key} renders to {message.size()} bytes,"
            f" over SNS's limit of {SNS_MAX_MESSAGE_BYTES}"
        )
    return message
