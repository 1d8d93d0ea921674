"""Answer a CloudFormation custom resource request: one PUT of the outcome to the presigned S3 URL the
request carries.

Hand-written with urllib: the layer ships no other HTTP client, `cfnresponse` exists only for inline
function code (and sends once), and the custom resource helper libraries answer FAILED when the work
fails, which is exactly what the index fill must never do to a stack.
"""

from __future__ import annotations

import json
from typing import Literal
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.parser.models import CloudFormationCustomResourceBaseModel

from pushpilot.core.errors import PermanentError, RetryableError

ANSWER_TIMEOUT_SECONDS = 10
# The function backing the custom resource is not retried by Lambda (the next scheduled run is its retry),
# and CloudFormation fails the resource once ServiceTimeout passes without an answer: a transient fault
# of the one PUT would fail the stack. So the PUT is tried this many times, with a short pause between,
# well inside ServiceTimeout (120 s). Sending it again is safe: it writes the same object, the same answer.
ANSWER_ATTEMPTS = 3
ANSWER_PAUSE_SECONDS = 2.0


class StackAnswerError(PermanentError):
    """CloudFormation's response URL could not be reached or refused the answer."""


def answer_stack(
    request: CloudFormationCustomResourceBaseModel,
    *,
    status: Literal["SUCCESS", "FAILED"],
    physical_id: str,
    reason: str,
    data: dict[str, str] | None = None,
) -> None:
    """PUT the answer, bounded in time and tried up to ANSWER_ATTEMPTS times while the fault is
    transient (unreachable, a timeout, a 5xx). S3 wants no content type on a presigned PUT.

    Hand-written with urllib's request: the layer ships no other HTTP client, and botocore's retries
    serve only its own AWS API calls, not a presigned URL."""
    import time

    for attempt in range(1, ANSWER_ATTEMPTS + 1):
        try:
            _put_answer(request, status=status, physical_id=physical_id, reason=reason, data=data)
        except RetryableError:
            if attempt == ANSWER_ATTEMPTS:
                raise
            time.sleep(ANSWER_PAUSE_SECONDS * attempt)
        else:
            return


def _put_answer(
    request: CloudFormationCustomResourceBaseModel,
    *,
    status: Literal["SUCCESS", "FAILED"],
    physical_id: str,
    reason: str,
    data: dict[str, str] | None,
) -> None:
    import urllib.error
    import urllib.request

    url = str(request.response_url)
    if urlsplit(url).scheme not in {"https", "http"}:
        raise StackAnswerError(f"response URL has an unexpected scheme: {urlsplit(url).scheme!r}")
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": request.stack_id,
            "RequestId": request.request_id,
            "LogicalResourceId": request.logical_resource_id,
            "NoEcho": False,
            "Data": data or {},
        }
    ).encode()
    put = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    try:
        with urllib.request.urlopen(put, timeout=ANSWER_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise RetryableError(f"CloudFormation's response URL answered HTTP {exc.code}") from exc
        raise StackAnswerError(f"CloudFormation's response URL refused the answer: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise RetryableError(f"CloudFormation's response URL could not be reached: {exc}") from exc
