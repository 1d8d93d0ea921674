"""Container images with true digests: synthesized from a list of platforms or loaded from an OCI layout.

Every digest is `sha256:` + the hex digest of the exact bytes stored, so what the sandbox pushes to ECR
is addressable the way a registry addresses it. Building an image needs no container engine: a layer
is a small reproducible tar.gz, its config names the platform, its manifest points at both.

Hand-written because no Python library in the stack builds or reads OCI image layouts.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
IN_TOTO = "application/vnd.in-toto+json"

INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
SCHEMA1_MEDIA_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
MANIFEST_MEDIA_TYPES = INDEX_MEDIA_TYPES | IMAGE_MANIFEST_MEDIA_TYPES | SCHEMA1_MEDIA_TYPES

REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type"
REFERENCE_DIGEST_ANNOTATION = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v0.2"

# A fixed creation time keeps synthesized images reproducible: only `seed` and platforms move digests.
_CREATED = "2025-01-01T00:00:00Z"


class ImageError(ValueError):
    """An image or layout that cannot be used: bad platform, missing or corrupt blob, unknown media type."""


def sha256_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def canonical_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class Platform(BaseModel):
    model_config = ConfigDict(frozen=True)

    os: str = Field(min_length=1)
    architecture: str = Field(min_length=1)
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("/")
        if len(parts) not in {2, 3} or not all(parts):
            raise ImageError(f"platform {text!r} is not os/arch[/variant]")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)

    @classmethod
    def from_descriptor(cls, platform: Mapping[str, Any]) -> Self:
        return cls(
            os=str(platform.get("os", "")),
            architecture=str(platform.get("architecture", "")),
            variant=platform.get("variant"),
        )

    def as_descriptor(self) -> dict[str, str]:
        fields = {"architecture": self.architecture, "os": self.os}
        return fields | ({"variant": self.variant} if self.variant else {})

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


UNKNOWN_PLATFORM = Platform(os="unknown", architecture="unknown")


class StoredManifest(BaseModel):
    """One manifest exactly as the registry stores it, with what its parent index says about it."""

    model_config = ConfigDict(frozen=True)

    digest: str
    media_type: str
    content: bytes
    platform: Platform | None = None
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _digest_names_content(self) -> Self:
        if sha256_digest(self.content) != self.digest:
            raise ImageError(f"manifest {self.digest} does not hash to its digest")
        return self

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.content)
        return parsed

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def is_attestation(self) -> bool:
        return self.annotations.get(REFERENCE_TYPE_ANNOTATION) == ATTESTATION_MANIFEST


class ImageSet(BaseModel):
    """Everything one push stores: manifests children-first with the tagged one last, and their blobs."""

    model_config = ConfigDict(frozen=True)

    manifests: tuple[StoredManifest, ...] = Field(min_length=1)
    blobs: dict[str, bytes] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _blobs_named_by_digest(self) -> Self:
        for digest, content in self.blobs.items():
            if sha256_digest(content) != digest:
                raise ImageError(f"blob {digest} does not hash to its digest")
        return self

    @property
    def top(self) -> StoredManifest:
        return self.manifests[-1]

    @property
    def children(self) -> tuple[StoredManifest, ...]:
        return self.manifests[:-1]

    def manifest(self, digest: str) -> StoredManifest:
        for stored in self.manifests:
            if stored.digest == digest:
                return stored
        raise KeyError(digest)

    def config_of(self, manifest_digest: str) -> dict[str, Any]:
        """The parsed config blob of an image manifest (the platform a registry client would read)."""
        config_digest = self.manifest(manifest_digest).document["config"]["digest"]
        parsed: dict[str, Any] = json.loads(self.blobs[config_digest])
        return parsed


# --- synthesis -------------------------------------------------------------------------------------


def _descriptor(media_type: str, content: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(content), "size": len(content)} | extra


def _layer_tar(payload: bytes) -> bytes:
    info = tarfile.TarInfo("app/build-info")
    info.size = len(payload)
    info.mode = 0o644
    info.mtime = 0
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


class _Built(BaseModel):
    model_config = ConfigDict(frozen=True)

    manifest: bytes
    blobs: dict[str, bytes]


def _build_image(platform: Platform, seed: str) -> _Built:
    layer_tar = _layer_tar(f"platform={platform}\nseed={seed}\n".encode())
    layer = gzip.compress(layer_tar, mtime=0)
    config_document: dict[str, Any] = platform.as_descriptor() | {
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/app/serve"],
            "WorkingDir": "/app",
        },
        "created": _CREATED,
        "history": [{"created": _CREATED, "created_by": "COPY build-info /app/ # buildkit"}],
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer_tar)]},
    }
    config = canonical_json(config_document)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor(OCI_LAYER_GZIP, layer)],
        }
    )
    return _Built(manifest=manifest, blobs={sha256_digest(config): config, sha256_digest(layer): layer})


def _build_attestation(subject_digest: str, seed: str) -> _Built:
    """BuildKit's default attestation manifest: an unknown/unknown image config and an in-toto layer."""
    statement = canonical_json(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": SLSA_PROVENANCE,
            "subject": [{"name": "_", "digest": {"sha256": subject_digest.removeprefix("sha256:")}}],
            "predicate": {
                "builder": {"id": ""},
                "buildType": "https://mobyproject.org/buildkit@v1",
                "metadata": {"buildInvocationID": hashlib.sha256(seed.encode()).hexdigest()[:26]},
            },
        }
    )
    config = canonical_json(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(statement)]},
        }
    )
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [
                _descriptor(IN_TOTO, statement, annotations={"in-toto.io/predicate-type": SLSA_PROVENANCE})
            ],
        }
    )
    return _Built(
        manifest=manifest, blobs={sha256_digest(config): config, sha256_digest(statement): statement}
    )


