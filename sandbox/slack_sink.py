"""A Slack stand-in on 127.0.0.1: incoming webhooks and the Web API methods pushpilot calls.

It answers the way Slack documents (webhook: `ok` as text/plain; Web API: JSON with `ok` and an
`error` code; 429 with Retry-After when rate limited), records every request it receives, and can be
told to fail, rate-limit or stall the next requests so retry behaviour can be shown.

`inject_fault` speaks the scenario's `fault` step: after `after` matching requests, the next `times`
either fail (`kind="error"`) or are acted on and then left unanswered (`kind="timeout"`: the message is
posted, the connection closed without a status line — urllib's `http.client.RemoteDisconnected`, which
the client cannot tell from a read timeout after sending).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

from pushpilot_sandbox.httpserver import LoopbackServer, LoopbackService

TEAM_ID: Final = "T0SANDBOX"
BOT_ID: Final = "B0SANDBOX"
BOT_USER_ID: Final = "U0SANDBOX"

# The plain-text bodies Slack documents for webhook failures, by status.
_WEBHOOK_ERRORS: Final = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "rollup_error",
}
_HIDDEN_HEADERS: Final = frozenset({"authorization", "cookie"})


class SlackPost(BaseModel):
    """One request the sink received and what it answered."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["webhook", "api", "response"]
    path: str
    method: str | None
    """The Web API method (chat.postMessage, chat.update, ...); None for a webhook."""
    payload: dict[str, Any]
    headers: dict[str, str]
    """Request headers, Authorization and Cookie left out."""
    status: int
    ok: bool
    error: str | None = None
    answered: bool = True
    """False when the sink acted but closed the connection instead of answering (a timeout fault)."""


