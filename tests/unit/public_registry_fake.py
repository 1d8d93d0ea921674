"""An in-memory public registry behind the ECR Public client's transport: the registry HTTP API's
token, manifest and blob routes, with blobs redirected to a separate blob host like public.ecr.aws."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from pushpilot.adapters.ecr_public import HttpRequest, HttpResponse

BASE = "https://registry.example.test"
BLOB_HOST = "https://blobs.example.test"
MANIFESTS = Path(__file__).parents[1] / "data" / "manifests"


def read(name: str) -> bytes:
    return (MANIFESTS / name).read_bytes()


def digest_of(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return HttpResponse(status, {"content-type": "application/json", **(headers or {})}, body)


@dataclass
class FakePublicRegistry:
    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    # (method, path) → status to answer instead, for fault tests.
    faults: dict[tuple[str, str], int] = field(default_factory=dict)
    unreachable: bool = False
    requests: list[HttpRequest] = field(default_factory=list)
    _issued: dict[str, str] = field(default_factory=dict)

    # --- setup -------------------------------------------------------------------------------------

    def push(self, name: str, tag: str, manifest: bytes, *blobs: bytes) -> str:
        """Store a manifest (and its config blobs) and point the tag at it; returns the digest."""
        media_type = json.loads(manifest)["mediaType"]
        digest = digest_of(manifest)
        self.manifests[digest] = (media_type, manifest)
        for blob in blobs:
            self.blobs[digest_of(blob)] = blob
        self.tags[name, tag] = digest
        return digest

    def calls(self, method: str, part: str = "") -> list[HttpRequest]:
        return [r for r in self.requests if r.method == method and part in urlsplit(r.url).path]

    # --- the transport -----------------------------------------------------------------------------

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if self.unreachable:
            raise ConnectionRefusedError("connection refused")
        url = urlsplit(request.url)
        if url.netloc == urlsplit(BLOB_HOST).netloc:
            return self._blob_host(request, url.path.lstrip("/"))
        fault = self.faults.get((request.method, url.path))
        if fault is not None:
            return _error(fault, "INJECTED", f"injected HTTP {fault}")
        if url.path == "/token/":
            query = parse_qs(url.query)
            assert query["service"] == ["public.ecr.aws"]
            scope = query["scope"][0]
            token = f"token-{len(self._issued)}"
            self._issued[token] = scope
            return HttpResponse(
                200, {"content-type": "application/json"}, json.dumps({"token": token}).encode()
            )
        return self._registry(request, url.path)

    def _registry(self, request: HttpRequest, path: str) -> HttpResponse:
        parts = path.removeprefix("/v2/").split("/")
        name, kind, reference = "/".join(parts[:-2]), parts[-2], parts[-1]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self._issued.get(token) != f"repository:{name}:pull":
            return _error(
                401,
                "UNAUTHORIZED",
                "authentication required",
                {"www-authenticate": f'Bearer realm="{BASE}/token/",service="public.ecr.aws",scope="aws"'},
            )
        if kind == "manifests":
            digest = reference if reference.startswith("sha256:") else self.tags.get((name, reference))
            if digest is None or digest not in self.manifests:
                return _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            media_type, body = self.manifests[digest]
            headers = {"docker-content-digest": digest, "content-type": media_type}
            return HttpResponse(200, headers, b"" if request.method == "HEAD" else body)
        if reference not in self.blobs:
            return _error(404, "BLOB_UNKNOWN", "blob unknown")
        return HttpResponse(307, {"location": f"{BLOB_HOST}/{reference}?signature=abc"})

    def _blob_host(self, request: HttpRequest, digest: str) -> HttpResponse:
        # Like a presigned store: a second authentication mechanism is refused.
        if "Authorization" in request.headers:
            return HttpResponse(400, {}, b"<Error><Code>InvalidArgument</Code></Error>")
        if digest not in self.blobs:
            return HttpResponse(404, {}, b"")
        return HttpResponse(200, {"content-type": "application/octet-stream"}, self.blobs[digest])
