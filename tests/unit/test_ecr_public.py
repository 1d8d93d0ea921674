"""The ECR Public client against an in-memory registry: tokens, digests, manifests, blobs, errors."""

from __future__ import annotations

import pytest

from pushpilot.adapters.ecr import MAX_CONFIG_BYTES
from pushpilot.adapters.ecr_public import EcrPublicRegistry, HttpRequest, HttpResponse
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    PushpilotError,
    RetryableError,
    ThrottledError,
)
from pushpilot.core.verdicts import (
    ACCEPTED_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Platform,
    VerdictStatus,
)
from pushpilot.entry.settings import PublicImageSettings, SettingsError
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from tests.unit.public_registry_fake import BASE, BLOB_HOST, FakePublicRegistry, digest_of, read

pytestmark = pytest.mark.unit

NAME = "orders/orders-api"
AMD64_MANIFEST = read("manifest.oci.linux-amd64.json")
AMD64_CONFIG = read("config.oci.linux-amd64.json")
ARM64_MANIFEST = read("manifest.oci.linux-arm64.json")
ARM64_CONFIG = read("config.oci.linux-arm64.json")
ARM64_INDEX = read("index.oci.arm64-attested.json")


@pytest.fixture
def registry() -> FakePublicRegistry:
    return FakePublicRegistry()


@pytest.fixture
def client(registry: FakePublicRegistry) -> EcrPublicRegistry:
    return EcrPublicRegistry(BASE, transport=registry)


