"""The true outcome of deployments, and the index kept current, from any target's normalised events.

A deployment is closed only by the operation that carries it: the one whose id we were given, or — when
that answer was lost, or the target deploys by itself — the first deployment that began after the push.
An operation that is not that one (a pause, a resume, a configuration change, an older deployment)
closes nothing. The release is told before the deployment is forgotten, so a retry after a failed
notice tells it again instead of finding nothing to tell.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pushpilot.core.approvals import ApprovalState
from pushpilot.core.errors import NotFoundError
from pushpilot.core.releases import Release, RolloutStatus, overall_stage
from pushpilot.core.targets import Operation, OperationEnded, Outcome, ServiceChanged
from pushpilot.core.tracking import IndexedService, LiveImage
from pushpilot.flows.beside_iac import publish_live_image, tell_outside_change
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.results import FlowResult, ignored, skipped
from pushpilot.flows.rollout import deploy_claimed, record_and_tell, started_after
from pushpilot.ports import DeployTarget

# What ran on a service stays known this long: the releases a rollback can go back to.
LIVE_HISTORY_RETENTION = timedelta(days=90)
ROLLOUT_FOR_OUTCOME = {
    Outcome.LIVE: RolloutStatus.LIVE,
    Outcome.FAILED: RolloutStatus.FAILED,
    Outcome.ROLLING_BACK: RolloutStatus.ROLLING_BACK,
    Outcome.ROLLED_BACK: RolloutStatus.ROLLED_BACK,
    Outcome.ROLLBACK_FAILED: RolloutStatus.ROLLBACK_FAILED,
    Outcome.UNKNOWN: RolloutStatus.UNCONFIRMED,
}


# The metric an event for a service outside the stack's reach is counted under.
OUT_OF_REACH_METRIC = "ServiceOutOfReach"
# The metric an event for a service (or cluster) deleted since it was sent is counted under.
GONE_METRIC = "EventsForDeletedServices"


def _outside_reach(ports: DeployPorts, event_id: str, kind: str, arn: str | None) -> FlowResult | None:
    """Skip an event about a service the stack must not touch, before anything describes or indexes it."""
    if arn is None or not ports.outside_reach(kind, arn):
        return None
    setting = ports.targets[kind].declaration.reach_setting
    where = f" ({setting})" if setting else ""
    return skipped(event_id, f"{arn} is outside the stack's reach{where}", metric=OUT_OF_REACH_METRIC)


def handle_operation_ended(event: OperationEnded, ports: DeployPorts) -> FlowResult:
    outside = _outside_reach(ports, event.event_id, event.kind, event.service_arn)
    if outside is not None:
        return outside
    service = _indexed_service(ports, event)
    if service is None:
        return ignored(event.event_id, f"service {event.service_name} is not in the index")
    if service.in_flight is None and service.awaiting_auto is None:
        follow_up = follow_up_pending(ports, service.arn)
        if follow_up:
            return FlowResult(event_id=event.event_id, status="handled", detail=follow_up)
        return ignored(event.event_id, "no deployment pushpilot tracks is on this service")
    try:
        operation = operation_carrying(ports.target_for(service), service)
    except NotFoundError as exc:
        # Deleted with its cluster, or by hand, while a deployment was tracked: nothing is left to tell.
        return gone(event.event_id, service.arn, str(exc))
    if operation is None:
        return ignored(
            event.event_id,
            f"{event.status} is not the deployment of the push pushpilot tracks on {service.name}",
        )
    if operation.outcome is Outcome.IN_PROGRESS:
        return ignored(event.event_id, "the deployment is still in progress")
    # An event about another deployment (an older one's late FAILED, the rollback's own COMPLETED) only
    # prompted the read: its words are not this deployment's.
    about_ours = event.operation_id is None or event.operation_id == operation.operation_id
    message = event.message if about_ours else ""
    if operation.outcome is Outcome.ROLLING_BACK:
        told = tell_rolling_back(ports, service, operation, message)
        return FlowResult(
            event_id=event.event_id,
            status="handled",
            detail={"outcome": str(operation.outcome), "told": told},
        )
    result = close(ports, service, operation.outcome, operation, message)
    follow_up = follow_up_pending(ports, service.arn)
    return FlowResult(
        event_id=event.event_id,
        status="handled",
        detail={"outcome": str(operation.outcome), **result, **follow_up},
    )


def _indexed_service(ports: DeployPorts, event: OperationEnded) -> IndexedService | None:
    if event.service_arn:
        return ports.index.get(event.service_arn)
    return ports.index.find_by_name(event.kind, event.service_name)


def operation_carrying(target: DeployTarget, service: IndexedService) -> Operation | None:
    """The operation that deploys the push tracked on the service, if it has begun."""
    if service.in_flight is not None and service.in_flight.operation_id is not None:
        return target.find_operation(service, service.in_flight.operation_id)
    tracked = service.in_flight or service.awaiting_auto
    if tracked is None:
        return None
    return started_after(target.recent_operations(service.arn), tracked)


def tell_rolling_back(
    ports: DeployPorts, service: IndexedService, operation: Operation, message: str
) -> bool:
    """Say once that the deployment failed and is being rolled back; it stays tracked until the target
    confirms the rollback (rolled back) or its failure (rollback failed)."""
    tracked = service.in_flight or service.awaiting_auto
    asked = _asked_at_a_pause(ports, service, tracked.release_id) if tracked is not None else None
    told = tell_once(
        ports,
        service,
        RolloutStatus.ROLLING_BACK,
        (asked[0] if asked else message) or _said_by_target(ports, service, operation),
        operation_id=operation.operation_id,
        details=operation.reasons,
        advice=asked[1] if asked else None,
    )
    if told is None:
        return False
    ports.releases.set_stage(told.release_id, overall_stage(told), now=ports.now())
    return True


def tell_once(
    ports: DeployPorts,
    service: IndexedService,
    status: RolloutStatus,
    message: str,
    *,
    operation_id: str,
    details: tuple[str, ...] = (),
    advice: str | None = None,
) -> Release | None:
    """Tell a status of the deployment tracked on the service that does not end it (rolling back, stuck)
    once: None when nothing is tracked, or when its rollout says so already (a later event, the next
    scheduled run, a retry)."""
    tracked = service.in_flight or service.awaiting_auto
    if tracked is None:
        return None
    release = ports.releases.get(tracked.release_id)
    rollout = release.services.get(service.arn) if release else None
    if rollout is not None and rollout.status is status:
        return None
    return record_and_tell(
        ports,
        tracked.release_id,
        service,
        status,
        message,
        operation_id=operation_id,
        details=details,
        advice=advice,
    )


def _asked_at_a_pause(ports: DeployPorts, service: IndexedService, release_id: str) -> tuple[str, str] | None:
    """(what happened, what next) when people rolled this release back at a pause (flows/hooks.py): a
    decision, not a crash, so the target's advice for a failure would mislead."""
    if ports.approvals is None:
        return None
    for approval in ports.approvals.of_service(service.arn):
        if approval.hook is not None and approval.release_id == release_id:
            if approval.state is not ApprovalState.REJECTED:
                return None
            who = ", ".join(vote.who for vote in approval.votes.values()) or "people"
            return (
                f"rolled back at its {approval.hook.stage} pause, as {who} asked",
                f"The previous revision serves {service.name} again. Push again once the release is fixed.",
            )
    return None


