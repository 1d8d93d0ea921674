"""Images pushed into the sandbox's ECR are read back through the gateway exactly as a handler would."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot_sandbox.ecr import BlobStore, EcrSandbox
from pushpilot_sandbox.gateway import AwsGateway
from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.oci import DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, ImageSet, synthesize_image

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

pytestmark = pytest.mark.sandbox

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = "team/web"
ACCEPTED = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    "application/vnd.docker.distribution.manifest.v2+json",
]
PUSHED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@pytest.fixture(scope="module")
def shared_blobs() -> BlobStore:
    return BlobStore()


@pytest.fixture(scope="module")
def running_gateway(moto: MotoHandle, shared_blobs: BlobStore) -> Iterator[AwsGateway]:
    with AwsGateway(moto_url=moto.url, blobs=shared_blobs, account_id=ACCOUNT) as running:
        yield running


@pytest.fixture
def blobs(shared_blobs: BlobStore) -> BlobStore:
    shared_blobs.clear()
    return shared_blobs


@pytest.fixture
def gateway(moto: MotoHandle, running_gateway: AwsGateway, blobs: BlobStore) -> AwsGateway:
    moto.reset()
    running_gateway.clear_calls()
    running_gateway.clear_faults()
    return running_gateway


@pytest.fixture
def events() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def registry(
    moto: MotoHandle, gateway: AwsGateway, blobs: BlobStore, events: list[dict[str, Any]]
) -> EcrSandbox:
    sandbox = EcrSandbox(
        ecr=boto3.client("ecr", endpoint_url=moto.url, region_name=REGION),
        blobs=blobs,
        emit=events.append,
        account_id=ACCOUNT,
        region=REGION,
        clock=lambda: PUSHED_AT,
    )
    sandbox.create_repository(REPOSITORY)
    return sandbox


@pytest.fixture
def ecr(gateway: AwsGateway) -> ECRClient:
    """What a handler holds: an ECR client whose endpoint is the gateway."""
    client: ECRClient = boto3.client("ecr", endpoint_url=gateway.url, region_name=REGION)
    return client


def _sha256(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _download(ecr: ECRClient, digest: str) -> bytes:
    answer = ecr.get_download_url_for_layer(repositoryName=REPOSITORY, layerDigest=digest)
    assert answer["layerDigest"] == digest
    url = answer["downloadUrl"]
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the gateway's loopback URL
        assert response.headers["Content-Type"] == "application/octet-stream"
        content: bytes = response.read()
    return content


def _multi_arch(seed: str = "") -> ImageSet:
    return synthesize_image(["linux/amd64", "linux/arm64"], attestation=True, seed=seed)


def test_a_pushed_index_reads_back_byte_for_byte_under_its_true_digest(
    registry: EcrSandbox, ecr: ECRClient
) -> None:
    image = _multi_arch()

    result = registry.push(REPOSITORY, "v1", image)

    assert result.digest == image.top.digest
    [by_tag] = ecr.batch_get_image(
        repositoryName=REPOSITORY, imageIds=[{"imageTag": "v1"}], acceptedMediaTypes=ACCEPTED
    )["images"]
    assert by_tag["imageManifest"].encode() == image.top.content
    assert by_tag["imageId"]["imageDigest"] == _sha256(by_tag["imageManifest"].encode()) == result.digest
    assert by_tag["imageManifestMediaType"] == OCI_INDEX
    for entry in json.loads(by_tag["imageManifest"])["manifests"]:
        [child] = ecr.batch_get_image(
            repositoryName=REPOSITORY,
            imageIds=[{"imageDigest": entry["digest"]}],
            acceptedMediaTypes=ACCEPTED,
        )["images"]
        assert _sha256(child["imageManifest"].encode()) == entry["digest"]
        assert len(child["imageManifest"].encode()) == entry["size"]


def test_each_config_blob_downloads_through_the_gateway_and_names_its_platform(
    registry: EcrSandbox, ecr: ECRClient
) -> None:
    image = _multi_arch()
    registry.push(REPOSITORY, "v1", image)

    platforms = []
    for child in image.children:
        config_digest = json.loads(child.content)["config"]["digest"]
        content = _download(ecr, config_digest)
        assert _sha256(content) == config_digest
        config = json.loads(content)
        platforms.append(f"{config['os']}/{config['architecture']}")
    assert platforms == ["linux/amd64", "linux/arm64", "unknown/unknown", "unknown/unknown"]


def test_a_single_platform_image_is_one_tagged_manifest_with_a_downloadable_config(
    registry: EcrSandbox, ecr: ECRClient, events: list[dict[str, Any]]
) -> None:
    image = synthesize_image(["linux/arm64"])

    registry.push(REPOSITORY, "arm", image)

    assert [event["detail"]["image-tag"] for event in events] == ["arm"]
    [stored] = ecr.batch_get_image(
        repositoryName=REPOSITORY, imageIds=[{"imageTag": "arm"}], acceptedMediaTypes=ACCEPTED
    )["images"]
    config_digest = json.loads(stored["imageManifest"])["config"]["digest"]
    assert json.loads(_download(ecr, config_digest))["architecture"] == "arm64"


def test_one_event_per_manifest_children_untagged_and_the_tagged_one_last(
    registry: EcrSandbox, events: list[dict[str, Any]]
) -> None:
    image = _multi_arch()

    result = registry.push(REPOSITORY, "v2", image)

    assert list(result.events) == events
    assert [event["detail"]["image-digest"] for event in events] == [m.digest for m in image.manifests]
    assert ["image-tag" in event["detail"] for event in events] == [False] * 4 + [True]
    parsed = [EcrImageActionEvent.model_validate(event) for event in events]
    assert [event.detail.image_tag for event in parsed] == [None] * 4 + ["v2"]
    for event, manifest in zip(events, image.manifests, strict=True):
        assert event["source"] == "aws.ecr"
        assert event["detail-type"] == "ECR Image Action"
        assert (event["account"], event["region"], event["resources"]) == (ACCOUNT, REGION, [])
        assert event["time"] == "2025-03-04T05:06:07Z"
        assert event["detail"]["action-type"] == "PUSH"
        assert event["detail"]["result"] == "SUCCESS"
        assert event["detail"]["repository-name"] == REPOSITORY
        assert event["detail"]["manifest-media-type"] == manifest.media_type
    assert len({event["id"] for event in events}) == len(events)


def test_a_new_push_of_the_same_tag_moves_it_to_the_new_digest(registry: EcrSandbox, ecr: ECRClient) -> None:
    first = registry.push(REPOSITORY, "latest", _multi_arch(seed="build-1"))
    second = registry.push(REPOSITORY, "latest", _multi_arch(seed="build-2"))

    assert first.digest != second.digest
    [current] = ecr.batch_get_image(
        repositoryName=REPOSITORY, imageIds=[{"imageTag": "latest"}], acceptedMediaTypes=ACCEPTED
    )["images"]
    assert current["imageId"]["imageDigest"] == second.digest


@pytest.mark.parametrize(
    "platforms", [["linux/amd64"], ["linux/amd64", "linux/arm64"]], ids=["single", "index"]
)
def test_the_image_a_tag_moved_off_stays_untagged_as_in_ecr(
    registry: EcrSandbox, ecr: ECRClient, events: list[dict[str, Any]], platforms: list[str]
) -> None:
    first = registry.push(REPOSITORY, "latest", synthesize_image(platforms, seed="build-1"))
    events.clear()
    second = registry.push(REPOSITORY, "latest", synthesize_image(platforms, seed="build-2"))

    [kept] = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageDigest": first.digest}])[
        "imageDetails"
    ]
    assert kept.get("imageTags", []) == []
    [manifest] = ecr.batch_get_image(
        repositoryName=REPOSITORY, imageIds=[{"imageDigest": first.digest}], acceptedMediaTypes=ACCEPTED
    )["images"]
    assert _sha256(manifest["imageManifest"].encode()) == first.digest
    # ECR says nothing when a tag moves off an image: the second push's own events only.
    assert {event["detail"]["image-digest"] for event in events} == {second.digest, *second.child_digests}


def test_an_unknown_blob_is_layers_not_found(registry: EcrSandbox, ecr: ECRClient) -> None:
    registry.push(REPOSITORY, "v1", _multi_arch())

    with pytest.raises(ecr.exceptions.LayersNotFoundException):
        ecr.get_download_url_for_layer(repositoryName=REPOSITORY, layerDigest=_sha256(b"never pushed"))


def test_a_blob_of_another_repository_is_not_served_from_this_one(
    registry: EcrSandbox, ecr: ECRClient
) -> None:
    image = synthesize_image(["linux/amd64"])
    registry.push(REPOSITORY, "v1", image)
    registry.create_repository("team/other")

    config_digest = image.top.document["config"]["digest"]
    with pytest.raises(ecr.exceptions.LayersNotFoundException):
        ecr.get_download_url_for_layer(repositoryName="team/other", layerDigest=config_digest)


def test_an_unknown_repository_is_repository_not_found(registry: EcrSandbox, ecr: ECRClient) -> None:
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.get_download_url_for_layer(repositoryName="team/missing", layerDigest=_sha256(b"x"))


def test_pushing_to_a_missing_repository_fails_without_events(
    registry: EcrSandbox, events: list[dict[str, Any]]
) -> None:
    with pytest.raises(ClientError) as raised:
        registry.push("team/missing", "v1", _multi_arch())
    assert raised.value.response["Error"]["Code"] == "RepositoryNotFoundException"
    assert events == []


def test_an_untagged_push_emits_no_tag_at_all(registry: EcrSandbox, events: list[dict[str, Any]]) -> None:
    registry.push(REPOSITORY, None, _multi_arch())

    assert all("image-tag" not in event["detail"] for event in events)
