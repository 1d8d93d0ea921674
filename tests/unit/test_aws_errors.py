"""The shared AWS error classifier, fed with real botocore exceptions.

Service errors are produced by botocore itself: a real client sends nothing (a before-send hook answers
with the raw bytes a service sends for that error, in the service's own protocol) and botocore parses
the answer into the ClientError an adapter would catch. Transport errors are botocore's own classes.
"""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from botocore.session import get_session

from pushpilot.adapters.aws_errors import (
    APP_RUNNER_CODES,
    DYNAMODB_CODES,
    ECR_CODES,
    LAMBDA_CODES,
    ROUTE53_CODES,
    SNS_CODES,
    SQS_CODES,
    ServiceCodes,
    aws_error,
)
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    OutcomeUnknownError,
    PermanentError,
    PushpilotError,
    RetryableError,
    ServiceBusyError,
    ThrottledError,
)

SERVICE_ARN = "arn:aws:apprunner:us-east-1:111122223333:service/storefront/11aa22bb33cc44dd55ee66ff77889900"
TOPIC_ARN = "arn:aws:sns:us-east-1:111122223333:pushpilot-notices"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111122223333/pushpilot-notices"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:pushpilot-deploy"

type Service = Literal["dynamodb", "apprunner", "ecr", "lambda", "route53", "sns", "sqs"]
# One call per service, and the parameters botocore needs to build it.
CALLS: dict[Service, tuple[str, dict[str, Any]]] = {
    "dynamodb": ("get_item", {"TableName": "pushpilot", "Key": {"pk": {"S": "SERVICE#web"}}}),
    "apprunner": ("start_deployment", {"ServiceArn": SERVICE_ARN}),
    "ecr": ("batch_get_image", {"repositoryName": "shop/web", "imageIds": [{"imageTag": "v1"}]}),
    "lambda": ("invoke", {"FunctionName": FUNCTION_ARN, "InvocationType": "Event", "Payload": b"{}"}),
    "route53": ("list_hosted_zones", {}),
    "sns": ("publish", {"TopicArn": TOPIC_ARN, "Message": "hello"}),
    "sqs": ("send_message", {"QueueUrl": QUEUE_URL, "MessageBody": "{}"}),
}
JSON_1_0 = {"Content-Type": "application/x-amz-json-1.0"}
JSON_1_1 = {"Content-Type": "application/x-amz-json-1.1"}


class _RawBody(io.BytesIO):
    """The streaming body botocore reads an answer from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def service_error(
    service: Service, status: int, body: bytes, headers: dict[str, str] | None = None
) -> ClientError:
    """The ClientError botocore raises when the service answers `status` with `body`."""
    operation, params = CALLS[service]
    client = get_session().create_client(
        service, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    answer_headers = HTTPHeaders()
    for name, value in (headers or {}).items():
        answer_headers[name] = value

    # botocore takes a response from a before-send handler as the service's answer (its stubs type
    # handlers as returning None).
    def answer(request: AWSPreparedRequest, **_: Any) -> Any:
        return AWSResponse(request.url, status, answer_headers, _RawBody(body))

    client.meta.events.register_first("before-send", answer)
    with pytest.raises(ClientError) as raised:
        getattr(client, operation)(**params)
    return raised.value


def json_error(type_: str, message: str) -> bytes:
    return ('{"__type":"%s","message":"%s"}' % (type_, message)).encode()  # noqa: UP031 - braces in JSON


def query_error(namespace: str, code: str, message: str) -> bytes:
    """The XML error body of the query protocol (SNS) and of REST-XML (Route 53)."""
    return (
        f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>4c3e1a7b-0f5d-4a57-9d3e-2b8f6c1e0a94</RequestId></ErrorResponse>"
    ).encode()


SNS_NS = "http://sns.amazonaws.com/doc/2010-03-31/"
ROUTE53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
DDB = "com.amazonaws.dynamodb.v20120810#"
XML = {"Content-Type": "text/xml"}


class Case(NamedTuple):
    service: Service
    status: int
    body: bytes
    headers: dict[str, str]
    codes: ServiceCodes
    expected: type[PushpilotError]


def dynamodb(status: int, code: str, message: str, expected: type[PushpilotError]) -> Case:
    """JSON 1.0: botocore takes the code from `__type`, after the '#'."""
    return Case("dynamodb", status, json_error(f"{DDB}{code}", message), JSON_1_0, DYNAMODB_CODES, expected)


def apprunner(status: int, code: str, message: str, expected: type[PushpilotError]) -> Case:
    return Case("apprunner", status, json_error(code, message), JSON_1_0, APP_RUNNER_CODES, expected)


def ecr(status: int, code: str, message: str, expected: type[PushpilotError]) -> Case:
    return Case("ecr", status, json_error(code, message), JSON_1_1, ECR_CODES, expected)


def lambda_(status: int, code: str, message: str, expected: type[PushpilotError]) -> Case:
    """REST-JSON: the code travels in the x-amzn-ErrorType header."""
    body = ('{"Type":"User","message":"%s"}' % message).encode()  # noqa: UP031 - braces in JSON
    return Case("lambda", status, body, {"x-amzn-ErrorType": code}, LAMBDA_CODES, expected)


def sns(status: int, code: str, message: str, expected: type[PushpilotError]) -> Case:
    """Query protocol: an XML ErrorResponse with Type, Code and Message."""
    return Case("sns", status, query_error(SNS_NS, code, message), XML, SNS_CODES, expected)


def route53(status: int, code: str, message: str, expected: type[PushpilotError]) -> Case:
    """REST-XML: the same ErrorResponse shape, in Route 53's namespace."""
    return Case("route53", status, query_error(ROUTE53_NS, code, message), XML, ROUTE53_CODES, expected)


