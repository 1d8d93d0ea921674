"""ECS service deployments (the API behind every ECS and Express deployment's history), read as outcomes.
Pure: the adapters fetch them, this says what they mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pushpilot.core.targets import Operation, Outcome

_OUTCOMES: Final = {
    "PENDING": Outcome.IN_PROGRESS,
    "IN_PROGRESS": Outcome.IN_PROGRESS,
    "SUCCESSFUL": Outcome.LIVE,
    "STOPPED": Outcome.FAILED,
    "STOP_REQUESTED": Outcome.FAILED,
    # Once a rollback is asked for, the pushed image is not what will run: a failure, told at once as
    # "rolling back"; "rolled back" only once ECS says the rollback succeeded.
    "ROLLBACK_REQUESTED": Outcome.ROLLING_BACK,
    "ROLLBACK_IN_PROGRESS": Outcome.ROLLING_BACK,
    "ROLLBACK_SUCCESSFUL": Outcome.ROLLED_BACK,
    "ROLLBACK_FAILED": Outcome.ROLLBACK_FAILED,
}


# Outcomes that end a deployment badly (or are on their way to): their reasons are worth reading.
BAD_OUTCOMES: Final = frozenset(
    {Outcome.FAILED, Outcome.ROLLING_BACK, Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED}
)


def outcome_of(deployment: Mapping[str, Any]) -> Outcome:
    return _OUTCOMES.get(str(deployment.get("status", "")), Outcome.IN_PROGRESS)


def reasons_of(deployment: Mapping[str, Any]) -> tuple[str, ...]:
    """Why a service deployment ended badly: the rollback's reason, the alarms that fired, its status."""
    reasons: list[str] = []
    rollback = deployment.get("rollback") or {}
    if rollback.get("reason"):
        reasons.append(str(rollback["reason"]))
    fired = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
    if fired:
        reasons.append(f"alarm{'s' if len(fired) > 1 else ''} fired: {', '.join(fired)}")
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "TRIGGERED":
        reasons.append(
            f"circuit breaker triggered after {breaker.get('failureCount', '?')} failed tasks"
            f" (threshold {breaker.get('threshold', '?')})"
        )
    if deployment.get("statusReason") and str(deployment["statusReason"]) not in reasons:
        reasons.append(str(deployment["statusReason"]))
    return tuple(reasons)


def operation_of(deployment: Mapping[str, Any], operation_id: str) -> Operation:
    outcome = outcome_of(deployment)
    return Operation(
        operation_id=operation_id,
        deploys_image=True,
        outcome=outcome,
        status=str(deployment.get("status", "")),
        started_at=deployment.get("createdAt"),
        ended_at=deployment.get("finishedAt") or deployment.get("stoppedAt"),
        reasons=reasons_of(deployment) if outcome is not Outcome.LIVE else (),
    )
