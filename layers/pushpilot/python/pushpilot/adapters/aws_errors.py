"""The one place an AWS failure becomes a typed pushpilot error, for every adapter alike.

A service error (`ClientError`) is sorted by its code, then by its HTTP status:

1. the calling adapter's own codes (`codes`, e.g. `APP_RUNNER_CODES`), first, so a service can override;
2. access denied → AccessDeniedError, whose message names the permission the role lacks;
3. not found → NotFoundError;
4. throttled — the codes botocore's standard retry mode treats as throttling, or HTTP 429 → ThrottledError;
5. server fault — a fault code, a code botocore retries as transient, or HTTP 5xx → RetryableError;
6. any other HTTP 403 → AccessDeniedError; everything else → PermanentError.

A transport error (`BotoCoreError`) is sorted by when it happened: a connection that was never made
means the request was not sent (RetryableError); a read timeout or a connection lost after sending means
the service may have acted without us hearing (OutcomeUnknownError), so a flow looks before acting again.

Both reach us only after botocore's own retries are spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    ParamValidationError,
    ValidationError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

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

if TYPE_CHECKING:
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

type ServiceCodes = Mapping[str, type[PushpilotError]]

# --- the codes table ---------------------------------------------------------------------------------

ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# ECS names its own: an event may name a service, or a cluster, deleted since.
NOT_FOUND_CODES = frozenset(
    {"ResourceNotFoundException", "ClusterNotFoundException", "ServiceNotFoundException"}
)
# Faults services name without a 5xx status in every answer (botocore's transient list knows only
# RequestTimeout-like codes and relies on the status for the rest).
SERVER_FAULT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalServiceErrorException",
        "ServerException",
        "ServiceException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

# Codes one service alone uses, or uses in its own sense.
APP_RUNNER_CODES: ServiceCodes = {
    # An operation is in progress on the service: wait for it, then deploy.
    "InvalidStateException": ServiceBusyError,
}
DYNAMODB_CODES: ServiceCodes = {"TransactionConflictException": RetryableError}
ECR_CODES: ServiceCodes = {
    "RepositoryNotFoundException": NotFoundError,
    "ImageNotFoundException": NotFoundError,
    "RegistryNotFoundException": NotFoundError,
    # A pull-through cache's upstream registry did not answer.
    "UnableToGetUpstreamImageException": RetryableError,
    "UnableToGetUpstreamLayerException": RetryableError,
}
LAMBDA_CODES: ServiceCodes = {
    # The function is being created or updated: it takes invocations again in a moment.
    "ResourceConflictException": RetryableError,
    "ResourceNotReadyException": RetryableError,
}
ROUTE53_CODES: ServiceCodes = {
    "NoSuchHostedZone": NotFoundError,
    "NoSuchChange": NotFoundError,
    # The zone is still applying an earlier change: not throttling, but retrying is the answer.
    "PriorRequestNotComplete": RetryableError,
}
SNS_CODES: ServiceCodes = {
    "Throttled": ThrottledError,
    "KMSThrottling": ThrottledError,
    "AuthorizationError": AccessDeniedError,
    "KMSAccessDenied": AccessDeniedError,
    "NotFound": NotFoundError,
}
SQS_CODES: ServiceCodes = {
    "KmsThrottled": ThrottledError,
    "KmsAccessDenied": AccessDeniedError,
    "QueueDoesNotExist": NotFoundError,
}


@cache
def _checkers() -> tuple[ThrottledRetryableChecker, TransientRetryableChecker]:
    """botocore's standard retry mode decides "throttled" and "transient" with these checkers; asking them
    keeps our sorting the same as the retries that ran before us. Built on the first failure: importing
    botocore's retry module costs a cold start ≈ 75 ms that a handler whose calls succeed never needs."""
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

    return ThrottledRetryableChecker(), TransientRetryableChecker()


_FORBIDDEN = 403
_TOO_MANY_REQUESTS = 429
_SERVER_FAULT = 500


def aws_error(
    exc: ClientError | BotoCoreError,
    *,
    service: str,
    action: str,
    target: str,
    codes: ServiceCodes | None = None,
    permission: str | None = None,
) -> PushpilotError:
    """The typed error for a failed AWS call; raise it `from exc`.

    `service` is the IAM prefix (`apprunner`), `action` the API operation (`StartDeployment`), `target`
    what it acted on (an ARN, a table, a queue URL). `permission` names the IAM action when it is not
    `service:action` (Lambda's Invoke needs `lambda:InvokeFunction`).
    """
    where = f"{service} {action} on {target}"
    if isinstance(exc, BotoCoreError):
        return _transport_error(exc, where)
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    said = f"{code}: {error.get('Message', '')}".rstrip(": ")
    kind = classify(exc, codes)
    if issubclass(kind, AccessDeniedError):
        needed = permission or f"{service}:{action}"
        return kind(f"{where} was denied ({said}): the role needs {needed} on {target}")
    return kind(f"{where}: {said}")


def classify(exc: ClientError, codes: ServiceCodes | None = None) -> type[PushpilotError]:
    """Which typed error a service error is: the decision of `aws_error`, without its wording."""
    error = exc.response.get("Error", {})
    # A query-compatible service (SQS) answers with its older query code as `Code`; botocore keeps the
    # code its model names in `QueryErrorCode`. Either may be the one a table lists.
    names = [
        name for name in (error.get("Code"), error.get("QueryErrorCode")) if isinstance(name, str) and name
    ]
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    from botocore.retries.standard import RetryContext

    throttled, transient = _checkers()
    context = RetryContext(attempt_number=1, parsed_response=exc.response)
    for name in names:
        if codes and name in codes:
            return codes[name]
    if any(name in ACCESS_DENIED_CODES for name in names):
        return AccessDeniedError
    if any(name in NOT_FOUND_CODES for name in names):
        return NotFoundError
    if throttled.is_retryable(context) or status == _TOO_MANY_REQUESTS:
        return ThrottledError
    if (
        any(name in SERVER_FAULT_CODES for name in names)
        or transient.is_retryable(context)
        or status >= _SERVER_FAULT
    ):
        return RetryableError
    if status == _FORBIDDEN:
        return AccessDeniedError
    return PermanentError


def _transport_error(exc: BotoCoreError, where: str) -> PushpilotError:
    if isinstance(exc, BotocoreConnectionError):
        # Endpoint unreachable, connect timeout, proxy or TLS handshake failure: nothing was sent.
        return RetryableError(f"{where}: not sent, the endpoint could not be reached ({exc})")
    if isinstance(exc, HTTPClientError | IncompleteReadError):
        # Read timeout, connection closed or reset, response cut short: the request went out.
        return OutcomeUnknownError(
            f"{where}: the request may have taken effect; its answer was lost ({type(exc).__name__}: {exc})"
        )
    if isinstance(exc, ParamValidationError | ValidationError):
        # botocore refused to build the request: sending the same one again cannot succeed.
        return PermanentError(f"{where}: invalid request ({exc})")
    return RetryableError(f"{where}: {type(exc).__name__}: {exc}")