def sqs(code: str, query_code: str, expected: type[PushpilotError]) -> Case:
    """JSON, query-compatible: the JSON type and the older query code (a header) both arrive."""
    headers = {**JSON_1_0, "x-amzn-query-error": f"{query_code};Sender"}
    return Case("sqs", 400, json_error(f"com.amazonaws.sqs#{code}", code), headers, SQS_CODES, expected)


SERVICE_ERRORS: dict[str, Case] = {
    "ddb-throughput": dynamodb(400, "ProvisionedThroughputExceededException", "slow down", ThrottledError),
    "ddb-throttling": dynamodb(400, "ThrottlingException", "Rate of requests exceeds", ThrottledError),
    "ddb-not-found": dynamodb(
        400, "ResourceNotFoundException", "Requested resource not found", NotFoundError
    ),
    "ddb-denied": dynamodb(400, "AccessDeniedException", "not authorized", AccessDeniedError),
    "ddb-internal": dynamodb(500, "InternalServerError", "Internal server error", RetryableError),
    "ddb-transaction": dynamodb(400, "TransactionConflictException", "Transaction ongoing", RetryableError),
    "ddb-condition": dynamodb(400, "ConditionalCheckFailedException", "The condition failed", PermanentError),
    "ddb-request-timeout": dynamodb(400, "RequestTimeoutException", "timed out", RetryableError),
    "apprunner-busy": apprunner(400, "InvalidStateException", "OPERATION_IN_PROGRESS", ServiceBusyError),
    "apprunner-not-found": apprunner(400, "ResourceNotFoundException", "no such service", NotFoundError),
    "apprunner-internal": apprunner(500, "InternalServiceErrorException", "unexpected", RetryableError),
    "apprunner-unauthorized": apprunner(400, "UnauthorizedOperation", "not authorized", AccessDeniedError),
    "apprunner-quota": apprunner(400, "ServiceQuotaExceededException", "quota", PermanentError),
    "ecr-repository": ecr(400, "RepositoryNotFoundException", "no such repository", NotFoundError),
    "ecr-limit": ecr(400, "LimitExceededException", "rate exceeded", ThrottledError),
    "ecr-server": ecr(500, "ServerException", "internal", RetryableError),
    "ecr-upstream": ecr(400, "UnableToGetUpstreamImageException", "upstream unreachable", RetryableError),
    "ecr-validation": ecr(400, "ValidationException", "bad digest", PermanentError),
    "lambda-too-many": lambda_(429, "TooManyRequestsException", "Rate Exceeded.", ThrottledError),
    "lambda-updating": lambda_(409, "ResourceConflictException", "state: Pending", RetryableError),
    "lambda-service": lambda_(500, "ServiceException", "internal", RetryableError),
    "lambda-not-found": lambda_(404, "ResourceNotFoundException", "Function not found", NotFoundError),
    "sns-not-found": sns(404, "NotFound", "Topic does not exist", NotFoundError),
    "sns-authorization": sns(403, "AuthorizationError", "User is not authorized", AccessDeniedError),
    "sns-kms-throttling": sns(400, "KMSThrottling", "KMS throttled", ThrottledError),
    "sns-throttled": sns(429, "Throttled", "Rate exceeded", ThrottledError),
    "sns-internal": sns(500, "InternalError", "internal", RetryableError),
    "sns-invalid": sns(400, "InvalidParameter", "Invalid parameter: Message", PermanentError),
    "route53-throttling": route53(400, "Throttling", "Rate exceeded", ThrottledError),
    "route53-prior-request": route53(400, "PriorRequestNotComplete", "still processing", RetryableError),
    "route53-no-zone": route53(404, "NoSuchHostedZone", "No hosted zone found", NotFoundError),
    "route53-denied": route53(403, "AccessDenied", "not authorized", AccessDeniedError),
    "sqs-no-queue": sqs("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", NotFoundError),
    "sqs-throttled": sqs("RequestThrottled", "RequestThrottled", ThrottledError),
    "sqs-kms-denied": sqs("KmsAccessDenied", "KMS.AccessDeniedException", AccessDeniedError),
    # Answers no service model names (a proxy's page, an empty body): decided by the HTTP status.
    "html-503": Case(
        "dynamodb", 503, b"<html><body>Service Unavailable</body></html>", {}, DYNAMODB_CODES, RetryableError
    ),
    "empty-502": Case("sns", 502, b"", {}, SNS_CODES, RetryableError),
    "empty-429": Case("apprunner", 429, b"", {}, APP_RUNNER_CODES, ThrottledError),
    "empty-403": Case("ecr", 403, b"", {}, ECR_CODES, AccessDeniedError),
}


