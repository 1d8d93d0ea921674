"""Message safety, piece by piece: masking, terminal escapes, Slack escaping and fences, size caps."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pushpilot.core.build_report import BuildEventExtras, LogTail, build_report, logs_deep_link
from pushpilot.core.message_limits import (
    SLACK_MAX_BLOCKS_TOTAL_TEXT,
    SLACK_MAX_FALLBACK_TEXT,
    SLACK_MAX_SECTION_TEXT,
    SNS_MAX_MESSAGE_BYTES,
    MessageTooLargeError,
)
from pushpilot.core.notice_selection import KindSelection
from pushpilot.core.notices import Notice, NoticeKind
from pushpilot.core.plain_text import clip, clip_tail, strip_terminal
from pushpilot.core.redaction import MASK, SecretValues, encodings, mask_known_shapes, scrub_notice
from pushpilot.core.render_slack import render_slack_headline, render_slack_reply, render_slack_webhook
from pushpilot.core.render_sns import render_sns
from pushpilot.core.slack_text import code_line, defuse_fences, slack_escape, slack_link
from pushpilot.events.codebuild import CodeBuildEnvironmentValues, CodeBuildEvent, CodeBuildStateEvent
from pushpilot.flows.notify import ChannelResult, deliver
from tests.unit.notify_samples import sample

SECRET = 'Zx9!q/"w+e=r&t'


# --- masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        "Zx9%21q%2F%22w%2Be%3Dr%26t",
        json.dumps(SECRET)[1:-1],
        SECRET.encode().hex(),
    ],
    ids=["plain", "base64", "base64url", "url", "json", "hex"],
)
def test_a_known_value_is_masked_in_each_encoding(form: str) -> None:
    secrets = SecretValues.of([SECRET])
    assert form in encodings(SECRET)
    masked = secrets.mask(f"before {form} after")
    assert masked == f"before {MASK} after"


def test_short_values_are_not_masked_and_secret_values_never_show_in_a_repr() -> None:
    secrets = SecretValues.of(["prod", SECRET])
    assert secrets.mask("deploying to prod") == "deploying to prod"
    assert SECRET not in repr(secrets)
    assert SECRET not in secrets.model_dump_json()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "git clone https://bot:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/a/b.git",
            "git clone https://bot:[masked]@github.com/a/b.git",
        ),
        ("postgres://ci:S3cr3t-pass@db.internal:5432/app", "postgres://ci:[masked]@db.internal:5432/app"),
        (
            "https://x-access-token:abc123def456@github.com/a/b",
            "https://x-access-token:[masked]@github.com/a/b",
        ),
        (
            "https://ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/a/b",
            "https://[masked]@github.com/a/b",
        ),
        ("key AKIAIOSFODNN7EXAMPLE id", "key [masked] id"),
        ("key ASIAY34FZKBOKMUTVV7A id", "key [masked] id"),
        ("token xoxb-123456789012-abcdefghijkl", "token [masked]"),
        ("xoxp-1-2-3-abcdef0123456789", "[masked]"),
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "[masked]"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[masked]"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln", "Authorization: Bearer [masked]"),
        ('-H "authorization: token abcdef0123456789"', '-H "authorization: token [masked]"'),
    ],
)
def test_known_credential_shapes_are_masked(line: str, expected: str) -> None:
    assert mask_known_shapes(line) == expected


def test_ordinary_urls_and_text_are_left_alone() -> None:
    for text in [
        "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/a;stream=b",
        "https://example.com:8443/path@v2",
        "Step 4/9 : RUN npm ci",
        "arn:aws:iam::123456789012:role/ci",
    ]:
        assert mask_known_shapes(text) == text


def test_only_plaintext_environment_values_are_read_for_masking() -> None:
    raw: dict[str, Any] = {
        "detail": {
            "additional-information": {
                "environment": {
                    "environment-variables": [
                        {"name": "A", "type": "PLAINTEXT", "value": "plain-secret-value"},
                        {"name": "B", "type": "PARAMETER_STORE", "value": "/ci/param-name"},
                        {"name": "C", "type": "SECRETS_MANAGER", "value": "ci/secret:key"},
                        "not a variable",
                    ]
                }
            }
        }
    }
    secrets = CodeBuildEnvironmentValues.model_validate(raw).secrets()
    assert [value.get_secret_value() for value in secrets.values] == ["plain-secret-value"]
    assert CodeBuildEnvironmentValues.model_validate({}).secrets().values == ()


# --- terminal escapes, Slack text ----------------------------------------------------------------------


def test_terminal_escapes_and_controls_are_stripped() -> None:
    line = (
        "\x1b[1;31mERROR\x1b[0m \x1b]0;title\x07done\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\\r\n\x00end\tok"
    )
    assert strip_terminal(line) == "ERROR donelink\nend\tok"


def test_slack_escape_leaves_no_mention_or_link() -> None:
    text = slack_escape("<!channel> <!here|here> <@U1> <https://evil|ok> a & b")
    assert "<" not in text
    assert ">" not in text
    assert text.startswith("&lt;!channel&gt;")
    assert "a &amp; b" in text


def test_fences_are_broken_and_cannot_close_a_code_block() -> None:
    assert "```" not in defuse_fences("a ``` b ```` c")
    assert "```" not in code_line("x ``` <!here>")
    assert "&lt;!here&gt;" in code_line("x ``` <!here>")


def test_links_pushpilot_writes_cannot_be_split() -> None:
    link = slack_link("https://example.com/a|b>c?x=1&y=2", "Logs | <now>")
    assert link.startswith("<https://example.com/a%7Cb%3Ec?x=1&y=2|")
    assert link.count("|") == 1
    assert link.endswith("Logs ¦ &lt;now&gt;>")


@given(st.text(max_size=400), st.integers(min_value=30, max_value=3000))
def test_clip_never_exceeds_its_limit_and_says_what_it_cut(text: str, limit: int) -> None:
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    if clipped != text:
        assert "…(truncated, " in clipped


def test_clip_tail_keeps_the_end_and_counts_what_it_left_out() -> None:
    lines = [f"line {n}" for n in range(1000)]
    kept = clip_tail(lines, 100)
    assert kept[0].startswith("…(truncated, ")
    assert kept[-1] == "line 999"
    assert len("\n".join(kept)) <= 100


# --- every channel, hostile notices -------------------------------------------------------------------


def _hostile(size: int = 300_000) -> Notice:
    notice = sample(NoticeKind.BUILD_FAILED)
    return notice.model_copy(
        update={
            "title": "Build failed <!channel> \x1b[31mred\x1b[0m",
            "summary": "<!here> " + "s" * size,
            "next_step": "run ``` then <https://evil.example|this>",
            "details": tuple(f"line {n} " + "x" * 150 for n in range(2000)),
            "log_url": "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logEvent:group=/g;stream=s",
        }
    )


def _texts(payload: dict[str, Any], *, plain: bool = True) -> list[str]:
    """The top-level text and every block's text; `plain=False` leaves out plain_text objects, which Slack
    shows as written (it parses no mention or link in them)."""
    texts = [payload["text"]]
    for block in payload["blocks"]:
        objects = [block["text"]] if "text" in block else []
        objects += [
            e if e["type"] in {"mrkdwn", "plain_text"} else e["text"] for e in block.get("elements", [])
        ]
        texts.extend(obj["text"] for obj in objects if plain or obj["type"] == "mrkdwn")
    return texts


@pytest.mark.parametrize("render", [render_slack_reply, render_slack_headline, render_slack_webhook])
def test_a_300_kb_notice_fits_slack_with_visible_cuts_and_no_live_mention(render: Any) -> None:
    payload = render(_hostile()).payload()
    assert len(payload["text"]) <= SLACK_MAX_FALLBACK_TEXT
    texts = _texts(payload)
    assert all(len(text) <= SLACK_MAX_SECTION_TEXT for text in texts)
    assert sum(len(text) for text in texts[1:]) <= SLACK_MAX_BLOCKS_TOTAL_TEXT
    assert not any("\x1b" in text for text in texts)
    assert not any("<!" in text or "<https://evil" in text for text in _texts(payload, plain=False))
    assert any("…(truncated, " in text for text in texts)


def test_cut_log_lines_end_with_the_count_and_the_full_log_link() -> None:
    payload = render_slack_reply(_hostile(size=10)).payload()
    details = next(text for text in _texts(payload) if text.startswith("*Details*"))
    assert "more lines)\n```\n<https://console.aws.amazon.com/cloudwatch/" in details
    assert details.endswith("|Full log>")


def test_a_300_kb_notice_fits_one_sns_message() -> None:
    message = render_sns(_hostile())
    assert message.size() <= SNS_MAX_MESSAGE_BYTES
    structure = json.loads(message.message)
    assert "…(truncated, " in structure["email"]
    assert "Full log: https://console.aws.amazon.com/cloudwatch/" in structure["email"]
    assert "<!" not in json.loads(structure["default"])["content"]["description"]


def test_a_notice_that_cannot_fit_is_refused_and_fails_delivery_rather_than_vanish() -> None:
    huge = _hostile().model_copy(update={"title": "t" * 300_000})
    with pytest.raises(MessageTooLargeError):
        render_sns(huge)

    class Sns:
        name = "sns"

        def send(self, notice: Notice) -> dict[str, str]:
            render_sns(notice)
            return {"message_id": "m"}

    report = deliver(huge, [Sns()], selection=KindSelection(everything=True))
    assert report.results == (
        ChannelResult(
            channel="sns", status="failed", error_type="MessageTooLargeError", reason=report.results[0].reason
        ),
    )
    assert report.failed_channels == ("sns",)


def test_scrub_masks_every_text_field_of_any_notice() -> None:
    notice = sample(NoticeKind.FAILED).model_copy(
        update={"summary": "key AKIAIOSFODNN7EXAMPLE", "details": ("xoxb-123456789012-abcdefghijkl",)}
    )
    scrubbed = scrub_notice(notice)
    assert "AKIA" not in scrubbed.summary
    assert scrubbed.details == (MASK,)


# --- builds -------------------------------------------------------------------------------------------

_EVENT: TypeAdapter[CodeBuildEvent] = TypeAdapter(CodeBuildEvent)


def _in_progress_with_null_logs() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "c1d2e3f4-0000-4000-8000-000000000001",
        "detail-type": "CodeBuild Build State Change",
        "source": "aws.codebuild",
        "account": "123456789012",
        "time": "2026-05-04T09:12:03Z",
        "region": "us-east-1",
        "resources": ["arn:aws:codebuild:us-east-1:123456789012:build/web-build:5b1e7c3a"],
        "detail": {
            "build-status": "IN_PROGRESS",
            "project-name": "web-build",
            "build-id": "arn:aws:codebuild:us-east-1:123456789012:build/web-build:5b1e7c3a",
            "additional-information": {
                "logs": {
                    "group-name": None,
                    "stream-name": None,
                    "deep-link": "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=null;stream=null",
                },
                "environment": {
                    "environment-variables": [{"name": "TOKEN", "type": "PLAINTEXT", "value": SECRET}]
                },
            },
            "current-phase": "SUBMITTED",
        },
    }


def test_a_build_without_a_log_group_has_no_log_button() -> None:
    raw = _in_progress_with_null_logs()
    event = _EVENT.validate_python(raw)
    assert isinstance(event, CodeBuildStateEvent)
    assert logs_deep_link(event.to_core().info.logs, "us-east-1") is None
    report = build_report(event.to_core(), BuildEventExtras.model_validate(raw))
    assert [link.label for link in report.notice.links] == ["Build in CodeBuild"]
    assert report.notice.log_url is None
    assert "group=null" not in json.dumps(render_slack_reply(report.notice).payload())


def test_build_secrets_are_masked_before_hints_quotes_and_summary() -> None:
    raw = _in_progress_with_null_logs()
    raw["detail"]["build-status"] = "FAILED"
    raw["detail"]["additional-information"]["logs"] = {
        "group-name": "/aws/codebuild/web-build",
        "stream-name": "5b1e7c3a",
    }
    raw["detail"]["additional-information"]["phases"] = [
        {
            "phase-type": "BUILD",
            "phase-status": "FAILED",
            "phase-context": [f"COMMAND_EXECUTION_ERROR: curl -u u:{SECRET}"],
        }
    ]
    event = _EVENT.validate_python(raw)
    assert isinstance(event, CodeBuildStateEvent)
    secrets = CodeBuildEnvironmentValues.model_validate(raw).secrets()
    tail = LogTail(lines=(f"echo {SECRET}", "YAML_FILE_ERROR: Message: bad key " + SECRET))
    report = build_report(event.to_core(), BuildEventExtras.model_validate(raw), tail=tail, secrets=secrets)
    dumped = report.model_dump_json()
    assert SECRET not in dumped
    assert json.dumps(SECRET)[1:-1] not in dumped
    assert MASK in report.notice.summary or MASK in " ".join(report.notice.details)
    assert report.explanation is not None
    assert [hint.name for hint in report.explanation.hints] == ["buildspec-invalid"]
    assert MASK in report.explanation.hints[0].fix
