"""Promotion: a release live upstream for its whole bake deploys, by its exact digest, to the services
that take their releases from there (core/promotion.py says how a service asks for it).

Three things move a bake: the upstream's Release Live (pushpilot's own event, from this stack or, through
the forwarder, from another account's) starts it; the scheduled refresh — the bake clock — holds it while a
named alarm is in ALARM, starts it afresh once they are OK, and promotes it when it is due; `pushpilot
promote` promotes by hand. A newer upstream release replaces one still baking (told), a release the
upstream no longer runs (rolled back, replaced) is dropped (told). The deployment itself takes the normal
path — the platform gate for this service, one claim, one deployment per (service, digest) — once,
however often the event or the refresh comes again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pushpilot.core.approvals import Approval, ApprovalState, read_approval_policy
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.core.promotion import (
    BakeState,
    Baking,
    PromotionPolicy,
    StepKind,
    minutes_text,
    next_step,
    read_promotion,
)
from pushpilot.core.release_events import (
    PromotedFrom,
    ReleaseEventType,
    account_of,
    event_service,
    release_event,
)
from pushpilot.core.release_policy import read_policy
from pushpilot.core.releases import Release, RolloutStatus
from pushpilot.core.rollout_plan import ActionKind, Candidate, plan_rollout
from pushpilot.core.tracking import IndexedService, Pending
from pushpilot.core.verdicts import VerdictStatus
from pushpilot.events.pushpilot import PushpilotReleaseEvent
from pushpilot.flows.approval_requests import approval_state, request_promotion_approval
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.push import RELEASE_RETENTION, UNKNOWN_PLATFORM, Arrival, judge_digest
from pushpilot.flows.release_control import find_service
from pushpilot.flows.release_events import announce, announce_held
from pushpilot.flows.rollout import queue_push, record_and_tell, record_rollout, start_deployment
from pushpilot.ports import PromotionLedger

_ACTIVE = frozenset({BakeState.BAKING, BakeState.HELD})


def _ledger(ports: DeployPorts) -> PromotionLedger | None:
    return ports.promotions


def _promoted_to(ports: DeployPorts) -> list[tuple[IndexedService, PromotionPolicy]]:
    """Every service within reach that takes its releases by promotion, with its policy."""
    found: list[tuple[IndexedService, PromotionPolicy]] = []
    for service in sorted(ports.index.all(), key=lambda item: item.name):
        policy = read_promotion(service.tags)
        if policy is not None and not ports.outside_reach(service.kind, service.arn):
            found.append((service, policy))
    return found


# --- the upstream's events ---------------------------------------------------------------------------


def on_release_event(event: PushpilotReleaseEvent, ports: DeployPorts) -> dict[str, Any]:
    """A release event of an upstream service: Live starts the bakes downstream; Rolled Back or Failed of
    the digest a bake holds ends it."""
    ledger = _ledger(ports)
    detail = event.detail
    if ledger is None or detail.service is None:
        return {"promotion": "not configured" if ledger is None else "the event names no service"}
    upstream_name, account = detail.service.name, event.account
    downstream = [
        (service, policy)
        for service, policy in _promoted_to(ports)
        if policy.upstream.is_(upstream_name, account, local_account=ports.account_id or account)
    ]
    if not downstream:
        return {"promotion": f"no service is promoted from {upstream_name} ({account})"}
    results: list[dict[str, Any]] = []
    for service, policy in downstream:
        if event.detail_type == "Release Live":
            baking = Baking(
                service_arn=service.arn,
                service_name=service.name,
                release_id=detail.release_id,
                repository=detail.repository,
                registry=detail.registry,
                digest=detail.digest,
                tag=detail.tag,
                upstream_service=upstream_name,
                # Empty: this stack's own account (said by name only).
                upstream_account=policy.upstream.account or "",
                upstream_arn=detail.service.arn,
                live_since=detail.occurred_at,
                # Never from before the event reached this stack: another account's clock, or an event
                # delivered late, must not shorten the bake here.
                bake_started=max(detail.occurred_at, ports.now(), key=datetime.fromisoformat),
            )
            results.append(_offer(ports, ledger, service, policy, baking))
        else:
            results.append(_drop_if_baking(ports, ledger, service, detail.digest, event.detail_type))
    return {"promotion": results}


def _offer(
    ports: DeployPorts,
    ledger: PromotionLedger,
    service: IndexedService,
    policy: PromotionPolicy,
    baking: Baking,
) -> dict[str, Any]:
    if _runs(service, baking.digest):
        return {"service": service.name, "bake": "already runs it"}
    taken, replaced = ledger.offer(baking)
    if not taken:
        return {"service": service.name, "bake": "known"}
    label = baking.upstream_label(ports.account_id)
    if replaced is not None and replaced.digest != baking.digest and replaced.state in _ACTIVE:
        ports.notices.publish(
            _notice(
                replaced.release_id,
                f"{replaced.release_id}#promotion-superseded#{service.arn}#{baking.digest}",
                title=f"not promoted to {service.name}: a newer release is live on {label}",
                summary=(
                    f"{baking.release_id} went live on {label} while this release was baking for"
                    f" {service.name}; the newer one bakes instead."
                ),
                severity=Severity.INFO,
                occurred_at=ports.now(),
                release=_release(ports, replaced),
                kind=NoticeKind.SUPERSEDED,
            )
        )
    due = baking.due_at(policy.bake)
    ports.notices.publish(
        _notice(
            baking.release_id,
            f"{baking.release_id}#promotion-baking#{service.arn}#{baking.live_since}",
            title=f"{service.name} takes it after {minutes_text(policy.bake)} live on {label}",
            summary=(
                f"Live on {label} since {baking.live_since}: promoted to {service.name} at"
                f" {due.isoformat(timespec='seconds')} if it still runs there"
                + (f" and {', '.join(policy.alarms)} stay out of ALARM." if policy.alarms else ".")
            ),
            severity=Severity.INFO,
            occurred_at=ports.now(),
            release=_release(ports, baking),
        )
    )
    # A bake of zero promotes at once; otherwise this only checks the alarms.
    return {"service": service.name, "bake": "started", **_advance(ports, ledger, service, policy, baking)}


def _drop_if_baking(
    ports: DeployPorts, ledger: PromotionLedger, service: IndexedService, digest: str, why: str
) -> dict[str, Any]:
    baking = ledger.get(service.arn)
    if baking is None or baking.digest != digest or baking.state not in _ACTIVE:
        return {"service": service.name, "bake": "none of that release"}
    _drop(
        ports,
        ledger,
        service,
        baking,
        f"{why.removeprefix('Release ').lower()} on {baking.upstream_label(ports.account_id)}",
    )
    return {"service": service.name, "bake": "dropped"}


def _drop(
    ports: DeployPorts, ledger: PromotionLedger, service: IndexedService, baking: Baking, why: str
) -> None:
    if not ledger.move(baking, BakeState.DROPPED):
        return
    ports.notices.publish(
        _notice(
            baking.release_id,
            f"{baking.release_id}#promotion-dropped#{service.arn}#{baking.live_since}",
            title=f"not promoted to {service.name}: {why}",
            summary=f"The release stopped baking for {service.name}; nothing was deployed there.",
            severity=Severity.WARNING,
            occurred_at=ports.now(),
            release=_release(ports, baking),
        )
    )


# --- the bake clock ----------------------------------------------------------------------------------


def advance_bakes(ports: DeployPorts) -> dict[str, Any]:
    """The scheduled refresh's part: start the bakes a lost Live event should have started (upstream in
    this account), then move every bake on: hold, start afresh, promote, or wait."""
    ledger = _ledger(ports)
    if ledger is None:
        return {}
    promoted_to = _promoted_to(ports)
    by_arn = {service.arn: (service, policy) for service, policy in promoted_to}
    for service, policy in promoted_to:
        baking = _bake_of_local_upstream(ports, service, policy)
        if baking is not None and not _runs(service, baking.digest):
            current = ledger.get(service.arn)
            if current is None or current.digest != baking.digest:
                _offer(ports, ledger, service, policy, baking)
    results: list[dict[str, Any]] = []
    for baking in ledger.all():
        if baking.state not in _ACTIVE:
            continue
        found = by_arn.get(baking.service_arn)
        if found is None:
            # The service is gone, or no longer takes promotions: the bake ends quietly.
            ledger.move(baking, BakeState.DROPPED)
            continue
        service, policy = found
        results.append({"service": service.name, **_advance(ports, ledger, service, policy, baking)})
    return {"bakes": results} if results else {}


def _bake_of_local_upstream(
    ports: DeployPorts, service: IndexedService, policy: PromotionPolicy
) -> Baking | None:
    """What the upstream in this account runs live, as a bake for `service`; None when nothing is known."""
    if policy.upstream.account not in {None, ports.account_id}:
        return None
    upstream = _upstream(ports, policy)
    if upstream is None or upstream.live is None:
        return None
    release = ports.releases.get(upstream.live.release_id)
    if release is None:
        return None
    return Baking(
        service_arn=service.arn,
        service_name=service.name,
        release_id=release.release_id,
        repository=release.repository,
        registry=release.registry,
        digest=upstream.live.digest,
        tag=upstream.live.tag,
        upstream_service=upstream.name,
        upstream_account="",
        upstream_arn=upstream.arn,
        live_since=upstream.live.since,
        bake_started=upstream.live.since,
    )


def _upstream(ports: DeployPorts, policy: PromotionPolicy) -> IndexedService | None:
    matches = [service for service in ports.index.all() if service.name == policy.upstream.service]
    return matches[0] if len(matches) == 1 else None


def _runs(service: IndexedService, digest: str) -> bool:
    return (service.live is not None and service.live.digest == digest) or (
        service.in_flight is not None and service.in_flight.digest == digest
    )


# An upstream rollout in one of these never vouches for its release (and how that is said): failed, or
# being (or failed to be) rolled back by its platform.
_NOT_VOUCHED = {
    RolloutStatus.FAILED: "it failed",
    RolloutStatus.ROLLING_BACK: "it is being rolled back",
    RolloutStatus.ROLLED_BACK: "it was rolled back",
    RolloutStatus.ROLLBACK_FAILED: "it failed and its rollback failed",
}


def _upstream_gone(ports: DeployPorts, policy: PromotionPolicy, baking: Baking) -> str | None:
    """Why the upstream no longer vouches for the release (this account only: another account's upstream
    speaks through its events)."""
    if policy.upstream.account not in {None, ports.account_id}:
        return None
    upstream = _upstream(ports, policy)
    label = baking.upstream_label(ports.account_id)
    if upstream is None:
        return f"{label} is no longer known"
    release = ports.releases.get(baking.release_id)
    rollout = release.services.get(upstream.arn) if release else None
    if rollout is not None and rollout.status in _NOT_VOUCHED:
        return f"{_NOT_VOUCHED[rollout.status]} on {label}"
    if upstream.live is None or upstream.live.digest != baking.digest:
        return f"{label} no longer runs it"
    return None


def _advance(
    ports: DeployPorts,
    ledger: PromotionLedger,
    service: IndexedService,
    policy: PromotionPolicy,
    baking: Baking,
) -> dict[str, Any]:
    if _runs(service, baking.digest) and baking.state in _ACTIVE:
        ledger.move(baking, BakeState.PROMOTED)
        return {"bake": "already runs it"}
    gone = _upstream_gone(ports, policy, baking)
    if gone is not None:
        _drop(ports, ledger, service, baking, gone)
        return {"bake": "dropped", "reason": gone}
    in_alarm = ports.alarms.in_alarm(policy.alarms) if policy.alarms and ports.alarms is not None else []
    step = next_step(baking, policy, now=ports.clock(), in_alarm=in_alarm)
    match step.kind:
        case StepKind.WAIT:
            if baking.state is BakeState.HELD:
                return {"bake": "held", "alarms": list(step.alarms)}
            return {"bake": "baking", "minutes_left": int(step.left.total_seconds() // 60) + 1}
        case StepKind.HOLD:
            if ledger.move(baking, BakeState.HELD, bake_started=baking.bake_started, held_by=step.alarms):
                _tell_held(ports, service, baking, step.alarms, policy)
            return {"bake": "held", "alarms": list(step.alarms)}
        case StepKind.RESUME:
            now = ports.now()
            if ledger.move(baking, BakeState.BAKING, bake_started=now):
                ports.notices.publish(
                    _notice(
                        baking.release_id,
                        f"{baking.release_id}#promotion-resumed#{service.arn}#{now}",
                        title=f"{', '.join(baking.held_by) or 'the alarms'} OK again: a fresh"
                        f" {minutes_text(policy.bake)} bake for {service.name}",
                        summary=(
                            f"Promoted to {service.name} at"
                            f" {(ports.clock() + policy.bake).isoformat(timespec='seconds')} if nothing"
                            " holds it meanwhile."
                        ),
                        severity=Severity.INFO,
                        occurred_at=now,
                        release=_release(ports, baking),
                    )
                )
            return {"bake": "restarted"}
        case StepKind.PROMOTE:
            label = baking.upstream_label(ports.account_id)
            why = f"promoted from {label} after {minutes_text(policy.bake)} live"
            minutes = int(policy.bake.total_seconds() // 60)
            result = promote(ports, service, baking, why=why, baked_minutes=minutes)
            ledger.move(baking, BakeState.PROMOTED)
            return {"bake": "promoted", **result}


def _tell_held(
    ports: DeployPorts,
    service: IndexedService,
    baking: Baking,
    alarms: tuple[str, ...],
    policy: PromotionPolicy,
) -> None:
    label = baking.upstream_label(ports.account_id)
    title = f"promotion to {service.name} held: {', '.join(alarms)} in ALARM"
    summary = (
        f"The release baking on {label} is not promoted to {service.name} while {', '.join(alarms)}"
        f" {'is' if len(alarms) == 1 else 'are'} in ALARM; once OK again it bakes"
        f" {minutes_text(policy.bake)} afresh."
    )
    ports.notices.publish(
        _notice(
            baking.release_id,
            f"{baking.release_id}#promotion-held#{service.arn}#{baking.bake_started}",
            title=title,
            summary=summary,
            severity=Severity.WARNING,
            occurred_at=ports.now(),
            release=_release(ports, baking),
        )
    )
    release = ports.releases.get(baking.release_id) or _release_of(baking, ports.now())
    announce_held(
        ports, release, service, [f"alarm {name}" for name in alarms], title, key_suffix=baking.bake_started
    )


# --- deploying ---------------------------------------------------------------------------------------


def promote(
    ports: DeployPorts, service: IndexedService, baking: Baking, *, why: str, baked_minutes: int | None
) -> dict[str, Any]:
    """Deploy the baked digest to `service` through the normal path, once per (service, digest). A held
    service is told and left alone, outside the once-record: released later, it can be promoted."""
    hold = service.hold.reason if service.hold else read_policy(service.tags).hold
    if hold is not None:
        now = ports.now()
        release = ports.releases.get(baking.release_id) or _release_of(baking, now)
        title = f"not promoted to {service.name}: it is held ({hold})"
        ports.notices.publish(
            _notice(
                release.release_id,
                f"{release.release_id}#promotion-on-hold#{service.arn}",
                title=title,
                summary=f"`pushpilot release {service.name}`, then `pushpilot promote {service.name}`.",
                severity=Severity.WARNING,
                occurred_at=now,
                release=release,
            )
        )
        announce_held(ports, release, service, [f"hold: {hold}"], title)
        return {"promotion": "held", "reason": hold}
    key = {"service": service.arn, "digest": baking.digest}
    decided = approval_state(ports, service, baking.digest)
    approved = decided in {ApprovalState.APPROVED, ApprovalState.DEPLOYED}
    if decided is not None and not approved and decided is not ApprovalState.WAITING:
        # Rejected, expired or superseded (each told when it happened). A waiting one goes on to the
        # once-record below: done, it answers as before; cut short after the approval was stored but
        # before the question was posted, it asks again (same notice, told once).
        return {"promotion": f"approval {decided}"}
    if approved:
        # Once more, once, now that people approved what the first pass asked them about.
        key["approval"] = "granted"
    return ports.once(
        scope="promote",
        key=key,
        work=lambda: _promote(ports, service, baking, why, baked_minutes, approved=approved),
    )


def promote_approved(ports: DeployPorts, service: IndexedService, approval: Approval) -> dict[str, Any]:
    """People approved a promotion that waited for them: deploy it, unless a newer upstream release took
    its place meanwhile (that one asks on its own)."""
    ledger = _ledger(ports)
    baking = ledger.get(service.arn) if ledger is not None else None
    if baking is None or baking.digest != approval.digest:
        return {"promotion": "superseded", "reason": "a newer upstream release replaced it"}
    why = f"promoted from {approval.promoted_from} once approved"
    return promote(ports, service, baking, why=why, baked_minutes=None)


def _release(ports: DeployPorts, baking: Baking) -> Release:
    """The release a bake holds, as this stack knows it (one from another account: as the event told it)."""
    return ports.releases.get(baking.release_id) or _release_of(baking, ports.now())


def _release_of(baking: Baking, now: str) -> Release:
    return Release(
        release_id=baking.release_id,
        repository=baking.repository,
        registry=baking.registry,
        digest=baking.digest,
        tags=(baking.tag,) if baking.tag else (),
        created_at=now,
        updated_at=now,
    )


def _promote(
    ports: DeployPorts,
    service: IndexedService,
    baking: Baking,
    why: str,
    baked_minutes: int | None,
    *,
    approved: bool = False,
) -> dict[str, Any]:
    now = ports.now()
    release = ports.releases.open(
        _release_of(baking, now),
        tag=baking.tag,
        expires_at=int((ports.clock() + RELEASE_RETENTION).timestamp()),
    )
    image = ImageRef(registry=baking.registry, repository=baking.repository, tag=baking.tag)
    arrival = Arrival(
        event_id=f"promote-{service.name}",
        image=image,
        digest=baking.digest,
        registry_id=image.registry_account,
        occurred_at=now,
    )
    verdict = judge_digest(ports, release, arrival, service.platform or UNKNOWN_PLATFORM, [service])
    ports.releases.record_verdict(release.release_id, verdict, release.stage, now=now)
    passed = verdict.status is VerdictStatus.PASS or (
        verdict.status is VerdictStatus.UNKNOWN and ports.deploy_unverified
    )
    action = plan_rollout(
        release.release_id,
        candidates=[Candidate(service=service, verdict_passed=passed, retargets=True)],
        dry_run=ports.dry_run,
    ).actions[0]
    pending = Pending(
        digest=baking.digest, release_id=release.release_id, pushed_at=now, image=baking.image, tag=baking.tag
    )
    if (
        action.kind in {ActionKind.START_DEPLOYMENT, ActionKind.QUEUE}
        and not approved
        and read_approval_policy(service.tags) is not None
    ):
        # Verified and ready: people decide first (flows/approval_requests.py), as for a push.
        return request_promotion_approval(ports, release, service, baking, why=why)
    status: RolloutStatus
    match action.kind:
        case ActionKind.START_DEPLOYMENT:
            status = start_deployment(ports, service, pending)
        case ActionKind.QUEUE:
            status = queue_push(ports, service, pending)
        case ActionKind.DRY_RUN:
            status = RolloutStatus.DRY_RUN
        case _:
            reason = f"{why}, but not deployed: {verdict.reason}"
            record_rollout(ports, release.release_id, service, RolloutStatus.SKIPPED, reason)
            ports.notices.publish(
                _notice(
                    release.release_id,
                    f"{release.release_id}#promotion-refused#{service.arn}",
                    title=f"not promoted to {service.name}: {verdict.status} for {verdict.required}",
                    summary=verdict.reason,
                    severity=Severity.FAILURE,
                    occurred_at=now,
                    release=release,
                )
            )
            return {"promotion": "refused", "reason": verdict.reason}
    current = ports.index.get(service.arn)
    operation_id = current.in_flight.operation_id if current and current.in_flight else None
    upstream = baking.upstream_label(ports.account_id)
    stored = record_and_tell(
        ports,
        release.release_id,
        service,
        status,
        why,
        operation_id=operation_id,
        details=(f"upstream release {baking.release_id} on {upstream}, live since {baking.live_since}",),
    )
    announce(
        ports,
        release_event(
            ReleaseEventType.PROMOTED,
            stored,
            occurred_at=now,
            service=event_service(name=service.name, arn=service.arn, kind=service.kind),
            stage=str(status),
            message=why,
            operation_id=operation_id,
            promoted_from=PromotedFrom(
                service=baking.upstream_service,
                account=baking.upstream_account or ports.account_id or account_of(service.arn),
                release_id=baking.release_id,
                live_since=baking.live_since,
                baked_minutes=baked_minutes,
            ),
        ),
    )
    return {"promotion": str(status), "release_id": release.release_id}


# --- by hand -----------------------------------------------------------------------------------------


def promote_by_hand(ports: DeployPorts, name: str, *, now_: bool = False) -> str:
    """`pushpilot promote SERVICE [--now]`: promote what baked (or, with `--now`, what the upstream runs
    live, without waiting out the bake); the answer in one or two lines."""
    service = find_service(ports, name)
    policy = read_promotion(service.tags)
    if policy is None:
        return f"{service.name} takes pushes directly: it has no pushpilot:promote-from tag"
    ledger = _ledger(ports)
    baking = ledger.get(service.arn) if ledger is not None else None
    if baking is None or baking.state not in _ACTIVE:
        baking = _bake_of_local_upstream(ports, service, policy)
        if baking is None:
            return f"nothing to promote: no release of pushpilot's is known live on {policy.upstream.label()}"
        if ledger is not None and not _runs(service, baking.digest):
            ledger.offer(baking)
            baking = ledger.get(service.arn) or baking
    if _runs(service, baking.digest):
        return f"{service.name} already runs {baking.release_id}"
    label = baking.upstream_label(ports.account_id)
    if not now_:
        left = baking.due_at(policy.bake) - ports.clock()
        if baking.state is BakeState.HELD:
            return f"{service.name}: held by {', '.join(baking.held_by)} in ALARM; --now promotes anyway"
        if left.total_seconds() > 0:
            return (
                f"{service.name}: {baking.release_id} bakes {minutes_text(left)} more on {label};"
                " --now promotes it without the bake"
            )
    lived = minutes_text(baking.live_for(ports.clock()))
    why = (
        f"promoted by hand from {label} without the bake (live {lived} of {minutes_text(policy.bake)})"
        if now_
        else f"promoted from {label} after {minutes_text(policy.bake)} live"
    )
    result = promote(
        ports,
        service,
        baking,
        why=why,
        baked_minutes=None if now_ else int(policy.bake.total_seconds() // 60),
    )
    if ledger is not None:
        ledger.move(baking, BakeState.PROMOTED)
    outcome = str(result.get("promotion"))
    if outcome in {str(RolloutStatus.AWAITING_APPROVAL), f"approval {ApprovalState.WAITING}"}:
        # The bake can be skipped by hand, the people cannot.
        return f"{service.name}: {baking.release_id} waits for approval: `pushpilot approve {service.name}`"
    if outcome.startswith("approval "):
        return f"{service.name}: not promoted: its {outcome}"
    return f"{service.name}: {why} — {outcome}"


def _notice(
    thread: str,
    dedupe: str,
    *,
    title: str,
    summary: str,
    severity: Severity,
    occurred_at: str,
    kind: NoticeKind = NoticeKind.POLICY,
    release: Release | None = None,
) -> Notice:
    return Notice(
        kind=kind,
        severity=severity,
        title=title,
        summary=summary,
        # The headline of the release's thread: a promotion may be the first this stack tells of it.
        release=release.headline() if release is not None else None,
        thread_key=thread,
        dedupe_key=dedupe,
        occurred_at=occurred_at,
    )