def test_head_names_the_tags_digest_and_media_type(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", ARM64_INDEX)

    head = client.head(NAME, "stable")

    assert (head.digest, head.media_type) == (digest, OCI_INDEX)
    [request] = registry.calls("HEAD")
    assert request.url == f"{BASE}/v2/{NAME}/manifests/stable"
    assert request.headers["Accept"].split(", ") == list(ACCEPTED_MEDIA_TYPES)


def test_one_token_per_repository_for_the_clients_life(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    registry.push(NAME, "stable", ARM64_INDEX)
    registry.push("other/app", "latest", ARM64_INDEX)

    client.head(NAME, "stable")
    client.head(NAME, "stable")
    client.head("other/app", "latest")

    assert len(registry.calls("GET", "/token/")) == 2
    assert len(registry.calls("HEAD")) == 3


def test_single_platform_image_reads_its_config_through_the_redirect_without_the_token(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", AMD64_MANIFEST, AMD64_CONFIG)

    verdict = client.inspect(NAME, digest=digest, tag="stable", required=APP_RUNNER_PLATFORM)

    assert verdict.status is VerdictStatus.PASS
    assert verdict.platforms == (Platform(os="linux", architecture="amd64"),)
    assert verdict.media_type == OCI_MANIFEST
    assert verdict.digest == digest
    [blob_get] = [r for r in registry.requests if r.url.startswith(BLOB_HOST)]
    assert "Authorization" not in blob_get.headers
    assert registry.calls("GET", f"/manifests/{digest}")


def test_arm64_image_is_rejected_with_the_public_image_in_the_fix(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", ARM64_MANIFEST, ARM64_CONFIG)

    verdict = client.inspect(NAME, digest=digest, tag="stable", required=APP_RUNNER_PLATFORM)

    assert verdict.status is VerdictStatus.REJECT
    assert verdict.fix is not None
    assert f"public.ecr.aws/{NAME}:stable" in verdict.fix


def test_index_is_judged_without_reading_blobs(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", ARM64_INDEX)

    verdict = client.inspect(NAME, digest=digest, required=APP_RUNNER_PLATFORM)

    assert verdict.status is VerdictStatus.REJECT
    assert registry.calls("GET", "/blobs/") == []


def test_missing_config_blob_is_an_unknown_verdict(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", AMD64_MANIFEST)  # config not stored

    verdict = client.inspect(NAME, digest=digest, required=APP_RUNNER_PLATFORM)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "could not be read" in verdict.reason


def test_oversized_config_blob_is_not_read_past_the_limit(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    registry.blobs["sha256:" + "e" * 64] = b"x" * (MAX_CONFIG_BYTES + 1)

    assert client.blob(NAME, "sha256:" + "e" * 64) is None
    [blob_get] = [r for r in registry.requests if r.url.startswith(BLOB_HOST)]
    assert blob_get.max_bytes == MAX_CONFIG_BYTES


def test_manifest_that_does_not_match_its_digest_is_not_trusted(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", AMD64_MANIFEST, AMD64_CONFIG)
    registry.manifests[digest] = (OCI_MANIFEST, ARM64_MANIFEST)

    verdict = client.inspect(NAME, digest=digest, required=APP_RUNNER_PLATFORM)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "does not match its digest" in verdict.reason


def test_inspect_by_tag_alone_reports_the_digest_it_read(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    digest = registry.push(NAME, "stable", ARM64_INDEX)

    assert client.inspect(NAME, tag="stable", required=APP_RUNNER_PLATFORM).digest == digest


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AccessDeniedError),
        (403, AccessDeniedError),
        (404, NotFoundError),
        (429, ThrottledError),
        (500, RetryableError),
        (503, RetryableError),
        (400, PermanentError),
    ],
)
def test_registry_errors_are_typed(
    registry: FakePublicRegistry, client: EcrPublicRegistry, status: int, error: type[PushpilotError]
) -> None:
    registry.push(NAME, "stable", ARM64_INDEX)
    registry.faults["HEAD", f"/v2/{NAME}/manifests/stable"] = status

    with pytest.raises(error) as raised:
        client.head(NAME, "stable")

    assert type(raised.value) is error
    assert str(status) in str(raised.value)


def test_unknown_tag_is_not_found_with_the_registrys_code(client: EcrPublicRegistry) -> None:
    with pytest.raises(NotFoundError, match="MANIFEST_UNKNOWN"):
        client.manifest(NAME, "nope")


def test_throttled_token_request_is_a_throttled_error(
    registry: FakePublicRegistry, client: EcrPublicRegistry
) -> None:
    registry.faults["GET", "/token/"] = 429

    with pytest.raises(ThrottledError, match="token"):
        client.head(NAME, "stable")


def test_unreachable_registry_is_retryable(registry: FakePublicRegistry, client: EcrPublicRegistry) -> None:
    registry.unreachable = True

    with pytest.raises(RetryableError, match="unreachable"):
        client.head(NAME, "stable")


def test_token_answer_without_a_token_is_permanent() -> None:
    def transport(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, {"content-type": "application/json"}, b'{"detail": "no"}')

    with pytest.raises(PermanentError, match="holds no token"):
        EcrPublicRegistry(BASE, transport=transport).head(NAME, "stable")


def test_redirect_loop_is_cut_off() -> None:
    def transport(request: HttpRequest) -> HttpResponse:
        if "/token/" in request.url:
            return HttpResponse(200, {}, b'{"token": "t"}')
        return HttpResponse(307, {"location": request.url})

    with pytest.raises(PermanentError, match="redirects"):
        EcrPublicRegistry(BASE, transport=transport).blob(NAME, "sha256:" + "0" * 64)


def test_redirect_within_the_registry_keeps_the_token() -> None:
    seen: list[HttpRequest] = []

    def transport(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        if "/token/" in request.url:
            return HttpResponse(200, {}, b'{"token": "t"}')
        if "/blobs/" in request.url:
            return HttpResponse(307, {"location": "/storage/config"})
        return HttpResponse(200, {}, b"{}")

    assert EcrPublicRegistry(BASE, transport=transport).blob(NAME, digest_of(b"{}")) == b"{}"
    assert seen[-1].url == f"{BASE}/storage/config"
    assert seen[-1].headers["Authorization"] == "Bearer t"


def test_settings_default_to_the_public_registry_and_record() -> None:
    settings = PublicImageSettings.from_env({})

    assert settings.registry_url == "https://public.ecr.aws"
    assert settings.first_sighting == "record"
    assert PublicImageSettings.from_env({"PUBLIC_IMAGE_FIRST_SIGHTING": "deploy"}).first_sighting == "deploy"
    with pytest.raises(SettingsError, match="PUBLIC_IMAGE_FIRST_SIGHTING"):
        PublicImageSettings.from_env({"PUBLIC_IMAGE_FIRST_SIGHTING": "always"})
