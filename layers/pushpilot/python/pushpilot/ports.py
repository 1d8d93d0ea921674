"""The ports: every outside thing a flow talks to, as a Protocol. Adapters satisfy them in Lambda, fakes in
tests; neither is named here, and nothing here imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pushpilot.core.notices import Link, Notice
from pushpilot.core.promotion import BakeState, Baking
from pushpilot.core.public_sightings import Sighting
from pushpilot.core.release_events import ReleaseEvent
from pushpilot.core.releases import Release, ServiceRollout, Stage
from pushpilot.core.targets import Operation, OutcomeCheck, OutcomePolling, TargetService
from pushpilot.core.tracking import Hold, IndexedService, InFlight, LiveImage, Pending
from pushpilot.core.verdicts import Platform, Verdict

if TYPE_CHECKING:
    from datetime import datetime

    from pushpilot.core.approvals import Approval, ApprovalState, Vote
    from pushpilot.core.declarations import TargetDeclaration
    from pushpilot.core.dns.models import DomainBinding, ZonePlan, ZoneSnapshot
    from pushpilot.core.dns.outbox import HeldNotices
    from pushpilot.core.dns.triggers import DnsTrigger
    from pushpilot.core.slack_interaction import Decision


class DeployTarget(Protocol):
    """A kind of service that runs container images. What it needs from the flows it declares in its own
    folder; `kind`, `label`, `accepts_index` and `outcome_polling` are that declaration's, at hand."""

    @property
    def declaration(self) -> TargetDeclaration: ...

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str:
        """How people call it."""
        ...

    @property
    def accepts_index(self) -> bool:
        """Whether the target deploys an image index (its hosts pick their platform's child); False: it
        needs the single manifest of the service's platform, which the flows take from the verdict."""
        ...

    @property
    def outcome_polling(self) -> OutcomePolling | None:
        """None: the target's events tell when a deployment ends; else how the flows poll its outcome."""
        ...

    def serves(self, service_arn: str) -> bool:
        """Whether the service is within the stack's reach (ECS: a cluster of `EcsClusters`). Decided
        without a call: every path asks before it describes, indexes or deploys."""
        ...

    def list_services(self) -> list[TargetService]:
        """Every service within reach, described: the scheduled refresh's cost, never paid per push."""
        ...

    def describe(self, service_arn: str) -> TargetService: ...

    def current_tags(self, service: IndexedService) -> dict[str, str]:
        """The service's tags as they are now (one call): read at deploy time, only for services a push
        would deploy to, so a hold or policy tag set since the last refresh is obeyed."""
        ...

    def deploy(self, service: IndexedService, digest: str, *, image: str | None = None) -> str:
        """Start deploying `digest` (the newest push of the tag the service runs); the operation's id.

        `image` names the image identifier to deploy when it is not the one the service runs (a tag its
        release policy follows, a pinned `repository@digest`, a rollback); targets that always deploy by
        digest may ignore it.

        Raises ServiceBusyError when an operation is in progress, OutcomeUnknownError when the answer was
        lost (the target may have acted). When `service.answer_lost_for(digest)`, an earlier attempt may
        have acted: a target whose writes have no idempotency token finds what it did and adopts it."""
        ...

    def recent_operations(self, service_arn: str) -> list[Operation]:
        """The newest operations first."""
        ...

    def find_operation(self, service: IndexedService, operation_id: str) -> Operation | None:
        """The operation with this id as it stands now; None when the target no longer knows it."""
        ...

    def console_link(self, service: IndexedService) -> Link: ...

    def failure_advice(self, service: IndexedService) -> str:
        """Where to look when a deployment failed."""
        ...


class OutcomeTimer(Protocol):
    """Looks at a deployment's outcome later, for targets whose platform emits no completion event."""

    def schedule(self, check: OutcomeCheck, *, delay_seconds: int) -> None: ...


class Inspector(Protocol):
    """Anything that can judge an image stored in a registry (the ECR adapter, or a fake)."""

    def inspect(
        self,
        repository: str,
        *,
        digest: str | None = None,
        tag: str | None = None,
        registry_id: str | None = None,
        required: Platform,
    ) -> Verdict: ...


