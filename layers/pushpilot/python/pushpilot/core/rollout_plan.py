"""Which services get a pushed image, and what to do with each: decisions as data, no I/O.

Each service is judged against the verdict for the platform *it* needs, so one release can deploy to an
arm64 service and hold for an amd64 one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

from pushpilot.core.release_policy import read_policy
from pushpilot.core.tracking import IndexedService

# Why pushpilot starts a deployment itself, for a target whose declaration has no words of its own.
START: Final = "pushpilot starts the deployment"


class ActionKind(StrEnum):
    START_DEPLOYMENT = "start_deployment"
    QUEUE = "queue"
    TRACK_AUTO_DEPLOY = "track_auto_deploy"
    WARN_AUTO_DEPLOY = "warn_auto_deploy"
    HOLD = "hold"
    DRY_RUN = "dry_run"


class ServiceAction(BaseModel):
    model_config = ConfigDict(frozen=True)

    service_arn: str
    service_name: str
    kind: ActionKind
    reason: str


class Candidate(BaseModel):
    """A service that runs the pushed tag, and whether the image passed for the platform it needs."""

    model_config = ConfigDict(frozen=True)

    service: IndexedService
    verdict_passed: bool
    # The push moves the service to another image identifier (a followed tag, a pinned digest): the
    # platform's own automatic deployment would not pick it up, so pushpilot deploys it.
    retargets: bool = False


class RolloutPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    release_id: str
    actions: tuple[ServiceAction, ...]


def plan_rollout(
    release_id: str,
    *,
    candidates: Sequence[Candidate],
    dry_run: bool,
    starts: Mapping[str, str] | None = None,
) -> RolloutPlan:
    """`starts`: by target kind, why pushpilot starts a deployment itself, in the target's own words (its
    declaration's `deploy_wording`)."""
    actions: list[ServiceAction] = []
    for candidate in sorted(candidates, key=lambda item: item.service.name):
        service = candidate.service
        kind, reason = _decide(
            service,
            verdict_passed=candidate.verdict_passed,
            dry_run=dry_run,
            retargets=candidate.retargets,
            start=(starts or {}).get(service.kind, START),
        )
        actions.append(
            ServiceAction(service_arn=service.arn, service_name=service.name, kind=kind, reason=reason)
        )
    return RolloutPlan(release_id=release_id, actions=tuple(actions))


def _decide(
    service: IndexedService, *, verdict_passed: bool, dry_run: bool, retargets: bool, start: str
) -> tuple[ActionKind, str]:
    if not verdict_passed:
        if service.auto_deploy and not retargets:
            return (
                ActionKind.WARN_AUTO_DEPLOY,
                (
                    "automatic deployment is on: the service will deploy this image anyway —"
                    " turn it off or fix the image"
                ),
            )
        return ActionKind.HOLD, "the image did not pass the platform check; nothing was deployed"
    if service.auto_deploy and not retargets:
        return (
            ActionKind.TRACK_AUTO_DEPLOY,
            "the service deploys this push itself; pushpilot tracks the outcome",
        )
    if dry_run:
        return ActionKind.DRY_RUN, "dry run: would start a deployment"
    if service.in_flight is not None or service.busy:
        return ActionKind.QUEUE, "an operation is in progress; the newest push deploys when it ends"
    policy = read_policy(service.tags)
    if retargets and (policy.follow is not None or policy.pin_digest):
        return ActionKind.START_DEPLOYMENT, "the release policy moves the service to this image"
    if retargets and service.auto_deploy:
        # No policy: the service runs a pinned digest (a rollback's), which automatic deployment ignores.
        return (
            ActionKind.START_DEPLOYMENT,
            (
                "the service runs a pinned digest, which automatic deployment does not follow:"
                " pushpilot starts the deployment"
            ),
        )
    return ActionKind.START_DEPLOYMENT, start
