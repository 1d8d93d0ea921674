"""Kept only for targets/apprunner/services.py until it sorts its errors with adapters/aws_errors.py
(`aws_error(..., codes=APP_RUNNER_CODES)`); delete this module then."""

from __future__ import annotations

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)
