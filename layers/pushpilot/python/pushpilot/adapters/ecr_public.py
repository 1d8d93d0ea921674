"""ECR Public adapter: read public images through the registry's HTTP API and judge them like ECR's.

The registry API (the OCI distribution API public.ecr.aws serves) and not boto3's `ecr-public`: that
API manages one's own public repositories and has no BatchGetImage or layer download, so it cannot read
another publisher's manifest or config.

Calls: one anonymous token per repository, kept for the client's life; one HEAD per tag check; judging
one digest is a GET of its manifest and, for a single-platform image, a GET of its config blob (which
the registry may redirect to where the bytes are). Errors leave this module typed (pushpilot.core.errors).
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Literal
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pydantic_core
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from pushpilot.adapters.ecr import MAX_CONFIG_BYTES
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    PushpilotError,
    RetryableError,
    ThrottledError,
)
from pushpilot.core.image_ref import ECR_PUBLIC_HOST
from pushpilot.core.verdicts import ACCEPTED_MEDIA_TYPES, Platform, Verdict, VerdictStatus, judge

DEFAULT_REGISTRY_URL = "https://public.ecr.aws"
TOKEN_SERVICE = "public.ecr.aws"  # noqa: S105 - the token service's name, not a credential
REQUEST_TIMEOUT_SECONDS = 10.0
# The registry refuses manifests above 4 MiB, so a longer body is not a manifest.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 3
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_TOKEN_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: Literal["GET", "HEAD"]
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    # The transport reads at most one byte more, so the client can tell an oversized body.
    max_bytes: int = MAX_MANIFEST_BYTES


@dataclass(frozen=True)
class HttpResponse:
    status: int
    # Header names lower-cased.
    headers: Mapping[str, str]
    body: bytes = b""


# One request, one response, whatever its status; redirects are returned, not followed (the client
# decides where its token may go). Raises OSError when no complete response came back.
Transport = Callable[[HttpRequest], HttpResponse]


class _ReturnRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        del args, kwargs


@cache
def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_ReturnRedirects)


def urllib_transport(request: HttpRequest) -> HttpResponse:
    """The default transport. urllib is enough: anonymous GET/HEAD with a bearer token needs no
    signing or session, and the layer ships no other HTTP client."""
    if urlsplit(request.url).scheme not in {"https", "http"}:
        raise ValueError(f"registry URL has an unexpected scheme: {request.url!r}")
    # S310: the scheme is checked above.
    outgoing = urllib.request.Request(  # noqa: S310
        request.url, method=request.method, headers=dict(request.headers)
    )
    try:
        with _opener().open(outgoing, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            body: bytes = response.read(request.max_bytes + 1)
            return HttpResponse(response.status, _lower(response.headers.items()), body)
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpResponse(exc.code, _lower(exc.headers.items()), exc.read(request.max_bytes + 1))
    except http.client.HTTPException as exc:
        raise ConnectionError(f"incomplete response from {request.url}: {exc!r}") from exc


def _lower(headers: Iterable[tuple[str, object]]) -> dict[str, str]:
    return {name.lower(): str(value) for name, value in headers}


class ManifestHead(BaseModel):
    model_config = ConfigDict(frozen=True)

    digest: str
    media_type: str | None


class Manifest(ManifestHead):
    body: bytes


class _Token(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1, validation_alias=AliasChoices("token", "access_token"))


class _RegistryError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = ""
    message: str = ""


class _RegistryErrors(BaseModel):
    model_config = ConfigDict(extra="ignore")

    errors: list[_RegistryError] = []


def _registry_error(body: bytes) -> str:
    """`CODE: message` from the registry's error body, or "" when it sent none."""
    try:
        errors = _RegistryErrors.model_validate(pydantic_core.from_json(body)).errors
    except ValueError:
        return ""
    return "; ".join(f"{error.code}: {error.message}".strip(": ") for error in errors)


def error_for(status: int, what: str, body: bytes = b"") -> PushpilotError:
    """The typed error for a registry answer that is not a success."""
    said = _registry_error(body)
    summary = f"{what}: HTTP {status}" + (f" ({said})" if said else "")
    if status in {401, 403}:
        return AccessDeniedError(
            f"{summary}: the registry refused anonymous access; the repository may be private or misspelt"
        )
    if status == 404:
        return NotFoundError(summary)
    if status == 429:
        return ThrottledError(summary)
    if status >= 500:
        return RetryableError(summary)
    return PermanentError(summary)


