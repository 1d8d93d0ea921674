"""The deploy path: a pushed image is judged once, deployed once per service, and its outcome told.

Two things start it: an ECR push event, and the scheduled check that finds an ECR Public tag naming a
new digest; both become an `Arrival` that takes the same path. Every step is driven by events and
recorded in the table, so a lost event is recovered by the scheduled refresh and a duplicated one
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pushpilot.adapters.state import IndexedService, InFlight, Pending, ReleaseStore, ServiceIndex
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    PushpilotError,
    ServiceBusyError,
    ThrottledError,
)
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Link, Notice, NoticeKind, Severity, release_id
from pushpilot.core.public_sightings import Sighting, SightingAction, SightingKind, decide, images_to_watch
from pushpilot.core.releases import Release, RolloutStatus, ServiceRollout, Stage, overall_stage
from pushpilot.core.rollout_plan import (
    ROLLOUT_FOR_OUTCOME,
    ActionKind,
    OperationOutcome,
    ServiceAction,
    classify_operation,
    plan_rollout,
)
from pushpilot.core.verdicts import APP_RUNNER_PLATFORM, Inspector, Verdict, VerdictStatus
from pushpilot.entry.handling import HandlerOutcome
from pushpilot.entry.settings import FirstSighting
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.targets.apprunner.events import AppRunnerOperationEvent, AppRunnerServiceStatusEvent
from pushpilot.targets.apprunner.services import AppRunnerServices, OperationSnapshot, ServiceSnapshot

if TYPE_CHECKING:
    from pushpilot.adapters.ecr_public import ManifestHead

RELEASE_RETENTION = timedelta(days=90)


class NoticeSink(Protocol):
    def publish(self, notice: Notice) -> None: ...


class OnceRunner(Protocol):
    def __call__(
        self, *, scope: str, key: dict[str, str], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]: ...


@dataclass
class Ports:
    """Everything the deploy path talks to; production wires real adapters, tests wire fakes."""

    index: ServiceIndex
    releases: ReleaseStore
    apprunner: AppRunnerServices
    inspector: Inspector
    notices: NoticeSink
    once: OnceRunner
    region: str
    dry_run: bool = False
    # UnverifiedImages=deploy: an image whose platform could not be read deploys (with a warning).
    deploy_unverified: bool = False
    # Named in access-denied advice: the principal a registry account's repository policy must allow.
    role_arn: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def now(self) -> str:
        return self.clock().isoformat(timespec="milliseconds")


def console_link(region: str, service: IndexedService | ServiceSnapshot) -> Link:
    arn = service.arn
    name = service.name
    service_id = arn.rsplit("/", 1)[-1]
    return Link(
        label="App Runner console",
        url=f"https://console.aws.amazon.com/apprunner/home?region={region}#/services/dashboard?service_arn={arn}&active_tab=logs&name={name}&id={service_id}",
    )


# --- push ------------------------------------------------------------------------------------------


def handle_push(event: EcrImageActionEvent, ports: Ports) -> HandlerOutcome:
    detail = event.detail
    if detail.action_type != "PUSH" or detail.result != "SUCCESS":
        return _ignored(event.id, f"{detail.action_type}/{detail.result} is not a successful push")
    if detail.image_tag is None:
        return _ignored(event.id, "untagged child manifest of a multi-platform push")

    image = ImageRef.for_ecr_push(
        account=event.account, region=event.region, repository=detail.repository_name, tag=detail.image_tag
    )
    services = ports.index.services_for_image(image.key)
    if not services:
        return _ignored(event.id, f"no App Runner service runs {image.key}")
    arrival = Arrival(
        event_id=event.id,
        image=image,
        digest=detail.image_digest,
        registry_id=event.account,
        occurred_at=event.time.isoformat(),
    )
    return release_image(arrival, services, ports)


@dataclass(frozen=True)
class Arrival:
    """A digest that arrived under a tag services run: an ECR push, or a public tag that moved."""

    event_id: str
    image: ImageRef
    digest: str
    # The registry account for ECR (cross-account reads name it); None for a public registry.
    registry_id: str | None
    occurred_at: str

    @property
    def tag(self) -> str:
        return self.image.tag or "latest"


def release_image(arrival: Arrival, services: Sequence[IndexedService], ports: Ports) -> HandlerOutcome:
    """Open the release, judge the digest once, plan, and act once per service."""
    now = ports.now()
    repository = arrival.image.repository
    rid = release_id(repository, arrival.digest)
    release = ports.releases.open(
        Release(
            release_id=rid,
            repository=repository,
            registry=arrival.image.registry,
            digest=arrival.digest,
            created_at=now,
            updated_at=now,
        ),
        tag=arrival.tag,
        expires_at=int((ports.clock() + RELEASE_RETENTION).timestamp()),
    )
    try:
        verdict = _judge_once(ports, arrival)
    except AccessDeniedError as exc:
        # Nothing is stored for the digest, so a replay after the policy is fixed judges it afresh.
        ports.releases.set_stage(rid, Stage.UNVERIFIED, now=now)
        ports.notices.publish(_access_denied_notice(ports, release, arrival, services, exc))
        raise
    deploy_anyway = verdict.status is VerdictStatus.UNKNOWN and ports.deploy_unverified
    passed = verdict.status is VerdictStatus.PASS or deploy_anyway
    stage = {VerdictStatus.PASS: Stage.VERIFIED, VerdictStatus.REJECT: Stage.REJECTED}.get(
        verdict.status, Stage.UNVERIFIED
    )
    ports.releases.record_verdict(rid, verdict.model_dump(mode="json"), stage, now=now)
    ports.notices.publish(
        _verdict_notice(release, verdict, stage, arrival.occurred_at, services, deploy_anyway=deploy_anyway)
    )

    plan = plan_rollout(rid, verdict_passed=passed, services=services, dry_run=ports.dry_run)
    by_arn = {service.arn: service for service in services}
    results = [
        _act_once(ports, release, action, by_arn[action.service_arn], pushed_at=arrival.occurred_at)
        for action in plan.actions
    ]
    return HandlerOutcome(
        event_id=arrival.event_id,
        status="handled",
        detail={"release_id": rid, "verdict": str(verdict.status), "services": results},
    )


def _judge_once(ports: Ports, arrival: Arrival) -> Verdict:
    image = arrival.image

    def judge() -> dict[str, Any]:
        verdict = ports.inspector.inspect(
            image.repository,
            digest=arrival.digest,
            tag=image.tag,
            registry_id=arrival.registry_id,
            required=APP_RUNNER_PLATFORM,
        )
        return verdict.model_dump(mode="json")

    stored = ports.once(
        scope="verdict",
        key={"registry": image.registry, "repository": image.repository, "digest": arrival.digest},
        work=judge,
    )
    return Verdict.model_validate(stored)


def _access_denied_notice(
    ports: Ports,
    release: Release,
    arrival: Arrival,
    services: Sequence[IndexedService],
    error: AccessDeniedError,
) -> Notice:
    headline = release.headline(Stage.UNVERIFIED).model_copy(
        update={"services": tuple(sorted(service.name for service in services))}
    )
    account = arrival.image.registry_account
    repository = arrival.image.repository
    own_account = ports.role_arn.split(":")[4] if ports.role_arn and ports.role_arn.count(":") >= 5 else None
    details: tuple[str, ...] = ()
    if account is not None and account == own_account:
        # In its own account the role's policy already grants the read: something denies it.
        next_step = (
            f"pushpilot's role may read {repository} by its own policy, so something denies it: look for"
            " an explicit Deny in the repository policy, a permissions boundary or a service control"
            " policy. Then push again or replay this event."
        )
    elif account is not None:
        principal = ports.role_arn or "the ARN of pushpilot's ImagePushFunction role"
        next_step = (
            f"In registry account {account}, attach an ECR repository policy to repository {repository}"
            f" that allows ecr:BatchGetImage and ecr:GetDownloadUrlForLayer to {principal}."
            " Then push again or replay this event."
        )
        details = repository_policy(ports.role_arn or "<pushpilot ImagePushFunction role ARN>")
    else:
        next_step = (
            f"Check that {arrival.image.registry}/{repository} exists and allows anonymous pulls."
            " The next check retries it."
        )
    return Notice(
        kind=NoticeKind.UNVERIFIED,
        severity=Severity.FAILURE,
        title=f"{repository}:{arrival.tag} could not be read: access denied",
        summary=f"{error} Nothing was deployed.",
        next_step=next_step,
        details=details,
        release=headline,
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#access-denied",
        occurred_at=arrival.occurred_at,
    )


def repository_policy(principal_arn: str) -> tuple[str, ...]:
    """The ECR repository policy the registry account attaches, as lines of JSON."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PushpilotReadsImages",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arn},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    return tuple(json.dumps(policy, indent=2).splitlines())


