"""What people do by hand: roll a service back to a release that was live on it, release a held service,
and see what runs where.

A rollback takes the normal path: the digest is judged for the service's platform (the verdict is
stored once per digest and platform), deployed once per (service, digest, release it replaces) however
often the command is repeated, and told in the release's thread, naming the release it replaces. It
holds the service, so the next push or scheduled check does not undo it, until `pushpilot release`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from pushpilot.core.errors import NotFoundError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Notice, NoticeKind, Severity, release_id
from pushpilot.core.promotion import bake_line, read_promotion
from pushpilot.core.release_policy import HOLD_TAG, read_policy
from pushpilot.core.releases import Release, RolloutStatus
from pushpilot.core.rollout_plan import ActionKind, Candidate, plan_rollout
from pushpilot.core.tracking import Hold, IndexedService, LiveImage, Pending
from pushpilot.core.verdicts import VerdictStatus
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.push import RELEASE_RETENTION, UNKNOWN_PLATFORM, Arrival, judge_digest
from pushpilot.flows.rollout import deployable_manifest, queue_push, record_and_tell, start_deployment


def find_service(ports: DeployPorts, name: str) -> IndexedService:
    """A service by its name (or ARN), whichever target serves it."""
    matches = [service for service in ports.index.all() if name in {service.name, service.arn}]
    if not matches:
        raise NotFoundError(f"pushpilot knows no service {name!r} (it appears after the next refresh)")
    if len(matches) > 1:
        arns = ", ".join(sorted(service.arn for service in matches))
        raise NotFoundError(f"several services are named {name!r}: give the ARN ({arns})")
    return matches[0]


class RollbackPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: IndexedService
    # What runs now (None when pushpilot never saw a deployment of it end).
    replaces: LiveImage | None
    target: LiveImage
    # `registry/repository@sha256:…`: a rollback is always pinned.
    image: str
    repository: str
    registry: str
    # The service's target takes no image index: an index deploys as its child for the service's platform.
    single_manifest: bool = False

    def render(self) -> str:
        now = _label(self.replaces) if self.replaces else "what it runs now (unknown to pushpilot)"
        return (
            f"roll {self.service.name} back from {now} to {_label(self.target)}\n"
            f"  deploys {self.image}"
            + (" (if an index, its child for the service's platform)" if self.single_manifest else "")
            + "\n"
            f"  then holds {self.service.name}: pushes do not deploy until `pushpilot release"
            f" {self.service.name}`"
        )


def _label(live: LiveImage) -> str:
    short = live.digest.partition(":")[2][:12]
    return f"{live.tag} ({short})" if live.tag else live.digest[:19]


def plan_rollback(ports: DeployPorts, name: str, *, to: str | None = None) -> RollbackPlan:
    """The release to go back to: the one named by `--to` (release id, digest or tag), else the last one
    that was live on the service before what runs now."""
    service = find_service(ports, name)
    history = ports.index.history(service.arn)
    current = service.live or (history[0] if history else None)
    source = ImageRef.parse(service.image_identifier)
    target: LiveImage | None
    if to:
        target = next((live for live in history if to in {live.release_id, live.digest, live.tag}), None)
        if target is None and (to.startswith("sha256:") or "@sha256:" in to):
            target = _stored_image(ports, service, source, to.rpartition("@")[2])
        if target is None:
            raise NotFoundError(
                f"{to!r} was not live on {service.name}: give a release id, a digest or a tag from"
                f" `pushpilot releases {service.name}`, or the digest of an image in {source.repository}"
            )
    else:
        running = current.digest if current else None
        target = next((live for live in history if live.digest != running), None)
        if target is None:
            raise NotFoundError(f"no earlier release was live on {service.name}: nothing to roll back to")
    if current is not None and target.digest == current.digest:
        raise NotFoundError(f"{service.name} already runs {_label(target)}")
    return RollbackPlan(
        service=service,
        replaces=current,
        target=target,
        image=f"{source.registry}/{source.repository}@{target.digest}",
        single_manifest=not ports.target_for(service).accepts_index,
        repository=source.repository,
        registry=source.registry,
    )


def _stored_image(ports: DeployPorts, service: IndexedService, source: ImageRef, digest: str) -> LiveImage:
    """A digest that never ran on the service: it must name an image of the service's repository."""
    try:
        ports.inspector.inspect(
            source.repository,
            digest=digest,
            registry_id=source.registry_account,
            required=service.platform or UNKNOWN_PLATFORM,
        )
    except NotFoundError as exc:
        raise NotFoundError(
            f"{digest} is no image in {source.repository} and was never live on {service.name}: nothing to"
            f" roll back to ({exc})"
        ) from exc
    return LiveImage(release_id=release_id(source.repository, digest), digest=digest, since="")


