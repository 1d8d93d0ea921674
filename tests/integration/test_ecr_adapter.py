"""The ECR adapter: moto for manifests, botocore's Stubber for the config download moto does not serve."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pushpilot.adapters.ecr import BlobUnavailableError, ImageInspector
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    RetryableError,
    ThrottledError,
)
from pushpilot.core.verdicts import (
    ACCEPTED_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    VerdictStatus,
)
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

pytestmark = pytest.mark.integration

MANIFESTS = Path(__file__).parents[1] / "data" / "manifests"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
OTHER_ACCOUNT = "210987654321"
REPOSITORY = "shop/orders-api"
DOWNLOAD_URL = (
    "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/blob?X-Amz-Signature=f00d"
)


def read(name: str) -> bytes:
    return (MANIFESTS / name).read_bytes()


def digest_of(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


class FakeBlobStore:
    """Stands in for the presigned URL's HTTP GET: one URL, one blob, every GET remembered."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.gets: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.gets.append(url)
        if url not in self.blobs:
            raise BlobUnavailableError(f"no blob at {url}")
        return self.blobs[url]


# --- moto: indexes, by tag and by digest -----------------------------------------------------------


@pytest.fixture
def ecr() -> Iterator[ECRClient]:
    with mock_aws():
        client: ECRClient = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName=REPOSITORY)
        yield client


def push(ecr: ECRClient, name: str, tag: str, media_type: str = OCI_INDEX) -> str:
    manifest = read(name)
    digest = digest_of(manifest)
    ecr.put_image(
        repositoryName=REPOSITORY,
        imageManifest=manifest.decode(),
        imageManifestMediaType=media_type,
        imageTag=tag,
        imageDigest=digest,
    )
    return digest


def no_downloads(url: str) -> bytes:
    raise AssertionError(f"an index must be judged without downloading anything, got {url}")


def test_multi_platform_index_passes(ecr: ECRClient) -> None:
    digest = push(ecr, "index.oci.amd64-arm64-attested.json", "v42")
    inspector = ImageInspector(ecr, http_get=no_downloads)

    by_digest = inspector.inspect(REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM)
    by_tag = inspector.inspect(REPOSITORY, tag="v42", required=APP_RUNNER_PLATFORM)

    for verdict in (by_digest, by_tag):
        assert verdict.status is VerdictStatus.PASS
        assert [str(platform) for platform in verdict.platforms] == ["linux/amd64", "linux/arm64"]
        assert "2 attestation" in verdict.reason
        assert verdict.media_type == OCI_INDEX
        assert verdict.digest == digest


def test_arm64_only_index_is_rejected_with_the_push_command(ecr: ECRClient) -> None:
    push(ecr, "index.oci.amd64-arm64-attested.json", "v42")
    digest = push(ecr, "index.oci.arm64-attested.json", "mac-build")

    verdict = ImageInspector(ecr, http_get=no_downloads).inspect(
        REPOSITORY, tag="mac-build", required=APP_RUNNER_PLATFORM
    )

    assert verdict.status is VerdictStatus.REJECT
    assert verdict.digest == digest
    assert [str(platform) for platform in verdict.platforms] == ["linux/arm64/v8"]
    assert verdict.fix is not None
    assert "--platform linux/amd64" in verdict.fix
    assert f"-t {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:mac-build" in verdict.fix


def test_missing_image_is_not_found(ecr: ECRClient) -> None:
    push(ecr, "index.oci.amd64-arm64-attested.json", "v42")
    inspector = ImageInspector(ecr, http_get=no_downloads)

    with pytest.raises(NotFoundError, match="ImageNotFound"):
        inspector.inspect(REPOSITORY, digest=digest_of(b"never pushed"), required=APP_RUNNER_PLATFORM)
    with pytest.raises(NotFoundError, match="ImageNotFound"):
        inspector.inspect(REPOSITORY, tag="v43", required=APP_RUNNER_PLATFORM)


def test_missing_repository_is_not_found(ecr: ECRClient) -> None:
    with pytest.raises(NotFoundError, match="shop/payments"):
        ImageInspector(ecr, http_get=no_downloads).inspect(
            "shop/payments", tag="v1", required=APP_RUNNER_PLATFORM
        )


def test_inspect_needs_a_digest_or_a_tag(ecr: ECRClient) -> None:
    with pytest.raises(ValueError, match="digest or tag"):
        ImageInspector(ecr).inspect(REPOSITORY, required=APP_RUNNER_PLATFORM)


