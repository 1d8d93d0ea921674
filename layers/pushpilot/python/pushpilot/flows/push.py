"""A pushed digest is judged once per platform its services need, deployed once per service, and told.

Two things start it: an ECR push event, and the scheduled check that finds an ECR Public tag naming a
new digest; both become an `Arrival` that takes the same path. Every step is recorded in the table, so
a duplicated event changes nothing and a retried one finishes what the first began.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pushpilot.core.approvals import APPROVE_TAG
from pushpilot.core.deploy_notices import (
    access_denied_notice,
    unreadable_notice,
    verdict_notice,
)
from pushpilot.core.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    PushpilotError,
)
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import release_id
from pushpilot.core.policy_notices import policy_decision_notice, policy_problem_notice
from pushpilot.core.policy_turns import Turn, TurnKind, turn_for
from pushpilot.core.releases import Release, RolloutStatus, Stage
from pushpilot.core.rollout_plan import ActionKind, Candidate, ServiceAction, plan_rollout
from pushpilot.core.tracking import IndexedService, Pending
from pushpilot.core.verdicts import Platform, Verdict, VerdictStatus
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.approval_requests import request_approval
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.index_fill import discover
from pushpilot.flows.release_events import announce_held, announce_rollout, announce_verified
from pushpilot.flows.results import FlowResult, ignored
from pushpilot.flows.rollout import (
    deployable_manifest,
    queue_push,
    record_and_tell,
    record_rollout,
    start_deployment,
)

RELEASE_RETENTION = timedelta(days=90)
# A service whose target cannot tell its platform: judged as "unknown", so UnverifiedImages decides.
UNKNOWN_PLATFORM = Platform(os="unknown", architecture="unknown")


def handle_push(event: EcrImageActionEvent, ports: DeployPorts) -> FlowResult:
    detail = event.detail
    if detail.action_type != "PUSH" or detail.result != "SUCCESS":
        return ignored(event.id, f"{detail.action_type}/{detail.result} is not a successful push")
    if not detail.image_tag:
        # Real events carry `"image-tag": ""` for these, the documentation leaves the key out.
        return ignored(
            event.id,
            f"untagged manifest {detail.repository_name}@{detail.image_digest[:19]}"
            " (a platform child of a multi-platform push, or a push by digest): no service runs it by tag",
        )
    image = ImageRef.for_ecr_push(
        account=event.account, region=event.region, repository=detail.repository_name, tag=detail.image_tag
    )
    discovery = _discover_if_never_filled(ports)
    # One Query: every service of the repository; each one's release policy decides below whether this
    # tag concerns it (the tag it runs, a tag it follows, the tag a pinned digest came from).
    services = ports.index.services_following(f"{image.registry}/{image.repository}")
    if not services:
        return ignored(event.id, f"no service runs {image.key}{discovery}")
    arrival = Arrival(
        event_id=event.id,
        image=image,
        digest=detail.image_digest,
        registry_id=event.account,
        occurred_at=event.time.isoformat(),
    )
    return release_image(arrival, services, ports)


def _discover_if_never_filled(ports: DeployPorts) -> str:
    """Before the first complete discovery (the stack-creation fill did not finish, or failed), the
    index may miss services that ran before the install: discover them all before deciding.

    Cost: one GetItem per push for the marker; once per install (until the marker exists), every
    target's listing — App Runner ListServices per 20 services plus DescribeService and
    ListTagsForResource per service; ECS ListClusters, ListServices, DescribeServices per 10 services and
    DescribeTaskDefinition per task definition. A discovery that fails does not lose the push: it is
    decided on the index as it stands, and the reason is part of the outcome."""
    if ports.index.filled():
        return ""
    try:
        discover(ports)
    except PushpilotError as exc:
        return f" (the index was never filled and discovering services failed: {exc})"
    return ""


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


def _by_platform(services: Sequence[IndexedService]) -> dict[Platform, list[IndexedService]]:
    groups: dict[Platform, list[IndexedService]] = {}
    for service in sorted(services, key=lambda item: item.name):
        groups.setdefault(service.platform or UNKNOWN_PLATFORM, []).append(service)
    return groups


def _stage_of(verdicts: Sequence[Verdict]) -> Stage:
    statuses = {verdict.status for verdict in verdicts}
    if VerdictStatus.PASS in statuses and len(statuses) > 1:
        # One service's platform passed, another's did not: the thread says so in its headline.
        return Stage.PARTLY_VERIFIED
    if VerdictStatus.PASS in statuses:
        return Stage.VERIFIED
    if VerdictStatus.REJECT in statuses:
        return Stage.REJECTED
    return Stage.UNVERIFIED


def release_image(
    arrival: Arrival,
    services: Sequence[IndexedService],
    ports: DeployPorts,
    *,
    approved: frozenset[str] = frozenset(),
) -> FlowResult:
    """Decide per service under its release policy, open the release, judge the digest once per platform,
    plan, and act once per service. `approved`: the services whose people approved this digest."""
    # Services outside the stack's reach (an index written before EcsClusters narrowed) are never deployed.
    services = [service for service in services if not ports.outside_reach(service.kind, service.arn)]
    turns = [
        _with_current_tags(ports, turn, arrival, approved=approved) if _decided_by_tags(turn) else turn
        for turn in (
            turn_for(service, arrival.image, arrival.digest, approved=service.arn in approved)
            for service in services
        )
    ]
    if all(turn.kind is TurnKind.IGNORE and not turn.problems for turn in turns):
        return ignored(arrival.event_id, f"no service runs or follows {arrival.image.key}")
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
    told = [_tell_turn(ports, release, turn, arrival.occurred_at) for turn in turns]
    deploying = {
        turn.service.arn: turn for turn in turns if turn.kind in {TurnKind.DEPLOY, TurnKind.AWAIT_APPROVAL}
    }
    services = [service for service in services if service.arn in deploying]
    if not services:
        return FlowResult(
            event_id=arrival.event_id,
            status="handled",
            detail={"release_id": rid, "services": [result for result in told if result]},
        )
    candidates: list[Candidate] = []
    # Every platform is judged before any verdict is told, so the headline names the stage of them all:
    # never `verified` for a moment while another service's platform is refused.
    judged = [
        (group, judge_digest(ports, release, arrival, platform, group))
        for platform, group in _by_platform(services).items()
    ]
    verdicts = [verdict for _, verdict in judged]
    stage = _stage_of(verdicts)
    manifests: dict[str, str | None] = {}
    for group, verdict in judged:
        deploy_anyway = verdict.status is VerdictStatus.UNKNOWN and ports.deploy_unverified
        passed = verdict.status is VerdictStatus.PASS or deploy_anyway
        ports.releases.record_verdict(rid, verdict, stage, now=now)
        labels = [ports.target_for(service).label for service in group]
        ports.notices.publish(
            verdict_notice(
                release,
                verdict,
                stage,
                arrival.occurred_at,
                group,
                target_labels=labels,
                deploy_anyway=deploy_anyway,
            )
        )
        for service in group:
            manifest = deployable_manifest(ports, service, verdict, release.digest) if passed else None
            manifests[service.arn] = manifest
            candidates.append(
                Candidate(
                    service=service,
                    verdict_passed=passed and manifest != "",
                    retargets=deploying[service.arn].image is not None,
                )
            )

    plan = plan_rollout(rid, candidates=candidates, dry_run=ports.dry_run, starts=ports.deploy_wordings())
    by_arn = {service.arn: service for service in services}
    results = [
        _act_once(
            ports,
            release,
            action,
            by_arn[action.service_arn],
            deploying[action.service_arn],
            pushed_at=arrival.occurred_at,
            arrival=arrival,
            manifest=manifests.get(action.service_arn) or None,
        )
        for action in plan.actions
    ]
    # The bus hears of the release once every once-per-key record of the push is complete, so a
    # concurrent delivery of the same push waits on the deployments alone, never on these.
    if stage in {Stage.VERIFIED, Stage.PARTLY_VERIFIED}:
        announce_verified(ports, release, {str(v.required): str(v.status) for v in verdicts}, str(stage))
    for action, result in zip(plan.actions, results, strict=True):
        _announce_act(ports, release, by_arn[action.service_arn], result, action.reason)
    results += [result for result in told if result]
    summary = verdicts[0].status if len(verdicts) == 1 else {str(v.required): str(v.status) for v in verdicts}
    return FlowResult(
        event_id=arrival.event_id,
        status="handled",
        detail={"release_id": rid, "verdict": summary, "services": results},
    )


def _decided_by_tags(turn: Turn) -> bool:
    """The services whose tags are read again at deploy time: those this push would deploy to, and
    those held by their `pushpilot:hold` tag (a hold `pushpilot hold` set lives in the index, not in tags).
    Services the push does not concern cost nothing."""
    if turn.kind in {TurnKind.DEPLOY, TurnKind.AWAIT_APPROVAL}:
        return True
    return turn.kind is TurnKind.HELD and turn.service.hold is None


def _with_current_tags(
    ports: DeployPorts, turn: Turn, arrival: Arrival, *, approved: frozenset[str] = frozenset()
) -> Turn:
    """Decide on the tags as they are now: a hold, follow or pin tag set since the last refresh counts.
    One call per such service (App Runner ListTagsForResource, ECS DescribeServices, Express
    DescribeExpressGatewayService); the tags read are kept in the index for the pushes after."""
    service = turn.service
    try:
        tags = ports.target_for(service).current_tags(service)
    except NotFoundError:
        # Deleted since the index last saw it: dropped from the index (as the next refresh would), and
        # the push goes on for the other services it concerns instead of failing for all of them.
        ports.index.remove(service.arn)
        return Turn(service=service, kind=TurnKind.IGNORE)
    if tags == service.tags:
        return turn
    ports.index.set_tags(service.arn, tags)
    return turn_for(
        service.model_copy(update={"tags": tags}),
        arrival.image,
        arrival.digest,
        approved=service.arn in approved,
    )


def judge_digest(
    ports: DeployPorts,
    release: Release,
    arrival: Arrival,
    required: Platform,
    group: Sequence[IndexedService],
) -> Verdict:
    """The verdict for one platform, judged once per (registry, repository, digest, platform)."""
    if required == UNKNOWN_PLATFORM:
        return Verdict(
            status=VerdictStatus.UNKNOWN,
            required=required,
            platforms=(),
            media_type=None,
            reason="The platform these services run on cannot be told, so the image cannot be checked",
            fix=None,
            digest=arrival.digest,
        )
    image = arrival.image

    def judge() -> dict[str, Any]:
        verdict = ports.inspector.inspect(
            image.repository,
            digest=arrival.digest,
            tag=image.tag,
            registry_id=arrival.registry_id,
            required=required,
        )
        return verdict.model_dump(mode="json")

    try:
        stored = ports.once(
            scope="verdict",
            key={
                "registry": image.registry,
                "repository": image.repository,
                "digest": arrival.digest,
                "platform": str(required),
            },
            work=judge,
        )
    except AccessDeniedError as exc:
        # Nothing is stored for the digest, so a replay after the policy is fixed judges it afresh.
        ports.releases.set_stage(release.release_id, Stage.UNVERIFIED, now=ports.now())
        ports.notices.publish(
            access_denied_notice(
                release,
                image,
                arrival.tag,
                group,
                exc,
                role_arn=ports.role_arn,
                occurred_at=arrival.occurred_at,
            )
        )
        raise
    except PermanentError as exc:
        ports.releases.set_stage(release.release_id, Stage.UNVERIFIED, now=ports.now())
        ports.notices.publish(unreadable_notice(release, arrival.tag, group, exc, arrival.occurred_at))
        raise
    return Verdict.model_validate(stored)


def _tell_turn(ports: DeployPorts, release: Release, turn: Turn, occurred_at: str) -> dict[str, Any] | None:
    """Say a policy's decision in the release's thread; a policy that cannot be read is said once."""
    service = turn.service
    if turn.problems and ports.index.note_policy_problem(service.arn, "; ".join(turn.problems)):
        ports.notices.publish(policy_problem_notice(release, service, turn.problems, occurred_at=occurred_at))
    if turn.kind in {TurnKind.IGNORE, TurnKind.DEPLOY, TurnKind.AWAIT_APPROVAL}:
        # A decision to deploy is told once, by the rollout it leads to (deploying, queued, dry run), with
        # the policy's reason as its summary: never "deploying" here and "queued" there.
        return None
    if turn.reason:
        ports.notices.publish(policy_decision_notice(release, service, turn.reason, occurred_at=occurred_at))
    if turn.kind is TurnKind.HELD:
        held_by = [f"hold: {service.hold.reason}"] if service.hold else ["tag pushpilot:hold"]
        announce_held(ports, release, service, held_by, turn.reason)
    record_rollout(ports, release.release_id, service, RolloutStatus.SKIPPED, turn.reason)
    return {"service": service.name, "action": str(turn.kind), "status": str(RolloutStatus.SKIPPED)}


def _act_once(
    ports: DeployPorts,
    release: Release,
    action: ServiceAction,
    service: IndexedService,
    turn: Turn,
    *,
    pushed_at: str,
    arrival: Arrival | None = None,
    manifest: str | None = None,
) -> dict[str, Any]:
    """One action per (service, digest), however often the push event is delivered; a digest that waited
    for approval acts once more, once, when it is approved."""
    key = {"service": action.service_arn, "digest": release.digest}
    if turn.kind is TurnKind.DEPLOY and service.tags.get(APPROVE_TAG) is not None:
        key["approval"] = "granted"
    return ports.once(
        scope="deploy",
        key=key,
        work=lambda: _act(
            ports, release, action, service, turn, pushed_at=pushed_at, arrival=arrival, manifest=manifest
        ),
    )


def _announce_act(
    ports: DeployPorts, release: Release, service: IndexedService, result: dict[str, Any], reason: str
) -> None:
    """The release event of one action, told after its once-per-key record is complete."""
    status = RolloutStatus(result["status"])
    if status is RolloutStatus.SKIPPED:
        return
    current = ports.index.get(service.arn)
    in_flight = current.in_flight if current is not None else None
    operation_id = in_flight.operation_id if in_flight and in_flight.digest == release.digest else None
    announce_rollout(ports, release, service, status, reason, operation_id=operation_id)


def _act(
    ports: DeployPorts,
    release: Release,
    action: ServiceAction,
    service: IndexedService,
    turn: Turn,
    *,
    pushed_at: str,
    arrival: Arrival | None = None,
    manifest: str | None = None,
) -> dict[str, Any]:
    if turn.kind is TurnKind.AWAIT_APPROVAL and action.kind in {
        ActionKind.START_DEPLOYMENT,
        ActionKind.QUEUE,
    }:
        # Verified and ready to deploy: people decide first. (A dry run, a refused verdict or a service
        # that deploys itself take their usual path below.)
        return request_approval(
            ports,
            release,
            service,
            turn,
            event_id=arrival.event_id if arrival is not None else release.release_id,
            registry_id=arrival.registry_id if arrival is not None else None,
            pushed_at=pushed_at,
        )
    pending = Pending(
        digest=release.digest,
        release_id=release.release_id,
        pushed_at=pushed_at,
        image=turn.image,
        tag=turn.tag,
        manifest=manifest,
    )
    match action.kind:
        case ActionKind.START_DEPLOYMENT:
            status = start_deployment(ports, service, pending)
            if status is RolloutStatus.SKIPPED:
                # Told by deploy_claimed, with why.
                return {"service": service.name, "action": str(action.kind), "status": str(status)}
        case ActionKind.QUEUE:
            status = queue_push(ports, service, pending)
        case ActionKind.TRACK_AUTO_DEPLOY:
            ports.index.await_auto(service.arn, pending)
            status = RolloutStatus.AWAITING_AUTO_DEPLOY
        case ActionKind.DRY_RUN:
            status = RolloutStatus.DRY_RUN
        case ActionKind.WARN_AUTO_DEPLOY | ActionKind.HOLD:
            status = RolloutStatus.SKIPPED
    message = f"{turn.reason}; {action.reason}" if turn.reason else action.reason
    if status is not RolloutStatus.SKIPPED:
        record_and_tell(ports, release.release_id, service, status, message, announce=False)
    else:
        record_rollout(ports, release.release_id, service, status, message)
    return {"service": service.name, "action": str(action.kind), "status": str(status)}
