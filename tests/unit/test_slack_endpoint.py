"""The request URL's edge, request by request: what an attacker can send (no signature, a forged or stale
one, a body too large, a body that is not a click) gets its 4xx, one log line with the reason and one
metric — never a traceback, never the body or the signature in the log — and changes nothing; a signed
click from a listed approver records the vote and hands the deploy on."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from aws_lambda_powertools import Logger, Metrics
from slack_sdk.signature import SignatureVerifier

from pushpilot.core.approval_notices import button_value
from pushpilot.core.approvals import ApprovalState
from pushpilot.core.errors import RetryableError
from pushpilot.core.slack_interaction import Decision
from pushpilot.entry.slack_endpoint import answer_slack_request
from pushpilot.flows.approve import find_approval
from tests.unit.test_approvals import APPROVER, POLICY, push, world_with

pytestmark = pytest.mark.unit

# A test's own signing secret.
SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
NOW = 1_780_000_000.0


class Decisions:
    def __init__(self) -> None:
        self.sent: list[Decision] = []

    def send(self, decision: Decision) -> None:
        self.sent.append(decision)


class Edge:
    def __init__(self) -> None:
        self.world = world_with(POLICY)
        push(self.world, "one")
        self.approval = find_approval(self.world.ports, "prod-web")
        self.decisions = Decisions()
        self.logger = Logger(service="test-endpoint", stream=io.StringIO())
        self.metrics = Metrics(namespace="pushpilot", service="test-endpoint")
        self.secret_reads = 0

    def secret(self) -> str:
        self.secret_reads += 1
        return SECRET

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        return answer_slack_request(
            event,
            logger=self.logger,
            metrics=self.metrics,
            signing_secret=self.secret,
            ports=lambda: self.world.ports,
            decisions=lambda: self.decisions,
            now=lambda: NOW,
        )

    def counted(self) -> dict[str, Any]:
        return dict(self.metrics.metric_set)


@pytest.fixture
def edge() -> Iterator[Edge]:
    made = Edge()
    yield made
    made.metrics.clear_metrics()


def click_body(edge: Edge, user: str = APPROVER, action: str = "approve") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "test"},
        "response_url": "https://hooks.slack.com/actions/T0TEST/1/abc",
        "actions": [
            {"action_id": action, "block_id": "b", "type": "button", "value": button_value(edge.approval)}
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def event(
    body: str, *, timestamp: float = NOW, secret: str = SECRET, method: str = "POST", b64: bool = True
) -> dict[str, Any]:
    stamp = str(int(timestamp))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body) or ""
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": signature,
        },
        "requestContext": {"requestId": "req-1", "http": {"method": method, "path": "/"}},
        "body": base64.b64encode(body.encode()).decode() if b64 else body,
        "isBase64Encoded": b64,
    }


def assert_nothing_changed(edge: Edge) -> None:
    assert edge.decisions.sent == []
    stored = find_approval(edge.world.ports, "prod-web")
    assert (stored.state, stored.votes) == (ApprovalState.WAITING, {})
    assert edge.world.apprunner.started == 0


def test_a_listed_approvers_signed_click_records_the_vote_and_hands_the_deploy_on(edge: Edge) -> None:
    answer = edge.send(event(click_body(edge)))

    assert answer["statusCode"] == 200
    assert [decision.kind for decision in edge.decisions.sent] == ["deploy", "reply"]
    assert edge.decisions.sent[0].digest == edge.approval.digest
    assert find_approval(edge.world.ports, "prod-web", edge.approval.digest).state is ApprovalState.APPROVED
    # The deploy itself is the decisions function's: nothing deployed inside Slack's three seconds.
    assert edge.world.apprunner.started == 0
    assert "SlackClicks" in edge.counted()


def test_a_strangers_click_is_answered_only_to_them(edge: Edge) -> None:
    answer = edge.send(event(click_body(edge, user="U0STRANGER")))

    assert answer["statusCode"] == 200
    assert [(d.kind, d.reply) for d in edge.decisions.sent] == [
        ("reply", "you are not an approver of prod-web")
    ]
    assert find_approval(edge.world.ports, "prod-web").votes == {}


@pytest.mark.parametrize(
    ("make", "status", "reason", "metric"),
    [
        (
            lambda body: {**event(body), "headers": {"content-type": "application/x-www-form-urlencoded"}},
            401,
            "unsigned",
            "SlackRequestUnsigned",
        ),
        (lambda body: event(body, secret="0" * 32), 401, "forged", "SlackRequestForged"),
        (lambda body: event(body, timestamp=NOW - 301), 401, "stale", "SlackRequestStale"),
        (lambda body: event(body, timestamp=NOW + 301), 401, "stale", "SlackRequestStale"),
        (
            lambda body: {
                **event(body),
                "headers": {**event(body)["headers"], "x-slack-request-timestamp": "soon"},
            },
            401,
            "stale",
            "SlackRequestStale",
        ),
        (lambda body: event(body, method="GET"), 405, "method_not_allowed", "SlackRequestRefused"),
        (lambda body: {**event(body), "body": "%%%not-base64%%%"}, 400, "malformed", "SlackRequestMalformed"),
        (lambda _: event("payload=" + "x" * (64 * 1024)), 413, "too_large", "SlackRequestOversized"),
        (lambda _: event("payload=%7B%22type%22%3A"), 400, "malformed", "SlackRequestMalformed"),
        (
            lambda _: event(urlencode({"payload": json.dumps({"type": "view_submission"})})),
            400,
            "malformed",
            "SlackRequestMalformed",
        ),
        (
            lambda _: event(
                urlencode(
                    {
                        "payload": json.dumps(
                            {
                                "type": "block_actions",
                                "user": {"id": APPROVER},
                                "actions": [{"action_id": "approve", "value": '{"service": "x"}'}],
                            }
                        )
                    }
                )
            ),
            400,
            "malformed",
            "SlackRequestMalformed",
        ),
        (lambda _: event("a=1&a=2&payload"), 400, "malformed", "SlackRequestMalformed"),
    ],
    ids=[
        "unsigned",
        "forged",
        "stale",
        "from-the-future",
        "timestamp-not-a-number",
        "get",
        "not-base64",
        "oversized",
        "payload-not-json",
        "not-block-actions",
        "button-value-not-ours",
        "not-a-payload-form",
    ],
)
def test_a_refused_request_gets_its_4xx_is_logged_and_counted_and_changes_nothing(  # noqa: PLR0917 - parametrized
    edge: Edge, make: Any, status: int, reason: str, metric: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = click_body(edge)
    sent = make(body)

    answer = edge.send(sent)

    assert (answer["statusCode"], answer["body"]) == (status, reason)
    assert metric in edge.counted()
    logged = [record for record in caplog.records if record.name == "test-endpoint"]
    assert [record.getMessage() for record in logged] == ["slack request refused"]
    assert [record.exc_info for record in logged] == [None]
    everything = " ".join(str(vars(record)) for record in logged)
    # Neither the body nor the signature reaches the log.
    assert sent["headers"].get("x-slack-signature", "v0=none") not in everything
    assert "hooks.slack.com" not in everything
    assert "T0TEST" not in everything
    assert_nothing_changed(edge)


def test_an_oversized_body_is_refused_before_the_secret_is_read(edge: Edge) -> None:
    answer = edge.send(event("payload=" + "x" * (200 * 1024)))

    assert answer["statusCode"] == 413
    assert edge.secret_reads == 0


def test_a_replayed_request_changes_nothing(edge: Edge) -> None:
    request = event(click_body(edge))
    edge.send(request)
    sent = len(edge.decisions.sent)
    votes = find_approval(edge.world.ports, "prod-web", edge.approval.digest).votes

    again = edge.send(request)

    assert again["statusCode"] == 200
    # Approved and already handed on: the replay only re-dispatches the same (once-only) deploy.
    stored = find_approval(edge.world.ports, "prod-web", edge.approval.digest)
    assert stored.votes == votes
    assert [d.kind for d in edge.decisions.sent[sent:]] == ["deploy", "reply"]


def test_a_table_that_cannot_be_written_now_is_a_503_not_a_traceback(edge: Edge) -> None:
    def failing_vote(*_: Any, **__: Any) -> None:
        raise RetryableError("DynamoDB UpdateItem throttled")

    edge.world.approvals.vote = failing_vote  # type: ignore[method-assign]

    answer = edge.send(event(click_body(edge)))

    assert answer["statusCode"] == 503
    assert "SlackEndpointError" in edge.counted()


def test_a_secret_that_cannot_be_read_is_a_503(edge: Edge) -> None:
    from pushpilot.entry.settings import SettingsError

    def no_secret() -> str:
        raise SettingsError("cannot read the Slack signing secret pushpilot/signing")

    answer = answer_slack_request(
        event(click_body(edge)),
        logger=edge.logger,
        metrics=edge.metrics,
        signing_secret=no_secret,
        ports=lambda: edge.world.ports,
        decisions=lambda: edge.decisions,
        now=time.time,
    )
    assert answer["statusCode"] == 503
    assert_nothing_changed(edge)


def test_a_member_of_a_listed_user_group_approves_through_the_endpoint(edge: Edge) -> None:
    asked: list[tuple[frozenset[str], str]] = []

    def members(groups: frozenset[str], user: str) -> bool:
        asked.append((groups, user))
        return user == "U0GROUPIE"

    answer = answer_slack_request(
        event(click_body(edge, user="U0GROUPIE")),
        logger=edge.logger,
        metrics=edge.metrics,
        signing_secret=edge.secret,
        ports=lambda: edge.world.ports,
        decisions=lambda: edge.decisions,
        now=lambda: NOW,
        members=members,
    )

    assert answer["statusCode"] == 200
    assert asked == [(frozenset({"S0GROUP1"}), "U0GROUPIE")]
    assert [d.kind for d in edge.decisions.sent] == ["deploy", "reply"]
