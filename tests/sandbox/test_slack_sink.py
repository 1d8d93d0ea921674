"""The Slack sink answers slack_sdk's clients the way Slack does, including its failures."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from pushpilot_sandbox.slack_sink import SlackSink

pytestmark = pytest.mark.sandbox

BOT_TOKEN = "xoxb-0000000000-sandbox-token"
NO_WAIT = FixedValueRetryIntervalCalculator(0)


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    with SlackSink() as running:
        yield running


def web_client(sink: SlackSink, **options: object) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=sink.api_url(), timeout=5, **options)  # type: ignore[arg-type]


def test_webhook_post_is_answered_ok_and_recorded(sink: SlackSink) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*web* is live"}}]

    response = WebhookClient(sink.webhook_url()).send(text="web is live", blocks=blocks)

    assert (response.status_code, response.body) == (200, "ok")
    (post,) = sink.posts
    assert post.kind == "webhook"
    assert post.method is None
    assert post.payload == {"text": "web is live", "blocks": blocks}
    assert post.path == "/services/T0SANDBOX/B0SANDBOX/sandboxsecret"


def test_webhook_without_text_is_rejected_like_slack(sink: SlackSink) -> None:
    response = WebhookClient(sink.webhook_url()).send_dict({"channel": "C1"})

    assert (response.status_code, response.body) == (400, "no_text")
    assert sink.delivered() == []


def test_webhook_rate_limited_then_delivered_once_with_retry_handler(sink: SlackSink) -> None:
    sink.fail_next(429, retry_after=0)
    client = WebhookClient(sink.webhook_url(), retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])

    response = client.send(text="deploy started")

    assert response.status_code == 200
    assert [post.status for post in sink.posts] == [429, 200]
    assert len(sink.delivered()) == 1


def test_post_message_returns_a_fresh_ts_and_update_changes_the_stored_message(sink: SlackSink) -> None:
    client = web_client(sink)

    first = client.chat_postMessage(channel="C0RELEASES", text="build started")
    second = client.chat_postMessage(channel="C0RELEASES", text="build done", thread_ts=first["ts"])
    updated = client.chat_update(channel="C0RELEASES", ts=first["ts"], text="web is live")

    assert first["ok"]
    assert first["channel"] == "C0RELEASES"
    assert first["ts"] < second["ts"]
    assert updated["ts"] == first["ts"]
    assert updated["text"] == "web is live"
    thread = sink.thread("C0RELEASES", first["ts"])
    assert [message["text"] for message in thread] == ["web is live", "build done"]
    assert [post.method for post in sink.posts] == ["chat.postMessage", "chat.postMessage", "chat.update"]


def test_authorization_header_is_never_recorded(sink: SlackSink) -> None:
    web_client(sink).auth_test()

    (post,) = sink.posts
    assert post.ok
    assert all(name.lower() != "authorization" for name in post.headers)
    assert BOT_TOKEN not in json.dumps(post.model_dump())


def test_invalid_token_is_invalid_auth(sink: SlackSink) -> None:
    client = WebClient(token="not-a-slack-token", base_url=sink.api_url(), timeout=5)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")

    assert raised.value.response["error"] == "invalid_auth"
    assert sink.messages() == []


def test_unknown_method_is_reported(sink: SlackSink) -> None:
    with pytest.raises(SlackApiError) as raised:
        web_client(sink).api_call("chat.teleport", json={"channel": "C1"})

    assert raised.value.response["error"] == "unknown_method"


def test_form_encoded_call_is_understood(sink: SlackSink) -> None:
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]

    response = web_client(sink).api_call(
        "chat.postMessage", data={"channel": "C2", "text": "hi", "blocks": json.dumps(blocks)}
    )

    assert response["ok"]
    (message,) = sink.messages("C2")
    assert message["blocks"] == blocks


def test_update_of_unknown_message_is_message_not_found(sink: SlackSink) -> None:
    with pytest.raises(SlackApiError) as raised:
        web_client(sink).chat_update(channel="C1", ts="1700000000.999900", text="x")

    assert raised.value.response["error"] == "message_not_found"


def test_rate_limited_api_call_is_delivered_once_after_retry(sink: SlackSink) -> None:
    sink.fail_next(429, retry_after=0)
    client = web_client(sink, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    response = client.chat_postMessage(channel="C3", text="rolled back")

    assert response["ok"]
    assert [(post.status, post.error) for post in sink.posts] == [(429, "ratelimited"), (200, None)]
    assert [message["text"] for message in sink.messages("C3")] == ["rolled back"]


def test_rate_limit_carries_retry_after_header(sink: SlackSink) -> None:
    sink.fail_next(429, retry_after=7)
    request = urllib.request.Request(  # noqa: S310 - loopback URL of the sink
        sink.webhook_url(), data=b'{"text": "x"}', headers={"Content-Type": "application/json"}, method="POST"
    )

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback URL of the sink

    assert raised.value.code == 429
    assert raised.value.headers["Retry-After"] == "7"


def test_server_error_is_retried_by_server_error_handler(sink: SlackSink) -> None:
    sink.fail_next(500)
    client = web_client(
        sink, retry_handlers=[ServerErrorRetryHandler(max_retry_count=1, interval_calculator=NO_WAIT)]
    )

    response = client.chat_postMessage(channel="C4", text="deploy failed")

    assert response["ok"]
    assert [post.status for post in sink.posts] == [500, 200]
    assert len(sink.messages("C4")) == 1


def test_fail_always_until_recover(sink: SlackSink) -> None:
    sink.fail_always(503)
    client = WebhookClient(sink.webhook_url())

    failing = [client.send(text="x").status_code for _ in range(3)]
    sink.recover()
    recovered = client.send(text="x").status_code

    assert failing == [503, 503, 503]
    assert recovered == 200


def test_api_error_next_answers_ok_false_once(sink: SlackSink) -> None:
    sink.api_error_next("channel_not_found")
    client = web_client(sink)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C5", text="x")
    again = client.chat_postMessage(channel="C5", text="x")

    assert raised.value.response["error"] == "channel_not_found"
    assert again["ok"]


def test_slow_answer_times_the_client_out(sink: SlackSink) -> None:
    sink.slow(2.0)
    client = WebhookClient(sink.webhook_url(), timeout=1)

    with pytest.raises(TimeoutError):
        client.send(text="x")


def test_concurrent_posts_get_distinct_ts(sink: SlackSink) -> None:
    client = web_client(sink)
    answers: list[str] = []
    lock = threading.Lock()

    def post(number: int) -> None:
        ts = client.chat_postMessage(channel="C6", text=f"message {number}")["ts"]
        with lock:
            answers.append(ts)

    threads = [threading.Thread(target=post, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(answers)) == 12
    assert len(sink.messages("C6")) == 12
