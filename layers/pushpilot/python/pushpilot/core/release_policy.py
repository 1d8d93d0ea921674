"""Release policies: which pushed tags a service follows, whether it is pinned to digests, whether it is
held — read from the service's own tags, and each push's fate decided as a value. Pure.

    pushpilot:follow = semver:<npm range> | glob:<pattern> | regex:<pattern>
    pushpilot:pin    = digest
    pushpilot:hold   = <any reason>

Without `pushpilot:follow` a service deploys only the tag it runs, pushed again (the behaviour before
policies). Ranges are npm's (`^1.2`, `~2.0.1`, `>=1.4 <2`), read by the `semantic_version` library:
pre-releases match only when the range names one. A policy that cannot be read is reported (once, by the
flow) and the service keeps the behaviour without it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

FOLLOW_TAG = "pushpilot:follow"
PIN_TAG = "pushpilot:pin"
HOLD_TAG = "pushpilot:hold"
POLICY_TAGS = (FOLLOW_TAG, PIN_TAG, HOLD_TAG)

if TYPE_CHECKING:
    import semantic_version


class FollowKind(StrEnum):
    SEMVER = "semver"
    GLOB = "glob"
    REGEX = "regex"


class FollowRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FollowKind
    pattern: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.pattern}"

    def matches(self, tag: str) -> bool:
        match self.kind:
            case FollowKind.SEMVER:
                version = semver_of(tag)
                return version is not None and _spec(self.pattern).match(version)
            case FollowKind.GLOB:
                return fnmatch.fnmatchcase(tag, self.pattern)
            case FollowKind.REGEX:
                return re.fullmatch(self.pattern, tag) is not None


class ReleasePolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    follow: FollowRule | None = None
    pin_digest: bool = False
    # The `pushpilot:hold` tag's value: automatic deploys stop while it is there.
    hold: str | None = None
    # What could not be read, in words; the rest of the policy still applies.
    problems: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The policy as written, for messages and for telling a problem once per wording."""
        parts = [str(self.follow)] if self.follow else []
        if self.pin_digest:
            parts.append("pin:digest")
        return ", ".join(parts) or "the configured tag only"


def semver_of(tag: str) -> semantic_version.Version | None:
    """`v1.4.2` or `1.4.2` as a version; None for a tag that is not one (`latest`, `release-7`)."""
    try:
        from semantic_version import Version

        return Version(tag.removeprefix("v"))
    except ValueError:
        return None


def read_policy(tags: Mapping[str, str]) -> ReleasePolicy:
    problems: list[str] = []
    follow: FollowRule | None = None
    raw_follow = tags.get(FOLLOW_TAG)
    if raw_follow is not None:
        follow, problem = _follow_rule(raw_follow.strip())
        if problem:
            problems.append(f"{FOLLOW_TAG}={raw_follow!r}: {problem}")
    pin = tags.get(PIN_TAG)
    pin_digest = pin is not None and pin.strip().lower() == "digest"
    if pin is not None and not pin_digest:
        problems.append(f"{PIN_TAG}={pin!r}: the only value is 'digest'")
    hold = tags.get(HOLD_TAG)
    return ReleasePolicy(
        follow=follow,
        pin_digest=pin_digest,
        hold=(hold.strip() or "held by its pushpilot:hold tag") if hold is not None else None,
        problems=tuple(problems),
    )


def _follow_rule(text: str) -> tuple[FollowRule | None, str | None]:
    kind_text, separator, pattern = text.partition(":")
    if not separator or not pattern.strip():
        return None, "write semver:<range>, glob:<pattern> or regex:<pattern>"
    try:
        kind = FollowKind(kind_text.strip().lower())
    except ValueError:
        return None, f"{kind_text!r} is not semver, glob or regex"
    pattern = pattern.strip()
    if kind is FollowKind.SEMVER:
        try:
            _spec(pattern)
        except ValueError:
            return None, f"{pattern!r} is not an npm-style version range (e.g. ^1.2, ~2.0.1, >=1.4 <2)"
    elif kind is FollowKind.REGEX:
        try:
            re.compile(pattern)
        except re.error as exc:
            return None, f"{pattern!r} is not a regular expression: {exc}"
    return FollowRule(kind=kind, pattern=pattern), None


class Choice(StrEnum):
    # Deploy the pushed digest.
    DEPLOY = "deploy"
    # The policy looked at this push and turned it down: said in the release's thread.
    SKIP = "skip"
    # Not this service's business (another tag of a repository it does not follow): said nowhere.
    IGNORE = "ignore"


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    choice: Choice
    # Said in the release's thread; empty for today's behaviour (the tag the service runs, pushed again).
    reason: str = ""
    # The tag the service runs afterwards, when the policy moves it to another one.
    retag: str | None = None


def decide(
    policy: ReleasePolicy,
    *,
    service: str,
    pushed_tag: str,
    running_tag: str | None,
    coming_tags: Sequence[str] = (),
) -> PolicyDecision:
    """What a push of `pushed_tag` means for a service running `running_tag` under `policy`, while
    `coming_tags` are deploying or queued there (a version older than one of them is a downgrade too)."""
    if pushed_tag == running_tag:
        # The tag it runs moved: the behaviour before policies, whatever the policy says.
        return PolicyDecision(choice=Choice.DEPLOY)
    rule = policy.follow
    if rule is None:
        return PolicyDecision(choice=Choice.IGNORE)
    if not rule.matches(pushed_tag):
        if rule.kind is FollowKind.SEMVER and semver_of(pushed_tag) is None:
            return PolicyDecision(choice=Choice.IGNORE)
        return PolicyDecision(
            choice=Choice.SKIP, reason=f"{pushed_tag} does not match {rule} on {service}: not deployed"
        )
    if rule.kind is FollowKind.SEMVER:
        pushed = semver_of(pushed_tag)
        known = [(tag, "running") for tag in (running_tag,) if tag]
        known += [(tag, "deploying") for tag in coming_tags]
        versions = [(version, tag, state) for tag, state in known if (version := semver_of(tag)) is not None]
        if pushed is not None and versions:
            newest, tag, state = max(versions, key=lambda item: item[0])
            if pushed <= newest:
                word = "older than" if pushed < newest else "the same version as"
                return PolicyDecision(
                    choice=Choice.SKIP, reason=f"{pushed_tag} skipped: {word} {tag} {state} on {service}"
                )
    return PolicyDecision(
        choice=Choice.DEPLOY, reason=f"{pushed_tag} matches {rule} on {service}", retag=pushed_tag
    )


def _spec(pattern: str) -> semantic_version.NpmSpec:
    # Imported when a semver policy is read: most services have none, and a cold start skips ≈ 12 ms.
    from semantic_version import NpmSpec

    return NpmSpec(pattern)
