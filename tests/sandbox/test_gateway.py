"""The gateway in front of moto: calls pass through unchanged, are recorded, and can be made to fail."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pushpilot.adapters import clients
from pushpilot_sandbox.ecr import BlobStore
from pushpilot_sandbox.gateway import AwsGateway, RecordedCall, is_mutating, service_model
from pushpilot_sandbox.moto_server import MotoHandle, start_moto

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.type_defs import ChangeBatchTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"
TABLE = "pushpilot"
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoHandle]:
    with start_moto() as handle:
        yield handle


@pytest.fixture(scope="module")
def running_gateway(moto: MotoHandle) -> Iterator[AwsGateway]:
    with AwsGateway(moto_url=moto.url, blobs=BlobStore()) as running:
        yield running


@pytest.fixture
def gateway(moto: MotoHandle, running_gateway: AwsGateway) -> AwsGateway:
    moto.reset()
    running_gateway.clear_calls()
    running_gateway.clear_faults()
    return running_gateway


def _client(gateway: AwsGateway, service: str, config: Config | None = None) -> Any:
    # The service name is a plain str here, so no typed overload of Session.client applies.
    make_client = cast("Callable[..., Any]", boto3.session.Session().client)
    return make_client(service, endpoint_url=gateway.url, region_name=REGION, config=config)


@pytest.fixture
def dynamodb(gateway: AwsGateway) -> DynamoDBClient:
    client: DynamoDBClient = _client(gateway, "dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture
def hosted_zone(gateway: AwsGateway) -> str:
    route53: Route53Client = _client(gateway, "route53")
    zone_id: str = route53.create_hosted_zone(Name="example.com", CallerReference="zone-1")["HostedZone"][
        "Id"
    ]
    return zone_id.removeprefix("/hostedzone/")


def _calls(gateway: AwsGateway, service: str) -> list[RecordedCall]:
    return [call for call in gateway.calls if call.service == service]


def _www_change(target: str) -> ChangeBatchTypeDef:
    return {
        "Changes": [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": "www.example.com",
                    "Type": "CNAME",
                    "TTL": 300,
                    "ResourceRecords": [{"Value": target}],
                },
            }
        ]
    }


# --- recording -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "mutating"),
    [
        ("DescribeService", False),
        ("ListOperations", False),
        ("GetItem", False),
        ("BatchGetImage", False),
        ("Query", False),
        ("Scan", False),
        ("ReceiveMessage", False),
        ("PutItem", True),
        ("UpdateService", True),
        ("StartDeployment", True),
        ("ChangeResourceRecordSets", True),
        ("Publish", True),
        ("DeleteMessage", True),
    ],
)
def test_what_counts_as_mutating(operation: str, mutating: bool) -> None:
    assert is_mutating(operation) is mutating


def test_ecr_calls_are_recorded_with_their_operation_and_parameters(gateway: AwsGateway) -> None:
    ecr = _client(gateway, "ecr")
    ecr.create_repository(repositoryName="team/web")
    ecr.describe_repositories(repositoryNames=["team/web"])

    assert [(c.operation, c.mutating, c.status) for c in _calls(gateway, "ecr")] == [
        ("CreateRepository", True, 200),
        ("DescribeRepositories", False, 200),
    ]
    assert _calls(gateway, "ecr")[1].params == {"repositoryNames": ["team/web"]}
    assert {call.region for call in gateway.calls} == {REGION}


def test_dynamodb_calls_are_recorded(gateway: AwsGateway, dynamodb: DynamoDBClient) -> None:
    gateway.clear_calls()
    item = {"pk": {"S": "RELEASE#web"}, "sk": {"S": "v1"}}
    dynamodb.put_item(TableName=TABLE, Item=item)
    dynamodb.get_item(TableName=TABLE, Key=item)
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "RELEASE#web"}},
    )

    calls = _calls(gateway, "dynamodb")
    assert [(c.operation, c.mutating) for c in calls] == [
        ("PutItem", True),
        ("GetItem", False),
        ("Query", False),
    ]
    assert calls[0].params == {"TableName": TABLE, "Item": item}
    assert calls == gateway.calls


def test_sqs_speaks_json_and_is_recorded(gateway: AwsGateway) -> None:
    model = service_model("sqs")
    assert model is not None
    assert model.resolved_protocol == "json"
    sqs: SQSClient = _client(gateway, "sqs")
    queue_url = sqs.create_queue(QueueName="notices")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    received = sqs.receive_message(QueueUrl=queue_url)

    assert [message["Body"] for message in received["Messages"]] == ["hello"]
    calls = _calls(gateway, "sqs")
    assert [(c.operation, c.mutating) for c in calls] == [
        ("CreateQueue", True),
        ("SendMessage", True),
        ("ReceiveMessage", False),
    ]
    assert calls[1].params == {"QueueUrl": queue_url, "MessageBody": "hello"}


def test_sns_speaks_query_and_is_recorded(gateway: AwsGateway) -> None:
    sns: SNSClient = _client(gateway, "sns")
    topic_arn = sns.create_topic(Name="releases")["TopicArn"]
    sns.publish(TopicArn=topic_arn, Message="web v1 is live", Subject="live")
    sns.list_topics()

    calls = _calls(gateway, "sns")
    assert [(c.operation, c.mutating) for c in calls] == [
        ("CreateTopic", True),
        ("Publish", True),
        ("ListTopics", False),
    ]
    assert calls[1].params == {"TopicArn": topic_arn, "Message": "web v1 is live", "Subject": "live"}


def test_route53_rest_xml_calls_are_named_and_their_xml_read_back_as_params(
    gateway: AwsGateway, hosted_zone: str
) -> None:
    route53: Route53Client = _client(gateway, "route53")
    gateway.clear_calls()
    change = route53.change_resource_record_sets(
        HostedZoneId=hosted_zone, ChangeBatch=_www_change("app.example.net")
    )
    route53.get_change(Id=change["ChangeInfo"]["Id"].removeprefix("/change/"))
    route53.list_resource_record_sets(HostedZoneId=hosted_zone, StartRecordName="www.example.com")

    calls = _calls(gateway, "route53")
    assert [(c.operation, c.mutating) for c in calls] == [
        ("ChangeResourceRecordSets", True),
        ("GetChange", False),
        ("ListResourceRecordSets", False),
    ]
    assert calls[0].params == {"HostedZoneId": hosted_zone, "ChangeBatch": _www_change("app.example.net")}
    assert calls[2].params == {"HostedZoneId": hosted_zone, "StartRecordName": "www.example.com"}


def test_the_gateway_forwards_unchanged_so_moto_answers_as_itself(
    gateway: AwsGateway, moto: MotoHandle
) -> None:
    through_gateway = _client(gateway, "sqs")
    direct = boto3.session.Session().client("sqs", endpoint_url=moto.url, region_name=REGION)
    queue_url = through_gateway.create_queue(QueueName="q1")["QueueUrl"]

    assert direct.get_queue_url(QueueName="q1")["QueueUrl"].removeprefix(moto.url) == queue_url.removeprefix(
        gateway.url
    )
    assert len(gateway.calls) == 1


def test_clear_calls_forgets_what_was_recorded(gateway: AwsGateway) -> None:
    _client(gateway, "sns").list_topics()
    assert gateway.calls

    gateway.clear_calls()

    assert gateway.calls == []


def test_an_unknown_blob_path_is_404(gateway: AwsGateway) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{gateway.url}/blobs/123456789012/team/web/sha256:00", timeout=10)  # noqa: S310
    assert raised.value.code == 404


# --- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["PriorRequestNotComplete", "Throttling"])
def test_route53_faults_raise_their_code(gateway: AwsGateway, hosted_zone: str, code: str) -> None:
    route53: Route53Client = _client(gateway, "route53", ONE_ATTEMPT)
    gateway.inject_fault("route53", "ChangeResourceRecordSets", code=code, message="slow down")

    with pytest.raises(ClientError) as raised:
        route53.change_resource_record_sets(
            HostedZoneId=hosted_zone, ChangeBatch=_www_change("a.example.net")
        )

    assert raised.value.response["Error"] == {"Type": "Sender", "Code": code, "Message": "slow down"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    [call] = _calls(gateway, "route53")[-1:]
    assert (call.operation, call.status, call.fault) == ("ChangeResourceRecordSets", 400, code)
    # The fault is used up: the same call now reaches moto.
    route53.change_resource_record_sets(HostedZoneId=hosted_zone, ChangeBatch=_www_change("a.example.net"))


def test_prior_request_not_complete_is_modeled_by_route53(gateway: AwsGateway, hosted_zone: str) -> None:
    route53: Route53Client = _client(gateway, "route53", ONE_ATTEMPT)
    gateway.inject_fault("route53", "ChangeResourceRecordSets", code="PriorRequestNotComplete")

    with pytest.raises(route53.exceptions.PriorRequestNotComplete):
        route53.change_resource_record_sets(
            HostedZoneId=hosted_zone, ChangeBatch=_www_change("a.example.net")
        )


@pytest.mark.parametrize("code", ["PriorRequestNotComplete", "Throttling"])
def test_route53_throttling_faults_are_retried_by_the_project_retry_config(
    gateway: AwsGateway, hosted_zone: str, code: str
) -> None:
    route53: Route53Client = _client(gateway, "route53", clients.retry_config())
    gateway.inject_fault("route53", "ChangeResourceRecordSets", code=code, times=2)
    gateway.clear_calls()

    answer = route53.change_resource_record_sets(
        HostedZoneId=hosted_zone, ChangeBatch=_www_change("b.example.net")
    )

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert [(c.status, c.fault) for c in _calls(gateway, "route53")] == [
        (400, code),
        (400, code),
        (200, None),
    ]


def test_dynamodb_conditional_check_failure_is_raised_and_not_retried(
    gateway: AwsGateway, dynamodb: DynamoDBClient
) -> None:
    gateway.inject_fault("dynamodb", "PutItem", code="ConditionalCheckFailedException", message="taken")
    gateway.clear_calls()

    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException) as raised:
        dynamodb.put_item(
            TableName=TABLE,
            Item={"pk": {"S": "DEPLOY#web"}, "sk": {"S": "v1"}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    assert raised.value.response["Error"]["Message"] == "taken"
    assert [(c.operation, c.fault) for c in gateway.calls] == [("PutItem", "ConditionalCheckFailedException")]


def test_sns_internal_error_is_a_500_in_query_xml(gateway: AwsGateway) -> None:
    sns: SNSClient = _client(gateway, "sns", ONE_ATTEMPT)
    topic_arn = sns.create_topic(Name="releases")["TopicArn"]
    gateway.inject_fault("sns", "Publish", code="InternalError", status=500)

    with pytest.raises(sns.exceptions.InternalErrorException) as raised:
        sns.publish(TopicArn=topic_arn, Message="hello")

    assert raised.value.response["Error"]["Code"] == "InternalError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert _calls(gateway, "sns")[-1].fault == "InternalError"


def test_a_json_throttling_fault_is_retried_by_the_default_retry_config(
    gateway: AwsGateway, dynamodb: DynamoDBClient
) -> None:
    gateway.inject_fault("dynamodb", "PutItem", code="ThrottlingException", times=2)
    gateway.clear_calls()

    answer = dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "RELEASE#web"}, "sk": {"S": "v2"}})

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert [(c.status, c.fault) for c in gateway.calls] == [
        (400, "ThrottlingException"),
        (400, "ThrottlingException"),
        (200, None),
    ]
    assert "Item" in dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "RELEASE#web"}, "sk": {"S": "v2"}})


def test_faults_only_hit_the_operation_they_name(gateway: AwsGateway, dynamodb: DynamoDBClient) -> None:
    gateway.inject_fault("dynamodb", "DeleteItem", code="ThrottlingException", times=5)

    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})

    assert all(call.fault is None for call in gateway.calls)


def test_faults_on_unknown_services_or_operations_are_refused_when_injected(gateway: AwsGateway) -> None:
    with pytest.raises(ValueError, match="no operation"):
        gateway.inject_fault("dynamodb", "PutThing", code="ThrottlingException")
    with pytest.raises(ValueError, match="unknown service"):
        gateway.inject_fault("not-a-service", "PutItem", code="ThrottlingException")
