"""The config download over real HTTP on 127.0.0.1: bounded, and its failures typed."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from pushpilot.adapters.ecr import MAX_CONFIG_BYTES, BlobUnavailableError, download_blob
from pushpilot.core.errors import RetryableError
from pushpilot_sandbox.httpserver import LoopbackServer

pytestmark = pytest.mark.e2e

CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'


class BlobHandler(BaseHTTPRequestHandler):
    """`/config` serves a config, `/huge` more than the cap, `/status/<code>` answers with that code."""

    def do_GET(self) -> None:
        if self.path == "/config":
            self._answer(200, CONFIG)
        elif self.path == "/huge":
            self._answer(200, b" " * (MAX_CONFIG_BYTES + 1))
        elif self.path.startswith("/status/"):
            self._answer(int(self.path.removeprefix("/status/")), b"<Error/>")
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def blob_url() -> Iterator[str]:
    with LoopbackServer(BlobHandler) as server:
        yield server.url


def test_config_is_downloaded(blob_url: str) -> None:
    assert download_blob(f"{blob_url}/config") == CONFIG


def test_oversized_blob_is_unavailable(blob_url: str) -> None:
    with pytest.raises(BlobUnavailableError, match="larger than"):
        download_blob(f"{blob_url}/huge")


@pytest.mark.parametrize("status", [403, 404])
def test_refused_download_is_unavailable(blob_url: str, status: int) -> None:
    with pytest.raises(BlobUnavailableError, match=str(status)):
        download_blob(f"{blob_url}/status/{status}")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_failure_is_retryable(blob_url: str, status: int) -> None:
    with pytest.raises(RetryableError, match=str(status)):
        download_blob(f"{blob_url}/status/{status}")


def test_unreachable_host_is_retryable() -> None:
    with LoopbackServer(BlobHandler) as server:
        stopped_url = server.url
    with pytest.raises(RetryableError, match="failed"):
        download_blob(f"{stopped_url}/config")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/config"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(BlobUnavailableError, match="scheme"):
        download_blob(url)
