"""The `aws.ecs` EventBridge events, in the shapes ECS's developer guide documents.

- `ECS Deployment State Change`: `detail{eventType, eventName, deploymentId, updatedAt, reason}`;
- `ECS Service Action`: `detail{eventType, eventName, clusterArn, createdAt}` (+ `reason` for some);
- `ECS Task State Change`: `detail` is the task as DescribeTasks shows it, timestamps as ISO text, plus
  `updatedAt` and `version`.

`resources[0]` is the service's ARN for the first two and the task's ARN for the third.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

type Json = dict[str, Any]

SOURCE: Final = "aws.ecs"
DEPLOYMENT_STATE_CHANGE: Final = "ECS Deployment State Change"
SERVICE_ACTION: Final = "ECS Service Action"
TASK_STATE_CHANGE: Final = "ECS Task State Change"

DEPLOYMENT_IN_PROGRESS: Final = "SERVICE_DEPLOYMENT_IN_PROGRESS"
DEPLOYMENT_COMPLETED: Final = "SERVICE_DEPLOYMENT_COMPLETED"
DEPLOYMENT_FAILED: Final = "SERVICE_DEPLOYMENT_FAILED"
STEADY_STATE: Final = "SERVICE_STEADY_STATE"


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(moment: datetime) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{text[:-3]}Z"


def envelope(
    detail_type: str, *, account: str, region: str, moment: datetime, resource: str, detail: Json
) -> Json:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": SOURCE,
        "account": account,
        "time": iso_seconds(moment),
        "region": region,
        "resources": [resource],
        "detail": detail,
    }


def deployment_state_change(
    *,
    account: str,
    region: str,
    service_arn: str,
    moment: datetime,
    event_name: str,
    deployment_id: str,
    reason: str,
) -> Json:
    return envelope(
        DEPLOYMENT_STATE_CHANGE,
        account=account,
        region=region,
        moment=moment,
        resource=service_arn,
        detail={
            "eventType": "ERROR" if event_name == DEPLOYMENT_FAILED else "INFO",
            "eventName": event_name,
            "deploymentId": deployment_id,
            "updatedAt": iso_seconds(moment),
            "reason": reason,
        },
    )


def service_action(
    *,
    account: str,
    region: str,
    service_arn: str,
    cluster_arn: str,
    moment: datetime,
    event_name: str,
    event_type: str = "INFO",
) -> Json:
    return envelope(
        SERVICE_ACTION,
        account=account,
        region=region,
        moment=moment,
        resource=service_arn,
        detail={
            "eventType": event_type,
            "eventName": event_name,
            "clusterArn": cluster_arn,
            "createdAt": iso_millis(moment),
        },
    )


def task_state_change(*, account: str, region: str, moment: datetime, task: Json) -> Json:
    """`task` is the DescribeTasks form (epoch timestamps); the event carries ISO text instead."""
    detail = {key: _iso_if_time(key, value) for key, value in task.items()}
    detail["updatedAt"] = iso_millis(moment)
    return envelope(
        TASK_STATE_CHANGE,
        account=account,
        region=region,
        moment=moment,
        resource=str(task["taskArn"]),
        detail=detail,
    )


_TIME_KEYS: Final = frozenset(
    {
        "createdAt",
        "startedAt",
        "stoppedAt",
        "stoppingAt",
        "executionStoppedAt",
        "pullStartedAt",
        "pullStoppedAt",
        "connectivityAt",
    }
)


def _iso_if_time(key: str, value: Any) -> Any:
    if key in _TIME_KEYS and isinstance(value, int | float):
        return iso_millis(datetime.fromtimestamp(value, UTC))
    return value
