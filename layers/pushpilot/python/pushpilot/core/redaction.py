"""Secrets out of messages: exact values a build was given, and credentials of well-known shapes.

A build's PLAINTEXT environment values are known exactly (the event carries them), so they are masked
wherever they appear, in the encodings a build log commonly shows them in, before anything is rendered.
Credentials pushpilot was not told about are masked by shape: user:password in URLs, AWS access key ids,
Slack tokens, GitHub tokens and bearer headers. Hand-written: no well-kept library masks a given set of
values in their encodings, and the shapes are the documented prefixes of each issuer.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, SecretStr

from pushpilot.core.notices import Link, Notice
from pushpilot.core.plain_text import strip_terminal

MASK = "[masked]"

# Values shorter than this are not masked: "1", "true" or a region name would turn every log into noise,
# and a secret that short is not one.
MIN_SECRET_LENGTH = 6

# Each shape with the text (lower-cased) it cannot match without: most lines hold none of them, and a
# substring test is far cheaper than a regular expression.
_KNOWN_SHAPES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # https://user:password@host/ — the password (or token) goes; the user name stays readable.
    (
        ("://",),
        re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)"),
        rf"\g<keep>{MASK}",
    ),
    # https://token@host/ — git's own form for a token without a user name.
    (
        ("://",),
        re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?:gh[opsur]_|github_pat_|glpat-)\S*?(?=@)"),
        rf"\g<keep>{MASK}",
    ),
    # AWS access key ids: AKIA (long-term) and ASIA (temporary) followed by 16 upper-case letters/digits.
    (("akia", "asia"), re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    # Slack tokens: xoxb- (bot), xoxp- (user), xoxa- (app), xoxr- (refresh).
    (("xox",), re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{8,}"), MASK),
    # GitHub tokens: ghp_ (classic PAT), gho_ (OAuth), ghs_ (app installation), ghu_/ghr_, fine-grained PATs.
    (("gh",), re.compile(r"\bgh[opsur]_[A-Za-z0-9]{20,}"), MASK),
    (("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), MASK),
    # Authorization headers and bearer tokens, however the log quotes them.
    (
        ("authorization",),
        re.compile(r"(?i)(?P<keep>\bauthorization\s*[:=]\s*\"?(?:bearer|basic|token)\s+)[^\s\"']+"),
        rf"\g<keep>{MASK}",
    ),
    (("bearer",), re.compile(r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<keep>{MASK}"),
)


def mask_known_shapes(text: str) -> str:
    lowered = text.lower()
    for markers, pattern, replacement in _KNOWN_SHAPES:
        if any(marker in lowered for marker in markers):
            text = pattern.sub(replacement, text)
    return text


def encodings(value: str) -> set[str]:
    """The forms a value takes in a log: as is, base64 (standard and URL-safe, with and without padding),
    URL-encoded, JSON-escaped and hex."""
    raw = value.encode()
    forms = {
        value,
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        raw.hex(),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class SecretValues(BaseModel):
    """Exact values to mask. SecretStr keeps them out of reprs, logs and model dumps."""

    model_config = ConfigDict(frozen=True)

    values: tuple[SecretStr, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> SecretValues:
        return cls(values=tuple(SecretStr(v) for v in values if v and len(v) >= MIN_SECRET_LENGTH))

    def _forms(self) -> list[str]:
        forms: set[str] = set()
        for secret in self.values:
            forms |= encodings(secret.get_secret_value())
        # Longest first: a value that contains another is masked whole.
        return sorted(forms, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every known value (in every encoding) and every known credential shape masked."""
        return self.mask_all([text])[0]

    def mask_all(self, lines: Iterable[str]) -> tuple[str, ...]:
        forms = self._forms()
        masked: list[str] = []
        for line in lines:
            text = line
            for form in forms:
                text = text.replace(form, MASK)
            masked.append(mask_known_shapes(text))
        return tuple(masked)


NO_SECRETS = SecretValues()


def _clean(text: str) -> str:
    return mask_known_shapes(strip_terminal(text))


def scrub_notice(notice: Notice) -> Notice:
    """The notice with terminal escapes removed and known credential shapes masked in every text field:
    the last check before any channel renders it, whoever produced it."""
    return notice.model_copy(
        update={
            "title": _clean(notice.title),
            "summary": _clean(notice.summary),
            "next_step": _clean(notice.next_step) if notice.next_step else notice.next_step,
            "details": tuple(_clean(line) for line in notice.details),
            "links": tuple(
                Link(label=_clean(link.label), url=mask_known_shapes(link.url)) for link in notice.links
            ),
            "log_url": mask_known_shapes(notice.log_url) if notice.log_url else None,
        }
    )
