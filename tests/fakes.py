"""In-memory fakes of the deploy path's ports (pushpilot.ports), for unit tests and the benchmark.

Each satisfies its Protocol as written (mypy checks it where `DeployPorts` is built, with no cast) and
keeps the same state rules the table's conditional updates enforce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pushpilot.core.approvals import Approval, ApprovalState, Vote
from pushpilot.core.declarations import TargetDeclaration
from pushpilot.core.errors import NotFoundError, OutcomeUnknownError, ServiceBusyError
from pushpilot.core.notices import Link, Notice
from pushpilot.core.promotion import BakeState, Baking
from pushpilot.core.release_events import SOURCE, ReleaseEvent, account_of
from pushpilot.core.release_policy import read_policy
from pushpilot.core.releases import Release, ServiceRollout, Stage
from pushpilot.core.rollout_plan import START
from pushpilot.core.targets import Operation, Outcome, OutcomeCheck, OutcomePolling, TargetService
from pushpilot.core.tracking import (
    Hold,
    IndexedService,
    InFlight,
    LiveImage,
    Pending,
    described_values,
    image_key_to_follow,
    repository_followed_by,
)
from pushpilot.core.verdicts import LINUX_AMD64, Platform, Verdict, VerdictStatus
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.ports import DeadLetterQueue
from pushpilot.targets import registry
from pushpilot.targets.apprunner.declaration import APP_RUNNER_PLATFORM
from pushpilot.targets.apprunner.declaration import KIND as APP_RUNNER
from pushpilot.targets.ecs.reach import ClusterScope

ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
FIXED_NOW = datetime(2026, 5, 4, 9, 14, 9, tzinfo=UTC)


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def service_snapshot(
    name: str,
    repository: str,
    *,
    tag: str = "latest",
    auto_deploy: bool = False,
    kind: str = APP_RUNNER,
    platform: Platform | None = APP_RUNNER_PLATFORM,
    status: str = "RUNNING",
    tags: dict[str, str] | None = None,
) -> TargetService:
    service_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    return TargetService(
        kind=kind,
        arn=f"arn:aws:{kind}:{REGION}:{ACCOUNT}:service/{name}/{service_id}",
        name=name,
        status=status,
        image_identifier=f"{REGISTRY}/{repository}:{tag}",
        auto_deploy=auto_deploy,
        busy=status != "RUNNING",
        required_platform=platform,
        service_url=f"{service_id[:10]}.{REGION}.awsapprunner.com",
        tags=tags or {},
    )


class FakeIndex:
    def __init__(self) -> None:
        self.services: dict[str, IndexedService] = {}
        self.histories: dict[str, list[LiveImage]] = {}
        self.problems_noted: dict[str, str] = {}
        # A running install by default: tests of the fresh-install path set it False.
        self.filled_at: str | None = "2025-01-01T00:00:00.000+00:00"

    def _update(self, arn: str, **changes: Any) -> IndexedService:
        updated = self.services[arn].model_copy(update=changes)
        self.services[arn] = updated
        return updated

    def services_following(self, repository_key: str) -> list[IndexedService]:
        return [s for s in self.services.values() if s.follows_repository == repository_key]

    def get(self, arn: str) -> IndexedService | None:
        return self.services.get(arn)

    def find_by_name(self, kind: str, name: str) -> IndexedService | None:
        return next((s for s in self.services.values() if s.kind == kind and s.name == name), None)

    def all(self) -> list[IndexedService]:
        return list(self.services.values())

    def upsert(self, service: TargetService, *, now: str) -> None:
        del now
        image_key = image_key_to_follow(service, self.services.get(service.arn))
        if image_key is None or service.image_identifier is None:
            self.remove(service.arn)
            return
        values = described_values(service, image_key) | {
            "follows_repository": repository_followed_by(service),
        }
        if not read_policy(service.tags).problems:
            self.problems_noted.pop(service.arn, None)
        existing = self.services.get(service.arn)
        self.services[service.arn] = (
            existing.model_copy(update=values) if existing else IndexedService.model_validate(values)
        )

    def remove(self, arn: str) -> None:
        self.services.pop(arn, None)

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        if arn in self.services:
            self._update(arn, tags=tags)

    def filled(self) -> bool:
        return self.filled_at is not None

    def mark_filled(self, *, now: str) -> None:
        self.filled_at = now

    def claim(self, arn: str, in_flight: InFlight) -> bool:
        service = self.services.get(arn)
        if service is None or service.in_flight is not None:
            return False
        self._update(arn, in_flight=in_flight, lost_answer=in_flight)
        return True

    def set_operation(self, arn: str, digest: str, operation_id: str) -> None:
        service = self.services[arn]
        if service.in_flight is not None and service.in_flight.digest == digest:
            self._update(
                arn,
                in_flight=service.in_flight.model_copy(update={"operation_id": operation_id}),
                lost_answer=None,
            )

    def queue(self, arn: str, pending: Pending) -> bool:
        service = self.services.get(arn)
        if service is None or (service.pending is not None and service.pending.pushed_at > pending.pushed_at):
            return False
        self._update(arn, pending=pending)
        return True

    def unclaim_to_pending(self, arn: str, in_flight: InFlight) -> None:
        service = self.services[arn]
        if service.in_flight is None or service.in_flight.digest != in_flight.digest:
            return
        pending = Pending(
            digest=in_flight.digest,
            release_id=in_flight.release_id,
            pushed_at=in_flight.started_at,
            image=in_flight.image,
            tag=in_flight.tag,
            manifest=in_flight.manifest,
        )
        self._update(arn, in_flight=None, pending=pending)

    def unclaim(self, arn: str, in_flight: InFlight, *, answer_lost: bool = False) -> None:
        service = self.services[arn]
        current = service.in_flight
        if current is not None and current.digest == in_flight.digest and current.operation_id is None:
            if answer_lost:
                self._update(arn, in_flight=None, lost_answer=current)
            else:
                self._update(arn, in_flight=None, lost_answer=None)

    def finish(self, arn: str, digest: str) -> InFlight | None:
        service = self.services.get(arn)
        if service is None or service.in_flight is None or service.in_flight.digest != digest:
            return None
        self._update(arn, in_flight=None)
        return service.in_flight

    def take_pending(self, arn: str) -> Pending | None:
        service = self.services.get(arn)
        if service is None or service.pending is None or service.in_flight is not None:
            return None
        pending = service.pending
        self._update(arn, in_flight=pending.as_claim(), pending=None)
        return pending

    def await_auto(self, arn: str, pending: Pending) -> None:
        service = self.services[arn]
        if service.awaiting_auto is None or service.awaiting_auto.pushed_at <= pending.pushed_at:
            self._update(arn, awaiting_auto=pending)

    def finish_auto(self, arn: str, digest: str) -> Pending | None:
        service = self.services.get(arn)
        if service is None or service.awaiting_auto is None or service.awaiting_auto.digest != digest:
            return None
        self._update(arn, awaiting_auto=None)
        return service.awaiting_auto

    def set_hold(self, arn: str, hold: Hold | None) -> None:
        if arn in self.services:
            self._update(arn, hold=hold)

    def note_policy_problem(self, arn: str, wording: str) -> bool:
        if self.problems_noted.get(arn) == wording or arn not in self.services:
            return False
        self.problems_noted[arn] = wording
        return True

    def record_live(self, arn: str, live: LiveImage, *, expires_at: int) -> None:
        del expires_at
        self.histories.setdefault(arn, []).insert(0, live)
        if arn in self.services:
            self._update(arn, live=live)

    def history(self, arn: str, *, limit: int = 20) -> list[LiveImage]:
        return self.histories.get(arn, [])[:limit]


class FakeReleases:
    def __init__(self) -> None:
        self.releases: dict[str, Release] = {}

    def open(self, release: Release, *, tag: str | None, expires_at: int) -> Release:
        del expires_at
        stored = self.releases.get(release.release_id, release)
        if tag:
            stored = stored.model_copy(update={"tags": (*stored.tags, tag), "updated_at": release.updated_at})
        self.releases[release.release_id] = stored
        return stored

    def get(self, release_id: str) -> Release | None:
        return self.releases.get(release_id)

    def record_verdict(self, release_id: str, verdict: Verdict, stage: Stage, *, now: str) -> None:
        release = self.releases[release_id]
        self.releases[release_id] = release.model_copy(
            update={
                "verdicts": {**release.verdicts, str(verdict.required): verdict},
                "stage": stage,
                "updated_at": now,
            }
        )

    def record_rollout(self, rollout: ServiceRollout, release_id: str) -> Release:
        release = self.releases[release_id]
        updated = release.model_copy(
            update={
                "services": {**release.services, rollout.service_arn: rollout},
                "updated_at": rollout.updated_at,
            }
        )
        self.releases[release_id] = updated
        return updated

    def set_stage(self, release_id: str, stage: Stage, *, now: str) -> None:
        self.releases[release_id] = self.releases[release_id].model_copy(
            update={"stage": stage, "updated_at": now}
        )


_OUTCOME_OF_STATUS = {
    "SUCCEEDED": Outcome.LIVE,
    "FAILED": Outcome.FAILED,
    "ROLLBACK_SUCCEEDED": Outcome.ROLLED_BACK,
    "ROLLBACK_IN_PROGRESS": Outcome.ROLLING_BACK,
    "ROLLBACK_FAILED": Outcome.ROLLBACK_FAILED,
    "IN_PROGRESS": Outcome.IN_PROGRESS,
}


def _declaration(kind: str, label: str) -> TargetDeclaration:
    """The registry's declaration of a kind the stack has (under the label given), else a plain one."""
    try:
        declared = registry.entry(kind).declaration
    except KeyError:
        return TargetDeclaration(
            kind=kind,
            label=label,
            platforms=(LINUX_AMD64,),
            deploy_wording=START,
            stuck_advice="{service} is stuck: look at it in the console.",
        )
    return declared.model_copy(update={"label": label})


