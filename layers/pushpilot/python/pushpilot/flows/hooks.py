"""ECS's own pause points, driven from Slack and the CLI.

A deployment paused at a PAUSE lifecycle hook waits like a release waiting for approval — same table
record, same conditional votes, same approvers (`pushpilot:approvers`) — with Continue as the approve
vote and Roll back as the reject: one vote decides (ECS waits for one answer). The decision resumes the
deployment with ContinueServiceDeployment, once (a replayed click or a retried command calls nothing
twice). A hook that times out is told with what ECS did (its `timeoutAction`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pushpilot.core.approval_notices import hook_decision_notice, hook_pause_notice, hook_progress_notice
from pushpilot.core.approvals import (
    APPROVE_TAG,
    Approval,
    ApprovalPolicy,
    ApprovalState,
    HookPause,
    hook_key,
    read_approval_policy,
)
from pushpilot.core.errors import NotFoundError, PermanentError, PushpilotError
from pushpilot.core.releases import Release
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.ports import HookControl


def _release_of(ports: DeployPorts, service_arn: str) -> Release | None:
    """The release deploying on the service (its thread hears of the pause)."""
    service = ports.index.get(service_arn)
    claim = service.in_flight if service is not None else None
    return ports.releases.get(claim.release_id) if claim is not None else None


def hook_paused(
    ports: DeployPorts,
    *,
    event_id: str,
    service_arn: str,
    pause: HookPause,
    expires_at: str | None,
    control: HookControl | None = None,
) -> dict[str, Any]:
    """ECS waits at a PAUSE hook: record the pause (once per hook) and ask in the thread, saying where the
    deployment stands (strategy, stage, traffic share, bake left) when `control` can tell."""
    if ports.approvals is None:
        raise PermanentError("this stack records no approvals: the pause is left to its timeout")
    service = ports.index.get(service_arn)
    if service is None:
        return {"hook": pause.hook_id, "status": "ignored", "reason": f"{service_arn} is not in the index"}
    # Who may answer: `pushpilot:approvers`, whether or not the service also gates its releases.
    policy = read_approval_policy({APPROVE_TAG: "slack", **service.tags}) or ApprovalPolicy()
    now = ports.clock()
    deadline = _deadline(expires_at) or now + timedelta(minutes=60)
    release = _release_of(ports, service_arn)
    approval = Approval(
        service_arn=service.arn,
        service_name=service.name,
        service_kind=service.kind,
        release_id=release.release_id if release is not None else pause.service_deployment_arn,
        repository=release.repository if release is not None else "",
        registry=release.registry if release is not None else "",
        digest=hook_key(pause.hook_id),
        tag=f"{pause.stage} pause",
        event_id=event_id,
        pushed_at=ports.now(),
        requested_at=ports.now(),
        deadline=deadline.isoformat(timespec="seconds"),
        required=1,
        approvers=policy.approvers,
        hook=pause,
    )
    stored, _ = ports.approvals.request(approval)
    progress = _progress(control, pause, now)
    ports.notices.publish(hook_pause_notice(stored, release, progress=progress))
    return {
        "hook": pause.hook_id,
        "status": "awaiting_action",
        "service": service.name,
        "progress": progress,
    }


def _progress(control: HookControl | None, pause: HookPause, now: datetime) -> str | None:
    """Where the paused deployment stands; the question is asked without it when it cannot be read."""
    if control is None:
        return None
    try:
        return control.progress(pause.service_deployment_arn, now=now)
    except PushpilotError:
        return None


def hook_timed_out(ports: DeployPorts, *, service_arn: str, pause: HookPause) -> dict[str, Any]:
    """The hook timed out: ECS applied its timeoutAction. The pause closes, and the thread says so."""
    if ports.approvals is None:
        raise PermanentError("this stack records no approvals")
    closed = ports.approvals.close(
        service_arn,
        hook_key(pause.hook_id),
        ApprovalState.EXPIRED,
        expected=ApprovalState.WAITING,
        closed_by=f"timed out: {pause.timeout_action}",
    )
    if closed is None:
        # Already decided (or never asked): a duplicate event, or a decision that came first.
        return {"hook": pause.hook_id, "status": "already_closed"}
    # The event's timeoutAction is what ECS did; the recorded one was what it said it would do.
    told = closed.model_copy(
        update={"hook": pause.model_copy(update={"stage": closed.hook.stage if closed.hook else pause.stage})}
    )
    # Told in the thread that heard of the pause (its release may have ended since).
    held = ports.releases.get(closed.release_id)
    ports.notices.publish(hook_decision_notice(told, now=ports.now(), release=held))
    return {"hook": pause.hook_id, "status": "timed_out", "timeout_action": pause.timeout_action}


def resume_hook(ports: DeployPorts, approval: Approval, control: HookControl) -> dict[str, Any]:
    """Continue or roll back the paused deployment as its vote decided; once per hook however often."""
    hook = approval.hook
    if hook is None or ports.approvals is None:
        raise PermanentError("not a paused hook")
    current = ports.approvals.get(approval.service_arn, approval.digest) or approval
    if current.state not in {ApprovalState.APPROVED, ApprovalState.REJECTED, ApprovalState.DEPLOYED}:
        return {"hook": hook.hook_id, "status": f"not decided ({current.state})"}
    action: Literal["CONTINUE", "ROLLBACK"] = (
        "ROLLBACK" if current.state is ApprovalState.REJECTED else "CONTINUE"
    )

    def resume() -> dict[str, Any]:
        control.continue_deployment(hook.service_deployment_arn, hook.hook_id, action)
        return {"hook": hook.hook_id, "action": action}

    done = ports.once(
        scope="hook", key={"deployment": hook.service_deployment_arn, "hook": hook.hook_id}, work=resume
    )
    if current.state is ApprovalState.APPROVED:
        ports.approvals.close(
            approval.service_arn, approval.digest, ApprovalState.DEPLOYED, expected=ApprovalState.APPROVED
        )
    return done


def follow_continued(ports: DeployPorts, control: HookControl) -> list[str]:
    """The scheduled refresh: a deployment continued past its pause is followed in its thread until it
    ends — each refresh that finds it somewhere new (another stage, less bake left) says so once. One
    read per such deployment; nothing for services with no continued pause."""
    if ports.approvals is None:
        return []
    told: list[str] = []
    for service in ports.index.all():
        claim = service.in_flight
        if claim is None:
            continue
        continued = next(
            (
                approval
                for approval in ports.approvals.of_service(service.arn)
                if approval.hook is not None
                and approval.release_id == claim.release_id
                and approval.state is ApprovalState.DEPLOYED
            ),
            None,
        )
        if continued is None or continued.hook is None:
            continue
        progress = _progress(control, continued.hook, ports.clock())
        if progress is None:
            continue
        release = ports.releases.get(claim.release_id)
        ports.notices.publish(hook_progress_notice(continued, release, progress=progress, now=ports.now()))
        told.append(f"{service.name}: {progress}")
    return told


def find_pause(ports: DeployPorts, service_name: str) -> Approval:
    """The pause a `pushpilot continue|abort SERVICE` means: the service's waiting one."""
    from pushpilot.flows.release_control import find_service

    if ports.approvals is None:
        raise PermanentError("this stack records no approvals")
    service = find_service(ports, service_name)
    pauses = [approval for approval in ports.approvals.of_service(service.arn) if approval.hook is not None]
    for approval in pauses:
        if approval.state is ApprovalState.WAITING:
            return approval
    # A command retried after its call to ECS was lost: the decided pause, whose decision is sent again
    # (once per hook) if the deployment still waits.
    claim = service.in_flight
    for approval in pauses:
        decided = approval.state in {ApprovalState.APPROVED, ApprovalState.REJECTED}
        if decided and claim is not None and approval.release_id == claim.release_id:
            return approval
    raise NotFoundError(f"no deployment of {service.name} waits at a pause hook")


def _deadline(expires_at: str | None) -> datetime | None:
    if not expires_at:
        return None
    try:
        moment = datetime.fromisoformat(expires_at)
    except ValueError:
        return None
    # A time without a zone is ECS's UTC; compared with the aware clock it must carry one.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
