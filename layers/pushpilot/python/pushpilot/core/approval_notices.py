"""What people hear about approvals, in the release's thread: the request (with Approve / Reject buttons,
who may approve, the deadline and the command that approves without Slack), each vote, and the end
(approved, rejected, expired, superseded). Pure wording over values."""

from __future__ import annotations

import json

from pushpilot.core.approvals import Approval, ApprovalState, Vote
from pushpilot.core.notices import Notice, NoticeAction, NoticeKind, Severity
from pushpilot.core.releases import Release, overall_stage


def button_value(approval: Approval) -> str:
    """What a button carries back: which approval it is for. Only a pointer: the endpoint reads the
    approval itself from the table, after it verified the request's signature."""
    return json.dumps({"service": approval.service_arn, "digest": approval.digest}, separators=(",", ":"))


def _who_may(approval: Approval) -> str:
    # Ids as written in the tags: messages are escaped whole, so Slack's mention markup would show as text.
    listed = ", ".join(f"group {item}" if item.startswith("S") else item for item in approval.approvers)
    count = "two distinct approvers" if approval.required == 2 else "one approver"
    return f"Needs {count}{' of ' + listed if listed else ''}; decide before {approval.deadline}."


def _cli(approval: Approval, verb: str) -> str:
    return f"pushpilot {verb} {approval.service_name} {approval.release_id}"


def approval_request_notice(
    release: Release, approval: Approval, *, problems: tuple[str, ...] = ()
) -> Notice:
    value = button_value(approval)
    warning = f" Its approval policy has problems: {'; '.join(problems)}." if problems else ""
    baked = f"It proved itself on {approval.promoted_from}. " if approval.promoted_from else ""
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=Severity.INFO,
        title=f"{approval.tag} waits for approval on {approval.service_name}",
        summary=(
            f"{baked}Nothing deploys to {approval.service_name} until it is approved."
            f" {_who_may(approval)}{warning}"
        ),
        next_step=(
            f"Approve or reject with the buttons, or from a terminal with the stack's credentials:\n"
            f"{_cli(approval, 'approve')}\n{_cli(approval, 'reject')}"
        ),
        actions=(
            NoticeAction(action_id="approve", label="Approve", value=value, style="primary"),
            NoticeAction(action_id="reject", label="Reject", value=value, style="danger"),
        ),
        release=release.headline(overall_stage(release)),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#approval#{approval.service_arn}#requested",
        occurred_at=approval.requested_at,
    )


def vote_notice(release: Release, approval: Approval, vote: Vote) -> Notice:
    """One approval of several counted: who, and how many are still needed."""
    have = len(approval.approvals)
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=Severity.INFO,
        title=f"{approval.tag} on {approval.service_name}: approval {have} of {approval.required}",
        summary=f"{vote.who} approved at {vote.at}. {_who_may(approval)}",
        release=release.headline(overall_stage(release)),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#approval#{approval.service_arn}#vote#{vote.voter}",
        occurred_at=vote.at,
    )


def decision_notice(release: Release, approval: Approval, *, now: str) -> Notice:
    """The end of an approval: approved (the deploy follows), rejected, expired or superseded."""
    if approval.hook is not None:
        return hook_decision_notice(approval, now=now, release=release)
    votes = "; ".join(f"{vote.who} {vote.choice}d at {vote.at}" for vote in approval.votes.values())
    record = f" Votes: {votes}." if votes else ""
    match approval.state:
        case ApprovalState.APPROVED | ApprovalState.DEPLOYED:
            severity, title = Severity.SUCCESS, f"{approval.tag} approved for {approval.service_name}"
            summary = f"Deploying it through the normal path.{record}"
        case ApprovalState.REJECTED:
            severity, title = Severity.WARNING, f"{approval.tag} rejected for {approval.service_name}"
            summary = f"Nothing was deployed to {approval.service_name}.{record}"
        case ApprovalState.EXPIRED:
            severity, title = (
                Severity.WARNING,
                f"approval of {approval.tag} on {approval.service_name} expired",
            )
            summary = (
                f"Nobody approved it before {approval.deadline}: nothing was deployed. Push the tag again to"
                f" ask anew.{record}"
            )
        case ApprovalState.SUPERSEDED:
            severity = Severity.INFO
            title = f"{approval.tag} superseded on {approval.service_name}: not deployed"
            summary = f"A newer release waits for approval instead: {approval.closed_by}.{record}"
        case ApprovalState.WAITING:
            severity, title = Severity.INFO, f"{approval.tag} waits for approval on {approval.service_name}"
            summary = _who_may(approval)
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=severity,
        title=title,
        summary=summary,
        release=release.headline(overall_stage(release)),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#approval#{approval.service_arn}#{approval.state}",
        occurred_at=now,
    )


