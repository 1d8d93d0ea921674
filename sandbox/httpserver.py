"""A threaded HTTP server on 127.0.0.1 and a free port, started and stopped by the sandbox.

The standard library's server is enough: the sandbox serves a handful of requests per step.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


class Lifecycle:
    """`with server:` starts and stops any sandbox server that has start() and stop()."""

    def start(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class LoopbackServer(Lifecycle):
    """Serve `handler_class` on 127.0.0.1 at a port the OS picks; `url` is ready after `start()`."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=handler_class.__name__,
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def server(self) -> ThreadingHTTPServer:
        return self._server

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class LoopbackService(Lifecycle):
    """A sandbox server whose HTTP side is one LoopbackServer, built in `__init__` as `self._server`."""

    _server: LoopbackServer

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()
