"""User groups in `pushpilot:approvers`, resolved against the Slack emulator's `usergroups.users.list`
over HTTP on 127.0.0.1: a member counts, a non-member and an unknown group do not, and a Slack that
does not answer counts as "not a member"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pushpilot.adapters.slack_groups import SlackGroupMembers
from pushpilot_sandbox.slack_sink import SlackSink

pytestmark = pytest.mark.e2e


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    with SlackSink() as running:
        running.user_groups = {"S0RELEASE": ["U0456EFGH", "U0789IJKL"]}
        yield running


def test_a_member_of_a_listed_group_counts(sink: SlackSink) -> None:
    members = SlackGroupMembers(lambda: "xoxb-sandbox-token", base_url=sink.api_url())
    assert members(frozenset({"S0UNKNOWN", "S0RELEASE"}), "U0456EFGH") is True
    assert members(frozenset({"S0RELEASE"}), "U0STRANGER") is False
    assert members(frozenset({"S0UNKNOWN"}), "U0456EFGH") is False
    methods = [post.method for post in sink.posts]
    assert set(methods) == {"usergroups.users.list"}


def test_a_slack_that_fails_counts_as_not_a_member(sink: SlackSink) -> None:
    sink.fail_always(500)
    members = SlackGroupMembers(lambda: "xoxb-sandbox-token", base_url=sink.api_url())
    assert members(frozenset({"S0RELEASE"}), "U0456EFGH") is False