class ServiceIndex(Protocol):
    """The services pushpilot deploys to, found by the image they run; every change is conditional."""

    def services_following(self, repository_key: str) -> list[IndexedService]:
        """Every service running an image of `registry/repository`, whatever its tag or digest: the ones a
        push of any of its tags may concern (its release policy decides)."""
        ...

    def get(self, arn: str) -> IndexedService | None: ...

    def find_by_name(self, kind: str, name: str) -> IndexedService | None: ...

    def all(self) -> list[IndexedService]: ...

    def upsert(self, service: TargetService, *, now: str) -> None: ...

    def remove(self, arn: str) -> None: ...

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        """Keep the tags read at deploy time, so the next push decides on them too."""
        ...

    def filled(self) -> bool:
        """Whether a complete discovery of every target has filled the index at least once."""
        ...

    def mark_filled(self, *, now: str) -> None: ...

    def claim(self, arn: str, in_flight: InFlight) -> bool:
        """Take the right to deploy: only one deployment of ours is ever in flight per service."""
        ...

    def set_operation(self, arn: str, digest: str, operation_id: str) -> None: ...

    def queue(self, arn: str, pending: Pending) -> bool:
        """Remember the newest push while the service is busy; an older push never replaces a newer."""
        ...

    def unclaim_to_pending(self, arn: str, in_flight: InFlight) -> None: ...

    def unclaim(self, arn: str, in_flight: InFlight, *, answer_lost: bool = False) -> None:
        """Give back a claim whose deployment is not known to have started. `answer_lost`: the target may
        have acted without answering; the claim is kept as the service's `lost_answer` until an operation
        is set, so the next attempt looks before it acts."""
        ...

    def finish(self, arn: str, digest: str) -> InFlight | None:
        """End our in-flight deployment of `digest`; what it was, or None when it was not in flight."""
        ...

    def take_pending(self, arn: str) -> Pending | None:
        """Turn the pending push into the in-flight deployment, if the service is free."""
        ...

    def await_auto(self, arn: str, pending: Pending) -> None: ...

    def finish_auto(self, arn: str, digest: str) -> Pending | None: ...

    def set_hold(self, arn: str, hold: Hold | None) -> None:
        """Hold automatic deploys on a service, or release it (None)."""
        ...

    def note_policy_problem(self, arn: str, wording: str) -> bool:
        """Remember that this wording of a policy problem was reported; False when it already was."""
        ...

    def record_live(self, arn: str, live: LiveImage, *, expires_at: int) -> None:
        """What a deployment of ours left running: on the service, and in its history."""
        ...

    def history(self, arn: str, *, limit: int = 20) -> list[LiveImage]:
        """What our deployments left running on the service, newest first."""
        ...


class ReleaseStore(Protocol):
    def open(self, release: Release, *, tag: str | None, expires_at: int) -> Release:
        """Create the release if new, add the tag if not; the stored record."""
        ...

    def get(self, release_id: str) -> Release | None: ...

    def record_verdict(self, release_id: str, verdict: Verdict, stage: Stage, *, now: str) -> None: ...

    def record_rollout(self, rollout: ServiceRollout, release_id: str) -> Release: ...

    def set_stage(self, release_id: str, stage: Stage, *, now: str) -> None: ...


class ApprovalStore(Protocol):
    """Approvals in the stack's table, one per (service, digest); every change is conditional, so a click
    or command applied twice changes nothing the second time."""

    def request(self, approval: Approval) -> tuple[Approval, list[Approval]]:
        """Store the approval unless it exists (a retry gets the stored one), and close every other waiting
        approval of the service as superseded: (the stored approval, the ones it superseded)."""
        ...

    def get(self, service_arn: str, digest: str) -> Approval | None: ...

    def of_service(self, service_arn: str) -> list[Approval]:
        """Every approval of the service kept in the table, newest request first."""
        ...

    def vote(self, service_arn: str, digest: str, vote: Vote) -> Approval | None:
        """Add the vote while the approval waits and the voter has not voted; None when it did not."""
        ...

    def close(
        self,
        service_arn: str,
        digest: str,
        state: ApprovalState,
        *,
        expected: ApprovalState,
        closed_by: str | None = None,
    ) -> Approval | None:
        """Move the approval from `expected` to `state`; None when it was not in `expected` any more."""
        ...


class DecisionSink(Protocol):
    """Where the request URL hands on what it decided, to be done after Slack got its answer."""

    def send(self, decision: Decision) -> None: ...


class SlackReplies(Protocol):
    """Answers to the person who clicked, at the click's `response_url` (ephemeral: only they see it)."""

    def reply(self, response_url: str, text: str) -> None: ...


class HookControl(Protocol):
    """Resumes a deployment the platform paused at a lifecycle hook (ECS: a PAUSE hook), and says where
    such a deployment stands."""

    def continue_deployment(
        self, service_deployment_arn: str, hook_id: str, action: Literal["CONTINUE", "ROLLBACK"]
    ) -> None: ...

    def progress(self, service_deployment_arn: str, *, now: datetime) -> str | None:
        """Its strategy, stage, traffic share and bake left, in words; None when it has no stages."""
        ...


class NoticeSink(Protocol):
    def publish(self, notice: Notice) -> None: ...


