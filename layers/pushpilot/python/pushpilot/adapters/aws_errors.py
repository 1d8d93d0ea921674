"""Provisional classifier (replaced by the shared one): AWS failures → pushpilot's typed errors."""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from pushpilot.adapters.error_codes import ACCESS_DENIED_CODES, SERVER_FAULT_CODES, THROTTLING_CODES
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

APP_RUNNER_CODES: Mapping[str, type[PushpilotError]] = {"InvalidStateException": ServiceBusyError}


def aws_error(
    exc: ClientError | BotoCoreError,
    *,
    service: str,
    action: str,
    target: str,
    codes: Mapping[str, type[PushpilotError]] | None = None,
    permission: str | None = None,
) -> PushpilotError:
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return RetryableError(f"{action} on {target}: {exc}")
    if isinstance(exc, BotoCoreError):
        return OutcomeUnknownError(f"{action} on {target}: the answer was lost ({exc})")
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    detail = f"{action} on {target}: {code}: {message}"
    if codes and code in codes:
        return codes[code](detail)
    if code.endswith("NotFoundException"):
        return NotFoundError(detail)
    if code in ACCESS_DENIED_CODES:
        return AccessDeniedError(f"{detail} — the pushpilot role needs {permission or f'{service}:{action}'}")
    if code in THROTTLING_CODES:
        return ThrottledError(detail)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if status >= 500 or code in SERVER_FAULT_CODES:
        return RetryableError(detail)
    return PermanentError(detail)