def synthesize_image(platforms: Sequence[str], *, attestation: bool = False, seed: str = "") -> ImageSet:
    """An image for each platform; an OCI index over them when there are several or attestations."""
    parsed = [Platform.parse(text) for text in platforms]
    if not parsed:
        raise ImageError("an image needs at least one platform")
    if len(set(parsed)) != len(parsed):
        raise ImageError(f"platforms repeat: {list(platforms)}")

    images = [(platform, _build_image(platform, seed)) for platform in parsed]
    blobs: dict[str, bytes] = {}
    for _, built in images:
        blobs |= built.blobs
    image_manifests = [
        StoredManifest(
            digest=sha256_digest(built.manifest),
            media_type=OCI_MANIFEST,
            content=built.manifest,
            platform=platform,
        )
        for platform, built in images
    ]
    if len(image_manifests) == 1 and not attestation:
        return ImageSet(manifests=(image_manifests[0].model_copy(update={"platform": None}),), blobs=blobs)

    attestations: list[StoredManifest] = []
    if attestation:
        for image in image_manifests:
            built = _build_attestation(image.digest, seed)
            blobs |= built.blobs
            attestations.append(
                StoredManifest(
                    digest=sha256_digest(built.manifest),
                    media_type=OCI_MANIFEST,
                    content=built.manifest,
                    platform=UNKNOWN_PLATFORM,
                    annotations={
                        REFERENCE_DIGEST_ANNOTATION: image.digest,
                        REFERENCE_TYPE_ANNOTATION: ATTESTATION_MANIFEST,
                    },
                )
            )
    children = [*image_manifests, *attestations]
    index = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [_index_entry(child) for child in children],
        }
    )
    top = StoredManifest(digest=sha256_digest(index), media_type=OCI_INDEX, content=index)
    return ImageSet(manifests=(*children, top), blobs=blobs)


def _index_entry(child: StoredManifest) -> dict[str, Any]:
    entry = _descriptor(child.media_type, child.content)
    if child.annotations:
        entry["annotations"] = dict(child.annotations)
    if child.platform is not None:
        entry["platform"] = child.platform.as_descriptor()
    return entry


# --- OCI image layout ------------------------------------------------------------------------------


def _blob_path(root: Path, digest: str) -> Path:
    algorithm, _, encoded = digest.partition(":")
    if not algorithm or not encoded or "/" in encoded or "/" in algorithm:
        raise ImageError(f"malformed digest {digest!r}")
    return root / "blobs" / algorithm / encoded


def _verify_blobs(root: Path) -> None:
    blobs_dir = root / "blobs"
    if not blobs_dir.is_dir():
        raise ImageError(f"{root} has no blobs/ directory")
    for algorithm_dir in blobs_dir.iterdir():
        if algorithm_dir.name not in hashlib.algorithms_available:
            raise ImageError(f"unsupported digest algorithm directory {algorithm_dir}")
        for blob in algorithm_dir.iterdir():
            actual = hashlib.new(algorithm_dir.name, blob.read_bytes()).hexdigest()
            if actual != blob.name:
                raise ImageError(f"blob {blob} hashes to {algorithm_dir.name}:{actual}, not to its name")


