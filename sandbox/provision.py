"""Create the template's data resources (tables, queues, topics, secrets, parameters) in a moto server.

Only the resource types the handlers talk to are created; IAM, alarms, layers and the rest have no
sandbox counterpart and are skipped. Resources whose `Condition` is false are skipped like
CloudFormation skips them. Names follow CloudFormation's `stack-LogicalId-SUFFIX` form when the
template gives none.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import boto3

from pushpilot_sandbox.accounts import in_account
from pushpilot_sandbox.sam_functions import implicit_resources
from pushpilot_sandbox.template import (
    PhysicalResource,
    Pseudo,
    Resolver,
    TemplateError,
    as_bool,
    physical_name,
    references,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient


class ProvisionError(Exception):
    """A resource could not be created in the sandbox; the message names it."""


class _Clients:
    """boto3 clients pointed straight at the moto server, created on first use."""

    def __init__(self, endpoint_url: str, region: str, account_id: str) -> None:
        # moto accepts any credentials; fixed ones keep a sandbox run from ever using a real profile.
        self._session = boto3.session.Session(
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",  # noqa: S106 - not a secret: moto ignores it
            region_name=region,
        )
        self._endpoint_url = endpoint_url
        self._account_id = account_id
        self._made: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = in_account(
                self._session.client(service, endpoint_url=self._endpoint_url),  # type: ignore[call-overload]
                self._account_id,
            )
        return self._made[service]

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @property
    def sns(self) -> SNSClient:
        client: SNSClient = self._client("sns")
        return client

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self._client("secretsmanager")
        return client

    @property
    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm")
        return client


type _Creator = Callable[[Resolver, _Clients, str, Mapping[str, Any]], PhysicalResource]


def provision(
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
    *,
    endpoint_url: str,
    region: str,
    account_id: str,
    stack_name: str = "pushpilot",
) -> dict[str, PhysicalResource]:
    """Create every supported, included resource in dependency order; logical id → what it answers to."""
    resolver = Resolver(
        template, parameters, Pseudo(region=region, account_id=account_id, stack_name=stack_name), {}
    )
    # Subscriptions and parameters may name a function; the sandbox knows what it would be called.
    resolver = resolver.with_resources(implicit_resources(resolver))
    wanted = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in _CREATORS and resolver.includes(logical_id)
    }
    order = graphlib.TopologicalSorter(
        {logical_id: _dependencies(resource, wanted) for logical_id, resource in wanted.items()}
    )
    clients = _Clients(endpoint_url, region, account_id)
    created: dict[str, PhysicalResource] = {}
    for logical_id in order.static_order():
        resource = wanted[logical_id]
        creator = _CREATORS[resource["Type"]]
        try:
            physical = creator(resolver, clients, logical_id, resource.get("Properties") or {})
        except TemplateError as exc:
            raise ProvisionError(f"{logical_id}: {exc}") from exc
        _check_account(logical_id, physical, account_id)
        created[logical_id] = physical
        resolver = resolver.with_resources({logical_id: physical})
    return created


def _dependencies(resource: Mapping[str, Any], wanted: Mapping[str, Any]) -> set[str]:
    depends_on = resource.get("DependsOn") or []
    named = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    return (references(resource.get("Properties") or {}) | named) & set(wanted)


def _check_account(logical_id: str, physical: PhysicalResource, account_id: str) -> None:
    arn = physical.attributes.get("Arn") or (physical.ref if physical.ref.startswith("arn:") else "")
    if arn and arn.split(":")[4] != account_id:
        raise ProvisionError(
            f"{logical_id}: the moto server answers as account {arn.split(':')[4]}, not {account_id}; "
            "pass the same account id to both"
        )


def _name(
    resolver: Resolver, properties: Mapping[str, Any], key: str, logical_id: str, **options: Any
) -> str:
    if key in properties:
        return resolver.resolve_text(properties[key], f"{logical_id}.{key}")
    return physical_name(resolver.pseudo.stack_name, logical_id, **options)


def _resolved(resolver: Resolver, properties: Mapping[str, Any], key: str, logical_id: str) -> Any:
    return resolver.resolve(properties[key], f"{logical_id}.{key}") if key in properties else None


# --- DynamoDB --------------------------------------------------------------------------------------


def _create_table(
    resolver: Resolver, clients: _Clients, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    name = _name(resolver, properties, "TableName", logical_id, max_length=255)
    billing_mode = _resolved(resolver, properties, "BillingMode", logical_id) or "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": _resolved(resolver, properties, "KeySchema", logical_id),
        "AttributeDefinitions": _resolved(resolver, properties, "AttributeDefinitions", logical_id),
        "BillingMode": billing_mode,
    }
    if billing_mode == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(
            _resolved(resolver, properties, "ProvisionedThroughput", logical_id)
        )
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = _resolved(resolver, properties, key, logical_id)
        if indexes:
            request[key] = [
                {**index, "ProvisionedThroughput": _throughput(index.get("ProvisionedThroughput"))}
                if billing_mode == "PROVISIONED" and key == "GlobalSecondaryIndexes"
                else {field: value for field, value in index.items() if field != "ProvisionedThroughput"}
                for index in indexes
            ]
    stream = _resolved(resolver, properties, "StreamSpecification", logical_id)
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    description = clients.dynamodb.create_table(**request)["TableDescription"]

    ttl = _resolved(resolver, properties, "TimeToLiveSpecification", logical_id)
    if ttl and as_bool(ttl.get("Enabled", False), f"{logical_id}.TimeToLiveSpecification.Enabled"):
        clients.dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    attributes = {"Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        attributes["StreamArn"] = description["LatestStreamArn"]
    return PhysicalResource(ref=name, attributes=attributes)


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


# --- SQS -------------------------------------------------------------------------------------------

_QUEUE_ATTRIBUTES: Final = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


def _create_queue(
    resolver: Resolver, clients: _Clients, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    attributes = {
        key: _attribute_text(resolver.resolve(properties[key], f"{logical_id}.{key}"))
        for key in _QUEUE_ATTRIBUTES
        if key in properties
    }
    fifo = attributes.get("FifoQueue") == "true"
    suffix = ".fifo" if fifo else ""
    name = _name(resolver, properties, "QueueName", logical_id, max_length=80, suffix=suffix)
    url = clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return PhysicalResource(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


# --- SNS -------------------------------------------------------------------------------------------


def _create_topic(
    resolver: Resolver, clients: _Clients, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    attributes = {
        key: _attribute_text(resolver.resolve(properties[key], f"{logical_id}.{key}"))
        for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId")
        if key in properties
    }
    fifo = attributes.get("FifoTopic") == "true"
    name = _name(
        resolver, properties, "TopicName", logical_id, max_length=256, suffix=".fifo" if fifo else ""
    )
    arn = clients.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in _resolved(resolver, properties, "Subscription", logical_id) or []:
        if subscription["Protocol"] == "lambda":
            continue  # The router, not moto, invokes handlers: moto would try to run the function itself.
        clients.sns.subscribe(
            TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
        )
    return PhysicalResource(ref=arn, attributes={"TopicArn": arn, "TopicName": name})


def _create_subscription(
    resolver: Resolver, clients: _Clients, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    protocol = resolver.resolve_text(properties.get("Protocol"), f"{logical_id}.Protocol")
    if protocol == "lambda":
        # The router, not moto, invokes handlers: moto would try to run the function itself.
        return PhysicalResource(ref=physical_name(resolver.pseudo.stack_name, logical_id))
    attributes = {
        key: _attribute_text(resolver.resolve(properties[key], f"{logical_id}.{key}"))
        for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
        if key in properties
    }
    arn = clients.sns.subscribe(
        TopicArn=resolver.resolve_text(properties.get("TopicArn"), f"{logical_id}.TopicArn"),
        Protocol=protocol,
        Endpoint=resolver.resolve_text(properties.get("Endpoint"), f"{logical_id}.Endpoint"),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return PhysicalResource(ref=arn, attributes={"Arn": arn})


# --- Secrets Manager and SSM -----------------------------------------------------------------------


def _create_secret(
    resolver: Resolver, clients: _Clients, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    name = _name(resolver, properties, "Name", logical_id, max_length=512)
    request: dict[str, Any] = {"Name": name}
    description = _resolved(resolver, properties, "Description", logical_id)
    if description:
        request["Description"] = description
    if "SecretString" in properties:
        request["SecretString"] = resolver.resolve_text(
            properties["SecretString"], f"{logical_id}.SecretString"
        )
    elif "GenerateSecretString" in properties:
        request["SecretString"] = _generated_secret(
            clients,
            resolver.resolve(properties["GenerateSecretString"], f"{logical_id}.GenerateSecretString"),
        )
    arn = clients.secretsmanager.create_secret(**request)["ARN"]
    return PhysicalResource(ref=arn, attributes={"Id": arn})


def _generated_secret(clients: _Clients, options: Mapping[str, Any]) -> str:
    request = {
        key: value
        for key, value in options.items()
        if key not in {"SecretStringTemplate", "GenerateStringKey"}
    }
    if "PasswordLength" in request:
        request["PasswordLength"] = int(request["PasswordLength"])
    password = clients.secretsmanager.get_random_password(**request)["RandomPassword"]
    template = options.get("SecretStringTemplate")
    key = options.get("GenerateStringKey")
    if template is None or key is None:
        return password
    document = json.loads(template)
    document[key] = password
    return json.dumps(document)


def _create_parameter(
    resolver: Resolver, clients: _Clients, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    name = _name(resolver, properties, "Name", logical_id, max_length=2048)
    kind = _resolved(resolver, properties, "Type", logical_id) or "String"
    value = resolver.resolve_text(properties.get("Value"), f"{logical_id}.Value")
    request: dict[str, Any] = {"Name": name, "Type": kind, "Value": value}
    for key in ("Description", "AllowedPattern", "Tier", "DataType"):
        if key in properties:
            request[key] = resolver.resolve_text(properties[key], f"{logical_id}.{key}")
    clients.ssm.put_parameter(**request)
    return PhysicalResource(ref=name, attributes={"Type": kind, "Value": value})


_CREATORS: Final[Mapping[str, _Creator]] = {
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::SNS::Topic": _create_topic,
    "AWS::SNS::Subscription": _create_subscription,
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::SSM::Parameter": _create_parameter,
}