def supersedes_notice(release: Release, approval: Approval, older: Approval) -> Notice:
    """Said in the newer release's thread: the waiting release it replaced."""
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=Severity.INFO,
        title=f"{approval.tag} supersedes {older.tag} waiting on {approval.service_name}",
        summary=f"{older.release_id} no longer waits for approval: only this release can be approved now.",
        release=release.headline(overall_stage(release)),
        thread_key=release.release_id,
        dedupe_key=f"{release.release_id}#approval#{approval.service_arn}#supersedes#{older.digest}",
        occurred_at=approval.requested_at,
    )


def _hook_thread(approval: Approval, release: Release | None) -> str:
    return (
        release.release_id
        if release is not None
        else approval.hook.service_deployment_arn
        if approval.hook
        else ""
    )


def hook_pause_notice(approval: Approval, release: Release | None, *, progress: str | None = None) -> Notice:
    """ECS paused a deployment at a PAUSE hook: Continue / Roll back, who may, and when ECS acts alone."""
    hook = approval.hook
    assert hook is not None  # noqa: S101 - only built for hooks
    value = button_value(approval)
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=Severity.WARNING,
        title=f"{approval.service_name} paused at {hook.stage}: continue or roll back?",
        summary=(
            f"The {hook.platform} deployment of {approval.service_name} waits at its {hook.stage} hook."
            f" {_who_may(approval).partition(';')[0]}; if nobody does, {hook.platform} will"
            f" {hook.timeout_action.lower()} at {approval.deadline}."
            + (f"\nWhere it stands: {progress}." if progress else "")
        ),
        next_step=(
            "Continue or roll back with the buttons, or from a terminal with the stack's credentials:\n"
            f"pushpilot continue {approval.service_name}\npushpilot abort {approval.service_name}"
        ),
        actions=(
            NoticeAction(action_id="continue", label="Continue", value=value, style="primary"),
            NoticeAction(action_id="rollback", label="Roll back", value=value, style="danger"),
        ),
        release=release.headline(overall_stage(release)) if release is not None else None,
        thread_key=_hook_thread(approval, release),
        dedupe_key=f"{hook.service_deployment_arn}#hook#{hook.hook_id}#paused",
        occurred_at=approval.requested_at,
    )


def hook_progress_notice(approval: Approval, release: Release | None, *, progress: str, now: str) -> Notice:
    """Where a deployment continued past its pause stands now (the scheduled refresh's look): told once
    per distinct answer, so a refresh that finds nothing new says nothing."""
    hook = approval.hook
    assert hook is not None  # noqa: S101 - only built for hooks
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=Severity.INFO,
        title=f"{approval.service_name} after its {hook.stage} pause",
        summary=f"Where it stands: {progress}.",
        release=release.headline(overall_stage(release)) if release is not None else None,
        thread_key=_hook_thread(approval, release),
        dedupe_key=f"{hook.service_deployment_arn}#hook#{hook.hook_id}#progress#{progress}",
        occurred_at=now,
    )


def hook_decision_notice(approval: Approval, *, now: str, release: Release | None = None) -> Notice:
    """A paused hook's end: continued or rolled back (by whom), or timed out (and what ECS did)."""
    hook = approval.hook
    assert hook is not None  # noqa: S101 - only built for hooks
    votes = "; ".join(f"{vote.who} at {vote.at}" for vote in approval.votes.values())
    match approval.state:
        case ApprovalState.APPROVED | ApprovalState.DEPLOYED:
            severity, title = Severity.INFO, f"{approval.service_name} continued past {hook.stage}"
            summary = f"Continued by {votes}: {hook.platform} resumes the deployment."
        case ApprovalState.REJECTED:
            severity, title = Severity.WARNING, f"{approval.service_name} rolled back at {hook.stage}"
            summary = f"Rolled back by {votes}: {hook.platform} returns to the previous revision."
        case _:
            severity = Severity.WARNING
            title = (
                f"{approval.service_name} pause at {hook.stage} timed out: {hook.platform} chose"
                f" {hook.timeout_action}"
            )
            does = "continues" if hook.timeout_action == "CONTINUE" else "rolls back"
            summary = (
                f"Nobody continued or rolled back before {approval.deadline}; the hook's timeoutAction is"
                f" {hook.timeout_action}, so {hook.platform} {does}."
            )
    return Notice(
        kind=NoticeKind.APPROVAL,
        severity=severity,
        title=title,
        summary=summary,
        release=release.headline(overall_stage(release)) if release is not None else None,
        thread_key=_hook_thread(approval, release),
        dedupe_key=f"{hook.service_deployment_arn}#hook#{hook.hook_id}#{approval.state}",
        occurred_at=now,
    )
