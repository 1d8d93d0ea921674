"""The release: one image digest in one repository, and everything that happened to it.

It threads the story together: the tag(s) it was pushed as, the verdict, the services it went to, the
operation each deployment started, and when each step happened. Notifications and outcome tracking
hang on it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from pushpilot.core.notices import ReleaseHeadline
from pushpilot.core.verdicts import Verdict


class Stage(StrEnum):
    PUSHED = "pushed"
    VERIFIED = "verified"
    # Verified for some services' platforms and rejected for another's: never headlined as verified.
    PARTLY_VERIFIED = "partly_verified"
    REJECTED = "rejected"
    UNVERIFIED = "unverified"
    DEPLOYING = "deploying"
    LIVE = "live"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    UNCONFIRMED = "unconfirmed"
    # Verified, and waiting for people to approve it on a service whose policy asks them first.
    AWAITING_APPROVAL = "awaiting_approval"


class RolloutStatus(StrEnum):
    DEPLOYING = "deploying"
    QUEUED = "queued"
    AWAITING_AUTO_DEPLOY = "awaiting_auto_deploy"
    LIVE = "live"
    FAILED = "failed"
    # Failed, and the target is rolling back: told, still tracked until the target confirms the rollback.
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    # The deployment's fate could not be confirmed: said so, never guessed.
    UNCONFIRMED = "unconfirmed"
    # A newer push of the same tag took this one's place in the queue: it will never deploy.
    SUPERSEDED = "superseded"
    # Still in progress past the deadline (no circuit breaker or alarm ends it): told, still tracked.
    STUCK = "stuck"
    # Its service's `pushpilot:approve` policy asks people first: nothing deployed until they approve.
    AWAITING_APPROVAL = "awaiting_approval"
    # People rejected it, or its approval deadline passed: it never deploys there.
    NOT_APPROVED = "not_approved"


class ServiceRollout(BaseModel):
    model_config = ConfigDict(frozen=True)

    service_arn: str
    service_name: str
    status: RolloutStatus
    operation_id: str | None = None
    service_url: str | None = None
    message: str = ""
    updated_at: str


class Release(BaseModel):
    model_config = ConfigDict(frozen=True)

    release_id: str
    repository: str
    registry: str
    digest: str
    tags: tuple[str, ...] = ()
    stage: Stage = Stage.PUSHED
    # One verdict per platform the release's services need, keyed by `os/architecture[/variant]`.
    verdicts: dict[str, Verdict] = Field(default_factory=dict)
    services: dict[str, ServiceRollout] = Field(default_factory=dict)
    created_at: str
    updated_at: str

    def headline(self, stage: Stage | None = None) -> ReleaseHeadline:
        return ReleaseHeadline(
            release_id=self.release_id,
            repository=self.repository,
            tag=self.tags[-1] if self.tags else None,
            digest=self.digest,
            services=tuple(sorted(rollout.service_name for rollout in self.services.values())),
            stage=str(stage or self.stage),
        )


def overall_stage(release: Release) -> Stage:
    """A release is live only when every service it went to is live; any failure makes it failed."""
    statuses = {rollout.status for rollout in release.services.values()}
    if RolloutStatus.ROLLBACK_FAILED in statuses:
        return Stage.ROLLBACK_FAILED
    if RolloutStatus.ROLLING_BACK in statuses:
        return Stage.ROLLING_BACK
    if RolloutStatus.ROLLED_BACK in statuses:
        return Stage.ROLLED_BACK
    if RolloutStatus.FAILED in statuses:
        return Stage.FAILED
    if RolloutStatus.UNCONFIRMED in statuses:
        return Stage.UNCONFIRMED
    done = {
        RolloutStatus.LIVE,
        RolloutStatus.SKIPPED,
        RolloutStatus.DRY_RUN,
        RolloutStatus.SUPERSEDED,
        RolloutStatus.NOT_APPROVED,
    }
    if statuses and statuses <= done:
        return Stage.LIVE if RolloutStatus.LIVE in statuses else release.stage
    if statuses & {
        RolloutStatus.DEPLOYING,
        RolloutStatus.QUEUED,
        RolloutStatus.AWAITING_AUTO_DEPLOY,
        RolloutStatus.STUCK,
    }:
        return Stage.DEPLOYING
    if RolloutStatus.AWAITING_APPROVAL in statuses:
        return Stage.AWAITING_APPROVAL
    return release.stage
