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
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Final

from pushpilot_sandbox import ecs_events as events
from pushpilot_sandbox import ecs_express as express
from pushpilot_sandbox.ecs_model import PAGE_SIZES, input_problems, output_problems
from pushpilot_sandbox.ecs_records import (
    ROLLOUT_COMPLETED,
    ROLLOUT_FAILED,
    ROLLOUT_IN_PROGRESS,
    Cluster,
    ContainerImage,
    ContainerInstance,
    Deployment,
    ExpressService,
    Json,
    Outcome,
    Revision,
    RollbackOutcome,
    Service,
    ServiceDeployment,
    Task,
    base62,
    hex32,
    nineteen_digits,
)
from pushpilot_sandbox.ecs_task_definitions import NewTaskDefinition, TaskDefinitionStore, TaskDefinitionView
from pushpilot_sandbox.page_tokens import PageTokenError, read_token, write_token

type Emit = Callable[[Json], None]

DEFAULT_CLUSTER: Final = "default"
DEFAULT_STOPPED_REASON: Final = "Essential container in task exited"
_ARCH_CONSTRAINT_PREFIX: Final = "attribute:ecs.cpu-architecture"
_INSTANCE_TYPES: Final = {"x86_64": "m5.large", "arm64": "m7g.large"}
_SERVICE_EVENTS_KEPT: Final = 100
_TAG_OPERATIONS: Final = frozenset({"ListTagsForResource", "TagResource", "UntagResource"})


class EmulatorError(RuntimeError):
    """A scenario control was used in a way ECS could not honour."""


class NoDeploymentInProgressError(EmulatorError):
    pass


class UnknownServiceError(EmulatorError, LookupError):
    pass


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class EmulatedAnswer:
    status: int
    body: Json


@dataclass(slots=True)
class _Reply:
    body: Json
    events: list[Json] = field(default_factory=list)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _epoch(moment: datetime) -> float:
    return round(moment.timestamp(), 3)


def _clean(body: Json) -> Json:
    """ECS leaves absent members out of its answers: no nulls on the wire."""
    return {key: value for key, value in body.items() if value is not None}


