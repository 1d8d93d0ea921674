"""Telling the bus what happened to a release: once per change, however often the flow runs again.

PutEvents has no idempotency token, so each change is put under the flows' once-per-key record: a
retried invocation (a lost answer, a failed notice after the event went out) finds the change already
told and puts nothing. An event's `event_key` names the change, so a subscriber can dedupe too, for the
one case no record can close: an invocation that died between the put and the record.
"""

from __future__ import annotations

from typing import Any

from pushpilot.core.errors import ConcurrentDeliveryError
from pushpilot.core.release_events import (
    EVENT_FOR_ROLLOUT,
    ReleaseEvent,
    ReleaseEventType,
    event_service,
    release_event,
)
from pushpilot.core.releases import Release, RolloutStatus
from pushpilot.core.tracking import IndexedService
from pushpilot.flows.deploy_ports import DeployPorts


def announce(ports: DeployPorts, event: ReleaseEvent) -> None:
    """Put one event on the bus, once per change."""
    sink = ports.events
    if sink is None:
        return

    def put() -> dict[str, Any]:
        sink.put([event])
        return {"event_key": event.detail.event_key}

    try:
        ports.once(scope="release-event", key={"event": event.detail.event_key}, work=put)
    except ConcurrentDeliveryError:
        # A concurrent delivery of the same change holds the record: it puts the event, or its own
        # retry does. Failing this delivery for it would only retry what is already being told.
        return


def announce_rollout(
    ports: DeployPorts,
    release: Release,
    service: IndexedService,
    status: RolloutStatus,
    message: str,
    *,
    operation_id: str | None = None,
) -> None:
    """The event for a service's rollout status, when that status is one of pushpilot's events."""
    detail_type = EVENT_FOR_ROLLOUT.get(status)
    if detail_type is None:
        return
    announce(
        ports,
        release_event(
            detail_type,
            release,
            occurred_at=ports.now(),
            service=event_service(name=service.name, arn=service.arn, kind=service.kind),
            stage=str(status),
            message=message,
            operation_id=operation_id,
        ),
    )


def announce_verified(ports: DeployPorts, release: Release, verdicts: dict[str, str], stage: str) -> None:
    announce(
        ports,
        release_event(
            ReleaseEventType.VERIFIED, release, occurred_at=ports.now(), stage=stage, verdicts=verdicts
        ),
    )


def announce_held(
    ports: DeployPorts,
    release: Release,
    service: IndexedService,
    held_by: list[str],
    message: str,
    *,
    key_suffix: str = "",
) -> None:
    announce(
        ports,
        release_event(
            ReleaseEventType.HELD,
            release,
            occurred_at=ports.now(),
            service=event_service(name=service.name, arn=service.arn, kind=service.kind),
            stage="held",
            message=message,
            held_by=held_by,
            key_suffix=key_suffix,
        ),
    )
