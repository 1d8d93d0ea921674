"""The ECS emulator's answers and events: the bodies ECS returns for its records (lock held)."""

from __future__ import annotations

import copy
from datetime import datetime

from pushpilot_sandbox import ecs_events as events
from pushpilot_sandbox import ecs_express as express
from pushpilot_sandbox.ecs_records import (
    Cluster,
    Deployment,
    Json,
    Revision,
    Service,
    ServiceDeployment,
    Task,
)
from pushpilot_sandbox.ecs_state import (
    EcsState,
    EmulatorError,
    _clean,
    _epoch,
)


class EcsBodies(EcsState):
    """Records into the shapes ECS answers and emits."""

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
