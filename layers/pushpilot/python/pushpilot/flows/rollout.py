"""The rollout steps every deploy path takes for one service: claim it, start the deployment (or queue
the push while it is busy), adopt one an earlier attempt started, record each step on the release and
tell it in the release's thread. The push, outcome, refresh and release-control flows share them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pushpilot.core.deploy_notices import rollout_notice
from pushpilot.core.errors import OutcomeUnknownError, PushpilotError, ServiceBusyError
from pushpilot.core.releases import Release, RolloutStatus, ServiceRollout
from pushpilot.core.targets import Operation, Outcome
from pushpilot.core.tracking import IndexedService, InFlight, Pending
from pushpilot.flows.deploy_ports import DeployPorts


def record_rollout(
    ports: DeployPorts,
    release_id_: str,
    service: IndexedService,
    status: RolloutStatus,
    message: str,
    *,
    operation_id: str | None = None,
) -> Release:
    rollout = ServiceRollout(
        service_arn=service.arn,
        service_name=service.name,
        status=status,
        operation_id=operation_id,
        service_url=service.service_url,
        message=message,
        updated_at=ports.now(),
    )
    return ports.releases.record_rollout(rollout, release_id_)


def record_and_tell(
    ports: DeployPorts,
    release_id_: str,
    service: IndexedService,
    status: RolloutStatus,
    message: str,
    *,
    operation_id: str | None = None,
    details: tuple[str, ...] = (),
) -> Release:
    """Record one service's rollout on its release and tell it in the release's thread."""
    stored = record_rollout(ports, release_id_, service, status, message, operation_id=operation_id)
    target = ports.target_for(service)
    ports.notices.publish(
        rollout_notice(
            stored,
            service,
            status,
            message,
            now=ports.now(),
            target_label=target.label,
            console=target.console_link(service),
            failure_advice=target.failure_advice(service),
            stuck_advice=target.declaration.stuck_advice_for(service.name),
            operation_id=operation_id,
            details=details,
        )
    )
    return stored


def queue_push(ports: DeployPorts, service: IndexedService, pending: Pending) -> RolloutStatus:
    current = ports.index.get(service.arn)
    if current is not None and current.in_flight is not None and current.in_flight.digest == pending.digest:
        # A retry of a push whose deployment already started: it is deploying, not waiting.
        return RolloutStatus.DEPLOYING
    replaced = current.pending if current is not None else None
    if not ports.index.queue(service.arn, pending):
        # A newer push already waits: this one will never deploy here.
        return RolloutStatus.SUPERSEDED
    if replaced is not None and replaced.digest != pending.digest:
        record_and_tell(
            ports,
            replaced.release_id,
            service,
            RolloutStatus.SUPERSEDED,
            "a newer push of the tag took its place while an operation was in progress",
            details=(f"newer push: {pending.digest}",),
        )
    return RolloutStatus.QUEUED


def start_deployment(ports: DeployPorts, service: IndexedService, pending: Pending) -> RolloutStatus:
    claim = pending.as_claim()
    if not ports.index.claim(service.arn, claim):
        return queue_push(ports, service, pending)
    return deploy_claimed(ports, service, claim)


def deploy_claimed(ports: DeployPorts, service: IndexedService, claim: InFlight) -> RolloutStatus:
    """Deploy the digest we hold the claim for; the claim is given back if nothing started."""
    target = ports.target_for(service)
    try:
        operation_id = target.deploy(service, claim.digest, image=claim.image)
    except ServiceBusyError:
        adopted = started_after(target.recent_operations(service.arn), claim)
        if adopted is not None and adopted.outcome is Outcome.IN_PROGRESS:
            # Busy with a deployment that began after this push (an earlier attempt of ours whose answer
            # was lost, or one started by hand): it deploys the pushed tag, so it is this push's.
            ports.index.set_operation(service.arn, claim.digest, adopted.operation_id)
            return RolloutStatus.DEPLOYING
        # Busy with an operation we did not start (a configuration change, the target's own
        # deployment): the push waits for that operation's end.
        ports.index.unclaim_to_pending(service.arn, claim)
        return RolloutStatus.QUEUED
    except PushpilotError as exc:
        # Nothing is known to have started: give the claim back so the retry deploys instead of
        # queueing behind a deployment that may not exist. After a lost answer the target may have
        # acted, and not every target refuses a second start (ECS has no idempotency token): the claim
        # is remembered as the lost answer, and the retry's deploy finds what it did and adopts it.
        ports.index.unclaim(service.arn, claim, answer_lost=isinstance(exc, OutcomeUnknownError))
        raise
    ports.index.set_operation(service.arn, claim.digest, operation_id)
    return RolloutStatus.DEPLOYING


def started_after(operations: Sequence[Operation], claim: InFlight | Pending) -> Operation | None:
    """The newest deployment that started at or after the push: the one that carries it."""
    since = claim.started if isinstance(claim, InFlight) else claim.pushed
    for operation in operations:
        if operation.deploys_image and operation.started_at is not None and operation.started_at >= since:
            return operation
    return None
