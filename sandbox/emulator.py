"""The base the sandbox's service emulators stand on: one request pipeline, botocore's model checks,
page tokens and injected faults, with each service's own words on the wire.

App Runner (apprunner.py), ECS and Express Mode (ecs.py) and Lambda (lambda_functions.py) plug in the
same way; a new service does too:

1. Describe the service's wire in a `Dialect`: its botocore model checks (a `*_model.py` module over
   model_check.py), the error code and message for a request the model refuses, the code for an answer the
   model refuses, the key of an error body's message, its paging members, page sizes and token refusals,
   and (when not SerializationException) its words for a body that is not JSON.
2. Subclass `ModelEmulator`, set `_dialect` on the class, and in `__init__` set `_lock` and `_handlers`
   (operation name -> a method taking the request's parameters and returning a `Reply`: the answer body
   and the EventBridge events the call emits). Handlers run with the lock held.
3. Answer one request with `self._checked(operation, params)`: an unknown operation, a body that is not a
   JSON object and a request the model refuses are refused in the service's words, the handler runs, and
   an answer that departs from the model fails loudly as the service's internal error (an emulator bug
   must never hand a client a shape AWS would not send). Emit `Reply.events` after the lock is released:
   a subscriber may call back into the emulator. Lists page with `self._dialect.page(...)`.
4. Reach it one of two ways. Behind the gateway, for a service moto has but gets wrong or in part (ECS,
   Express, Lambda's image functions): satisfy gateway.py's `EmulatedService` (`owns` the operations it
   answers, moto keeps the rest; `answer(operation, body)`, e.g. a `WireAnswer`), register it in
   environment.py's `emulators` by signing name, and it meets the gateway's recording and injected
   faults with no code of its own. On its own endpoint, for a
   service moto lacks (App Runner): serve `awsjson_handler` with a `LoopbackServer`, record the calls and
   keep a `FaultBook`.
5. Every event an emulator emits has a real-shaped sample under events/ (at the repository root), and
   tests/sandbox/test_emitted_events.py holds each emitted event to its sample's fields, types and
   spellings: add the new service's samples and its emitting scenario there.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Literal, Protocol, override

from pushpilot_sandbox.page_tokens import PageTokenError, read_token, write_token

type Json = dict[str, Any]
type Emit = Callable[[Json], None]
type FaultKind = Literal["error", "timeout"]


class ApiError(Exception):
    """An awsJson error answer: `__type` code, message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(slots=True)
class Reply:
    """A handler's answer body and the events the call emits."""

    body: Json
    events: list[Json] = field(default_factory=list)


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch(moment: datetime) -> float:
    """A timestamp on the awsJson wire: epoch seconds, to the millisecond."""
    return round(moment.timestamp(), 3)


def parse_body(body: bytes) -> Json | None:
    """The request's JSON object (an empty body is an empty one), or None when it is not one."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class ModelChecks(Protocol):
    def __call__(self, operation_name: str, params: Mapping[str, Any], /) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where services differ on the wire; everything else in the pipeline is the same."""

    input_problems: ModelChecks
    output_problems: ModelChecks
    invalid_request: str
    """The code of a request the model refuses (and of a refused page token)."""
    internal_error: str
    message_key: str
    """`Message` (App Runner) or `message` (ECS) in an error body."""
    describe_problems: Callable[[list[str]], str]
    size_member: str
    marker_member: str
    page_sizes: Mapping[str, int]
    bad_marker: str
    foreign_marker: str
    unreadable_body: tuple[str, str] = ("SerializationException", "The request body is not a JSON object.")
    """The code and message of a body that is not a JSON object (Lambda: InvalidRequestContentException)."""

    def error_body(self, error: ApiError) -> Json:
        return {"__type": error.code, self.message_key: error.message}

    def page[T](self, operation: str, scope: str, items: list[T], params: Json) -> tuple[list[T], str | None]:
        """One page of `items` and the opaque token for the next, bound to the listing it came from."""
        size = int(params.get(self.size_member) or self.page_sizes[operation])
        token = params.get(self.marker_member)
        offset = self.read_token(str(token), operation, scope) if token else 0
        end = offset + size
        following = write_token(operation, scope, end) if end < len(items) else None
        return items[offset:end], following

    def read_token(self, token: str, operation: str, scope: str) -> int:
        try:
            return read_token(token, operation, scope)
        except PageTokenError as exc:
            message = self.foreign_marker if exc.foreign else self.bad_marker
            raise ApiError(self.invalid_request, message) from exc