class OnceRunner(Protocol):
    """Run `work` once per (scope, key); later calls get the first result."""

    def __call__(
        self, *, scope: str, key: dict[str, str], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]: ...


class ManifestHead(Protocol):
    @property
    def digest(self) -> str: ...


class PublicRegistry(Inspector, Protocol):
    """A public registry: tells the digest a tag names now, and judges a digest."""

    def head(self, name: str, reference: str) -> ManifestHead: ...


class TagLedger(Protocol):
    def observe(self, image_key: str, digest: str, now: str) -> Sighting: ...

    def settle(self, image_key: str, digest: str, now: str) -> bool: ...


Targets = Sequence[DeployTarget]


class DomainBindingSource(Protocol):
    """Where a kind of service keeps the names it answers for (App Runner's custom domains, the
    certificates on an ECS service's load balancer), read as domain bindings for the DNS planner."""

    def list_all(self) -> list[DomainBinding]:
        """Every binding of every service of this kind in the account and region."""
        ...

    def for_service(self, service_arn_or_name: str) -> list[DomainBinding]:
        """One service's bindings; NotFoundError when this source has no such service."""
        ...


class HostedZoneSummary(Protocol):
    """A hosted zone as a listing names it."""

    @property
    def zone_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def private(self) -> bool: ...


class TriggerEvent(Protocol):
    """An event model that says what set a DNS reconcile off (App Runner's, ACM's)."""

    def dns_trigger(self) -> DnsTrigger: ...


class PendingTracker(Protocol):
    """Remembers since when each domain has waited for validation; PendingDomains is the real one."""

    def known(self) -> Mapping[str, datetime]:
        """Every domain tracked as waiting, with its first sighting; changes nothing."""
        ...

    def track(
        self, states: Sequence[DomainBinding], now: datetime, *, complete: bool = True
    ) -> Mapping[str, datetime]: ...


class ZoneStore(Protocol):
    """What the DNS reconcile reads and changes zones with; Route53Zones is the real one."""

    def list_zones(self) -> Sequence[HostedZoneSummary]: ...

    def snapshot(self, zone_id: str) -> ZoneSnapshot: ...

    def apply(self, zone_plan: ZonePlan, *, wait: bool = False) -> str | None: ...


class Registrar(Protocol):
    """The name servers a domain's registrar lists; RegisteredDomains (Route 53 Domains) is the real one."""

    def name_servers(self, domain: str) -> tuple[str, ...] | None: ...


class DnsNoticeOutbox(Protocol):
    """Notices of a DNS reconcile, held before it changes anything and released once queued."""

    def hold(self, held: HeldNotices) -> None: ...

    def held(self) -> list[HeldNotices]: ...

    def release(self, key: str) -> None: ...


class ReleaseEvents(Protocol):
    """pushpilot's own events (`source: pushpilot`) on the stack's event bus."""

    def put(self, events: Sequence[ReleaseEvent]) -> None:
        """Put every event, or raise: an event EventBridge refused is retried, then raised typed."""
        ...


class PromotionLedger(Protocol):
    """The upstream release each promoted-to service bakes, one per service; every change conditional."""

    def offer(self, baking: Baking) -> tuple[bool, Baking | None]:
        """Keep `baking` for its service unless that release, or a newer upstream one, is already there:
        (whether it was kept, the older release it replaced)."""
        ...

    def get(self, service_arn: str) -> Baking | None: ...

    def all(self) -> list[Baking]: ...

    def move(
        self,
        baking: Baking,
        state: BakeState,
        *,
        bake_started: str | None = None,
        held_by: tuple[str, ...] = (),
    ) -> bool:
        """Change the bake of `baking`'s digest from the state it has; False when it changed meanwhile."""
        ...


class AlarmStates(Protocol):
    def in_alarm(self, names: Sequence[str]) -> list[str]:
        """The named alarms that hold a promotion now: in ALARM, or not found (said so)."""
        ...


class ImageParameters(Protocol):
    """Where the image a service runs is published for infrastructure code to read."""

    def publish(self, kind: str, service: str, image: str) -> None: ...


class DeadLetterQueue(Protocol):
    """A queue of dead letters, read a batch at a time; a message received is held until deleted or
    released (SQS's visibility timeout)."""

    @property
    def url(self) -> str: ...

    def receive(self, wanted: int) -> list[dict[str, Any]]:
        """Up to `wanted` messages, shaped as SQS `ReceiveMessage` answers them, with their attributes."""
        ...

    def release(self, receipt_handle: str) -> None:
        """Make a held message visible again at once."""
        ...

    def delete(self, receipt_handle: str) -> None: ...


Invoke = Callable[[str, dict[str, Any]], None]
"""Hand one event to one function (by ARN) asynchronously; raise a PushpilotError if it was not accepted."""