class FakeTarget:
    """Services by ARN; every deployment starts an operation, ended by `end_operation`.

    `lose_next_answer` makes the next deployment start but its answer get lost (OutcomeUnknownError), as
    a read timeout does; `fail_next_deploy` raises the given error instead of deploying."""

    def __init__(
        self,
        snapshots: Iterable[TargetService] = (),
        *,
        kind: str = APP_RUNNER,
        label: str = "App Runner",
        clock: Callable[[], datetime] = lambda: FIXED_NOW,
        scope: ClusterScope | None = None,
        accepts_index: bool = True,
        outcome_polling: OutcomePolling | None = None,
    ) -> None:
        self.kind = kind
        self.label = label
        # Its kind's declaration (a kind the registry does not know gets a plain one), with the image
        # requirement and outcome source the test asks for.
        self.declaration = _declaration(kind, label).model_copy(
            update={"accepts_index": accepts_index, "outcome_polling": outcome_polling}
        )
        self.accepts_index = self.declaration.accepts_index
        self.outcome_polling = self.declaration.outcome_polling
        # None: every service is within reach; a scope: only the services of its clusters (ECS ARNs).
        self.scope = scope
        self.snapshots = {snapshot.arn: snapshot for snapshot in snapshots}
        # ARNs described, so a test can show what was never looked at.
        self.described: list[str] = []
        self.operations: dict[str, list[Operation]] = {}
        self.started = 0
        self.after_next_deploy: Callable[[], None] | None = None
        # (service name, digest, image identifier asked for) of every deploy call.
        self.deployed: list[tuple[str, str, str | None]] = []
        # Whether each deploy call was told an earlier attempt of its digest lost its answer.
        self.told_answer_lost: list[bool] = []
        self.lose_next_answer = False
        self.fail_next_deploy: BaseException | None = None
        self.clock = clock
        # Names of the services whose tags were read at deploy time, and how often every service was listed.
        self.tag_reads: list[str] = []
        self.listed = 0
        self.fail_listing: Exception | None = None
        # Services deleted behind the index's back: reading their tags finds nothing.
        self.deleted: set[str] = set()

    def serves(self, service_arn: str) -> bool:
        return self.scope is None or self.scope.covers_service(service_arn)

    def describe(self, service_arn: str) -> TargetService:
        self.described.append(service_arn)
        if service_arn in self.deleted:
            raise NotFoundError(f"{service_arn} does not exist")
        return self.snapshots[service_arn]

    def list_services(self) -> list[TargetService]:
        self.listed += 1
        if self.fail_listing is not None:
            raise self.fail_listing
        return [snapshot for snapshot in self.snapshots.values() if self.serves(snapshot.arn)]

    def current_tags(self, service: IndexedService) -> dict[str, str]:
        """The snapshot's tags; a service the fake was given no snapshot of reads as indexed."""
        self.tag_reads.append(service.name)
        if service.arn in self.deleted:
            raise NotFoundError(f"{service.arn} does not exist")
        snapshot = self.snapshots.get(service.arn)
        return dict(snapshot.tags) if snapshot is not None else dict(service.tags)

    def set_tags(self, service_arn: str, tags: dict[str, str]) -> None:
        """Tag a service as someone does in the console: no event, the index is not told."""
        self.snapshots[service_arn] = self.snapshots[service_arn].model_copy(update={"tags": tags})

    def _begin(self, service_arn: str, *, deploys_image: bool, status: str = "IN_PROGRESS") -> Operation:
        self.started += 1
        operation = Operation(
            operation_id=f"{self.started:032x}",
            deploys_image=deploys_image,
            outcome=_OUTCOME_OF_STATUS[status],
            status=status,
            started_at=self.clock(),
        )
        self.operations.setdefault(service_arn, []).insert(0, operation)
        snapshot = self.snapshots.get(service_arn)
        if snapshot is not None and status == "IN_PROGRESS":
            self.snapshots[service_arn] = snapshot.model_copy(
                update={"busy": True, "status": "OPERATION_IN_PROGRESS"}
            )
        return operation

    def deploy(self, service: IndexedService, digest: str, *, image: str | None = None) -> str:
        self.deployed.append((service.name, digest, image))
        self.told_answer_lost.append(service.answer_lost_for(digest))
        if self.fail_next_deploy is not None:
            error, self.fail_next_deploy = self.fail_next_deploy, None
            raise error
        current = self.snapshots.get(service.arn)
        if current is not None and current.busy:
            raise ServiceBusyError(f"StartDeployment on {service.arn}: InvalidStateException")
        operation = self._begin(service.arn, deploys_image=True)
        if self.after_next_deploy is not None:
            # Something that happens while this deployment has started and its caller goes on.
            happens, self.after_next_deploy = self.after_next_deploy, None
            happens()
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise OutcomeUnknownError(f"StartDeployment on {service.arn}: read timeout")
        return operation.operation_id

    def run_operation(self, service_arn: str, *, deploys_image: bool, status: str = "IN_PROGRESS") -> str:
        """An operation nobody in pushpilot started: the target's own deployment, a pause, a resume."""
        return self._begin(service_arn, deploys_image=deploys_image, status=status).operation_id

    def end_operation(self, service_arn: str, status: str = "SUCCEEDED") -> None:
        operations = self.operations.get(service_arn, [])
        if operations:
            operations[0] = operations[0].model_copy(
                update={"status": status, "outcome": _OUTCOME_OF_STATUS[status], "ended_at": self.clock()}
            )
        snapshot = self.snapshots.get(service_arn)
        if snapshot is not None:
            self.snapshots[service_arn] = snapshot.model_copy(update={"busy": False, "status": "RUNNING"})

    def recent_operations(self, service_arn: str) -> list[Operation]:
        return self.operations.get(service_arn, [])[:10]

    def find_operation(self, service: IndexedService, operation_id: str) -> Operation | None:
        return next(
            (op for op in self.operations.get(service.arn, []) if op.operation_id == operation_id), None
        )

    def console_link(self, service: IndexedService) -> Link:
        return Link(label=f"{self.label} console", url=f"https://console.example/{self.kind}/{service.name}")

    def failure_advice(self, service: IndexedService) -> str:
        return f"Read {service.name}'s deployment logs, fix, and push again."