def _verdict_notice(
    release: Release,
    verdict: Verdict,
    stage: Stage,
    occurred_at: str,
    services: Sequence[IndexedService],
    *,
    deploy_anyway: bool = False,
) -> Notice:
    found = ", ".join(str(platform) for platform in verdict.platforms) or "none found"
    headline = release.headline(stage).model_copy(
        update={"services": tuple(sorted(service.name for service in services))}
    )
    ref = f"{release.repository}:{headline.tag}" if headline.tag else release.repository
    if verdict.status is VerdictStatus.PASS:
        return Notice(
            kind=NoticeKind.VERIFIED,
            severity=Severity.INFO,
            title=f"{ref} verified for {verdict.required}",
            summary=f"Platforms in the image: {found}. {verdict.reason}",
            release=headline,
            thread_key=release.release_id,
            dedupe_key=f"{release.release_id}#verdict",
            occurred_at=occurred_at,
        )
    kind = NoticeKind.REJECTED if verdict.status is VerdictStatus.REJECT else NoticeKind.UNVERIFIED
    auto = [service.name for service in services if service.auto_deploy]
    if deploy_anyway:
        warning = " Deploying it anyway, as UnverifiedImages=deploy asks: watch the deployment's outcome."
    elif auto:
        warning = (
            f" App Runner automatic deployment is ON for {', '.join(sorted(auto))}: it will deploy this image"
            " anyway and the deployment will fail. Turn automatic deployment off or push a fixed image now."
        )
    else:
        warning = " Nothing was deployed."
    return Notice(
        kind=kind,
        severity=Severity.WARNING if deploy_anyway else Severity.FAILURE,
        title=f"{ref} {'rejected' if kind is NoticeKind.REJECTED else 'could not be verified'}:"
        f" App Runner needs {verdict.required}",
        summary=f"Platforms in the image: {found}. {verdict.reason.rstrip('.')}.{warning}",
        next_step=verdict.fix,
        release=headline,
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#verdict",
        occurred_at=occurred_at,
    )


