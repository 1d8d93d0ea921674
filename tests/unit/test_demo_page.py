"""The demo page draws every block and element type pushpilot's Slack messages use, for every notice kind."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pushpilot.core.notices import NoticeKind
from pushpilot.core.render_slack import (
    BLOCK_TYPES,
    ELEMENT_TYPES,
    render_slack_headline,
    render_slack_reply,
    render_slack_webhook,
)
from pushpilot.core.render_sns import render_sns
from pushpilot_sandbox.demo_page import DemoPage, block_and_element_types, collect_stories
from tests.unit.notify_samples import sample


def _report_for(kind: NoticeKind) -> dict[str, Any]:
    """A report shaped as `simulate` writes it: the thread as the Slack stand-in holds it, one webhook
    post, and the SNS publish call's parameters."""
    notice = sample(kind)
    headline = {
        **render_slack_headline(notice).payload(),
        "ts": "1700000000.000100",
        "metadata": {
            "event_type": "pushpilot_notice",
            "event_payload": {"key": f"headline#{notice.thread_key}#x"},
        },
        "edited": {"user": "U0SANDBOX", "ts": "1700000000.000300"},
    }
    reply = {
        **render_slack_reply(notice).payload(),
        "ts": "1700000000.000200",
        "thread_ts": "1700000000.000100",
    }
    sns = render_sns(notice)
    return {
        "slack_messages": [headline, reply],
        "notifications": [
            {"channel": "slack", "method": None, "payload": render_slack_webhook(notice).payload()}
        ],
        "calls": [
            {
                "service": "sns",
                "operation": "Publish",
                "params": {"Subject": sns.subject, "Message": sns.message},
            }
        ],
    }


@pytest.mark.parametrize("kind", list(NoticeKind), ids=str)
def test_every_block_and_element_of_every_notice_kind_is_drawn(kind: NoticeKind) -> None:
    report = _report_for(kind)
    page = DemoPage()
    text = page.page(report)
    assert page.gaps == []
    used_blocks: set[str] = set()
    used_elements: set[str] = set()
    for message in [*report["slack_messages"], report["notifications"][0]["payload"]]:
        blocks, elements = block_and_element_types(message["blocks"])
        used_blocks |= blocks
        used_elements |= elements
    assert used_blocks <= page.block_types()
    assert used_elements <= page.element_types()
    assert f'class="bk-{"header"}"' in text
    notice = sample(kind)
    for link in notice.links:
        assert f'href="{link.url.replace("&", "&amp;")}"' in text
    # The mail is the email part SNS received, shown whole.
    email = json.loads(report["calls"][0]["params"]["Message"])["email"]
    assert html.escape(email.splitlines()[0]) in text


def test_the_renderers_use_only_types_the_page_draws() -> None:
    page = DemoPage()
    assert page.block_types() >= BLOCK_TYPES
    assert page.element_types() >= ELEMENT_TYPES


def test_an_unknown_block_is_a_visible_gap_not_a_silence() -> None:
    page = DemoPage()
    text = page.message(
        {"text": "x", "blocks": [{"type": "image", "image_url": "https://example.com/a.png"}]}
    )
    assert page.gaps == ["block image"]
    assert "not drawn: block image" in text


def test_a_thread_is_its_updated_headline_then_its_replies_in_order() -> None:
    report = _report_for(NoticeKind.LIVE)
    stories = collect_stories(report)
    thread = next(story for story in stories if story.headline and story.replies)
    assert thread.key == sample(NoticeKind.LIVE).thread_key
    assert thread.mails
    assert thread.mails[0].subject.startswith("[pushpilot]")
    text = DemoPage().page(report)
    assert text.index("(edited)") < text.index("1 reply")


def test_the_page_is_self_contained_and_escapes_what_it_quotes() -> None:
    notice = sample(NoticeKind.BUILD_FAILED)
    hostile = notice.model_copy(
        update={"summary": "<script>alert(1)</script> <!channel>", "details": ("```<b>",)}
    )
    report = {
        "slack_messages": [
            {**render_slack_reply(hostile).payload(), "ts": "1700000000.000100"},
        ]
    }
    text = DemoPage().page(report)
    assert "<script>" not in text
    assert "@channel" not in text
    assert not re.search(r"""(?:src|href)=["'](?!https://)""", text)
    assert "<link" not in text
    assert "<img" not in text
    assert "@import" not in text


def test_the_page_says_how_to_read_it_and_heads_each_thread_with_its_step() -> None:
    report = _report_for(NoticeKind.LIVE)
    # As `simulate` records them: the headline and mail in step 1, the reply in step 2, the webhook
    # post in step 3.
    report["steps"] = [
        {
            "number": 1,
            "title": "a good image is pushed",
            "slack_ts": ["1700000000.000100"],
            "calls": [0, 1],
            "notifications": [0, 0],
        },
        {
            "number": 2,
            "title": "App Runner finishes the deployment",
            "slack_ts": ["1700000000.000200"],
            "calls": [1, 1],
            "notifications": [0, 0],
        },
        {"number": 3, "title": "a webhook post", "slack_ts": [], "calls": [1, 1], "notifications": [0, 1]},
    ]
    text = DemoPage().page(report)
    body = text[text.index("<body>") :]
    assert body.index("What this is.") < body.index("How to read it.") < body.index("<section")
    headings = re.findall(r"<h2>(.*?)</h2>", body)
    assert headings == ["Step 1: a good image is pushed", "Step 3: a webhook post"]
    assert sample(NoticeKind.LIVE).thread_key not in headings
    assert "Replies below also come from step 2: App Runner finishes the deployment." in body
    # Without its steps (an older report), nothing is lost: one section holds every message.
    del report["steps"]
    assert re.findall(r"<h2>(.*?)</h2>", DemoPage().page(report)) == ["Messages not matched to a step"]


def test_every_demo_step_has_a_title() -> None:
    import yaml

    demo = yaml.safe_load((Path(__file__).parents[2] / "scenarios" / "demo.yaml").read_text(encoding="utf-8"))
    untitled = [number for number, step in enumerate(demo["steps"], start=1) if not step.get("title")]
    assert untitled == []


def test_the_timeline_says_verdicts_per_platform_in_words() -> None:
    from pushpilot_sandbox.timeline import _summarize

    detail = {
        "verdict": {"linux/arm64": "pass", "linux/amd64": "reject"},
        "services": [{"service": "shop-graviton", "status": "deploying"}],
    }
    line = _summarize(detail)
    assert line == " (verdict=linux/arm64 pass, linux/amd64 reject, shop-graviton: deploying)"
    assert "{" not in line
