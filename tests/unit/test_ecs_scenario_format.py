"""The ECS keys of the scenario format (setup.ecs_services, setup.express_services, complete_deployment)
are read and checked before any sandbox starts: a mistake is one line naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pushpilot_sandbox.ecs_scenario import CircuitBreakerSpec, EcsServiceSpec
from pushpilot_sandbox.scenario import ScenarioError, load_scenario

ECS_SERVICE = {"name": "storefront", "image": "web:latest"}


def _load(tmp_path: Path, setup: dict[str, Any], steps: list[Any] | None = None) -> Any:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({"setup": setup, "steps": steps or [{"refresh": None}]}), encoding="utf-8")
    return load_scenario(path)


def test_the_documented_keys_are_read(tmp_path: Path) -> None:
    scenario = _load(
        tmp_path,
        {
            "ecs_services": [
                {
                    "name": "storefront",
                    "cluster": "prod",
                    "image": "web:latest",
                    "cpu_architecture": "ARM64",
                    "circuit_breaker": True,
                    "tags": {"team": "shop"},
                    "load_balancer": "shop-alb",
                },
                {
                    "name": "mesh",
                    "containers": [
                        {"name": "app", "image": "web:v1"},
                        {"name": "envoy", "image": "envoy:v1"},
                    ],
                },
                {
                    "name": "jobs",
                    "image": "worker:latest",
                    "launch_type": "EC2",
                    "instance_architecture": "arm64",
                },
            ],
            "express_services": [
                {"name": "checkout", "image": "web:latest", "cpu_architecture": "X86_64", "tags": {"a": "b"}}
            ],
        },
        [
            {
                "complete_deployment": {
                    "service": "storefront",
                    "outcome": "rolled_back",
                    "stopped_reason": "boom",
                }
            },
            {"complete_deployment": {"service": "checkout", "outcome": "stuck"}},
            {
                "complete_deployment": {
                    "service": "storefront",
                    "outcome": "rolled_back",
                    "rollback": "in_progress",
                }
            },
        ],
    )

    storefront, mesh, jobs = scenario.setup.ecs_services
    assert (storefront.cluster, storefront.cpu_architecture, storefront.load_balancer) == (
        "prod",
        "ARM64",
        "shop-alb",
    )
    assert storefront.breaker == CircuitBreakerSpec(enable=True, rollback=True)
    assert mesh.container_images == [("app", "web:v1"), ("envoy", "envoy:v1")]
    assert (mesh.cluster, mesh.launch_type, mesh.breaker.enable) == ("default", "FARGATE", False)
    assert (jobs.launch_type, jobs.instance_architecture) == ("EC2", "arm64")
    assert scenario.setup.express_services[0].tags == {"a": "b"}


def test_a_breaker_without_rollback_has_its_own_form() -> None:
    spec = EcsServiceSpec.model_validate({**ECS_SERVICE, "circuit_breaker": {"rollback": False}})

    assert spec.breaker == CircuitBreakerSpec(enable=True, rollback=False)


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"name": "storefront"}, "give exactly one of `image` or `containers`"),
        ({**ECS_SERVICE, "containers": [{"name": "app", "image": "web:v1"}]}, "exactly one"),
        ({**ECS_SERVICE, "launch_type": "EC2", "cpu_architecture": "ARM64"}, "instance_architecture"),
        ({**ECS_SERVICE, "instance_architecture": "arm64"}, "Fargate has no container instances"),
        ({**ECS_SERVICE, "cpu_architecture": "arm64"}, "cpu_architecture"),
        ({**ECS_SERVICE, "name": "store front"}, "letters, digits, hyphens or underscores"),
        ({**ECS_SERVICE, "replicas": 2}, "replicas: unknown field"),
    ],
)
def test_a_mistake_in_an_ecs_service_names_the_field(
    tmp_path: Path, service: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        _load(tmp_path, {"ecs_services": [service]})


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"service": "ghost", "outcome": "succeeded"},
            "step 1 \\(complete_deployment\\): service 'ghost' is not in setup",
        ),
        ({"service": "storefront", "outcome": "done"}, "outcome"),
        ({"service": "storefront"}, "outcome: Field required"),
        ({"service": "storefront", "outcome": "rolled_back", "rollback": "maybe"}, "rollback"),
    ],
)
def test_a_mistake_in_complete_deployment_names_the_step(
    tmp_path: Path, step: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        _load(tmp_path, {"ecs_services": [ECS_SERVICE]}, [{"complete_deployment": step}])