class PassingInspector:
    """The verdict an image built for every platform gets; judging manifests is measured in unit tests."""

    def __init__(self) -> None:
        self.calls = 0
        # Digests no repository holds: inspecting one raises NotFoundError, as ECR's ImageNotFound does.
        self.missing: set[str] = set()

    def inspect(
        self,
        repository: str,
        *,
        digest: str | None = None,
        tag: str | None = None,
        registry_id: str | None = None,
        required: Platform,
    ) -> Verdict:
        del tag, registry_id
        self.calls += 1
        if digest in self.missing:
            raise NotFoundError(f"image {repository}@{digest} unavailable: ImageNotFound")
        return Verdict(
            status=VerdictStatus.PASS,
            required=required,
            platforms=(required,),
            media_type="application/vnd.oci.image.manifest.v1+json",
            reason=f"The image is built for {required}, which runs on {required}.",
            fix=None,
            digest=digest,
        )


class CollectingSink:
    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.fail_next: Exception | None = None

    def publish(self, notice: Notice) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.notices.append(notice)


class CollectingEvents:
    """The ReleaseEvents port in memory: each event as EventBridge would deliver it. Held against the
    published schema when a test reads them (`delivered`), so a test that looks at an event the schema
    refuses fails there, and the benchmark's flows pay only for building them."""

    def __init__(self, *, check_schema: bool = True) -> None:
        self._delivered: list[dict[str, Any]] = []
        self._checked = 0
        self.fail_next: Exception | None = None
        self.check_schema = check_schema
        self.puts = 0

    def put(self, events: Sequence[ReleaseEvent]) -> None:
        self.puts += 1
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        for event in events:
            self._delivered.append(
                {
                    "version": "0",
                    "id": f"evt-{len(self._delivered) + 1}",
                    "detail-type": str(event.detail_type),
                    "source": SOURCE,
                    "account": account_of(event.resources[0]) if event.resources else ACCOUNT,
                    "time": event.detail.occurred_at,
                    "region": REGION,
                    "resources": event.resources,
                    "detail": event.detail.model_dump(mode="json"),
                }
            )

    @property
    def delivered(self) -> list[dict[str, Any]]:
        if self.check_schema:
            from pushpilot_sandbox.release_event_bus import check_release_event

            for envelope in self._delivered[self._checked :]:
                check_release_event(envelope)
            self._checked = len(self._delivered)
        return list(self._delivered)

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [event for event in self.delivered if event["detail-type"] == detail_type]


