"""Notices: what happened, as data. Producers (deploy, outcome, builds, DNS) emit them to a queue;
the notify function renders and delivers them, so a Slack outage never blocks a deployment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


def release_id(repository: str, digest: str) -> str:
    """A release is one image digest in one repository; its id threads every message about it."""
    return f"{repository}@{digest}"


class NoticeKind(StrEnum):
    VERIFIED = "verified"
    REJECTED = "rejected"
    UNVERIFIED = "unverified"
    DEPLOYING = "deploying"
    QUEUED = "queued"
    AUTO_DEPLOY_TRACKED = "auto_deploy_tracked"
    LIVE = "live"
    FAILED = "failed"
    # Failed; the target is rolling back (told once), then ROLLED_BACK or ROLLBACK_FAILED once it says so.
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    # A newer push of the tag took this one's place while the service was busy: it never deploys there.
    SUPERSEDED = "superseded"
    # Still in progress past the deadline: told once; it stays tracked and its end is told too.
    STUCK = "stuck"
    # The deployment's fate cannot be found: said so, never guessed as live.
    UNCONFIRMED = "unconfirmed"
    DRY_RUN = "dry_run"
    # A release policy decision (follow, skip, hold) or a policy that cannot be read.
    POLICY = "policy"
    # A release waits for people to approve it on a service, or their decision (approved, rejected, expired).
    APPROVAL = "approval"
    BUILD_STARTED = "build_started"
    BUILD_SUCCEEDED = "build_succeeded"
    BUILD_FAILED = "build_failed"
    BUILD_STOPPED = "build_stopped"
    DOMAIN_PLANNED = "domain_planned"
    DOMAIN_CONFLICT = "domain_conflict"
    DOMAIN_VALIDATED = "domain_validated"
    DOMAIN_BLOCKED = "domain_blocked"
    DOMAIN_ADVICE = "domain_advice"


class Severity(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


class Link(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    url: str


class NoticeAction(BaseModel):
    """A button people click in the release's thread; Slack posts the click to the stack's request URL,
    which reads `value` only after the request's signature is verified."""

    model_config = ConfigDict(frozen=True)

    # approve | reject | continue | rollback
    action_id: str
    label: str
    value: str
    style: str | None = None


class ReleaseHeadline(BaseModel):
    """Enough of the release to render its headline without reading the table."""

    model_config = ConfigDict(frozen=True)

    release_id: str
    repository: str
    tag: str | None = None
    digest: str
    services: tuple[str, ...] = ()
    stage: str

    @property
    def short_digest(self) -> str:
        algorithm, _, value = self.digest.partition(":")
        return f"{algorithm}:{value[:12]}" if value else self.digest[:19]


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: NoticeKind
    severity: Severity
    title: str
    summary: str
    next_step: str | None = None
    details: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    actions: tuple[NoticeAction, ...] = ()
    # Where the whole log behind `details` can be read: shown where the quoted lines are cut short.
    log_url: str | None = None
    release: ReleaseHeadline | None = None
    # Messages with the same thread key share one Slack thread / Q Developer thread.
    thread_key: str
    # Two notices with the same dedupe key are one message: deliveries are at least once.
    dedupe_key: str
    occurred_at: str = Field(description="ISO 8601 time of the event that caused the notice")


def occurred_at_millis(notice: Notice) -> int | None:
    """The notice's time as epoch milliseconds, to order headline updates; None when unparseable."""
    try:
        moment = datetime.fromisoformat(notice.occurred_at)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)
