"""Amazon ECS Express Mode as a deploy target.

Express services are ECS services that ECS manages itself (`resourceManagementType` ECS): there is no
List operation for them, so discovery walks the account's ECS services. A push deploys by digest with
UpdateExpressGatewayService, re-sending the whole current primary container with only its image
changed (whether omitted fields are kept is undocumented, so nothing is left out). The update names the
service revision it creates; the service deployment that targets that revision tells the truth,
through the canary's two bake periods and an alarm rollback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.errors import NotFoundError, OutOfReachError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Link
from pushpilot.core.targets import Operation, Outcome, TargetService
from pushpilot.core.tracking import IndexedService
from pushpilot.core.verdicts import LINUX_AMD64
from pushpilot.targets.declared import DeclaredTarget
from pushpilot.targets.ecs import copies, discovery, service_deployments
from pushpilot.targets.ecs.reach import ClusterScope
from pushpilot.targets.ecs.services import parse_service_arn
from pushpilot.targets.ecs.task_definitions import (
    pinned_copy,
    platform_of_architecture,
    primary_image,
    release_tags,
    settle_copies,
)
from pushpilot.targets.ecs_express.declaration import DECLARATION, KIND

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

# DescribeServiceRevisions takes at most twenty revisions per call.
_REVISIONS_READ: Final = 20


class EcsExpressTarget(DeclaredTarget):
    # What the flows need of it, as its folder declares (declaration.py).
    declaration = DECLARATION

    def __init__(
        self,
        client: ECSClient | None = None,
        *,
        region: str = "us-east-1",
        clusters: Sequence[str] | ClusterScope = (),
    ) -> None:
        self._injected = client
        self._injected_writer: ECSClient | None = client
        self._region = region
        self._scope = clusters if isinstance(clusters, ClusterScope) else ClusterScope.parse(clusters)
        self._clusters = self._scope.configured

    def serves(self, service_arn: str) -> bool:
        """Only the services of the clusters in `EcsClusters` (every cluster when it is empty)."""
        return self._scope.covers_service(service_arn)

    @property
    def _client(self) -> ECSClient:
        if self._injected is None:
            self._injected = clients.client("ecs")
        return self._injected

    def _error(self, exc: ClientError | BotoCoreError, action: str, target: str) -> Exception:
        return aws_error(exc, service="ecs", action=action, target=target)

    def _express(self, service_arn: str) -> dict[str, Any]:
        try:
            response = self._client.describe_express_gateway_service(serviceArn=service_arn, include=["TAGS"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeExpressGatewayService", service_arn) from exc
        return dict(response["service"])

    def list_services(self) -> list[TargetService]:
        found: list[TargetService] = []
        for _, service in discovery.services(self._client, self._clusters, self._error):
            if discovery.is_express(service) and service.get("status") == "ACTIVE":
                described = self._target_service(self._express(str(service["serviceArn"])))
                if described is not None:
                    found.append(described)
        return found

    def current_tags(self, service: IndexedService) -> dict[str, str]:
        """One DescribeExpressGatewayService with include=["TAGS"]: the tags as they are now."""
        return discovery.tags_of(self._express(service.arn))

    def describe(self, service_arn: str) -> TargetService:
        if not self.serves(service_arn):
            raise OutOfReachError(f"{service_arn} is outside {self._scope.describe()} (EcsClusters)")
        described = self._target_service(self._express(service_arn))
        if described is None:
            raise NotFoundError(f"Express service {service_arn} is not active or runs no image")
        return described

    def _target_service(self, service: Mapping[str, Any]) -> TargetService | None:
        status = (service.get("status") or {}).get("statusCode", "")
        configurations = service.get("activeConfigurations") or []
        if status in {"INACTIVE", "DRAINING"} or not configurations:
            return None
        configuration = configurations[0]
        image = (configuration.get("primaryContainer") or {}).get("image")
        if not image and configuration.get("taskDefinitionArn"):
            image = primary_image(self._task_definition(str(configuration["taskDefinitionArn"])))
        endpoint = next(
            (
                path.get("endpoint")
                for path in configuration.get("ingressPaths") or []
                if path.get("endpoint")
            ),
            None,
        )
        details = {"cluster": str(service.get("cluster", "")), "cpu_architecture": "X86_64"}
        if configuration.get("cpuArchitecture"):
            details["cpu_architecture"] = str(configuration["cpuArchitecture"])
        if configuration.get("taskDefinitionArn") and not configuration.get("primaryContainer"):
            details["task_definition"] = str(configuration["taskDefinitionArn"])
        return TargetService(
            kind=KIND,
            arn=str(service["serviceArn"]),
            name=str(service.get("serviceName", "")),
            status=str(status),
            image_identifier=str(image) if image else None,
            auto_deploy=False,
            busy=service.get("currentDeployment") is not None,
            required_platform=platform_of_architecture(configuration.get("cpuArchitecture")) or LINUX_AMD64,
            service_url=str(endpoint) if endpoint else None,
            details=details,
            tags=discovery.tags_of(service),
        )

    def _task_definition(self, arn: str) -> dict[str, Any]:
        try:
            return dict(self._client.describe_task_definition(taskDefinition=arn)["taskDefinition"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeTaskDefinition", arn) from exc

    @property
    def _writer(self) -> ECSClient:
        """UpdateExpressGatewayService starts a deployment at every attempt and takes no idempotency
        token: it is sent once, and a lost answer is looked into by the retry instead of re-sent."""
        if self._injected_writer is None:
            self._injected_writer = clients.client("ecs", single_attempt=True)
        return self._injected_writer

    def deploy(self, service: IndexedService, digest: str, *, image: str | None = None) -> str:
        # The update names the digest whatever tag was asked for.
        del image
        source = ImageRef.parse(service.image_identifier)
        pinned = f"{source.registry}/{source.repository}@{digest}"
        answer_lost = service.answer_lost_for(digest)
        if answer_lost:
            adopted = self._lost_update(service, digest)
            if adopted is not None:
                return adopted
        current = self._express(service.arn)
        configuration = (current.get("activeConfigurations") or [{}])[0]
        update: dict[str, Any] = {"serviceArn": service.arn}
        if configuration.get("primaryContainer"):
            update["primaryContainer"] = {**configuration["primaryContainer"], "image": pinned}
        elif configuration.get("taskDefinitionArn"):
            base = str(configuration["taskDefinitionArn"])
            if answer_lost:
                # The update did not go through; lost registrations may have: reuse one.
                decision = settle_copies(copies.find(self._client, base, digest, self._error), ())
                copies.deregister(self._client, decision.deregister, self._error)
                if decision.keep is not None:
                    update["taskDefinitionArn"] = decision.keep
            if "taskDefinitionArn" not in update:
                update["taskDefinitionArn"] = self._register(base, source, digest)
        else:
            raise NotFoundError(
                f"Express service {service.name} has neither a primary container nor a task definition"
            )
        try:
            response = self._writer.update_express_gateway_service(**update)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "UpdateExpressGatewayService", service.arn) from exc
        revision = (response["service"].get("targetConfiguration") or {}).get("serviceRevisionArn")
        if not revision:
            raise NotFoundError(f"UpdateExpressGatewayService on {service.arn} named no service revision")
        return str(revision)

    def _lost_update(self, service: IndexedService, digest: str) -> str | None:
        """The service revision an update whose answer was lost created for `digest`, if it went through:
        a service deployment that began after the push and targets a revision running the digest
        (whether it is still running, done or rolled back: it is this push's one deployment)."""
        lost = service.lost_answer
        since = lost.started if lost is not None else None
        revisions = [
            _target_revision(deployment)
            for deployment in self._service_deployments(service.arn)
            if _target_revision(deployment)
            and (since is None or not deployment.get("createdAt") or deployment["createdAt"] >= since)
        ][:_REVISIONS_READ]
        if not revisions:
            return None
        try:
            described = self._client.describe_service_revisions(serviceRevisionArns=revisions)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeServiceRevisions", service.arn) from exc
        for revision in described.get("serviceRevisions", []):
            images = revision.get("containerImages") or []
            if any(
                image.get("imageDigest") == digest or str(image.get("image", "")).endswith(f"@{digest}")
                for image in images
            ):
                return str(revision["serviceRevisionArn"])
        return None

    def _register(self, base: str, image: ImageRef, digest: str) -> str:
        register, changed = pinned_copy(
            self._task_definition(base), image=image, digest=digest, tags=release_tags(base, digest)
        )
        if not changed:
            raise NotFoundError(f"no container of {base} runs {image.registry}/{image.repository}")
        try:
            registered = self._client.register_task_definition(**register)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "RegisterTaskDefinition", base) from exc
        arn = str(registered["taskDefinition"]["taskDefinitionArn"])
        if copies.retried(registered):
            # botocore sent it more than once: earlier attempts may have registered copies unheard.
            decision = settle_copies(copies.find(self._client, base, digest, self._error), ())
            copies.deregister(self._client, decision.deregister, self._error)
            arn = decision.keep or arn
        return arn

    def _service_deployments(self, service_arn: str) -> list[dict[str, Any]]:
        cluster, _ = parse_service_arn(service_arn)
        try:
            listed = self._client.list_service_deployments(
                service=service_arn, cluster=cluster, maxResults=20
            )
            arns = [item["serviceDeploymentArn"] for item in listed.get("serviceDeployments", [])]
            if not arns:
                return []
            described = self._client.describe_service_deployments(serviceDeploymentArns=arns)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeServiceDeployments", service_arn) from exc
        return [dict(deployment) for deployment in described.get("serviceDeployments", [])]

    def recent_operations(self, service_arn: str) -> list[Operation]:
        deployments = sorted(
            self._service_deployments(service_arn),
            key=lambda item: str(item.get("createdAt", "")),
            reverse=True,
        )
        return [
            service_deployments.operation_of(
                deployment, str((deployment.get("targetServiceRevision") or {}).get("arn", ""))
            )
            for deployment in deployments
        ]

    def find_operation(self, service: IndexedService, operation_id: str) -> Operation | None:
        for deployment in self._service_deployments(service.arn):
            if (deployment.get("targetServiceRevision") or {}).get("arn") == operation_id:
                operation = service_deployments.operation_of(deployment, operation_id)
                if operation.outcome is Outcome.LIVE:
                    operation = operation.model_copy(
                        update={"reasons": self._architecture_override(service, operation_id)}
                    )
                return operation
        return None

    def _architecture_override(self, service: IndexedService, revision_arn: str) -> tuple[str, ...]:
        """Express may run the tasks on another architecture than asked when it detects a mismatch."""
        try:
            revisions = self._client.describe_service_revisions(serviceRevisionArns=[revision_arn])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeServiceRevisions", revision_arn) from exc
        asked = service.details.get("cpu_architecture", "X86_64")
        for revision in revisions.get("serviceRevisions", []):
            ran = ((revision.get("overrides") or {}).get("runtimePlatform") or {}).get("cpuArchitecture")
            if ran and ran != asked:
                return (f"ECS ran the tasks on {ran} instead of the {asked} the service asks for",)
        return ()

    def console_link(self, service: IndexedService) -> Link:
        cluster, name = parse_service_arn(service.arn)
        return Link(
            label="ECS console",
            url=f"https://{self._region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{name}/deployments?region={self._region}",
        )

    def failure_advice(self, service: IndexedService) -> str:
        return (
            "ECS Express Mode rolled the canary back: the previous revision keeps serving. Read the alarm"
            f" that fired and the stopped tasks' reasons (ECS console → {service.name} → Deployments and"
            " Tasks), fix, and push again."
        )


def _target_revision(deployment: Mapping[str, Any]) -> str:
    return str((deployment.get("targetServiceRevision") or {}).get("arn", ""))
