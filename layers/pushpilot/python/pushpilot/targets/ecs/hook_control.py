"""ContinueServiceDeployment: resumes (CONTINUE) or rolls back (ROLLBACK) an ECS deployment paused at a
PAUSE lifecycle hook, and says where such a deployment stands (DescribeServiceDeployments). The hook's
event model is hook_events.py."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.targets.ecs.progress import progress_of

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient


class EcsHookControl:
    """ContinueServiceDeployment through an injected client (or a lazily built real one)."""

    def __init__(self, client: ECSClient | None = None) -> None:
        self._injected = client

    @property
    def _client(self) -> ECSClient:
        if self._injected is None:
            self._injected = clients.client("ecs")
        return self._injected

    def continue_deployment(
        self, service_deployment_arn: str, hook_id: str, action: Literal["CONTINUE", "ROLLBACK"]
    ) -> None:
        """Once per hook from the flow; a retry after a lost answer finds the hook already answered."""
        try:
            self._client.continue_service_deployment(
                serviceDeploymentArn=service_deployment_arn, hookId=hook_id, action=action
            )
        except (ClientError, BotoCoreError) as exc:
            if (
                isinstance(exc, ClientError)
                and self._hook_status(service_deployment_arn, hook_id) == "SUCCEEDED"
            ):
                # Our own earlier call went through and its answer was lost: ECS took it, nothing to redo.
                return
            raise aws_error(
                exc, service="ecs", action="ContinueServiceDeployment", target=service_deployment_arn
            ) from exc

    def progress(self, service_deployment_arn: str, *, now: datetime) -> str | None:
        """The strategy, lifecycle stage, traffic share and bake left; None for a rolling deployment."""
        deployment = self._describe(service_deployment_arn)
        return progress_of(deployment, now=now) if deployment is not None else None

    def _hook_status(self, service_deployment_arn: str, hook_id: str) -> str | None:
        try:
            deployment = self._describe(service_deployment_arn)
        except Exception:  # noqa: BLE001 - only asked to explain a failure already being raised
            return None
        hooks = (deployment or {}).get("lifecycleHookDetails") or []
        return next((str(hook.get("status")) for hook in hooks if hook.get("hookId") == hook_id), None)

    def _describe(self, service_deployment_arn: str) -> dict[str, Any] | None:
        try:
            found = self._client.describe_service_deployments(serviceDeploymentArns=[service_deployment_arn])
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(
                exc, service="ecs", action="DescribeServiceDeployments", target=service_deployment_arn
            ) from exc
        deployments = found.get("serviceDeployments") or []
        return dict(deployments[0]) if deployments else None
