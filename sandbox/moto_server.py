"""moto in server mode on 127.0.0.1, on a port the OS picks, for the sandbox and its tests.

The server is moto's own (its dispatcher application and request handler, served by werkzeug, as
`moto.server.ThreadedMotoServer` does), built here so that:

- the dispatcher is reachable in process as `MotoHandle.app`: the gateway and the sandbox's own clients,
  which run in this process, hand requests to it (`answer_in_process`, `MotoHandle.serve_in_process`)
  rather than through a loopback socket; moto's server closes every connection, so each request would
  cost a new connection and a server thread;
- the dispatcher remembers which backend serves a host: moto lists its package directory to answer
  that on every request, and the answer depends on the host alone;
- `stop()` returns within a twentieth of a second rather than werkzeug's default half.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from botocore.awsrequest import AWSPreparedRequest

logger = logging.getLogger(__name__)

# How often serve_forever looks for a shutdown request; it bounds how long stop() takes.
_SHUTDOWN_POLL_SECONDS = 0.05


class _MotoDispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering the backend found for each host."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backend_for_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # moto calls this under its own lock, so the dictionary needs none.
        if host not in self._backend_for_host:
            self._backend_for_host[host] = super().get_backend_for_host(host)
        return self._backend_for_host[host]


@dataclass(frozen=True)
class MotoAnswer:
    status: int
    reason: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes


def answer_in_process(
    app: WSGIApplication, *, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
) -> MotoAnswer:
    """moto's answer to one HTTP request (`target` = path and query), from its application in this process."""
    environ = EnvironBuilder(path=target, method=method, headers=list(headers), data=body).get_environ()
    try:
        chunks, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    except Exception:
        # moto's server answers any error its application raises with a 500, and so does this.
        logger.exception("moto failed on %s %s", method, target)
        return MotoAnswer(500, "Internal Server Error", (("Content-Type", "text/plain"),), b"moto failed\n")
    code, _, reason = status.partition(" ")
    return MotoAnswer(int(code), reason or None, tuple(response_headers.to_wsgi_list()), b"".join(chunks))


class _Body:
    """The raw body botocore reads an answer from (`AWSResponse.raw.stream()`)."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> list[bytes]:
        return [self._content]


@dataclass(frozen=True)
class MotoHandle:
    url: str
    app: WSGIApplication = field(repr=False)
    """moto's dispatcher, the application the server at `url` runs."""
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def reset(self) -> None:
        """Forget every resource moto holds (moto's own reset endpoint)."""
        if not self.url.startswith("http://127.0.0.1:"):
            raise ValueError(f"not a loopback moto: {self.url}")
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        # Resetting drops every backend of every region, which takes seconds on a busy two-core machine:
        # a generous bound, still finite, so a wedged server fails the story instead of hanging it.
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            response.read()

    def serve_in_process[ClientT](self, client: ClientT) -> ClientT:
        """Have `client` (a boto3 client with this server's endpoint) get its answers from `app` directly."""

        def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
            url = urlsplit(request.url)
            headers = [(name, _header_text(value)) for name, value in request.headers.items()]
            if not any(name.lower() == "host" for name, _ in headers):
                headers.append(("Host", url.netloc))
            answer = answer_in_process(
                self.app,
                method=request.method,
                target=f"{url.path or '/'}{'?' if url.query else ''}{url.query}",
                headers=headers,
                body=_body_bytes(request.body),
            )
            headers_out = HTTPHeaders.from_pairs(list(answer.headers))
            return AWSResponse(request.url, answer.status, headers_out, _Body(answer.body))

        client.meta.events.register("before-send", send)  # type: ignore[attr-defined]
        return client

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _header_text(value: object) -> str:
    # botocore keeps some header values as bytes (X-Amz-Target among them), whatever its types say.
    return value.decode() if isinstance(value, bytes) else str(value)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    content: bytes = body.read()
    return content


def start_moto() -> MotoHandle:
    """Start moto; port 0 works directly, the bound port is read back from the server."""
    werkzeug_logger = logging.getLogger("werkzeug")
    # werkzeug logs a line per request unless told otherwise; keep errors, drop the access log.
    if werkzeug_logger.level == logging.NOTSET:
        werkzeug_logger.setLevel(logging.WARNING)
    app = _MotoDispatcher()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
        name="moto",
        daemon=True,
    )
    thread.start()
    host, port = server.server_address[:2]
    return MotoHandle(url=f"http://{host!s}:{port}", app=app, _server=server, _thread=thread)
