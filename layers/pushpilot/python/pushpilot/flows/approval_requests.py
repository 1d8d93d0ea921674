"""Asking people: a release (a push's, or a promotion's after its bake) waits for approval on a service
whose policy says so — recorded, what waited before superseded, the question posted in the release's
thread. The push and promotion flows ask through here; votes and the deploy of what was approved are
flows/approve.py, which stands above both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pushpilot.core.approval_notices import approval_request_notice, decision_notice, supersedes_notice
from pushpilot.core.approvals import Approval, ApprovalState, new_approval, read_approval_policy
from pushpilot.core.errors import PermanentError
from pushpilot.core.releases import Release, RolloutStatus
from pushpilot.core.tracking import IndexedService
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.rollout import record_rollout

if TYPE_CHECKING:
    from pushpilot.core.policy_turns import Turn
    from pushpilot.core.promotion import Baking
    from pushpilot.ports import ApprovalStore


class ApprovalsUnavailableError(PermanentError):
    """The stack has no approval store wired: a service asking for approval is not deployed."""


def store_of(ports: DeployPorts) -> ApprovalStore:
    if ports.approvals is None:
        raise ApprovalsUnavailableError("this stack records no approvals")
    return ports.approvals


@dataclass(frozen=True)
class _Asked:
    """What one request for approval is about: a push's digest on a service, or a promotion's."""

    digest: str
    tag: str
    image: str | None
    registry_id: str | None
    event_id: str
    pushed_at: str
    promoted_from: str | None = None


def _ask(
    ports: DeployPorts,
    release: Release,
    service: IndexedService,
    asked: _Asked,
    *,
    waiting: str,
    refused: str,
) -> Approval | None:
    """Record that the release waits for approval on the service, supersede what waited before, and ask
    in the release's thread (buttons, who may approve, the deadline, the command). None: this stack cannot
    record it, so nothing deploys (recorded as skipped, `refused` saying why)."""
    policy = read_approval_policy(service.tags)
    if policy is None or ports.approvals is None:
        record_rollout(ports, release.release_id, service, RolloutStatus.SKIPPED, refused)
        return None
    approval = new_approval(
        policy,
        service_arn=service.arn,
        service_name=service.name,
        service_kind=service.kind,
        release_id=release.release_id,
        repository=release.repository,
        registry=release.registry,
        digest=asked.digest,
        tag=asked.tag,
        image=asked.image,
        registry_id=asked.registry_id,
        event_id=asked.event_id,
        pushed_at=asked.pushed_at,
        now=ports.clock(),
        promoted_from=asked.promoted_from,
    )
    stored, superseded = ports.approvals.request(approval)
    for older in superseded:
        _tell_superseded(ports, older, stored)
        ports.notices.publish(supersedes_notice(release, stored, older))
    recorded = record_rollout(ports, release.release_id, service, RolloutStatus.AWAITING_APPROVAL, waiting)
    ports.notices.publish(approval_request_notice(recorded, stored, problems=policy.problems))
    return stored


def request_approval(
    ports: DeployPorts,
    release: Release,
    service: IndexedService,
    turn: Turn,
    *,
    event_id: str,
    registry_id: str | None,
    pushed_at: str,
) -> dict[str, Any]:
    """A push the policy would deploy waits for people instead."""
    asked = _Asked(
        digest=release.digest,
        tag=turn.tag or "latest",
        image=turn.image,
        registry_id=registry_id,
        event_id=event_id,
        pushed_at=pushed_at,
    )
    stored = _ask(
        ports,
        release,
        service,
        asked,
        waiting=f"waits for approval: {turn.reason}" if turn.reason else "waits for approval",
        refused="its approval policy cannot be recorded by this stack: not deployed",
    )
    if stored is None:
        return {"service": service.name, "action": "await_approval", "status": str(RolloutStatus.SKIPPED)}
    return {
        "service": service.name,
        "action": "await_approval",
        "status": str(RolloutStatus.AWAITING_APPROVAL),
        "deadline": stored.deadline,
    }


def approval_state(ports: DeployPorts, service: IndexedService, digest: str) -> ApprovalState | None:
    """Where people's decision on this digest for this service stands; None: the service asks nobody, or
    nobody was asked yet."""
    if ports.approvals is None or read_approval_policy(service.tags) is None:
        return None
    current = ports.approvals.get(service.arn, digest)
    return current.state if current is not None else None


def request_promotion_approval(
    ports: DeployPorts, release: Release, service: IndexedService, baking: Baking, *, why: str
) -> dict[str, Any]:
    """A release that baked upstream waits for people before it is promoted to a service whose policy
    asks for approval: the bake and the people both stand between the stages. Asked once per digest (the
    promotion asks only while nobody was asked); a newer upstream release supersedes it as a push would."""
    asked = _Asked(
        digest=baking.digest,
        tag=baking.tag or "latest",
        image=baking.image,
        registry_id=None,
        event_id=f"promote-{service.name}",
        pushed_at=ports.now(),
        promoted_from=baking.upstream_label(ports.account_id),
    )
    refused = f"{why}, but its approval policy cannot be recorded by this stack: not deployed"
    stored = _ask(ports, release, service, asked, waiting=f"{why}; waits for approval", refused=refused)
    if stored is None:
        return {"promotion": str(RolloutStatus.SKIPPED), "reason": refused}
    return {"promotion": str(RolloutStatus.AWAITING_APPROVAL), "deadline": stored.deadline}


def _tell_superseded(ports: DeployPorts, older: Approval, newer: Approval) -> None:
    service = ports.index.get(older.service_arn)
    released = ports.releases.get(older.release_id)
    if service is None or released is None:
        return
    message = f"a newer release waits for approval instead: {newer.release_id}"
    recorded = record_rollout(ports, older.release_id, service, RolloutStatus.SUPERSEDED, message)
    ports.notices.publish(decision_notice(recorded, older, now=ports.now()))
