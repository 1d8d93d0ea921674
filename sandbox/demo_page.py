"""One self-contained HTML page of what a scenario sent: each release as its Slack thread beside its SNS mail.

It is drawn from the very payloads the Slack stand-in and SNS received (the report's `slack_messages`,
as they stand after every update, its webhook posts, and its `sns.Publish` calls), so what the page shows
is what a channel would. Block Kit is drawn the way Slack draws it: headers, mrkdwn sections with code
blocks and links, grey context lines, buttons, dividers. A block or element type the page cannot draw is
shown as a red gap and listed in `DemoPage.gaps`, never skipped. No external asset: styles are inline.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The emoji shortcodes pushpilot writes, as the characters Slack shows for them.
EMOJI: Mapping[str, str] = {
    "package": "📦",
    "white_check_mark": "✅",
    "no_entry": "⛔",
    "grey_question": "❔",
    "rocket": "🚀",
    "hourglass_flowing_sand": "⏳",
    "eyes": "👀",
    "warning": "⚠️",
    "large_green_circle": "🟢",
    "x": "❌",
    "leftwards_arrow_with_hook": "↩️",
    "memo": "📝",
    "hammer_and_wrench": "🛠️",
    "black_square_for_stop": "⏹️",
    "world_map": "🗺️",
    "lock": "🔒",
    "no_entry_sign": "🚫",
    "rotating_light": "🚨",
    "information_source": "\u2139\ufe0f",
}

_STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;background:#f4f4f5;
 color:#1d1c1d}
h1{font-size:20px;margin:0;padding:16px 24px;background:#3f0e40;color:#fff}
.intro{padding:12px 24px 0;font-size:14px;line-height:1.5;max-width:72em}
.step h2{font-size:16px;margin:16px 24px 0;color:#1d1c1d;font-weight:700}
.later{font-size:13px;color:#616061;margin:6px 24px 0}
.release{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;padding:12px 24px}
.pane{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;overflow:hidden}
.pane h3{margin:0 0 8px;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#616061}
.msg{display:flex;gap:8px;padding:6px 0}
.avatar{width:36px;height:36px;border-radius:6px;background:#1264a3;color:#fff;font-weight:700;
 display:flex;align-items:center;justify-content:center;flex:none;font-size:14px}
.body{min-width:0;flex:1}
.who{font-weight:900;font-size:15px}.who small{font-weight:400;color:#616061;font-size:12px;margin-left:6px}
.replies{margin-left:44px;border-left:2px solid #e8e8e8;padding-left:10px}
.replies-count{color:#1264a3;font-size:13px;font-weight:700;margin:2px 0 4px 44px}
.bk-header{font-size:18px;font-weight:700;margin:4px 0}
.bk-section{font-size:15px;line-height:1.45;margin:4px 0;overflow-wrap:anywhere}
.bk-context{font-size:12px;color:#616061;margin:4px 0;display:flex;gap:6px;flex-wrap:wrap}
.bk-actions{display:flex;gap:8px;flex-wrap:wrap;margin:6px 0}
.bk-button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:3px 12px;font-size:13px;
 font-weight:700;color:#1d1c1d;text-decoration:none;background:#fff}
.bk-button.primary{background:#007a5a;border-color:#007a5a;color:#fff}
.bk-button.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.bk-divider{border:0;border-top:1px solid #ddd;margin:8px 0}
pre.code{background:#f8f8f8;border:1px solid #e0e0e0;border-radius:4px;padding:8px;margin:4px 0;
 font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
code{background:#f8f8f8;border:1px solid #e0e0e0;border-radius:3px;padding:0 3px;color:#e01e5a;font-size:12px}
a{color:#1264a3}
.fallback{font-size:12px;color:#616061;margin-top:2px}
.gap{background:#ffe0e0;color:#a00;border:1px dashed #a00;padding:4px;font-size:12px}
.mail{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;
 overflow-wrap:anywhere;border-top:1px solid #eee;padding-top:8px;margin:0 0 12px}
.subject{font-weight:700;font-size:13px;margin:8px 0 4px}
.none{color:#999;font-style:italic}
"""


