"""Hostile build output through the whole sandbox: what reaches the Slack stand-in and SNS is safe.

A failed build whose 300 KB log ends with its own secrets (in several encodings), a token in a git URL,
well-known credential shapes, Slack mentions and a fake link, terminal colours, ``` fences and a 10 KB
line. The assertions read the payloads the Slack stand-in and SNS received, not the renderer's output.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pushpilot.core.message_limits import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_BLOCKS_TOTAL_TEXT,
    SLACK_MAX_FALLBACK_TEXT,
    SLACK_MAX_HEADER_TEXT,
    SLACK_MAX_SECTION_TEXT,
    SNS_MAX_MESSAGE_BYTES,
    SNS_MAX_SUBJECT,
)
from tests.e2e.sandbox_support import Story, story

pytestmark = pytest.mark.e2e

# PLAINTEXT values the build was given; the second needs JSON escaping, the first URL-encoding.
API_TOKEN = "tok_9Zq!7vX/2kR+8wP=4"
DB_PASSWORD = 'pa"ss\\w0rd-Quartz'
GITHUB_TOKEN = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
ACCESS_KEY = "AKIAZ7QW3ERTY5UIOP2A"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl"
SLACK_TOKEN = "xoxb-2048-4096-Q7w8E9r0T1y2U3i4"
LONG_LINE = "npm WARN " + "deprecated-package@1.0.0 " * 420  # ≈ 10 KB

ENVIRONMENT = [
    {"name": "API_TOKEN", "type": "PLAINTEXT", "value": API_TOKEN},
    {"name": "DB_PASSWORD", "type": "PLAINTEXT", "value": DB_PASSWORD},
    {"name": "STAGE", "type": "PLAINTEXT", "value": "prod"},
    {"name": "NPM_TOKEN", "type": "PARAMETER_STORE", "value": "/ci/npm-token"},
    {"name": "DOCKER_HUB", "type": "SECRETS_MANAGER", "value": "ci/dockerhub:password"},
]
HOSTILE_TAIL = [
    f"+ echo $API_TOKEN\n{API_TOKEN}",
    f"auth header: Basic {base64.b64encode(API_TOKEN.encode()).decode()}",
    f"GET https://registry.example.com/v2/?token={quote(API_TOKEN, safe='')}",
    f'config: {{"db": {{"password": {json.dumps(DB_PASSWORD)}}}}}',
    f"git clone https://ci-bot:{GITHUB_TOKEN}@github.com/acme/shop.git",
    f"export AWS_ACCESS_KEY_ID={ACCESS_KEY}",
    f"curl -H 'Authorization: Bearer {BEARER}' https://api.example.com/deploy",
    f"SLACK_BOT_TOKEN={SLACK_TOKEN}",
    "<!channel> <!here> build is broken, see <https://evil.example/login|Fix the build> & <@U024BE7LH>",
    "\x1b[31;1mERROR\x1b[0m \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 compile failed",
    "```",
    "closing ``` the fence *early* here",
    LONG_LINE,
    "[Container] 2026/05/04 09:14:02.205 Phase complete: BUILD State: FAILED",
]
# 1 500 lines of 200 characters before the tail: a 300 KB log.
FILLER = [f"[Container] step {number:04d} " + "." * 176 for number in range(1500)]

SECRETS = [
    API_TOKEN,
    base64.b64encode(API_TOKEN.encode()).decode(),
    quote(API_TOKEN, safe=""),
    DB_PASSWORD,
    json.dumps(DB_PASSWORD)[1:-1],
    GITHUB_TOKEN,
    ACCESS_KEY,
    BEARER,
    SLACK_TOKEN,
]


def _strings(value: Any) -> Iterator[str]:
    """Every string in a payload, JSON strings inside strings (SNS's structure) opened too."""
    if isinstance(value, str):
        yield value
        if value[:1] in "{[":
            with contextlib.suppress(json.JSONDecodeError):
                yield from _strings(json.loads(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _run(
    slack_mode: str, tmp_path: Path
) -> Iterator[tuple[Story, list[dict[str, Any]], list[dict[str, Any]]]]:
    setup = {"repositories": ["web"], "notifications": {"slack": slack_mode, "sns": True}}
    with story(setup, tmp_path) as run:
        run.step(
            "build", {"project": "web-build", "status": "IN_PROGRESS", "environment_variables": ENVIRONMENT}
        )
        run.step(
            "build",
            {
                "project": "web-build",
                "status": "FAILED",
                "failed_phase": "BUILD",
                "log": [*FILLER, *HOSTILE_TAIL],
                "environment_variables": ENVIRONMENT,
            },
        )
        slack = [post.payload for post in run.sandbox.slack.delivered()]
        sns = [call["params"] for call in run.handler_calls("sns", "Publish")]
        yield run, slack, sns


@pytest.fixture(params=["bot", "webhook"], scope="module")
def delivered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Story, list[dict[str, Any]], list[dict[str, Any]]]]:
    yield from _run(request.param, tmp_path_factory.mktemp(request.param))


def _failed(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in payloads if "failed" in json.dumps(p) and "web-build" in json.dumps(p)]


def test_both_builds_reached_both_channels(delivered: Any) -> None:
    _, slack, sns = delivered
    assert len(sns) == 2
    assert _failed(slack)
    assert any("[masked]" in text for text in _strings(slack))
    assert any("[masked]" in text for text in _strings(sns))


def test_no_secret_in_any_encoding_reaches_slack_sns_or_the_logs(delivered: Any) -> None:
    run, slack, sns = delivered
    texts = [*_strings(slack), *_strings(sns)]
    logs = run.sandbox.logs.text()
    for secret in SECRETS:
        assert not any(secret in text for text in texts), secret
        assert secret not in logs
    # Parameter Store and Secrets Manager entries carry names, not values: nothing to mask, nothing shown.
    assert not any("/ci/npm-token" in text for text in texts)
    # The user name of the git URL stays readable; its token does not.
    assert any("https://ci-bot:[masked]@github.com/acme/shop.git" in text for text in texts)


def _mrkdwn_texts(payload: dict[str, Any]) -> Iterator[str]:
    yield str(payload.get("text", ""))
    for block in payload.get("blocks") or []:
        text = block.get("text") or {}
        if text.get("type") == "mrkdwn":
            yield text["text"]
        for element in block.get("elements") or []:
            if element.get("type") == "mrkdwn":
                yield element["text"]


def test_no_live_mention_or_foreign_link_reaches_slack(delivered: Any) -> None:
    _, slack, sns = delivered
    slack_texts = [text for payload in slack for text in _mrkdwn_texts(payload)]
    quoted = [str(json.loads(json.loads(p["Message"])["default"])["content"]["description"]) for p in sns]
    for text in [*slack_texts, *quoted]:
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "<@U024BE7LH>" not in text
        assert "<https://evil.example" not in text
    assert any("&lt;!channel&gt;" in text for text in slack_texts)
    # The top-level text (what notifications show) is escaped too.
    assert all("<!" not in str(payload.get("text", "")) for payload in slack)


def test_terminal_escapes_are_gone_and_fences_cannot_close_a_code_block(delivered: Any) -> None:
    _, slack, sns = delivered
    for text in [*_strings(slack), *_strings(sns)]:
        assert "\x1b" not in text
        assert "\x07" not in text
    for payload in slack:
        for text in _mrkdwn_texts(payload):
            if "*Details*" in text:
                # One opening and one closing fence: the log's own ``` were broken apart.
                assert text.count("```") == 2, text
                assert "closing `\u200b`\u200b` the fence" in text


def test_every_field_is_within_its_channel_limits_with_a_visible_cut(delivered: Any) -> None:
    _, slack, sns = delivered
    for payload in slack:
        assert len(payload["text"]) <= SLACK_MAX_FALLBACK_TEXT
        blocks = payload["blocks"] if isinstance(payload["blocks"], list) else json.loads(payload["blocks"])
        assert len(blocks) <= SLACK_MAX_BLOCKS
        total = 0
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            total += len(text)
            limit = SLACK_MAX_HEADER_TEXT if block["type"] == "header" else SLACK_MAX_SECTION_TEXT
            assert len(text) <= limit
        assert total <= SLACK_MAX_BLOCKS_TOTAL_TEXT
    for params in sns:
        assert len(params["Message"].encode()) <= SNS_MAX_MESSAGE_BYTES
        assert len(params["Subject"]) <= SNS_MAX_SUBJECT
        assert params["Subject"].isascii()
    failed_texts = [text for text in _strings(_failed(slack)) if "Details" in text]
    assert any("…(truncated, " in text and "more characters)" in text for text in failed_texts)
    emails = [json.loads(p["Message"])["email"] for p in sns]
    assert any("…(truncated, " in email for email in emails)


def test_a_started_build_has_no_log_button_and_no_null_link(delivered: Any) -> None:
    _, slack, sns = delivered
    for text in [*_strings(slack), *_strings(sns)]:
        assert "group=null" not in text
    started = [json.loads(p["Message"]) for p in sns if "started" in p["Subject"].lower()]
    assert started
    assert "Build logs" not in started[0]["email"]
    failed = [json.loads(p["Message"]) for p in sns if "failed" in p["Subject"].lower()]
    assert "Build logs: https://console.aws.amazon.com/cloudwatch/" in failed[0]["email"]
    buttons = [
        element["text"]["text"]
        for payload in slack
        for block in payload["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert buttons.count("Build logs") == 1
