"""The ECS emulator's operations: one method per API operation it owns, called with the lock held."""

from __future__ import annotations

import copy

from pushpilot_sandbox import ecs_express as express
from pushpilot_sandbox.ecs_records import (
    ExpressService,
    Json,
    Revision,
    Service,
    base62,
    hex32,
)
from pushpilot_sandbox.ecs_rollouts import EcsRollouts
from pushpilot_sandbox.ecs_state import (
    DEFAULT_CLUSTER,
    _clean,
    _cluster_name,
    _deployment_configuration,
    _epoch,
    _Failure,
    _merged,
    _page,
    _Reply,
)
from pushpilot_sandbox.ecs_task_definitions import NewTaskDefinition, TaskDefinitionView
from pushpilot_sandbox.emulator import ApiError


class EcsOperations(EcsRollouts):
    """Clusters, services, service deployments and revisions, tasks, container instances, tags, Express."""

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