@dataclass
class DemoPage:
    """Drawing state: the unknown block and element types met so far."""

    gaps: list[str] = field(default_factory=list)

    # --- mrkdwn --------------------------------------------------------------------------------------

    def mrkdwn(self, text: str) -> str:
        """Slack mrkdwn to HTML: ``` blocks, `code`, *bold*, _italic_, ~strike~, <url|label>, newlines.
        Text arrives Slack-escaped (&amp; &lt; &gt;); it is unescaped once and escaped again for HTML."""
        parts = re.split(r"```\n?(.*?)\n?```", text, flags=re.DOTALL)
        out: list[str] = []
        for index, part in enumerate(parts):
            if index % 2:
                out.append(f'<pre class="code">{html.escape(_unescape(part))}</pre>')
            else:
                out.append(self._inline(part))
        return "".join(out)

    def _inline(self, text: str) -> str:
        tokens = re.split(r"(<[^<>]+>|`[^`\n]+`)", text)
        out: list[str] = []
        for token in tokens:
            if token.startswith("<") and token.endswith(">"):
                out.append(_link_or_mention(token[1:-1]))
            elif token.startswith("`") and token.endswith("`") and len(token) > 1:
                out.append(f"<code>{html.escape(_unescape(token[1:-1]))}</code>")
            else:
                out.append(_emphasis(html.escape(_unescape(token))))
        return "".join(out).replace("\n", "<br>")

    # --- Block Kit ------------------------------------------------------------------------------------

    def text_object(self, obj: Mapping[str, Any]) -> str:
        kind = obj.get("type")
        if kind == "plain_text":
            value = str(obj.get("text", ""))
            return _emoji(html.escape(value)) if obj.get("emoji", True) else html.escape(value)
        if kind == "mrkdwn":
            return self.mrkdwn(str(obj.get("text", "")))
        return self._gap(f"text object {kind}")

    def element(self, element: Mapping[str, Any]) -> str:
        kind = str(element.get("type"))
        renderer = self._elements().get(kind)
        return renderer(element) if renderer else self._gap(f"element {kind}")

    def _button(self, element: Mapping[str, Any]) -> str:
        style = element.get("style")
        classes = "bk-button" + (f" {style}" if style in {"primary", "danger"} else "")
        label = self.text_object(element.get("text") or {})
        url = str(element.get("url") or "")
        href = f' href="{html.escape(url)}"' if url.startswith(("https://", "http://")) else ""
        return f'<a class="{classes}"{href}>{label}</a>'

    def _elements(self) -> dict[str, Callable[[Mapping[str, Any]], str]]:
        return {"plain_text": self.text_object, "mrkdwn": self.text_object, "button": self._button}

    def block(self, block: Mapping[str, Any]) -> str:
        kind = str(block.get("type"))
        renderer = self._blocks().get(kind)
        return renderer(block) if renderer else self._gap(f"block {kind}")

    def _blocks(self) -> dict[str, Callable[[Mapping[str, Any]], str]]:
        return {
            "header": lambda b: f'<div class="bk-header">{self.text_object(b.get("text") or {})}</div>',
            "section": self._section,
            "context": lambda b: (
                '<div class="bk-context">'
                + "".join(f"<span>{self.element(e)}</span>" for e in b.get("elements") or [])
                + "</div>"
            ),
            "actions": lambda b: (
                '<div class="bk-actions">'
                + "".join(self.element(e) for e in b.get("elements") or [])
                + "</div>"
            ),
            "divider": lambda _b: '<hr class="bk-divider">',
        }

    def _section(self, block: Mapping[str, Any]) -> str:
        inner = self.text_object(block["text"]) if block.get("text") else ""
        fields = "".join(f"<div>{self.text_object(f)}</div>" for f in block.get("fields") or [])
        accessory = self.element(block["accessory"]) if block.get("accessory") else ""
        return f'<div class="bk-section">{inner}{fields}{accessory}</div>'

    def block_types(self) -> frozenset[str]:
        return frozenset(self._blocks())

    def element_types(self) -> frozenset[str]:
        return frozenset(self._elements())

    def _gap(self, what: str) -> str:
        self.gaps.append(what)
        return f'<div class="gap">not drawn: {html.escape(what)}</div>'

    # --- messages, threads, mails ----------------------------------------------------------------------

    def message(self, message: Mapping[str, Any]) -> str:
        blocks = message.get("blocks") or []
        body = (
            "".join(self.block(block) for block in blocks)
            if blocks
            else self.mrkdwn(str(message.get("text", "")))
        )
        edited = " (edited)" if message.get("edited") else ""
        fallback = _emoji(html.escape(_unescape(str(message.get("text") or ""))))
        return (
            '<div class="msg"><div class="avatar">pp</div><div class="body">'
            f'<div class="who">pushpilot<small>APP{edited}</small></div>{body}'
            f'<div class="fallback" title="notification text">🔔 {fallback}</div></div></div>'
        )

    def thread(self, headline: Mapping[str, Any] | None, replies: list[Mapping[str, Any]]) -> str:
        parts = [self.message(headline)] if headline else []
        if replies:
            count = len(replies)
            parts.append(f'<div class="replies-count">{count} repl{"y" if count == 1 else "ies"}</div>')
            parts.append('<div class="replies">' + "".join(self.message(r) for r in replies) + "</div>")
        return "".join(parts) or '<p class="none">no Slack message</p>'

    def page(self, report: Mapping[str, Any], *, title: str = "pushpilot: what the channels received") -> str:
        stories = collect_stories(report)
        titles = {int(step["number"]): str(step.get("title") or "") for step in report.get("steps") or []}
        by_step: dict[int | None, list[Story]] = {}
        for story in stories:
            by_step.setdefault(story.step, []).append(story)
        sections: list[str] = []
        for number in sorted(n for n in by_step if n is not None):
            heading = f"Step {number}: {titles.get(number, '')}".rstrip(": ")
            sections.append(self._step_section(heading, by_step[number], titles))
        if None in by_step:
            # A report without its steps (or a message no step can be matched to): one section for them.
            sections.append(self._step_section("Messages not matched to a step", by_step[None], titles))
        body = "".join(sections) or '<p class="none">nothing was sent</p>'
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{_INTRO}{body}</body></html>\n"
        )

    def _step_section(self, heading: str, stories: Sequence[Story], titles: Mapping[int, str]) -> str:
        panes = "".join(
            f"{_later_steps(story, titles)}"
            '<div class="release"><div class="pane"><h3>Slack</h3>'
            f"{self.thread(story.headline, story.replies)}</div>"
            f'<div class="pane"><h3>SNS email</h3>{_mails(story.mails)}</div></div>'
            for story in stories
        )
        return f'<section class="step"><h2>{html.escape(heading)}</h2>{panes}</section>'


