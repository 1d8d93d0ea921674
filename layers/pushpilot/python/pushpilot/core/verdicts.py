"""Manifest → platforms → verdict: may this image run on the target's platform?

Pure: the caller hands in the manifest bytes, its media type and a way to read the config blob, so the
same judgement runs in Lambda, in the CLI and in tests. Anything unreadable is an UNKNOWN verdict with a
reason, never an exception: a gate that crashes on a strange manifest tells nobody anything.

Formats read (OCI image-spec, Docker distribution manifest v2 schema 1 and 2):
- an OCI index or Docker manifest list names each entry's platform; BuildKit's attestation entries
  (platform `unknown/unknown`, annotation `vnd.docker.reference.type: attestation-manifest`) are not images;
- an OCI image manifest or Docker schema2 manifest keeps the platform in its config blob;
- a Docker schema1 manifest carries `architecture` at top level (schema1 images are always Linux).
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any, Self

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, ValidationError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"

ACCEPTED_MEDIA_TYPES: tuple[str, ...] = (
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
    DOCKER_MANIFEST_V1_SIGNED,
    DOCKER_MANIFEST_V1,
)

_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST_V2})
_SCHEMA1_TYPES = frozenset({DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED})

_REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type"
_ATTESTATION_REFERENCE = "attestation-manifest"

# The spellings Go's GOARCH and the OCI spec use; kernels and some tools report the others.
_ARCHITECTURE_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}
# A variant that means "the baseline of this architecture": the same as no variant at all.
_BASELINE_VARIANTS = {"arm64": "v8", "amd64": "v1"}

NonEmpty = Annotated[str, Field(min_length=1)]


class Platform(BaseModel):
    model_config = ConfigDict(frozen=True)

    os: NonEmpty
    architecture: NonEmpty
    variant: NonEmpty | None = None

    @classmethod
    def parse(cls, text: str) -> Self:
        """`os/architecture[/variant]`, as `docker --platform` writes it (e.g. `linux/arm64/v8`)."""
        parts = text.strip().split("/")
        if len(parts) not in {2, 3} or not all(parts):
            raise ValueError(f"not a platform (os/architecture[/variant]): {text!r}")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    @property
    def is_unknown(self) -> bool:
        return self.os == "unknown" or self.architecture == "unknown"

    def _normalized(self) -> tuple[str, str, str | None]:
        architecture = self.architecture.lower()
        architecture = _ARCHITECTURE_ALIASES.get(architecture, architecture)
        variant = self.variant.lower() if self.variant else None
        if variant == _BASELINE_VARIANTS.get(architecture):
            variant = None
        return self.os.lower(), architecture, variant

    def satisfies(self, required: Platform) -> bool:
        """Whether an image built for this platform runs where `required` is demanded.

        A requirement without a variant accepts every variant of its architecture (amd64 v2/v3 images
        run on amd64 hosts that App Runner provides); a requirement with one demands that variant.
        """
        own_os, own_architecture, own_variant = self._normalized()
        want_os, want_architecture, want_variant = required._normalized()
        if (own_os, own_architecture) != (want_os, want_architecture):
            return False
        return want_variant is None or own_variant == want_variant


LINUX_AMD64 = Platform(os="linux", architecture="amd64")
LINUX_ARM64 = Platform(os="linux", architecture="arm64")


class VerdictStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a credential
    REJECT = "reject"
    UNKNOWN = "unknown"


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: VerdictStatus
    required: Platform
    platforms: tuple[Platform, ...]
    media_type: str | None
    reason: str
    fix: str | None
    digest: str | None = None
    # The single-platform manifest that runs on `required`: the index's child for that platform, or the
    # pushed manifest itself. What a target that takes no index (Lambda) deploys; None when not known.
    manifest_digest: str | None = None

    def deployable_digest(self, *, accepts_index: bool) -> str | None:
        """The digest a target deploys: the pushed one when it takes an index, else the single manifest
        for its platform (None: there is none to give it)."""
        return self.digest if accepts_index else self.manifest_digest


def fix_command(required: Platform, image_ref: str) -> str:
    """The one command that rebuilds and pushes the image for the required platform.

    `--provenance=false` keeps BuildKit from wrapping a single-platform build in an index with an
    attestation entry.
    """
    return shlex.join(
        [
            "docker",
            "buildx",
            "build",
            "--platform",
            str(required),
            "--provenance=false",
            "-t",
            image_ref,
            "--push",
            ".",
        ]
    )


# --- the documents, as far as the judgement needs them ---------------------------------------------
# Strict: a number where a string belongs is a broken manifest, not something to coerce.


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore", populate_by_name=True)


class _PlatformDocument(_Document):
    os: NonEmpty
    architecture: NonEmpty
    variant: str | None = None

    def to_platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture, variant=self.variant or None)


class _IndexEntry(_Document):
    media_type: str | None = Field(default=None, alias="mediaType")
    digest: NonEmpty
    platform: _PlatformDocument | None = None
    annotations: dict[str, str] | None = None

    @property
    def is_attestation(self) -> bool:
        annotations = self.annotations or {}
        if annotations.get(_REFERENCE_TYPE_ANNOTATION) == _ATTESTATION_REFERENCE:
            return True
        return self.platform is not None and self.platform.to_platform().is_unknown


class _Index(_Document):
    manifests: list[_IndexEntry]


class _Descriptor(_Document):
    media_type: str | None = Field(default=None, alias="mediaType")
    digest: NonEmpty


class _ImageManifest(_Document):
    config: _Descriptor
    artifact_type: str | None = Field(default=None, alias="artifactType")


class _Schema1Manifest(_Document):
    architecture: NonEmpty


class _ImageConfig(_Document):
    os: NonEmpty
    architecture: NonEmpty
    variant: str | None = None


def _describe_error(kind: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the document"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"The {kind} is malformed at {where}: {first['msg']}{more}."


def _format_platforms(platforms: Sequence[Platform]) -> str:
    return ", ".join(str(platform) for platform in platforms) or "none"


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {plural}"


def _unique(platforms: Sequence[Platform]) -> tuple[Platform, ...]:
    return tuple(dict.fromkeys(platforms))


class _Judge:
    """One judgement's fixed inputs, so each format's rule reads as a short function."""

    def __init__(
        self,
        *,
        required: Platform,
        media_type: str | None,
        fetch_config: Callable[[str], bytes | None],
        image_ref: str,
    ) -> None:
        self.required = required
        self.media_type = media_type
        self.fetch_config = fetch_config
        self.image_ref = image_ref

    def verdict(
        self,
        status: VerdictStatus,
        reason: str,
        platforms: Sequence[Platform] = (),
        *,
        manifest_digest: str | None = None,
    ) -> Verdict:
        return Verdict(
            status=status,
            required=self.required,
            platforms=_unique(platforms),
            media_type=self.media_type,
            reason=reason,
            fix=fix_command(self.required, self.image_ref) if status is VerdictStatus.REJECT else None,
            manifest_digest=manifest_digest,
        )

    def unknown(self, reason: str, platforms: Sequence[Platform] = ()) -> Verdict:
        return self.verdict(VerdictStatus.UNKNOWN, reason, platforms)

    def of_single(self, platform: Platform, source: str) -> Verdict:
        if platform.is_unknown:
            return self.unknown(
                f"The {source} declares the platform {platform}: it is an attestation or artifact, "
                "not a runnable image.",
                [platform],
            )
        if platform.satisfies(self.required):
            return self.verdict(
                VerdictStatus.PASS,
                f"The image is built for {platform}, which runs on {self.required}.",
                [platform],
            )
        return self.verdict(
            VerdictStatus.REJECT,
            f"The image is built for {platform}, but the target runs only {self.required}.",
            [platform],
        )

    def index(self, document: dict[str, Any]) -> Verdict:
        try:
            index = _Index.model_validate(document)
        except ValidationError as exc:
            return self.unknown(_describe_error("image index", exc))
        images = [entry for entry in index.manifests if not entry.is_attestation]
        skipped = len(index.manifests) - len(images)
        platforms = [entry.platform.to_platform() for entry in images if entry.platform is not None]
        unlabelled = len(images) - len(platforms)
        non_images = _count(skipped, "attestation or unknown-platform entry")
        note = f" ({non_images} skipped)" if skipped else ""
        if not images:
            return self.unknown(f"The image index holds no image, only {non_images}.")
        matching = [
            entry
            for entry in images
            if entry.platform is not None and entry.platform.to_platform().satisfies(self.required)
        ]
        if matching:
            chosen = matching[0]
            assert chosen.platform is not None  # noqa: S101 - filtered above
            return self.verdict(
                VerdictStatus.PASS,
                f"The image index offers {_format_platforms(_unique(platforms))}; "
                f"{chosen.platform.to_platform()} runs on {self.required}{note}.",
                platforms,
                manifest_digest=chosen.digest,
            )
        if unlabelled:
            return self.unknown(
                f"The image index offers {_format_platforms(_unique(platforms))} and "
                f"{_count(unlabelled, 'entry')} without a platform, "
                f"so whether it runs on {self.required} cannot be told{note}.",
                platforms,
            )
        return self.verdict(
            VerdictStatus.REJECT,
            f"The image index offers only {_format_platforms(_unique(platforms))}, "
            f"but the target runs only {self.required}{note}.",
            platforms,
        )

    def image_manifest(self, document: dict[str, Any]) -> Verdict:
        try:
            manifest = _ImageManifest.model_validate(document)
        except ValidationError as exc:
            return self.unknown(_describe_error("image manifest", exc))
        config = manifest.config
        if manifest.artifact_type is not None or config.media_type == OCI_EMPTY_CONFIG:
            kind = manifest.artifact_type or config.media_type
            return self.unknown(f"The manifest describes an artifact ({kind}), not a runnable image.")
        blob = self.fetch_config(config.digest)
        if blob is None:
            return self.unknown(f"The image config blob {config.digest} could not be read.")
        mismatch = _digest_mismatch(config.digest, blob)
        if mismatch:
            return self.unknown(mismatch)
        try:
            image_config = _ImageConfig.model_validate(pydantic_core.from_json(blob))
        except ValueError as exc:
            # ValidationError is a ValueError; from_json raises a plain ValueError for broken JSON.
            detail = (
                _describe_error("image config", exc)
                if isinstance(exc, ValidationError)
                else "The image config is not valid JSON."
            )
            return self.unknown(detail)
        platform = Platform(
            os=image_config.os, architecture=image_config.architecture, variant=image_config.variant or None
        )
        return self.of_single(platform, "image config")

    def schema1(self, document: dict[str, Any]) -> Verdict:
        try:
            manifest = _Schema1Manifest.model_validate(document)
        except ValidationError as exc:
            return self.unknown(_describe_error("schema 1 manifest", exc))
        return self.of_single(Platform(os="linux", architecture=manifest.architecture), "schema 1 manifest")


def is_index(media_type: str | None) -> bool:
    """Whether a verdict's media type names an image index (OCI index, Docker manifest list)."""
    return media_type in _INDEX_TYPES


