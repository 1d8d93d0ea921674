"""Release policies read from service tags, and each push's fate under them: pure decisions."""

from __future__ import annotations

import pytest

from pushpilot.core.release_policy import (
    FOLLOW_TAG,
    HOLD_TAG,
    PIN_TAG,
    Choice,
    FollowKind,
    decide,
    read_policy,
)

pytestmark = pytest.mark.unit


def _decide(follow: str | None, pushed: str, running: str | None) -> tuple[Choice, str]:
    policy = read_policy({FOLLOW_TAG: follow} if follow else {})
    decision = decide(policy, service="checkout", pushed_tag=pushed, running_tag=running)
    return decision.choice, decision.reason


def test_no_policy_deploys_only_the_tag_the_service_runs() -> None:
    assert _decide(None, "latest", "latest") == (Choice.DEPLOY, "")
    assert _decide(None, "v1.5.0", "latest")[0] is Choice.IGNORE


@pytest.mark.parametrize(
    ("follow", "pushed", "running", "choice"),
    [
        ("semver:^1", "v1.5.0", "v1.4.0", Choice.DEPLOY),
        ("semver:^1", "v2.0.0", "v1.4.0", Choice.SKIP),
        ("semver:^1", "v1.3.9", "v1.4.2", Choice.SKIP),
        ("semver:~2.0.1", "2.0.5", "2.0.1", Choice.DEPLOY),
        ("semver:~2.0.1", "2.1.0", "2.0.1", Choice.SKIP),
        ("semver:>=1.4 <2", "1.9.9", "1.4.0", Choice.DEPLOY),
        # Pre-releases only when the range names one.
        ("semver:^1", "v1.6.0-rc.1", "v1.5.0", Choice.SKIP),
        ("semver:^1.6.0-rc.0", "v1.6.0-rc.1", "v1.5.0", Choice.DEPLOY),
        # A tag that is no version is not the semver policy's business.
        ("semver:^1", "latest", "v1.5.0", Choice.IGNORE),
        # What runs is no version: any matching version deploys.
        ("semver:^1", "v1.0.0", "latest", Choice.DEPLOY),
        ("glob:release-*", "release-42", "release-41", Choice.DEPLOY),
        ("glob:release-*", "hotfix-1", "release-41", Choice.SKIP),
        ("regex:^build-[0-9]+$", "build-7", "build-6", Choice.DEPLOY),
        ("regex:^build-[0-9]+$", "build-x", "build-6", Choice.SKIP),
    ],
)
def test_a_follow_policy_decides(follow: str, pushed: str, running: str, choice: Choice) -> None:
    assert _decide(follow, pushed, running)[0] is choice


def test_decisions_are_said_in_words() -> None:
    assert _decide("semver:^1", "v1.5.0", "v1.4.0")[1] == "v1.5.0 matches semver:^1 on checkout"
    assert (
        _decide("semver:^1", "v1.3.9", "v1.4.2")[1] == "v1.3.9 skipped: older than v1.4.2 running on checkout"
    )
    assert (
        _decide("semver:^1", "v2.0.0", "v1.4.0")[1]
        == "v2.0.0 does not match semver:^1 on checkout: not deployed"
    )


def test_the_same_tag_pushed_again_deploys_whatever_the_policy() -> None:
    assert _decide("semver:^1", "v1.4.0", "v1.4.0")[0] is Choice.DEPLOY


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({FOLLOW_TAG: "semver:^^1"}, "not an npm-style version range"),
        ({FOLLOW_TAG: "newest"}, "write semver:<range>, glob:<pattern> or regex:<pattern>"),
        ({FOLLOW_TAG: "calver:2024.*"}, "'calver' is not semver, glob or regex"),
        ({FOLLOW_TAG: "regex:build-(["}, "is not a regular expression"),
        ({PIN_TAG: "tag"}, "the only value is 'digest'"),
    ],
)
def test_a_policy_that_cannot_be_read_says_what_is_wrong_and_falls_back(
    tags: dict[str, str], problem: str
) -> None:
    policy = read_policy(tags)
    assert len(policy.problems) == 1
    assert problem in policy.problems[0]
    assert policy.follow is None
    assert decide(policy, service="s", pushed_tag="v9", running_tag="latest").choice is Choice.IGNORE


def test_pin_and_hold_are_read() -> None:
    policy = read_policy({FOLLOW_TAG: "glob: release-* ", PIN_TAG: "digest", HOLD_TAG: "incident 42"})
    assert policy.follow is not None
    assert (policy.follow.kind, policy.follow.pattern) == (FollowKind.GLOB, "release-*")
    assert policy.pin_digest
    assert policy.hold == "incident 42"
    assert policy.problems == ()
    assert read_policy({HOLD_TAG: ""}).hold == "held by its pushpilot:hold tag"


def test_a_version_older_than_one_deploying_is_a_downgrade_too() -> None:
    policy = read_policy({FOLLOW_TAG: "semver:^1"})
    decision = decide(
        policy, service="checkout", pushed_tag="v1.4.5", running_tag="v1.4.0", coming_tags=("v1.5.0",)
    )
    assert decision.choice is Choice.SKIP
    assert decision.reason == "v1.4.5 skipped: older than v1.5.0 deploying on checkout"