def _act_once(
    ports: Ports, release: Release, action: ServiceAction, service: IndexedService, *, pushed_at: str
) -> dict[str, Any]:
    """One action per (service, digest), however often the push event is delivered."""
    return ports.once(
        scope="deploy",
        key={"service": action.service_arn, "digest": release.digest},
        work=lambda: _act(ports, release, action, service, pushed_at=pushed_at),
    )


def _act(
    ports: Ports, release: Release, action: ServiceAction, service: IndexedService, *, pushed_at: str
) -> dict[str, Any]:
    now = ports.now()
    pending = Pending(digest=release.digest, release_id=release.release_id, pushed_at=pushed_at)
    match action.kind:
        case ActionKind.START_DEPLOYMENT:
            status = _start(ports, service, release, pending)
        case ActionKind.QUEUE:
            ports.index.queue(service.arn, pending)
            status = RolloutStatus.QUEUED
        case ActionKind.TRACK_AUTO_DEPLOY:
            ports.index.await_auto(service.arn, pending)
            status = RolloutStatus.AWAITING_AUTO_DEPLOY
        case ActionKind.DRY_RUN:
            status = RolloutStatus.DRY_RUN
        case ActionKind.WARN_AUTO_DEPLOY | ActionKind.HOLD:
            status = RolloutStatus.SKIPPED
    rollout = ServiceRollout(
        service_arn=service.arn,
        service_name=service.name,
        status=status,
        service_url=service.service_url,
        message=action.reason,
        updated_at=now,
        operation_id=None,
    )
    stored = ports.releases.record_rollout(rollout, release.release_id)
    if status is not RolloutStatus.SKIPPED:
        ports.notices.publish(_rollout_notice(ports, stored, service, status, action.reason, now))
    return {"service": service.name, "action": str(action.kind), "status": str(status)}


def _start(ports: Ports, service: IndexedService, release: Release, pending: Pending) -> RolloutStatus:
    claim = InFlight(digest=release.digest, release_id=release.release_id, started_at=pending.pushed_at)
    if not ports.index.claim(service.arn, claim):
        ports.index.queue(service.arn, pending)
        return RolloutStatus.QUEUED
    try:
        operation_id = ports.apprunner.start_deployment(service.arn)
    except ServiceBusyError:
        # Busy with an operation we did not start (a config change, App Runner's own deployment):
        # the push waits for that operation's end.
        ports.index.unclaim_to_pending(service.arn, claim)
        return RolloutStatus.QUEUED
    except PushpilotError:
        # Any other failure: give the claim back so Lambda's retry deploys instead of queueing
        # behind an operation that never started.
        ports.index.unclaim(service.arn, claim)
        raise
    ports.index.set_operation(service.arn, release.digest, operation_id)
    return RolloutStatus.DEPLOYING


