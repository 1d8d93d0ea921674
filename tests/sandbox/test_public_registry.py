"""The sandbox's public registry speaks the registry HTTP API: tokens, manifests, redirected blobs, errors."""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from pushpilot.adapters.ecr_public import EcrPublicRegistry
from pushpilot.core.verdicts import ACCEPTED_MEDIA_TYPES, Platform, VerdictStatus
from pushpilot_sandbox.oci import OCI_INDEX, OCI_MANIFEST, ImageSet, synthesize_image
from pushpilot_sandbox.public_registry import PublicRegistry

pytestmark = pytest.mark.sandbox

NAME = "team/web"
ACCEPT = ", ".join(ACCEPTED_MEDIA_TYPES)


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def errors(self) -> list[str]:
        return [error["code"] for error in json.loads(self.body)["errors"]]


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    """One request, redirects not followed, so the test sees exactly what the registry said."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {}
        )
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, body)
    finally:
        connection.close()


def token(registry: PublicRegistry, name: str = NAME) -> str:
    query = urlencode({"service": "public.ecr.aws", "scope": f"repository:{name}:pull"})
    answer = request(f"{registry.url}/token/?{query}")
    assert answer.status == 200
    value: str = json.loads(answer.body)["token"]
    return value


@pytest.fixture(scope="module")
def registry() -> Iterator[PublicRegistry]:
    with PublicRegistry() as running:
        yield running


@pytest.fixture(scope="module")
def single() -> ImageSet:
    return synthesize_image(["linux/amd64"], seed="registry-single")


@pytest.fixture(scope="module")
def multi() -> ImageSet:
    return synthesize_image(["linux/amd64", "linux/arm64"], attestation=True, seed="registry-multi")


@pytest.fixture(scope="module")
def published(registry: PublicRegistry, single: ImageSet, multi: ImageSet) -> dict[str, Any]:
    registry.publish(NAME, "single", single)
    registry.publish(NAME, "multi", multi)
    return {"auth": {"Authorization": f"Bearer {token(registry)}", "Accept": ACCEPT}}


def test_head_by_tag_names_the_digest_without_a_body(
    registry: PublicRegistry, single: ImageSet, published: dict[str, Any]
) -> None:
    answer = request(f"{registry.url}/v2/{NAME}/manifests/single", "HEAD", published["auth"])
    assert answer.status == 200
    assert answer.headers["docker-content-digest"] == single.top.digest
    assert answer.headers["content-type"] == OCI_MANIFEST
    assert answer.headers["content-length"] == str(len(single.top.content))
    assert answer.body == b""


def test_get_by_digest_serves_bytes_that_hash_to_it(
    registry: PublicRegistry, multi: ImageSet, published: dict[str, Any]
) -> None:
    answer = request(f"{registry.url}/v2/{NAME}/manifests/{multi.top.digest}", "GET", published["auth"])
    assert answer.status == 200
    assert answer.headers["content-type"] == OCI_INDEX
    assert "sha256:" + hashlib.sha256(answer.body).hexdigest() == multi.top.digest
    assert answer.headers["docker-content-digest"] == multi.top.digest


def test_a_tag_moves_to_the_newest_image(registry: PublicRegistry, published: dict[str, Any]) -> None:
    newer = synthesize_image(["linux/amd64"], seed="registry-moved")
    registry.publish(NAME, "moving", synthesize_image(["linux/amd64"], seed="registry-first"))
    registry.publish(NAME, "moving", newer)
    answer = request(f"{registry.url}/v2/{NAME}/manifests/moving", "HEAD", published["auth"])
    assert answer.headers["docker-content-digest"] == newer.top.digest
    assert registry.digest_of(NAME, "moving") == newer.top.digest


def test_without_a_token_the_registry_challenges(registry: PublicRegistry, published: dict[str, Any]) -> None:
    assert published
    answer = request(f"{registry.url}/v2/{NAME}/manifests/single", "GET", {"Accept": ACCEPT})
    assert answer.status == 401
    assert answer.errors() == ["UNAUTHORIZED"]
    challenge = answer.headers["www-authenticate"]
    assert challenge == f'Bearer realm="{registry.url}/token/",service="public.ecr.aws",scope="aws"'


def test_a_token_for_another_repository_is_refused(
    registry: PublicRegistry, published: dict[str, Any]
) -> None:
    assert published
    other = token(registry, "someone/else")
    answer = request(
        f"{registry.url}/v2/{NAME}/manifests/single",
        "GET",
        {"Authorization": f"Bearer {other}", "Accept": ACCEPT},
    )
    assert answer.status == 401


def test_unknown_names_and_references_are_404s_with_the_registry_codes(
    registry: PublicRegistry, published: dict[str, Any]
) -> None:
    unknown_tag = request(f"{registry.url}/v2/{NAME}/manifests/nope", "GET", published["auth"])
    assert (unknown_tag.status, unknown_tag.errors()) == (404, ["MANIFEST_UNKNOWN"])
    missing = "sha256:" + "0" * 64
    unknown_blob = request(f"{registry.url}/v2/{NAME}/blobs/{missing}", "GET", published["auth"])
    assert (unknown_blob.status, unknown_blob.errors()) == (404, ["BLOB_UNKNOWN"])
    other = "nobody/here"
    headers = {"Authorization": f"Bearer {token(registry, other)}", "Accept": ACCEPT}
    unknown_name = request(f"{registry.url}/v2/{other}/manifests/latest", "GET", headers)
    assert (unknown_name.status, unknown_name.errors()) == (404, ["NAME_UNKNOWN"])


def test_an_index_is_not_served_to_a_client_that_does_not_accept_it(
    registry: PublicRegistry, published: dict[str, Any]
) -> None:
    headers = published["auth"] | {"Accept": OCI_MANIFEST}
    answer = request(f"{registry.url}/v2/{NAME}/manifests/multi", "GET", headers)
    assert (answer.status, answer.errors()) == (404, ["MANIFEST_UNKNOWN"])


def test_blobs_redirect_to_where_the_bytes_are(
    registry: PublicRegistry, single: ImageSet, published: dict[str, Any]
) -> None:
    config_digest = single.top.document["config"]["digest"]
    answer = request(f"{registry.url}/v2/{NAME}/blobs/{config_digest}", "GET", published["auth"])
    assert answer.status == 307
    # The redirect target needs no token, as a presigned CDN URL needs none.
    followed = request(answer.headers["location"])
    assert followed.status == 200
    assert "sha256:" + hashlib.sha256(followed.body).hexdigest() == config_digest
    assert json.loads(followed.body)["architecture"] == "amd64"


def test_injected_faults_answer_the_next_requests_then_clear(
    registry: PublicRegistry, published: dict[str, Any]
) -> None:
    registry.inject_fault(429, times=2)
    registry.inject_fault(500)
    url = f"{registry.url}/v2/{NAME}/manifests/single"
    answers = [request(url, "GET", published["auth"]) for _ in range(4)]
    assert [answer.status for answer in answers] == [429, 429, 500, 200]
    assert answers[0].errors() == ["TOOMANYREQUESTS"]
    assert answers[2].errors() == ["UNKNOWN"]
    assert [call.status for call in registry.calls[-4:]] == [429, 429, 500, 200]


def test_pushpilots_client_reads_and_judges_the_images(
    registry: PublicRegistry, single: ImageSet, multi: ImageSet, published: dict[str, Any]
) -> None:
    assert published
    client = EcrPublicRegistry(registry.url)
    assert client.head(NAME, "single").digest == single.top.digest
    amd64 = Platform(os="linux", architecture="amd64")
    assert client.inspect(NAME, tag="single", required=amd64).status == VerdictStatus.PASS
    verdict = client.inspect(NAME, digest=multi.top.digest, required=amd64)
    assert verdict.status == VerdictStatus.PASS
    assert verdict.digest == multi.top.digest
