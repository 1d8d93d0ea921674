"""Polled outcomes: a scheduled look at a deployment on a target whose platform emits no completion event
(the target declares OutcomePolling). A look that finds the deployment ended takes the path a target's
event takes (`handle_operation_ended`), so the thread, SNS, history and rollbacks work unchanged; one that
finds it still in progress schedules the next look, backing off, until the target's deadline, after which
the scheduled refresh (every target's safety net) carries on.
"""

from __future__ import annotations

from datetime import datetime

from pushpilot.core.targets import OperationEnded, OutcomeCheck
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.outcome import handle_operation_ended
from pushpilot.flows.results import FlowResult, ignored


def handle_outcome_check(check: OutcomeCheck, ports: DeployPorts, *, event_id: str) -> FlowResult:
    target = ports.targets.get(check.kind)
    polling = target.outcome_polling if target is not None else None
    if polling is None:
        return ignored(event_id, f"no deploy target of kind {check.kind!r} polls its outcomes here")
    if not _tracked(ports, check):
        return ignored(
            event_id, f"the deployment {check.operation_id} on {check.service_name} is no longer tracked"
        )
    ended = OperationEnded(
        event_id=event_id,
        kind=check.kind,
        service_arn=check.service_arn,
        service_name=check.service_name,
        status="polled",
    )
    outcome = handle_operation_ended(ended, ports)
    if not _tracked(ports, check):
        return outcome
    # Still in progress: look again later, unless the deadline passed.
    elapsed = (ports.clock() - datetime.fromisoformat(check.started_at)).total_seconds()
    if elapsed >= polling.give_up_after_seconds or ports.outcome_timer is None:
        return ignored(
            event_id, "still in progress past the polling deadline: the scheduled refresh carries on"
        )
    following = check.model_copy(update={"attempt": check.attempt + 1})
    delay = polling.delay_after(following.attempt)
    ports.outcome_timer.schedule(following, delay_seconds=delay)
    return FlowResult(
        event_id=event_id,
        status="handled",
        detail={"outcome": "in_progress", "attempt": following.attempt, "next_look_seconds": delay},
    )


def _tracked(ports: DeployPorts, check: OutcomeCheck) -> bool:
    service = ports.index.get(check.service_arn)
    return (
        service is not None
        and service.in_flight is not None
        and service.in_flight.operation_id == check.operation_id
    )
