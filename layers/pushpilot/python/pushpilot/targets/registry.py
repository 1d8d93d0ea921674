"""Every deploy target the stack serves, named once: what it declares (its folder's declaration.py: how
people call it, its image requirement, its outcome source, its DNS endpoint defaults, its wording), how
it is built from the stack's settings, and the template policy that grants what it calls. The functions'
wiring, the CLI and the benchmarks build their targets here, so they cannot drift apart; a unit test
holds template.yaml's per-target policies against this list.

A new target adds one entry. Targets are imported when built, so reading the list costs nothing but the
declarations (values, no AWS SDK).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from pushpilot.core.declarations import TargetDeclaration
from pushpilot.targets.apprunner.declaration import DECLARATION as APP_RUNNER
from pushpilot.targets.ecs.declaration import DECLARATION as ECS
from pushpilot.targets.ecs.reach import ClusterScope
from pushpilot.targets.ecs_express.declaration import DECLARATION as ECS_EXPRESS
from pushpilot.targets.lambda_fn.declaration import DECLARATION as LAMBDA

if TYPE_CHECKING:
    from pushpilot.ports import DeployTarget, DomainBindingSource


@dataclass(frozen=True)
class Reach:
    """What bounds every target: the region, the ECS clusters of `EcsClusters`, and the Lambda functions
    named by `LambdaFunctionPrefix` (empty: no function is served)."""

    region: str = "us-east-1"
    clusters: ClusterScope = field(default_factory=ClusterScope)
    function_prefix: str = ""


@dataclass(frozen=True)
class TargetEntry:
    declaration: TargetDeclaration
    # The logical id of the IAM managed policy in template.yaml that grants what this target calls;
    # every function that deploys attaches it.
    policy: str
    build: Callable[[Reach], DeployTarget]
    # Its custom-domain bindings for the DNS reconciler, when it has any.
    domains: Callable[[Reach], DomainBindingSource] | None = None

    @property
    def kind(self) -> str:
        return self.declaration.kind

    @property
    def label(self) -> str:
        return self.declaration.label


def _apprunner(reach: Reach) -> DeployTarget:
    from pushpilot.targets.apprunner.services import AppRunnerTarget

    return AppRunnerTarget(region=reach.region)


def _apprunner_domains(_reach: Reach) -> DomainBindingSource:
    from pushpilot.targets.apprunner.domains import CustomDomainReader

    return CustomDomainReader()


def _ecs(reach: Reach) -> DeployTarget:
    from pushpilot.targets.ecs.services import EcsTarget

    return EcsTarget(region=reach.region, clusters=reach.clusters)


def _ecs_domains(reach: Reach) -> DomainBindingSource:
    from pushpilot.targets.ecs.domains import LoadBalancerDomainReader

    return LoadBalancerDomainReader(clusters=reach.clusters)


def _ecs_express(reach: Reach) -> DeployTarget:
    from pushpilot.targets.ecs_express.services import EcsExpressTarget

    return EcsExpressTarget(region=reach.region, clusters=reach.clusters)


def _lambda_fn(reach: Reach) -> DeployTarget:
    from pushpilot.targets.lambda_fn.services import LambdaTarget

    return LambdaTarget(region=reach.region, prefix=reach.function_prefix)


TARGETS: Final[tuple[TargetEntry, ...]] = (
    TargetEntry(APP_RUNNER, "AppRunnerDeployPolicy", _apprunner, _apprunner_domains),
    TargetEntry(ECS, "EcsDeployPolicy", _ecs, _ecs_domains),
    # Express services are ECS services: the ECS policy grants what Express Mode calls.
    TargetEntry(ECS_EXPRESS, "EcsDeployPolicy", _ecs_express),
    TargetEntry(LAMBDA, "LambdaDeployPolicy", _lambda_fn),
)


def entry(kind: str) -> TargetEntry:
    """The entry of one kind; KeyError names the kinds there are."""
    for candidate in TARGETS:
        if candidate.kind == kind:
            return candidate
    raise KeyError(f"no target of kind {kind!r} (known: {', '.join(item.kind for item in TARGETS)})")


def declarations() -> tuple[TargetDeclaration, ...]:
    """What every target declares, in the order of the list."""
    return tuple(entry.declaration for entry in TARGETS)


def build_targets(reach: Reach) -> dict[str, DeployTarget]:
    """Every target, by kind."""
    return {entry.kind: entry.build(reach) for entry in TARGETS}


def domain_sources(reach: Reach) -> tuple[DomainBindingSource, ...]:
    """Every target's custom-domain reader, in the order of the list."""
    return tuple(entry.domains(reach) for entry in TARGETS if entry.domains is not None)
