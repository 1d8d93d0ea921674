"""Every adapter family turns botocore's transport errors into typed errors, never lets them escape.

Two faults, injected with botocore's own event hooks on the test's client (no sockets):
- `lose_answer`: moto serves the request — the service acts — then the answer is lost on the way back
  (the hook runs after moto's and raises a read timeout or a closed connection);
- `refuse_connection`: the connection is never made, so nothing reaches the service.
Clients make one attempt, so each fault is seen once (production clients let botocore retry first).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.session import get_session
from botocore.stub import Stubber
from moto import mock_aws

from pushpilot.adapters.codebuild import BuildLookup
from pushpilot.adapters.dead_letters import SqsDeadLetterQueue, lambda_invoker
from pushpilot.adapters.ecr import ImageInspector
from pushpilot.adapters.logs import BuildLogs
from pushpilot.adapters.notice_queue import NoticeQueue
from pushpilot.adapters.public_tags import PublicTagStore
from pushpilot.adapters.route53 import Route53Zones
from pushpilot.adapters.sns import SnsChannel
from pushpilot.core.dns.models import Change, ChangeAction, RecordSet, ZonePlan
from pushpilot.core.errors import (
    AccessDeniedError,
    OutcomeUnknownError,
    RetryableError,
    ServiceBusyError,
)
from pushpilot.core.notices import NoticeKind
from pushpilot.core.render_sns import SnsMessage
from pushpilot.core.verdicts import Platform
from pushpilot.flows.replay import replay
from pushpilot.targets.apprunner.domains import CustomDomainReader
from tests.integration.tables import create_stack_table
from tests.unit.notify_samples import sample

if TYPE_CHECKING:
    from botocore.client import BaseClient

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
TABLE = "pushpilot-test"
DIGEST = "sha256:" + "5e" * 32
SERVICE_ARN = "arn:aws:apprunner:us-east-1:111122223333:service/storefront/11aa22bb33cc44dd55ee66ff77889900"


def _operation_of(client: BaseClient, operation: str) -> str:
    return f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"


def lose_answer(
    client: BaseClient, operation: str, error: type[ReadTimeoutError | ConnectionClosedError]
) -> None:
    """The service acts on `operation`, then its answer is lost.

    botocore calls handlers of a named operation before those of plain `before-send` (moto's), so this
    one goes last on plain `before-send` and picks its operation by the event's name."""
    wanted = _operation_of(client, operation)

    def drop(request: Any, event_name: str, **_: Any) -> None:
        if event_name == wanted:
            raise error(endpoint_url=request.url)

    client.meta.events.register_last("before-send", drop)


def refuse_connection(client: BaseClient, operation: str) -> None:
    """`operation` never reaches the service."""

    def refuse(request: Any, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    client.meta.events.register_first(_operation_of(client, operation), refuse)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def client(service: str) -> Any:
    return get_session().create_client(service, region_name=REGION, config=ONE_ATTEMPT)


# --- DynamoDB (public tags, pending domains, threads share dynamodb_error) ------------------------------


@pytest.mark.usefixtures("aws")
def test_dynamodb_write_whose_answer_is_lost_is_outcome_unknown_and_did_happen() -> None:
    dynamodb = client("dynamodb")
    create_stack_table(dynamodb, TABLE)
    lose_answer(dynamodb, "UpdateItem", ReadTimeoutError)

    with pytest.raises(OutcomeUnknownError, match="dynamodb UpdateItem"):
        PublicTagStore(TABLE, dynamodb).observe(
            "public.ecr.aws/nginx/nginx:stable", DIGEST, "2026-05-04T09:00Z"
        )

    stored = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "PUBLICTAG#public.ecr.aws/nginx/nginx:stable"}, "sk": {"S": "TAG"}}
    )
    assert stored["Item"]["digest"]["S"] == DIGEST


@pytest.mark.usefixtures("aws")
def test_dynamodb_write_never_sent_is_retryable_and_did_not_happen() -> None:
    dynamodb = client("dynamodb")
    create_stack_table(dynamodb, TABLE)
    refuse_connection(dynamodb, "UpdateItem")

    with pytest.raises(RetryableError, match="not sent") as raised:
        PublicTagStore(TABLE, dynamodb).observe(
            "public.ecr.aws/nginx/nginx:stable", DIGEST, "2026-05-04T09:00Z"
        )

    assert not isinstance(raised.value, OutcomeUnknownError)
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0


# --- SQS: the notice queue, and the dead-letter replay -------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_queued_notice_whose_answer_is_lost_is_outcome_unknown_and_was_queued() -> None:
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="pushpilot-notices")["QueueUrl"]
    lose_answer(sqs, "SendMessage", ConnectionClosedError)

    with pytest.raises(OutcomeUnknownError, match="could not queue notice"):
        NoticeQueue(url, sqs).publish(sample(NoticeKind.LIVE))

    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])) == 1


