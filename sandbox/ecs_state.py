"""What every part of the ECS emulator shares: its state, its errors, the lookups and helpers the
operations, the bodies and the rollouts use (called with the lock held), and the wire's small pieces.

The emulator is one class built as a chain, each layer in its own module and each using only the layers
below it: `EcsState` (here) <- `EcsBodies` (ecs_bodies.py: answers and events) <- `EcsRollouts`
(ecs_rollouts.py: how deployments start, end and roll back) <- `EcsOperations` (ecs_operations.py: one
method per API operation) <- `EcsEmulator` (ecs.py: the wire and the scenario controls).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pushpilot_sandbox import ecs_express as express
from pushpilot_sandbox.ecs_model import PAGE_SIZES, input_problems, output_problems
from pushpilot_sandbox.ecs_records import (
    Cluster,
    ContainerImage,
    ContainerInstance,
    Json,
    Revision,
    Service,
    ServiceDeployment,
    Task,
    hex32,
    nineteen_digits,
)
from pushpilot_sandbox.ecs_task_definitions import TaskDefinitionStore, TaskDefinitionView
from pushpilot_sandbox.emulator import ApiError, Dialect, ModelEmulator, Reply, epoch, parse_body, utc_now

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


@dataclass(frozen=True, slots=True)
class EmulatedAnswer:
    status: int
    body: Json


# The base's pieces under the names the methods use.
_Reply = Reply
_utc_now = utc_now
_epoch = epoch
_parse_body = parse_body

ECS_DIALECT: Final = Dialect(
    input_problems=input_problems,
    output_problems=output_problems,
    invalid_request="InvalidParameterException",
    internal_error="ServerException",
    message_key="message",
    describe_problems="; ".join,
    size_member="maxResults",
    marker_member="nextToken",
    page_sizes={operation: default for operation, (default, _largest) in PAGE_SIZES.items()},
    bad_marker="Invalid nextToken.",
    foreign_marker="The nextToken does not belong to this request.",
)
_page = ECS_DIALECT.page


def _clean(body: Json) -> Json:
    """ECS leaves absent members out of its answers: no nulls on the wire."""
    return {key: value for key, value in body.items() if value is not None}


class EcsState(ModelEmulator):
    """The emulator's state; `EcsEmulator.__init__` sets it."""

    _dialect = ECS_DIALECT
    _refusals = (express.ExpressRequestError,)

    account_id: str
    region: str
    _task_definitions: TaskDefinitionStore
    _emit: Emit
    _resolve_digest: Callable[[str], str | None]
    _clock: Callable[[], datetime]
    _quiet: bool
    _sequence: int
    _clusters: dict[str, Cluster]  # by name
    _instances: dict[str, ContainerInstance]  # by ARN
    _services: dict[str, Service]  # by ARN, in creation order
    _tasks: dict[str, Task]  # by ARN, in creation order

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
