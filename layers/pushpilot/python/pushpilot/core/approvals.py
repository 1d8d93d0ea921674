"""Approvals: a human gate before a release deploys to a service, as values. Pure.

    pushpilot:approve           = slack | slack:2        (one approver, or two distinct ones)
    pushpilot:approvers         = U0123ABCD S0456EFGH    (Slack user ids and user-group ids, space separated)
    pushpilot:approval-deadline = 24h                    (d/h/m, e.g. 90m, 2d, 1h30m; default 24h)

An approval is for one digest on one service: the tag pushed again with another digest needs its own.
Votes are kept by who cast them (one each); a single reject closes it; the deadline closes it too. A policy
that cannot be read still gates: the release waits, and the problem is said (failing open would deploy
what nobody approved).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

APPROVE_TAG = "pushpilot:approve"
APPROVERS_TAG = "pushpilot:approvers"
DEADLINE_TAG = "pushpilot:approval-deadline"
DEFAULT_DEADLINE = timedelta(hours=24)
# ECS keeps a paused deployment at most 14 days (its hook timeout's ceiling); a release waits no longer.
MAX_DEADLINE = timedelta(days=14)
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
# Slack ids: users start with U or W, user groups (subteams) with S.
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")


class ApprovalPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    required: int = Field(default=1, ge=1, le=2)
    approvers: tuple[str, ...] = ()
    deadline: timedelta = DEFAULT_DEADLINE
    problems: tuple[str, ...] = ()

    @property
    def users(self) -> frozenset[str]:
        return frozenset(item for item in self.approvers if not item.startswith("S"))

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(item for item in self.approvers if item.startswith("S"))


def parse_duration(text: str) -> timedelta | None:
    """`24h`, `90m`, `2d`, `1h30m` as a duration; None for anything else (or zero)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {key: int(value or 0) for key, value in match.groupdict().items()}
    duration = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])
    return duration if duration > timedelta(0) else None


def read_approval_policy(tags: Mapping[str, str]) -> ApprovalPolicy | None:
    """The service's approval policy; None when it has no `pushpilot:approve` tag."""
    raw = tags.get(APPROVE_TAG)
    if raw is None:
        return None
    problems: list[str] = []
    required = 1
    value = raw.strip().lower()
    if value == "slack:2":
        required = 2
    elif value != "slack":
        problems.append(f"{APPROVE_TAG}={raw!r}: write slack or slack:2 (one approval is asked meanwhile)")
    approvers = tuple(dict.fromkeys(tags.get(APPROVERS_TAG, "").split()))
    bad = [item for item in approvers if not _SLACK_ID.fullmatch(item)]
    if bad:
        problems.append(f"{APPROVERS_TAG}: {', '.join(bad)} are not Slack user or user-group ids")
    approvers = tuple(item for item in approvers if item not in bad)
    if not approvers:
        problems.append(
            f"{APPROVERS_TAG} names nobody: only `pushpilot approve` (IAM) can approve its releases"
        )
    deadline = DEFAULT_DEADLINE
    raw_deadline = tags.get(DEADLINE_TAG)
    if raw_deadline is not None:
        parsed = parse_duration(raw_deadline)
        if parsed is None:
            problems.append(f"{DEADLINE_TAG}={raw_deadline!r}: write a duration like 24h, 90m or 2d")
        else:
            deadline = min(parsed, MAX_DEADLINE)
    return ApprovalPolicy(required=required, approvers=approvers, deadline=deadline, problems=tuple(problems))


class ApprovalState(StrEnum):
    WAITING = "waiting"
    # Enough approvals: the deploy is dispatched (and re-dispatched by a later click until it is done).
    APPROVED = "approved"
    # The approved release went down the normal deploy path.
    DEPLOYED = "deployed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    # A newer release of the service asked for approval: this one never deploys there.
    SUPERSEDED = "superseded"


CLOSED_STATES = frozenset(
    {ApprovalState.DEPLOYED, ApprovalState.REJECTED, ApprovalState.EXPIRED, ApprovalState.SUPERSEDED}
)


class Vote(BaseModel):
    model_config = ConfigDict(frozen=True)

    # A Slack user id, or the IAM principal ARN of a `pushpilot approve` caller.
    voter: str
    choice: Literal["approve", "reject"]
    at: str
    via: Literal["slack", "cli"]
    # How people call the voter in messages (the Slack user name, the IAM ARN).
    name: str = ""

    @property
    def who(self) -> str:
        if self.via == "slack":
            return f"{self.voter} ({self.name})" if self.name and self.name != self.voter else self.voter
        return self.name or self.voter


class HookPause(BaseModel):
    """A deployment the platform paused at a lifecycle hook (ECS: a PAUSE hook): what resuming it needs,
    and what the platform does by itself when the hook times out."""

    model_config = ConfigDict(frozen=True)

    # Who paused it, as people read it: the target's label ("Amazon ECS"), filled in by its event model.
    platform: str
    service_deployment_arn: str
    hook_id: str
    stage: str
    timeout_action: str = "ROLLBACK"