class EcrPublicRegistry:
    """Reads and judges images of a public registry; implements the `Inspector` protocol."""

    def __init__(self, base_url: str = DEFAULT_REGISTRY_URL, *, transport: Transport | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._origin = _origin(self._base)
        self._transport = transport or urllib_transport
        self._tokens: dict[str, str] = {}

    # --- the registry API ----------------------------------------------------------------------

    def head(self, name: str, reference: str) -> ManifestHead:
        """The digest and media type a tag (or digest) currently names, without reading the manifest."""
        response = self._get(name, "HEAD", self._manifest_url(name, reference), f"HEAD {name}:{reference}")
        return ManifestHead(digest=self._digest_header(response, name, reference), media_type=_type(response))

    def manifest(self, name: str, reference: str) -> Manifest:
        what = f"manifest {name}@{reference}" if ":" in reference else f"manifest {name}:{reference}"
        response = self._get(name, "GET", self._manifest_url(name, reference), what)
        if len(response.body) > MAX_MANIFEST_BYTES:
            raise PermanentError(f"{what} is larger than {MAX_MANIFEST_BYTES} bytes")
        digest = response.headers.get("docker-content-digest") or _sha256(response.body)
        return Manifest(digest=digest, media_type=_type(response), body=response.body)

    def blob(self, name: str, digest: str, *, max_bytes: int = MAX_CONFIG_BYTES) -> bytes | None:
        """A blob's bytes; None when the registry no longer has it or it is larger than `max_bytes`."""
        url = f"{self._base}/v2/{quote(name)}/blobs/{quote(digest, safe=':')}"
        try:
            response = self._get(name, "GET", url, f"blob {name}@{digest}", max_bytes=max_bytes)
        except NotFoundError:
            return None
        if len(response.body) > max_bytes:
            return None
        return response.body

    # --- Inspector -------------------------------------------------------------------------------

    def inspect(
        self,
        repository: str,
        *,
        digest: str | None = None,
        tag: str | None = None,
        registry_id: str | None = None,
        required: Platform,
    ) -> Verdict:
        """The verdict on `repository@digest` (or `repository:tag` when no digest is given).

        Raises NotFoundError, AccessDeniedError, ThrottledError or RetryableError; an image whose
        manifest or config cannot be read is an UNKNOWN verdict, not an error.
        """
        del registry_id  # one registry per client: its base URL
        if not digest and not tag:
            raise ValueError("inspect needs the image's digest or tag")
        manifest = self.manifest(repository, digest or tag or "")
        if digest and digest.startswith("sha256:") and _sha256(manifest.body) != digest.lower():
            return Verdict(
                status=VerdictStatus.UNKNOWN,
                required=required,
                platforms=(),
                media_type=manifest.media_type,
                reason=f"The registry's manifest does not match its digest {digest}: it cannot be trusted.",
                fix=None,
                digest=digest,
            )
        verdict = judge(
            manifest.body,
            manifest.media_type,
            required=required,
            fetch_config=partial(self.blob, repository),
            image_ref=f"{ECR_PUBLIC_HOST}/{repository}:{tag or '<tag>'}",
        )
        return verdict.model_copy(update={"digest": digest or manifest.digest})

    # --- plumbing ----------------------------------------------------------------------------------

    def _manifest_url(self, name: str, reference: str) -> str:
        return f"{self._base}/v2/{quote(name)}/manifests/{quote(reference, safe=':')}"

    def _token(self, name: str) -> str:
        if name not in self._tokens:
            query = urlencode({"service": TOKEN_SERVICE, "scope": f"repository:{name}:pull"})
            response = self._send(
                HttpRequest("GET", f"{self._base}/token/?{query}", max_bytes=_TOKEN_BYTES),
                f"token for {name}",
            )
            try:
                self._tokens[name] = _Token.model_validate(pydantic_core.from_json(response.body)).token
            except (ValidationError, ValueError) as exc:
                raise PermanentError(f"the registry's token answer for {name} holds no token") from exc
        return self._tokens[name]

    def _get(
        self,
        name: str,
        method: Literal["GET", "HEAD"],
        url: str,
        what: str,
        *,
        max_bytes: int = MAX_MANIFEST_BYTES,
    ) -> HttpResponse:
        headers = {"Authorization": f"Bearer {self._token(name)}", "Accept": ", ".join(ACCEPTED_MEDIA_TYPES)}
        return self._send(HttpRequest(method, url, headers, max_bytes), what)

    def _send(self, request: HttpRequest, what: str) -> HttpResponse:
        """Send, following redirects; the token goes only to the registry's own origin."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._transport(request)
            except OSError as exc:
                raise RetryableError(f"{what}: registry unreachable ({exc})") from exc
            location = response.headers.get("location")
            if response.status not in _REDIRECT_STATUSES or not location:
                break
            target = urljoin(request.url, location)
            if urlsplit(target).scheme not in {"https", "http"}:
                raise PermanentError(f"{what}: redirected to an unexpected scheme: {target!r}")
            headers = {
                key: value
                for key, value in request.headers.items()
                if key.lower() != "authorization" or _origin(target) == self._origin
            }
            request = HttpRequest(request.method, target, headers, request.max_bytes)
        else:
            raise PermanentError(f"{what}: more than {MAX_REDIRECTS} redirects")
        if not 200 <= response.status < 300:
            raise error_for(response.status, what, response.body)
        return response

    @staticmethod
    def _digest_header(response: HttpResponse, name: str, reference: str) -> str:
        digest = response.headers.get("docker-content-digest")
        if not digest:
            raise PermanentError(f"the registry named no digest for {name}:{reference}")
        return digest


def _type(response: HttpResponse) -> str | None:
    return response.headers.get("content-type") or None


def _sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()
