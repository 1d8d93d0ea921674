"""Amazon ECS lifecycle hooks of type PAUSE (BLUE_GREEN, LINEAR and CANARY deployments).

At a hooked stage ECS emits `ECS Hook State Change` (event name `HOOK_AWAITING_ACTION`) and waits for
`ContinueServiceDeployment(serviceDeploymentArn, hookId, action CONTINUE | ROLLBACK)` until the hook's
timeout, when it applies the hook's `timeoutAction`. No captured sample of the event was found in public
sources: the model reads the fields ECS documents for the hook (`serviceDeploymentArn`, `hookId`,
`lifecycleStage`, `targetType`, `status`, `expiresAt`, `timeoutAction`) and ignores the rest.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field

from pushpilot.core.approvals import HookPause
from pushpilot.events.common import EventDetail, NonEmpty
from pushpilot.targets.ecs.declaration import DECLARATION

AWAITING = "HOOK_AWAITING_ACTION"
TIMED_OUT = "TIMED_OUT"


class EcsHookDetail(EventDetail):
    event_type: str = Field(default="", alias="eventType")
    event_name: NonEmpty = Field(alias="eventName")
    service_deployment_arn: NonEmpty = Field(alias="serviceDeploymentArn")
    hook_id: NonEmpty = Field(alias="hookId")
    lifecycle_stage: str = Field(default="", alias="lifecycleStage")
    target_type: str = Field(default="PAUSE", alias="targetType")
    status: str = ""
    expires_at: str | None = Field(default=None, alias="expiresAt")
    timeout_action: str = Field(default="ROLLBACK", alias="timeoutAction")


class EcsHookStateChange(EventBridgeModel):
    source: Literal["aws.ecs"]
    detail_type: Literal["ECS Hook State Change"] = Field(alias="detail-type")
    detail: EcsHookDetail

    @property
    def service_arn(self) -> str:
        """`…:service-deployment/<cluster>/<service>/<id>` → `…:service/<cluster>/<service>`."""
        prefix, _, path = self.detail.service_deployment_arn.partition(":service-deployment/")
        cluster, _, rest = path.partition("/")
        return f"{prefix}:service/{cluster}/{rest.partition('/')[0]}"

    @property
    def timed_out(self) -> bool:
        return self.detail.status == TIMED_OUT or self.detail.event_name.endswith(TIMED_OUT)

    def pause(self) -> HookPause:
        return HookPause(
            platform=DECLARATION.label,
            service_deployment_arn=self.detail.service_deployment_arn,
            hook_id=self.detail.hook_id,
            stage=self.detail.lifecycle_stage or "a lifecycle stage",
            timeout_action=self.detail.timeout_action.upper() or "ROLLBACK",
        )
