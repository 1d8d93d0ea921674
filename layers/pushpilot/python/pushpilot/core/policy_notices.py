"""What people hear about release policies: a decision on one service, told in the release's thread, and
a policy that cannot be read. Pure wording over values."""

from __future__ import annotations

import hashlib

from pushpilot.core.notices import Notice, NoticeKind, Severity
from pushpilot.core.releases import Release
from pushpilot.core.tracking import IndexedService


def policy_decision_notice(
    release: Release, service: IndexedService, text: str, *, occurred_at: str
) -> Notice:
    """A push the policy does not deploy (skipped, held). A push it deploys is told by its rollout notice."""
    return Notice(
        kind=NoticeKind.POLICY,
        severity=Severity.INFO,
        title=text,
        summary=f"{service.name} keeps running {service.running_tag or service.image_identifier}.",
        release=release.headline(),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#policy#{service.arn}",
        occurred_at=occurred_at,
    )


def policy_problem_notice(
    release: Release, service: IndexedService, problems: tuple[str, ...], *, occurred_at: str
) -> Notice:
    wording = hashlib.sha256("\n".join(problems).encode()).hexdigest()[:16]
    return Notice(
        kind=NoticeKind.POLICY,
        severity=Severity.WARNING,
        title=f"release policy of {service.name} cannot be read",
        summary="; ".join(problems) + ". Until it is fixed the service deploys only the tag it runs.",
        next_step=(
            "Fix the tag on the service: pushpilot:follow = semver:<range> | glob:<pattern> |"
            " regex:<pattern>; pushpilot:pin = digest."
        ),
        release=release.headline(),
        thread_key=release.release_id,
        dedupe_key=f"policy-problem#{service.arn}#{wording}",
        occurred_at=occurred_at,
    )
