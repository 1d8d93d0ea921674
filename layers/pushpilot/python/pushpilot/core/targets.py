"""What every deploy target tells the flows, in the flows' words: services, operations, outcomes and the
two events that move a deployment on. Each target (App Runner today) converts its own API answers and
EventBridge events into these at its edge, so the push, outcome and refresh flows are written once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from pushpilot.core.verdicts import Platform


class Outcome(StrEnum):
    """The truth about one deployment, as far as it is known."""

    IN_PROGRESS = "in_progress"
    LIVE = "live"
    FAILED = "failed"
    # The deployment failed and the target is putting the previous release back: not over yet.
    ROLLING_BACK = "rolling_back"
    # The target confirmed the previous release is back (ECS ROLLBACK_SUCCESSFUL).
    ROLLED_BACK = "rolled_back"
    # The deployment failed and so did the rollback: what runs now is neither release, for certain.
    ROLLBACK_FAILED = "rollback_failed"
    # The deployment's fate cannot be confirmed (its start was never acknowledged and no operation of
    # it can be found): said as such, never guessed as live.
    UNKNOWN = "unknown"


class TargetService(BaseModel):
    """One service of a deploy target, as the target describes it now."""

    model_config = ConfigDict(frozen=True)

    kind: str
    arn: str
    name: str
    # The target's own status word (App Runner: RUNNING, OPERATION_IN_PROGRESS, PAUSED, ...).
    status: str
    image_identifier: str | None
    # The platform deploys a push by itself (App Runner automatic deployment): pushpilot only tracks it.
    auto_deploy: bool
    # An operation is in progress: the target would refuse a deployment now.
    busy: bool
    # The platform the service's hosts run; None when the target cannot tell.
    required_platform: Platform | None
    service_url: str | None = None
    # What the target itself needs to deploy it again, opaque to the flows (ECS: cluster, task definition).
    details: dict[str, str] = Field(default_factory=dict)
    # The service's own tags (App Runner ListTagsForResource, ECS `include=['TAGS']`): release policies.
    tags: dict[str, str] = Field(default_factory=dict)


class Operation(BaseModel):
    """One operation a target ran on a service, classified by the target."""

    model_config = ConfigDict(frozen=True)

    operation_id: str
    # A deployment of the service's image (as opposed to a pause, resume or configuration change).
    deploys_image: bool
    outcome: Outcome
    # The target's own status word, quoted in messages.
    status: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    # Why it failed, in the target's words (ECS: stopped tasks' reasons, the rollback's reason).
    reasons: tuple[str, ...] = ()


class OperationEnded(BaseModel):
    """A target says an operation on a service ended (or moved): the outcome flow decides what it was."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    kind: str
    service_arn: str | None
    service_name: str
    # The event's own status word and message (App Runner: DeploymentCompletedSuccessfully, ...).
    status: str
    message: str = ""
    # The operation the event is about, when the event names one (ECS `deploymentId`): its message is
    # quoted only in a notice about that operation.
    operation_id: str | None = None


class ServiceChanged(BaseModel):
    """A target says a service changed (created, updated, deleted): the index re-reads it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    kind: str
    service_arn: str | None
    deleted: bool


class OutcomePolling(BaseModel):
    """A target whose platform emits no event when a deployment ends (Lambda) declares how its outcome is
    polled instead: the first look soon after the deployment starts, then backing off to `max_delay_seconds`
    between looks, so the end is told within that long; after `give_up_after_seconds` the scheduled
    refresh (the safety net every target has) takes over."""

    model_config = ConfigDict(frozen=True)

    first_delay_seconds: int = Field(ge=0, le=900)
    max_delay_seconds: int = Field(ge=1, le=900)
    give_up_after_seconds: int = Field(ge=1)

    def delay_after(self, attempt: int) -> int:
        """Seconds before look number `attempt + 1` (0: the first look)."""
        if attempt == 0:
            return self.first_delay_seconds
        delay: int = max(self.first_delay_seconds, 1) * 2**attempt
        return min(delay, self.max_delay_seconds)


class OutcomeCheck(BaseModel):
    """One scheduled look at a deployment's outcome, for a target that declares OutcomePolling."""

    model_config = ConfigDict(frozen=True)

    kind: str
    service_arn: str
    service_name: str
    operation_id: str
    # Which look this is (0: the first) and when the deployment started (ISO 8601): the backoff and the
    # deadline after which polling stops.
    attempt: int = Field(default=0, ge=0)
    started_at: str