# What the reader is looking at and how to read it: the page is shown to people who never ran pushpilot.
_INTRO = (
    '<div class="intro"><p><b>What this is.</b> Every message pushpilot sent while the scenario ran, drawn'
    " from the very payloads the Slack stand-in and SNS received: on the left each Slack thread as a channel"
    " shows it, on the right the SNS email of the same notices.</p>"
    "<p><b>How to read it.</b> Sections follow the scenario's steps, in order, each headed by the step's"
    " title. A thread sits under the step that started it; what later steps said about the same release"
    " is a reply in that thread. A thread's headline is edited in place, so it shows where the release"
    " stands at the end: its emoji and stage word (verified, deploying, live, rolled back, …) are the"
    " summary, the replies the story.</p></div>"
)


def _later_steps(story: Story, titles: Mapping[int, str]) -> str:
    """The later steps whose messages went into this thread, so a reader can follow it by step."""
    later = sorted(step for step in story.steps if story.step is not None and step > story.step)
    if not later:
        return ""
    named = "; ".join(f"step {step}: {titles.get(step, '')}".rstrip(": ") for step in later)
    return f'<p class="later">Replies below also come from {html.escape(named)}.</p>'


def _mails(mails: Sequence[Mail]) -> str:
    return (
        "".join(
            f'<div class="subject">Subject: {html.escape(mail.subject)}</div>'
            f'<pre class="mail">{html.escape(mail.email)}</pre>'
            for mail in mails
        )
        or '<p class="none">no mail</p>'
    )


@dataclass
class Mail:
    subject: str
    email: str


@dataclass
class Story:
    """One release (or build, domain, error thread): its Slack thread and its SNS mails, in order."""

    key: str
    headline: Mapping[str, Any] | None = None
    replies: list[Mapping[str, Any]] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)
    # The scenario step that sent its first message; None when the report names no steps.
    step: int | None = None

    # Every step that added to it (the later ones reply in the thread).
    steps: set[int] = field(default_factory=set)

    def begins_in(self, step: int | None) -> None:
        if step is None:
            return
        self.steps.add(step)
        if self.step is None or step < self.step:
            self.step = step


def _thread_key_of(headline: Mapping[str, Any]) -> str | None:
    payload = (headline.get("metadata") or {}).get("event_payload") or {}
    key = str(payload.get("key") or "")
    # Headline posts carry `headline#<thread key>#<notice key>`.
    if key.startswith("headline#"):
        return key.split("#", 2)[1]
    return None