class ModelEmulator:
    """One service's emulator: its handlers behind the model-checked pipeline of `_checked`."""

    _dialect: ClassVar[Dialect]
    # Errors a handler raises for a request the service refuses (the dialect's invalid-request code).
    _refusals: ClassVar[tuple[type[Exception], ...]] = ()
    _lock: threading.Lock | threading.RLock
    _handlers: dict[str, Callable[[Json], Reply]]

    @property
    def supported_operations(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def _checked(self, operation: str, params: Json | None, *, named: str | None = None) -> Reply:
        """Run one request through the model checks and its handler; ApiError in the service's words."""
        dialect = self._dialect
        if operation not in self._handlers:
            raise ApiError("UnknownOperationException", f"Unknown operation {named or operation}")
        if params is None:
            raise ApiError(*dialect.unreadable_body)
        problems = dialect.input_problems(operation, params)
        if problems:
            raise ApiError(dialect.invalid_request, dialect.describe_problems(problems))
        try:
            with self._lock:
                reply = self._handlers[operation](params)
        except self._refusals as error:
            raise ApiError(dialect.invalid_request, str(error)) from error
        problems = dialect.output_problems(operation, reply.body)
        if problems:
            # An emulator bug must fail loudly, never hand a client a shape AWS would not send.
            raise ApiError(
                dialect.internal_error,
                f"the emulator built an invalid {operation} response: {'; '.join(problems)}",
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )
        return reply


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    code: str
    message: str
    status: int
    remaining: int
    pass_through: int = 0
    """Calls still to let through before the fault applies."""


class FaultBook:
    """The faults injected per operation of an emulator that serves its own endpoint (the gateway keeps
    its own for the services it routes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    def put(self, operation: str, fault: Fault) -> None:
        with self._lock:
            self._faults[operation] = fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, operation: str) -> Fault | None:
        """The fault this call meets, if any, counted as met."""
        with self._lock:
            fault = self._faults.get(operation)
            if fault is None:
                return None
            if fault.pass_through > 0:
                fault.pass_through -= 1
                return None
            fault.remaining -= 1
            if fault.remaining == 0:
                del self._faults[operation]
        return fault


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """What goes back on the connection: an awsJson answer, or nothing at all (`dropped`)."""

    status: int
    body: Json
    dropped: bool = False


def awsjson_handler(
    answer: Callable[[str | None, bytes], WireAnswer], *, server_version: str, content_type: str
) -> type[BaseHTTPRequestHandler]:
    """The HTTP side of an emulator that serves its own awsJson endpoint: the `X-Amz-Target` header and
    the body go to `answer`; its answer goes back, or the connection closes without one."""

    class AwsJsonRequestHandler(BaseHTTPRequestHandler):
        # Keep-alive, as AWS's endpoints: HTTP/1.0 would cost a connection and a thread per call.
        # Every answer carries its Content-Length, so the connection can carry the next request.
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this each call stalls on Nagle's algorithm.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            reply = answer(self.headers.get("X-Amz-Target"), self.rfile.read(length))
            if reply.dropped:
                # A timeout fault: the emulator acted; the client reads end-of-stream, no status line.
                self.close_connection = True
                return
            status, payload = reply.status, reply.body
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if status >= HTTPStatus.BAD_REQUEST:
                self.send_header("x-amzn-ErrorType", str(payload.get("__type", "")))
            self.end_headers()
            self.wfile.write(data)

        @override
        def log_message(self, format: str, *args: Any) -> None:
            # Requests are kept by the emulator; stderr stays quiet during tests.
            return

    AwsJsonRequestHandler.server_version = server_version
    return AwsJsonRequestHandler
