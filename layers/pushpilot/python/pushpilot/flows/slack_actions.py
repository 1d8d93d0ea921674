"""A verified click on a release thread's button, and what follows it.

The request URL (`handle_click`) has Slack's three seconds: it records the vote (conditional writes, a
few milliseconds) and hands the slow part on — the deploy of an approved release and the ephemeral
answer to the person who clicked — as decisions for the decisions function (`run_decision`). A lost
hand-off is recovered by the next click on the same buttons: an approved release is dispatched again
until it is deployed, and its deploy runs once per service and digest whatever the count of dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pushpilot.core.approvals import ApprovalState
from pushpilot.core.errors import PermanentError
from pushpilot.core.slack_interaction import Click, Decision
from pushpilot.flows.approval_requests import ApprovalsUnavailableError
from pushpilot.flows.approve import cast_vote, deploy_approved
from pushpilot.flows.deploy_ports import DeployPorts
from pushpilot.flows.hooks import resume_hook
from pushpilot.ports import DecisionSink, HookControl, SlackReplies


@dataclass(frozen=True)
class ClickResult:
    """`outcome` names what the click did, for the log line and the metric; `reply` is what the person
    who clicked is told."""

    outcome: str
    reply: str
    deploys: bool = False


def handle_click(
    ports: DeployPorts,
    click: Click,
    decisions: DecisionSink,
    *,
    members: Callable[[frozenset[str], str], bool] | None = None,
) -> ClickResult:
    """`members(groups, user)`: whether the user is in one of the groups (Slack user groups)."""
    if ports.approvals is None:
        raise ApprovalsUnavailableError("this stack records no approvals")
    target = click.approval_target()
    approval = ports.approvals.get(target.service, target.digest)
    if approval is None:
        result = ClickResult(outcome="unknown_approval", reply="pushpilot knows no approval for this button")
        _reply(decisions, click, result.reply)
        return result
    if (approval.hook is not None) != (click.action in {"continue", "rollback"}):
        result = ClickResult(outcome="wrong_button", reply="this button does not belong to that decision")
        _reply(decisions, click, result.reply)
        return result
    # Continue is a pause's approve vote, Roll back its reject.
    choice: Literal["approve", "reject"] = "approve" if click.action in {"approve", "continue"} else "reject"
    vote = cast_vote(
        ports,
        approval,
        voter=click.user_id,
        choice=choice,
        via="slack",
        name=click.user_name,
        in_groups=(lambda groups: members(groups, click.user_id)) if members is not None else None,
    )
    if vote.dispatch is not None:
        # Before the reply: when this hand-off fails the request fails, and a click again re-dispatches.
        kind: Literal["deploy", "hook"] = "hook" if vote.dispatch.hook is not None else "deploy"
        decisions.send(
            Decision(kind=kind, service_arn=vote.dispatch.service_arn, digest=vote.dispatch.digest)
        )
    _reply(decisions, click, vote.text)
    outcome = (
        str(vote.refusal) if vote.refusal is not None else f"counted_{vote.state or ApprovalState.WAITING}"
    )
    return ClickResult(outcome=outcome, reply=vote.text, deploys=vote.dispatch is not None)


def _reply(decisions: DecisionSink, click: Click, text: str) -> None:
    if click.response_url:
        decisions.send(Decision(kind="reply", response_url=click.response_url, reply=text))


def run_decision(
    ports: DeployPorts, decision: Decision, replies: SlackReplies, hooks: HookControl | None = None
) -> dict[str, Any]:
    """Do what a click decided: deploy an approved release (once), resume a paused deployment (once), or
    answer the person who clicked."""
    if decision.kind == "reply":
        if not decision.response_url or decision.reply is None:
            raise PermanentError("a reply decision without its response_url or text")
        replies.reply(decision.response_url, decision.reply)
        return {"kind": "reply"}
    if ports.approvals is None:
        raise ApprovalsUnavailableError("this stack records no approvals")
    if not decision.service_arn or not decision.digest:
        raise PermanentError("a deploy decision without its service or digest")
    approval = ports.approvals.get(decision.service_arn, decision.digest)
    if approval is None:
        raise PermanentError(f"no approval of {decision.digest} on {decision.service_arn}")
    if decision.kind == "hook":
        if hooks is None:
            raise PermanentError("no control of paused deployments wired")
        return {"kind": "hook", **resume_hook(ports, approval, hooks)}
    return {"kind": "deploy", **deploy_approved(ports, approval)}
