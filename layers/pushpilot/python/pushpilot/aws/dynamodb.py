"""DynamoDB failures as typed errors: one mapping for every adapter of the stack's table."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    PushpilotError,
    RetryableError,
    ThrottledError,
)

_THROTTLING = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
_TRANSIENT = frozenset({"InternalServerError", "ServiceUnavailable", "TransactionConflictException"})


def dynamodb_error(exc: ClientError | BotoCoreError, action: str) -> PushpilotError:
    """Map a DynamoDB failure to the error type that decides whether it is retried."""
    if isinstance(exc, BotoCoreError):
        return RetryableError(f"DynamoDB {action}: {exc}")
    code = exc.response.get("Error", {}).get("Code", "")
    if code in _THROTTLING:
        return ThrottledError(f"DynamoDB {action} throttled ({code})")
    if code in _TRANSIENT:
        return RetryableError(f"DynamoDB {action} failed ({code})")
    if code == "AccessDeniedException":
        return AccessDeniedError(f"DynamoDB {action} denied: the role needs dynamodb:{action}")
    if code == "ResourceNotFoundException":
        return NotFoundError(f"DynamoDB {action}: table not found")
    return PermanentError(f"DynamoDB {action} failed ({code})")
