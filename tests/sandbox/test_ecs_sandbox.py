"""ECS in the whole sandbox: the scenario's setup keys, the complete_deployment step, ECS calls in the
report, and aws.ecs events delivered through a template's own rules (twice when delivery says so)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.steps import StepError
from tests.e2e.sandbox_support import Story, story

pytestmark = pytest.mark.sandbox

HERE = Path(__file__).parent
ECS_RULES_TEMPLATE = HERE.parent / "data" / "ecs_router" / "template.yaml"

SETUP: dict[str, Any] = {
    "repositories": ["web", "envoy", "worker"],
    "ecs_services": [
        {
            "name": "storefront",
            "cluster": "prod",
            "image": "web:latest",
            "cpu_architecture": "ARM64",
            "circuit_breaker": True,
            "tags": {"team": "shop"},
            "load_balancer": "storefront-alb",
        },
        {
            "name": "mesh",
            "containers": [{"name": "app", "image": "web:latest"}, {"name": "sidecar", "image": "envoy:v1"}],
        },
        {"name": "jobs", "image": "worker:latest", "launch_type": "EC2", "instance_architecture": "arm64"},
    ],
    "express_services": [{"name": "checkout", "image": "web:latest", "cpu_architecture": "X86_64"}],
}


def _service(running: Story, name: str, cluster: str = "default") -> dict[str, Any]:
    client = running.sandbox.ecs_client()
    (found,) = client.describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"]
    return dict(found)


def test_setup_creates_every_ecs_and_express_service_without_a_sound(tmp_path: Path) -> None:
    with story(SETUP, tmp_path) as running:
        sandbox = running.sandbox
        client = sandbox.ecs_client()
        storefront = _service(running, "storefront", "prod")
        mesh = _service(running, "mesh")
        jobs = _service(running, "jobs")
        express = client.describe_express_gateway_service(serviceArn=sandbox.ecs.service("checkout").arn)[
            "service"
        ]

        assert list(sandbox.bus) == []
        assert sandbox.router.deliveries == []
        assert running.report()["calls"] == []
        for service in (storefront, mesh, jobs):
            (deployment,) = service["deployments"]
            assert (deployment["status"], deployment["rolloutState"]) == ("PRIMARY", "COMPLETED")
        assert storefront["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
            "enable": True,
            "rollback": True,
        }
        assert storefront["tags"] == [{"key": "team", "value": "shop"}]
        assert mesh["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
            "enable": False,
            "rollback": False,
        }
        definition = client.describe_task_definition(taskDefinition=storefront["taskDefinition"])[
            "taskDefinition"
        ]
        assert definition["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
        assert definition["requiresCompatibilities"] == ["FARGATE"]
        (container,) = definition["containerDefinitions"]
        assert container["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest"
        assert container["logConfiguration"]["logDriver"] == "awslogs"
        assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/storefront"
        mesh_definition = client.describe_task_definition(taskDefinition=mesh["taskDefinition"])[
            "taskDefinition"
        ]
        assert "runtimePlatform" not in mesh_definition
        assert [c["name"] for c in mesh_definition["containerDefinitions"]] == ["app", "sidecar"]
        (task_arn,) = client.list_tasks(serviceName="jobs")["taskArns"]
        (task,) = client.describe_tasks(tasks=[task_arn])["tasks"]
        assert task["attributes"] == [{"name": "ecs.cpu-architecture", "value": "arm64"}]
        assert jobs["launchType"] == "EC2"
        assert "currentDeployment" not in express
        assert express["activeConfigurations"][0]["ingressPaths"][0]["endpoint"].endswith(
            ".ecs.us-east-1.on.aws"
        )


def test_ecs_calls_are_in_the_report_with_their_parameters(tmp_path: Path) -> None:
    with story(SETUP, tmp_path) as running:
        client = running.sandbox.ecs_client()
        base = client.describe_task_definition(taskDefinition="storefront")["taskDefinition"]
        pinned = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:{'c0' * 32}"
        registered = client.register_task_definition(
            family=base["family"],
            containerDefinitions=[{**base["containerDefinitions"][0], "image": pinned}],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
        )["taskDefinition"]["taskDefinitionArn"]
        client.update_service(cluster="prod", service="storefront", taskDefinition=registered)
        client.update_express_gateway_service(
            serviceArn=running.sandbox.ecs.service("checkout").arn, primaryContainer={"image": pinned}
        )
        running.timeline.record()

        calls = [(call["service"], call["operation"]) for call in running.report()["calls"]]
        assert calls == [
            ("ecs", "RegisterTaskDefinition"),
            ("ecs", "UpdateService"),
            ("ecs", "UpdateExpressGatewayService"),
        ]
        update, express = (
            running.handler_calls("ecs", "UpdateService"),
            running.handler_calls("ecs", "UpdateExpressGatewayService"),
        )
        assert update[0]["params"] == {
            "cluster": "prod",
            "service": "storefront",
            "taskDefinition": registered,
        }
        assert express[0]["params"]["primaryContainer"] == {"image": pinned}


def test_ecs_events_reach_the_templates_rules_once_per_delivery_copy(tmp_path: Path) -> None:
    setup = {"ecs_services": [{"name": "storefront", "image": "web:latest", "circuit_breaker": True}]}
    with story(setup, tmp_path, template_path=ECS_RULES_TEMPLATE, copies_per_event=2) as running:
        client = running.sandbox.ecs_client()
        base = client.describe_task_definition(taskDefinition="storefront")["taskDefinition"]
        registered = client.register_task_definition(
            family="storefront",
            containerDefinitions=[{**base["containerDefinitions"][0], "image": "web:v2"}],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
        )["taskDefinition"]["taskDefinitionArn"]
        deployment = client.update_service(service="storefront", taskDefinition=registered)["service"][
            "deployments"
        ][0]
        running.sandbox.settle()

        running.step("complete_deployment", {"service": "storefront", "outcome": "rolled_back"})

        seen = [(d.outcome or {}).get("detail", {}) for d in running.sandbox.router.deliveries]
        names = [(item["detail_type"], item["name"]) for item in seen]
        stopped = ("ECS Task State Change", "STOPPED")
        assert names == [
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_IN_PROGRESS"),
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_IN_PROGRESS"),
            *[stopped] * 6,
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_FAILED"),
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_FAILED"),
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_IN_PROGRESS"),
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_IN_PROGRESS"),
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_COMPLETED"),
            ("ECS Deployment State Change", "SERVICE_DEPLOYMENT_COMPLETED"),
        ]
        assert {item["deployment"] for item in seen[:8]} == {deployment["id"]}
        resources = {(item["detail_type"], item["service"].split(":")[5].split("/")[0]) for item in seen}
        assert resources == {("ECS Deployment State Change", "service"), ("ECS Task State Change", "task")}
        assert any("ROLLBACK_SUCCESSFUL" in line for line in running.lines)


def test_the_step_refuses_an_outcome_the_service_cannot_have(tmp_path: Path) -> None:
    setup = {"ecs_services": [{"name": "storefront", "image": "web:latest"}]}
    with story(setup, tmp_path) as running:
        with pytest.raises(StepError, match="no deployment in progress"):
            running.step("complete_deployment", {"service": "storefront", "outcome": "succeeded"})
        running.sandbox.ecs_client().update_service(service="storefront", forceNewDeployment=True)
        with pytest.raises(StepError, match="no deployment circuit breaker"):
            running.step("complete_deployment", {"service": "storefront", "outcome": "failed"})
        with pytest.raises(StepError, match="outcome"):
            running.step("complete_deployment", {"service": "storefront", "outcome": "exploded"})
