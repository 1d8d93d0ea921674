"""Real-shaped EventBridge events for the benchmarks (the shapes AWS documents and delivers)."""

from __future__ import annotations

import uuid
from typing import Any

from pushpilot.core.targets import TargetService
from tests.fakes import ACCOUNT, REGION


def _envelope(source: str, detail_type: str, resources: list[str], detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-05-04T09:14:09Z",
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def ecr_push(repository: str, digest: str, tag: str | None = "latest") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
    }
    if tag is not None:
        detail["image-tag"] = tag
    return _envelope("aws.ecr", "ECR Image Action", [], detail)


def operation_status(
    service: TargetService, status: str = "DeploymentCompletedSuccessfully"
) -> dict[str, Any]:
    return _envelope(
        "aws.apprunner",
        "AppRunner Service Operation Status Change",
        [service.arn],
        {
            "operationStatus": status,
            "serviceName": service.name,
            "serviceId": service.arn.rsplit("/", 1)[-1],
            "message": "Deployment completed successfully.",
            "severity": "INFO",
        },
    )


def service_status(
    service: TargetService, previous: str = "OPERATION_IN_PROGRESS", current: str = "RUNNING"
) -> dict[str, Any]:
    return _envelope(
        "aws.apprunner",
        "AppRunner Service Status Change",
        [service.arn],
        {
            "previousServiceStatus": previous,
            "currentServiceStatus": current,
            "serviceName": service.name,
            "serviceId": service.arn.rsplit("/", 1)[-1],
            "message": f"Service status is set to {current}.",
            "severity": "INFO",
        },
    )


def ecs_deployment_state_change(
    service: TargetService,
    deployment_id: str,
    event_name: str = "SERVICE_DEPLOYMENT_COMPLETED",
) -> dict[str, Any]:
    return _envelope(
        "aws.ecs",
        "ECS Deployment State Change",
        [service.arn],
        {
            "eventType": "INFO",
            "eventName": event_name,
            "deploymentId": deployment_id,
            "updatedAt": "2026-05-04T09:14:09.000Z",
            "reason": f"ECS deployment {deployment_id} completed.",
        },
    )
