"""The cross-account forwarder and the service account's bus policies, resolved as CloudFormation would."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from moto.events.models import EventPattern

from pushpilot_sandbox.template import PhysicalResource, Pseudo, Resolver, TemplateError, load_template

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]
FORWARDER_TEMPLATE = load_template(ROOT / "forwarder" / "template.yaml")
SERVICE_TEMPLATE = load_template(ROOT / "template.yaml")

REGISTRY = Pseudo(region="eu-central-1", account_id="404040404040", stack_name="pushpilot-forwarder")
SERVICE = Pseudo(region="eu-central-1", account_id="505050505050", stack_name="pushpilot")
SERVICE_BUS = "arn:aws:events:eu-central-1:505050505050:event-bus/default"

ROLE_ARN = "arn:aws:iam::404040404040:role/pushpilot-forwarder-ForwarderRole-1A2B3C4D5E6F"
QUEUE_ARN = "arn:aws:sqs:eu-central-1:404040404040:pushpilot-forwarder-ForwardingDeadLetterQueue-7G8H9I"
RULE_ARN = "arn:aws:events:eu-central-1:404040404040:rule/pushpilot-forwarder-ForwardEcrPushes-0J1K2L"
LIVE_RULE_ARN = "arn:aws:events:eu-central-1:404040404040:rule/pushpilot-forwarder-ForwardReleaseLive-3M4N5O"
FORWARDER_RESOURCES = {
    "ForwarderRole": PhysicalResource(
        ref="pushpilot-forwarder-ForwarderRole-1A2B3C4D5E6F", attributes={"Arn": ROLE_ARN}
    ),
    "ForwardingDeadLetterQueue": PhysicalResource(
        ref="https://sqs.eu-central-1.amazonaws.com/404040404040/pushpilot-forwarder-ForwardingDeadLetterQueue-7G8H9I",
        attributes={"Arn": QUEUE_ARN, "QueueName": QUEUE_ARN.rpartition(":")[2]},
    ),
    "ForwardEcrPushes": PhysicalResource(ref=RULE_ARN.rpartition("/")[2], attributes={"Arn": RULE_ARN}),
    "ForwardReleaseLive": PhysicalResource(
        ref=LIVE_RULE_ARN.rpartition("/")[2], attributes={"Arn": LIVE_RULE_ARN}
    ),
}


def forwarder(**parameters: str) -> Resolver:
    return Resolver(
        FORWARDER_TEMPLATE, {"ServiceEventBusArn": SERVICE_BUS, **parameters}, REGISTRY, FORWARDER_RESOURCES
    )


def service(**parameters: str) -> Resolver:
    return Resolver(SERVICE_TEMPLATE, parameters, SERVICE, {})


def properties(resolver: Resolver, logical_id: str) -> dict[str, Any]:
    resolved = resolver.resolve(
        resolver.template["Resources"][logical_id].get("Properties") or {}, f"Resources.{logical_id}"
    )
    assert isinstance(resolved, dict)
    return resolved


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def ecr_event(
    *,
    action: str = "PUSH",
    result: str = "SUCCESS",
    repository: str = "team-a/web",
    tag: str | None = "2024.06.1",
    detail_type: str = "ECR Image Action",
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": result,
        "repository-name": repository,
        "image-digest": "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest(),
        "action-type": action,
    }
    if tag is not None:
        detail["image-tag"] = tag
    return {
        "version": "0",
        "id": "5b0c8f3e-9d41-4a7e-b2c6-0f1e2d3c4b5a",
        "detail-type": detail_type,
        "source": "aws.ecr",
        "account": REGISTRY.account_id,
        "time": "2024-06-03T08:15:42Z",
        "region": REGISTRY.region,
        "resources": [],
        "detail": detail,
    }


def forwarded(event: Mapping[str, Any], **parameters: str) -> bool:
    pattern = properties(forwarder(**parameters), "ForwardEcrPushes")["EventPattern"]
    return bool(EventPattern(None, pattern).matches_event(cast("Any", dict(event))))


# --- which events leave the registry account -------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "team-a/"])
def test_a_successful_push_is_forwarded(prefix: str) -> None:
    assert forwarded(ecr_event(), RepositoryPrefix=prefix)


def test_an_untagged_child_manifest_is_forwarded_for_the_service_account_to_judge() -> None:
    assert forwarded(ecr_event(tag=None))


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(ecr_event(action="DELETE"), id="delete"),
        pytest.param(ecr_event(result="FAILURE"), id="failed-push"),
        pytest.param(ecr_event(detail_type="ECR Image Scan"), id="scan"),
        pytest.param({**ecr_event(), "source": "aws.apprunner"}, id="other-source"),
    ],
)
def test_anything_but_a_successful_push_stays_home(event: dict[str, Any]) -> None:
    assert not forwarded(event)


@pytest.mark.parametrize(
    ("repository", "expected"),
    [("team-a/web", True), ("team-a/api", True), ("team-b/web", False), ("web", False)],
)
def test_the_repository_prefix_limits_what_is_forwarded(repository: str, *, expected: bool) -> None:
    assert forwarded(ecr_event(repository=repository), RepositoryPrefix="team-a/") is expected


@pytest.mark.parametrize("prefix", ["", "team-a/"])
def test_forwarded_pushes_are_exactly_those_pushpilot_handles(prefix: str) -> None:
    forwarding = properties(forwarder(RepositoryPrefix=prefix), "ForwardEcrPushes")["EventPattern"]
    push_function = service(RepositoryPrefix=prefix).template["Resources"]["ImagePushFunction"]
    handled = service(RepositoryPrefix=prefix).resolve(
        push_function["Properties"]["Events"]["EcrPush"]["Properties"]["Pattern"]
    )

    assert forwarding == handled


# --- where they go, and with which rights ----------------------------------------------------------


def test_the_one_target_is_the_service_bus_through_the_forwarder_role() -> None:
    (target,) = properties(forwarder(), "ForwardEcrPushes")["Targets"]

    assert target["Id"] == "ServiceAccountBus"
    assert target["Arn"] == SERVICE_BUS
    assert target["RoleArn"] == ROLE_ARN
    assert target["DeadLetterConfig"] == {"Arn": QUEUE_ARN}
    assert int(target["RetryPolicy"]["MaximumRetryAttempts"]) > 0


def test_the_rule_listens_on_the_default_bus_where_ecr_publishes() -> None:
    assert properties(forwarder(), "ForwardEcrPushes").get("EventBusName", "default") == "default"


def test_the_role_may_only_put_events_on_the_service_bus() -> None:
    role = properties(forwarder(), "ForwarderRole")
    grants = {
        (action, resource)
        for policy in role["Policies"]
        for statement in as_list(policy["PolicyDocument"]["Statement"])
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if statement["Effect"] == "Allow"
    }

    assert grants == {("events:PutEvents", SERVICE_BUS)}
    assert not role.get("ManagedPolicyArns")


def test_only_eventbridge_of_the_registry_account_may_assume_the_role() -> None:
    (trust,) = as_list(properties(forwarder(), "ForwarderRole")["AssumeRolePolicyDocument"]["Statement"])

    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == REGISTRY.account_id


def test_only_the_forwarding_rules_may_write_to_the_dead_letter_queue() -> None:
    queue = properties(forwarder(), "ForwardingDeadLetterQueue")
    policy = properties(forwarder(), "ForwardingDeadLetterQueuePolicy")
    (statement,) = as_list(policy["PolicyDocument"]["Statement"])

    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue
    assert policy["Queues"] == [FORWARDER_RESOURCES["ForwardingDeadLetterQueue"].ref]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert statement["Resource"] == QUEUE_ARN
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [RULE_ARN, LIVE_RULE_ARN]


def test_only_pushpilot_release_live_events_are_forwarded_besides_pushes() -> None:
    rule = properties(forwarder(), "ForwardReleaseLive")
    assert rule["EventPattern"] == {"source": ["pushpilot"], "detail-type": ["Release Live"]}
    assert rule.get("EventBusName", "default") == "default"
    (target,) = rule["Targets"]
    assert target["Arn"] == SERVICE_BUS
    assert target["RoleArn"] == ROLE_ARN
    assert target["DeadLetterConfig"] == {"Arn": QUEUE_ARN}


def test_the_dead_letter_alarm_exists_only_with_a_topic() -> None:
    topic = "arn:aws:sns:eu-central-1:404040404040:platform-alerts"

    assert not forwarder().includes("ForwardingDeadLetterAlarm")
    with_topic = forwarder(AlarmTopicArn=topic)
    assert with_topic.includes("ForwardingDeadLetterAlarm")
    alarm = properties(with_topic, "ForwardingDeadLetterAlarm")
    assert alarm["AlarmActions"] == [topic]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": QUEUE_ARN.rpartition(":")[2]}]


@pytest.mark.parametrize(
    "bus",
    [
        "505050505050",
        "arn:aws:sqs:eu-central-1:505050505050:pushpilot",
        "arn:aws:events:eu-central-1:5050:event-bus/default",
        "arn:aws:events:eu-central-1:505050505050:rule/default",
        "",
    ],
)
def test_anything_but_an_event_bus_arn_is_refused(bus: str) -> None:
    with pytest.raises(TemplateError, match="ServiceEventBusArn"):
        Resolver(FORWARDER_TEMPLATE, {"ServiceEventBusArn": bus}, REGISTRY, FORWARDER_RESOURCES)


def test_the_service_stack_names_the_bus_the_forwarder_takes() -> None:
    bus = service().resolve(SERVICE_TEMPLATE["Outputs"]["EventBusArn"]["Value"])

    assert bus == SERVICE_BUS
    assert properties(forwarder(ServiceEventBusArn=bus), "ForwardEcrPushes")["Targets"][0]["Arn"] == bus


def test_the_service_stack_names_the_role_registries_must_grant() -> None:
    assert SERVICE_TEMPLATE["Outputs"]["ImagePushRoleArn"]["Value"] == {
        "Fn::GetAtt": ["ImagePushFunctionRole", "Arn"]
    }


# --- what the service account's bus lets in --------------------------------------------------------


def test_no_bus_policy_without_sources() -> None:
    resolver = service()

    assert not resolver.includes("CrossAccountPushesPolicy")
    assert not resolver.includes("OrganizationPushesPolicy")


def test_listed_accounts_may_put_only_ecr_and_pushpilot_events_on_the_default_bus() -> None:
    resolver = service(EventSourceAccounts="404040404040,606060606060")

    assert resolver.includes("CrossAccountPushesPolicy")
    assert not resolver.includes("OrganizationPushesPolicy")
    policy = properties(resolver, "CrossAccountPushesPolicy")
    statement = policy["Statement"]
    assert policy["EventBusName"] == "default"
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": ["404040404040", "606060606060"]}
    assert as_list(statement["Action"]) == ["events:PutEvents"]
    assert statement["Resource"] == SERVICE_BUS
    assert statement["Condition"] == {"StringEquals": {"events:source": ["aws.ecr", "pushpilot"]}}


def test_an_organization_may_put_only_ecr_and_pushpilot_events_on_the_default_bus() -> None:
    resolver = service(EventSourceOrganizationId="o-a1b2c3d4e5")

    assert resolver.includes("OrganizationPushesPolicy")
    assert not resolver.includes("CrossAccountPushesPolicy")
    policy = properties(resolver, "OrganizationPushesPolicy")
    statement = policy["Statement"]
    assert policy["EventBusName"] == "default"
    assert statement["Principal"] == "*"
    assert as_list(statement["Action"]) == ["events:PutEvents"]
    assert statement["Resource"] == SERVICE_BUS
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5", "events:source": ["aws.ecr", "pushpilot"]}
    }


def test_accounts_and_organization_together_give_both_policies() -> None:
    resolver = service(EventSourceAccounts="404040404040", EventSourceOrganizationId="o-a1b2c3d4e5")

    assert resolver.includes("CrossAccountPushesPolicy")
    assert resolver.includes("OrganizationPushesPolicy")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("EventSourceAccounts", "4040"),
        ("EventSourceAccounts", "404040404040, 606060606060"),
        ("EventSourceAccounts", "404040404040,"),
        ("EventSourceAccounts", "arn:aws:iam::404040404040:root"),
        ("EventSourceOrganizationId", "r-a1b2"),
        ("EventSourceOrganizationId", "o-"),
    ],
)
def test_malformed_sources_are_refused(parameter: str, value: str) -> None:
    with pytest.raises(TemplateError, match=parameter):
        service(**{parameter: value})