def rollback(ports: DeployPorts, plan: RollbackPlan) -> dict[str, Any]:
    """Carry out a rollback plan once: repeating the command changes nothing."""
    key = {
        "service": plan.service.arn,
        "digest": plan.target.digest,
        "replaces": plan.replaces.release_id if plan.replaces else "-",
    }
    return ports.once(scope="rollback", key=key, work=lambda: _rollback(ports, plan))


def _rollback(ports: DeployPorts, plan: RollbackPlan) -> dict[str, Any]:
    """Judge first, then deploy, then hold and tell: a refused rollback leaves no hold, no announcement
    and no release record behind; one whose deployment fails to start leaves no hold and no
    announcement (its release is open, as for a push, so the retry finds it)."""
    service = plan.service
    now = ports.now()
    candidate = Release(
        release_id=release_id(plan.repository, plan.target.digest),
        repository=plan.repository,
        registry=plan.registry,
        digest=plan.target.digest,
        created_at=now,
        updated_at=now,
    )
    image = ImageRef(registry=plan.registry, repository=plan.repository, tag=plan.target.tag)
    arrival = Arrival(
        event_id=f"rollback-{service.name}",
        image=image,
        digest=plan.target.digest,
        registry_id=image.registry_account,
        occurred_at=now,
    )
    platform = service.platform or UNKNOWN_PLATFORM
    verdict = judge_digest(ports, candidate, arrival, platform, [service])
    passed = verdict.status is VerdictStatus.PASS or (
        verdict.status is VerdictStatus.UNKNOWN and ports.deploy_unverified
    )
    action = plan_rollout(
        candidate.release_id,
        candidates=[Candidate(service=service, verdict_passed=passed, retargets=True)],
        dry_run=False,
        starts=ports.deploy_wordings(),
    ).actions[0]
    # A target that takes no image index deploys the single manifest of its platform; none is a refusal.
    manifest = deployable_manifest(ports, service, verdict, plan.target.digest) if passed else None
    if action.kind not in {ActionKind.START_DEPLOYMENT, ActionKind.QUEUE} or manifest == "":
        return {"service": service.name, "rollback": "refused", "reason": verdict.reason}
    release = ports.releases.open(
        candidate,
        tag=plan.target.tag,
        expires_at=int((ports.clock() + RELEASE_RETENTION).timestamp()),
    )
    ports.releases.record_verdict(release.release_id, verdict, release.stage, now=now)
    replaced = f"release {plan.replaces.release_id} ({_label(plan.replaces)})" if plan.replaces else None
    why = f"rollback by pushpilot: replaces {replaced}" if replaced else "rollback by pushpilot"
    pending = Pending(
        digest=plan.target.digest,
        release_id=release.release_id,
        pushed_at=now,
        image=plan.image,
        tag=plan.target.tag,
        manifest=manifest or None,
    )
    if action.kind is ActionKind.START_DEPLOYMENT:
        status = start_deployment(ports, service, pending)
        if status is RolloutStatus.SKIPPED:
            return {"service": service.name, "rollback": "refused", "reason": "changed meanwhile"}
    else:
        status = queue_push(ports, service, pending)
    # Held only now that the rollback's deployment started (or waits its turn): the next push or
    # scheduled check must not undo it. A retry after a failure above finds no hold to undo.
    # A push that queued behind the rollback before this hold is dropped when the rollback ends (see
    # `follow_up_pending`): only the rollback's own release may deploy on a held service.
    ports.index.set_hold(
        service.arn,
        Hold(reason=f"rolled back to {_label(plan.target)}", since=now, release_id=release.release_id),
    )
    if plan.replaces is not None:
        ports.notices.publish(_replaced_notice(plan, release, now))
    current = ports.index.get(service.arn)
    operation_id = current.in_flight.operation_id if current and current.in_flight else None
    record_and_tell(ports, release.release_id, service, status, why, operation_id=operation_id)
    return {"service": service.name, "rollback": str(status), "release_id": release.release_id}


def _replaced_notice(plan: RollbackPlan, target: Release, now: str) -> Notice:
    """Said in the thread of the release being replaced, naming the one that comes back."""
    assert plan.replaces is not None  # noqa: S101 - the caller checked
    return Notice(
        kind=NoticeKind.POLICY,
        severity=Severity.WARNING,
        title=f"{plan.service.name} is being rolled back to {_label(plan.target)}",
        summary=(
            f"pushpilot rollback replaces this release on {plan.service.name} with {target.release_id};"
            f" {plan.service.name} is held until `pushpilot release {plan.service.name}`."
        ),
        thread_key=plan.replaces.release_id,
        dedupe_key=f"{plan.replaces.release_id}#rollback#{plan.service.arn}#{plan.target.digest}",
        occurred_at=now,
    )