@pytest.mark.parametrize("case", SERVICE_ERRORS.values(), ids=SERVICE_ERRORS.keys())
def test_a_service_error_becomes_its_typed_error(case: Case) -> None:
    exc = service_error(case.service, case.status, case.body, case.headers)

    error = aws_error(exc, service=case.service, action="Call", target="the target", codes=case.codes)

    assert type(error) is case.expected
    assert "the target" in str(error)


def test_a_service_code_outside_the_shared_table_needs_the_service_map() -> None:
    exc = service_error(
        "apprunner", 400, json_error("InvalidStateException", "operation in progress"), JSON_1_0
    )

    assert (
        type(aws_error(exc, service="apprunner", action="StartDeployment", target=SERVICE_ARN))
        is PermanentError
    )
    assert (
        type(
            aws_error(
                exc, service="apprunner", action="StartDeployment", target=SERVICE_ARN, codes=APP_RUNNER_CODES
            )
        )
        is ServiceBusyError
    )


def test_the_service_map_overrides_the_shared_table() -> None:
    # botocore counts PriorRequestNotComplete as throttling; Route 53 means "a change is still applying".
    exc = service_error("route53", 400, query_error(ROUTE53_NS, "PriorRequestNotComplete", "busy"), {})

    assert (
        type(aws_error(exc, service="route53", action="ListHostedZones", target="the account"))
        is ThrottledError
    )
    assert (
        type(
            aws_error(
                exc, service="route53", action="ListHostedZones", target="the account", codes=ROUTE53_CODES
            )
        )
        is RetryableError
    )


def test_access_denied_names_the_missing_permission_and_the_target() -> None:
    exc = service_error(
        "apprunner", 400, json_error("AccessDeniedException", "User is not authorized"), JSON_1_0
    )

    error = aws_error(
        exc, service="apprunner", action="StartDeployment", target=SERVICE_ARN, codes=APP_RUNNER_CODES
    )

    assert isinstance(error, AccessDeniedError)
    assert f"the role needs apprunner:StartDeployment on {SERVICE_ARN}" in str(error)
    assert "User is not authorized" in str(error)


