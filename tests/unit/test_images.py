"""The architecture gate's judgement: platforms, formats, and garbage that must never crash it."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pushpilot.core.verdicts import (
    ACCEPTED_MEDIA_TYPES,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V1,
    DOCKER_MANIFEST_V1_SIGNED,
    DOCKER_MANIFEST_V2,
    OCI_INDEX,
    OCI_MANIFEST,
    Platform,
    Verdict,
    VerdictStatus,
    fix_command,
    judge,
)
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM

pytestmark = pytest.mark.unit

MANIFESTS = Path(__file__).parents[1] / "data" / "manifests"
IMAGE_REF = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/orders-api:v42"
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("PUSHPILOT_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def digest_of(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def read(name: str) -> bytes:
    return (MANIFESTS / name).read_bytes()


BLOBS = {digest_of(path.read_bytes()): path.read_bytes() for path in MANIFESTS.glob("*.json")}


class ConfigStore:
    """Serves config blobs by digest and remembers what was asked for."""

    def __init__(self, blobs: dict[str, bytes] | None = None) -> None:
        self.blobs = BLOBS if blobs is None else blobs
        self.requested: list[str] = []

    def __call__(self, digest: str) -> bytes | None:
        self.requested.append(digest)
        return self.blobs.get(digest)


def judge_file(
    name: str,
    media_type: str | None = None,
    *,
    required: Platform = APP_RUNNER_PLATFORM,
    fetch: Callable[[str], bytes | None] | None = None,
) -> Verdict:
    return judge(
        read(name), media_type, required=required, fetch_config=fetch or ConfigStore(), image_ref=IMAGE_REF
    )


def platforms(*texts: str) -> tuple[Platform, ...]:
    return tuple(Platform.parse(text) for text in texts)


# --- Platform --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", Platform(os="linux", architecture="amd64")),
        ("linux/arm64/v8", Platform(os="linux", architecture="arm64", variant="v8")),
        (" windows/amd64 ", Platform(os="windows", architecture="amd64")),
    ],
)
def test_platform_parses_docker_spelling(text: str, expected: Platform) -> None:
    assert Platform.parse(text) == expected
    assert str(Platform.parse(text)) == text.strip()


@pytest.mark.parametrize("text", ["", "linux", "linux/", "/amd64", "linux/arm/v7/extra", "linux//v8"])
def test_platform_rejects_what_is_not_a_platform(text: str) -> None:
    with pytest.raises(ValueError, match="not a platform"):
        Platform.parse(text)


@pytest.mark.parametrize(
    ("image", "required", "runs"),
    [
        ("linux/amd64", "linux/amd64", True),
        ("linux/amd64/v2", "linux/amd64", True),
        ("linux/amd64/v3", "linux/amd64", True),
        ("linux/x86_64", "linux/amd64", True),
        ("linux/arm64", "linux/amd64", False),
        ("linux/arm64/v8", "linux/amd64", False),
        ("windows/amd64", "linux/amd64", False),
        ("linux/arm64/v8", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v8", True),
        ("linux/aarch64", "linux/arm64", True),
        ("linux/arm/v7", "linux/arm/v6", False),
        ("linux/arm/v7", "linux/arm/v7", True),
        ("linux/amd64", "linux/amd64/v3", False),
        ("linux/amd64/v1", "linux/amd64/v1", True),
    ],
)
def test_platform_satisfies(image: str, required: str, runs: bool) -> None:
    assert Platform.parse(image).satisfies(Platform.parse(required)) is runs


def test_app_runner_platform_is_linux_amd64() -> None:
    assert str(APP_RUNNER_PLATFORM) == "linux/amd64"


def test_accepted_media_types_cover_every_readable_format() -> None:
    assert set(ACCEPTED_MEDIA_TYPES) == {
        OCI_INDEX,
        OCI_MANIFEST,
        DOCKER_MANIFEST_LIST,
        DOCKER_MANIFEST_V2,
        DOCKER_MANIFEST_V1,
        DOCKER_MANIFEST_V1_SIGNED,
    }
    assert len(ACCEPTED_MEDIA_TYPES) == len(set(ACCEPTED_MEDIA_TYPES))


# --- indexes and manifest lists ---------------------------------------------------------------------


def test_multi_platform_index_passes_and_skips_attestations_without_reading_configs() -> None:
    store = ConfigStore()
    verdict = judge_file("index.oci.amd64-arm64-attested.json", OCI_INDEX, fetch=store)

    assert verdict.status is VerdictStatus.PASS
    assert verdict.platforms == platforms("linux/amd64", "linux/arm64")
    assert "2 attestation or unknown-platform entries skipped" in verdict.reason
    assert verdict.fix is None
    assert verdict.media_type == OCI_INDEX
    assert store.requested == []


def test_index_built_on_a_mac_is_rejected_with_the_rebuild_command() -> None:
    verdict = judge_file("index.oci.arm64-attested.json", OCI_INDEX)

    assert verdict.status is VerdictStatus.REJECT
    assert verdict.platforms == platforms("linux/arm64/v8")
    assert "linux/arm64/v8" in verdict.reason
    assert "linux/amd64" in verdict.reason
    assert verdict.fix == fix_command(APP_RUNNER_PLATFORM, IMAGE_REF)


def test_index_of_attestations_only_is_unknown() -> None:
    verdict = judge_file("index.oci.attestations-only.json", OCI_INDEX)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert verdict.platforms == ()
    assert "no image" in verdict.reason
    assert verdict.fix is None


@pytest.mark.parametrize(
    ("required", "status"),
    [
        ("linux/amd64", VerdictStatus.PASS),
        ("linux/arm/v7", VerdictStatus.PASS),
        ("linux/arm64", VerdictStatus.REJECT),
    ],
)
def test_docker_manifest_list_is_judged_against_the_required_platform(
    required: str, status: VerdictStatus
) -> None:
    verdict = judge_file(
        "list.docker.amd64-arm-v7.json", DOCKER_MANIFEST_LIST, required=Platform.parse(required)
    )

    assert verdict.status is status
    assert verdict.platforms == platforms("linux/arm/v7", "linux/amd64")
    assert verdict.required == Platform.parse(required)


def test_entry_annotated_as_attestation_is_skipped_whatever_its_platform() -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest_of(b"attestation"),
                "platform": {"os": "linux", "architecture": "amd64"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest_of(b"image"),
                "platform": {"os": "linux", "architecture": "s390x"},
            },
        ],
    }
    verdict = judge(
        json.dumps(document).encode(), None, required=APP_RUNNER_PLATFORM, fetch_config=ConfigStore()
    )

    assert verdict.status is VerdictStatus.REJECT
    assert verdict.platforms == platforms("linux/s390x")


def test_index_entry_without_platform_makes_a_non_match_unknown() -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest_of(b"a"),
                "platform": {"os": "linux", "architecture": "ppc64le"},
            },
            {"mediaType": OCI_INDEX, "digest": digest_of(b"b")},
        ],
    }
    verdict = judge(
        json.dumps(document).encode(), OCI_INDEX, required=APP_RUNNER_PLATFORM, fetch_config=ConfigStore()
    )

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "1 entry without a platform" in verdict.reason
    assert verdict.platforms == platforms("linux/ppc64le")


# --- single manifests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "media_type", "status", "platform"),
    [
        ("manifest.oci.linux-amd64.json", OCI_MANIFEST, VerdictStatus.PASS, "linux/amd64"),
        ("manifest.oci.linux-arm64.json", OCI_MANIFEST, VerdictStatus.REJECT, "linux/arm64/v8"),
        ("manifest.docker-v2.linux-amd64.json", DOCKER_MANIFEST_V2, VerdictStatus.PASS, "linux/amd64"),
        ("manifest.docker-v2.linux-arm-v7.json", DOCKER_MANIFEST_V2, VerdictStatus.REJECT, "linux/arm/v7"),
    ],
)
def test_single_manifest_is_judged_by_its_config_blob(
    name: str, media_type: str, status: VerdictStatus, platform: str
) -> None:
    store = ConfigStore()
    verdict = judge_file(name, media_type, fetch=store)

    config_digest = json.loads(read(name))["config"]["digest"]
    assert store.requested == [config_digest]
    assert verdict.status is status
    assert verdict.platforms == platforms(platform)
    assert (verdict.fix is not None) is (status is VerdictStatus.REJECT)


def test_missing_config_blob_is_unknown_and_names_the_digest() -> None:
    name = "manifest.oci.linux-amd64.json"
    verdict = judge_file(name, OCI_MANIFEST, fetch=ConfigStore(blobs={}))

    assert verdict.status is VerdictStatus.UNKNOWN
    assert json.loads(read(name))["config"]["digest"] in verdict.reason


def test_config_blob_that_fails_its_digest_is_unknown() -> None:
    manifest = read("manifest.oci.linux-arm64.json")
    config_digest = json.loads(manifest)["config"]["digest"]
    # The amd64 config served under the arm64 config's digest: trusting it would pass an arm64 image.
    swapped = ConfigStore(blobs={config_digest: read("config.oci.linux-amd64.json")})
    verdict = judge(manifest, OCI_MANIFEST, required=APP_RUNNER_PLATFORM, fetch_config=swapped)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "does not match" in verdict.reason
    assert verdict.platforms == ()


def manifest_for_config(config: bytes, *, digest: str | None = None) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": digest or digest_of(config),
            "size": len(config),
        },
        "layers": [],
    }
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("config", "reason_part"),
    [
        (b"\x89PNG not json", "not valid JSON"),
        (b'{"os": "linux", "architecture": 64}', "architecture"),
        (b'{"os": "linux"}', "architecture"),
        (b'["linux", "amd64"]', "image config is malformed"),
    ],
)
def test_unreadable_config_is_unknown(config: bytes, reason_part: str) -> None:
    manifest = manifest_for_config(config)
    verdict = judge(
        manifest, None, required=APP_RUNNER_PLATFORM, fetch_config=ConfigStore({digest_of(config): config})
    )

    assert verdict.status is VerdictStatus.UNKNOWN
    assert reason_part in verdict.reason


def test_config_digest_with_unknown_algorithm_is_unknown() -> None:
    config = b'{"os": "linux", "architecture": "amd64"}'
    digest = "md5:" + hashlib.md5(config).hexdigest()  # noqa: S324 - an algorithm the gate must refuse
    manifest = manifest_for_config(config, digest=digest)
    verdict = judge(manifest, None, required=APP_RUNNER_PLATFORM, fetch_config=ConfigStore({digest: config}))

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "cannot be checked" in verdict.reason


def test_config_of_unknown_platform_is_unknown() -> None:
    config = b'{"architecture": "unknown", "os": "unknown", "config": {}}'
    verdict = judge(
        manifest_for_config(config),
        OCI_MANIFEST,
        required=APP_RUNNER_PLATFORM,
        fetch_config=ConfigStore({digest_of(config): config}),
    )

    assert verdict.status is VerdictStatus.UNKNOWN
    assert verdict.platforms == platforms("unknown/unknown")


def test_attestation_manifest_is_not_an_image() -> None:
    store = ConfigStore()
    verdict = judge_file("manifest.attestation.for-linux-amd64.json", OCI_MANIFEST, fetch=store)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert "application/vnd.docker.attestation.manifest.v1+json" in verdict.reason
    assert store.requested == []


@pytest.mark.parametrize(
    ("name", "media_type", "status", "platform"),
    [
        ("manifest.docker-v1.linux-arm64.json", DOCKER_MANIFEST_V1, VerdictStatus.REJECT, "linux/arm64"),
        (
            "manifest.docker-v1-signed.linux-amd64.json",
            DOCKER_MANIFEST_V1_SIGNED,
            VerdictStatus.PASS,
            "linux/amd64",
        ),
    ],
)
def test_schema1_manifest_is_judged_by_its_top_level_architecture(
    name: str, media_type: str, status: VerdictStatus, platform: str
) -> None:
    store = ConfigStore()
    verdict = judge_file(name, media_type, fetch=store)

    assert verdict.status is status
    assert verdict.platforms == platforms(platform)
    assert store.requested == []


# --- media types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("index.oci.amd64-arm64-attested.json", OCI_INDEX),
        ("list.docker.amd64-arm-v7.json", DOCKER_MANIFEST_LIST),
        ("manifest.docker-v2.linux-amd64.json", DOCKER_MANIFEST_V2),
    ],
)
def test_without_a_given_media_type_the_manifest_names_its_own(name: str, media_type: str) -> None:
    verdict = judge_file(name, None)

    assert verdict.media_type == media_type
    assert verdict.status is VerdictStatus.PASS


@pytest.mark.parametrize(
    ("name", "media_type", "status"),
    [
        ("index.oci.amd64-arm64-attested.json", OCI_INDEX, VerdictStatus.PASS),
        ("manifest.oci.linux-arm64.json", OCI_MANIFEST, VerdictStatus.REJECT),
        ("manifest.docker-v1.linux-arm64.json", DOCKER_MANIFEST_V1, VerdictStatus.REJECT),
        ("manifest.docker-v1-signed.linux-amd64.json", DOCKER_MANIFEST_V1_SIGNED, VerdictStatus.PASS),
    ],
)
def test_shape_tells_the_media_type_when_nothing_names_it(
    name: str, media_type: str, status: VerdictStatus
) -> None:
    document: dict[str, Any] = json.loads(read(name))
    document.pop("mediaType", None)
    verdict = judge(
        json.dumps(document).encode(), None, required=APP_RUNNER_PLATFORM, fetch_config=ConfigStore()
    )

    assert verdict.media_type == media_type
    assert verdict.status is status


def test_given_media_type_is_trusted_over_the_manifest_own() -> None:
    verdict = judge_file("index.oci.amd64-arm64-attested.json", OCI_MANIFEST)

    assert verdict.media_type == OCI_MANIFEST
    assert verdict.status is VerdictStatus.UNKNOWN
    assert "config" in verdict.reason


def test_media_type_parameters_are_ignored() -> None:
    verdict = judge_file("index.oci.amd64-arm64-attested.json", f"{OCI_INDEX}; charset=utf-8")

    assert verdict.media_type == OCI_INDEX
    assert verdict.status is VerdictStatus.PASS


def test_unknown_media_type_is_unknown_and_named() -> None:
    media_type = "application/vnd.oci.artifact.manifest.v1+json"
    verdict = judge_file("manifest.oci.linux-amd64.json", media_type)

    assert verdict.status is VerdictStatus.UNKNOWN
    assert media_type in verdict.reason


# --- malformed input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "media_type", "reason_part"),
    [
        (b"", OCI_INDEX, "not valid JSON"),
        (b'{"schemaVersion": 2,', OCI_INDEX, "not valid JSON"),
        (b"\xff\xfe\x00", None, "not valid JSON"),
        (b"[1, 2, 3]", OCI_INDEX, "not a JSON object"),
        (b"null", None, "not a JSON object"),
        (b"{}", None, "shape matches none"),
        (b'{"schemaVersion": true, "architecture": "amd64"}', None, "shape matches none"),
        (b'{"schemaVersion": 2, "manifests": {"amd64": 1}}', OCI_INDEX, "manifests"),
        (
            b'{"manifests": [{"digest": "sha256:00", "platform": {"os": "linux", "architecture": 7}}]}',
            OCI_INDEX,
            "manifests.0.platform.architecture",
        ),
        (b'{"manifests": ["linux/amd64"]}', OCI_INDEX, "manifests.0"),
        (
            b'{"manifests": [{"digest": "sha256:00", "platform": {"os": "linux", "architecture": ""}}]}',
            OCI_INDEX,
            "architecture",
        ),
        (b'{"config": "sha256:00"}', OCI_MANIFEST, "config"),
        (b'{"schemaVersion": 1, "architecture": ["amd64"]}', None, "architecture"),
        (b'{"schemaVersion": 1}', DOCKER_MANIFEST_V1, "architecture"),
    ],
)
def test_malformed_manifest_is_unknown_with_a_reason(
    manifest: bytes, media_type: str | None, reason_part: str
) -> None:
    verdict = judge(manifest, media_type, required=APP_RUNNER_PLATFORM, fetch_config=ConfigStore())

    assert verdict.status is VerdictStatus.UNKNOWN
    assert reason_part in verdict.reason
    assert verdict.fix is None


# --- fix command -----------------------------------------------------------------------------------


def test_fix_command_rebuilds_for_the_required_platform() -> None:
    command = fix_command(Platform.parse("linux/amd64"), IMAGE_REF)

    assert shlex.split(command) == [
        "docker",
        "buildx",
        "build",
        "--platform",
        "linux/amd64",
        "--provenance=false",
        "-t",
        IMAGE_REF,
        "--push",
        ".",
    ]


def test_fix_command_quotes_a_placeholder_reference() -> None:
    reference = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/orders-api:<tag>"
    command = fix_command(Platform.parse("linux/arm64/v8"), reference)

    assert shlex.split(command)[4] == "linux/arm64/v8"
    assert shlex.split(command)[7] == reference


# --- test data -------------------------------------------------------------------------------------


def referenced_digests(document: dict[str, Any]) -> list[str]:
    """Digests of the manifests and configs a manifest points to (layers name no file)."""
    digests = [entry["digest"] for entry in document.get("manifests", [])]
    config = document.get("config", {})
    if config and config["mediaType"] != "application/vnd.oci.empty.v1+json":
        digests.append(config["digest"])
    if "subject" in document:
        digests.append(document["subject"]["digest"])
    return digests


MANIFEST_FILES = sorted(path for path in MANIFESTS.glob("*.json") if not path.name.startswith("config."))


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda path: path.name)
def test_test_data_digests_name_the_bytes_they_point_to(path: Path) -> None:
    document = json.loads(path.read_bytes())
    for digest in referenced_digests(document):
        assert digest in BLOBS, f"{path.name} points to {digest}, which no test file hashes to"
    assert referenced_digests(document) or document["schemaVersion"] == 1


# --- fuzz: whatever arrives, the answer is a verdict -------------------------------------------------

MANIFEST_KEYS = st.sampled_from(
    [
        "schemaVersion",
        "mediaType",
        "manifests",
        "platform",
        "os",
        "architecture",
        "variant",
        "annotations",
        "config",
        "digest",
        "artifactType",
        "signatures",
        "vnd.docker.reference.type",
    ]
)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
MANIFEST_VALUES = st.sampled_from(
    [*ACCEPTED_MEDIA_TYPES, "attestation-manifest", "linux", "amd64", "arm64", "unknown", "v8", 1, 2]
)
JSON_VALUES = st.recursive(
    JSON_SCALARS | MANIFEST_VALUES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(MANIFEST_KEYS | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)
MEDIA_TYPES = st.none() | st.sampled_from(ACCEPTED_MEDIA_TYPES) | st.text(max_size=30)
CONFIG_ANSWERS = (
    st.none() | st.binary(max_size=64) | JSON_VALUES.map(lambda value: json.dumps(value).encode())
)


def assert_is_verdict(verdict: object) -> None:
    assert isinstance(verdict, Verdict)
    assert verdict.status in set(VerdictStatus)
    assert verdict.reason
    assert (verdict.fix is not None) is (verdict.status is VerdictStatus.REJECT)


@FUZZ_SETTINGS
@given(manifest=st.binary(max_size=256), media_type=MEDIA_TYPES, config=CONFIG_ANSWERS)
def test_fuzz_random_bytes_always_get_a_verdict(
    manifest: bytes, media_type: str | None, config: bytes | None
) -> None:
    assert_is_verdict(
        judge(manifest, media_type, required=APP_RUNNER_PLATFORM, fetch_config=lambda _: config)
    )


@FUZZ_SETTINGS
@given(document=JSON_VALUES, media_type=MEDIA_TYPES, config=CONFIG_ANSWERS)
def test_fuzz_random_json_always_gets_a_verdict(
    document: object, media_type: str | None, config: bytes | None
) -> None:
    manifest = json.dumps(document).encode()
    assert_is_verdict(
        judge(manifest, media_type, required=APP_RUNNER_PLATFORM, fetch_config=lambda _: config)
    )


@FUZZ_SETTINGS
@given(config_document=JSON_VALUES, media_type=st.sampled_from([None, OCI_MANIFEST, DOCKER_MANIFEST_V2]))
def test_fuzz_random_config_behind_a_true_digest_always_gets_a_verdict(
    config_document: object, media_type: str | None
) -> None:
    config = json.dumps(config_document).encode()
    verdict = judge(
        manifest_for_config(config),
        media_type,
        required=APP_RUNNER_PLATFORM,
        fetch_config=ConfigStore({digest_of(config): config}),
    )
    assert_is_verdict(verdict)
