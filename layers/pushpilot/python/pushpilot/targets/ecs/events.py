"""Amazon ECS's EventBridge events (source `aws.ecs`, delivered durably but possibly more than once).

Only the deployment state change is subscribed: it names the deployment (`deploymentId`) whose outcome
pushpilot tracks, and every new deployment by anyone, which is when a service's task definition changes.
Service actions repeat (SERVICE_STEADY_STATE) and task state changes come for every task in the account;
the stopped tasks of a failed deployment are read when it fails instead.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field

from pushpilot.core.targets import OperationEnded, ServiceChanged
from pushpilot.events.common import EventDetail, NonEmpty

KIND = "ecs"


class EcsDeploymentDetail(EventDetail):
    event_type: str = Field(default="", alias="eventType")
    event_name: NonEmpty = Field(alias="eventName")
    deployment_id: NonEmpty = Field(alias="deploymentId")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    reason: str = ""


class EcsDeploymentStateChange(EventBridgeModel):
    source: Literal["aws.ecs"]
    detail_type: Literal["ECS Deployment State Change"] = Field(alias="detail-type")
    detail: EcsDeploymentDetail

    @property
    def service_arn(self) -> str | None:
        return next((arn for arn in self.resources if ":ecs:" in arn and ":service/" in arn), None)

    @property
    def service_name(self) -> str:
        return (self.service_arn or "").rsplit("/", 1)[-1]

    def to_domain(self) -> OperationEnded:
        return OperationEnded(
            event_id=self.id,
            kind=KIND,
            service_arn=self.service_arn,
            service_name=self.service_name,
            status=self.detail.event_name,
            message=self.detail.reason,
            operation_id=self.detail.deployment_id,
        )

    def service_changed(self) -> ServiceChanged:
        """Any deployment may carry a new task definition: the index reads the service again."""
        return ServiceChanged(event_id=self.id, kind=KIND, service_arn=self.service_arn, deleted=False)
