"""What moto's CloudFormation created for one stack, read back through the AWS APIs."""

from __future__ import annotations

import ast
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.install.pipeline import Stack


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    arn: str
    handler: str
    timeout: int
    environment: dict[str, str]
    role_name: str


@dataclass(frozen=True)
class Rule:
    logical_id: str
    pattern: dict[str, Any] | None
    schedule: str | None
    state: str
    targets: list[dict[str, Any]]


@dataclass(frozen=True)
class Created:
    stack: Stack
    functions: dict[str, Function]
    rules: dict[str, Rule]
    queues: dict[str, dict[str, str]]  # logical id → attributes
    log_groups: dict[str, int | None]  # name → retention days
    role_actions: dict[str, set[str]]  # role name → actions its inline policies allow
    event_source_mappings: list[dict[str, Any]]


def _resources_of(stack: Stack, kind: str) -> list[str]:
    return [
        logical_id
        for logical_id, resource in stack.expanded["Resources"].items()
        if resource["Type"] == kind and logical_id in stack.physical
    ]


def _actions(document: Any) -> set[str]:
    if isinstance(document, str):
        # moto answers with the document CloudFormation handed it, which may be Python's repr of it.
        document = json.loads(document) if document.lstrip().startswith('{"') else ast.literal_eval(document)
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    found: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        action = statement.get("Action", [])
        found.update([action] if isinstance(action, str) else action)
    return found


def read_created(stack: Stack) -> Created:
    lambda_ = boto3.client("lambda")
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    logs = boto3.client("logs")
    iam = boto3.client("iam")
    functions: dict[str, Function] = {}
    for logical_id in _resources_of(stack, "AWS::Lambda::Function"):
        config = lambda_.get_function_configuration(FunctionName=stack.physical[logical_id])
        functions[logical_id] = Function(
            logical_id=logical_id,
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config["Handler"],
            timeout=config["Timeout"],
            environment={k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()},
            role_name=config["Role"].rsplit("/", 1)[-1],
        )
    rules: dict[str, Rule] = {}
    for logical_id in _resources_of(stack, "AWS::Events::Rule"):
        described = events.describe_rule(Name=stack.physical[logical_id])
        rules[logical_id] = Rule(
            logical_id=logical_id,
            pattern=json.loads(described["EventPattern"]) if "EventPattern" in described else None,
            schedule=described.get("ScheduleExpression"),
            state=described["State"],
            targets=[
                dict(target) for target in events.list_targets_by_rule(Rule=described["Name"])["Targets"]
            ],
        )
    queues: dict[str, dict[str, str]] = {}
    for logical_id in _resources_of(stack, "AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=stack.physical[logical_id].rsplit("/", 1)[-1])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        queues[logical_id] = {str(name): value for name, value in attributes.items()}
    log_groups = {
        group["logGroupName"]: group.get("retentionInDays")
        for group in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    }
    role_actions: dict[str, set[str]] = {}
    for logical_id in _resources_of(stack, "AWS::IAM::Role"):
        role = stack.physical[logical_id]
        role_actions[role] = set()
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            role_actions[role] |= _actions(document)
    mappings: list[dict[str, Any]] = [
        dict(mapping)
        for mapping in lambda_.list_event_source_mappings()["EventSourceMappings"]
        if mapping["FunctionArn"] in {function.arn for function in functions.values()}
    ]
    return Created(stack, functions, rules, queues, log_groups, role_actions, mappings)


def download_artifacts(stack: Stack, into: Path) -> dict[str, Path]:
    """The function and layer zips `sam package` uploaded, unpacked: what Lambda would run."""
    s3 = boto3.client("s3")
    unpacked: dict[str, Path] = {}
    for logical_id, resource in stack.expanded["Resources"].items():
        properties = resource.get("Properties", {})
        location = properties.get("Code") if resource["Type"] == "AWS::Lambda::Function" else None
        if resource["Type"] == "AWS::Lambda::LayerVersion":
            location = properties.get("Content")
        if not location:
            continue
        body = s3.get_object(Bucket=location["S3Bucket"], Key=location["S3Key"])["Body"].read()
        target = into / logical_id
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            archive.extractall(target)
        unpacked[logical_id] = target
    return unpacked