_ROLLOUT_NOTICE = {
    RolloutStatus.DEPLOYING: (NoticeKind.DEPLOYING, Severity.INFO, "deploying to {service}"),
    RolloutStatus.QUEUED: (
        NoticeKind.QUEUED,
        Severity.INFO,
        "queued for {service}: an operation is in progress",
    ),
    RolloutStatus.AWAITING_AUTO_DEPLOY: (
        NoticeKind.AUTO_DEPLOY_TRACKED,
        Severity.INFO,
        "{service} deploys it automatically; tracking the outcome",
    ),
    RolloutStatus.DRY_RUN: (NoticeKind.DRY_RUN, Severity.INFO, "dry run: would deploy to {service}"),
    RolloutStatus.LIVE: (NoticeKind.LIVE, Severity.SUCCESS, "live on {service}"),
    RolloutStatus.FAILED: (NoticeKind.FAILED, Severity.FAILURE, "deployment to {service} failed"),
    RolloutStatus.ROLLED_BACK: (
        NoticeKind.ROLLED_BACK,
        Severity.FAILURE,
        "deployment to {service} failed and App Runner rolled back",
    ),
}


def _rollout_notice(  # noqa: PLR0917 - one call shape used by every rollout step
    ports: Ports,
    release: Release,
    service: IndexedService,
    status: RolloutStatus,
    message: str,
    now: str,
    *,
    operation_id: str | None = None,
) -> Notice:
    kind, severity, template = _ROLLOUT_NOTICE[status]
    links = [console_link(ports.region, service)]
    if service.service_url and status is RolloutStatus.LIVE:
        links.append(Link(label="Open service", url=f"https://{service.service_url}"))
    next_step = None
    if status in {RolloutStatus.FAILED, RolloutStatus.ROLLED_BACK}:
        next_step = (
            "The previous version keeps serving. Read the service's deployment logs (App Runner console →"
            f" {service.name} → Logs) for the failing health check or start command, fix, and push again."
        )
    return Notice(
        kind=kind,
        severity=severity,
        title=f"{release.repository}@{release.digest[:19]} {template.format(service=service.name)}",
        summary=message,
        next_step=next_step,
        links=tuple(links),
        release=release.headline(overall_stage(release)),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#{service.arn}#{status}#{operation_id or ''}",
        occurred_at=now,
    )


# --- ECR Public --------------------------------------------------------------------------------------


class PublicRegistry(Inspector, Protocol):
    """A public registry: tells the digest a tag names now, and judges a digest."""

    def head(self, name: str, reference: str) -> ManifestHead: ...


class TagLedger(Protocol):
    def observe(self, image_key: str, digest: str, now: str) -> Sighting: ...

    def settle(self, image_key: str, digest: str, now: str) -> bool: ...


