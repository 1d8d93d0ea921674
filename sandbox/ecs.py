"""An Amazon ECS that answers the operations moto lacks or gets wrong, for an unmodified boto3 client.

The gateway hands it the ECS operations it owns (`owns`); every other ECS operation (task definitions
above all) goes on to moto. It keeps clusters, container instances, services with their deployments
(`ecs-svc/<19 digits>`), service deployments and revisions, tasks, and Express Mode services; checks
every request with botocore's model and every answer against it; and emits the `aws.ecs` events ECS
would. How a deployment ends is the scenario's choice (`complete_deployment`), a Python call no client
can reach.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http import HTTPStatus

from pushpilot_sandbox.ecs_operations import EcsOperations
from pushpilot_sandbox.ecs_records import (
    ROLLOUT_IN_PROGRESS,
    Cluster,
    ContainerInstance,
    Json,
    Outcome,
    RollbackOutcome,
    Service,
    ServiceDeployment,
    Task,
    hex32,
)
from pushpilot_sandbox.ecs_state import (
    _INSTANCE_TYPES,
    _TAG_OPERATIONS,
    Emit,
    EmulatedAnswer,
    EmulatorError,
    NoDeploymentInProgressError,
    UnknownServiceError,
    _Failure,
    _parse_body,
    _Reply,
    _utc_now,
)
from pushpilot_sandbox.ecs_task_definitions import TaskDefinitionStore
from pushpilot_sandbox.emulator import ApiError

# The errors a scenario control raises are part of this module's face.
__all__ = [
    "EcsEmulator",
    "EmulatedAnswer",
    "EmulatorError",
    "NoDeploymentInProgressError",
    "UnknownServiceError",
]


class EcsEmulator(EcsOperations):
    """ECS services, deployments and Express Mode for one account and region. Ids are derived from a
    counter, so runs repeat exactly."""

    def __init__(
        self,
        *,
        task_definitions: TaskDefinitionStore,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        emit: Emit = lambda _event: None,
        resolve_digest: Callable[[str], str | None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self._task_definitions = task_definitions
        self._emit = emit
        self._resolve_digest = resolve_digest or (lambda _image: None)
        self._clock = clock
        self._lock = threading.RLock()
        self._quiet = False
        self._sequence = 0
        self._clusters: dict[str, Cluster] = {}  # by name
        self._instances: dict[str, ContainerInstance] = {}  # by ARN
        self._services: dict[str, Service] = {}  # by ARN, in creation order
        self._tasks: dict[str, Task] = {}  # by ARN, in creation order
        self._handlers: dict[str, Callable[[Json], _Reply]] = {
            "CreateCluster": self._create_cluster,
            "DescribeClusters": self._describe_clusters,
            "ListClusters": self._list_clusters,
            "CreateService": self._create_service,
            "UpdateService": self._update_service,
            "DescribeServices": self._describe_services,
            "ListServices": self._list_services,
            "DeleteService": self._delete_service,
            "ListServiceDeployments": self._list_service_deployments,
            "DescribeServiceDeployments": self._describe_service_deployments,
            "DescribeServiceRevisions": self._describe_service_revisions,
            "ListTasks": self._list_tasks,
            "DescribeTasks": self._describe_tasks,
            "ListContainerInstances": self._list_container_instances,
            "DescribeContainerInstances": self._describe_container_instances,
            "ListTagsForResource": self._list_tags,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
            "CreateExpressGatewayService": self._create_express,
            "UpdateExpressGatewayService": self._update_express,
            "DescribeExpressGatewayService": self._describe_express,
            "DeleteExpressGatewayService": self._delete_express,
        }

    # --- routing and the wire ----------------------------------------------------------------------

    def owns(self, operation: str, params: Json) -> bool:
        """Whether this emulator answers `operation`; everything else (task definitions...) is moto's."""
        if operation not in self._handlers:
            return False
        if operation in _TAG_OPERATIONS:
            return self._owns_arn(str(params.get("resourceArn", "")))
        return True

    def answer(self, operation: str, body: bytes) -> EmulatedAnswer:
        """One awsJson 1.1 request in, its answer out; events are emitted before the answer returns."""
        params = _parse_body(body)
        try:
            reply = self._checked(operation, params)
        except ApiError as error:
            return EmulatedAnswer(error.status, self._dialect.error_body(error))
        self._deliver(reply.events)
        return EmulatedAnswer(HTTPStatus.OK, reply.body)

    def _deliver(self, emitted: list[Json]) -> None:
        # Outside the lock: a subscriber may call back into the emulator.
        if self._quiet:
            return
        for event in emitted:
            self._emit(event)

    # --- scenario controls -------------------------------------------------------------------------

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Emit nothing while inside (scenario setup: services exist before the story starts)."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def reset(self) -> None:
        with self._lock:
            self._clusters.clear()
            self._instances.clear()
            self._services.clear()
            self._tasks.clear()
            self._sequence = 0

    def service(self, name_or_arn: str) -> Service:
        """A snapshot of one service (by name, unique across clusters, or ARN)."""
        with self._lock:
            return copy.deepcopy(self._find_service(name_or_arn))

    def tasks(self, service: str) -> list[Task]:
        with self._lock:
            record = self._find_service(service)
            return [copy.deepcopy(task) for task in self._tasks.values() if task.service_name == record.name]

    def register_container_instance(self, cluster: str, architecture: str) -> str:
        """An EC2 instance joins `cluster` (as the ECS agent would register it); its ARN."""
        if architecture not in _INSTANCE_TYPES:
            raise EmulatorError(f"architecture must be one of {', '.join(_INSTANCE_TYPES)}")
        with self._lock:
            found = self._clusters.get(cluster)
            if found is None:
                raise EmulatorError(f"no ECS cluster {cluster!r}")
            number = self._next()
            arn = (
                f"arn:aws:ecs:{self.region}:{self.account_id}:container-instance/{cluster}/"
                f"{hex32('instance', cluster, str(number))}"
            )
            self._instances[arn] = ContainerInstance(
                arn=arn,
                cluster_arn=found.arn,
                ec2_instance_id=f"i-{hex32('ec2', arn)[:17]}",
                architecture=architecture,
                instance_type=_INSTANCE_TYPES[architecture],
                availability_zone=f"{self.region}a",
                registered_at=self._clock(),
            )
            return arn

    def complete_deployment(
        self,
        service: str,
        outcome: Outcome,
        *,
        stopped_reason: str | None = None,
        exit_code: int | None = None,
        rollback: RollbackOutcome = "succeeded",
    ) -> ServiceDeployment:
        """End (or, for `stuck`, prolong) the service's deployment in progress the way ECS would.

        A rollback (`rolled_back`, or `failed` on Express) completes unless `rollback` says it fails or
        stays in progress; a rollback in progress is ended by the next call (`succeeded` or `failed`).
        """
        with self._lock:
            record = self._find_service(service)
            deployment = record.primary
            if deployment is None or deployment.rollout_state != ROLLOUT_IN_PROGRESS:
                raise NoDeploymentInProgressError(f"service {record.name} has no deployment in progress")
            sd = self._service_deployment_of(record, deployment)
            failure = _Failure.of(stopped_reason, exit_code)
            emitted: list[Json] = []
            rolls_back = outcome == "rolled_back" or (outcome == "failed" and record.express is not None)
            if rollback != "succeeded" and (not rolls_back or sd.status == "ROLLBACK_IN_PROGRESS"):
                raise EmulatorError("rollback: only an outcome that rolls back says how its rollback ends")
            if sd.status == "ROLLBACK_IN_PROGRESS":
                self._continue_rollback(
                    record, deployment, sd, outcome=outcome, failure=failure, emitted=emitted
                )
            elif outcome == "succeeded":
                self._succeed(record, deployment, sd, emitted)
            elif outcome == "stuck":
                self._stall(record, deployment, failure, emitted)
            elif outcome == "failed":
                self._check_can_fail(record)
                if record.express is not None:
                    self._rollback(record, deployment, sd, failure, emitted, by_alarm=False, then=rollback)
                else:
                    self._fail(record, deployment, sd, failure, emitted)
            else:
                by_alarm = self._rollback_trigger(record)
                self._rollback(record, deployment, sd, failure, emitted, by_alarm=by_alarm, then=rollback)
            snapshot = copy.deepcopy(sd)
        self._deliver(emitted)
        return snapshot

    def advance_canary(self, service: str) -> ServiceDeployment:
        """An Express canary moves to its next bake period (5 % of traffic, then 100 %) without ending."""
        with self._lock:
            record = self._find_service(service)
            deployment = record.primary
            if (
                record.express is None
                or deployment is None
                or deployment.rollout_state != ROLLOUT_IN_PROGRESS
            ):
                raise NoDeploymentInProgressError(f"service {record.name} has no canary in progress")
            sd = self._service_deployment_of(record, deployment)
            if sd.bakes_done >= 2:
                raise EmulatorError(f"the canary of {record.name} has baked twice: complete it")
            self._bake(record, deployment, sd)
            return copy.deepcopy(sd)