def _said_by_target(ports: DeployPorts, service: IndexedService, operation: Operation) -> str:
    return f"{ports.target_for(service).label} reports the deployment {operation.status}"


def close(
    ports: DeployPorts,
    service: IndexedService,
    outcome: Outcome,
    operation: Operation | None,
    message: str,
) -> dict[str, Any]:
    """Record and tell the outcome of the tracked deployment, then forget it."""
    tracked = service.in_flight or service.awaiting_auto
    if tracked is None:
        return {"release_id": None, "note": "no deployment pushpilot tracks is on this service"}
    status = ROLLOUT_FOR_OUTCOME[outcome]
    operation_id = operation.operation_id if operation else None
    asked = _asked_at_a_pause(ports, service, tracked.release_id) if outcome is Outcome.ROLLED_BACK else None
    release = record_and_tell(
        ports,
        tracked.release_id,
        service,
        status,
        (asked[0] if asked else message)
        or (_said_by_target(ports, service, operation) if operation else "the deployment was not found"),
        operation_id=operation_id,
        details=operation.reasons if operation else (),
        advice=asked[1] if asked else None,
    )
    ports.releases.set_stage(release.release_id, overall_stage(release), now=ports.now())
    if status is RolloutStatus.LIVE:
        # What runs there now, kept for rollbacks and `pushpilot releases`.
        ports.index.record_live(
            service.arn,
            LiveImage(
                release_id=release.release_id,
                digest=tracked.digest,
                tag=tracked.tag or service.running_tag,
                since=ports.now(),
            ),
            expires_at=int((ports.clock() + LIVE_HISTORY_RETENTION).timestamp()),
        )
        publish_live_image(ports, service, release)
    # Only now: a failure above leaves the deployment tracked, so the retry tells it again.
    if service.in_flight is not None:
        ports.index.finish(service.arn, tracked.digest)
    else:
        ports.index.finish_auto(service.arn, tracked.digest)
    return {"release_id": release.release_id, "rollout": str(status)}


