"""The install as a first-time user runs it, against a local CloudFormation: the SAM build is packaged
into moto's S3, expanded by the SAM translator, linted, and created as stacks in moto's CloudFormation.

moto falls short of real CloudFormation in ways the checks work around, each named where it happens
(and listed in the Makefile): it skips resource types it does not implement (Lambda EventInvokeConfig,
CloudWatch alarms, SQS and SNS policies, event bus policies), ignores the `Rules` section, and keeps
`AWS::NoValue` entries inside lists. What it skips is asserted on the expanded template instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from pushpilot_sandbox.moto_server import MotoHandle, start_moto
from pushpilot_sandbox.template import Pseudo, Resolver

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ARTIFACT_BUCKET = "pushpilot-install-check"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
BUILD_DIR = ROOT / ".aws-sam" / "build"
EVENTS = ROOT / "events"


class InstallCheckError(AssertionError):
    """What was installed differs from what the README promises."""


@dataclass(frozen=True)
class Stack:
    name: str
    expanded: dict[str, Any]
    parameters: dict[str, str]
    physical: dict[str, str]  # logical id → physical id, as moto's CloudFormation created them
    outputs: dict[str, str]
    stack_id: str = ""
    status: str = "CREATE_COMPLETE"


def aws_environment(endpoint: str) -> dict[str, str]:
    """Endpoint settings only: every client (SAM CLI, the translator, the functions) reaches moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
    }


@contextmanager
def local_aws() -> Iterator[MotoHandle]:
    """moto on 127.0.0.1, on a free port, for the duration of the check; this process's clients too."""
    moto = start_moto()
    saved = {name: os.environ.get(name) for name in aws_environment(moto.url)}
    os.environ.update(aws_environment(moto.url))
    try:
        yield moto
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        moto.stop()


