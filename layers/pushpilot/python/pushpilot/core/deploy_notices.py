"""What people hear about a release on its way out: the verdict, each service's rollout, and what went
wrong reading the image. Pure wording over values; the flows decide when each is said."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pushpilot.core.errors import PushpilotError
from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import Link, Notice, NoticeKind, Severity
from pushpilot.core.releases import Release, RolloutStatus, Stage, overall_stage
from pushpilot.core.tracking import IndexedService
from pushpilot.core.verdicts import Verdict, VerdictStatus


def _names(services: Sequence[IndexedService]) -> tuple[str, ...]:
    return tuple(sorted(service.name for service in services))


def _who_needs(labels: Sequence[str]) -> str:
    unique = sorted(set(labels))
    return f"{' and '.join(unique)} need{'s' if len(unique) == 1 else ''}"


def verdict_notice(
    release: Release,
    verdict: Verdict,
    stage: Stage,
    occurred_at: str,
    services: Sequence[IndexedService],
    *,
    target_labels: Sequence[str],
    deploy_anyway: bool = False,
) -> Notice:
    """The verdict for one platform, told to the services that need it."""
    found = ", ".join(str(platform) for platform in verdict.platforms) or "none found"
    headline = release.headline(stage).model_copy(update={"services": _names(services)})
    ref = f"{release.repository}:{headline.tag}" if headline.tag else release.repository
    dedupe_key = f"{release.release_id}#verdict#{verdict.required}"
    if verdict.status is VerdictStatus.PASS:
        return Notice(
            kind=NoticeKind.VERIFIED,
            severity=Severity.INFO,
            title=f"{ref} verified for {verdict.required}",
            summary=f"Platforms in the image: {found}. {verdict.reason}",
            release=headline,
            thread_key=release.release_id,
            dedupe_key=dedupe_key,
            occurred_at=occurred_at,
        )
    kind = NoticeKind.REJECTED if verdict.status is VerdictStatus.REJECT else NoticeKind.UNVERIFIED
    auto = [service.name for service in services if service.auto_deploy]
    if deploy_anyway:
        warning = " Deploying it anyway, as UnverifiedImages=deploy asks: watch the deployment's outcome."
    elif auto:
        warning = (
            f" {' and '.join(sorted(set(target_labels)))} automatic deployment is ON for"
            f" {', '.join(sorted(auto))}: it will deploy this image"
            " anyway and the deployment will fail. Turn automatic deployment off or push a fixed image now."
        )
    else:
        warning = " Nothing was deployed."
    verb = "rejected" if kind is NoticeKind.REJECTED else "could not be verified"
    return Notice(
        kind=kind,
        severity=Severity.WARNING if deploy_anyway else Severity.FAILURE,
        title=f"{ref} {verb}: {_who_needs(target_labels)} {verdict.required}",
        summary=f"Platforms in the image: {found}. {verdict.reason.rstrip('.')}.{warning}",
        next_step=verdict.fix,
        details=(f"Services that need {verdict.required}: {', '.join(_names(services))}",),
        release=headline,
        thread_key=release.release_id,
        dedupe_key=dedupe_key,
        occurred_at=occurred_at,
    )


def unreadable_notice(
    release: Release, tag: str, services: Sequence[IndexedService], error: PushpilotError, occurred_at: str
) -> Notice:
    """The image could not be read at all (not an access problem): nothing deploys, and people hear why."""
    headline = release.headline(Stage.UNVERIFIED).model_copy(update={"services": _names(services)})
    return Notice(
        kind=NoticeKind.UNVERIFIED,
        severity=Severity.FAILURE,
        title=f"{release.repository}:{tag} could not be read",
        summary=f"{error} Nothing was deployed.",
        next_step=(
            f"Check that {release.repository}@{release.digest[:19]} still exists in the registry; push"
            " again or replay this event once it can be read."
        ),
        release=headline,
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#unreadable",
        occurred_at=occurred_at,
    )


def access_denied_notice(
    release: Release,
    image: ImageRef,
    tag: str,
    services: Sequence[IndexedService],
    error: PushpilotError,
    *,
    role_arn: str | None,
    occurred_at: str,
) -> Notice:
    headline = release.headline(Stage.UNVERIFIED).model_copy(update={"services": _names(services)})
    account = image.registry_account
    repository = image.repository
    own_account = role_arn.split(":")[4] if role_arn and role_arn.count(":") >= 5 else None
    details: tuple[str, ...] = ()
    if account is not None and account == own_account:
        # In its own account the role's policy already grants the read: something denies it.
        next_step = (
            f"pushpilot's role may read {repository} by its own policy, so something denies it: look for"
            " an explicit Deny in the repository policy, a permissions boundary or a service control"
            " policy. Then push again or replay this event."
        )
    elif account is not None:
        principal = role_arn or "the ARN of pushpilot's ImagePushFunction role"
        next_step = (
            f"In registry account {account}, attach an ECR repository policy to repository {repository}"
            f" that allows ecr:BatchGetImage and ecr:GetDownloadUrlForLayer to {principal}."
            " Then push again or replay this event."
        )
        details = repository_policy(role_arn or "<pushpilot ImagePushFunction role ARN>")
    else:
        next_step = (
            f"Check that {image.registry}/{repository} exists and allows anonymous pulls."
            " The next check retries it."
        )
    return Notice(
        kind=NoticeKind.UNVERIFIED,
        severity=Severity.FAILURE,
        title=f"{repository}:{tag} could not be read: access denied",
        summary=f"{error} Nothing was deployed.",
        next_step=next_step,
        details=details,
        release=headline,
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#access-denied",
        occurred_at=occurred_at,
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


_ROLLOUT_WORDING = {
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
    RolloutStatus.ROLLING_BACK: (
        NoticeKind.ROLLING_BACK,
        Severity.FAILURE,
        "deployment to {service} failed and {target} is rolling back",
    ),
    RolloutStatus.ROLLED_BACK: (
        NoticeKind.ROLLED_BACK,
        Severity.FAILURE,
        "deployment to {service} failed and {target} rolled back",
    ),
    RolloutStatus.ROLLBACK_FAILED: (
        NoticeKind.ROLLBACK_FAILED,
        Severity.FAILURE,
        "deployment to {service} failed and its rollback failed",
    ),
    RolloutStatus.UNCONFIRMED: (
        NoticeKind.UNCONFIRMED,
        Severity.WARNING,
        "deployment to {service} could not be confirmed",
    ),
    RolloutStatus.SUPERSEDED: (
        NoticeKind.SUPERSEDED,
        Severity.INFO,
        "superseded on {service} by a newer push: not deployed",
    ),
    # Not deployed by decision, told with why (someone changed the service between our read and write).
    RolloutStatus.SKIPPED: (NoticeKind.POLICY, Severity.WARNING, "not deployed to {service}"),
    RolloutStatus.STUCK: (
        NoticeKind.STUCK,
        Severity.WARNING,
        "deployment to {service} is stuck: still in progress",
    ),
}


def rollout_notice(
    release: Release,
    service: IndexedService,
    status: RolloutStatus,
    message: str,
    *,
    now: str,
    target_label: str,
    console: Link,
    failure_advice: str,
    stuck_advice: str,
    operation_id: str | None = None,
    details: tuple[str, ...] = (),
) -> Notice:
    """`failure_advice` and `stuck_advice` are the target's words for a failed and a stuck deployment."""
    kind, severity, template = _ROLLOUT_WORDING[status]
    links = [console]
    if service.service_url and status is RolloutStatus.LIVE:
        links.append(Link(label="Open service", url=f"https://{service.service_url}"))
    next_step = None
    if status is RolloutStatus.ROLLBACK_FAILED:
        next_step = (
            f"Neither release is sure to be serving on {service.name}: look at its tasks in the"
            f" {target_label} console now, then deploy a release that works."
        )
    elif status in {RolloutStatus.FAILED, RolloutStatus.ROLLING_BACK, RolloutStatus.ROLLED_BACK}:
        next_step = failure_advice
    elif status is RolloutStatus.UNCONFIRMED:
        next_step = (
            f"Look at {service.name} in the {target_label} console: if the image is not live, deploy it"
            " again (push the tag again or replay the push event)."
        )
    elif status is RolloutStatus.STUCK:
        next_step = stuck_advice
    return Notice(
        kind=kind,
        severity=severity,
        title=f"{release.repository}@{release.digest[:19]} "
        + template.format(service=service.name, target=target_label),
        summary=message,
        next_step=next_step,
        details=details,
        links=tuple(links),
        release=release.headline(overall_stage(release)),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#{service.arn}#{status}#{operation_id or ''}",
        occurred_at=now,
    )
