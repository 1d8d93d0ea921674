"""moto in server mode on 127.0.0.1, on a port the OS picks, for the sandbox and its tests."""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from moto.server import ThreadedMotoServer


@dataclass(frozen=True)
class MotoHandle:
    url: str
    _server: ThreadedMotoServer = field(repr=False)

    def reset(self) -> None:
        """Forget every resource moto holds (moto's own reset endpoint)."""
        if not self.url.startswith("http://127.0.0.1:"):
            raise ValueError(f"not a loopback moto: {self.url}")
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_moto() -> MotoHandle:
    """Start moto; port 0 works directly, the bound port is read back from the server."""
    werkzeug_logger = logging.getLogger("werkzeug")
    # werkzeug logs a line per request unless told otherwise; keep errors, drop the access log.
    if werkzeug_logger.level == logging.NOTSET:
        werkzeug_logger.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoHandle(url=f"http://{host}:{port}", _server=server)
