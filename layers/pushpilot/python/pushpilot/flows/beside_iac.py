"""Living beside Terraform, CDK and CloudFormation: what they do to a service is told, and what pushpilot
did is published where they can read it.

An apply that puts back the task definition (or image) pushpilot replaced is a deployment pushpilot did
not start: nothing stops it, but nobody should learn of it from a 5xx graph, so it is told in the thread
of the release it replaced. With `PublishImageParameters` on, each deployment of pushpilot's that goes
live writes the image to `/pushpilot/<target>/<service>/image`, which the IaC reads instead of pinning
its own (README: Living beside Terraform, CDK and CloudFormation).
"""

from __future__ import annotations

from typing import Any

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.core.releases import Release
from pushpilot.core.targets import TargetService
from pushpilot.core.tracking import IndexedService
from pushpilot.flows.deploy_ports import DeployPorts


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


def _revision(task_definition_arn: str) -> str:
    """`web:12` from `arn:aws:ecs:…:task-definition/web:12`."""
    return task_definition_arn.rpartition("task-definition/")[2] or task_definition_arn


def tell_outside_change(ports: DeployPorts, before: IndexedService | None, now: TargetService) -> bool:
    """Tell, once per new image, that a deployment pushpilot did not start replaced a release of pushpilot's
    on the service; False when there is nothing to tell (none of ours ran there, ours is under way)."""
    if before is None or before.live is None or now.image_identifier is None:
        return False
    ours = before.in_flight or before.pending or before.lost_answer
    if ours is not None or now.image_identifier == before.image_identifier:
        return False
    live = before.live
    try:
        runs = ImageRef.parse(now.image_identifier)
    except ValueError:
        runs = None
    if runs is not None and (runs.digest == live.digest or (runs.digest is None and runs.tag == live.tag)):
        # pushpilot's own deployment, seen late: its digest, or the tag it deployed (App Runner by tag).
        return False
    image = now.image_identifier.rpartition("/")[2]
    revision = now.details.get("task_definition")
    what = f"task definition {_revision(revision)} (image {image})" if revision else f"image {image}"
    title = (
        f"{now.name} changed outside pushpilot: {what} replaced release {live.release_id.partition('@')[0]}"
        f"{':' + live.tag if live.tag else ''} ({live.digest[:19]}…)"
    )

    def tell() -> dict[str, Any]:
        ports.notices.publish(
            Notice(
                kind=NoticeKind.POLICY,
                severity=Severity.WARNING,
                title=title,
                summary=(
                    f"A deployment pushpilot did not start (an infrastructure apply, the console) now runs"
                    f" {now.image_identifier} on {now.name}, replacing {live.release_id} (sha256:"
                    f"{_short(live.digest)}), live there since {live.since}."
                ),
                next_step=(
                    "If Terraform, CDK or CloudFormation owns the service, let it leave the image to"
                    " pushpilot: Terraform `lifecycle { ignore_changes = [task_definition] }`, or read the"
                    " /pushpilot/<target>/<service>/image parameter (PublishImageParameters=true)."
                ),
                thread_key=live.release_id,
                dedupe_key=f"{live.release_id}#outside#{now.arn}#{now.image_identifier}",
                occurred_at=ports.now(),
            )
        )
        return {"told": title}

    ports.once(scope="outside-change", key={"service": now.arn, "image": now.image_identifier}, work=tell)
    return True


def publish_live_image(ports: DeployPorts, service: IndexedService, release: Release) -> None:
    """Write the image a deployment of ours left running, for infrastructure code to read."""
    if ports.image_parameters is None:
        return
    ports.image_parameters.publish(
        service.kind, service.name, f"{release.registry}/{release.repository}@{release.digest}"
    )
