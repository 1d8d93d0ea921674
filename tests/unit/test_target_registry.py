"""One registry of deploy targets: what the wiring, the CLI and the benchmarks build, held against the
template's per-target IAM policies, and those policies held to `EcsClusters` and `EcsTaskRolePattern`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pushpilot.targets.ecs.reach import ClusterScope
from pushpilot.targets.registry import TARGETS, Reach, build_targets, domain_sources, entry
from pushpilot_sandbox.template import NO_VALUE, Pseudo, Resolver, load_template

pytestmark = pytest.mark.unit

TEMPLATE = load_template(Path(__file__).parents[2] / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
PSEUDO = Pseudo(region="eu-west-1", account_id="111122223333", stack_name="pushpilot")
# The functions that act on every target: pushes, the scheduled refresh, public-image checks.
EVERY_TARGET_FUNCTIONS = ("ImagePushFunction", "ReconcileFunction")


def policy_refs(function_id: str) -> set[str]:
    """The managed policies a function attaches, a conditional one (`!If [cond, !Ref P, NoValue]`) too."""
    policies = RESOURCES[function_id]["Properties"].get("Policies", [])
    refs: set[str] = set()
    for item in policies:
        if not isinstance(item, dict):
            continue
        branches = item["Fn::If"][1:] if "Fn::If" in item else [item]
        refs |= {branch["Ref"] for branch in branches if isinstance(branch, dict) and "Ref" in branch}
    return refs - {"AWS::NoValue"}


def test_every_target_names_a_managed_policy_of_the_template() -> None:
    for target in TARGETS:
        assert RESOURCES[target.policy]["Type"] == "AWS::IAM::ManagedPolicy", target.kind


def test_every_per_target_policy_of_the_template_belongs_to_a_target() -> None:
    deploy_policies = {
        logical_id
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.endswith("DeployPolicy")
    }
    assert deploy_policies == {target.policy for target in TARGETS}


@pytest.mark.parametrize("function_id", EVERY_TARGET_FUNCTIONS)
def test_functions_acting_on_every_target_attach_every_target_policy(function_id: str) -> None:
    assert {target.policy for target in TARGETS} <= policy_refs(function_id)


def test_the_built_targets_are_the_registry_kinds_and_labels() -> None:
    built = build_targets(Reach(region="eu-west-1", clusters=ClusterScope.parse("prod")))

    assert list(built) == [target.kind for target in TARGETS]
    for kind, target in built.items():
        assert (target.kind, target.label) == (kind, entry(kind).label)


def test_every_built_target_and_domain_reader_carries_the_cluster_scope() -> None:
    reach = Reach(clusters=ClusterScope.parse("prod"))
    outside = "arn:aws:ecs:us-east-1:111122223333:service/legacy/web"

    served = {kind: target.serves(outside) for kind, target in build_targets(reach).items()}

    assert served == {"apprunner": True, "ecs": False, "ecs_express": False, "lambda": False}
    assert len(domain_sources(reach)) == 2


def test_the_lambda_target_serves_only_the_functions_of_its_prefix() -> None:
    function = "arn:aws:lambda:us-east-1:111122223333:function:{}"
    scoped = build_targets(Reach(function_prefix="media-"))["lambda"]
    off = build_targets(Reach())["lambda"]

    assert scoped.serves(function.format("media-thumbs"))
    assert scoped.serves(function.format("media-thumbs") + ":live")
    assert not scoped.serves(function.format("billing"))
    assert not off.serves(function.format("media-thumbs"))


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="apprunner"):
        entry("nope")


# --- the policies, resolved as CloudFormation would ---------------------------------------------------


def statements(policy_id: str, **parameters: str) -> dict[str, Any]:
    resolver = Resolver(TEMPLATE, parameters, PSEUDO, {})
    document = resolver.resolve(RESOURCES[policy_id]["Properties"]["PolicyDocument"], policy_id)
    return {item["Sid"]: item for item in document["Statement"] if item is not NO_VALUE}


SCOPED_ACTIONS = {"ecs:UpdateService", "ecs:DescribeServices"}


def test_without_ecs_clusters_deploying_covers_every_service_of_the_region() -> None:
    deploy = statements("EcsDeployPolicy")["DeployOnlyTheServicesOfEcsClusters"]

    assert set(deploy["Action"]) >= SCOPED_ACTIONS
    assert deploy["Resource"] == "arn:aws:ecs:eu-west-1:111122223333:service/*"
    assert "Condition" not in deploy


def test_with_ecs_clusters_deploying_covers_only_their_services_by_name_or_arn() -> None:
    found = statements("EcsDeployPolicy", EcsClusters="prod,arn:aws:ecs:eu-west-1:111122223333:cluster/shop")
    deploy = found["DeployOnlyTheServicesOfEcsClusters"]

    service_patterns = [item for item in deploy["Resource"] if item.endswith("/*")]
    assert "arn:*:ecs:*:*:service/prod/*" in service_patterns
    assert "arn:*:ecs:*:*:service/shop/*" in service_patterns
    assert not any(item.endswith(":service/*") for item in deploy["Resource"])
    assert deploy["Condition"] == {
        "StringEquals": {"aws:ResourceAccount": "111122223333", "aws:RequestedRegion": "eu-west-1"}
    }
    # No other statement lets a service be updated or described.
    others = [item for sid, item in found.items() if sid != "DeployOnlyTheServicesOfEcsClusters"]
    assert not any(SCOPED_ACTIONS & set(item["Action"]) for item in others)
    # Tagging stays limited to the revisions pushpilot registers, never a service.
    tagging = [item for item in others if "ecs:TagResource" in item["Action"]]
    assert [item["Condition"] for item in tagging] == [
        {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}
    ]


def test_no_role_is_passable_unless_ecs_task_role_pattern_names_it() -> None:
    assert "PassOnlyTaskRolesToEcsTasks" not in statements("EcsDeployPolicy")

    passing = statements("EcsDeployPolicy", EcsTaskRolePattern="shop-*")["PassOnlyTaskRolesToEcsTasks"]
    assert passing["Resource"] == "arn:aws:iam::111122223333:role/shop-*"
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_only_registrations_carrying_pushpilots_tag_are_allowed() -> None:
    registering = [
        item
        for item in statements("EcsDeployPolicy").values()
        if "ecs:RegisterTaskDefinition" in item["Action"]
    ]

    assert [(item["Resource"], item["Condition"]) for item in registering] == [
        ("*", {"Null": {"aws:RequestTag/pushpilot:digest": "false"}})
    ]
