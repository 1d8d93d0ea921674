"""What pushpilot may touch: the one decision every path asks (events, refresh, push, DNS readers, CLI).

`EcsClusters` names clusters by name or ARN; an empty list is every cluster of the region. A service is
within reach when the cluster its ARN names is one of them. Pure: the targets that hold a scope and the
template's IAM conditions say the same thing, this module only decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Self

_ARN_FIELDS: Final = 6


@dataclass(frozen=True)
class _Cluster:
    name: str
    # Set only when the cluster was named by ARN: then the service must be in that account and region too.
    region: str | None = None
    account: str | None = None

    def covers(self, region: str | None, account: str | None, name: str) -> bool:
        if name != self.name:
            return False
        if self.region is not None and region is not None and region != self.region:
            return False
        return not (self.account is not None and account is not None and account != self.account)


def _parse_cluster(value: str) -> _Cluster:
    """`prod` or `arn:<partition>:ecs:<region>:<account>:cluster/prod`."""
    text = value.strip()
    if not text.startswith("arn:"):
        return _Cluster(text)
    parts = text.split(":", _ARN_FIELDS - 1)
    if len(parts) != _ARN_FIELDS or parts[2] != "ecs" or not parts[5].startswith("cluster/"):
        raise ValueError(f"{value!r} is not an ECS cluster name or cluster ARN")
    return _Cluster(parts[5].removeprefix("cluster/"), region=parts[3] or None, account=parts[4] or None)


def _service_location(service_arn: str) -> tuple[str | None, str | None, str] | None:
    """`arn:…:ecs:<region>:<account>:service/<cluster>/<service>` → (region, account, cluster); None for
    anything else (the old `service/<name>` form names no cluster, so no scope can place it)."""
    parts = service_arn.split(":", _ARN_FIELDS - 1)
    if len(parts) != _ARN_FIELDS or parts[2] != "ecs":
        return None
    resource = parts[5].split("/")
    if len(resource) != 3 or resource[0] != "service" or not resource[1]:
        return None
    return parts[3] or None, parts[4] or None, resource[1]


def _cluster_name(cluster: str) -> tuple[str | None, str | None, str]:
    if cluster.startswith("arn:"):
        parsed = _parse_cluster(cluster)
        return parsed.region, parsed.account, parsed.name
    return None, None, cluster


@dataclass(frozen=True)
class ClusterScope:
    """The ECS clusters pushpilot serves, as configured (names or ARNs); empty: every cluster."""

    configured: tuple[str, ...] = ()

    @classmethod
    def parse(cls, clusters: Iterable[str] | str) -> Self:
        """`EcsClusters` as given: a comma-separated string or its parts. Raises ValueError on a value
        that is neither a cluster name nor a cluster ARN."""
        parts = clusters.split(",") if isinstance(clusters, str) else clusters
        configured = tuple(part.strip() for part in parts if part.strip())
        for part in configured:
            _parse_cluster(part)
        return cls(configured)

    @property
    def every_cluster(self) -> bool:
        return not self.configured

    @property
    def _clusters(self) -> tuple[_Cluster, ...]:
        return tuple(_parse_cluster(part) for part in self.configured)

    def covers_cluster(self, cluster: str) -> bool:
        """A cluster named by name or ARN."""
        if self.every_cluster:
            return True
        region, account, name = _cluster_name(cluster)
        return any(known.covers(region, account, name) for known in self._clusters)

    def covers_service(self, service_arn: str) -> bool:
        """An ECS (or Express) service by its ARN."""
        if self.every_cluster:
            return True
        location = _service_location(service_arn)
        if location is None:
            return False
        return any(known.covers(*location) for known in self._clusters)

    def describe(self) -> str:
        """For logs and messages: which clusters pushpilot serves."""
        return "every cluster" if self.every_cluster else "clusters " + ", ".join(self.configured)