def run(command: list[str], *, env: Mapping[str, str], what: str) -> str:
    done = subprocess.run(  # noqa: S603 - the project's own tools, by absolute path
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise InstallCheckError(
            f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def package(template: Path, out_dir: Path, endpoint: str, *, s3_prefix: str) -> Path:
    """`sam package` uploads the code and layer into the local S3 under the environment's prefix, as
    `sam deploy` does first."""
    boto3.client("s3").create_bucket(Bucket=ARTIFACT_BUCKET)
    packaged = out_dir / f"{template.parent.name}-{s3_prefix}-packaged.yaml"
    run(
        [
            str(SAM),
            "package",
            "--template-file",
            str(template),
            "--s3-bucket",
            ARTIFACT_BUCKET,
            "--s3-prefix",
            s3_prefix,
            "--output-template-file",
            str(packaged),
            "--region",
            REGION,
            "--no-progressbar",
        ],
        env=aws_environment(endpoint),
        what=f"sam package {template}",
    )
    return packaged


def expand(packaged: Path, out: Path, endpoint: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The Serverless transform, by the SAM translator the SAM CLI carries."""
    run(
        [
            str(SAM_PYTHON),
            str(ROOT / "tests" / "install" / "expand.py"),
            str(packaged),
            str(out),
            *(f"{name}={value}" for name, value in parameters.items()),
        ],
        env=aws_environment(endpoint),
        what=f"SAM translator on {packaged.name}",
    )
    expanded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return expanded


def lint(*expanded: Path) -> None:
    """cfn-lint on what CloudFormation really receives, informational rules included."""
    run([str(CFN_LINT), "--include-checks", "I", "--", *map(str, expanded)], env={}, what="cfn-lint")


def resolver(template: Mapping[str, Any], parameters: Mapping[str, str], stack_name: str) -> Resolver:
    return Resolver(
        template, parameters, Pseudo(region=REGION, account_id=ACCOUNT_ID, stack_name=stack_name), {}
    )


def _without_false_no_values(value: Any, conditions: Resolver) -> Any:
    """moto keeps `Fn::If [cond, x, AWS::NoValue]` list entries as None; CloudFormation drops them."""
    if isinstance(value, list):
        kept = []
        for item in value:
            if (
                isinstance(item, dict)
                and list(item) == ["Fn::If"]
                and item["Fn::If"][2] == {"Ref": "AWS::NoValue"}
                and not conditions.condition(item["Fn::If"][0])
            ):
                continue
            kept.append(_without_false_no_values(item, conditions))
        return kept
    if isinstance(value, dict):
        return {key: _without_false_no_values(item, conditions) for key, item in value.items()}
    return value


def create_stack(name: str, expanded: dict[str, Any], parameters: Mapping[str, str]) -> Stack:
    """Through a change set, as `sam deploy` creates a stack: CreateChangeSet (type CREATE), then
    ExecuteChangeSet once the set is ready."""
    cloudformation = boto3.client("cloudformation")
    body = _without_false_no_values(expanded, resolver(expanded, parameters, name))
    change_set = cloudformation.create_change_set(
        StackName=name,
        ChangeSetName=f"{name}-install",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("change_set_create_complete").wait(
        ChangeSetName=change_set["Id"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    described_set = cloudformation.describe_change_set(ChangeSetName=change_set["Id"])
    if described_set["Status"] != "CREATE_COMPLETE" or not described_set["Changes"]:
        raise InstallCheckError(f"change set for {name}: {described_set['Status']}, no changes")
    cloudformation.execute_change_set(ChangeSetName=change_set["Id"])
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    [described] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    # A stack with custom resources stays CREATE_IN_PROGRESS until each is answered (answer_custom_resources).
    waiting = described["StackStatus"] == "CREATE_IN_PROGRESS" and bool(custom_resources(expanded))
    if described["StackStatus"] != "CREATE_COMPLETE" and not waiting:
        raise InstallCheckError(
            f"stack {name}: {described['StackStatus']} {described.get('StackStatusReason')}"
        )
    paginator = cloudformation.get_paginator("list_stack_resources")
    physical = {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for page in paginator.paginate(StackName=name)
        for summary in page["StackResourceSummaries"]
    }
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    return Stack(
        name=name,
        expanded=expanded,
        parameters=dict(parameters),
        physical=physical,
        outputs=outputs,
        stack_id=described["StackId"],
        status=described["StackStatus"],
    )


def custom_resources(expanded: Mapping[str, Any]) -> dict[str, str]:
    """Function-backed custom resources: logical id → the logical id of the function behind it."""
    found: dict[str, str] = {}
    for logical_id, resource in expanded["Resources"].items():
        kind = str(resource.get("Type", ""))
        if not (kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"):
            continue
        token = resource.get("Properties", {}).get("ServiceToken", {})
        target = token.get("Fn::GetAtt") if isinstance(token, dict) else None
        if isinstance(target, list) and len(target) == 2 and target[1] == "Arn":
            found[logical_id] = str(target[0])
    return found


def stack_status(name: str) -> str:
    [described] = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    return str(described["StackStatus"])


def custom_resource_request(stack: Stack, logical_id: str, endpoint: str) -> dict[str, Any]:
    """The Create request CloudFormation sends; moto takes the answer at its own response URL (real
    CloudFormation hands a presigned S3 URL), matched by stack and logical id."""
    resource = stack.expanded["Resources"][logical_id]
    function = custom_resources(stack.expanded)[logical_id]
    properties = {
        key: value for key, value in resource.get("Properties", {}).items() if key != "ServiceToken"
    }
    token = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{stack.physical[function]}"
    return {
        "RequestType": "Create",
        "ServiceToken": token,
        "ResponseURL": f"{endpoint}/cloudformation_{REGION}/cfnresponse?stack={stack.stack_id}",
        "StackId": stack.stack_id,
        "RequestId": "install-check-create",
        "LogicalResourceId": logical_id,
        "ResourceType": resource["Type"],
        "ResourceProperties": {"ServiceToken": token, **properties},
    }