def test_access_denied_names_the_iam_action_when_it_differs_from_the_api_operation() -> None:
    exc = service_error(
        "lambda",
        403,
        b'{"Type":"User","message":"not authorized"}',
        {"x-amzn-ErrorType": "AccessDeniedException"},
    )

    error = aws_error(
        exc, service="lambda", action="Invoke", target=FUNCTION_ARN, permission="lambda:InvokeFunction"
    )

    assert isinstance(error, AccessDeniedError)
    assert f"needs lambda:InvokeFunction on {FUNCTION_ARN}" in str(error)


def test_the_message_carries_the_service_code_and_its_words() -> None:
    exc = service_error(
        "sns", 400, query_error(SNS_NS, "InvalidParameter", "Invalid parameter: Message too long"), {}
    )

    error = aws_error(exc, service="sns", action="Publish", target=TOPIC_ARN, codes=SNS_CODES)

    assert str(error) == f"sns Publish on {TOPIC_ARN}: InvalidParameter: Invalid parameter: Message too long"


ENDPOINT = "https://apprunner.us-east-1.amazonaws.com/"

TRANSPORT_ERRORS: list[tuple[str, BotoCoreError, type[PushpilotError]]] = [
    # Never sent: the service did nothing.
    ("endpoint-unreachable", EndpointConnectionError(endpoint_url=ENDPOINT), RetryableError),
    ("connect-timeout", ConnectTimeoutError(endpoint_url=ENDPOINT), RetryableError),
    ("proxy", ProxyConnectionError(proxy_url="http://proxy.internal:3128", error="refused"), RetryableError),
    (
        "tls-handshake",
        SSLError(endpoint_url=ENDPOINT, error=ssl.SSLCertVerificationError("certificate verify failed")),
        RetryableError,
    ),
    # Sent, answer lost: the service may have acted.
    ("read-timeout", ReadTimeoutError(endpoint_url=ENDPOINT), OutcomeUnknownError),
    ("connection-closed", ConnectionClosedError(endpoint_url=ENDPOINT), OutcomeUnknownError),
    (
        "response-streaming",
        ResponseStreamingError(error="Connection broken: IncompleteRead"),
        OutcomeUnknownError,
    ),
    (
        "connection-reset",
        HTTPClientError(error=ConnectionResetError(104, "Connection reset by peer")),
        OutcomeUnknownError,
    ),
    ("incomplete-read", IncompleteReadError(actual_bytes=512, expected_bytes=2048), OutcomeUnknownError),
    # Never built: the same request can never succeed.
    (
        "invalid-parameters",
        ParamValidationError(report="Invalid length for parameter ServiceArn"),
        PermanentError,
    ),
    # Anything else botocore raises: retried.
    ("no-credentials", NoCredentialsError(), RetryableError),
]


@pytest.mark.parametrize(
    ("exc", "expected"), [pytest.param(*case[1:], id=case[0]) for case in TRANSPORT_ERRORS]
)
def test_a_transport_error_becomes_its_typed_error(
    exc: BotoCoreError, expected: type[PushpilotError]
) -> None:
    error = aws_error(
        exc, service="apprunner", action="StartDeployment", target=SERVICE_ARN, codes=APP_RUNNER_CODES
    )

    assert type(error) is expected
    assert f"apprunner StartDeployment on {SERVICE_ARN}" in str(error)


def test_an_unknown_outcome_is_retryable_and_says_the_request_may_have_taken_effect() -> None:
    error = aws_error(
        ReadTimeoutError(endpoint_url=ENDPOINT),
        service="apprunner",
        action="StartDeployment",
        target=SERVICE_ARN,
    )

    assert isinstance(error, RetryableError)
    assert "may have taken effect" in str(error)
    assert "ReadTimeoutError" in str(error)


def test_a_request_never_sent_says_so() -> None:
    error = aws_error(
        EndpointConnectionError(endpoint_url=ENDPOINT),
        service="apprunner",
        action="StartDeployment",
        target=SERVICE_ARN,
    )

    assert not isinstance(error, OutcomeUnknownError)
    assert "not sent" in str(error)
