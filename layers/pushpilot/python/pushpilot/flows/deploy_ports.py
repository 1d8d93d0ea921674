"""The ports the deploy flows share (push, outcome, refresh, public images), bundled once: production
wires adapters (entry/wiring.py), tests wire fakes that satisfy the same Protocols."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pushpilot.core.errors import NotFoundError, OutOfReachError
from pushpilot.core.tracking import IndexedService
from pushpilot.ports import (
    AlarmStates,
    ApprovalStore,
    DeployTarget,
    ImageParameters,
    Inspector,
    NoticeSink,
    OnceRunner,
    OutcomeTimer,
    PromotionLedger,
    ReleaseEvents,
    ReleaseStore,
    ServiceIndex,
)


@dataclass
class DeployPorts:
    index: ServiceIndex
    releases: ReleaseStore
    # Every deploy target the stack serves, by kind.
    targets: Mapping[str, DeployTarget]
    inspector: Inspector
    notices: NoticeSink
    once: OnceRunner
    dry_run: bool = False
    # UnverifiedImages=deploy: an image whose platform could not be read deploys (with a warning).
    deploy_unverified: bool = False
    # Named in access-denied advice: the principal a registry account's repository policy must allow.
    role_arn: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # pushpilot's own events (source `pushpilot`); None: the bus is not told (tests that do not look).
    events: ReleaseEvents | None = None
    # Release stages: the bakes of promoted-to services and the alarms that hold them (flows/promote.py).
    promotions: PromotionLedger | None = None
    alarms: AlarmStates | None = None
    # PublishImageParameters: the image each service runs after our deployment, for IaC to read.
    image_parameters: ImageParameters | None = None
    # The stack's own account: promote-from without an account names a service of it.
    account_id: str = ""
    # Looks at deployments later, for targets that declare OutcomePolling (their platform emits no end
    # event); None: no such target is served.
    outcome_timer: OutcomeTimer | None = None
    # Where releases wait for people's approval; without it a service whose policy asks for approval
    # is never deployed automatically (it fails closed, and says so).
    approvals: ApprovalStore | None = None

    def now(self) -> str:
        return self.clock().isoformat(timespec="milliseconds")

    def target_for(self, service: IndexedService) -> DeployTarget:
        try:
            target = self.targets[service.kind]
        except KeyError as exc:
            raise NotFoundError(f"no deploy target of kind {service.kind!r} serves {service.name}") from exc
        # The last guard: whatever put a service outside the stack's reach in the index, nothing acts on it.
        if not target.serves(service.arn):
            raise OutOfReachError(f"{target.label} service {service.name} is outside the stack's reach")
        return target

    def deploy_wordings(self) -> dict[str, str]:
        """By kind, why pushpilot starts a deployment itself, in each target's declared words."""
        return {kind: target.declaration.deploy_wording for kind, target in self.targets.items()}

    def outside_reach(self, kind: str, arn: str) -> bool:
        """A service of a target the stack has, but one it must not describe, index or deploy to."""
        target = self.targets.get(kind)
        return target is not None and not target.serves(arn)