def _digest_mismatch(digest: str, blob: bytes) -> str | None:
    """A reason when `blob` is not the content `digest` names, None when it is."""
    algorithm, _, expected = digest.partition(":")
    if algorithm not in {"sha256", "sha512"} or not expected:
        return f"The config digest {digest} uses an algorithm that cannot be checked."
    if hashlib.new(algorithm, blob).hexdigest() != expected.lower():
        return f"The config blob does not match its digest {digest}: it cannot be trusted."
    return None


def _clean_media_type(value: object) -> str | None:
    """`type/subtype` without parameters, lower-cased; None for anything that is not such a string."""
    if not isinstance(value, str):
        return None
    return value.split(";", 1)[0].strip().lower() or None


def _media_type_of(given: str | None, document: dict[str, Any]) -> str | None:
    """The given media type; else the manifest's own `mediaType`; else what its shape says it is."""
    media_type = _clean_media_type(given) or _clean_media_type(document.get("mediaType"))
    if media_type:
        return media_type
    schema_version = document.get("schemaVersion")
    if type(schema_version) is not int:
        return None
    if schema_version == 1:
        return DOCKER_MANIFEST_V1_SIGNED if "signatures" in document else DOCKER_MANIFEST_V1
    if schema_version == 2 and "manifests" in document:
        return OCI_INDEX
    if schema_version == 2 and "config" in document:
        return OCI_MANIFEST
    return None


