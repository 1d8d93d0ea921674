"""What one push means for each service that may take it, under the service's release policy and hold:
deploy (which image identifier), skip (said), held (said), or nothing. Decisions as data, no I/O."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from pushpilot.core.approvals import read_approval_policy
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.promotion import read_promotion
from pushpilot.core.release_policy import Choice, read_policy
from pushpilot.core.release_policy import decide as decide_policy
from pushpilot.core.tracking import IndexedService


class TurnKind(StrEnum):
    DEPLOY = "deploy"
    SKIP = "skip"
    HELD = "held"
    IGNORE = "ignore"
    # Would deploy, but its `pushpilot:approve` policy asks people first (core/approvals.py).
    AWAIT_APPROVAL = "await_approval"


class Turn(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: IndexedService
    kind: TurnKind
    # Said in the release's thread (empty: the tag the service runs was pushed again, nothing to add).
    reason: str = ""
    # The image identifier to deploy when it is not the one the service runs.
    image: str | None = None
    # The tag the service runs once this push is live.
    tag: str | None = None
    # What is wrong with the service's policy, said once.
    problems: tuple[str, ...] = ()
    policy: str = ""


def turn_for(service: IndexedService, pushed: ImageRef, digest: str, *, approved: bool = False) -> Turn:
    """`approved`: people approved this digest for this service (the approval flow re-enters here)."""
    if read_promotion(service.tags) is not None:
        # Releases reach a promoted-to service only once they proved themselves upstream (flows/promote).
        return Turn(service=service, kind=TurnKind.IGNORE)
    policy = read_policy(service.tags)
    tag = pushed.tag or "latest"
    coming = [claim.tag for claim in (service.in_flight, service.pending) if claim is not None and claim.tag]
    decision = decide_policy(
        policy, service=service.name, pushed_tag=tag, running_tag=service.running_tag, coming_tags=coming
    )
    ignore = Turn(service=service, kind=TurnKind.IGNORE, problems=policy.problems, policy=policy.text)
    if decision.choice is Choice.IGNORE:
        return ignore
    if decision.choice is Choice.SKIP:
        return ignore.model_copy(update={"kind": TurnKind.SKIP, "reason": decision.reason})
    hold = service.hold.reason if service.hold is not None else policy.hold
    if hold is not None:
        reason = (
            f"{tag} not deployed to {service.name}: it is held ({hold}); `pushpilot release"
            f" {service.name}` lets pushes deploy again"
        )
        return ignore.model_copy(update={"kind": TurnKind.HELD, "reason": reason})
    image: str | None = None
    runs_digest = ImageRef.parse(service.image_identifier).digest is not None
    if policy.pin_digest or (runs_digest and policy.follow is None):
        # Pinned by its policy, or running a pinned digest (a rollback) with no policy saying otherwise:
        # the push deploys as `repository@digest` too.
        image = f"{pushed.registry}/{pushed.repository}@{digest}"
    elif decision.retag is not None or runs_digest:
        # A followed tag, or back to the tag after a rollback pinned the service to a digest.
        image = f"{pushed.registry}/{pushed.repository}:{tag}"
    reason = decision.reason
    if policy.pin_digest:
        reason = (
            (reason + " (pinned by digest)")
            if reason
            else f"{tag} deploys to {service.name} pinned by digest"
        )
    kind = TurnKind.DEPLOY
    approval = read_approval_policy(service.tags)
    if approval is not None and not approved:
        kind = TurnKind.AWAIT_APPROVAL
        problems = (*ignore.problems, *approval.problems)
        return ignore.model_copy(
            update={"kind": kind, "reason": reason, "image": image, "tag": tag, "problems": problems}
        )
    return ignore.model_copy(update={"kind": kind, "reason": reason, "image": image, "tag": tag})