def check_public_images(
    ports: Ports, registry: PublicRegistry, tags: TagLedger, first_sighting: FirstSighting
) -> dict[str, Any]:
    """One HEAD per public tag the services run; a tag that moved goes down the push's path.

    A tag that fails with a retryable error is reported, left unsettled and checked again next run; a
    permanent failure is told once and settled (retrying cannot fix it; the tag's next move will be
    judged afresh). Throttling ends the run: the registry's limit is per caller, so the remaining tags
    would only be throttled too. Each run starts at another tag, so none is starved behind the others.
    """
    watched = images_to_watch(ports.index.all())
    if watched:
        start = int(ports.clock().timestamp() // 60) % len(watched)
        watched = watched[start:] + watched[:start]
    public_ports = replace(ports, inspector=registry)
    first_sightings: list[str] = []
    changed: list[str] = []
    unchanged = 0
    releases: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for position, image in enumerate(watched):
        try:
            digest = registry.head(image.image.repository, image.tag).digest
            now = ports.now()
            sighting = tags.observe(image.key, digest, now)
        except ThrottledError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
            errors.extend(
                {"image": later.key, "error_type": "Skipped", "reason": "not checked: the registry throttled"}
                for later in watched[position + 1 :]
            )
            break
        except PushpilotError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
            continue
        match sighting.kind:
            case SightingKind.FIRST:
                first_sightings.append(image.key)
            case SightingKind.CHANGED:
                changed.append(image.key)
            case SightingKind.UNCHANGED:
                unchanged += 1
        decision = decide(sighting, first_sighting)
        if decision.action is SightingAction.NOTHING:
            continue
        try:
            if decision.action is SightingAction.DEPLOY:
                arrival = Arrival(
                    event_id=f"public-check:{image.key}@{digest}",
                    image=image.image,
                    digest=digest,
                    registry_id=None,
                    occurred_at=now,
                )
                outcome = release_image(arrival, image.services, public_ports)
                releases.append(
                    {
                        "image": image.key,
                        "event_id": outcome.event_id,
                        "reason": decision.reason,
                        **outcome.detail,
                    }
                )
            tags.settle(image.key, digest, ports.now())
        except PermanentError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
            if not isinstance(exc, AccessDeniedError):  # release_image has told that one already
                ports.notices.publish(_public_check_failed_notice(image.image, digest, exc, now))
            tags.settle(image.key, digest, ports.now())
        except PushpilotError as exc:
            errors.append({"image": image.key, "error_type": type(exc).__name__, "reason": str(exc)})
    return {
        "checked": len(watched),
        "first_sightings": first_sightings,
        "unchanged": unchanged,
        "changed": changed,
        "releases": releases,
        "errors": errors,
    }


def _public_check_failed_notice(
    image: ImageRef, digest: str, error: PermanentError, occurred_at: str
) -> Notice:
    rid = release_id(image.repository, digest)
    return Notice(
        kind=NoticeKind.UNVERIFIED,
        severity=Severity.FAILURE,
        title=f"{image.repository}:{image.tag} moved to {digest[:19]} but could not be checked",
        summary=f"{error} Nothing was deployed; the tag's next digest will be checked afresh.",
        next_step=f"Look at {image.key} in the registry; deploy by hand if this digest should run.",
        thread_key=rid,
        dedupe_key=f"{rid}#check-failed",
        occurred_at=occurred_at,
    )


# --- outcome ---------------------------------------------------------------------------------------


def handle_operation(event: AppRunnerOperationEvent, ports: Ports) -> HandlerOutcome:
    service = _indexed_service(ports, event.service_arn, event.detail.service_name)
    if service is None:
        return _ignored(event.id, f"service {event.detail.service_name} is not in the index")
    operations = ports.apprunner.recent_operations(service.arn)
    operation = _matching_operation(operations, service)
    outcome = classify_operation(event.detail.operation_status, operation.status if operation else None)
    if outcome is OperationOutcome.IN_PROGRESS:
        return _ignored(event.id, "the operation is still in progress")
    result = _close(ports, service, outcome, operation, event.detail.message)
    follow_up = _follow_up(ports, service.arn)
    return HandlerOutcome(
        event_id=event.id, status="handled", detail={"outcome": str(outcome), **result, **follow_up}
    )


def _indexed_service(ports: Ports, arn: str | None, name: str) -> IndexedService | None:
    if arn:
        return ports.index.get(arn)
    return ports.index.find_by_name(name)


def _matching_operation(
    operations: Sequence[OperationSnapshot], service: IndexedService
) -> OperationSnapshot | None:
    if service.in_flight and service.in_flight.operation_id:
        for operation in operations:
            if operation.operation_id == service.in_flight.operation_id:
                return operation
    deployments = [op for op in operations if op.type in {"START_DEPLOYMENT", "UPDATE_SERVICE"}]
    return deployments[0] if deployments else None


def _close(
    ports: Ports,
    service: IndexedService,
    outcome: OperationOutcome,
    operation: OperationSnapshot | None,
    message: str,
) -> dict[str, Any]:
    ours = ports.index.finish(service.arn)
    belongs_to: InFlight | Pending | None = ours
    if ours is None:
        belongs_to = ports.index.finish_auto(service.arn)
    if belongs_to is None:
        return {"release_id": None, "note": "operation was not a deployment pushpilot tracks"}
    status = ROLLOUT_FOR_OUTCOME[outcome]
    now = ports.now()
    operation_id = operation.operation_id if operation else None
    rollout = ServiceRollout(
        service_arn=service.arn,
        service_name=service.name,
        status=status,
        operation_id=operation_id,
        service_url=service.service_url,
        message=message or f"operation {operation.status if operation else 'ended'}",
        updated_at=now,
    )
    release = ports.releases.record_rollout(rollout, belongs_to.release_id)
    ports.releases.set_stage(release.release_id, overall_stage(release), now=now)
    ports.notices.publish(
        _rollout_notice(ports, release, service, status, rollout.message, now, operation_id=operation_id)
    )
    return {"release_id": release.release_id, "rollout": str(status)}


def _follow_up(ports: Ports, service_arn: str) -> dict[str, Any]:
    """Deploy the newest push that waited for the operation that just ended."""
    pending = ports.index.take_pending(service_arn)
    if pending is None:
        return {}
    release = ports.releases.get(pending.release_id)
    service = ports.index.get(service_arn)
    if release is None or service is None:
        raise NotFoundError(f"pending release {pending.release_id} or service {service_arn} vanished")
    claim = InFlight(digest=pending.digest, release_id=pending.release_id, started_at=pending.pushed_at)

    def start() -> dict[str, Any]:
        try:
            operation_id = ports.apprunner.start_deployment(service_arn)
        except ServiceBusyError:
            ports.index.unclaim_to_pending(service_arn, claim)
            return {"follow_up": "queued", "digest": pending.digest}
        ports.index.set_operation(service_arn, pending.digest, operation_id)
        now = ports.now()
        rollout = ServiceRollout(
            service_arn=service_arn,
            service_name=service.name,
            status=RolloutStatus.DEPLOYING,
            operation_id=operation_id,
            service_url=service.service_url,
            message="the newest push waited for the previous operation; deploying it now",
            updated_at=now,
        )
        stored = ports.releases.record_rollout(rollout, release.release_id)
        ports.notices.publish(
            _rollout_notice(ports, stored, service, RolloutStatus.DEPLOYING, rollout.message, now)
        )
        return {"follow_up": "deploying", "digest": pending.digest}

    return ports.once(scope="follow-up", key={"service": service_arn, "digest": pending.digest}, work=start)


# --- service index ---------------------------------------------------------------------------------


def handle_service_status(event: AppRunnerServiceStatusEvent, ports: Ports) -> HandlerOutcome:
    arn = event.service_arn
    if arn is None:
        return _ignored(event.id, "service status event names no service ARN")
    if event.detail.current_status == "DELETED":
        ports.index.remove(arn)
        return HandlerOutcome(event_id=event.id, status="handled", detail={"index": "removed"})
    try:
        snapshot = ports.apprunner.describe(arn)
    except NotFoundError:
        ports.index.remove(arn)
        return HandlerOutcome(event_id=event.id, status="handled", detail={"index": "removed"})
    ports.index.upsert(snapshot, now=ports.now())
    detail: dict[str, Any] = {"index": "updated"}
    if snapshot.status == "RUNNING":
        indexed = ports.index.get(arn)
        if indexed is not None and indexed.in_flight is None and indexed.pending is not None:
            detail |= _follow_up(ports, arn)
    return HandlerOutcome(event_id=event.id, status="handled", detail=detail)


def refresh(ports: Ports, *, stale_after: timedelta = timedelta(minutes=20)) -> dict[str, Any]:
    """The scheduled safety net: re-read every service, finish deployments whose events were lost,
    start pending pushes whose service is free."""
    snapshots = ports.apprunner.list_all()
    now = ports.now()
    live_arns = {snapshot.arn for snapshot in snapshots}
    for snapshot in snapshots:
        ports.index.upsert(snapshot, now=now)
    removed = [service.arn for service in ports.index.all() if service.arn not in live_arns]
    for arn in removed:
        ports.index.remove(arn)
    recovered: list[str] = []
    started: list[str] = []
    cutoff = ports.clock() - stale_after
    for service in ports.index.all():
        if service.in_flight is not None and datetime.fromisoformat(service.in_flight.started_at) < cutoff:
            operation = _matching_operation(ports.apprunner.recent_operations(service.arn), service)
            outcome = classify_operation("", operation.status if operation else None)
            if outcome is not OperationOutcome.IN_PROGRESS:
                _close(ports, service, outcome, operation, "outcome recovered by the scheduled refresh")
                recovered.append(service.name)
        current = ports.index.get(service.arn)
        waiting = current and current.pending and current.in_flight is None and current.status == "RUNNING"
        if waiting and _follow_up(ports, service.arn).get("follow_up") == "deploying":
            started.append(service.name)
    return {"services": len(snapshots), "removed": len(removed), "recovered": recovered, "started": started}


def _ignored(event_id: str, reason: str) -> HandlerOutcome:
    return HandlerOutcome(event_id=event_id, status="ignored", detail={"reason": reason})