def judge(
    manifest: bytes,
    media_type: str | None,
    *,
    required: Platform,
    fetch_config: Callable[[str], bytes | None],
    image_ref: str = "<image>",
) -> Verdict:
    """Judge one manifest against the target's platform; never raises for what the manifest holds.

    `fetch_config(digest)` returns the config blob's bytes, or None when it cannot be found; its own
    errors (throttling, access) propagate to the caller, who decides what they mean.
    """

    def judging(media_type_found: str | None) -> _Judge:
        return _Judge(
            required=required,
            media_type=media_type_found,
            fetch_config=fetch_config,
            image_ref=image_ref,
        )

    try:
        document = pydantic_core.from_json(manifest)
    except ValueError:
        return judging(_clean_media_type(media_type)).unknown("The manifest is not valid JSON.")
    if not isinstance(document, dict):
        return judging(_clean_media_type(media_type)).unknown("The manifest is not a JSON object.")
    media_type_found = _media_type_of(media_type, document)
    judge_as = judging(media_type_found)
    if media_type_found is None:
        return judge_as.unknown("The manifest names no media type and its shape matches none known.")
    if media_type_found in _INDEX_TYPES:
        return judge_as.index(document)
    if media_type_found in _IMAGE_MANIFEST_TYPES:
        return judge_as.image_manifest(document)
    if media_type_found in _SCHEMA1_TYPES:
        return judge_as.schema1(document)
    return judge_as.unknown(f"The media type {media_type_found} is not an image manifest type.")
