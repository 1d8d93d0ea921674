"""How an emulated ECS deployment starts, succeeds, stalls, fails and rolls back, with its tasks."""

from __future__ import annotations

import copy
from datetime import datetime

from pushpilot_sandbox import ecs_events as events
from pushpilot_sandbox.ecs_bodies import EcsBodies
from pushpilot_sandbox.ecs_records import (
    ROLLOUT_COMPLETED,
    ROLLOUT_FAILED,
    ContainerInstance,
    Deployment,
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
from pushpilot_sandbox.ecs_state import (
    _ARCH_CONSTRAINT_PREFIX,
    EmulatorError,
    _clean,
    _cluster_name,
    _Failure,
    _uuid_text,
)


class EcsRollouts(EcsBodies):
    """Deployments and their tasks, as the scenario controls end them."""

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
        reason = _BREAKER_REASON
        _mark_failed(deployment, reason, now)
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
        by_hook: str | None = None,
    ) -> None:
        """`by_hook`: the lifecycle stage whose PAUSE hook was answered ROLLBACK (or timed out so); ECS's
        own wording of such a rollback was not found in public sources, so the reason says what happened."""
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
        elif by_hook is not None:
            failed_reason = f"ECS deployment lifecycle hook: ROLLBACK at {by_hook}."
            rollback_reason = f"ECS deployment lifecycle hook: rolling back to deploymentId {stable.id}."
        else:
            self._fail_tasks(record, deployment, failure, now, emitted)
            failed_reason = _BREAKER_REASON
            rollback_reason = f"ECS deployment circuit breaker: rolling back to deploymentId {stable.id}."
            if sd.circuit_breaker is not None:
                sd.circuit_breaker.update(status="TRIGGERED", failureCount=deployment.failed_tasks)
        _mark_failed(deployment, failed_reason, now)
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
        reason = _BREAKER_REASON
        _mark_failed(rollback, reason, now)
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


_BREAKER_REASON = "ECS deployment circuit breaker: task failed to start."


def _mark_failed(deployment: Deployment, reason: str, now: datetime) -> None:
    """ECS's rollout state of a deployment that failed, whatever failed it (breaker, alarm, its rollback's
    own tasks)."""
    deployment.rollout_state = ROLLOUT_FAILED
    deployment.rollout_state_reason = reason
    deployment.updated_at = now