class EcsEmulator:
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

    @property
    def supported_operations(self) -> frozenset[str]:
        return frozenset(self._handlers)

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
            reply = self._answer(operation, params)
        except ApiError as error:
            return EmulatedAnswer(error.status, {"__type": error.code, "message": error.message})
        self._deliver(reply.events)
        return EmulatedAnswer(HTTPStatus.OK, reply.body)

    def _answer(self, operation: str, params: Json | None) -> _Reply:
        if operation not in self._handlers:
            raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
        if params is None:
            raise ApiError("SerializationException", "The request body is not a JSON object.")
        problems = input_problems(operation, params)
        if problems:
            raise ApiError("InvalidParameterException", "; ".join(problems))
        try:
            with self._lock:
                reply = self._handlers[operation](params)
        except express.ExpressRequestError as error:
            raise ApiError("InvalidParameterException", str(error)) from error
        problems = output_problems(operation, reply.body)
        if problems:
            # An emulator bug must fail loudly, never hand a client a shape ECS would not send.
            raise ApiError(
                "ServerException",
                f"the emulator built an invalid {operation} response: {'; '.join(problems)}",
                HTTPStatus.INTERNAL_SERVER_ERROR,
            )
        return reply

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

    # --- checks behind the controls (lock held) ----------------------------------------------------

    def _check_can_fail(self, record: Service) -> None:
        if record.express is not None:
            return
        breaker = record.circuit_breaker
        if not breaker.get("enable"):
            raise EmulatorError(
                f"service {record.name} has no deployment circuit breaker: ECS never fails its deployment "
                "(use outcome stuck)"
            )
        if breaker.get("rollback"):
            raise EmulatorError(
                f"the circuit breaker of {record.name} rolls back: its failure is outcome rolled_back"
            )

    def _rollback_trigger(self, record: Service) -> bool:
        """True when an alarm rolls the deployment back, False for the circuit breaker."""
        if record.express is not None:
            return True
        breaker, alarms = record.circuit_breaker, record.alarms
        if breaker.get("enable") and breaker.get("rollback"):
            return False
        if alarms.get("enable") and alarms.get("rollback") and alarms.get("alarmNames"):
            return True
        raise EmulatorError(
            f"service {record.name} rolls nothing back: it needs a circuit breaker (or alarms) with rollback"
        )

    # --- the deployment state machine (lock held) --------------------------------------------------

    def _start_deployment(self, record: Service, revision: Revision, emitted: list[Json]) -> Deployment:
        now = self._clock()
        number = self._next()
        deployment = Deployment(
            id=f"ecs-svc/{nineteen_digits('deployment', record.arn, str(number))}",
            status="PRIMARY",
            revision=revision,
            desired_count=record.desired_count,
            created_at=now,
            updated_at=now,
        )
        deployment.rollout_state_reason = f"ECS deployment {deployment.id} in progress."
        for older in record.deployments:
            older.status = "ACTIVE"
            older.desired_count = 0
        for sd in record.service_deployments:
            if sd.status in {"PENDING", "IN_PROGRESS"}:
                # A newer deployment takes over: ECS stops the one in progress and says nothing else.
                sd.status = "STOPPED"
                sd.status_reason = "A newer service deployment started."
                sd.stopped_at = sd.finished_at = sd.updated_at = now
        sources = [record.stable.revision] if record.stable is not None else []
        sd = ServiceDeployment(
            arn=self._child_arn("service-deployment", record, base62(22, "sd", record.arn, str(number))),
            service_arn=record.arn,
            cluster_arn=record.cluster_arn,
            deployment_id=deployment.id,
            created_at=now,
            updated_at=now,
            started_at=now,
            target=revision,
            sources=sources,
            status="IN_PROGRESS",
            lifecycle_stage="SCALE_UP" if record.express is not None else "RECONCILE_SERVICE",
            deployment_configuration=copy.deepcopy(record.deployment_configuration),
            circuit_breaker=self._breaker_monitor(record),
            alarms=self._alarm_monitor(record),
            target_weight=0.0 if record.express is not None else None,
        )
        deployment.service_deployment_arn = sd.arn
        record.deployments.insert(0, deployment)
        record.service_deployments.append(sd)
        record.task_definition = revision.task_definition
        if record.express is not None:
            record.express.current_deployment = sd.arn
            record.express.updated_at = now
        emitted.append(
            self._deployment_event(
                record, now, events.DEPLOYMENT_IN_PROGRESS, deployment.id, deployment.rollout_state_reason
            )
        )
        return deployment

    def _succeed(
        self, record: Service, deployment: Deployment, sd: ServiceDeployment, emitted: list[Json]
    ) -> None:
        if record.express is not None:
            while sd.bakes_done < 2:
                self._bake(record, deployment, sd)
        now = self._clock()
        # An Express canary's first task already runs: start only what the desired count still needs.
        running = sum(
            1
            for task in self._tasks.values()
            if task.started_by == deployment.id and task.last_status == "RUNNING"
        )
        started = self._start_tasks(record, deployment, max(0, record.desired_count - running), now)
        emitted.extend(self._task_event(task, now) for task in started)
        stopped = self._stop_other_tasks(record, deployment, now)
        emitted.extend(self._task_event(task, now) for task in stopped)
        deployment.rollout_state = ROLLOUT_COMPLETED
        deployment.rollout_state_reason = f"ECS deployment {deployment.id} completed."
        deployment.running_count = record.desired_count
        deployment.pending_count = 0
        deployment.updated_at = now
        record.deployments = [deployment]
        record.stable = deployment
        sd.status = "SUCCESSFUL"
        sd.status_reason = None
        sd.lifecycle_stage = "CLEAN_UP"
        sd.finished_at = sd.updated_at = now
        sd.target_weight = 100.0 if sd.target_weight is not None else None
        self._monitors_complete(sd)
        if record.express is not None:
            record.express.current_deployment = None
            record.express.updated_at = now
        self._service_event(record, now, f"(service {record.name}) has reached a steady state.")
        emitted.append(
            self._deployment_event(
                record, now, events.DEPLOYMENT_COMPLETED, deployment.id, deployment.rollout_state_reason
            )
        )
        emitted.append(self._steady_state_event(record, now))

    def _stall(self, record: Service, deployment: Deployment, failure: _Failure, emitted: list[Json]) -> None:
        now = self._clock()
        (task,) = self._start_tasks(record, deployment, 1, now)
        self._stop_task(task, failure, now)
        deployment.failed_tasks += 1
        deployment.updated_at = now
        emitted.append(self._task_event(task, now))
        sd = self._service_deployment_of(record, deployment)
        sd.updated_at = now
        if sd.circuit_breaker is not None and sd.circuit_breaker["status"] == "MONITORING":
            sd.circuit_breaker["failureCount"] = deployment.failed_tasks

    def _fail(
        self,
        record: Service,
        deployment: Deployment,
        sd: ServiceDeployment,
        failure: _Failure,
        emitted: list[Json],
    ) -> None:
        """The circuit breaker trips without rollback: the deployment FAILED, the old tasks keep running."""
        now = self._clock()
        self._fail_tasks(record, deployment, failure, now, emitted)
        reason = "ECS deployment circuit breaker: task failed to start."
        deployment.rollout_state = ROLLOUT_FAILED
        deployment.rollout_state_reason = reason
        deployment.updated_at = now
        sd.status = "STOPPED"
        sd.status_reason = reason
        sd.stopped_at = sd.finished_at = sd.updated_at = now
        if sd.circuit_breaker is not None:
            sd.circuit_breaker.update(status="TRIGGERED", failureCount=deployment.failed_tasks)
        self._service_event(
            record,
            now,
            f"(service {record.name}) deployment {deployment.id} deployment failed: tasks failed to start.",
        )
        emitted.append(self._deployment_event(record, now, events.DEPLOYMENT_FAILED, deployment.id, reason))

    def _rollback(
        self,
        record: Service,
        deployment: Deployment,
        sd: ServiceDeployment,
        failure: _Failure,
        emitted: list[Json],
        *,
        by_alarm: bool,
        then: RollbackOutcome,
    ) -> None:
        stable = record.stable
        if stable is None:
            raise EmulatorError(
                f"service {record.name} has never completed a deployment: nothing to roll back to"
            )
        now = self._clock()
        if by_alarm:
            if record.express is not None and sd.bakes_done == 0:
                self._bake(record, deployment, sd)
            alarm_names = list(record.alarms.get("alarmNames") or [])
            fired = alarm_names[:1]
            failed_reason = f"ECS deployment alarms: alarm(s) {', '.join(fired)} in ALARM state."
            rollback_reason = f"ECS deployment alarms: rolling back to deploymentId {stable.id}."
            sd.alarms = {"status": "TRIGGERED", "alarmNames": alarm_names, "triggeredAlarmNames": fired}
            stopped = self._stop_tasks_of(
                deployment, now, f"Scaling activity initiated by (deployment {deployment.id})"
            )
            emitted.extend(self._task_event(task, now) for task in stopped)
        else:
            self._fail_tasks(record, deployment, failure, now, emitted)
            failed_reason = "ECS deployment circuit breaker: task failed to start."
            rollback_reason = f"ECS deployment circuit breaker: rolling back to deploymentId {stable.id}."
            if sd.circuit_breaker is not None:
                sd.circuit_breaker.update(status="TRIGGERED", failureCount=deployment.failed_tasks)
        deployment.rollout_state = ROLLOUT_FAILED
        deployment.rollout_state_reason = failed_reason
        deployment.updated_at = now
        emitted.append(
            self._deployment_event(record, now, events.DEPLOYMENT_FAILED, deployment.id, failed_reason)
        )
        sd.status = "ROLLBACK_REQUESTED"
        sd.rollback = {"reason": failed_reason, "startedAt": now, "serviceRevisionArn": stable.revision.arn}
        # The rollback is a new deployment of the last stable revision, told by its `reason`.
        number = self._next()
        rollback = Deployment(
            id=f"ecs-svc/{nineteen_digits('deployment', record.arn, str(number))}",
            status="PRIMARY",
            revision=stable.revision,
            desired_count=record.desired_count,
            created_at=now,
            updated_at=now,
            rollout_state_reason=rollback_reason,
            service_deployment_arn=sd.arn,
        )
        deployment.status = "ACTIVE"
        record.deployments.insert(0, rollback)
        record.task_definition = stable.revision.task_definition
        sd.status = "ROLLBACK_IN_PROGRESS"
        emitted.append(
            self._deployment_event(record, now, events.DEPLOYMENT_IN_PROGRESS, rollback.id, rollback_reason)
        )
        if then == "succeeded":
            self._finish_rollback(record, rollback, sd, stable, emitted)
        elif then == "failed":
            self._fail_rollback(record, rollback, sd, failure, emitted)

    def _continue_rollback(
        self,
        record: Service,
        rollback: Deployment,
        sd: ServiceDeployment,
        *,
        outcome: Outcome,
        failure: _Failure,
        emitted: list[Json],
    ) -> None:
        """The rollback deployment in progress ends (or goes on failing, for `stuck`)."""
        if outcome == "succeeded" and record.stable is not None:
            self._finish_rollback(record, rollback, sd, record.stable, emitted)
        elif outcome == "failed":
            self._fail_rollback(record, rollback, sd, failure, emitted)
        elif outcome == "stuck":
            self._stall(record, rollback, failure, emitted)
        else:
            raise EmulatorError(f"service {record.name} is already rolling back: it succeeds or fails")

    def _fail_rollback(
        self,
        record: Service,
        rollback: Deployment,
        sd: ServiceDeployment,
        failure: _Failure,
        emitted: list[Json],
    ) -> None:
        """The rollback's own tasks fail too: ROLLBACK_FAILED, and the service is left as it is."""
        now = self._clock()
        self._fail_tasks(record, rollback, failure, now, emitted)
        reason = "ECS deployment circuit breaker: task failed to start."
        rollback.rollout_state = ROLLOUT_FAILED
        rollback.rollout_state_reason = reason
        rollback.updated_at = now
        sd.status = "ROLLBACK_FAILED"
        sd.status_reason = f"The rollback failed: {reason}"
        sd.finished_at = sd.updated_at = now
        if record.express is not None:
            record.express.current_deployment = None
            record.express.updated_at = now
        emitted.append(self._deployment_event(record, now, events.DEPLOYMENT_FAILED, rollback.id, reason))

    def _finish_rollback(
        self,
        record: Service,
        rollback: Deployment,
        sd: ServiceDeployment,
        stable: Deployment,
        emitted: list[Json],
    ) -> None:
        """The rollback deployment completes (the old tasks never stopped: minimum healthy 100 %)."""
        finished = self._clock()
        rollback.rollout_state = ROLLOUT_COMPLETED
        rollback.rollout_state_reason = f"ECS deployment {rollback.id} completed."
        rollback.running_count = record.desired_count
        rollback.updated_at = finished
        record.deployments = [rollback]
        record.stable = rollback
        sd.status = "ROLLBACK_SUCCESSFUL"
        sd.status_reason = str((sd.rollback or {}).get("reason") or "")
        sd.finished_at = sd.updated_at = finished
        sd.target_weight = 0.0 if sd.target_weight is not None else None
        if record.express is not None:
            record.express.current_deployment = None
            record.express.updated_at = finished
        self._service_event(
            record, finished, f"(service {record.name}) rolling back to deployment {stable.id}."
        )
        self._service_event(record, finished, f"(service {record.name}) has reached a steady state.")
        emitted.append(
            self._deployment_event(
                record, finished, events.DEPLOYMENT_COMPLETED, rollback.id, rollback.rollout_state_reason
            )
        )
        emitted.append(self._steady_state_event(record, finished))

    def _bake(self, record: Service, deployment: Deployment, sd: ServiceDeployment) -> None:
        """One Express canary step: traffic shifts (5 %, then 100 %), then a bake period starts."""
        now = self._clock()
        if sd.bakes_done == 0:
            started = self._start_tasks(record, deployment, 1, now)
            deployment.running_count = len(started)
        sd.bakes_done += 1
        sd.target_weight = 5.0 if sd.bakes_done == 1 else 100.0
        sd.lifecycle_stage = "BAKE_TIME"
        sd.updated_at = deployment.updated_at = now

    def _fail_tasks(
        self, record: Service, deployment: Deployment, failure: _Failure, now: datetime, emitted: list[Json]
    ) -> None:
        missing = max(1, record.failure_threshold - deployment.failed_tasks)
        for task in self._start_tasks(record, deployment, missing, now):
            self._stop_task(task, failure, now)
            emitted.append(self._task_event(task, now))
        deployment.failed_tasks += missing
        deployment.running_count = 0

    # --- tasks (lock held) ---------------------------------------------------------------------------

    def _start_tasks(self, record: Service, deployment: Deployment, count: int, now: datetime) -> list[Task]:
        revision = deployment.revision
        definition = self._task_definitions.describe(revision.task_definition)
        cluster_name = _cluster_name(record.cluster_arn)
        instance = self._placement(record) if revision.launch_type == "EC2" else None
        started: list[Task] = []
        for _ in range(count):
            number = self._next()
            task_id = hex32("task", record.arn, str(number))
            arn = f"arn:aws:ecs:{self.region}:{self.account_id}:task/{cluster_name}/{task_id}"
            containers = [
                _clean(
                    {
                        "containerArn": (
                            f"arn:aws:ecs:{self.region}:{self.account_id}:container/{cluster_name}/{task_id}/"
                            f"{_uuid_text('container', arn, image.container_name)}"
                        ),
                        "taskArn": arn,
                        "name": image.container_name,
                        "image": image.image,
                        "imageDigest": image.digest,
                        "runtimeId": f"{task_id}-{hex32('runtime', arn, image.container_name)[:10]}",
                        "lastStatus": "RUNNING",
                        "networkBindings": [],
                        "networkInterfaces": [],
                        "healthStatus": "UNKNOWN",
                        "cpu": "0",
                    }
                )
                for image in revision.container_images
            ]
            task = Task(
                arn=arn,
                cluster_arn=record.cluster_arn,
                service_name=record.name,
                started_by=deployment.id,
                task_definition_arn=revision.task_definition,
                launch_type=revision.launch_type,
                containers=containers,
                created_at=now,
                started_at=now,
                group=f"service:{record.name}",
                cpu=definition.cpu if definition else None,
                memory=definition.memory if definition else None,
                availability_zone=instance.availability_zone if instance else f"{self.region}a",
                container_instance_arn=instance.arn if instance else None,
                architecture=instance.architecture if instance else None,
                tags=list(record.tags) if record.propagate_tags == "SERVICE" else [],
            )
            self._tasks[arn] = task
            started.append(task)
        return started

    def _placement(self, record: Service) -> ContainerInstance | None:
        wanted: str | None = None
        for constraint in record.placement_constraints:
            expression = str(constraint.get("expression", "")).replace(" ", "")
            if expression.startswith(f"{_ARCH_CONSTRAINT_PREFIX}=="):
                wanted = expression.split("==", 1)[1]
        candidates = [
            instance
            for instance in self._instances.values()
            if instance.cluster_arn == record.cluster_arn
            and (wanted is None or instance.architecture == wanted)
        ]
        return candidates[0] if candidates else None

    @staticmethod
    def _stop_task(task: Task, failure: _Failure, now: datetime) -> None:
        task.last_status = task.desired_status = "STOPPED"
        task.stop_code = failure.stop_code
        task.stopped_reason = failure.reason
        task.stopped_at = now
        task.version += 1
        for container in task.containers:
            container["lastStatus"] = "STOPPED"
            if failure.exit_code is not None:
                container["exitCode"] = failure.exit_code
            if failure.container_reason is not None:
                container["reason"] = failure.container_reason

    def _stop_other_tasks(self, record: Service, keep: Deployment, now: datetime) -> list[Task]:
        reason = f"Scaling activity initiated by (deployment {keep.id})"
        stopped: list[Task] = []
        for task in self._tasks.values():
            ours = task.service_name == record.name and task.cluster_arn == record.cluster_arn
            if ours and task.last_status == "RUNNING" and task.started_by != keep.id:
                self._stop_task(task, _Failure("ServiceSchedulerInitiated", reason, 0, None), now)
                stopped.append(task)
        return stopped

    def _stop_tasks_of(self, deployment: Deployment, now: datetime, reason: str) -> list[Task]:
        stopped: list[Task] = []
        for task in self._tasks.values():
            if task.started_by == deployment.id and task.last_status == "RUNNING":
                self._stop_task(task, _Failure("ServiceSchedulerInitiated", reason, 0, None), now)
                stopped.append(task)
        return stopped

    # --- clusters ------------------------------------------------------------------------------------

    def _ensure_cluster(self, name: str, tags: list[Json] | None = None) -> Cluster:
        found = self._clusters.get(name)
        if found is None:
            found = Cluster(
                name=name,
                arn=f"arn:aws:ecs:{self.region}:{self.account_id}:cluster/{name}",
                created_at=self._clock(),
                tags=list(tags or []),
            )
            self._clusters[name] = found
        return found

    def _cluster(self, reference: str | None) -> Cluster:
        # A cluster is named by its short name or its ARN (`...:cluster/<name>`); none means "default".
        name = (reference or DEFAULT_CLUSTER).rsplit("/", 1)[-1]
        found = self._clusters.get(name)
        if found is None:
            raise ApiError("ClusterNotFoundException", "Cluster not found.")
        return found

    def _create_cluster(self, params: Json) -> _Reply:
        cluster = self._ensure_cluster(params.get("clusterName") or DEFAULT_CLUSTER, params.get("tags"))
        return _Reply({"cluster": self._cluster_body(cluster, with_tags=True)})

    def _describe_clusters(self, params: Json) -> _Reply:
        found: list[Json] = []
        failures: list[Json] = []
        with_tags = "TAGS" in (params.get("include") or [])
        for reference in params.get("clusters") or [DEFAULT_CLUSTER]:
            try:
                found.append(self._cluster_body(self._cluster(reference), with_tags=with_tags))
            except ApiError:
                arn = (
                    reference
                    if reference.startswith("arn:")
                    else (f"arn:aws:ecs:{self.region}:{self.account_id}:cluster/{reference}")
                )
                failures.append({"arn": arn, "reason": "MISSING"})
        return _Reply({"clusters": found, "failures": failures})

    def _list_clusters(self, params: Json) -> _Reply:
        arns = [cluster.arn for cluster in self._clusters.values()]
        page, token = _page("ListClusters", "clusters", arns, params)
        return _Reply(_clean({"clusterArns": page, "nextToken": token}))

    def _cluster_body(self, cluster: Cluster, *, with_tags: bool) -> Json:
        services = [
            s for s in self._services.values() if s.cluster_arn == cluster.arn and s.status == "ACTIVE"
        ]
        tasks = [
            t for t in self._tasks.values() if t.cluster_arn == cluster.arn and t.last_status == "RUNNING"
        ]
        body: Json = {
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "status": "ACTIVE",
            "registeredContainerInstancesCount": sum(
                1 for instance in self._instances.values() if instance.cluster_arn == cluster.arn
            ),
            "runningTasksCount": len(tasks),
            "pendingTasksCount": 0,
            "activeServicesCount": len(services),
            "statistics": [],
            "settings": [{"name": "containerInsights", "value": "disabled"}],
            "capacityProviders": [],
            "defaultCapacityProviderStrategy": [],
        }
        if with_tags:
            body["tags"] = copy.deepcopy(cluster.tags)
        return body

    # --- services ------------------------------------------------------------------------------------

    def _find_service(self, name_or_arn: str) -> Service:
        record = self._services.get(name_or_arn)
        if record is not None:
            return record
        named = [s for s in self._services.values() if s.name == name_or_arn and s.status == "ACTIVE"]
        if len(named) > 1:
            raise EmulatorError(f"several clusters have a service {name_or_arn!r}: name it by ARN")
        if not named:
            raise UnknownServiceError(f"no ECS service {name_or_arn!r} in the emulator")
        return named[0]

    def _service_in(self, cluster: Cluster, reference: str) -> Service | None:
        name = reference.rsplit("/", 1)[-1] if reference.startswith("arn:") else reference
        arn = f"arn:aws:ecs:{self.region}:{self.account_id}:service/{cluster.name}/{name}"
        return self._services.get(arn)

    def _active_service(self, params: Json, key: str = "service") -> Service:
        cluster = self._cluster(params.get("cluster"))
        record = self._service_in(cluster, str(params[key]))
        if record is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        if record.status != "ACTIVE":
            raise ApiError("ServiceNotActiveException", "Service was not ACTIVE.")
        return record

    def _definition(self, reference: str) -> TaskDefinitionView:
        definition = self._task_definitions.describe(reference)
        if definition is None:
            raise ApiError("ClientException", "TaskDefinition not found.")
        if definition.status != "ACTIVE":
            raise ApiError("ClientException", "TaskDefinition is inactive")
        return definition

    def _revision(
        self, record: Service, definition: TaskDefinitionView, *, express_configuration: Json | None = None
    ) -> Revision:
        number = self._next()
        images = [
            ContainerImage(container.name, container.image, self._resolve_digest(container.image))
            for container in definition.containers
        ]
        return Revision(
            arn=self._child_arn(
                "service-revision", record, nineteen_digits("revision", record.arn, str(number))
            ),
            service_arn=record.arn,
            cluster_arn=record.cluster_arn,
            task_definition=definition.arn,
            launch_type=record.launch_type,
            container_images=images,
            created_at=self._clock(),
            load_balancers=copy.deepcopy(record.load_balancers),
            network_configuration=copy.deepcopy(record.network_configuration),
            platform_version=record.platform_version,
            express=express_configuration,
        )

    def _create_service(self, params: Json) -> _Reply:
        emitted: list[Json] = []
        record = self._new_service(params, emitted)
        return _Reply({"service": self._service_body(record, with_tags=True)}, emitted)

    def _new_service(
        self,
        params: Json,
        emitted: list[Json],
        *,
        express_service: ExpressService | None = None,
        express_configuration: Json | None = None,
    ) -> Service:
        cluster = self._cluster(params.get("cluster"))
        name = str(params["serviceName"])
        existing = self._service_in(cluster, name)
        if existing is not None and existing.status == "ACTIVE":
            raise ApiError("InvalidParameterException", "Creation of service was not idempotent.")
        if not params.get("taskDefinition"):
            raise ApiError("InvalidParameterException", "TaskDefinition must be specified.")
        definition = self._definition(str(params["taskDefinition"]))
        launch_type = str(params.get("launchType") or "EC2")
        if launch_type == "FARGATE" and "FARGATE" not in definition.compatibilities:
            raise ApiError(
                "InvalidParameterException", "Task definition does not support launch_type FARGATE."
            )
        configuration = _deployment_configuration(params.get("deploymentConfiguration"))
        record = Service(
            name=name,
            arn=f"arn:aws:ecs:{self.region}:{self.account_id}:service/{cluster.name}/{name}",
            cluster_arn=cluster.arn,
            task_definition=definition.arn,
            launch_type=launch_type,
            desired_count=int(params.get("desiredCount", 1)),
            deployment_configuration=configuration,
            created_at=self._clock(),
            load_balancers=copy.deepcopy(params.get("loadBalancers") or []),
            network_configuration=copy.deepcopy(params.get("networkConfiguration")),
            placement_constraints=copy.deepcopy(params.get("placementConstraints") or []),
            platform_version=params.get("platformVersion")
            or ("LATEST" if launch_type == "FARGATE" else None),
            tags=copy.deepcopy(params.get("tags") or []),
            propagate_tags=str(params.get("propagateTags") or "NONE"),
            enable_ecs_managed_tags=bool(params.get("enableECSManagedTags", False)),
            health_check_grace_period=params.get("healthCheckGracePeriodSeconds"),
            resource_management_type="ECS" if express_service is not None else "CUSTOMER",
            express=express_service,
        )
        self._services[record.arn] = record
        self._service_event(record, record.created_at, f"(service {name}) was created.")
        self._start_deployment(
            record, self._revision(record, definition, express_configuration=express_configuration), emitted
        )
        return record

    def _update_service(self, params: Json) -> _Reply:
        record = self._active_service(params)
        emitted: list[Json] = []
        redeploy = bool(params.get("forceNewDeployment", False))
        if "desiredCount" in params:
            record.desired_count = int(params["desiredCount"])
            if record.primary is not None:
                record.primary.desired_count = record.desired_count
        if "deploymentConfiguration" in params:
            record.deployment_configuration = _merged(
                record.deployment_configuration, params["deploymentConfiguration"]
            )
        for key, attribute in (
            ("networkConfiguration", "network_configuration"),
            ("loadBalancers", "load_balancers"),
            ("platformVersion", "platform_version"),
            ("placementConstraints", "placement_constraints"),
        ):
            if key in params and params[key] != getattr(record, attribute):
                setattr(record, attribute, copy.deepcopy(params[key]))
                redeploy = redeploy or key != "placementConstraints"
        if "propagateTags" in params:
            record.propagate_tags = str(params["propagateTags"])
        if "enableECSManagedTags" in params:
            record.enable_ecs_managed_tags = bool(params["enableECSManagedTags"])
        definition = self._definition(str(params.get("taskDefinition") or record.task_definition))
        if definition.arn != record.task_definition:
            redeploy = True
        if redeploy:
            self._start_deployment(record, self._revision(record, definition), emitted)
        return _Reply({"service": self._service_body(record, with_tags=False)}, emitted)

    def _describe_services(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        with_tags = "TAGS" in (params.get("include") or [])
        found: list[Json] = []
        failures: list[Json] = []
        for reference in params["services"]:
            record = self._service_in(cluster, reference)
            if record is None:
                name = reference.rsplit("/", 1)[-1]
                arn = f"arn:aws:ecs:{self.region}:{self.account_id}:service/{cluster.name}/{name}"
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(self._service_body(record, with_tags=with_tags))
        return _Reply({"services": found, "failures": failures})

    def _list_services(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        arns = [
            record.arn
            for record in self._services.values()
            if record.cluster_arn == cluster.arn
            and record.status == "ACTIVE"
            and params.get("launchType", record.launch_type) == record.launch_type
            and params.get("resourceManagementType", record.resource_management_type)
            == record.resource_management_type
            and params.get("schedulingStrategy", "REPLICA") == "REPLICA"
        ]
        page, token = _page("ListServices", cluster.arn, arns, params)
        return _Reply(_clean({"serviceArns": page, "nextToken": token}))

    def _delete_service(self, params: Json) -> _Reply:
        record = self._active_service(params)
        if record.desired_count > 0 and not params.get("force"):
            raise ApiError(
                "InvalidParameterException",
                "The service cannot be stopped while it is scaled above 0.",
            )
        return _Reply({"service": self._service_body(self._remove(record), with_tags=False)})

    def _remove(self, record: Service) -> Service:
        now = self._clock()
        record.status = "INACTIVE"
        record.desired_count = 0
        for task in self._tasks.values():
            if (
                task.service_name == record.name
                and task.cluster_arn == record.cluster_arn
                and task.last_status == "RUNNING"
            ):
                self._stop_task(task, _Failure("ServiceSchedulerInitiated", "Service deleted", 0, None), now)
        return record

    def _service_body(self, record: Service, *, with_tags: bool) -> Json:
        running = sum(d.running_count for d in record.deployments)
        body: Json = {
            "serviceArn": record.arn,
            "serviceName": record.name,
            "clusterArn": record.cluster_arn,
            "loadBalancers": copy.deepcopy(record.load_balancers),
            "serviceRegistries": [],
            "status": record.status,
            "desiredCount": record.desired_count,
            "runningCount": running if record.status == "ACTIVE" else 0,
            "pendingCount": 0,
            "launchType": record.launch_type,
            "platformVersion": record.platform_version,
            "platformFamily": "Linux" if record.launch_type == "FARGATE" else None,
            "taskDefinition": record.task_definition,
            "deploymentConfiguration": copy.deepcopy(record.deployment_configuration),
            "deployments": [self._deployment_body(d) for d in record.deployments],
            "events": [
                {"id": item["id"], "createdAt": _epoch(item["createdAt"]), "message": item["message"]}
                for item in record.events
            ],
            "createdAt": _epoch(record.created_at),
            "placementConstraints": copy.deepcopy(record.placement_constraints),
            "placementStrategy": [],
            "networkConfiguration": copy.deepcopy(record.network_configuration),
            "healthCheckGracePeriodSeconds": record.health_check_grace_period,
            "schedulingStrategy": "REPLICA",
            "deploymentController": {"type": "ECS"},
            "createdBy": f"arn:aws:iam::{self.account_id}:role/admin",
            "enableECSManagedTags": record.enable_ecs_managed_tags,
            "propagateTags": record.propagate_tags,
            "enableExecuteCommand": False,
            "availabilityZoneRebalancing": "ENABLED",
            "resourceManagementType": record.resource_management_type,
        }
        current = self._current_service_deployment(record)
        if current is not None and record.status == "ACTIVE":
            body["currentServiceDeployment"] = current.arn
        if record.status == "ACTIVE" and record.deployments:
            body["currentServiceRevisions"] = [
                {
                    "arn": d.revision.arn,
                    "requestedTaskCount": d.desired_count,
                    "runningTaskCount": d.running_count,
                    "pendingTaskCount": d.pending_count,
                }
                for d in record.deployments
            ]
        if with_tags:
            body["tags"] = copy.deepcopy(record.tags)
        return _clean(body)

    @staticmethod
    def _deployment_body(deployment: Deployment) -> Json:
        return _clean(
            {
                "id": deployment.id,
                "status": deployment.status,
                "taskDefinition": deployment.revision.task_definition,
                "desiredCount": deployment.desired_count,
                "pendingCount": deployment.pending_count,
                "runningCount": deployment.running_count,
                "failedTasks": deployment.failed_tasks,
                "createdAt": _epoch(deployment.created_at),
                "updatedAt": _epoch(deployment.updated_at),
                "launchType": deployment.revision.launch_type,
                "platformVersion": deployment.revision.platform_version,
                "platformFamily": "Linux" if deployment.revision.launch_type == "FARGATE" else None,
                "networkConfiguration": copy.deepcopy(deployment.revision.network_configuration),
                "rolloutState": deployment.rollout_state,
                "rolloutStateReason": deployment.rollout_state_reason,
            }
        )

    # --- service deployments and revisions -----------------------------------------------------------

    @staticmethod
    def _current_service_deployment(record: Service) -> ServiceDeployment | None:
        return record.service_deployments[-1] if record.service_deployments else None

    @staticmethod
    def _service_deployment_of(record: Service, deployment: Deployment) -> ServiceDeployment:
        for sd in record.service_deployments:
            if sd.arn == deployment.service_deployment_arn:
                return sd
        raise EmulatorError(f"deployment {deployment.id} has no service deployment")

    def _list_service_deployments(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        record = self._service_in(cluster, str(params["service"]))
        if record is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        wanted = set(params.get("status") or [])
        window = params.get("createdAt") or {}
        listed = [
            sd
            for sd in reversed(record.service_deployments)
            if (not wanted or sd.status in wanted)
            and ("after" not in window or _epoch(sd.created_at) >= float(window["after"]))
            and ("before" not in window or _epoch(sd.created_at) <= float(window["before"]))
        ]
        page, token = _page("ListServiceDeployments", record.arn, listed, params)
        briefs = [
            _clean(
                {
                    "serviceDeploymentArn": sd.arn,
                    "serviceArn": sd.service_arn,
                    "clusterArn": sd.cluster_arn,
                    "startedAt": _epoch(sd.started_at) if sd.started_at else None,
                    "createdAt": _epoch(sd.created_at),
                    "finishedAt": _epoch(sd.finished_at) if sd.finished_at else None,
                    "targetServiceRevisionArn": sd.target.arn,
                    "status": sd.status,
                    "statusReason": sd.status_reason,
                }
            )
            for sd in page
        ]
        return _Reply(_clean({"serviceDeployments": briefs, "nextToken": token}))

    def _describe_service_deployments(self, params: Json) -> _Reply:
        by_arn = {
            sd.arn: (record, sd) for record in self._services.values() for sd in record.service_deployments
        }
        found: list[Json] = []
        failures: list[Json] = []
        for arn in params["serviceDeploymentArns"]:
            if arn in by_arn:
                found.append(self._service_deployment_body(*by_arn[arn]))
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return _Reply({"serviceDeployments": found, "failures": failures})

    def _service_deployment_body(self, record: Service, sd: ServiceDeployment) -> Json:
        def summary(revision: Revision, *, target: bool) -> Json:
            deployment = next((d for d in record.deployments if d.revision.arn == revision.arn), None)
            weight = sd.target_weight
            body: Json = {
                "arn": revision.arn,
                "requestedTaskCount": deployment.desired_count if deployment else 0,
                "runningTaskCount": deployment.running_count if deployment else 0,
                "pendingTaskCount": deployment.pending_count if deployment else 0,
            }
            if weight is not None:
                body["requestedProductionTrafficWeight"] = weight if target else 100.0 - weight
            return body

        rollback = None
        if sd.rollback is not None:
            rollback = {**sd.rollback, "startedAt": _epoch(sd.rollback["startedAt"])}
        return _clean(
            {
                "serviceDeploymentArn": sd.arn,
                "serviceArn": sd.service_arn,
                "clusterArn": sd.cluster_arn,
                "createdAt": _epoch(sd.created_at),
                "startedAt": _epoch(sd.started_at) if sd.started_at else None,
                "finishedAt": _epoch(sd.finished_at) if sd.finished_at else None,
                "stoppedAt": _epoch(sd.stopped_at) if sd.stopped_at else None,
                "updatedAt": _epoch(sd.updated_at),
                "sourceServiceRevisions": [summary(source, target=False) for source in sd.sources],
                "targetServiceRevision": summary(sd.target, target=True),
                "status": sd.status,
                "statusReason": sd.status_reason,
                "lifecycleStage": sd.lifecycle_stage,
                "deploymentConfiguration": copy.deepcopy(sd.deployment_configuration),
                "rollback": rollback,
                "deploymentCircuitBreaker": copy.deepcopy(sd.circuit_breaker),
                "alarms": copy.deepcopy(sd.alarms),
            }
        )

    def _describe_service_revisions(self, params: Json) -> _Reply:
        revisions: dict[str, tuple[Service, Revision]] = {}
        for record in self._services.values():
            for sd in record.service_deployments:
                for revision in (sd.target, *sd.sources):
                    revisions[revision.arn] = (record, revision)
        found: list[Json] = []
        failures: list[Json] = []
        for arn in params["serviceRevisionArns"]:
            if arn in revisions:
                found.append(self._revision_body(*revisions[arn]))
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return _Reply({"serviceRevisions": found, "failures": failures})

    def _revision_body(self, record: Service, revision: Revision) -> Json:
        body: Json = {
            "serviceRevisionArn": revision.arn,
            "serviceArn": revision.service_arn,
            "clusterArn": revision.cluster_arn,
            "taskDefinition": revision.task_definition,
            "launchType": revision.launch_type,
            "platformVersion": revision.platform_version,
            "platformFamily": "Linux" if revision.launch_type == "FARGATE" else None,
            "loadBalancers": copy.deepcopy(revision.load_balancers),
            "serviceRegistries": [],
            "networkConfiguration": copy.deepcopy(revision.network_configuration),
            "containerImages": [
                _clean(
                    {"containerName": image.container_name, "imageDigest": image.digest, "image": image.image}
                )
                for image in revision.container_images
            ],
            "guardDutyEnabled": False,
            "createdAt": _epoch(revision.created_at),
        }
        if record.express is not None and revision.express is not None:
            body["ecsManagedResources"] = express.managed_resources(
                record, revision, region=self.region, account_id=self.account_id
            )
        return _clean(body)

    # --- tasks and container instances ---------------------------------------------------------------

    def _list_tasks(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        desired = params.get("desiredStatus", "RUNNING")
        if params.get("serviceName") and self._service_in(cluster, str(params["serviceName"])) is None:
            raise ApiError("ServiceNotFoundException", "Service not found.")
        family = params.get("family")
        arns = [
            task.arn
            for task in self._tasks.values()
            if task.cluster_arn == cluster.arn
            and task.desired_status == desired
            and params.get("serviceName", task.service_name) == task.service_name
            and params.get("startedBy", task.started_by) == task.started_by
            and params.get("launchType", task.launch_type) == task.launch_type
            and params.get("containerInstance", task.container_instance_arn) == task.container_instance_arn
            and (family is None or task.task_definition_arn.rsplit("/", 1)[-1].split(":")[0] == family)
        ]
        page, token = _page("ListTasks", f"{cluster.arn}|{desired}", arns, params)
        return _Reply(_clean({"taskArns": page, "nextToken": token}))

    def _describe_tasks(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        with_tags = "TAGS" in (params.get("include") or [])
        found: list[Json] = []
        failures: list[Json] = []
        for reference in params["tasks"]:
            task_id = reference.rsplit("/", 1)[-1]
            arn = f"arn:aws:ecs:{self.region}:{self.account_id}:task/{cluster.name}/{task_id}"
            task = self._tasks.get(arn)
            if task is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(self._task_body(task, with_tags=with_tags))
        return _Reply({"tasks": found, "failures": failures})

    def _task_body(self, task: Task, *, with_tags: bool) -> Json:
        body: Json = {
            "attachments": [],
            "attributes": (
                [{"name": "ecs.cpu-architecture", "value": task.architecture}] if task.architecture else None
            ),
            "availabilityZone": task.availability_zone,
            "clusterArn": task.cluster_arn,
            "connectivity": "CONNECTED",
            "connectivityAt": _epoch(task.created_at),
            "containerInstanceArn": task.container_instance_arn,
            "containers": copy.deepcopy(task.containers),
            "cpu": task.cpu,
            "createdAt": _epoch(task.created_at),
            "desiredStatus": task.desired_status,
            "enableExecuteCommand": False,
            "group": task.group,
            "healthStatus": "UNKNOWN",
            "lastStatus": task.last_status,
            "launchType": task.launch_type,
            "memory": task.memory,
            "overrides": {"containerOverrides": [{"name": c["name"]} for c in task.containers]},
            "platformVersion": "1.4.0" if task.launch_type == "FARGATE" else None,
            "platformFamily": "Linux" if task.launch_type == "FARGATE" else None,
            "pullStartedAt": _epoch(task.created_at),
            "pullStoppedAt": _epoch(task.created_at),
            "startedAt": _epoch(task.started_at) if task.started_at else None,
            "startedBy": task.started_by,
            "stopCode": task.stop_code,
            "stoppedAt": _epoch(task.stopped_at) if task.stopped_at else None,
            "stoppedReason": task.stopped_reason,
            "stoppingAt": _epoch(task.stopped_at) if task.stopped_at else None,
            "executionStoppedAt": _epoch(task.stopped_at) if task.stopped_at else None,
            "taskArn": task.arn,
            "taskDefinitionArn": task.task_definition_arn,
            "version": task.version,
        }
        if with_tags:
            body["tags"] = copy.deepcopy(task.tags)
        return _clean(body)

    def _list_container_instances(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        if params.get("filter"):
            raise ApiError(
                "InvalidParameterException", "The emulator does not evaluate cluster query language filters."
            )
        status = params.get("status", "ACTIVE")
        arns = [
            i.arn for i in self._instances.values() if i.cluster_arn == cluster.arn and status == "ACTIVE"
        ]
        page, token = _page("ListContainerInstances", cluster.arn, arns, params)
        return _Reply(_clean({"containerInstanceArns": page, "nextToken": token}))

    def _describe_container_instances(self, params: Json) -> _Reply:
        cluster = self._cluster(params.get("cluster"))
        found: list[Json] = []
        failures: list[Json] = []
        for reference in params["containerInstances"]:
            instance_id = reference.rsplit("/", 1)[-1]
            arn = (
                f"arn:aws:ecs:{self.region}:{self.account_id}:container-instance/{cluster.name}/{instance_id}"
            )
            instance = self._instances.get(arn)
            if instance is None:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            running = sum(
                1
                for t in self._tasks.values()
                if t.container_instance_arn == arn and t.last_status == "RUNNING"
            )
            found.append(
                {
                    "containerInstanceArn": arn,
                    "ec2InstanceId": instance.ec2_instance_id,
                    "version": 1,
                    "versionInfo": {
                        "agentVersion": "1.89.1",
                        "agentHash": "4c7c5a1e",
                        "dockerVersion": "DockerVersion: 25.0.8",
                    },
                    "status": "ACTIVE",
                    "agentConnected": True,
                    "runningTasksCount": running,
                    "pendingTasksCount": 0,
                    "attributes": [
                        {"name": "ecs.cpu-architecture", "value": instance.architecture},
                        {"name": "ecs.os-type", "value": "linux"},
                        {"name": "ecs.os-family", "value": "LINUX"},
                        {"name": "ecs.instance-type", "value": instance.instance_type},
                        {"name": "ecs.availability-zone", "value": instance.availability_zone},
                        {"name": "ecs.ami-id", "value": f"ami-{hex32('ami', instance.architecture)[:17]}"},
                    ],
                    "registeredAt": _epoch(instance.registered_at),
                    "attachments": [],
                    "tags": [],
                }
            )
        return _Reply({"containerInstances": found, "failures": failures})

    # --- tags ------------------------------------------------------------------------------------------

    def _owns_arn(self, arn: str) -> bool:
        with self._lock:
            return arn in self._services or any(cluster.arn == arn for cluster in self._clusters.values())

    def _tagged(self, arn: str) -> list[Json]:
        if arn in self._services:
            return self._services[arn].tags
        for cluster in self._clusters.values():
            if cluster.arn == arn:
                return cluster.tags
        raise ApiError("ResourceNotFoundException", "The specified resource could not be found.")

    def _list_tags(self, params: Json) -> _Reply:
        return _Reply({"tags": copy.deepcopy(self._tagged(str(params["resourceArn"])))})

    def _tag_resource(self, params: Json) -> _Reply:
        tags = self._tagged(str(params["resourceArn"]))
        incoming = {tag["key"]: tag for tag in params["tags"]}
        tags[:] = [tag for tag in tags if tag.get("key") not in incoming] + list(incoming.values())
        return _Reply({})

    def _untag_resource(self, params: Json) -> _Reply:
        tags = self._tagged(str(params["resourceArn"]))
        tags[:] = [tag for tag in tags if tag.get("key") not in set(params["tagKeys"])]
        return _Reply({})

    # --- Express Mode ----------------------------------------------------------------------------------

    def _express_service(self, arn: str) -> Service:
        record = self._services.get(arn)
        if record is None or record.express is None:
            raise ApiError("ServiceNotFoundException", f"Express service not found: {arn}")
        return record

    def _create_express(self, params: Json) -> _Reply:
        configuration = express.creation_configuration(params)
        cluster = self._ensure_cluster(str(params.get("cluster") or DEFAULT_CLUSTER))
        name = str(params.get("serviceName") or f"express-{base62(8, 'express', str(self._next())).lower()}")
        existing = self._service_in(cluster, name)
        if existing is not None and existing.status == "ACTIVE":
            raise ApiError("InvalidParameterException", f"A service named {name} already exists.")
        now = self._clock()
        definition = self._express_definition(name, cluster.name, configuration)
        configuration["taskDefinitionArn"] = definition.arn
        arn = f"arn:aws:ecs:{self.region}:{self.account_id}:service/{cluster.name}/{name}"
        service = ExpressService(
            infrastructure_role_arn=str(params["infrastructureRoleArn"]),
            endpoint=express.endpoint(name, arn, self.region),
            alarm_name=f"ecs-express-{name}-5xx-rollback",
            created_at=now,
            updated_at=now,
        )
        emitted: list[Json] = []
        record = self._new_service(
            {
                "cluster": cluster.name,
                "serviceName": name,
                "taskDefinition": definition.arn,
                "launchType": "FARGATE",
                "desiredCount": int((configuration.get("scalingTarget") or {}).get("minTaskCount", 1)),
                "networkConfiguration": express.network_configuration(configuration),
                "loadBalancers": [
                    {
                        "targetGroupArn": express.target_group_arn(name, self.region, self.account_id),
                        "containerName": "Main",
                        "containerPort": int(configuration["primaryContainer"].get("containerPort", 80)),
                    }
                ],
                "deploymentConfiguration": express.deployment_configuration(service.alarm_name),
                "tags": params.get("tags") or [],
            },
            emitted,
            express_service=service,
            express_configuration=configuration,
        )
        return _Reply({"service": express.described(record, with_tags=True)}, emitted)

    def _express_definition(self, name: str, cluster_name: str, configuration: Json) -> TaskDefinitionView:
        if configuration.get("taskDefinitionArn"):
            return self._definition(str(configuration["taskDefinitionArn"]))
        container = configuration["primaryContainer"]
        logs = container.get("awsLogsConfiguration") or {}
        return self._task_definitions.register(
            NewTaskDefinition(
                family=f"{cluster_name}-{name}"[:255],
                image=str(container["image"]),
                container_port=int(container.get("containerPort", 80)),
                cpu=str(configuration["cpu"]),
                memory=str(configuration["memory"]),
                cpu_architecture=str(configuration["cpuArchitecture"]),
                log_group=str(logs.get("logGroup") or f"/aws/ecs/{cluster_name}/{name}"),
                log_stream_prefix=str(logs.get("logStreamPrefix") or "ecs"),
                region=self.region,
                execution_role_arn=configuration.get("executionRoleArn"),
                task_role_arn=configuration.get("taskRoleArn"),
                environment=tuple((e["name"], e["value"]) for e in container.get("environment") or []),
                command=tuple(container.get("command") or []),
            )
        )

    def _update_express(self, params: Json) -> _Reply:
        record = self._express_service(str(params["serviceArn"]))
        if record.status != "ACTIVE":
            raise ApiError("ServiceNotActiveException", "Service was not ACTIVE.")
        previous = record.primary.revision.express if record.primary is not None else None
        configuration = express.updated_configuration(previous or {}, params)
        definition = self._express_definition(record.name, _cluster_name(record.cluster_arn), configuration)
        configuration["taskDefinitionArn"] = definition.arn
        emitted: list[Json] = []
        revision = self._revision(record, definition, express_configuration=configuration)
        self._start_deployment(record, revision, emitted)
        now = self._clock()
        body = _clean(
            {
                "serviceArn": record.arn,
                "cluster": _cluster_name(record.cluster_arn),
                "serviceName": record.name,
                "status": {"statusCode": "ACTIVE"},
                "targetConfiguration": express.configuration_body(record, revision),
                "createdAt": _epoch(record.created_at),
                "updatedAt": _epoch(now),
            }
        )
        return _Reply({"service": body}, emitted)

    def _describe_express(self, params: Json) -> _Reply:
        record = self._express_service(str(params["serviceArn"]))
        with_tags = "TAGS" in (params.get("include") or [])
        return _Reply({"service": express.described(record, with_tags=with_tags)})

    def _delete_express(self, params: Json) -> _Reply:
        record = self._express_service(str(params["serviceArn"]))
        self._remove(record)
        if record.express is not None:
            record.express.status_code = "DRAINING"
        return _Reply({"service": express.described(record, with_tags=False)})

    # --- helpers (lock held) -----------------------------------------------------------------------

    def _child_arn(self, kind: str, record: Service, identifier: str) -> str:
        """`arn:aws:ecs:<region>:<account>:<kind>/<cluster>/<service>/<id>`: deployments, revisions."""
        cluster = _cluster_name(record.cluster_arn)
        return f"arn:aws:ecs:{self.region}:{self.account_id}:{kind}/{cluster}/{record.name}/{identifier}"

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    @staticmethod
    def _breaker_monitor(record: Service) -> Json:
        breaker = record.circuit_breaker
        if not breaker.get("enable"):
            return {"status": "DISABLED"}
        return {"status": "MONITORING", "failureCount": 0, "threshold": record.failure_threshold}

    @staticmethod
    def _alarm_monitor(record: Service) -> Json:
        alarms = record.alarms
        if not alarms.get("enable"):
            return {"status": "DISABLED"}
        return {
            "status": "MONITORING",
            "alarmNames": list(alarms.get("alarmNames") or []),
            "triggeredAlarmNames": [],
        }

    @staticmethod
    def _monitors_complete(sd: ServiceDeployment) -> None:
        for monitor in (sd.circuit_breaker, sd.alarms):
            if monitor is not None and monitor.get("status") == "MONITORING":
                monitor["status"] = "MONITORING_COMPLETE"

    def _service_event(self, record: Service, moment: datetime, message: str) -> None:
        record.events.insert(
            0,
            {
                "id": _uuid_text("event", record.arn, str(self._next())),
                "createdAt": moment,
                "message": message,
            },
        )
        del record.events[_SERVICE_EVENTS_KEPT:]

    def _deployment_event(
        self, record: Service, moment: datetime, name: str, deployment_id: str, reason: str
    ) -> Json:
        return events.deployment_state_change(
            account=self.account_id,
            region=self.region,
            service_arn=record.arn,
            moment=moment,
            event_name=name,
            deployment_id=deployment_id,
            reason=reason,
        )

    def _steady_state_event(self, record: Service, moment: datetime) -> Json:
        return events.service_action(
            account=self.account_id,
            region=self.region,
            service_arn=record.arn,
            cluster_arn=record.cluster_arn,
            moment=moment,
            event_name=events.STEADY_STATE,
        )

    def _task_event(self, task: Task, moment: datetime) -> Json:
        return events.task_state_change(
            account=self.account_id,
            region=self.region,
            moment=moment,
            task=self._task_body(task, with_tags=False),
        )


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why a task stopped, in ECS's words: stop code, task reason, container exit code and reason."""

    stop_code: str
    reason: str
    exit_code: int | None
    container_reason: str | None

    @classmethod
    def of(cls, stopped_reason: str | None, exit_code: int | None) -> _Failure:
        reason = stopped_reason or DEFAULT_STOPPED_REASON
        if reason.startswith(
            ("CannotPullContainerError", "ResourceInitializationError", "CannotStartContainerError")
        ):
            # The task never ran: the container carries the reason and no exit code.
            return cls("TaskFailedToStart", reason, exit_code, reason)
        if "health check" in reason.lower():
            return cls("ServiceSchedulerInitiated", reason, exit_code, None)
        return cls("EssentialContainerExited", reason, 1 if exit_code is None else exit_code, None)


def _deployment_configuration(given: Json | None) -> Json:
    defaults: Json = {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "strategy": "ROLLING",
    }
    return _merged(defaults, given or {})


def _merged(base: Json, update: Json) -> Json:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        merged[key] = copy.deepcopy(value)
    return merged


def _cluster_name(cluster_arn: str) -> str:
    return cluster_arn.rsplit("/", 1)[-1]


def _uuid_text(*parts: str) -> str:
    text = hex32(*parts)
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"


def _parse_body(body: bytes) -> Json | None:
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _page[T](operation: str, scope: str, items: list[T], params: Json) -> tuple[list[T], str | None]:
    """One page of `items` and the opaque token for the next, bound to the listing it came from."""
    default, _ = PAGE_SIZES[operation]
    size = int(params.get("maxResults") or default)
    offset = _read_token(str(params["nextToken"]), operation, scope) if params.get("nextToken") else 0
    end = offset + size
    token = _write_token(operation, scope, end) if end < len(items) else None
    return items[offset:end], token


def _write_token(operation: str, scope: str, offset: int) -> str:
    return write_token(operation, scope, offset)


def _read_token(token: str, operation: str, scope: str) -> int:
    try:
        return read_token(token, operation, scope)
    except PageTokenError as exc:
        message = "The nextToken does not belong to this request." if exc.foreign else "Invalid nextToken."
        raise ApiError("InvalidParameterException", message) from exc
