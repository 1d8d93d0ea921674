"""Answer a CloudFormation custom resource request: one PUT of the outcome to the presigned S3 URL the
request carries.

Hand-written with urllib: the layer ships no other HTTP client, `cfnresponse` exists only for inline
function code, and the custom resource helper libraries answer FAILED when the work fails, which is
exactly what the index fill must never do to a stack.
"""

from __future__ import annotations

import json
from typing import Literal
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.parser.models import CloudFormationCustomResourceBaseModel

from pushpilot.core.errors import PermanentError, RetryableError

ANSWER_TIMEOUT_SECONDS = 10


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
    """PUT the answer, bounded in time. S3 wants no content type on a presigned PUT."""
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
        raise StackAnswerError(f"CloudFormation's response URL refused the answer: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise RetryableError(f"CloudFormation's response URL could not be reached: {exc}") from exc
