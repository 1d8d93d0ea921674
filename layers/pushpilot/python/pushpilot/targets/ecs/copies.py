"""The task definition copies registered for one release, found again by their tags.

RegisterTaskDefinition has no idempotency token: each attempt whose answer was lost (botocore's own
retries after a read timeout, Lambda's retry of the invocation) may have registered a revision nobody
knows. A copy carries `pushpilot:digest` and `pushpilot:base`, so the revisions registered for a
(base, digest) can be listed, one reused and the others deregistered: a push leaves behind no revision
that no deployment uses. Shared by the ECS and Express targets (Express services that run their own
task definition deploy copies too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.targets.ecs.discovery import ErrorOf
from pushpilot.targets.ecs.task_definitions import copy_tags, family_revision, is_copy_of

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

_logger: Final = Logger(child=True)

# A copy no deployment uses that could not be deregistered (left for the next attempt that looks).
CLEANUP_METRIC: Final = "TaskDefinitionCopiesLeft"

# Lost attempts are few (botocore's six per invocation, three invocations); newer revisions of the family
# beyond these are other releases' copies, never read.
_NEWEST_READ: Final = 20


def find(client: ECSClient, base: str, digest: str, error: ErrorOf) -> list[str]:
    """The ACTIVE revisions registered as copies of `base` pinned to `digest`, by ARN."""
    family, base_revision = family_revision(base)
    newer: list[tuple[int, str]] = []
    try:
        # Newest first, so the first page holds the copies; stop at a page with nothing newer than
        # the base (a listing that ignores the order ends on its one page all the same).
        pages = client.get_paginator("list_task_definitions").paginate(
            familyPrefix=family, status="ACTIVE", sort="DESC"
        )
        for page in pages:
            found = [
                (revision, arn)
                for arn in page.get("taskDefinitionArns", [])
                for name, revision in [family_revision(arn)]
                if name == family and revision > base_revision
            ]
            if not found:
                break
            newer += found
    except (ClientError, BotoCoreError) as exc:
        raise error(exc, "ListTaskDefinitions", family) from exc
    copies: list[str] = []
    for _, arn in sorted(newer, reverse=True)[:_NEWEST_READ]:
        try:
            described = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        except (ClientError, BotoCoreError) as exc:
            raise error(exc, "DescribeTaskDefinition", arn) from exc
        if is_copy_of(copy_tags(described.get("tags", [])), base=base, digest=digest):
            copies.append(arn)
    return copies


def deregister(client: ECSClient, arns: Sequence[str], error: ErrorOf) -> list[str]:
    """Deregister the copies no deployment uses; the ARNs left ACTIVE. Best effort: a copy left behind
    costs nothing but a listing line, while failing here would stop the deployment of the copy kept.
    What is left is logged with its ARN, counted as `CLEANUP_METRIC`, and found again (same tags) by the
    next attempt that looks at this release's copies. Deregistering twice is harmless: a revision that
    is INACTIVE already (a racing attempt's work) is done, whatever ECS answers for it."""
    left: list[str] = []
    for arn in arns:
        try:
            client.deregister_task_definition(taskDefinition=arn)
        except (ClientError, BotoCoreError) as exc:
            if _already_inactive(exc):
                continue
            failure = error(exc, "DeregisterTaskDefinition", arn)
            _logger.warning(
                "task definition copy left registered",
                extra={"task_definition": arn, "error_type": type(failure).__name__, "reason": str(failure)},
            )
            _count_left()
            left.append(arn)
    return left


def _already_inactive(exc: ClientError | BotoCoreError) -> bool:
    if not isinstance(exc, ClientError):
        return False
    details = exc.response.get("Error", {})
    return details.get("Code") == "ClientException" and "inactive" in str(details.get("Message", "")).lower()


def _count_left() -> None:
    # Powertools keeps one metric set per process: the handler's `log_metrics` flushes this count with
    # its own. Imported here, on the rare failure, so the deploy path pays no import for it.
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    Metrics().add_metric(name=CLEANUP_METRIC, unit=MetricUnit.Count, value=1)


def retried(response: Mapping[str, object]) -> bool:
    """Whether botocore sent the request more than once before this answer: an earlier attempt whose
    answer was lost may have acted too."""
    metadata = response.get("ResponseMetadata")
    return isinstance(metadata, Mapping) and int(metadata.get("RetryAttempts", 0) or 0) > 0