# --- Stubber: single manifests and the config download ---------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[ECRClient, Stubber]]:
    client: ECRClient = boto3.client("ecr", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_manifest(
    stubber: Stubber, name: str, *, registry_id: str = ACCOUNT, request_registry: str | None = None
) -> tuple[str, str]:
    """Stub batch_get_image for a test manifest; returns (manifest digest, config digest)."""
    manifest = read(name)
    digest = digest_of(manifest)
    expected: dict[str, Any] = {
        "repositoryName": REPOSITORY,
        "imageIds": [{"imageDigest": digest}],
        "acceptedMediaTypes": list(ACCEPTED_MEDIA_TYPES),
    }
    if request_registry:
        expected["registryId"] = request_registry
    stubber.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "registryId": registry_id,
                    "repositoryName": REPOSITORY,
                    "imageId": {"imageDigest": digest},
                    "imageManifest": manifest.decode(),
                    "imageManifestMediaType": json.loads(manifest)["mediaType"],
                }
            ],
            "failures": [],
        },
        expected,
    )
    return digest, json.loads(manifest)["config"]["digest"]


def expect_download_url(stubber: Stubber, config_digest: str, *, request_registry: str | None = None) -> None:
    expected = {"repositoryName": REPOSITORY, "layerDigest": config_digest}
    if request_registry:
        expected["registryId"] = request_registry
    stubber.add_response(
        "get_download_url_for_layer", {"downloadUrl": DOWNLOAD_URL, "layerDigest": config_digest}, expected
    )


@pytest.mark.parametrize(
    ("manifest", "config", "status", "platform"),
    [
        ("manifest.oci.linux-amd64.json", "config.oci.linux-amd64.json", VerdictStatus.PASS, "linux/amd64"),
        (
            "manifest.oci.linux-arm64.json",
            "config.oci.linux-arm64.json",
            VerdictStatus.REJECT,
            "linux/arm64/v8",
        ),
        (
            "manifest.docker-v2.linux-amd64.json",
            "config.docker.linux-amd64.json",
            VerdictStatus.PASS,
            "linux/amd64",
        ),
    ],
)
def test_single_manifest_reads_its_config_with_one_call_and_one_get(
    stubbed: tuple[ECRClient, Stubber], manifest: str, config: str, status: VerdictStatus, platform: str
) -> None:
    client, stubber = stubbed
    digest, config_digest = expect_manifest(stubber, manifest)
    expect_download_url(stubber, config_digest)
    blobs = FakeBlobStore({DOWNLOAD_URL: read(config)})

    verdict = ImageInspector(client, http_get=blobs).inspect(
        REPOSITORY, digest=digest, tag="v42", required=APP_RUNNER_PLATFORM
    )

    assert verdict.status is status
    assert [str(found) for found in verdict.platforms] == [platform]
    assert verdict.digest == digest
    assert blobs.gets == [DOWNLOAD_URL]


