"""The rollout steps every deploy path takes for one service: claim it, start the deployment (or queue
the push while it is busy), adopt one an earlier attempt started, record each step on the release and
tell it in the release's thread; what a target that takes no index deploys, and the first look at the
outcome for a target that polls it. The push, outcome, refresh and release-control flows share them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pushpilot.core.deploy_notices import rollout_notice
from pushpilot.core.errors import ChangedMeanwhileError, OutcomeUnknownError, PushpilotError, ServiceBusyError
from pushpilot.core.releases import Release, RolloutStatus, ServiceRollout
from pushpilot.core.targets import Operation, Outcome, OutcomeCheck
from pushpilot.core.tracking import IndexedService, InFlight, Pending
from pushpilot.core.verdicts import Verdict
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.release_events import announce_rollout


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
    announce: bool = True,
    advice: str | None = None,
) -> Release:
    """Record one service's rollout on its release and tell it in the release's thread, and on the bus
    (`announce`; a caller inside a once-per-key record tells the bus once that record is complete).
    `advice`: what to do next, instead of the target's words for a failure."""
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
            failure_advice=advice if advice is not None else target.failure_advice(service),
            stuck_advice=target.declaration.stuck_advice_for(service.name),
            operation_id=operation_id,
            details=details,
        )
    )
    if announce:
        announce_rollout(ports, stored, service, status, message, operation_id=operation_id)
    return stored


def queue_push(ports: DeployPorts, service: IndexedService, pending: Pending) -> RolloutStatus:
    current = ports.index.get(service.arn)
    if current is not None and current.in_flight is not None and current.in_flight.digest == pending.digest:
        # A retry of a push whose deployment already started: it is deploying, not waiting. A look at
        # its outcome is scheduled again, in case the first attempt died before scheduling one.
        if current.in_flight.operation_id is not None:
            schedule_outcome_check(ports, current, current.in_flight.operation_id, current.in_flight)
        elif current.answer_lost_for(pending.digest):
            # Claimed, never started as far as we know: the attempt died before it could record an
            # operation (timed out mid-deploy). Its claim's intent makes this deploy look first.
            return deploy_claimed(ports, current, current.in_flight)
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
        # A target that takes no index gets the single manifest of its platform (claim.manifest).
        operation_id = target.deploy(service, claim.manifest or claim.digest, image=claim.image)
    except ServiceBusyError:
        adopted = started_after(target.recent_operations(service.arn), claim)
        if adopted is not None and adopted.outcome is Outcome.IN_PROGRESS:
            # Busy with a deployment that began after this push (an earlier attempt of ours whose answer
            # was lost, or one started by hand): it deploys the pushed tag, so it is this push's.
            ports.index.set_operation(service.arn, claim.digest, adopted.operation_id)
            schedule_outcome_check(ports, service, adopted.operation_id, claim)
            return RolloutStatus.DEPLOYING
        # Busy with an operation we did not start (a configuration change, the target's own
        # deployment): the push waits for that operation's end.
        ports.index.unclaim_to_pending(service.arn, claim)
        return RolloutStatus.QUEUED
    except ChangedMeanwhileError as exc:
        # Someone else changed the service between our read and our write: told, never overwritten.
        ports.index.unclaim(service.arn, claim)
        record_and_tell(ports, claim.release_id, service, RolloutStatus.SKIPPED, str(exc))
        return RolloutStatus.SKIPPED
    except PushpilotError as exc:
        # Nothing is known to have started: give the claim back so the retry deploys instead of
        # queueing behind a deployment that may not exist. After a lost answer the target may have
        # acted, and not every target refuses a second start (ECS has no idempotency token): the claim
        # is remembered as the lost answer, and the retry's deploy finds what it did and adopts it.
        lost = isinstance(exc, OutcomeUnknownError) or service.answer_lost_for(claim.digest)
        ports.index.unclaim(service.arn, claim, answer_lost=lost)
        raise
    ports.index.set_operation(service.arn, claim.digest, operation_id)
    schedule_outcome_check(ports, service, operation_id, claim)
    return RolloutStatus.DEPLOYING


def deployable_manifest(
    ports: DeployPorts, service: IndexedService, verdict: Verdict, digest: str
) -> str | None:
    """What the service's target deploys of a passed digest: None for the digest itself, the single
    manifest of its platform for a target that takes no index, "" when there is no such manifest."""
    if ports.target_for(service).accepts_index:
        return None
    manifest = verdict.deployable_digest(accepts_index=False)
    if manifest is None:
        return ""
    return None if manifest == digest else manifest


def schedule_outcome_check(
    ports: DeployPorts, service: IndexedService, operation_id: str, claim: InFlight
) -> None:
    """A target whose platform emits no completion event declares OutcomePolling: its first look is
    scheduled as the deployment starts. A second schedule of the same look is harmless (the outcome flow
    closes a deployment once), a lost one is caught by the scheduled refresh."""
    polling = ports.target_for(service).outcome_polling
    if polling is None or ports.outcome_timer is None:
        return
    check = OutcomeCheck(
        kind=service.kind,
        service_arn=service.arn,
        service_name=service.name,
        operation_id=operation_id,
        started_at=claim.started_at,
    )
    ports.outcome_timer.schedule(check, delay_seconds=polling.delay_after(0))


def started_after(operations: Sequence[Operation], claim: InFlight | Pending) -> Operation | None:
    """The newest deployment that started at or after the push: the one that carries it."""
    since = claim.started if isinstance(claim, InFlight) else claim.pushed
    for operation in operations:
        if operation.deploys_image and operation.started_at is not None and operation.started_at >= since:
            return operation
    return None