def hook_key(hook_id: str) -> str:
    """The approval key of a paused hook (a release's approval is keyed by its digest)."""
    return f"hook:{hook_id}"


class Approval(BaseModel):
    """One release waiting for (or past) approval on one service: what to deploy, who may say yes, votes.
    With `hook`, a paused ECS deployment waiting for Continue (an approve vote) or Roll back (a reject)."""

    model_config = ConfigDict(frozen=True)

    service_arn: str
    service_name: str
    service_kind: str
    release_id: str
    repository: str
    registry: str
    digest: str
    tag: str
    image: str | None = None
    registry_id: str | None = None
    event_id: str
    pushed_at: str
    requested_at: str
    deadline: str
    required: int = 1
    approvers: tuple[str, ...] = ()
    state: ApprovalState = ApprovalState.WAITING
    votes: dict[str, Vote] = Field(default_factory=dict)
    # Who closed it and why (the superseding release, "deadline passed"), for the thread.
    closed_by: str | None = None
    hook: HookPause | None = None
    # A promotion waiting for people after its bake: the upstream it baked on ("staging-web"). Approved,
    # it deploys through the promotion, not as a push.
    promoted_from: str | None = None

    @property
    def approvals(self) -> list[Vote]:
        return sorted((vote for vote in self.votes.values() if vote.choice == "approve"), key=lambda v: v.at)

    def expired_at(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.deadline)


def new_approval(
    policy: ApprovalPolicy,
    *,
    service_arn: str,
    service_name: str,
    service_kind: str,
    release_id: str,
    repository: str,
    registry: str,
    digest: str,
    tag: str,
    image: str | None,
    registry_id: str | None,
    event_id: str,
    pushed_at: str,
    now: datetime,
    promoted_from: str | None = None,
) -> Approval:
    return Approval(
        service_arn=service_arn,
        service_name=service_name,
        service_kind=service_kind,
        release_id=release_id,
        repository=repository,
        registry=registry,
        digest=digest,
        tag=tag,
        image=image,
        registry_id=registry_id,
        event_id=event_id,
        pushed_at=pushed_at,
        requested_at=now.isoformat(timespec="milliseconds"),
        deadline=(now + policy.deadline).isoformat(timespec="seconds"),
        required=policy.required,
        approvers=policy.approvers,
        promoted_from=promoted_from,
    )


class VoteRefusal(StrEnum):
    """Why a click or command changed nothing."""

    NOT_APPROVER = "not_approver"
    CLOSED = "closed"
    EXPIRED = "expired"
    ALREADY_VOTED = "already_voted"


def refusal_for(
    approval: Approval, voter: str, *, now: datetime, via: Literal["slack", "cli"], in_groups: bool = False
) -> VoteRefusal | None:
    """Whether this voter's vote may count now. A CLI caller is authorised by IAM (who can write the
    stack's table may approve); a Slack user must be listed, by id or through a listed user group."""
    if approval.state is not ApprovalState.WAITING:
        return VoteRefusal.CLOSED
    if approval.expired_at(now):
        return VoteRefusal.EXPIRED
    if via == "slack" and voter not in approval.approvers and not in_groups:
        return VoteRefusal.NOT_APPROVER
    if voter in approval.votes:
        return VoteRefusal.ALREADY_VOTED
    return None


def tally(approval: Approval) -> ApprovalState:
    """What the votes cast so far decide: one reject rejects, `required` distinct approvals approve."""
    if any(vote.choice == "reject" for vote in approval.votes.values()):
        return ApprovalState.REJECTED
    if len(approval.approvals) >= approval.required:
        return ApprovalState.APPROVED
    return ApprovalState.WAITING


def refusal_text(refusal: VoteRefusal, approval: Approval) -> str:
    """What the person who clicked (ephemerally) or ran the command is told."""
    if approval.hook is not None and refusal is VoteRefusal.EXPIRED:
        return (
            f"the {approval.tag} pause of {approval.service_name} timed out: {approval.hook.platform} acts on"
            " its own"
            f" ({approval.hook.timeout_action})"
        )
    match refusal:
        case VoteRefusal.NOT_APPROVER:
            return f"you are not an approver of {approval.service_name}"
        case VoteRefusal.EXPIRED:
            return (
                f"the approval of {approval.tag} on {approval.service_name} expired at {approval.deadline}:"
                " nothing was deployed; push a new build of the tag to ask anew"
            )
        case VoteRefusal.ALREADY_VOTED:
            return f"your vote on {approval.tag} for {approval.service_name} is already counted"
        case VoteRefusal.CLOSED:
            return f"the approval of {approval.tag} on {approval.service_name} is already {approval.state}"
