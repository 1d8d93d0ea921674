"""Task definitions as ECS hands them out, and the copy pushpilot registers to deploy a digest. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.verdicts import LINUX_AMD64, LINUX_ARM64, Platform

# Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not accept (botocore's shapes).
READ_ONLY_FIELDS: Final = frozenset(
    {
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
    }
)
_ARCHITECTURES: Final = {
    "X86_64": LINUX_AMD64,
    "ARM64": LINUX_ARM64,
    "x86_64": LINUX_AMD64,
    "arm64": LINUX_ARM64,
}


def platform_of_architecture(architecture: str | None) -> Platform | None:
    """`X86_64`/`ARM64` (runtimePlatform, Express) or `x86_64`/`arm64` (ecs.cpu-architecture)."""
    return _ARCHITECTURES.get(architecture or "")


def declared_platform(task_definition: Mapping[str, Any], *, launch_type: str | None) -> Platform | None:
    """The platform a task definition asks for; Fargate's default is X86_64, EC2 tells nothing by itself."""
    runtime = task_definition.get("runtimePlatform") or {}
    declared = platform_of_architecture(runtime.get("cpuArchitecture"))
    if declared is not None:
        return declared
    compatibilities = set(task_definition.get("requiresCompatibilities") or ())
    if launch_type == "FARGATE" or (launch_type is None and compatibilities == {"FARGATE"}):
        return LINUX_AMD64
    return None


def image_key(image: str) -> str | None:
    try:
        return ImageRef.parse(image).key
    except ValueError:
        return None


def primary_image(task_definition: Mapping[str, Any]) -> str | None:
    """The image pushpilot follows for a task: the first container's image that names a registry (a
    sidecar such as `envoy:v1` from Docker Hub names none). Containers naming the same repository change
    with it; the others are left as they are."""
    for container in task_definition.get("containerDefinitions") or ():
        image = container.get("image")
        if isinstance(image, str) and image_key(image) is not None:
            return image
    return None


def pinned_copy(
    task_definition: Mapping[str, Any], *, image: ImageRef, digest: str, tags: Sequence[Mapping[str, str]]
) -> tuple[dict[str, Any], list[str]]:
    """RegisterTaskDefinition's input: the task definition with every container that runs `image`'s
    repository set to `repository@digest`; the containers changed, by name."""
    register = {key: value for key, value in task_definition.items() if key not in READ_ONLY_FIELDS}
    containers: list[dict[str, Any]] = []
    changed: list[str] = []
    for container in task_definition.get("containerDefinitions") or ():
        copy = dict(container)
        try:
            ref = ImageRef.parse(str(container.get("image", "")))
        except ValueError:
            ref = None
        if ref is not None and (ref.registry, ref.repository) == (image.registry, image.repository):
            copy["image"] = f"{image.registry}/{image.repository}@{digest}"
            changed.append(str(container.get("name", "")))
        containers.append(copy)
    register["containerDefinitions"] = containers
    if tags:
        register["tags"] = [dict(tag) for tag in tags]
    return register, changed


# --- the copies registered for a release --------------------------------------------------------------

DIGEST_TAG: Final = "pushpilot:digest"
BASE_TAG: Final = "pushpilot:base"
# ECS tag values hold at most 256 characters; a base ARN is kept by its end, which names the revision.
_TAG_VALUE_MAX: Final = 256


def family_revision(reference: str) -> tuple[str, int]:
    """`arn:…:task-definition/web:3` or `web:3` → ("web", 3); a bare family has revision 0."""
    name = reference.rsplit("/", 1)[-1]
    family, _, revision = name.partition(":")
    return family, int(revision) if revision.isdigit() else 0


def release_tags(base: str, digest: str) -> list[dict[str, str]]:
    """What marks a copy as the one registered to deploy `digest` from `base`."""
    return [{"key": DIGEST_TAG, "value": digest}, {"key": BASE_TAG, "value": base[-_TAG_VALUE_MAX:]}]


def copy_tags(tags: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(tag.get("key", "")): str(tag.get("value", "")) for tag in tags}


def is_copy_of(tags: Mapping[str, str], *, base: str, digest: str) -> bool:
    return tags.get(DIGEST_TAG) == digest and tags.get(BASE_TAG) == base[-_TAG_VALUE_MAX:]


@dataclass(frozen=True)
class CopyDecision:
    """What to do with the copies registered for one release on one service."""

    # The copy to deploy, or the one a deployment of the service already runs; None: register one.
    keep: str | None
    # Copies no deployment of the service runs, other than `keep`.
    deregister: tuple[str, ...]
    # A deployment of the service that already runs a copy: the lost attempt's, adopted, not repeated.
    adopt: str | None


def settle_copies(copies: Sequence[str], deployments: Sequence[Mapping[str, Any]]) -> CopyDecision:
    """Keep the copy a deployment runs (the primary one first), else the first registered; every other
    copy that no deployment runs is deregistered. Every attempt decides the same way, so attempts that
    race never keep two different copies."""
    ordered = sorted(copies, key=lambda arn: family_revision(arn)[1])
    ranked = sorted(deployments, key=lambda deployment: deployment.get("status") != "PRIMARY")
    running = [d for d in ranked if d.get("taskDefinition") in ordered and d.get("id")]
    used = {str(d["taskDefinition"]) for d in running}
    if running:
        return CopyDecision(
            keep=str(running[0]["taskDefinition"]),
            deregister=tuple(arn for arn in ordered if arn not in used),
            adopt=str(running[0]["id"]),
        )
    if not ordered:
        return CopyDecision(keep=None, deregister=(), adopt=None)
    return CopyDecision(keep=ordered[0], deregister=tuple(ordered[1:]), adopt=None)
