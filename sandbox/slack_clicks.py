"""Clicks on the release thread's buttons, posted by the Slack emulator to the stack's request URL.

`slack_action: {service, action, user, signature}` clicks the newest `action` button (approve, reject,
continue, rollback) in the Slack emulator's messages about `service`, the way Slack's interactivity does:
a `block_actions` payload form-encoded as `payload=`, signed with the app's signing secret
(`X-Slack-Signature: v0=<HMAC-SHA256 of v0:{timestamp}:{body}>`, `X-Slack-Request-Timestamp`), POSTed to
the function URL over HTTP on 127.0.0.1. `signature: forged` signs with another secret, `stale` with a
timestamp ten minutes old; `replay: true` sends the previous request again, byte for byte; `body:
oversized | malformed_json` sends a correctly signed body that is too large or whose payload is not JSON.

The function URL is emulated by a loopback server that turns the HTTP request into the Lambda function
URL event (payload format 2.0: `requestContext.http`, lower-cased `headers`, the body base64-encoded
when its content type is not text) and the handler's answer back into HTTP.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlencode, urlsplit

from pydantic import ConfigDict, Field, model_validator

from pushpilot_sandbox.environment import SANDBOX_SIGNING_SECRET, Sandbox
from pushpilot_sandbox.httpserver import LoopbackServer, LoopbackService
from pushpilot_sandbox.slack_sink import TEAM_ID
from pushpilot_sandbox.steps import StepError, _Args, _args

if TYPE_CHECKING:
    from pushpilot_sandbox.scenario import Setup
    from pushpilot_sandbox.timeline import Timeline

ENDPOINT_FUNCTION: Final = "SlackActionsFunction"
_FORGED_SECRET: Final = "0000000000000000forged0000000000"  # noqa: S105 - not the app's: that is the point
_STALE_SECONDS: Final = 600
_OVERSIZED_BYTES: Final = 70 * 1024
_TEXT_TYPES: Final = ("text/", "application/json", "application/xml")


class SlackActionArgs(_Args):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str | None = None
    action: Literal["approve", "reject", "continue", "rollback"] | None = None
    user: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")
    signature: Literal["valid", "forged", "stale"] = "valid"
    replay: bool = False
    body: Literal["oversized", "malformed_json"] | None = None
    # The click as if this many minutes had passed (an approval deadline, a hook's timeout).
    minutes_later: int = Field(default=0, ge=0, le=30 * 24 * 60)

    @model_validator(mode="after")
    def _complete(self) -> SlackActionArgs:
        if not self.replay and (self.service is None or self.action is None or self.user is None):
            raise ValueError("give service, action and user (or replay: true)")
        return self


@dataclass(frozen=True)
class _Request:
    body: bytes
    headers: dict[str, str]
    label: str


class FunctionUrl(LoopbackService):
    """The function URL of one function of the stack, on 127.0.0.1."""

    def __init__(self, sandbox: Sandbox, function_logical_id: str) -> None:
        self.sandbox = sandbox
        self.function = function_logical_id
        self.requests = 0
        self._server = LoopbackServer(
            type("FunctionUrlHandler", (_FunctionUrlHandler,), {"url_service": self})
        )

    def invoke(self, method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        self.requests += 1
        content_type = headers.get("content-type", "")
        text = content_type.startswith(_TEXT_TYPES)
        split = urlsplit(path)
        now = datetime.now(UTC)
        host = urlsplit(self.url).netloc
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": split.path or "/",
            "rawQueryString": split.query,
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "sandboxurl",
                "domainName": host,
                "domainPrefix": "sandboxurl",
                "http": {
                    "method": method,
                    "path": split.path or "/",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "body": body.decode("utf-8", errors="replace") if text else base64.b64encode(body).decode(),
            "isBase64Encoded": not text,
        }
        return self.sandbox.router.invoke_url(self.function, event)


class _FunctionUrlHandler(BaseHTTPRequestHandler):
    url_service: FunctionUrl
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.url_service.invoke(method, self.path, headers, body)
        payload = str(answer.get("body") or "").encode()
        self.send_response(int(answer.get("statusCode", 200)))
        for name, value in (answer.get("headers") or {}).items():
            self.send_header(str(name), str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - the standard library's signature
        return


@dataclass
class _State:
    url: FunctionUrl
    last: _Request | None = None


_STATES: weakref.WeakKeyDictionary[Sandbox, _State] = weakref.WeakKeyDictionary()
_RESPONSE_IDS = itertools.count(1)


def function_url(sandbox: Sandbox) -> FunctionUrl:
    """The request URL's emulated function URL, started on first use and stopped with the sandbox."""
    state = _STATES.get(sandbox)
    if state is None:
        if "SlackActionsFunction" not in {spec.logical_id for spec in sandbox.router.functions()}:
            raise StepError(
                "slack_action: the stack has no request URL (bot-mode Slack sets SlackSigningSecretId):"
                " set notifications.slack: bot"
            )
        url = FunctionUrl(sandbox, ENDPOINT_FUNCTION)
        url.start()
        # Stopped with the sandbox's other servers.
        sandbox._started.append(url)
        state = _State(url=url)
        _STATES[sandbox] = state
    return state.url


