"""Which services get a pushed image, and what to do with each: decisions as data, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from pushpilot.adapters.state import IndexedService
from pushpilot.core.releases import RolloutStatus


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


class RolloutPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    release_id: str
    verdict_passed: bool
    actions: tuple[ServiceAction, ...]

    @property
    def mutating(self) -> tuple[ServiceAction, ...]:
        return tuple(action for action in self.actions if action.kind is ActionKind.START_DEPLOYMENT)


def plan_rollout(
    release_id: str, *, verdict_passed: bool, services: Sequence[IndexedService], dry_run: bool
) -> RolloutPlan:
    actions: list[ServiceAction] = []
    for service in sorted(services, key=lambda item: item.name):
        kind, reason = _decide(service, verdict_passed=verdict_passed, dry_run=dry_run)
        actions.append(
            ServiceAction(service_arn=service.arn, service_name=service.name, kind=kind, reason=reason)
        )
    return RolloutPlan(release_id=release_id, verdict_passed=verdict_passed, actions=tuple(actions))


def _decide(service: IndexedService, *, verdict_passed: bool, dry_run: bool) -> tuple[ActionKind, str]:
    if not verdict_passed:
        if service.auto_deploy:
            return (
                ActionKind.WARN_AUTO_DEPLOY,
                (
                    "automatic deployment is on: App Runner will deploy this image anyway —"
                    " turn it off or fix the image"
                ),
            )
        return ActionKind.HOLD, "the image did not pass the platform check; nothing was deployed"
    if service.auto_deploy:
        return (
            ActionKind.TRACK_AUTO_DEPLOY,
            "App Runner deploys this service itself; pushpilot tracks the outcome",
        )
    if dry_run:
        return ActionKind.DRY_RUN, "dry run: would start a deployment"
    if service.in_flight is not None or service.status == "OPERATION_IN_PROGRESS":
        return ActionKind.QUEUE, "an operation is in progress; the newest push deploys when it ends"
    return ActionKind.START_DEPLOYMENT, "manual deployment mode: pushpilot starts the deployment"


class OperationOutcome(StrEnum):
    LIVE = "live"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    IN_PROGRESS = "in_progress"


def classify_operation(event_status: str, operation_status: str | None) -> OperationOutcome:
    """The truth about an ended operation. A rollback is a failure even when the event sounds calm."""
    if operation_status and operation_status.startswith("ROLLBACK"):
        return OperationOutcome.ROLLED_BACK
    if operation_status == "FAILED" or event_status.endswith("Failed"):
        return OperationOutcome.FAILED
    if operation_status in {"PENDING", "IN_PROGRESS"}:
        return OperationOutcome.IN_PROGRESS
    return OperationOutcome.LIVE


ROLLOUT_FOR_OUTCOME = {
    OperationOutcome.LIVE: RolloutStatus.LIVE,
    OperationOutcome.FAILED: RolloutStatus.FAILED,
    OperationOutcome.ROLLED_BACK: RolloutStatus.ROLLED_BACK,
}