def release_hold(ports: DeployPorts, name: str) -> str:
    """Let pushes deploy to a held service again; what is still holding it, if anything."""
    service = find_service(ports, name)
    ports.index.set_hold(service.arn, None)
    if read_policy(service.tags).hold is not None:
        return (
            f"{service.name}: the hold record is gone, but its {HOLD_TAG} tag still holds it;"
            " remove the tag to let pushes deploy"
        )
    was = f" (was: {service.hold.reason})" if service.hold else ""
    return f"{service.name} released{was}: the next push its policy selects deploys"


class ReleaseLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    release_id: str
    digest: str
    tag: str | None
    since: str
    # How the deployment of it on this service ended, as its release records it.
    outcome: str | None


class ServiceReleases(BaseModel):
    """What runs on one service, how it got there, and what waits."""

    model_config = ConfigDict(frozen=True)

    service: str
    kind: str
    image: str
    policy: str
    running: ReleaseLine | None
    history: tuple[ReleaseLine, ...]
    in_flight: str | None
    queued: str | None
    held: str | None
    # Release stages: where its releases come from, and what bakes for it now with the time left.
    stage: str | None = None
    baking: str | None = None


def list_releases(ports: DeployPorts, name: str | None = None) -> list[ServiceReleases]:
    services = [find_service(ports, name)] if name else sorted(ports.index.all(), key=lambda s: s.name)
    return [_service_releases(ports, service) for service in services]


def _service_releases(ports: DeployPorts, service: IndexedService) -> ServiceReleases:
    history = ports.index.history(service.arn)
    lines = tuple(_line(ports, service, live) for live in history)
    policy = read_policy(service.tags)
    hold = service.hold.reason if service.hold else policy.hold
    return ServiceReleases(
        service=service.name,
        kind=service.kind,
        image=service.image_identifier,
        policy=policy.text + (f" (cannot be read: {'; '.join(policy.problems)})" if policy.problems else ""),
        running=lines[0] if lines else None,
        history=lines[1:],
        in_flight=_waiting(service.in_flight.digest, service.in_flight.tag) if service.in_flight else None,
        queued=_waiting(service.pending.digest, service.pending.tag) if service.pending else None,
        held=hold,
        **_stage(ports, service),
    )


def _stage(ports: DeployPorts, service: IndexedService) -> dict[str, str | None]:
    promotion = read_promotion(service.tags)
    if promotion is None:
        return {}
    baking = ports.promotions.get(service.arn) if ports.promotions is not None else None
    line = (
        bake_line(baking, promotion, now=ports.clock(), local_account=ports.account_id)
        if baking is not None
        else None
    )
    return {"stage": promotion.text, "baking": line}


def _waiting(digest: str, tag: str | None) -> str:
    return f"{tag} ({digest[:19]})" if tag else digest[:19]


def _line(ports: DeployPorts, service: IndexedService, live: LiveImage) -> ReleaseLine:
    release = ports.releases.get(live.release_id)
    rollout = release.services.get(service.arn) if release else None
    return ReleaseLine(
        release_id=live.release_id,
        digest=live.digest,
        tag=live.tag,
        since=live.since,
        outcome=str(rollout.status) if rollout else None,
    )


def render_releases(report: list[ServiceReleases]) -> str:
    if not report:
        return "pushpilot knows no service yet"
    blocks: list[str] = []
    for entry in report:
        lines = [f"{entry.service} ({entry.kind})", f"  image    {entry.image}", f"  policy   {entry.policy}"]
        if entry.stage:
            lines.append(f"  stage    {entry.stage}")
        if entry.running:
            lines.append(f"  running  {_release_line(entry.running)}")
        else:
            lines.append("  running  no deployment of pushpilot's has ended live here yet")
        lines.extend(f"  before   {_release_line(line)}" for line in entry.history)
        if entry.in_flight:
            lines.append(f"  deploying {entry.in_flight}")
        if entry.queued:
            lines.append(f"  queued   {entry.queued}")
        if entry.baking:
            lines.append(f"  baking   {entry.baking}")
        if entry.held:
            lines.append(f"  held     {entry.held}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _release_line(line: ReleaseLine) -> str:
    short = line.digest.partition(":")[2][:12]
    tag = f"{line.tag} " if line.tag else ""
    outcome = f", {line.outcome}" if line.outcome else ""
    return f"{tag}sha256:{short} since {line.since}{outcome} — release {line.release_id}"
