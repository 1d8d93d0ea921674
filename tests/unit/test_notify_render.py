"""Rendering of every notice kind in every mode, against golden files; the noise filter; SNS limits.

The golden files render notices real flows queued in sandbox runs (`golden/notify/notices.json`, kept
by tests/e2e/test_golden_notices.py). Regenerate both with `PUSHPILOT_UPDATE_GOLDEN=1 .venv/bin/pytest
tests/e2e/test_golden_notices.py tests/unit/test_notify_render.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushpilot.adapters.slack import load_slack_credentials
from pushpilot.core.message_limits import (
    SLACK_MAX_BLOCKS as MAX_BLOCKS,
)
from pushpilot.core.message_limits import (
    SLACK_MAX_HEADER_TEXT as MAX_HEADER_TEXT,
)
from pushpilot.core.message_limits import (
    SLACK_MAX_SECTION_TEXT as MAX_SECTION_TEXT,
)
from pushpilot.core.notice_selection import KindSelection, should_send
from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.core.plain_text import clip_lines
from pushpilot.core.render_slack import (
    KIND_EMOJI,
    render_slack_headline,
    render_slack_reply,
    render_slack_webhook,
)
from pushpilot.core.render_sns import render_email, render_q_developer, render_sns, sns_subject
from pushpilot.core.slack_text import slack_escape
from pushpilot.entry.settings import NotifySettings, SettingsError
from tests.unit.notify_samples import SAMPLES, sample

GOLDEN = Path(__file__).parent / "golden" / "notify"
UPDATE = os.environ.get("PUSHPILOT_UPDATE_GOLDEN") == "1"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _email(notice: Notice) -> str:
    return f"Subject: {sns_subject(notice)}\n\n{render_email(notice)}"


MODES: dict[str, tuple[str, Callable[[Notice], str]]] = {
    "slack_reply": ("json", lambda notice: _json(render_slack_reply(notice).payload())),
    "slack_headline": ("json", lambda notice: _json(render_slack_headline(notice).payload())),
    "slack_webhook": ("json", lambda notice: _json(render_slack_webhook(notice).payload())),
    "sns_email": ("txt", _email),
    "q_developer": ("json", lambda notice: _json(render_q_developer(notice))),
}


# Notices real flows queued in the sandbox (tests/e2e/test_golden_notices.py captures them).
REAL: dict[str, Any] = json.loads((GOLDEN / "notices.json").read_text(encoding="utf-8"))
# Kinds with no golden file (none now: a certificate ACM fails for a CAA record is diagnosed at once, so
# a sandbox story reaches the blocked notice). The renderers' structure tests cover every kind.
WITHOUT_GOLDEN: frozenset[NoticeKind] = frozenset()


def real_notice(kind: str) -> Notice:
    return Notice.model_validate(REAL[kind]["notice"])


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("kind", sorted(REAL))
def test_rendering_matches_golden(kind: str, mode: str) -> None:
    extension, render = MODES[mode]
    rendered = render(real_notice(kind))
    path = GOLDEN / f"{kind}.{mode}.{extension}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with PUSHPILOT_UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8")


def test_every_kind_has_a_golden_file_or_a_reason_not_to() -> None:
    assert {NoticeKind(kind) for kind in REAL} | WITHOUT_GOLDEN == set(NoticeKind)
    assert not {NoticeKind(kind) for kind in REAL} & WITHOUT_GOLDEN
    stale = sorted(
        path.name
        for path in GOLDEN.iterdir()
        if path.name != "notices.json" and path.name.split(".", 1)[0] not in REAL
    )
    assert stale == []


def test_every_kind_has_a_sample_and_an_emoji() -> None:
    assert set(SAMPLES) == set(NoticeKind)
    assert set(KIND_EMOJI) == set(NoticeKind)


# --- Slack structure and limits -------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(NoticeKind), ids=str)
def test_every_slack_message_has_fallback_text_and_valid_blocks(kind: NoticeKind) -> None:
    notice = sample(kind)
    for message in (render_slack_reply(notice), render_slack_headline(notice), render_slack_webhook(notice)):
        assert message.text.strip()
        assert 0 < len(message.blocks) <= MAX_BLOCKS
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
            if block["type"] == "header":
                assert block["text"]["type"] == "plain_text"
                assert len(block["text"]["text"]) <= MAX_HEADER_TEXT


def test_next_step_is_a_code_block_in_slack() -> None:
    notice = sample(NoticeKind.REJECTED)
    sections = [b["text"]["text"] for b in render_slack_reply(notice).blocks if b["type"] == "section"]
    assert any("```" in text and "docker buildx build --platform linux/amd64" in text for text in sections)


def test_links_become_buttons() -> None:
    notice = sample(NoticeKind.LIVE)
    actions = [b for b in render_slack_reply(notice).blocks if b["type"] == "actions"]
    assert [e["url"] for e in actions[0]["elements"]] == [link.url for link in notice.links]


def test_user_text_is_escaped_for_mrkdwn() -> None:
    notice = sample(NoticeKind.ROLLED_BACK)
    summary = render_slack_reply(notice).blocks[1]["text"]["text"]
    assert "&lt;all&gt;" in summary
    assert "<all>" not in summary


def test_webhook_message_opens_with_the_release_headline() -> None:
    notice = sample(NoticeKind.FAILED)
    first = render_slack_webhook(notice).blocks[0]
    assert first == render_slack_headline(notice).blocks[0]
    assert "shop/checkout-api:v2.14.0" in first["text"]["text"]
    assert "sha256:4f1c9d2e7a8b" in first["text"]["text"]


def test_headline_follows_the_release_stage() -> None:
    deploying = render_slack_headline(sample(NoticeKind.DEPLOYING)).blocks[0]["text"]["text"]
    live = render_slack_headline(sample(NoticeKind.LIVE)).blocks[0]["text"]["text"]
    assert ":rocket:" in deploying
    assert "*Stage:* deploying" in deploying
    assert ":large_green_circle:" in live
    assert "*Stage:* live" in live


def test_huge_details_are_truncated_within_one_section() -> None:
    lines = tuple(f"Step {n}: " + "x" * 120 for n in range(400))
    notice = sample(NoticeKind.BUILD_FAILED).model_copy(update={"details": lines})
    details = [
        b for b in render_slack_reply(notice).blocks if "*Details*" in b.get("text", {}).get("text", "")
    ]
    text = details[0]["text"]["text"]
    assert len(text) <= MAX_SECTION_TEXT
    assert text.startswith("*Details*\n```\nStep 0:")
    assert text.endswith("…(truncated, 378 more lines)\n```")


@given(
    lines=st.lists(st.text(min_size=0, max_size=400), min_size=0, max_size=60),
    budget=st.integers(min_value=20, max_value=3000),
)
def test_clip_lines_never_exceeds_its_budget(lines: list[str], budget: int) -> None:
    clipped = clip_lines(lines, budget)
    assert len(clipped) <= budget
    if len("\n".join(lines)) <= budget:
        assert clipped == "\n".join(lines)


# --- SNS and Q Developer -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(NoticeKind), ids=str)
def test_q_developer_has_the_documented_fields(kind: NoticeKind) -> None:
    notice = sample(kind)
    q = render_q_developer(notice)
    assert q["version"] == "1.0"
    assert q["source"] == "custom"
    assert q["id"] == notice.dedupe_key
    assert q["content"]["textType"] == "client-markdown"
    assert slack_escape(notice.title) in q["content"]["title"]
    assert slack_escape(notice.summary) in q["content"]["description"]
    assert q["metadata"]["threadId"] == notice.thread_key
    assert q["metadata"]["eventType"] == kind.value
    assert all(isinstance(value, str) for value in q["metadata"]["additionalContext"].values())
    assert all(isinstance(item, str) for item in q["metadata"]["relatedResources"])
    assert set(q) <= {"version", "source", "id", "content", "metadata"}
    assert set(q["content"]) <= {"textType", "title", "description", "nextSteps", "keywords"}
    assert set(q["metadata"]) <= {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}


def test_sns_message_is_json_structure_with_default_and_email() -> None:
    notice = sample(NoticeKind.REJECTED)
    message = render_sns(notice)
    structure = json.loads(message.message)
    assert set(structure) == {"default", "email"}
    assert json.loads(structure["default"]) == render_q_developer(notice)
    assert structure["email"] == render_email(notice)
    assert message.attributes == {"kind": "rejected", "severity": "failure"}


@given(title=st.text(min_size=0, max_size=400))
def test_sns_subject_is_short_printable_ascii(title: str) -> None:
    subject = sns_subject(sample(NoticeKind.FAILED).model_copy(update={"title": title}))
    assert 0 < len(subject) < 100
    assert all(32 <= ord(char) < 127 for char in subject)


def test_sns_subject_keeps_what_ascii_can_say() -> None:
    notice = sample(NoticeKind.LIVE).model_copy(update={"title": "Déployé ✅ sur\ncheckout-api-prod"})
    assert sns_subject(notice) == "[pushpilot] Deploye sur checkout-api-prod"


# --- noise filter and settings ------------------------------------------------------------------------


NOISY = {kind for kind, notice in SAMPLES.items() if notice.severity in {Severity.FAILURE, Severity.WARNING}}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("all", set(NoticeKind)),
        ("", set(NoticeKind)),
        ("failures", NOISY),
        ("live, failed", {NoticeKind.LIVE, NoticeKind.FAILED}),
        ("failures,live", NOISY | {NoticeKind.LIVE}),
    ],
)
def test_should_send_selects_kinds(raw: str, expected: set[NoticeKind]) -> None:
    selection = KindSelection.parse(raw)
    assert {kind for kind, notice in SAMPLES.items() if should_send(notice, selection)} == expected


def test_failures_selection_drops_successes_and_keeps_warnings() -> None:
    selection = KindSelection.parse("failures")
    assert not should_send(sample(NoticeKind.LIVE), selection)
    assert should_send(sample(NoticeKind.BUILD_STOPPED), selection)


def test_unknown_kind_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="deployed"):
        NotifySettings.from_env({"TABLE_NAME": "t", "NOTIFY_KINDS": "live,deployed"})


def test_slack_mode_needs_exactly_one_secret_source() -> None:
    # The Slack channel's error, not the function's: the settings load, so SNS still gets every notice.
    missing = NotifySettings.from_env({"TABLE_NAME": "t", "SLACK_MODE": "bot"})
    with pytest.raises(SettingsError, match="exactly one"):
        load_slack_credentials(missing)
    both = NotifySettings.from_env(
        {"TABLE_NAME": "t", "SLACK_MODE": "webhook", "SLACK_SECRET_ID": "a", "SLACK_PARAMETER_NAME": "/b"}
    )
    with pytest.raises(SettingsError, match="exactly one"):
        load_slack_credentials(both)
    settings = NotifySettings.from_env(
        {"TABLE_NAME": "t", "SLACK_MODE": "Bot", "SLACK_SECRET_ID": "slack", "NOTIFY_KINDS": "failures"}
    )
    assert settings.slack_mode == "bot"
    assert settings.notify_kinds == KindSelection(failures=True)