class _Failure(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    retry_after: int | None = None
    api_error: str | None = None
    method: str | None = None
    """Only this Web API method meets the failure; None: whatever request comes next."""
    error_text: str | None = None
    """The error code to answer with instead of the one Slack gives for `status`."""


WEBHOOK: Final = "webhook"
"""The name a fault gives incoming-webhook posts (Web API calls go by their method name)."""


@dataclass
class _Fault:
    method: str | None
    kind: Literal["error", "timeout"]
    failure: _Failure | None
    pass_through: int
    remaining: int


class _Delay(BaseModel):
    model_config = ConfigDict(frozen=True)

    seconds: float
    after_acting: bool


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = {}
    dropped: bool = False


class SlackSink(LoopbackService):
    """Start it (or use `with`); point WebhookClient at `webhook_url()` and WebClient at `api_url()`."""

    def __init__(self, *, token: str | None = None, history_scope: bool = True) -> None:
        """`token`: the one bot token accepted; by default any `xoxb-`/`xoxp-` token is.
        `history_scope`: whether the token may read channels (conversations.history / .replies)."""
        self._token = token
        self._history_scope = history_scope
        self._lock = threading.Lock()
        self._posts: list[SlackPost] = []
        self._failures: deque[_Failure] = deque()
        self._always: _Failure | None = None
        self._delays: deque[_Delay] = deque()
        self._faults: list[_Fault] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts_counter = 0
        # Slack user groups by id (usergroups.users.list): who is in each.
        self.user_groups: dict[str, list[str]] = {}
        self._server = LoopbackServer(
            type("SlackSinkRequestHandler", (_SlackRequestHandler,), {"sink": self})
        )

    def webhook_url(self) -> str:
        return f"{self.url}/services/{TEAM_ID}/{BOT_ID}/sandboxsecret"

    def api_url(self) -> str:
        return f"{self.url}/api/"

    # --- what was received ---------------------------------------------------------------------

    @property
    def posts(self) -> list[SlackPost]:
        with self._lock:
            return list(self._posts)

    def responses(self) -> list[dict[str, Any]]:
        """What was posted to clicks' response URLs, oldest first."""
        return [post.payload for post in self.posts if post.kind == "response"]

    def delivered(self) -> list[SlackPost]:
        """The requests Slack would have acted on: answered 200 with ok."""
        return [post for post in self.posts if post.status == HTTPStatus.OK and post.ok]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they stand now (updates applied), oldest first."""
        with self._lock:
            found = [
                dict(message)
                for (message_channel, _), message in self._messages.items()
                if channel is None or message_channel == channel
            ]
        return sorted(found, key=lambda message: str(message["ts"]))

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The parent message and its replies, oldest first."""
        return [
            message
            for message in self.messages(channel)
            if message["ts"] == thread_ts or message.get("thread_ts") == thread_ts
        ]

    # --- failure injection ---------------------------------------------------------------------

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: int | None = None, method: str | None = None
    ) -> None:
        """Answer the next `times` requests (of Web API `method`, when given) with `status` (429 carries
        Retry-After, 1 s unless given)."""
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures.extend(
                _Failure(status=status, retry_after=retry_after, method=method) for _ in range(times)
            )

    def api_error_next(self, error: str, *, times: int = 1) -> None:
        """Answer the next `times` Web API calls with HTTP 200 and `{"ok": false, "error": error}`."""
        with self._lock:
            self._failures.extend(_Failure(status=HTTPStatus.OK, api_error=error) for _ in range(times))

    def inject_fault(
        self,
        method: str | None = None,
        *,
        kind: Literal["error", "timeout"] = "error",
        status: int | None = None,
        code: str | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Let `after` requests of `method` (a Web API method, `webhook`, or None: any) through, then
        fail the next `times`.

        `kind="error"`: answer HTTP `status` (429 carries Retry-After: 1), or for a Web API call with
        only `code`, HTTP 200 with `{"ok": false, "error": code}`; a webhook answers `code` as its text.
        `kind="timeout"`: act on the request (post, update), then close the connection unanswered.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if after < 0:
            raise ValueError("after must be 0 or more")
        failure: _Failure | None = None
        if kind == "error":
            if status is None and code is None:
                raise ValueError("an error fault needs a status or a code")
            if method != WEBHOOK and code is not None and status in {None, HTTPStatus.OK}:
                failure = _Failure(status=HTTPStatus.OK, api_error=code)
            else:
                answer_status = status or HTTPStatus.BAD_REQUEST
                failure = _Failure(
                    status=answer_status,
                    retry_after=1 if answer_status == HTTPStatus.TOO_MANY_REQUESTS else None,
                    error_text=code,
                )
        with self._lock:
            self._faults.append(
                _Fault(method=method, kind=kind, failure=failure, pass_through=after, remaining=times)
            )

    def _take_fault(self, method: str | None) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method is not None and fault.method != method:
                    continue
                if fault.pass_through > 0:
                    fault.pass_through -= 1
                    return None
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def fail_always(self, status: int) -> None:
        with self._lock:
            self._always = _Failure(
                status=status, retry_after=1 if status == HTTPStatus.TOO_MANY_REQUESTS else None
            )

    def recover(self) -> None:
        with self._lock:
            self._always = None
            self._failures.clear()
            self._delays.clear()
            self._faults.clear()

    def slow(self, seconds: float, *, times: int = 1, after_acting: bool = False) -> None:
        """Hold the next `times` requests for `seconds`, to exercise client timeouts: by default
        before acting on them (Slack received the request late), with `after_acting` between acting
        and answering (Slack posted the message, the answer is what came late)."""
        with self._lock:
            self._delays.extend(_Delay(seconds=seconds, after_acting=after_acting) for _ in range(times))

    def revoke_history_scope(self) -> None:
        """From now on the token may post but not read channels, as a bot with `chat:write` only."""
        with self._lock:
            self._history_scope = False

    # --- answering -----------------------------------------------------------------------------

    def _take_delay(self) -> _Delay | None:
        with self._lock:
            return self._delays.popleft() if self._delays else None

    def _take_failure(self, *, method: str | None) -> _Failure | None:
        """The first queued failure this request meets (`method` None: a webhook)."""
        with self._lock:
            for failure in self._failures:
                # A queued Web API error waits for a Web API call; webhooks pass it by.
                if failure.api_error is not None and method is None:
                    break
                if failure.method is None or failure.method == method:
                    self._failures.remove(failure)
                    return failure
            return self._always

    def _next_ts(self) -> str:
        with self._lock:
            self._ts_counter += 1
            count = self._ts_counter
        return f"{1_700_000_000 + count // 10_000}.{(count % 10_000) * 100:06d}"

    def _record(self, post: SlackPost) -> None:
        with self._lock:
            self._posts.append(post)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        route = urlsplit(path).path
        fault = self._take_fault(_fault_name(route))
        delay = self._take_delay()
        if delay is not None and not delay.after_acting:
            time.sleep(delay.seconds)
        timeout = fault is not None and fault.kind == "timeout"
        answer = self._act(
            route, headers, body, forced=fault.failure if fault is not None else None, answered=not timeout
        )
        if delay is not None and delay.after_acting:
            time.sleep(delay.seconds)
        return answer.model_copy(update={"dropped": True}) if timeout else answer

    def _act(
        self, route: str, headers: dict[str, str], body: bytes, *, forced: _Failure | None, answered: bool
    ) -> _Answer:
        visible_headers = {
            name: value for name, value in headers.items() if name.lower() not in _HIDDEN_HEADERS
        }
        if route.startswith("/services/"):
            return self._answer_webhook(
                route, visible_headers, headers, body, forced=forced, answered=answered
            )
        if route.startswith("/api/"):
            return self._answer_api(route, visible_headers, headers, body, forced=forced, answered=answered)
        if route.startswith("/actions/"):
            # A click's response_url: what the person who clicked is told (ephemeral).
            payload, parse_error = _parse_body(headers, body, form_field="payload")
            status = HTTPStatus.BAD_REQUEST if parse_error else HTTPStatus.OK
            self._record(
                SlackPost(
                    kind="response",
                    path=route,
                    method=None,
                    payload=payload,
                    headers=visible_headers,
                    status=status,
                    ok=not parse_error,
                    answered=answered,
                )
            )
            return _Answer(
                status=status,
                body=b"ok" if not parse_error else b"invalid_payload",
                content_type="text/plain",
            )
        return _Answer(status=HTTPStatus.NOT_FOUND, body=b"not_found", content_type="text/plain")

    def _answer_webhook(
        self,
        route: str,
        visible_headers: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        *,
        forced: _Failure | None,
        answered: bool,
    ) -> _Answer:
        payload, parse_error = _parse_body(headers, body, form_field="payload")
        failure = forced or self._take_failure(method=None)
        if failure is not None:
            status = failure.status
            error = failure.error_text or _WEBHOOK_ERRORS.get(failure.status, "rollup_error")
        elif len([part for part in route.split("/") if part]) != 4:
            status, error = HTTPStatus.NOT_FOUND, "no_service"
        elif parse_error:
            status, error = HTTPStatus.BAD_REQUEST, "invalid_payload"
        elif not any(payload.get(key) for key in ("text", "blocks", "attachments")):
            status, error = HTTPStatus.BAD_REQUEST, "no_text"
        else:
            status, error = HTTPStatus.OK, None
        post = SlackPost(
            kind="webhook",
            path=route,
            method=None,
            payload=payload,
            headers=visible_headers,
            status=status,
            ok=error is None,
            error=error,
            answered=answered,
        )
        self._record(post)
        extra = (
            {"Retry-After": str(failure.retry_after)} if failure and failure.retry_after is not None else {}
        )
        return _Answer(
            status=status,
            body=(error or "ok").encode(),
            content_type="text/plain; charset=utf-8",
            headers=extra,
        )

    def _answer_api(
        self,
        route: str,
        visible_headers: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        *,
        forced: _Failure | None,
        answered: bool,
    ) -> _Answer:
        method = route.removeprefix("/api/").strip("/")
        payload, parse_error = _parse_body(headers, body, form_field=None)
        token = _bearer(headers) or str(payload.pop("token", "") or "")
        failure = forced or self._take_failure(method=method)
        status: int = HTTPStatus.OK
        extra: dict[str, str] = {}
        if failure is not None and failure.api_error is None:
            status = failure.status
            default_error = "ratelimited" if status == HTTPStatus.TOO_MANY_REQUESTS else "fatal_error"
            response: dict[str, Any] = {"ok": False, "error": failure.error_text or default_error}
            if failure.retry_after is not None:
                extra["Retry-After"] = str(failure.retry_after)
        elif failure is not None:
            response = {"ok": False, "error": failure.api_error}
        elif parse_error:
            response = {"ok": False, "error": "invalid_json"}
        elif not self._token_valid(token):
            response = {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        else:
            response = self._call(method, payload)
        post = SlackPost(
            kind="api",
            path=route,
            method=method,
            payload=payload,
            headers=visible_headers,
            status=status,
            ok=bool(response.get("ok")),
            error=response.get("error"),
            answered=answered,
        )
        self._record(post)
        return _Answer(
            status=status,
            body=json.dumps(response).encode(),
            content_type="application/json; charset=utf-8",
            headers=extra,
        )

    def _token_valid(self, token: str) -> bool:
        if self._token is not None:
            return token == self._token
        return token.startswith(("xoxb-", "xoxp-"))

    def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return {
                    "ok": True,
                    "url": "https://sandbox.slack.invalid/",
                    "team": "Sandbox",
                    "user": "pushpilot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                }
            case "chat.postMessage":
                return self._post_message(payload)
            case "chat.update":
                return self._update_message(payload)
            case "conversations.history" | "conversations.replies":
                return self._read_channel(method, payload)
            case "usergroups.users.list":
                group = str(payload.get("usergroup") or "")
                with self._lock:
                    members = self.user_groups.get(group)
                if members is None:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(members)}
            case "chat.getPermalink":
                channel, ts = str(payload.get("channel", "")), str(payload.get("message_ts", ""))
                with self._lock:
                    known = (channel, ts) in self._messages
                if not known:
                    return {"ok": False, "error": "message_not_found"}
                permalink = f"https://sandbox.slack.invalid/archives/{channel}/p{ts.replace('.', '')}"
                return {"ok": True, "channel": channel, "permalink": permalink}
            case _:
                return {"ok": False, "error": "unknown_method"}

    def _post_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = str(payload.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(payload.get(key) for key in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        thread_ts = payload.get("thread_ts")
        with self._lock:
            if thread_ts and (channel, str(thread_ts)) not in self._messages:
                return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": ts,
            "text": str(payload.get("text") or ""),
            **{
                key: _decoded(payload[key]) for key in ("blocks", "attachments", "metadata") if key in payload
            },
        }
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        with self._lock:
            self._messages[channel, ts] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _update_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(payload.get("channel") or ""), str(payload.get("ts") or "")
        with self._lock:
            message = self._messages.get((channel, ts))
            if message is None:
                return {"ok": False, "error": "message_not_found" if channel else "channel_not_found"}
            if "text" in payload:
                message["text"] = str(payload["text"])
            for key in ("blocks", "attachments", "metadata"):
                if key in payload:
                    message[key] = _decoded(payload[key])
            message["edited"] = {"user": BOT_USER_ID, "ts": self._peek_ts()}
            updated = dict(message)
        return {"ok": True, "channel": channel, "ts": ts, "text": updated["text"], "message": updated}

    def _read_channel(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages, newest first) and conversations.replies (a
        thread, oldest first); message metadata only with `include_all_metadata`, as Slack does."""
        with self._lock:
            allowed = self._history_scope
        if not allowed:
            return {
                "ok": False,
                "error": "missing_scope",
                "needed": "channels:history",
                "provided": "chat:write",
            }
        channel = str(payload.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = str(payload.get("include_all_metadata", "")).lower() in {"1", "true"}
        if method == "conversations.replies":
            ts = str(payload.get("ts") or "")
            found = self.thread(channel, ts)
            if not found:
                return {"ok": False, "error": "thread_not_found"}
        else:
            oldest = float(payload.get("oldest") or 0)
            found = [
                message
                for message in reversed(self.messages(channel))
                if message.get("thread_ts") in {None, message["ts"]} and float(message["ts"]) >= oldest
            ]
        shown = [
            message if with_metadata else {key: value for key, value in message.items() if key != "metadata"}
            for message in found
        ]
        return {"ok": True, "messages": shown, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _peek_ts(self) -> str:
        count = self._ts_counter
        return f"{1_700_000_000 + count // 10_000}.{(count % 10_000) * 100:06d}"


def _fault_name(route: str) -> str | None:
    """How a fault names this request: its Web API method, `webhook`, or None for anything else."""
    if route.startswith("/api/"):
        return route.removeprefix("/api/").strip("/")
    if route.startswith("/services/"):
        return WEBHOOK
    return None


def _decoded(value: Any) -> Any:
    """Form-encoded calls carry blocks and attachments as JSON text."""
    if isinstance(value, str) and value[:1] in {"[", "{"}:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _bearer(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.startswith("Bearer "):
            return value.removeprefix("Bearer ").strip()
    return ""


def _parse_body(
    headers: dict[str, str], body: bytes, *, form_field: str | None
) -> tuple[dict[str, Any], bool]:
    """The request's parameters, and whether the body could not be read as its content type says."""
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    text = body.decode("utf-8", errors="replace")
    if not text:
        return {}, False
    if "application/x-www-form-urlencoded" in content_type:
        fields = {name: values[-1] for name, values in parse_qs(text, keep_blank_values=True).items()}
        if form_field is not None and form_field in fields:
            text = fields[form_field]
        else:
            return fields, False
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return {}, True
    return (parsed, False) if isinstance(parsed, dict) else ({}, True)


class _SlackRequestHandler(BaseHTTPRequestHandler):
    sink: SlackSink
    protocol_version = "HTTP/1.1"
    # Keep-alive with headers and body in separate writes stalls on Nagle's algorithm (~40 ms a call).
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._reply(self.sink.answer(self.path, dict(self.headers.items()), body))

    def do_GET(self) -> None:
        # Web API methods also accept their arguments in the query string.
        query = urlsplit(self.path).query
        headers = {**dict(self.headers.items()), "Content-Type": "application/x-www-form-urlencoded"}
        self._reply(self.sink.answer(self.path, headers, query.encode()))

    def _reply(self, answer: _Answer) -> None:
        if answer.dropped:
            # A timeout fault: the sink acted; the client reads end-of-stream where the answer should be.
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a `slow` answer past its timeout): nobody is left to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - the standard library's signature
        # The sink records requests itself; the default access log would go to stderr.
        return
