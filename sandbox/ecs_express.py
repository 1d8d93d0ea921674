"""Express Mode's side of the ECS emulator: configurations, the endpoint, and the answers' shapes.

An Express service is an ECS service (`resourceManagementType` ECS) with a canary deployment, a circuit
breaker and an alarm that both roll back, a managed ALB and an `<name>-<id>.ecs.<region>.on.aws` endpoint.
A configuration is kept per service revision in the wire form of `ExpressGatewayServiceConfiguration`.

`UpdateExpressGatewayService` replaces `primaryContainer` whole when it is given: AWS does not document
whether omitted container fields are kept, so the emulator keeps none of them (defaults apply), and a
client that resends only the image loses its port and environment here, visibly. Top-level fields left
out of an update keep their values.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Final

from pushpilot_sandbox.ecs_records import Json, Revision, Service, base62, hex32

DEFAULT_CPU: Final = "256"
DEFAULT_MEMORY: Final = "512"
DEFAULT_HEALTH_CHECK_PATH: Final = "/ping"
DEFAULT_CONTAINER_PORT: Final = 80
DEFAULT_SUBNETS: Final = ("subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788")
CANARY_PERCENT: Final = 5.0
BAKE_MINUTES: Final = 3
_CONTAINER_FIELDS: Final = frozenset({"executionRoleArn", "taskRoleArn", "cpu", "memory", "cpuArchitecture"})


class ExpressRequestError(ValueError):
    """A request Express Mode refuses (InvalidParameterException)."""


def _epoch(moment: datetime) -> float:
    return round(moment.timestamp(), 3)


def creation_configuration(params: Json) -> Json:
    """The first configuration of a new Express service, defaults filled in as the model documents."""
    has_container = "primaryContainer" in params
    has_definition = "taskDefinitionArn" in params
    if has_container == has_definition:
        raise _invalid("Give exactly one of primaryContainer or taskDefinitionArn.")
    if has_definition and _CONTAINER_FIELDS & params.keys():
        raise _invalid("taskDefinitionArn cannot be combined with roles, cpu, memory or cpuArchitecture.")
    configuration: Json = {
        "healthCheckPath": params.get("healthCheckPath", DEFAULT_HEALTH_CHECK_PATH),
        "networkConfiguration": copy.deepcopy(
            params.get("networkConfiguration") or {"subnets": list(DEFAULT_SUBNETS), "securityGroups": []}
        ),
        "scalingTarget": {
            "minTaskCount": 1,
            "maxTaskCount": 20,
            "autoScalingMetric": "AVERAGE_CPU",
            "autoScalingTargetValue": 60,
        }
        | (params.get("scalingTarget") or {}),
    }
    if has_definition:
        configuration["taskDefinitionArn"] = params["taskDefinitionArn"]
        return configuration
    configuration |= {
        "executionRoleArn": params.get("executionRoleArn"),
        "taskRoleArn": params.get("taskRoleArn"),
        "cpu": params.get("cpu", DEFAULT_CPU),
        "memory": params.get("memory", DEFAULT_MEMORY),
        "cpuArchitecture": params.get("cpuArchitecture", "X86_64"),
        "primaryContainer": _container(params["primaryContainer"]),
    }
    return {key: value for key, value in configuration.items() if value is not None}


def updated_configuration(previous: Json, params: Json) -> Json:
    """The configuration an update leads to (see the module's note on `primaryContainer`)."""
    if "taskDefinitionArn" in params and ("primaryContainer" in params or _CONTAINER_FIELDS & params.keys()):
        raise _invalid(
            "taskDefinitionArn cannot be combined with primaryContainer, roles, cpu, memory "
            "or cpuArchitecture."
        )
    configuration = copy.deepcopy(previous)
    configuration.pop("serviceRevisionArn", None)
    if "taskDefinitionArn" in params:
        for key in ("primaryContainer", *_CONTAINER_FIELDS):
            configuration.pop(key, None)
        configuration["taskDefinitionArn"] = params["taskDefinitionArn"]
    elif "primaryContainer" in params or _CONTAINER_FIELDS & params.keys():
        if "primaryContainer" not in params and "primaryContainer" not in configuration:
            raise _invalid("primaryContainer is required to leave a customer task definition.")
        configuration.pop("taskDefinitionArn", None)
        configuration.setdefault("cpu", DEFAULT_CPU)
        configuration.setdefault("memory", DEFAULT_MEMORY)
        configuration.setdefault("cpuArchitecture", "X86_64")
    if "primaryContainer" in params:
        configuration["primaryContainer"] = _container(params["primaryContainer"])
    for key in ("executionRoleArn", "taskRoleArn", "cpu", "memory", "cpuArchitecture", "healthCheckPath"):
        if key in params:
            configuration[key] = params[key]
    if "networkConfiguration" in params:
        configuration["networkConfiguration"] = copy.deepcopy(params["networkConfiguration"])
    if "scalingTarget" in params:
        configuration["scalingTarget"] = (
            dict(configuration.get("scalingTarget") or {}) | params["scalingTarget"]
        )
    return configuration


def _container(given: Json) -> Json:
    container = copy.deepcopy(given)
    container.setdefault("containerPort", DEFAULT_CONTAINER_PORT)
    return container


def _invalid(message: str) -> ExpressRequestError:
    return ExpressRequestError(message)


def endpoint(name: str, service_arn: str, region: str) -> str:
    label = name.lower().replace("_", "-")[:40].strip("-") or "svc"
    return f"{label}-{base62(15, 'endpoint', service_arn).lower()}.ecs.{region}.on.aws"


def target_group_arn(name: str, region: str, account_id: str) -> str:
    short = name.lower().replace("_", "-")[:16].strip("-")
    elb = f"arn:aws:elasticloadbalancing:{region}:{account_id}"
    return f"{elb}:targetgroup/ecs-gw-{short}/{hex32('tg', name)[:16]}"


def network_configuration(configuration: Json) -> Json:
    network = configuration.get("networkConfiguration") or {}
    return {
        "awsvpcConfiguration": {
            "subnets": list(network.get("subnets") or DEFAULT_SUBNETS),
            "securityGroups": list(network.get("securityGroups") or []),
            "assignPublicIp": "DISABLED",
        }
    }


def deployment_configuration(alarm_name: str) -> Json:
    return {
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": CANARY_PERCENT, "canaryBakeTimeInMinutes": BAKE_MINUTES},
        "bakeTimeInMinutes": BAKE_MINUTES,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "alarms": {"alarmNames": [alarm_name], "enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }


def configuration_body(record: Service, revision: Revision) -> Json:
    """One `ExpressGatewayServiceConfiguration`, as Describe and Update answer it."""
    configuration = copy.deepcopy(revision.express or {})
    configuration["serviceRevisionArn"] = revision.arn
    configuration["taskDefinitionArn"] = revision.task_definition
    if record.express is not None:
        configuration["ingressPaths"] = [{"accessType": "PUBLIC", "endpoint": record.express.endpoint}]
    configuration["createdAt"] = _epoch(revision.created_at)
    return configuration


def described(record: Service, *, with_tags: bool) -> Json:
    """`ECSExpressGatewayService`: active configurations newest first while a canary runs."""
    service = record.express
    if service is None:
        raise ValueError(f"{record.name} is not an Express service")
    serving = [d.revision for d in record.deployments]
    body: Json = {
        "cluster": record.cluster_arn.rsplit("/", 1)[-1],
        "serviceName": record.name,
        "serviceArn": record.arn,
        "infrastructureRoleArn": service.infrastructure_role_arn,
        "status": {"statusCode": service.status_code},
        "activeConfigurations": [configuration_body(record, revision) for revision in serving],
        "createdAt": _epoch(service.created_at),
        "updatedAt": _epoch(service.updated_at),
    }
    if service.current_deployment is not None:
        body["currentDeployment"] = service.current_deployment
    if with_tags:
        body["tags"] = copy.deepcopy(record.tags)
    return body


def managed_resources(record: Service, revision: Revision, *, region: str, account_id: str) -> Json:
    """`ServiceRevision.ecsManagedResources` for an Express revision: the endpoint and what serves it."""
    service = record.express
    if service is None:
        return {}
    at = _epoch(revision.created_at)
    name = record.name
    elb = f"arn:aws:elasticloadbalancing:{region}:{account_id}"
    balancer = f"{elb}:loadbalancer/app/ecs-express-gateway-alb/{hex32('alb', region)[:16]}"
    listener = f"{balancer.replace(':loadbalancer/', ':listener/')}/{hex32('listener', region)[:16]}"
    rule = f"{listener.replace(':listener/', ':listener-rule/')}/{hex32('rule', name)[:16]}"
    certificate = f"arn:aws:acm:{region}:{account_id}:certificate/{_uuid(hex32('cert', record.arn))}"
    port = int(
        ((revision.express or {}).get("primaryContainer") or {}).get("containerPort", DEFAULT_CONTAINER_PORT)
    )
    health_path = str((revision.express or {}).get("healthCheckPath", DEFAULT_HEALTH_CHECK_PATH))
    resources: Any = {
        "ingressPaths": [
            {
                "accessType": "PUBLIC",
                "endpoint": service.endpoint,
                "loadBalancer": {
                    "arn": balancer,
                    "status": "ACTIVE",
                    "updatedAt": at,
                    "scheme": "internet-facing",
                },
                "certificate": {
                    "arn": certificate,
                    "status": "ACTIVE",
                    "updatedAt": at,
                    "domainName": service.endpoint,
                },
                "listener": {
                    "arn": listener,
                    "status": "ACTIVE",
                    "updatedAt": at,
                },
                "rule": {
                    "arn": rule,
                    "status": "ACTIVE",
                    "updatedAt": at,
                },
                "targetGroups": [
                    {
                        "arn": target_group_arn(name, region, account_id),
                        "status": "ACTIVE",
                        "updatedAt": at,
                        "healthCheckPath": health_path,
                        "healthCheckPort": port,
                        "port": port,
                    }
                ],
            }
        ],
        "metricAlarms": [
            {
                "arn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{service.alarm_name}",
                "status": "ACTIVE",
                "updatedAt": at,
            }
        ],
    }
    return dict(resources)


def _uuid(text: str) -> str:
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}"
