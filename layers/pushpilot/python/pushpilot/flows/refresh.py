"""The scheduled safety net: re-read every target's services, finish deployments whose events were lost,
start pending pushes whose service is free. A deployment whose fate cannot be found is told as
unconfirmed, never as live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pushpilot.core.releases import RolloutStatus
from pushpilot.core.targets import Outcome
from pushpilot.core.tracking import IndexedService
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.index_fill import discover
from pushpilot.flows.outcome import (
    close,
    follow_up_pending,
    operation_carrying,
    tell_once,
    tell_rolling_back,
)


def refresh(
    ports: DeployPorts,
    *,
    stale_after: timedelta = timedelta(minutes=20),
    stuck_after: timedelta = timedelta(minutes=30),
) -> dict[str, Any]:
    described = discover(ports)
    live_arns = {found.arn for found in described}
    removed = [
        service.arn
        for service in ports.index.all()
        if service.kind in ports.targets and service.arn not in live_arns
    ]
    for arn in removed:
        ports.index.remove(arn)
    recovered: list[str] = []
    unconfirmed: list[str] = []
    stuck: list[str] = []
    started: list[str] = []
    cutoff = ports.clock() - stale_after
    for service in ports.index.all():
        tracked = service.in_flight.started if service.in_flight else None
        if service.awaiting_auto is not None:
            tracked = service.awaiting_auto.pushed
        if tracked is not None and tracked < cutoff:
            target = ports.target_for(service)
            operation = operation_carrying(target, service)
            if operation is None:
                close(
                    ports,
                    service,
                    Outcome.UNKNOWN,
                    None,
                    f"no {target.label} deployment of this push was found"
                    f" {int(stale_after.total_seconds() // 60)} minutes after it was due",
                )
                unconfirmed.append(service.name)
            elif operation.outcome is Outcome.ROLLING_BACK:
                tell_rolling_back(ports, service, operation, "")
            elif operation.outcome is Outcome.IN_PROGRESS:
                overdue = tracked < ports.clock() - stuck_after
                if overdue and _tell_stuck(ports, service, operation.operation_id, stuck_after):
                    stuck.append(service.name)
            else:
                close(
                    ports, service, operation.outcome, operation, "outcome recovered by the scheduled refresh"
                )
                recovered.append(service.name)
        current = ports.index.get(service.arn)
        waiting = current and current.pending and current.in_flight is None and not current.busy
        if waiting and follow_up_pending(ports, service.arn).get("follow_up") == "deploying":
            started.append(service.name)
    return {
        "services": len(described),
        "removed": len(removed),
        "recovered": recovered,
        "unconfirmed": unconfirmed,
        "stuck": stuck,
        "started": started,
    }


def _tell_stuck(ports: DeployPorts, service: IndexedService, operation_id: str, after: timedelta) -> bool:
    """Say once that a deployment has run past the deadline; it stays tracked, as it may still end."""
    told = tell_once(
        ports,
        service,
        RolloutStatus.STUCK,
        f"the deployment is still in progress after {int(after.total_seconds() // 60)} minutes",
        operation_id=operation_id,
    )
    return told is not None