def _newest_button(sandbox: Sandbox, service: str, action: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The newest message about `service` with an `action` button: (message, button, block id)."""
    for message in reversed(sandbox.slack.messages()):
        for block in message.get("blocks") or []:
            if block.get("type") != "actions":
                continue
            for element in block.get("elements") or []:
                if element.get("action_id") != action or "value" not in element:
                    continue
                try:
                    pointer = json.loads(element["value"])
                except json.JSONDecodeError:
                    continue
                if service in str(pointer.get("service", "")).split("/"):
                    return message, element, str(block.get("block_id", ""))
    raise StepError(f"slack_action: no {action} button about {service} in the Slack thread")


def _payload(sandbox: Sandbox, args: SlackActionArgs) -> dict[str, Any]:
    if args.service is None or args.action is None or args.user is None:
        raise StepError("slack_action: give service, action and user")
    message, button, block_id = _newest_button(sandbox, args.service, args.action)
    action_ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": {
            "id": args.user,
            "username": args.user.lower(),
            "name": args.user.lower(),
            "team_id": TEAM_ID,
        },
        "api_app_id": "A0SANDBOX",
        "token": "legacyverificationtoken",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": "C0SANDBOX",
            "is_ephemeral": False,
            "thread_ts": message.get("thread_ts", message["ts"]),
        },
        "trigger_id": f"{next(_RESPONSE_IDS)}.{TEAM_ID}.{uuid.uuid4().hex[:24]}",
        "team": {"id": TEAM_ID, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": "C0SANDBOX", "name": "releases"},
        "message": message,
        "state": {"values": {}},
        "response_url": f"{sandbox.slack.url}/actions/{TEAM_ID}/{next(_RESPONSE_IDS)}/{uuid.uuid4().hex}",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": block_id,
                "text": button["text"],
                "value": button["value"],
                **({"style": button["style"]} if "style" in button else {}),
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def _signed(body: bytes, signature: str) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time()) - (_STALE_SECONDS if signature == "stale" else 0))
    secret = _FORGED_SECRET if signature == "forged" else SANDBOX_SIGNING_SECRET
    computed = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": computed or "",
    }


def _build(sandbox: Sandbox, args: SlackActionArgs) -> _Request:
    if args.body == "malformed_json":
        body = urlencode({"payload": '{"type": "block_actions", "user": '}).encode()
    else:
        body = urlencode({"payload": json.dumps(_payload(sandbox, args), separators=(",", ":"))}).encode()
        if args.body == "oversized":
            body += b"&padding=" + b"x" * _OVERSIZED_BYTES
    label = f"{args.user} clicks {args.action} on {args.service}"
    extras = [f"signature {args.signature}"] if args.signature != "valid" else []
    extras += [f"body {args.body}"] if args.body else []
    if extras:
        label += f" ({', '.join(extras)})"
    return _Request(body=body, headers=_signed(body, args.signature), label=label)


def _post(url: str, request: _Request) -> tuple[int, str]:
    http = urllib.request.Request(url, data=request.body, headers=request.headers, method="POST")  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(http, timeout=30) as answer:  # noqa: S310 - the loopback function URL
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def _request(sandbox: Sandbox, state: _State, args: SlackActionArgs) -> _Request:
    if not args.replay:
        return _build(sandbox, args)
    if state.last is None:
        raise StepError("slack_action: replay: true needs an earlier slack_action to replay")
    return _Request(state.last.body, state.last.headers, f"replay of: {state.last.label}")


def slack_action(sandbox: Sandbox, raw: Any, _base_dir: Path, timeline: Timeline) -> None:
    args = _args(SlackActionArgs, raw)
    url = function_url(sandbox)
    state = _STATES[sandbox]
    travel: Any = nullcontext()
    if args.minutes_later:
        import time_machine

        travel = time_machine.travel(datetime.now(UTC) + timedelta(minutes=args.minutes_later), tick=True)
    with travel:
        request = _request(sandbox, state, args)
        state.last = request
        responses_before = len(sandbox.slack.responses())
        later = f", {args.minutes_later} minutes later" if args.minutes_later else ""
        timeline.say(f"  ☝ Slack: {request.label}{later}")
        status, text = _post(url.url, request)
        timeline.say(f"    └ request URL answered {status}{' ' + text if text else ''}")
        timeline.record()
        sandbox.settle()
        timeline.record()
    told = [str(item.get("text", "")) for item in sandbox.slack.responses()[responses_before:]]
    for line in told:
        timeline.say(f"    ✉ only {args.user or 'the clicker'} sees: {line}")
    timeline.slack_actions.append(
        {"request": request.label, "status": status, "body": text, "ephemeral": told, "replay": args.replay}
    )


def check_slack_action(raw: Any, setup: Setup) -> None:
    """Refuse a slack_action step the scenario cannot run, before anything starts."""
    args = _args(SlackActionArgs, raw)
    if setup.notifications.slack != "bot":
        raise StepError("slack_action: buttons live in Slack threads: set notifications.slack: bot")
    names = {service.name for service in setup.services} | {service.name for service in setup.ecs_services}
    if args.service is not None and args.service not in names:
        raise StepError(f"slack_action: service {args.service!r} is not in setup")
