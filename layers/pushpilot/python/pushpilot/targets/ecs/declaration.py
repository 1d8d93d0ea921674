"""What Amazon ECS needs from the flows, declared: cheap to import (no AWS SDK), read by the registry."""

from __future__ import annotations

from typing import Final

from pushpilot.core.declarations import TargetDeclaration
from pushpilot.core.dns.models import DnsEndpoint
from pushpilot.core.verdicts import LINUX_AMD64, LINUX_ARM64

KIND: Final = "ecs"

# A task definition's runtimePlatform says which of these a service needs (linux/amd64 when unset).
PLATFORMS: Final = (LINUX_AMD64, LINUX_ARM64)

# Its services are those of the clusters this parameter names (every cluster when empty).
REACH_SETTING: Final = "EcsClusters"

STUCK_ADVICE: Final = (
    "{service} has no circuit breaker or alarm that would end a failing deployment. Look at its"
    " stopped tasks in the console; turn on the deployment circuit breaker with rollback so ECS ends"
    " such deployments by itself."
)

# Load balancers' names: each binding carries its own load balancer's zone (CanonicalHostedZoneId).
DNS: Final = DnsEndpoint(service_kind="ECS")

DECLARATION: Final = TargetDeclaration(
    kind=KIND,
    label="Amazon ECS",
    platforms=PLATFORMS,
    # Its hosts take an image index and run their platform's child; its events tell the outcome.
    accepts_index=True,
    deploy_wording=(
        "pushpilot registers a task definition revision pinned to this digest and updates the service"
    ),
    stuck_advice=STUCK_ADVICE,
    reach_setting=REACH_SETTING,
    dns=DNS,
)