def follow_up_pending(ports: DeployPorts, service_arn: str) -> dict[str, Any]:
    """Deploy the newest push that waited for the operation that just ended."""
    pending = ports.index.take_pending(service_arn)
    if pending is None:
        return {}
    service = ports.index.get(service_arn)
    if service is None or ports.releases.get(pending.release_id) is None:
        raise NotFoundError(f"pending release {pending.release_id} or service {service_arn} vanished")
    claim = pending.as_claim()
    hold = service.hold
    if hold is not None and hold.release_id != pending.release_id:
        # Queued before the hold was set (a push in the moment between a rollback's deployment starting
        # and its hold): deploying it now would undo what the hold keeps. It is dropped and told.
        ports.index.unclaim(service_arn, claim)
        record_and_tell(
            ports,
            pending.release_id,
            service,
            RolloutStatus.SKIPPED,
            f"not deployed: {service.name} is held ({hold.reason}) since this push queued;"
            f" `pushpilot release {service.name}` lets pushes deploy again",
        )
        return {"follow_up": str(RolloutStatus.SKIPPED), "digest": pending.digest, "held": hold.reason}

    def start() -> dict[str, Any]:
        status = deploy_claimed(ports, service, claim)
        if status in {RolloutStatus.QUEUED, RolloutStatus.SKIPPED}:
            return {"follow_up": str(status), "digest": pending.digest}
        current = ports.index.get(service_arn)
        operation_id = current.in_flight.operation_id if current and current.in_flight else None
        record_and_tell(
            ports,
            pending.release_id,
            service,
            RolloutStatus.DEPLOYING,
            "the newest push waited for the previous operation; deploying it now",
            operation_id=operation_id,
        )
        return {"follow_up": "deploying", "digest": pending.digest}

    return ports.once(scope="follow-up", key={"service": service_arn, "digest": pending.digest}, work=start)


def gone(event_id: str, service_arn: str, reason: str, **detail: str) -> FlowResult:
    """An event about a service (or cluster) that no longer exists: a skip, not an error."""
    return skipped(event_id, reason, metric=GONE_METRIC, service_arn=service_arn, **detail)


def handle_service_changed(event: ServiceChanged, ports: DeployPorts) -> FlowResult:
    arn = event.service_arn
    if arn is None:
        return ignored(event.event_id, "the service event names no service ARN")
    removed = FlowResult(event_id=event.event_id, status="handled", detail={"index": "removed"})
    if event.deleted:
        ports.index.remove(arn)
        return removed
    # Decided on the event alone, before the index is read: a target's kind and the ones sharing its
    # events (Express services say `ecs`) share its scope. One indexed before the scope narrowed is
    # dropped by the next refresh and never deployed meanwhile (DeployPorts.target_for).
    outside = _outside_reach(ports, event.event_id, event.kind, arn)
    if outside is not None:
        return outside
    # Express services are ECS services: their events say `ecs`, the index knows which target serves them.
    indexed = ports.index.get(arn)
    target = ports.targets.get(indexed.kind if indexed is not None else event.kind)
    if target is None:
        return ignored(event.event_id, f"no deploy target of kind {event.kind!r} is configured")
    try:
        described = target.describe(arn)
    except NotFoundError as exc:
        ports.index.remove(arn)
        return gone(event.event_id, arn, str(exc), index="removed")
    ports.index.upsert(described, now=ports.now())
    detail: dict[str, Any] = {"index": "updated"}
    if tell_outside_change(ports, indexed, described):
        detail["outside_change"] = described.image_identifier
    if not described.busy:
        indexed = ports.index.get(arn)
        if indexed is not None and indexed.in_flight is None and indexed.pending is not None:
            detail |= follow_up_pending(ports, arn)
    return FlowResult(event_id=event.event_id, status="handled", detail=detail)
