"""Synthesized images and OCI layouts: every digest names the exact bytes it stands for."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushpilot_sandbox.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    ImageError,
    ImageSet,
    Platform,
    load_oci_layout,
    synthesize_image,
    write_oci_layout,
)

pytestmark = pytest.mark.unit


def _sha256(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _assert_content_addressed(image: ImageSet) -> None:
    for stored in image.manifests:
        assert stored.digest == _sha256(stored.content)
    for digest, content in image.blobs.items():
        assert digest == _sha256(content)


def _write_blob(root: Path, content: bytes) -> dict[str, Any]:
    digest = _sha256(content)
    path = root / "blobs" / "sha256" / digest.removeprefix("sha256:")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return {"digest": digest, "size": len(content)}


def _write_layout_index(root: Path, entries: list[dict[str, Any]]) -> bytes:
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = json.dumps({"schemaVersion": 2, "manifests": entries}, indent=2).encode()
    (root / "index.json").write_bytes(index)
    return index


def test_a_single_platform_is_one_manifest_whose_config_names_the_platform() -> None:
    image = synthesize_image(["linux/arm64/v8"])

    assert len(image.manifests) == 1
    assert image.top.media_type == OCI_MANIFEST
    assert image.top.platform is None
    manifest = image.top.document
    assert manifest["schemaVersion"] == 2
    assert len(manifest["layers"]) == 1
    config_bytes = image.blobs[manifest["config"]["digest"]]
    assert manifest["config"]["size"] == len(config_bytes)
    config = json.loads(config_bytes)
    assert (config["os"], config["architecture"], config["variant"]) == ("linux", "arm64", "v8")
    assert config["rootfs"]["type"] == "layers"
    assert len(config["rootfs"]["diff_ids"]) == 1
    _assert_content_addressed(image)


def test_several_platforms_make_an_index_whose_entries_carry_platform_digest_and_size() -> None:
    image = synthesize_image(["linux/amd64", "linux/arm64", "linux/arm/v7"])

    assert image.top.media_type == OCI_INDEX
    index = image.top.document
    assert index["mediaType"] == OCI_INDEX
    entries = index["manifests"]
    assert [entry["platform"] for entry in entries] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
        {"architecture": "arm", "os": "linux", "variant": "v7"},
    ]
    for entry, child in zip(entries, image.children, strict=True):
        assert entry["digest"] == child.digest == _sha256(child.content)
        assert entry["size"] == len(child.content)
        assert str(child.platform) == str(Platform.from_descriptor(entry["platform"]))
        assert image.config_of(child.digest)["architecture"] == entry["platform"]["architecture"]
    _assert_content_addressed(image)


def test_the_layer_digest_and_the_config_diff_id_describe_the_stored_layer() -> None:
    image = synthesize_image(["linux/amd64"])
    manifest = image.top.document
    layer = image.blobs[manifest["layers"][0]["digest"]]

    assert image.config_of(image.top.digest)["rootfs"]["diff_ids"] == [_sha256(gzip.decompress(layer))]


def test_attestations_add_one_unknown_platform_entry_per_image_pointing_at_it() -> None:
    image = synthesize_image(["linux/amd64", "linux/arm64"], attestation=True)

    entries = image.top.document["manifests"]
    images = [entry for entry in entries if entry["platform"]["os"] != "unknown"]
    attestations = [
        entry for entry in entries if entry["platform"] == {"architecture": "unknown", "os": "unknown"}
    ]
    assert len(images) == 2
    assert len(attestations) == 2
    assert [entry["annotations"]["vnd.docker.reference.type"] for entry in attestations] == [
        "attestation-manifest"
    ] * 2
    assert [entry["annotations"]["vnd.docker.reference.digest"] for entry in attestations] == [
        entry["digest"] for entry in images
    ]
    for stored in image.children:
        assert stored.is_attestation == (stored.platform == Platform(os="unknown", architecture="unknown"))
    _assert_content_addressed(image)


def test_a_single_platform_with_attestation_is_still_an_index() -> None:
    image = synthesize_image(["linux/arm64"], attestation=True)

    assert image.top.media_type == OCI_INDEX
    assert len(image.children) == 2
    attestation = next(child for child in image.children if child.is_attestation)
    assert image.config_of(attestation.digest)["architecture"] == "unknown"
    statement_digest = attestation.document["layers"][0]["digest"]
    assert json.loads(image.blobs[statement_digest])["subject"][0]["digest"]["sha256"] == (
        image.children[0].digest.removeprefix("sha256:")
    )


def test_the_seed_moves_every_digest_and_the_same_seed_reproduces_them() -> None:
    first = synthesize_image(["linux/amd64", "linux/arm64"], seed="build-1")
    again = synthesize_image(["linux/amd64", "linux/arm64"], seed="build-1")
    second = synthesize_image(["linux/amd64", "linux/arm64"], seed="build-2")

    assert [m.digest for m in first.manifests] == [m.digest for m in again.manifests]
    assert not {m.digest for m in first.manifests} & {m.digest for m in second.manifests}


@pytest.mark.parametrize(
    "platforms", [[], ["linux"], ["linux/amd64/v1/extra"], ["/amd64"], ["linux/amd64"] * 2]
)
def test_malformed_or_repeated_platforms_are_refused(platforms: list[str]) -> None:
    with pytest.raises(ImageError):
        synthesize_image(platforms)


_platforms = st.lists(
    st.tuples(
        st.sampled_from(["linux", "windows"]),
        st.sampled_from(["amd64", "arm64", "arm", "ppc64le", "s390x"]),
        st.sampled_from(["", "v7", "v8"]),
    ).map(lambda parts: "/".join(part for part in parts if part)),
    min_size=1,
    max_size=4,
    unique=True,
)


@settings(max_examples=40, deadline=None)
@given(platforms=_platforms, attestation=st.booleans(), seed=st.text(max_size=8))
def test_every_synthesized_image_is_content_addressed_and_survives_a_layout(
    platforms: list[str], attestation: bool, seed: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    image = synthesize_image(platforms, attestation=attestation, seed=seed)

    _assert_content_addressed(image)
    assert load_oci_layout(write_oci_layout(image, tmp_path_factory.mktemp("layout"))) == image


def test_a_written_layout_loads_back_to_the_same_image(tmp_path: Path) -> None:
    image = synthesize_image(["linux/amd64", "linux/arm64"], attestation=True, seed="round-trip")

    write_oci_layout(image, tmp_path, ref_name="v1")
    loaded = load_oci_layout(tmp_path)

    assert loaded == image
    assert json.loads((tmp_path / "index.json").read_bytes())["manifests"][0]["digest"] == image.top.digest


def test_a_blob_whose_bytes_do_not_match_its_name_is_refused(tmp_path: Path) -> None:
    image = synthesize_image(["linux/amd64"])
    write_oci_layout(image, tmp_path)
    config_digest = image.top.document["config"]["digest"]
    blob = tmp_path / "blobs" / "sha256" / config_digest.removeprefix("sha256:")
    blob.write_bytes(blob.read_bytes().replace(b"amd64", b"arm64"))

    with pytest.raises(ImageError, match="not to its name"):
        load_oci_layout(tmp_path)


def test_a_missing_config_is_refused_but_missing_layers_are_not(tmp_path: Path) -> None:
    image = synthesize_image(["linux/amd64"])
    write_oci_layout(image, tmp_path)
    manifest = image.top.document
    (tmp_path / "blobs" / "sha256" / manifest["layers"][0]["digest"].removeprefix("sha256:")).unlink()

    loaded = load_oci_layout(tmp_path)
    assert manifest["layers"][0]["digest"] not in loaded.blobs
    assert loaded.top == image.top

    (tmp_path / "blobs" / "sha256" / manifest["config"]["digest"].removeprefix("sha256:")).unlink()
    with pytest.raises(ImageError, match="config blob"):
        load_oci_layout(tmp_path)


def test_a_directory_without_oci_layout_is_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="oci-layout"):
        load_oci_layout(tmp_path)


def test_docker_manifest_lists_and_schema2_manifests_load(tmp_path: Path) -> None:
    children = []
    for architecture in ("amd64", "arm64"):
        config = _write_blob(
            tmp_path,
            json.dumps({"architecture": architecture, "os": "linux", "rootfs": {"type": "layers"}}).encode(),
        )
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **config},
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": _sha256(architecture.encode()),
                        "size": len(architecture),
                    }
                ],
            }
        ).encode()
        children.append(
            {
                "mediaType": DOCKER_MANIFEST,
                **_write_blob(tmp_path, manifest),
                "platform": {"architecture": architecture, "os": "linux"},
            }
        )
    manifest_list = json.dumps(
        {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": children}, indent=3
    ).encode()
    _write_layout_index(
        tmp_path, [{"mediaType": DOCKER_MANIFEST_LIST, **_write_blob(tmp_path, manifest_list)}]
    )

    image = load_oci_layout(tmp_path)

    assert image.top.media_type == DOCKER_MANIFEST_LIST
    assert image.top.content == manifest_list
    assert [child.media_type for child in image.children] == [DOCKER_MANIFEST, DOCKER_MANIFEST]
    assert [str(child.platform) for child in image.children] == ["linux/amd64", "linux/arm64"]
    assert [image.config_of(child.digest)["architecture"] for child in image.children] == ["amd64", "arm64"]
    _assert_content_addressed(image)


def test_an_index_json_with_several_entries_is_itself_the_pushed_index(tmp_path: Path) -> None:
    source = synthesize_image(["linux/amd64", "linux/arm64"])
    write_oci_layout(source, tmp_path)
    entries = source.top.document["manifests"]
    index_bytes = _write_layout_index(tmp_path, entries)

    image = load_oci_layout(tmp_path)

    assert image.top.digest == _sha256(index_bytes)
    assert image.top.media_type == OCI_INDEX
    assert [child.digest for child in image.children] == [entry["digest"] for entry in entries]