def _media_type(document: Mapping[str, Any], descriptor_media_type: str | None) -> str:
    declared = document.get("mediaType") or descriptor_media_type
    if declared:
        media_type = str(declared)
    elif document.get("schemaVersion") == 1:
        media_type = DOCKER_SCHEMA1_SIGNED if "signatures" in document else DOCKER_SCHEMA1
    elif "manifests" in document:
        media_type = OCI_INDEX
    elif "config" in document:
        media_type = OCI_MANIFEST
    else:
        media_type = ""
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise ImageError(f"unsupported manifest media type {media_type!r}")
    return media_type


class _LayoutWalk:
    """Collects manifests depth-first, children before their index, each digest once."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self.manifests: dict[str, StoredManifest] = {}
        self.blobs: dict[str, bytes] = {}

    def _required(self, digest: str, what: str) -> bytes:
        path = _blob_path(self._root, digest)
        if not path.is_file():
            raise ImageError(f"{what} {digest} is missing from {self._root}")
        return path.read_bytes()

    def visit(self, descriptor: Mapping[str, Any], *, top: bool) -> None:
        digest = str(descriptor["digest"])
        if digest in self.manifests:
            return
        content = self._required(digest, "manifest")
        document = json.loads(content)
        media_type = _media_type(document, descriptor.get("mediaType"))
        if media_type in INDEX_MEDIA_TYPES:
            for child in document.get("manifests", []):
                self.visit(child, top=False)
        elif media_type in IMAGE_MANIFEST_MEDIA_TYPES:
            self._collect_image_blobs(document)
        platform = descriptor.get("platform")
        self.manifests[digest] = StoredManifest(
            digest=digest,
            media_type=media_type,
            content=content,
            platform=None if top or platform is None else Platform.from_descriptor(platform),
            annotations={} if top else dict(descriptor.get("annotations") or {}),
        )

    def _collect_image_blobs(self, document: Mapping[str, Any]) -> None:
        config_digest = str(document["config"]["digest"])
        self.blobs[config_digest] = self._required(config_digest, "config blob")
        for layer in document.get("layers", []):
            # Layers are optional: only manifests and configs matter to a registry client reading platforms.
            path = _blob_path(self._root, str(layer["digest"]))
            if path.is_file():
                self.blobs[str(layer["digest"])] = path.read_bytes()


def load_oci_layout(path: Path) -> ImageSet:
    """Read an OCI image layout directory; the image is what its `index.json` names."""
    if not (path / "oci-layout").is_file():
        raise ImageError(f"{path} is not an OCI image layout: no oci-layout file")
    index_path = path / "index.json"
    if not index_path.is_file():
        raise ImageError(f"{path} is not an OCI image layout: no index.json")
    _verify_blobs(path)
    index_bytes = index_path.read_bytes()
    index = json.loads(index_bytes)
    entries = index.get("manifests") or []
    if not entries:
        raise ImageError(f"{index_path} lists no manifests")

    walk = _LayoutWalk(path)
    if len(entries) == 1:
        walk.visit(entries[0], top=True)
        top_digest = str(entries[0]["digest"])
    else:
        # Several entries: index.json is itself the image index that was pushed.
        for entry in entries:
            walk.visit(entry, top=False)
        top_digest = sha256_digest(index_bytes)
        walk.manifests[top_digest] = StoredManifest(
            digest=top_digest, media_type=_media_type(index, OCI_INDEX), content=index_bytes
        )
    ordered = [stored for digest, stored in walk.manifests.items() if digest != top_digest]
    return ImageSet(manifests=(*ordered, walk.manifests[top_digest]), blobs=walk.blobs)


def write_oci_layout(image: ImageSet, path: Path, *, ref_name: str | None = None) -> Path:
    """Write `image` as an OCI image layout whose index.json points at its top manifest."""
    for digest, content in _all_blobs(image):
        blob = _blob_path(path, digest)
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
    (path / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    entry = _descriptor(image.top.media_type, image.top.content)
    if ref_name:
        entry["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    (path / "index.json").write_bytes(canonical_json(index))
    return path


def _all_blobs(image: ImageSet) -> Iterator[tuple[str, bytes]]:
    for stored in image.manifests:
        yield stored.digest, stored.content
    yield from image.blobs.items()
