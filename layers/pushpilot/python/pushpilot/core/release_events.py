"""pushpilot's own events: what happened to a release, put on EventBridge for anyone to subscribe to.

A public interface, versioned: `source` is "pushpilot", the detail-type says what happened, the detail
follows `events/schema/pushpilot-release.v1.json` (a test holds every event built here against it). A
change that breaks a subscriber is a new version, never an edit of this one. Pure: no I/O, no boto3.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from pushpilot.core.releases import Release, RolloutStatus

SOURCE = "pushpilot"
SCHEMA_VERSION = "1"


class ReleaseEventType(StrEnum):
    """The detail-types, as EventBridge rules match them."""

    VERIFIED = "Release Verified"
    DEPLOYING = "Release Deploying"
    LIVE = "Release Live"
    FAILED = "Release Failed"
    ROLLED_BACK = "Release Rolled Back"
    HELD = "Release Held"
    PROMOTED = "Release Promoted"


# The rollout statuses that are a release event of their own; the others (queued, skipped, stuck,
# superseded, unconfirmed) are told in the thread only.
EVENT_FOR_ROLLOUT = {
    RolloutStatus.DEPLOYING: ReleaseEventType.DEPLOYING,
    RolloutStatus.LIVE: ReleaseEventType.LIVE,
    RolloutStatus.FAILED: ReleaseEventType.FAILED,
    RolloutStatus.ROLLED_BACK: ReleaseEventType.ROLLED_BACK,
    # The platform's rollback failed too: the deployment's last word, a failure (stage says which). A
    # rollback still running is no end: Rolled Back or this follows it.
    RolloutStatus.ROLLBACK_FAILED: ReleaseEventType.FAILED,
}


class EventService(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    arn: str
    kind: str
    account: str


class PromotedFrom(BaseModel):
    """Where a promoted release came from: the upstream service, and how long it had been live there."""

    model_config = ConfigDict(frozen=True)

    service: str
    account: str
    release_id: str
    live_since: str
    # None when promoted by hand with the bake skipped (`pushpilot promote --now`).
    baked_minutes: int | None = None


class ReleaseEventDetail(BaseModel):
    """The `detail` of every pushpilot event (schema version 1)."""

    model_config = ConfigDict(frozen=True)

    version: str = SCHEMA_VERSION
    # Stable across retries of the same change: subscribers that must act once dedupe on it.
    event_key: str
    release_id: str
    repository: str
    registry: str
    digest: str
    # `registry/repository@digest`: what a subscriber deploys to get exactly this release.
    image: str
    tag: str | None = None
    stage: str
    occurred_at: str
    message: str = ""
    # None for events about the release as a whole (Release Verified).
    service: EventService | None = None
    operation_id: str | None = None
    # `os/architecture` → pass | reject | unknown (Release Verified).
    verdicts: dict[str, str] | None = None
    promoted_from: PromotedFrom | None = None
    # Why a release does not go on (Release Held): alarms in ALARM, a hold on the service.
    held_by: list[str] | None = None


class ReleaseEvent(BaseModel):
    """One event as it is put on the bus."""

    model_config = ConfigDict(frozen=True)

    detail_type: ReleaseEventType
    detail: ReleaseEventDetail

    @property
    def resources(self) -> list[str]:
        return [self.detail.service.arn] if self.detail.service is not None else []


def account_of(arn: str) -> str:
    """The account field of an ARN; empty when the text is not one."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def event_service(*, name: str, arn: str, kind: str) -> EventService:
    return EventService(name=name, arn=arn, kind=kind, account=account_of(arn))


def release_event(
    detail_type: ReleaseEventType,
    release: Release,
    *,
    occurred_at: str,
    service: EventService | None = None,
    stage: str | None = None,
    message: str = "",
    operation_id: str | None = None,
    verdicts: dict[str, str] | None = None,
    promoted_from: PromotedFrom | None = None,
    held_by: list[str] | None = None,
    key_suffix: str = "",
) -> ReleaseEvent:
    """The event for one change of a release (on one service, or the release as a whole).

    The key names the change, not the moment: a retry of the same change builds the same key."""
    parts = [str(detail_type), release.release_id, service.arn if service else "-", operation_id or "-"]
    if key_suffix:
        parts.append(key_suffix)
    return ReleaseEvent(
        detail_type=detail_type,
        detail=ReleaseEventDetail(
            event_key="#".join(parts),
            release_id=release.release_id,
            repository=release.repository,
            registry=release.registry,
            digest=release.digest,
            image=f"{release.registry}/{release.repository}@{release.digest}",
            tag=release.tags[-1] if release.tags else None,
            stage=stage or str(release.stage),
            occurred_at=occurred_at,
            message=message,
            service=service,
            operation_id=operation_id,
            verdicts=verdicts,
            promoted_from=promoted_from,
            held_by=held_by,
        ),
    )
