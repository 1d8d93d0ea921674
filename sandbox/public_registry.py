"""A public container registry on 127.0.0.1 that speaks the registry HTTP API public.ecr.aws serves.

The ECR Public AWS API cannot read manifests, so clients use the registry API itself:

- `GET /token/?service=public.ecr.aws&scope=repository:<name>:pull` → `{"token": ...}` (anonymous);
- `HEAD|GET /v2/<name>/manifests/<tag or digest>` with `Authorization: Bearer <token>` → the manifest,
  `Docker-Content-Digest` and `Content-Type`;
- `GET /v2/<name>/blobs/<digest>` → a 307 redirect to `/storage/<name>/<digest>`, which serves the bytes
  without a token (as a CDN's presigned URL does);
- errors as the registry's JSON body (`{"errors": [{"code": ..., "message": ...}]}`) with 401, 404 or 429.

Images are the sandbox's own (`pushpilot_sandbox.oci`), so every digest is the sha256 of the bytes served.
Hand-written because no Python library serves the registry API.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from pushpilot_sandbox.httpserver import LoopbackServer, LoopbackService
from pushpilot_sandbox.oci import ImageSet

logger = logging.getLogger(__name__)

SERVICE: Final = "public.ecr.aws"
_ROUTE: Final = re.compile(r"^/v2/(?P<name>.+)/(?P<kind>manifests|blobs)/(?P<reference>[^/]+)$")
_STORAGE: Final = "/storage/"
_FAULT_CODES: Final = {429: "TOOMANYREQUESTS", 401: "UNAUTHORIZED", 404: "NAME_UNKNOWN"}


class RegistryCall(BaseModel):
    """One request the registry answered."""

    model_config = ConfigDict(frozen=True)

    method: str
    path: str
    status: int


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass
class _Repository:
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """digest → (media type, bytes)"""
    tags: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    remaining: int


def _error(status: int, code: str, message: str, *extra: tuple[str, str]) -> _Answer:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return _Answer(status, (("Content-Type", "application/json"), *extra), body)


class PublicRegistry(LoopbackService):
    """Publish images with `publish`; clients read them over HTTP at `url`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._repositories: dict[str, _Repository] = {}
        self._tokens: dict[str, str | None] = {}
        self._faults: list[_Fault] = []
        self._calls: list[RegistryCall] = []
        handler = type("PublicRegistryHandler", (_RegistryHandler,), {"registry": self})
        self._server = LoopbackServer(handler)

    # content

    def publish(self, repository: str, tag: str, image: ImageSet) -> str:
        """Store every manifest and blob of `image` and point `tag` at its top manifest; its digest."""
        with self._lock:
            stored = self._repositories.setdefault(repository, _Repository())
            for manifest in image.manifests:
                stored.manifests[manifest.digest] = (manifest.media_type, manifest.content)
            stored.blobs.update(image.blobs)
            stored.tags[tag] = image.top.digest
        return image.top.digest

    def digest_of(self, repository: str, tag: str) -> str | None:
        """The digest `repository:tag` points at now (what a pull would get), or None."""
        with self._lock:
            stored = self._repositories.get(repository)
            return stored.tags.get(tag) if stored is not None else None

    # faults and records

    def inject_fault(self, status: int, *, times: int = 1) -> None:
        """Answer the next `times` `/v2/` requests with `status` and the registry's error body."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status not in _FAULT_CODES and status < 500:
            raise ValueError(f"no registry error for status {status}")
        with self._lock:
            self._faults.append(_Fault(status, times))

    @property
    def calls(self) -> list[RegistryCall]:
        with self._lock:
            return list(self._calls)

    # serving

    def answer(self, method: str, target: str, headers: dict[str, str]) -> _Answer:
        split = urlsplit(target)
        path = split.path
        if path.rstrip("/") == "/token":
            answer = self._token(parse_qs(split.query))
        elif path.startswith(_STORAGE):
            answer = self._storage(path)
        elif path.startswith("/v2/"):
            answer = self._fault() or self._registry(method, path, headers)
        else:
            answer = _error(404, "NOT_FOUND", f"no route for {path}")
        with self._lock:
            self._calls.append(RegistryCall(method=method, path=path, status=answer.status))
        return answer

    def _token(self, query: dict[str, list[str]]) -> _Answer:
        scope = (query.get("scope") or [""])[0]
        kind, _, rest = scope.partition(":")
        name = rest.rpartition(":")[0] if kind == "repository" else None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = name
        return _Answer(200, (("Content-Type", "application/json"),), json.dumps({"token": token}).encode())

    def _fault(self) -> _Answer | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.pop(0)
        if fault.status == 429:
            return _error(429, "TOOMANYREQUESTS", "Rate exceeded")
        if fault.status >= 500:
            return _error(fault.status, "UNKNOWN", "The registry could not serve the request")
        return _error(fault.status, _FAULT_CODES[fault.status], "injected")

    def _authorized(self, headers: dict[str, str], name: str) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self._lock:
            if token not in self._tokens:
                return False
            scope = self._tokens[token]
        return scope is None or scope == name

    def _unauthorized(self) -> _Answer:
        challenge = f'Bearer realm="{self.url}/token/",service="{SERVICE}",scope="aws"'
        return _error(401, "UNAUTHORIZED", "authentication required", ("WWW-Authenticate", challenge))

    def _registry(self, method: str, path: str, headers: dict[str, str]) -> _Answer:
        route = _ROUTE.match(path)
        if route is None:
            return _error(404, "NOT_FOUND", f"no route for {path}")
        name, kind, reference = unquote(route["name"]), route["kind"], unquote(route["reference"])
        if not self._authorized(headers, name):
            return self._unauthorized()
        with self._lock:
            stored = self._repositories.get(name)
            if stored is None:
                return _error(404, "NAME_UNKNOWN", f"The repository with name '{name}' does not exist")
            if kind == "blobs":
                if reference not in stored.blobs and reference not in stored.manifests:
                    return _error(404, "BLOB_UNKNOWN", f"blob {reference} is unknown to the registry")
                location = f"{self.url}{_STORAGE}{quote(name)}/{quote(reference)}"
                return _Answer(307, (("Location", location),))
            digest = reference if reference.startswith("sha256:") else stored.tags.get(reference)
            found = stored.manifests.get(digest) if digest else None
        if digest is None or found is None:
            return _error(404, "MANIFEST_UNKNOWN", f"manifest {reference} is unknown to the registry")
        media_type, content = found
        accepted = [
            part.split(";")[0].strip() for part in headers.get("accept", "").split(",") if part.strip()
        ]
        if accepted and media_type not in accepted and "*/*" not in accepted:
            return _error(
                404, "MANIFEST_UNKNOWN", f"{media_type} found, but the Accept header does not list it"
            )
        described = (
            ("Docker-Content-Digest", digest),
            ("Content-Type", media_type),
            ("Content-Length", str(len(content))),
        )
        # A HEAD answer carries the length of the manifest it describes, and no body.
        return _Answer(200, described, b"" if method == "HEAD" else content)

    def _storage(self, path: str) -> _Answer:
        name, _, digest = path.removeprefix(_STORAGE).rpartition("/")
        with self._lock:
            stored = self._repositories.get(unquote(name))
            content = None
            if stored is not None:
                manifest = stored.manifests.get(unquote(digest))
                content = stored.blobs.get(unquote(digest)) or (manifest[1] if manifest else None)
        if content is None:
            return _Answer(404, (("Content-Type", "text/plain"),), b"not found\n")
        return _Answer(200, (("Content-Type", "application/octet-stream"),), content)


class _RegistryHandler(BaseHTTPRequestHandler):
    registry: ClassVar[PublicRegistry]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = {key.lower(): value for key, value in self.headers.items()}
        answer = self.registry.answer(self.command, self.path, headers)
        self.send_response(answer.status, HTTPStatus(answer.status).phrase)
        has_length = False
        for name, value in answer.headers:
            has_length = has_length or name.lower() == "content-length"
            self.send_header(name, value)
        if not has_length:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_HEAD = do_POST = _handle  # noqa: N815 - http.server dispatches on these names

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)