def test_cross_account_image_names_the_registry_in_both_calls(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    digest, config_digest = expect_manifest(
        stubber, "manifest.oci.linux-arm64.json", registry_id=OTHER_ACCOUNT, request_registry=OTHER_ACCOUNT
    )
    expect_download_url(stubber, config_digest, request_registry=OTHER_ACCOUNT)
    blobs = FakeBlobStore({DOWNLOAD_URL: read("config.oci.linux-arm64.json")})

    verdict = ImageInspector(client, http_get=blobs).inspect(
        REPOSITORY, digest=digest, tag="v42", registry_id=OTHER_ACCOUNT, required=APP_RUNNER_PLATFORM
    )

    assert verdict.status is VerdictStatus.REJECT
    assert verdict.fix is not None
    assert f"{OTHER_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:v42" in verdict.fix


@pytest.mark.parametrize("code", ["LayersNotFoundException", "LayerInaccessibleException"])
def test_config_missing_from_ecr_is_unknown(stubbed: tuple[ECRClient, Stubber], code: str) -> None:
    client, stubber = stubbed
    digest, config_digest = expect_manifest(stubber, "manifest.oci.linux-amd64.json")
    stubber.add_client_error("get_download_url_for_layer", service_error_code=code, http_status_code=400)
    blobs = FakeBlobStore({})

    verdict = ImageInspector(client, http_get=blobs).inspect(
        REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM
    )

    assert verdict.status is VerdictStatus.UNKNOWN
    assert config_digest in verdict.reason
    assert blobs.gets == []


def test_config_the_blob_store_refuses_is_unknown(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    digest, config_digest = expect_manifest(stubber, "manifest.oci.linux-amd64.json")
    expect_download_url(stubber, config_digest)

    verdict = ImageInspector(client, http_get=FakeBlobStore({})).inspect(
        REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM
    )

    assert verdict.status is VerdictStatus.UNKNOWN
    assert config_digest in verdict.reason


def test_config_swapped_in_transit_is_unknown(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    digest, config_digest = expect_manifest(stubber, "manifest.oci.linux-arm64.json")
    expect_download_url(stubber, config_digest)
    blobs = FakeBlobStore({DOWNLOAD_URL: read("config.oci.linux-amd64.json")})

    verdict = ImageInspector(client, http_get=blobs).inspect(
        REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM
    )

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "does not match" in verdict.reason


def test_download_failure_propagates_as_retryable(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    digest, config_digest = expect_manifest(stubber, "manifest.oci.linux-amd64.json")
    expect_download_url(stubber, config_digest)

    def flaky_get(url: str) -> bytes:
        raise RetryableError(f"blob download failed with HTTP 503 for {url}")

    with pytest.raises(RetryableError, match="503"):
        ImageInspector(client, http_get=flaky_get).inspect(
            REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM
        )


# --- errors at the edge ----------------------------------------------------------------------------


def inspect_after_error(
    stubbed: tuple[ECRClient, Stubber], code: str, status: int, *, registry_id: str | None = None
) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "batch_get_image",
        service_error_code=code,
        service_message=f"{code} from ECR",
        http_status_code=status,
    )
    ImageInspector(client, http_get=FakeBlobStore({})).inspect(
        REPOSITORY, digest=digest_of(b"x"), registry_id=registry_id, required=APP_RUNNER_PLATFORM
    )


def test_cross_account_access_denied_names_the_repository_policy(stubbed: tuple[ECRClient, Stubber]) -> None:
    with pytest.raises(AccessDeniedError) as raised:
        inspect_after_error(stubbed, "AccessDeniedException", 400, registry_id=OTHER_ACCOUNT)

    message = str(raised.value)
    assert f"registry account {OTHER_ACCOUNT} must attach an ECR repository policy" in message
    assert "ecr:BatchGetImage" in message
    assert "ecr:GetDownloadUrlForLayer" in message
    assert REPOSITORY in message


def test_own_account_access_denied_names_the_role_permissions(stubbed: tuple[ECRClient, Stubber]) -> None:
    with pytest.raises(AccessDeniedError) as raised:
        inspect_after_error(stubbed, "AccessDeniedException", 400)

    message = str(raised.value)
    assert "function's role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer" in message
    assert "repository policy" not in message


def test_access_denied_on_the_config_download_is_typed(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    digest, _ = expect_manifest(stubber, "manifest.oci.linux-amd64.json")
    stubber.add_client_error(
        "get_download_url_for_layer", service_error_code="AccessDeniedException", http_status_code=400
    )

    with pytest.raises(AccessDeniedError, match=r"ecr:GetDownloadUrlForLayer on repository"):
        ImageInspector(client).inspect(REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM)


@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        ("ThrottlingException", 400, ThrottledError),
        ("ServerException", 500, RetryableError),
        ("InternalFailure", 503, RetryableError),
        ("RepositoryNotFoundException", 400, NotFoundError),
        ("InvalidParameterException", 400, PermanentError),
    ],
)
def test_service_errors_become_typed_errors(
    stubbed: tuple[ECRClient, Stubber], code: str, status: int, error_type: type[Exception]
) -> None:
    with pytest.raises(error_type) as raised:
        inspect_after_error(stubbed, code, status)

    assert type(raised.value) is error_type
    assert isinstance(raised.value.__cause__, Exception)


@pytest.mark.parametrize(
    ("failure_code", "error_type"),
    [
        ("ImageNotFound", NotFoundError),
        ("ImageTagDoesNotMatchDigest", NotFoundError),
        ("UpstreamAccessDenied", AccessDeniedError),
        ("UpstreamTooManyRequests", ThrottledError),
        ("UpstreamUnavailable", RetryableError),
        ("KmsError", PermanentError),
    ],
)
def test_batch_failures_become_typed_errors(
    stubbed: tuple[ECRClient, Stubber], failure_code: str, error_type: type[Exception]
) -> None:
    client, stubber = stubbed
    digest = digest_of(b"gone")
    stubber.add_response(
        "batch_get_image",
        {
            "images": [],
            "failures": [
                {
                    "imageId": {"imageDigest": digest},
                    "failureCode": failure_code,
                    "failureReason": "as ECR says",
                }
            ],
        },
    )

    with pytest.raises(error_type) as raised:
        ImageInspector(client).inspect(REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM)

    assert type(raised.value) is error_type
    assert failure_code in str(raised.value)


def test_unreadable_manifest_is_unknown_not_an_error(stubbed: tuple[ECRClient, Stubber]) -> None:
    client, stubber = stubbed
    digest = digest_of(b"{broken")
    stubber.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "registryId": ACCOUNT,
                    "repositoryName": REPOSITORY,
                    "imageId": {"imageDigest": digest},
                    "imageManifest": "{broken",
                    "imageManifestMediaType": OCI_MANIFEST,
                }
            ],
            "failures": [],
        },
    )

    verdict = ImageInspector(client).inspect(REPOSITORY, digest=digest, required=APP_RUNNER_PLATFORM)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert verdict.digest == digest
