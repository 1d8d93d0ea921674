"""Walking an account's ECS services: clusters (or the configured ones), their services with botocore's
paginators, described ten at a time. Shared by the ECS and Express targets."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

# DescribeServices takes at most ten services per call.
_DESCRIBE_BATCH: Final = 10

ErrorOf = Callable[[ClientError | BotoCoreError, str, str], Exception]


def cluster_arns(client: ECSClient, configured: Sequence[str], error: ErrorOf) -> Iterator[str]:
    if configured:
        yield from configured
        return
    try:
        for page in client.get_paginator("list_clusters").paginate():
            yield from page.get("clusterArns", [])
    except (ClientError, BotoCoreError) as exc:
        raise error(exc, "ListClusters", "the account") from exc


def describe_services(
    client: ECSClient, cluster: str, arns: Sequence[str], error: ErrorOf
) -> list[dict[str, Any]]:
    try:
        response = client.describe_services(cluster=cluster, services=list(arns), include=["TAGS"])
    except (ClientError, BotoCoreError) as exc:
        raise error(exc, "DescribeServices", cluster) from exc
    return [dict(service) for service in response.get("services", [])]


def services(
    client: ECSClient, configured: Sequence[str], error: ErrorOf
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(cluster, described service) for every service of the clusters."""
    for cluster in cluster_arns(client, configured, error):
        try:
            arns = [
                arn
                for page in client.get_paginator("list_services").paginate(cluster=cluster)
                for arn in page.get("serviceArns", [])
            ]
        except (ClientError, BotoCoreError) as exc:
            raise error(exc, "ListServices", cluster) from exc
        for start in range(0, len(arns), _DESCRIBE_BATCH):
            for service in describe_services(client, cluster, arns[start : start + _DESCRIBE_BATCH], error):
                yield cluster, service


def is_express(service: Mapping[str, Any]) -> bool:
    """Express Mode services are the ones ECS manages itself."""
    return service.get("resourceManagementType") == "ECS"


def tags_of(service: Mapping[str, Any]) -> dict[str, str]:
    """An ECS (or Express) service's tags, asked for with `include=['TAGS']`: `[{key, value}]`."""
    return {
        str(tag["key"]): str(tag.get("value", ""))
        for tag in service.get("tags") or ()
        if isinstance(tag, Mapping) and tag.get("key")
    }