def collect_stories(report: Mapping[str, Any]) -> list[Story]:
    stories: dict[str, Story] = {}

    def story(key: str) -> Story:
        return stories.setdefault(key, Story(key=key))

    steps = report.get("steps") or []
    step_of_ts = {str(ts): int(step["number"]) for step in steps for ts in step.get("slack_ts") or []}

    def step_at(field_name: str, index: int) -> int | None:
        """The step whose [start, end) range of `calls` or `notifications` holds this index."""
        for step in steps:
            start, end = step.get(field_name) or (0, 0)
            if start <= index < end:
                return int(step["number"])
        return None

    messages = sorted(report.get("slack_messages") or [], key=lambda m: float(m["ts"]))
    tops = {m["ts"]: m for m in messages if m.get("thread_ts") in {None, m["ts"]}}
    by_ts: dict[str, str] = {}
    for ts, headline in tops.items():
        key = _thread_key_of(headline) or f"message {ts}"
        story(key).headline = headline
        story(key).begins_in(step_of_ts.get(str(ts)))
        by_ts[ts] = key
    for message in messages:
        parent = message.get("thread_ts")
        if parent and parent != message["ts"]:
            thread = story(by_ts.get(parent, f"thread {parent}"))
            thread.replies.append(message)
            thread.begins_in(step_of_ts.get(str(message["ts"])))
    # Incoming webhooks cannot thread: each post is a message of its own, in the order sent.
    for index, note in enumerate(report.get("notifications") or []):
        if note.get("channel") == "slack" and note.get("method") is None:
            post = story(f"webhook message {index + 1}")
            post.headline = note.get("payload") or {}
            post.begins_in(step_at("notifications", index))
    for index, call in enumerate(report.get("calls") or []):
        if call.get("service") != "sns" or call.get("operation") != "Publish":
            continue
        mail = _mail(call.get("params") or {})
        if mail is not None:
            story(mail[0]).mails.append(mail[1])
            story(mail[0]).begins_in(step_at("calls", index))
    return list(stories.values())


def _mail(params: Mapping[str, Any]) -> tuple[str, Mail] | None:
    try:
        structure = json.loads(str(params.get("Message", "")))
    except json.JSONDecodeError:
        return "sns", Mail(subject=str(params.get("Subject", "")), email=str(params.get("Message", "")))
    if not isinstance(structure, dict):
        return None
    try:
        default = json.loads(structure.get("default", "{}"))
        key = str(default["metadata"]["threadId"])
    except (json.JSONDecodeError, KeyError, TypeError):
        key = "sns"
    email = str(structure.get("email") or structure.get("default") or "")
    return key, Mail(subject=str(params.get("Subject", "")), email=email)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(text: str) -> str:
    return re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _emphasis(text: str) -> str:
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", text)
    text = re.sub(r"(?<![\w~])~([^~\n]+)~(?![\w~])", r"<s>\1</s>", text)
    return _emoji(text)


def _link_or_mention(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith(("!", "@", "#")):
        # Mentions are drawn as Slack highlights them, so a live one in a message is plain to see.
        return f'<b style="background:#fff3bf">@{html.escape(target.lstrip("!@#"))}</b>'
    if target.startswith(("https://", "http://", "mailto:")):
        return f'<a href="{html.escape(target)}">{html.escape(_unescape(label or target))}</a>'
    return html.escape(f"<{_unescape(inner)}>")


def write_demo_page(report: Mapping[str, Any], path: Path, *, title: str | None = None) -> list[str]:
    """Write the page; returns the gaps (block or element types it could not draw)."""
    page = DemoPage()
    text = page.page(report) if title is None else page.page(report, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return page.gaps


def block_and_element_types(blocks: Iterable[Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """The block types and element (and text object) types a message uses."""
    block_types: set[str] = set()
    element_types: set[str] = set()
    for block in blocks:
        block_types.add(str(block.get("type")))
        for key in ("text", "accessory"):
            if isinstance(block.get(key), Mapping):
                element_types.add(str(block[key].get("type")))
        for element in [*(block.get("elements") or []), *(block.get("fields") or [])]:
            element_types.add(str(element.get("type")))
            if isinstance(element.get("text"), Mapping):
                element_types.add(str(element["text"].get("type")))
    return block_types, element_types
