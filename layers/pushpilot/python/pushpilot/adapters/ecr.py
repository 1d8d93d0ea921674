"""ECR adapter: read one image's manifest (and, for a single-platform image, its config) and judge it.

Calls per inspection: one `batch_get_image`; for a single manifest one `get_download_url_for_layer`
and one GET of the presigned URL it returns. Errors leave this module typed (pushpilot.core.errors).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import ECR_CODES, aws_error
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    PushpilotError,
    RetryableError,
    ThrottledError,
)
from pushpilot.core.image_ref import ecr_registry_host
from pushpilot.core.verdicts import ACCEPTED_MEDIA_TYPES, Platform, Verdict, is_index, judge

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import (
        BatchGetImageRequestTypeDef,
        GetDownloadUrlForLayerRequestTypeDef,
        ImageFailureTypeDef,
        ImageIdentifierTypeDef,
    )

CONFIG_DOWNLOAD_TIMEOUT_SECONDS = 10.0
# Image configs are a few KiB; anything near this is not a config and is not worth reading.
MAX_CONFIG_BYTES = 4 * 1024 * 1024

_CONFIG_MISSING_CODES = frozenset({"LayersNotFoundException", "LayerInaccessibleException"})

_FAILURE_NOT_FOUND = frozenset(
    {
        "ImageNotFound",
        "ImageTagDoesNotMatchDigest",
        "InvalidImageDigest",
        "InvalidImageTag",
        "MissingDigestAndTag",
    }
)


class BlobUnavailableError(PermanentError):
    """The presigned blob URL answered, but not with a usable config (gone, refused or oversized)."""


def download_blob(url: str) -> bytes:
    """GET one presigned blob URL, bounded in time and size.

    urllib is enough: a presigned URL needs no signing, session or retries of its own, and the layer
    ships no other HTTP client.
    """
    # Imported here: most pushes are multi-platform indexes and never download a blob, so cold
    # starts need not load urllib's HTTP stack.
    import urllib.error
    import urllib.request

    if urlsplit(url).scheme not in {"https", "http"}:
        raise BlobUnavailableError(f"blob download URL has an unexpected scheme: {urlsplit(url).scheme!r}")
    try:
        # S310: the scheme is checked above; the URL is the one ECR just presigned for this blob.
        with urllib.request.urlopen(url, timeout=CONFIG_DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
            body: bytes = response.read(MAX_CONFIG_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise RetryableError(f"blob download failed with HTTP {exc.code}") from exc
        raise BlobUnavailableError(f"blob download refused with HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise RetryableError(f"blob download failed: {exc}") from exc
    if len(body) > MAX_CONFIG_BYTES:
        raise BlobUnavailableError(f"blob is larger than {MAX_CONFIG_BYTES} bytes")
    return body


class ImageInspector:
    """Judges images stored in ECR against a required platform."""

    def __init__(
        self, ecr: ECRClient | None = None, *, http_get: Callable[[str], bytes] | None = None
    ) -> None:
        self._ecr: ECRClient = ecr or clients.client("ecr")
        self._http_get = http_get or download_blob

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
        if not digest and not tag:
            raise ValueError("inspect needs the image's digest or tag")
        # The digest is what was pushed; the tag may have moved since, so it is only a fallback.
        image_id: ImageIdentifierTypeDef = {"imageDigest": digest} if digest else {"imageTag": tag or ""}
        label = f"{repository}@{digest}" if digest else f"{repository}:{tag}"
        request: BatchGetImageRequestTypeDef = {
            "repositoryName": repository,
            "imageIds": [image_id],
            "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
        }
        if registry_id:
            request["registryId"] = registry_id
        try:
            response = self._ecr.batch_get_image(**request)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, repository, registry_id, action="BatchGetImage") from exc

        images = response.get("images", [])
        if not images:
            raise self._failure(response.get("failures", []), label)
        image = images[0]
        manifest = image.get("imageManifest")
        if manifest is None:
            raise PermanentError(f"ECR returned no manifest for {label}")
        found_digest = image.get("imageId", {}).get("imageDigest") or digest
        host = ecr_registry_host(
            image.get("registryId") or registry_id or "<account>", self._ecr.meta.region_name
        )
        image_ref = f"{host}/{repository}:{tag or '<tag>'}"
        verdict = judge(
            manifest.encode("utf-8"),
            image.get("imageManifestMediaType"),
            required=required,
            fetch_config=partial(self._fetch_config, repository, registry_id),
            image_ref=image_ref,
        )
        # A single manifest is itself the manifest a target that takes no index deploys.
        single = None if is_index(verdict.media_type) else found_digest
        return verdict.model_copy(
            update={"digest": found_digest, "manifest_digest": verdict.manifest_digest or single}
        )

    def _fetch_config(self, repository: str, registry_id: str | None, config_digest: str) -> bytes | None:
        """The config blob's bytes, or None when ECR or the blob store no longer has it."""
        request: GetDownloadUrlForLayerRequestTypeDef = {
            "repositoryName": repository,
            "layerDigest": config_digest,
        }
        if registry_id:
            request["registryId"] = registry_id
        try:
            located = self._ecr.get_download_url_for_layer(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONFIG_MISSING_CODES:
                return None
            raise self._translate(exc, repository, registry_id, action="GetDownloadUrlForLayer") from exc
        except BotoCoreError as exc:
            raise self._translate(exc, repository, registry_id, action="GetDownloadUrlForLayer") from exc
        url = located.get("downloadUrl")
        if not url:
            return None
        try:
            return self._http_get(url)
        except BlobUnavailableError:
            return None

    @staticmethod
    def _translate(
        exc: ClientError | BotoCoreError, repository: str, registry_id: str | None, *, action: str
    ) -> PushpilotError:
        where = f"repository {repository!r}" + (f" of registry {registry_id}" if registry_id else "")
        error = aws_error(exc, service="ecr", action=action, target=where, codes=ECR_CODES)
        if isinstance(error, AccessDeniedError):
            # A cross-account image needs the registry's consent too: say whose policy is missing.
            return AccessDeniedError(_access_advice(repository, registry_id, f"ecr:{action}"))
        return error

    @staticmethod
    def _failure(failures: list[ImageFailureTypeDef], label: str) -> PushpilotError:
        failure: ImageFailureTypeDef = failures[0] if failures else {}
        code = failure.get("failureCode", "")
        reason = failure.get("failureReason", "no image returned")
        summary = f"image {label} unavailable: {code} {reason}".replace("  ", " ")
        if not code or code in _FAILURE_NOT_FOUND:
            return NotFoundError(summary)
        if code == "UpstreamAccessDenied":
            return AccessDeniedError(
                f"{summary} (the pull-through cache's upstream credentials were refused)"
            )
        if code == "UpstreamTooManyRequests":
            return ThrottledError(summary)
        if code == "UpstreamUnavailable":
            return RetryableError(summary)
        return PermanentError(summary)


def _access_advice(repository: str, registry_id: str | None, action: str) -> str:
    """Name exactly what is missing, so the fix is one policy statement away."""
    needed = "ecr:BatchGetImage and ecr:GetDownloadUrlForLayer"
    if registry_id:
        return (
            f"{action} on repository {repository!r} in registry {registry_id} was denied: the registry "
            f"account {registry_id} must attach an ECR repository policy to {repository!r} granting "
            f"{needed} to the pushpilot function's role (and the role must allow them too)."
        )
    return (
        f"{action} on repository {repository!r} was denied: the pushpilot function's role needs {needed} "
        f"on that repository."
    )
