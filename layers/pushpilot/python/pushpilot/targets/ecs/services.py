"""Amazon ECS (Fargate and EC2) as a deploy target.

A push deploys by digest: a copy of the service's current task definition with the pushed repository's
containers pinned to `repository@sha256:…`, then UpdateService with it. ECS resolves a mutable tag once
per deployment, so `forceNewDeployment` could not prove which digest went out. The deployment's id,
taken from UpdateService's answer, is what its outcome is read by; a deployment that vanished from the
service was rolled back (or replaced), never "live".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error
from pushpilot.core.errors import NotFoundError, OutOfReachError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Link
from pushpilot.core.targets import Operation, Outcome, TargetService
from pushpilot.core.tracking import IndexedService
from pushpilot.core.verdicts import Platform
from pushpilot.targets.declared import DeclaredTarget
from pushpilot.targets.ecs import copies, discovery, service_deployments
from pushpilot.targets.ecs.declaration import DECLARATION, KIND
from pushpilot.targets.ecs.reach import ClusterScope
from pushpilot.targets.ecs.task_definitions import (
    BASE_TAG,
    DIGEST_TAG,
    CopyDecision,
    copy_tags,
    declared_platform,
    pinned_copy,
    platform_of_architecture,
    primary_image,
    release_tags,
    settle_copies,
)

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

_ROLLOUT_OUTCOMES: Final = {
    "COMPLETED": Outcome.LIVE,
    "FAILED": Outcome.FAILED,
    "IN_PROGRESS": Outcome.IN_PROGRESS,
}
_REASONS_SHOWN: Final = 5
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def parse_service_arn(service_arn: str) -> tuple[str, str]:
    """`arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` → (cluster, service)."""
    resource = service_arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) != 3 or parts[0] != "service":
        raise NotFoundError(f"{service_arn} is not an ECS service ARN in the cluster/service form")
    return parts[1], parts[2]


class EcsTarget(DeclaredTarget):
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
        self._region = region
        self._scope = clusters if isinstance(clusters, ClusterScope) else ClusterScope.parse(clusters)
        self._clusters = self._scope.configured
        # Services sharing a task definition share its registration within one invocation.
        self._registered: dict[tuple[str, str], str] = {}

    @property
    def _client(self) -> ECSClient:
        if self._injected is None:
            self._injected = clients.client("ecs")
        return self._injected

    def _error(self, exc: ClientError | BotoCoreError, action: str, target: str) -> Exception:
        return aws_error(exc, service="ecs", action=action, target=target)

    # --- discovery ------------------------------------------------------------------------------------

    def _describe_services(self, cluster: str, arns: Sequence[str]) -> list[dict[str, Any]]:
        return discovery.describe_services(self._client, cluster, arns, self._error)

    def _task_definition(
        self, arn: str, cache: dict[str, Mapping[str, Any]] | None = None
    ) -> Mapping[str, Any]:
        if cache is not None and arn in cache:
            return cache[arn]
        try:
            found: Mapping[str, Any] = dict(
                self._client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeTaskDefinition", arn) from exc
        if cache is not None:
            cache[arn] = found
        return found

    def list_services(self) -> list[TargetService]:
        """Every service of the scoped clusters that you manage (Express services have their own target)."""
        cache: dict[str, Mapping[str, Any]] = {}
        found = (
            self._target_service(cluster, service, cache)
            for cluster, service in discovery.services(self._client, self._clusters, self._error)
        )
        return [service for service in found if service is not None]

    def serves(self, service_arn: str) -> bool:
        """Only the services of the clusters in `EcsClusters` (every cluster when it is empty)."""
        return self._scope.covers_service(service_arn)

    def describe(self, service_arn: str) -> TargetService:
        if not self.serves(service_arn):
            raise OutOfReachError(f"{service_arn} is outside {self._scope.describe()} (EcsClusters)")
        cluster, _ = parse_service_arn(service_arn)
        services = self._describe_services(cluster, [service_arn])
        if not services or services[0].get("status") == "INACTIVE":
            raise NotFoundError(f"ECS service {service_arn} does not exist")
        described = self._target_service(cluster, services[0], {})
        if described is None:
            raise NotFoundError(f"{service_arn} is not a service pushpilot deploys to")
        return described

    def current_tags(self, service: IndexedService) -> dict[str, str]:
        """One DescribeServices with include=["TAGS"]: the tags as they are now, for a service this push
        would deploy to (the deployment itself reads the task definition, never the service)."""
        cluster = service.details.get("cluster") or parse_service_arn(service.arn)[0]
        services = self._describe_services(cluster, [service.arn])
        if not services or services[0].get("status") == "INACTIVE":
            raise NotFoundError(f"ECS service {service.arn} does not exist")
        return discovery.tags_of(services[0])

    def _target_service(
        self, cluster: str, service: Mapping[str, Any], cache: dict[str, Mapping[str, Any]]
    ) -> TargetService | None:
        if discovery.is_express(service) or service.get("status") == "INACTIVE":
            return None
        task_definition_arn = service.get("taskDefinition")
        if not task_definition_arn:
            return None
        task_definition = self._task_definition(task_definition_arn, cache)
        launch_type = _launch_type(service)
        platform = declared_platform(task_definition, launch_type=launch_type)
        if platform is None:
            platform = self._running_platform(service.get("clusterArn", cluster), str(service["serviceName"]))
        deployments = service.get("deployments") or []
        busy = service.get("status") != "ACTIVE" or any(
            deployment.get("rolloutState") == "IN_PROGRESS" for deployment in deployments
        )
        breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
        alarms = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
        details = {
            "cluster": str(service.get("clusterArn", cluster)),
            "task_definition": str(task_definition_arn),
            "launch_type": launch_type or "",
            "circuit_breaker": "rollback"
            if breaker.get("rollback")
            else "on"
            if breaker.get("enable")
            else "off",
            "alarms": "on" if alarms.get("enable") else "off",
        }
        log_group = _awslogs_group(task_definition)
        if log_group:
            details["log_group"] = log_group
        return TargetService(
            kind=KIND,
            arn=str(service["serviceArn"]),
            name=str(service["serviceName"]),
            status=str(service.get("status", "")),
            image_identifier=primary_image(task_definition),
            auto_deploy=False,
            busy=busy,
            required_platform=platform,
            details=details,
            tags=discovery.tags_of(service),
        )

    def _running_platform(self, cluster: str, service_name: str) -> Platform | None:
        """EC2 tasks run on their instance's architecture: read it off the running tasks' instances."""
        try:
            task_arns = self._client.list_tasks(
                cluster=cluster, serviceName=service_name, desiredStatus="RUNNING", maxResults=10
            ).get("taskArns", [])
            if not task_arns:
                return None
            tasks = self._client.describe_tasks(cluster=cluster, tasks=task_arns).get("tasks", [])
            architectures = {
                attribute.get("value")
                for task in tasks
                for attribute in task.get("attributes", [])
                if attribute.get("name") == "ecs.cpu-architecture"
            }
            instance_arns = [
                task["containerInstanceArn"] for task in tasks if task.get("containerInstanceArn")
            ]
            if not architectures and instance_arns:
                instances = self._client.describe_container_instances(
                    cluster=cluster, containerInstances=instance_arns
                ).get("containerInstances", [])
                architectures = {
                    attribute.get("value")
                    for instance in instances
                    for attribute in instance.get("attributes", [])
                    if attribute.get("name") == "ecs.cpu-architecture"
                }
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeTasks", f"{cluster}/{service_name}") from exc
        platforms = {platform_of_architecture(value) for value in architectures}
        # A cluster that mixes architectures cannot promise one: the image must be checked as unknown.
        return platforms.pop() if len(platforms) == 1 else None

    # --- deployment ---------------------------------------------------------------------------------

    def deploy(self, service: IndexedService, digest: str, *, image: str | None = None) -> str:
        # A pinned task definition copy names the digest whatever tag was asked for.
        del image
        cluster = service.details.get("cluster") or parse_service_arn(service.arn)[0]
        base = service.details.get("task_definition")
        if not base:
            raise NotFoundError(
                f"the index holds no task definition for {service.name}: wait for the refresh"
            )
        source = ImageRef.parse(service.image_identifier)
        settled: str | None = None
        if service.answer_lost_for(digest):
            # An earlier attempt may have registered copies, even started the deployment, unheard.
            decision = self._settle(service, cluster, base, digest)
            if decision.adopt is not None:
                return decision.adopt
            settled = decision.keep
        task_definition = (
            settled or self._registered.get((base, digest)) or self._register(base, source, digest)
        )
        try:
            # botocore may send this again after a lost answer: the same task definition again, which
            # changes nothing (a service definition without changes starts no deployment unless forced).
            response = self._client.update_service(
                cluster=cluster, service=service.arn, taskDefinition=task_definition
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "UpdateService", service.arn) from exc
        deployments = response["service"].get("deployments", [])
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        if primary is None or "id" not in primary:
            raise NotFoundError(f"UpdateService on {service.arn} answered with no primary deployment")
        return str(primary["id"])

    def _settle(self, service: IndexedService, cluster: str, base: str, digest: str) -> CopyDecision:
        """After a lost answer: the copy registered for this release to reuse (deregistering the others)
        and the deployment that already runs it to adopt, if any."""
        try:
            described_base = self._client.describe_task_definition(taskDefinition=base, include=["TAGS"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeTaskDefinition", base) from exc
        tags = copy_tags(described_base.get("tags", []))
        if tags.get(DIGEST_TAG) == digest and tags.get(BASE_TAG):
            # The index already names our copy (an event of the lost attempt's deployment refreshed it):
            # the copies of this release are the ones of the revision it was copied from.
            base = tags[BASE_TAG]
        found = copies.find(self._client, base, digest, self._error)
        if not found:
            return settle_copies((), ())
        described = self._describe_services(cluster, [service.arn])
        deployments: list[Mapping[str, Any]] = list(described[0].get("deployments", []) if described else [])
        if not any(deployment.get("taskDefinition") in found for deployment in deployments):
            # Gone from the service already (a circuit breaker rolled it back before this retry): the
            # service deployments since the push still tell whether a copy was deployed.
            deployments += self._deployed_since(service, cluster)
        decision = settle_copies(found, deployments)
        copies.deregister(self._client, decision.deregister, self._error)
        if decision.keep is not None:
            self._registered[base, digest] = decision.keep
        return decision

    def _deployed_since(self, service: IndexedService, cluster: str) -> list[dict[str, str]]:
        """Service deployments begun since the lost attempt's push, as `{id, status, taskDefinition}`:
        the id is the service deployment's ARN, which the outcome is then read by (see `_vanished`)."""
        if service.lost_answer is None:
            return []
        found = self._service_deployments(service, cluster, after=service.lost_answer.started)
        targets = {
            str(deployment["serviceDeploymentArn"]): str(
                (deployment.get("targetServiceRevision") or {})["arn"]
            )
            for deployment in found
            if (deployment.get("targetServiceRevision") or {}).get("arn")
        }
        try:
            revisions = (
                self._client.describe_service_revisions(serviceRevisionArns=list(targets.values())[:20]).get(
                    "serviceRevisions", []
                )
                if targets
                else []
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeServiceRevisions", service.arn) from exc
        task_definitions = {
            str(revision.get("serviceRevisionArn")): str(revision.get("taskDefinition", ""))
            for revision in revisions
        }
        statuses = {str(d["serviceDeploymentArn"]): str(d.get("status", "")) for d in found}
        return [
            {"id": arn, "status": statuses.get(arn, ""), "taskDefinition": task_definitions.get(revision, "")}
            for arn, revision in targets.items()
        ]

    def _register(self, base: str, image: ImageRef, digest: str) -> str:
        try:
            described = self._client.describe_task_definition(taskDefinition=base, include=["TAGS"])
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeTaskDefinition", base) from exc
        tags = [
            {"key": str(tag.get("key", "")), "value": str(tag.get("value", ""))}
            for tag in described.get("tags", [])
            if not str(tag.get("key", "")).startswith("pushpilot:")
        ]
        tags += release_tags(base, digest)
        register, changed = pinned_copy(
            dict(described["taskDefinition"]), image=image, digest=digest, tags=tags
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
            # Only then are the copies read (the happy path pays nothing); nothing runs any yet.
            decision = settle_copies(copies.find(self._client, base, digest, self._error), ())
            copies.deregister(self._client, decision.deregister, self._error)
            arn = decision.keep or arn
        self._registered[base, digest] = arn
        return arn

    # --- outcome --------------------------------------------------------------------------------------

    def _service(self, service_arn: str) -> Mapping[str, Any]:
        cluster, _ = parse_service_arn(service_arn)
        services = self._describe_services(cluster, [service_arn])
        if not services:
            raise NotFoundError(f"ECS service {service_arn} does not exist")
        return services[0]

    def recent_operations(self, service_arn: str) -> list[Operation]:
        service = self._service(service_arn)
        operations = [_operation_of(deployment, service) for deployment in service.get("deployments", [])]
        return sorted(operations, key=lambda op: op.started_at or _EPOCH, reverse=True)

    def find_operation(self, service: IndexedService, operation_id: str) -> Operation | None:
        described = self._service(service.arn)
        deployment = next((d for d in described.get("deployments", []) if d.get("id") == operation_id), None)
        if deployment is not None:
            operation = _operation_of(deployment, described)
            if operation.outcome is Outcome.ROLLED_BACK:
                # The breaker failed our deployment and rolls back: its rollback's own state says whether
                # the previous release is back yet (ROLLBACK_IN_PROGRESS) or could not be (ROLLBACK_FAILED).
                operation = self._with_rollback_state(service, operation)
        else:
            operation = self._vanished(service, operation_id)
        if operation.outcome in service_deployments.BAD_OUTCOMES:
            operation = operation.model_copy(
                update={"reasons": operation.reasons + self._stopped_reasons(service, operation_id)}
            )
        if operation.outcome is Outcome.ROLLBACK_FAILED and deployment is not None:
            # Why the rollback failed is in its own stopped tasks: the deployments begun after ours.
            rollbacks = [
                str(other["id"])
                for other in described.get("deployments", [])
                if other.get("id") not in {None, operation_id}
                and (other.get("createdAt") or _EPOCH) >= (deployment.get("createdAt") or _EPOCH)
            ]
            extra = tuple(
                reason for rollback in rollbacks for reason in self._stopped_reasons(service, rollback)
            )
            operation = operation.model_copy(update={"reasons": operation.reasons + extra})
        return operation

    def _with_rollback_state(self, service: IndexedService, operation: Operation) -> Operation:
        found = self._our_service_deployment(service)
        if found is None:
            return operation
        outcome = service_deployments.outcome_of(found)
        if outcome not in {Outcome.ROLLING_BACK, Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED}:
            return operation
        return operation.model_copy(
            update={
                "outcome": outcome,
                "status": str(found.get("status", operation.status)),
                "reasons": tuple(dict.fromkeys(operation.reasons + service_deployments.reasons_of(found))),
            }
        )

    def _service_deployments(
        self, service: IndexedService, cluster: str, *, after: datetime | None = None
    ) -> list[Mapping[str, Any]]:
        """The service's newest service deployments (one page of 20, newest first), begun after `after`
        when given, described."""
        since: dict[str, Any] = {"createdAt": {"after": after}} if after is not None else {}
        try:
            listed = self._client.list_service_deployments(
                service=service.arn, cluster=cluster, maxResults=20, **since
            )
            arns = [item["serviceDeploymentArn"] for item in listed.get("serviceDeployments", [])][:20]
            if not arns:
                return []
            described = self._client.describe_service_deployments(serviceDeploymentArns=arns)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeServiceDeployments", service.arn) from exc
        return list(described.get("serviceDeployments", []))

    def _our_service_deployment(self, service: IndexedService) -> Mapping[str, Any] | None:
        """The service deployment that ended ours badly (or is rolling it back): the first one ECS lists
        (newest first) that began no earlier than our deployment and is not a success in progress."""
        cluster = service.details.get("cluster") or parse_service_arn(service.arn)[0]
        ours = service.in_flight.started if service.in_flight else None
        for deployment in self._service_deployments(service, cluster):
            created = deployment.get("createdAt")
            if ours is not None and created is not None and created < ours:
                continue
            if service_deployments.outcome_of(deployment) in service_deployments.BAD_OUTCOMES:
                return deployment
        return None

    def _vanished(self, service: IndexedService, operation_id: str) -> Operation:
        """Our deployment is no longer on the service: ECS rolled it back, or another replaced it."""
        found = self._our_service_deployment(service)
        if found is None:
            outcome = Outcome.UNKNOWN
            reasons: tuple[str, ...] = (
                "the deployment is no longer on the service and ECS records no rollback of it",
            )
        else:
            outcome = service_deployments.outcome_of(found)
            reasons = service_deployments.reasons_of(found)
        return Operation(
            operation_id=operation_id,
            deploys_image=True,
            outcome=outcome,
            status=str(outcome),
            reasons=reasons,
        )

    def _stopped_reasons(self, service: IndexedService, deployment_id: str) -> tuple[str, ...]:
        """What the deployment's stopped tasks say: the reason people need to fix it."""
        cluster = service.details.get("cluster") or parse_service_arn(service.arn)[0]
        try:
            task_arns = self._client.list_tasks(
                cluster=cluster, startedBy=deployment_id, desiredStatus="STOPPED", maxResults=10
            ).get("taskArns", [])
            tasks = (
                self._client.describe_tasks(cluster=cluster, tasks=task_arns).get("tasks", [])
                if task_arns
                else []
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "DescribeTasks", service.arn) from exc
        reasons: list[str] = []
        for task in tasks:
            parts = [str(task.get("stoppedReason") or task.get("stopCode") or "stopped")]
            for container in task.get("containers", []):
                if container.get("exitCode") not in {None, 0}:
                    parts.append(
                        f"container {container.get('name')} exited with code {container.get('exitCode')}"
                    )
                if container.get("reason"):
                    parts.append(f"container {container.get('name')}: {container.get('reason')}")
            line = "; ".join(parts)
            if line not in reasons:
                reasons.append(line)
        return tuple(reasons[:_REASONS_SHOWN])

    # --- for people -----------------------------------------------------------------------------------

    def console_link(self, service: IndexedService) -> Link:
        cluster = (service.details.get("cluster") or "").rsplit("/", 1)[-1] or parse_service_arn(service.arn)[
            0
        ]
        return Link(
            label="ECS console",
            url=f"https://{self._region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service.name}/deployments?region={self._region}",
        )

    def failure_advice(self, service: IndexedService) -> str:
        logs = service.details.get("log_group")
        where = f" and its logs (CloudWatch log group {logs})" if logs else ""
        breaker = service.details.get("circuit_breaker", "off")
        keeps = (
            "ECS rolls back to the previous task definition, which keeps serving."
            if breaker == "rollback"
            else "The previous tasks keep serving while ECS can."
        )
        return (
            f"{keeps} Read the stopped tasks' reasons (ECS console → {service.name} → Tasks){where},"
            " fix, and push again. 'exec format error' or exit code 1 at start often means the image's"
            " platform does not match the task's CPU architecture."
        )


def _launch_type(service: Mapping[str, Any]) -> str | None:
    if service.get("launchType"):
        return str(service["launchType"])
    providers = [item.get("capacityProvider", "") for item in service.get("capacityProviderStrategy") or []]
    if providers and all(str(provider).startswith("FARGATE") for provider in providers):
        return "FARGATE"
    return None


def _awslogs_group(task_definition: Mapping[str, Any]) -> str | None:
    for container in task_definition.get("containerDefinitions") or ():
        configuration = container.get("logConfiguration") or {}
        if configuration.get("logDriver") == "awslogs":
            group = (configuration.get("options") or {}).get("awslogs-group")
            if group:
                return str(group)
    return None


def _operation_of(deployment: Mapping[str, Any], service: Mapping[str, Any]) -> Operation:
    state = str(deployment.get("rolloutState", "IN_PROGRESS"))
    outcome = _ROLLOUT_OUTCOMES.get(state, Outcome.IN_PROGRESS)
    breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
    if outcome is Outcome.FAILED and breaker.get("rollback"):
        outcome = Outcome.ROLLED_BACK
    reason = deployment.get("rolloutStateReason")
    return Operation(
        operation_id=str(deployment.get("id", "")),
        deploys_image=True,
        outcome=outcome,
        status=state,
        started_at=deployment.get("createdAt"),
        ended_at=deployment.get("updatedAt") if outcome is not Outcome.IN_PROGRESS else None,
        reasons=(str(reason),) if reason and outcome is not Outcome.LIVE else (),
    )
