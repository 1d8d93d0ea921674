"""ECR Public tags the services run: one HEAD per tag per run; a tag that moved goes down the push's path."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pushpilot.core.errors import PermanentError, PushpilotError, ThrottledError
from pushpilot.core.public_sightings import (
    FirstSighting,
    SightingAction,
    SightingKind,
    decide,
    images_to_watch,
)
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.push import Arrival, release_image
from pushpilot.ports import PublicRegistry, TagLedger


def check_public_images(
    ports: DeployPorts, registry: PublicRegistry, tags: TagLedger, first_sighting: FirstSighting
) -> dict[str, Any]:
    """One HEAD per public tag the services run; a tag that moved goes down the push's path.

    A tag that fails with a retryable error is reported, left unsettled and checked again next run; a
    permanent failure is told once and settled (retrying cannot fix it; the tag's next move will be
    judged afresh). Throttling ends the run: the registry's limit is per caller, so the remaining tags
    would only be throttled too. Each run starts at another tag, so none is starved behind the others.
    """
    watched = images_to_watch(ports.index.all())
    if watched:
        start = int(ports.clock().timestamp() // 60) % len(watched)
        watched = watched[start:] + watched[:start]
    public_ports = replace(ports, inspector=registry)
    first_sightings: list[str] = []
    changed: list[str] = []
    unchanged = 0
    releases: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for position, image in enumerate(watched):
        try:
            digest = registry.head(image.image.repository, image.tag).digest
            now = ports.now()
            sighting = tags.observe(image.key, digest, now)
        except ThrottledError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
            errors.extend(
                {"image": later.key, "error_type": "Skipped", "reason": "not checked: the registry throttled"}
                for later in watched[position + 1 :]
            )
            break
        except PushpilotError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
            continue
        match sighting.kind:
            case SightingKind.FIRST:
                first_sightings.append(image.key)
            case SightingKind.CHANGED:
                changed.append(image.key)
            case SightingKind.UNCHANGED:
                unchanged += 1
        decision = decide(sighting, first_sighting)
        if decision.action is SightingAction.NOTHING:
            continue
        try:
            if decision.action is SightingAction.DEPLOY:
                arrival = Arrival(
                    event_id=f"public-check:{image.key}@{digest}",
                    image=image.image,
                    digest=digest,
                    registry_id=None,
                    occurred_at=now,
                )
                outcome = release_image(arrival, image.services, public_ports)
                releases.append(
                    {
                        "image": image.key,
                        "event_id": outcome.event_id,
                        "reason": decision.reason,
                        **outcome.detail,
                    }
                )
            tags.settle(image.key, digest, ports.now())
        except PermanentError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
            # release_image has told it in the release's thread (a digest it could not read or may not).
            tags.settle(image.key, digest, ports.now())
        except PushpilotError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
    return {
        "checked": len(watched),
        "first_sightings": first_sightings,
        "unchanged": unchanged,
        "changed": changed,
        "releases": releases,
        "errors": errors,
    }
