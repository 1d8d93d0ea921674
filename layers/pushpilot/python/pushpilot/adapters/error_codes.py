"""Error codes AWS services share, so every adapter sorts them alike (botocore keeps its own list private).

Each adapter adds only the codes its service alone uses (Route 53's PriorRequestNotComplete, SNS's
KMSThrottling, ...) and maps the result to pushpilot's typed errors.
"""

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
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})
SERVER_FAULT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