class FakePromotions:
    """The PromotionLedger in memory, with the table's conditions: a newer upstream release replaces an
    older one, a state moves only from the one it was read in."""

    def __init__(self) -> None:
        self.items: dict[str, Baking] = {}

    def offer(self, baking: Baking) -> tuple[bool, Baking | None]:
        old = self.items.get(baking.service_arn)
        if old is not None and (old.digest == baking.digest or old.live_since >= baking.live_since):
            return False, None
        self.items[baking.service_arn] = baking
        return True, old

    def get(self, service_arn: str) -> Baking | None:
        return self.items.get(service_arn)

    def all(self) -> list[Baking]:
        return list(self.items.values())

    def move(
        self,
        baking: Baking,
        state: BakeState,
        *,
        bake_started: str | None = None,
        held_by: tuple[str, ...] = (),
    ) -> bool:
        current = self.items.get(baking.service_arn)
        if current is None or current.digest != baking.digest or current.state is not baking.state:
            return False
        self.items[baking.service_arn] = current.model_copy(
            update={"state": state, "bake_started": bake_started or current.bake_started, "held_by": held_by}
        )
        return True


class FakeAlarms:
    """Alarm states by name; an alarm nobody set is OK. `calls` counts DescribeAlarms."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.calls = 0

    def in_alarm(self, names: Sequence[str]) -> list[str]:
        self.calls += 1
        return [name for name in names if self.states.get(name, "OK") == "ALARM"]


class FakeImageParameters:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def publish(self, kind: str, service: str, image: str) -> None:
        self.values[f"/pushpilot/{kind}/{service}/image"] = image


class MemoOnce:
    """`run_once` without the table: the first successful result per (scope, key) is kept and returned
    again; a failed attempt leaves nothing behind, as Powertools deletes its record."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}

    def __call__(
        self, *, scope: str, key: dict[str, str], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        identity = (scope, tuple(sorted(key.items())))
        if identity not in self.results:
            self.results[identity] = work()
        return self.results[identity]


class FakeApprovals:
    """The approval store's conditional rules, in memory: one vote per voter while waiting, one move per
    state."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Approval] = {}

    def request(self, approval: Approval) -> tuple[Approval, list[Approval]]:
        key = (approval.service_arn, approval.digest)
        stored = self.items.setdefault(key, approval)
        superseded = []
        for other in self.of_service(approval.service_arn):
            if other.digest == stored.digest or other.requested_at > stored.requested_at:
                continue
            if (other.hook is None) != (stored.hook is None):
                continue
            closed = self.close(
                other.service_arn,
                other.digest,
                ApprovalState.SUPERSEDED,
                expected=ApprovalState.WAITING,
                closed_by=stored.release_id,
            )
            superseded += [closed] if closed else []
        return stored, superseded

    def get(self, service_arn: str, digest: str) -> Approval | None:
        return self.items.get((service_arn, digest))

    def of_service(self, service_arn: str) -> list[Approval]:
        mine = [item for (arn, _), item in self.items.items() if arn == service_arn]
        return sorted(mine, key=lambda item: item.requested_at, reverse=True)

    def vote(self, service_arn: str, digest: str, vote: Vote) -> Approval | None:
        current = self.items.get((service_arn, digest))
        if current is None or current.state is not ApprovalState.WAITING or vote.voter in current.votes:
            return None
        updated = current.model_copy(update={"votes": {**current.votes, vote.voter: vote}})
        self.items[(service_arn, digest)] = updated
        return updated

    def close(
        self,
        service_arn: str,
        digest: str,
        state: ApprovalState,
        *,
        expected: ApprovalState,
        closed_by: str | None = None,
    ) -> Approval | None:
        current = self.items.get((service_arn, digest))
        if current is None or current.state is not expected:
            return None
        changes: dict[str, Any] = {"state": state}
        if closed_by:
            changes["closed_by"] = closed_by
        updated = current.model_copy(update=changes)
        self.items[(service_arn, digest)] = updated
        return updated


class CollectingTimer:
    """The outcome timer: every look scheduled, with its delay, in order."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[OutcomeCheck, int]] = []

    def schedule(self, check: OutcomeCheck, *, delay_seconds: int) -> None:
        self.scheduled.append((check, delay_seconds))


class FakeWorld:
    """One set of fakes wired into `DeployPorts`, with handles on each fake for setup and inspection.
    `advance` moves the world's clock (operations started later carry later times)."""

    def __init__(
        self, snapshots: Iterable[TargetService], *, extra_targets: Iterable[FakeTarget] = ()
    ) -> None:
        self.time = FIXED_NOW
        self.index = FakeIndex()
        snapshots = list(snapshots)
        self.apprunner = FakeTarget(
            (snapshot for snapshot in snapshots if snapshot.kind == APP_RUNNER), clock=self.clock
        )
        self.targets: dict[str, FakeTarget] = {self.apprunner.kind: self.apprunner}
        for target in extra_targets:
            target.clock = self.clock
            self.targets[target.kind] = target
        for target in self.targets.values():
            for snapshot in target.snapshots.values():
                self.index.upsert(snapshot, now=FIXED_NOW.isoformat())
        self.releases = FakeReleases()
        self.sink = CollectingSink()
        self.once = MemoOnce()
        self.inspector = PassingInspector()
        self.approvals = FakeApprovals()
        self.events = CollectingEvents()
        self.promotions = FakePromotions()
        self.alarms = FakeAlarms()
        self.timer = CollectingTimer()
        self.ports = DeployPorts(
            index=self.index,
            releases=self.releases,
            targets=self.targets,
            inspector=self.inspector,
            notices=self.sink,
            once=self.once,
            clock=self.clock,
            approvals=self.approvals,
            events=self.events,
            promotions=self.promotions,
            alarms=self.alarms,
            account_id=ACCOUNT,
            outcome_timer=self.timer,
        )

    def clock(self) -> datetime:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += timedelta(seconds=seconds)


class FakeDeadLetterQueue:
    """A dead-letter queue in memory, as SQS answers: a received message is held (invisible) until it is
    deleted or released."""

    def __init__(
        self,
        messages: Iterable[dict[str, Any]],
        url: str = "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
    ) -> None:
        self.url = url
        self.messages = list(messages)
        self.held: set[str] = set()
        self.deleted: list[str] = []
        self.released: list[str] = []

    def receive(self, wanted: int) -> list[dict[str, Any]]:
        visible = [m for m in self.messages if m["ReceiptHandle"] not in self.held][: min(10, wanted)]
        self.held.update(message["ReceiptHandle"] for message in visible)
        return visible

    def release(self, receipt_handle: str) -> None:
        self.held.discard(receipt_handle)
        self.released.append(receipt_handle)

    def delete(self, receipt_handle: str) -> None:
        self.messages = [m for m in self.messages if m["ReceiptHandle"] != receipt_handle]
        self.held.discard(receipt_handle)
        self.deleted.append(receipt_handle)


def _dead_letter_queue(queue: FakeDeadLetterQueue) -> DeadLetterQueue:
    # mypy holds the fake to the port here.
    return queue
