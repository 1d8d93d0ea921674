"""Approvals: a release waits on a service whose policy asks people first; a vote (a Slack click or
`pushpilot approve|reject`) is recorded once per voter; enough approvals deploy the digest through the
normal path (gate, policies, once per service and digest); a reject or the deadline ends it.

Every change to an approval is conditional in the table: a vote counts at most once per voter, a state
moves at most once, so a replayed click, a retried command or two approvers at the same moment decide
nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pushpilot.core.approval_notices import (
    decision_notice,
    vote_notice,
)
from pushpilot.core.approvals import (
    Approval,
    ApprovalState,
    Vote,
    VoteRefusal,
    refusal_for,
    refusal_text,
    tally,
)
from pushpilot.core.errors import NotFoundError, PermanentError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.releases import RolloutStatus
from pushpilot.flows.approval_requests import store_of
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.push import Arrival, release_image
from pushpilot.flows.rollout import record_rollout


@dataclass(frozen=True)
class VoteResult:
    """What a vote did. `text` is said to the voter (an ephemeral Slack message, the CLI's output);
    `dispatch` is the approval to deploy now (None: nothing to deploy)."""

    counted: bool
    text: str
    state: ApprovalState | None = None
    refusal: VoteRefusal | None = None
    dispatch: Approval | None = None


def find_approval(ports: DeployPorts, service_name: str, release: str | None = None) -> Approval:
    """The approval a command means: the named release's (release id, digest or tag) or the waiting one."""
    from pushpilot.flows.release_control import find_service

    service = find_service(ports, service_name)
    # Releases only: a deployment paused at a hook is `pushpilot continue|abort`'s (flows/hooks.py).
    approvals = [approval for approval in store_of(ports).of_service(service.arn) if approval.hook is None]
    if release:
        for approval in approvals:
            if release in {approval.release_id, approval.digest, approval.tag}:
                return approval
        raise NotFoundError(f"no release {release!r} asked for approval on {service.name}")
    waiting = [approval for approval in approvals if approval.state is ApprovalState.WAITING]
    if not waiting:
        # Say what became of the newest one: a second `approve` after the deploy is a question, not a fault.
        newest = f" (the newest, {approvals[0].release_id}, is {approvals[0].state})" if approvals else ""
        raise NotFoundError(f"no release waits for approval on {service.name}{newest}")
    return waiting[0]


def cast_vote(
    ports: DeployPorts,
    approval: Approval,
    *,
    voter: str,
    choice: Literal["approve", "reject"],
    via: Literal["slack", "cli"],
    name: str = "",
    in_groups: Callable[[frozenset[str]], bool] | None = None,
) -> VoteResult:
    """Count one vote, at most once per voter, and close the approval when the votes decide it."""
    store = store_of(ports)
    now = ports.clock()
    redo = approval.state is ApprovalState.APPROVED or (
        approval.hook is not None and approval.state is ApprovalState.REJECTED
    )
    if redo:
        # Decided, but perhaps not seen through (its dispatch or the call to the platform was lost): hand
        # it on again. A deploy runs once per (service, digest) and a pause is resumed once per hook, so a
        # second dispatch does nothing more; a rolled-back pause is re-sent too, or the hook's own
        # timeoutAction (perhaps CONTINUE) would decide instead of the people.
        return VoteResult(
            counted=False,
            text=refusal_text(VoteRefusal.CLOSED, approval),
            state=approval.state,
            refusal=VoteRefusal.CLOSED,
            dispatch=approval,
        )
    groups = frozenset(item for item in approval.approvers if item.startswith("S"))
    # A user-group member is looked up (one Slack call) only when the user is not listed by id.
    member = (
        via == "slack"
        and voter not in approval.approvers
        and bool(groups)
        and in_groups is not None
        and in_groups(groups)
    )
    refusal = refusal_for(approval, voter, now=now, via=via, in_groups=member)
    if refusal is VoteRefusal.EXPIRED:
        _close(ports, approval, ApprovalState.EXPIRED, closed_by="deadline passed")
    finishing = refusal is VoteRefusal.ALREADY_VOTED and tally(approval) is not ApprovalState.WAITING
    if refusal is not None and not finishing:
        return VoteResult(
            counted=False, text=refusal_text(refusal, approval), state=approval.state, refusal=refusal
        )
    vote = Vote(voter=voter, choice=choice, at=ports.now(), via=via, name=name)
    # A voter already counted whose votes decide it (an earlier attempt's answer was lost): no new write.
    voted = None if finishing else store.vote(approval.service_arn, approval.digest, vote)
    current = voted or store.get(approval.service_arn, approval.digest) or approval
    if voted is None and (voter not in current.votes or current.state is not ApprovalState.WAITING):
        # Another request changed it first (this voter's replayed click, or the approval closed).
        why = VoteRefusal.ALREADY_VOTED if voter in current.votes else VoteRefusal.CLOSED
        return VoteResult(counted=False, text=refusal_text(why, current), state=current.state, refusal=why)
    # Counted now, or by an earlier attempt whose answer was lost (then the decision is finished here).
    decided = tally(current)
    if decided is ApprovalState.WAITING:
        release = ports.releases.get(current.release_id)
        if release is not None and voted is not None:
            ports.notices.publish(vote_notice(release, current, vote))
        left = current.required - len(current.approvals)
        return VoteResult(
            counted=True,
            text=f"your approval of {current.tag} on {current.service_name} is counted; {left} more needed",
            state=decided,
        )
    closed = _close(ports, current, decided)
    if closed is None:
        latest = store.get(current.service_arn, current.digest) or current
        return VoteResult(
            counted=True, text=f"your vote is counted; it is {latest.state}", state=latest.state
        )
    verb = "approved" if decided is ApprovalState.APPROVED else "rejected"
    if closed.hook is not None:
        verb = "continued" if decided is ApprovalState.APPROVED else "rolled back"
    return VoteResult(
        counted=True,
        text=f"you {verb} {closed.tag} on {closed.service_name}",
        state=decided,
        # A paused hook is resumed either way; a release deploys only when approved.
        dispatch=closed if decided is ApprovalState.APPROVED or closed.hook is not None else None,
    )


def _close(
    ports: DeployPorts, approval: Approval, state: ApprovalState, *, closed_by: str | None = None
) -> Approval | None:
    """Move a waiting approval to its end once, and tell it (the winner of the conditional write tells)."""
    closed = store_of(ports).close(
        approval.service_arn, approval.digest, state, expected=ApprovalState.WAITING, closed_by=closed_by
    )
    if closed is None:
        return None
    if closed.hook is not None:
        from pushpilot.core.approval_notices import hook_decision_notice

        held = ports.releases.get(approval.release_id)
        ports.notices.publish(hook_decision_notice(closed, now=ports.now(), release=held))
        return closed
    service = ports.index.get(approval.service_arn)
    release = ports.releases.get(approval.release_id)
    if release is not None and service is not None and state is not ApprovalState.APPROVED:
        message = (
            f"{state} by people: not deployed"
            if state is ApprovalState.REJECTED
            else f"{state}: not deployed"
        )
        release = record_rollout(ports, approval.release_id, service, RolloutStatus.NOT_APPROVED, message)
    if release is not None:
        ports.notices.publish(decision_notice(release, closed, now=ports.now()))
    return closed


def deploy_approved(ports: DeployPorts, approval: Approval) -> dict[str, Any]:
    """Deploy an approved digest to its service through the normal path (judged, planned, acted on once
    per service and digest), then mark the approval deployed. Safe to run again: nothing deploys twice."""
    store = store_of(ports)
    if approval.hook is not None:
        raise PermanentError(
            f"{approval.tag} on {approval.service_name} is a pause: it is resumed, not deployed"
        )
    current = store.get(approval.service_arn, approval.digest)
    if current is None or current.state not in {ApprovalState.APPROVED, ApprovalState.DEPLOYED}:
        state = current.state if current is not None else "gone"
        return {"service": approval.service_name, "status": f"not approved ({state})"}
    service = ports.index.get(approval.service_arn)
    if service is None:
        raise NotFoundError(f"{approval.service_name} is no longer in the index: nothing deployed")
    if approval.promoted_from is not None:
        from pushpilot.flows.promote import promote_approved

        promoted = promote_approved(ports, service, approval)
        if promoted.get("promotion") == "superseded":
            # A newer upstream release took its place before the deploy: that one asks on its own.
            store.close(
                approval.service_arn,
                approval.digest,
                ApprovalState.SUPERSEDED,
                expected=ApprovalState.APPROVED,
                closed_by=str(promoted.get("reason", "")),
            )
            return {"service": approval.service_name, "status": "superseded", "detail": promoted}
        store.close(
            approval.service_arn, approval.digest, ApprovalState.DEPLOYED, expected=ApprovalState.APPROVED
        )
        return {"service": approval.service_name, "status": "handled", "detail": promoted}
    image = ImageRef.parse(f"{approval.registry}/{approval.repository}:{approval.tag}")
    arrival = Arrival(
        event_id=approval.event_id,
        image=image,
        digest=approval.digest,
        registry_id=approval.registry_id,
        occurred_at=approval.pushed_at,
    )
    outcome = release_image(arrival, [service], ports, approved=frozenset({service.arn}))
    store.close(
        approval.service_arn, approval.digest, ApprovalState.DEPLOYED, expected=ApprovalState.APPROVED
    )
    return {"service": approval.service_name, "status": outcome.status, "detail": outcome.detail}


def expire_overdue(ports: DeployPorts) -> list[str]:
    """The scheduled sweep: every release still waiting past its deadline is closed as expired and told,
    whether or not anyone clicks again. One Query per service whose policy asks for approval."""
    from pushpilot.core.approvals import APPROVE_TAG

    if ports.approvals is None:
        return []
    now = ports.clock()
    expired: list[str] = []
    for service in ports.index.all():
        if APPROVE_TAG not in service.tags:
            continue
        for approval in ports.approvals.of_service(service.arn):
            overdue = approval.state is ApprovalState.WAITING and approval.expired_at(now)
            if overdue and approval.hook is None and _close(ports, approval, ApprovalState.EXPIRED):
                expired.append(f"{approval.service_name}: {approval.release_id}")
    return expired
