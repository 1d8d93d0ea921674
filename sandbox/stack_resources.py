"""What CloudFormation does as it creates the stack beyond the resources `provision` makes: it asks each
function-backed custom resource (`Custom::…` or `AWS::CloudFormation::CustomResource` whose ServiceToken
names one of the stack's functions) to act, and reads the answer the function PUTs to a presigned S3 URL.

A scenario with no `refresh` step is a fresh install: the services of its setup existed before the
stack, so the runner asks these resources after the setup, as CloudFormation would at stack creation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from pushpilot_sandbox.environment import STACK_NAME
from pushpilot_sandbox.sam_functions import implicit_resources
from pushpilot_sandbox.template import Pseudo, Resolver, load_template

if TYPE_CHECKING:
    from pushpilot_sandbox.environment import Sandbox
    from pushpilot_sandbox.router import Delivery

_CUSTOM_TYPES = ("Custom::", "AWS::CloudFormation::CustomResource")
# CloudFormation's own response bucket is regional; the sandbox keeps one like it in moto.
_RESPONSE_BUCKET = "cloudformation-custom-resource-response-{region}"


@dataclass(frozen=True)
class StackAnswer:
    """One custom resource's request, its function's delivery, and the answer CloudFormation got."""

    logical_id: str
    delivery: Delivery
    answer: dict[str, Any] | None


def _function_of(token: Any) -> str | None:
    """`!GetAtt SomeFunction.Arn` → `SomeFunction`; anything else is no function of the stack."""
    if not isinstance(token, Mapping) or "Fn::GetAtt" not in token:
        return None
    target = token["Fn::GetAtt"]
    parts = target.split(".", 1) if isinstance(target, str) else list(target)
    return str(parts[0]) if len(parts) == 2 and parts[1] == "Arn" else None


def create_custom_resources(sandbox: Sandbox) -> list[StackAnswer]:
    """Send each function-backed custom resource its Create request; what each answered (None: nothing)."""
    config = sandbox.config
    template = load_template(config.template_path)
    pseudo = Pseudo(region=config.region, account_id=config.account_id, stack_name=STACK_NAME)
    resolver = Resolver(template, sandbox.parameters, pseudo, {})
    resolver = resolver.with_resources(implicit_resources(resolver)).with_resources(sandbox.resources)
    s3 = boto3.client(
        "s3",
        region_name=config.region,
        endpoint_url=sandbox.moto_url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",  # noqa: S106 - not a secret: moto ignores it
    )
    bucket = _RESPONSE_BUCKET.format(region=config.region)
    if config.region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": config.region},
        )
    stack_id = (
        f"arn:{pseudo.partition}:cloudformation:{config.region}:{config.account_id}"
        f":stack/{STACK_NAME}/{uuid.uuid4()}"
    )
    answers: list[StackAnswer] = []
    for logical_id, resource in template["Resources"].items():
        kind = str(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        function = _function_of(properties.get("ServiceToken"))
        if not kind.startswith(_CUSTOM_TYPES) or function is None or not resolver.includes(logical_id):
            continue
        request_id = str(uuid.uuid4())
        key = f"{logical_id}/{request_id}"
        url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=7200)
        resolved = resolver.resolve(properties, where=logical_id)
        request = {
            "RequestType": "Create",
            "ServiceToken": resolved["ServiceToken"],
            "ResponseURL": url,
            "StackId": stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": kind,
            "ResourceProperties": resolved,
        }
        delivery = sandbox.router.invoke_custom_resource(function, request)
        sandbox.settle()
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            answers.append(StackAnswer(logical_id=logical_id, delivery=delivery, answer=None))
            continue
        answers.append(StackAnswer(logical_id=logical_id, delivery=delivery, answer=json.loads(body)))
    return answers