@pytest.mark.usefixtures("aws")
def test_replay_whose_receive_answer_is_lost_is_outcome_unknown() -> None:
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="pushpilot-dead-letters")["QueueUrl"]
    lose_answer(sqs, "ReceiveMessage", ReadTimeoutError)

    def never(function_arn: str, payload: dict[str, Any]) -> None:
        raise AssertionError(f"nothing was received, yet {function_arn} was invoked with {payload}")

    with pytest.raises(OutcomeUnknownError, match="sqs ReceiveMessage"):
        replay(SqsDeadLetterQueue(url, sqs), never)


def test_replay_hand_off_never_sent_is_retryable() -> None:
    lambda_client = client("lambda")
    refuse_connection(lambda_client, "Invoke")
    function_arn = "arn:aws:lambda:us-east-1:111122223333:function:pushpilot-deploy"

    with pytest.raises(RetryableError, match=f"lambda Invoke on {function_arn}: not sent"):
        lambda_invoker(lambda_client)(function_arn, {"detail-type": "ECR Image Action"})


# --- SNS ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_sns_publish_whose_connection_closes_is_outcome_unknown() -> None:
    sns = client("sns")
    topic = sns.create_topic(Name="pushpilot-notices")["TopicArn"]
    lose_answer(sns, "Publish", ConnectionClosedError)
    message = SnsMessage(subject="web is live", message='{"default": "web is live"}', attributes={})

    with pytest.raises(OutcomeUnknownError, match=f"sns Publish on {topic}"):
        SnsChannel(topic, sns).publish(message)


# --- ECR --------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_ecr_read_whose_answer_is_lost_is_outcome_unknown() -> None:
    ecr = client("ecr")
    ecr.create_repository(repositoryName="shop/web")
    lose_answer(ecr, "BatchGetImage", ReadTimeoutError)

    with pytest.raises(OutcomeUnknownError, match="ecr BatchGetImage on repository 'shop/web'"):
        ImageInspector(ecr).inspect(
            "shop/web", digest=DIGEST, required=Platform(os="linux", architecture="amd64")
        )


# --- Route 53 -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_route53_change_whose_answer_is_lost_is_outcome_unknown_and_was_applied() -> None:
    route53 = client("route53")
    zone_id = route53.create_hosted_zone(Name="books.example", CallerReference="t1")["HostedZone"]["Id"]
    lose_answer(route53, "ChangeResourceRecordSets", ReadTimeoutError)
    record = RecordSet(name="shop.books.example", type="A", ttl=60, values=("192.0.2.7",))
    zone_plan = ZonePlan(
        zone_id=zone_id,
        zone_name="books.example",
        changes=(Change(action=ChangeAction.CREATE, record=record),),
    )
    zones = Route53Zones(route53)

    with pytest.raises(OutcomeUnknownError, match=r"route53 ChangeResourceRecordSets on zone books\.example"):
        zones.apply(zone_plan)

    assert record in zones.snapshot(zone_id).records


# --- CloudWatch Logs and CodeBuild ------------------------------------------------------------------------


def test_log_read_never_sent_is_retryable_not_an_unavailable_tail() -> None:
    logs = client("logs")
    refuse_connection(logs, "GetLogEvents")

    with pytest.raises(RetryableError, match="logs GetLogEvents on /aws/codebuild/web: not sent"):
        BuildLogs(logs).tail("/aws/codebuild/web", "3f1c9a52")


@pytest.mark.usefixtures("aws")
def test_build_lookup_whose_answer_is_lost_is_outcome_unknown() -> None:
    codebuild = client("codebuild")
    lose_answer(codebuild, "BatchGetBuilds", ReadTimeoutError)

    with pytest.raises(OutcomeUnknownError, match="codebuild BatchGetBuilds on web-build:3f1c9a52"):
        BuildLookup(codebuild).build_facts("web-build:3f1c9a52")


# --- App Runner custom domains: the App Runner codes the service adapter uses too ---------------------------


def test_app_runner_domain_read_whose_answer_is_lost_is_outcome_unknown() -> None:
    apprunner = client("apprunner")
    lose_answer(apprunner, "ListServices", ReadTimeoutError)

    with pytest.raises(OutcomeUnknownError, match="apprunner ListServices on the account"):
        CustomDomainReader(apprunner).list_all()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("InvalidStateException", 400, ServiceBusyError),
        ("UnauthorizedOperation", 400, AccessDeniedError),
        ("InternalServiceErrorException", 500, RetryableError),
    ],
)
def test_app_runner_domain_errors_use_the_app_runner_codes(
    code: str, status: int, expected: type[Exception]
) -> None:
    apprunner = client("apprunner")
    with Stubber(apprunner) as stubber:
        stubber.add_client_error(
            "describe_custom_domains", service_error_code=code, service_message=code, http_status_code=status
        )
        with pytest.raises(expected) as raised:
            CustomDomainReader(apprunner).for_service(SERVICE_ARN)

    assert type(raised.value) is expected
    if expected is AccessDeniedError:
        assert f"needs apprunner:DescribeCustomDomains on {SERVICE_ARN}" in str(raised.value)
