"""Events crossing accounts: a registry account's forwarding rules and the service bus's resource policy.

A rule whose target is another account's bus puts the event there the way EventBridge does (the event
keeps its `account`), and the receiving bus admits it only when its `AWS::Events::EventBusPolicy`
statements allow the sending account to `events:PutEvents` with that event's fields; otherwise the
put is refused, as PutEvents refuses it in AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pushpilot_sandbox.sam_functions import BusPolicyStatement


class ForwardingRecord(BaseModel):
    """What became of one event on a registry account's bus."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    source_account: str
    status: Literal["forwarded", "refused", "not-forwarded"]
    target_account: str | None = None
    target_bus_arn: str | None = None
    rule: str | None = None
    repository: str | None = None
    reason: str | None = None


def bus_account(bus_arn: str) -> str:
    return bus_arn.split(":")[4]


def _principal_allows(principals: Sequence[str], account: str) -> bool:
    return any(
        principal in {"*", account, f"arn:aws:iam::{account}:root"}
        or principal.startswith(f"arn:aws:iam::{account}:role/")
        for principal in principals
    )


def _condition_value(
    key: str, event: Mapping[str, Any], account: str, organization_id: str | None
) -> str | None:
    match key.lower():
        case "events:source":
            return str(event.get("source", ""))
        case "events:detail-type":
            return str(event.get("detail-type", ""))
        case "aws:principalaccount":
            return account
        case "aws:principalorgid":
            return organization_id
        case _:
            return None


def _conditions_hold(
    statement: BusPolicyStatement, event: Mapping[str, Any], account: str, organization_id: str | None
) -> str | None:
    """None when every condition holds, else the condition key that fails."""
    for operator, keys in statement.conditions.items():
        for key, allowed in keys.items():
            value = _condition_value(key, event, account, organization_id)
            if value is None:
                return key
            if operator == "StringEquals":
                matched = value in allowed
            elif operator == "StringLike":
                matched = any(fnmatchcase(value, pattern) for pattern in allowed)
            else:
                # Operators the sandbox does not evaluate grant nothing.
                matched = False
            if not matched:
                return key
    return None


def _action_allows(actions: Sequence[str]) -> bool:
    return any(fnmatchcase("events:putevents", action.lower()) for action in actions)


def bus_policy_refusal(
    statements: Sequence[BusPolicyStatement],
    *,
    event: Mapping[str, Any],
    sender_account: str,
    bus_arn: str,
    organization_id: str | None = None,
) -> str | None:
    """Why the bus at `bus_arn` refuses `event` put by `sender_account`; None when it admits it."""
    if sender_account == bus_account(bus_arn):
        return None
    failed_conditions: list[str] = []
    allowed = False
    for statement in statements:
        if not _principal_allows(statement.principals, sender_account) or not _action_allows(
            statement.actions
        ):
            continue
        failed = _conditions_hold(statement, event, sender_account, organization_id)
        if failed is not None:
            failed_conditions.append(f"{statement.key} requires {failed}")
            continue
        if statement.effect == "Deny":
            return f"{statement.key} denies events:PutEvents from account {sender_account}"
        allowed = True
    if allowed:
        return None
    if failed_conditions:
        return (
            f"the bus policy of {bus_arn} does not admit source {event.get('source')!r} from account "
            f"{sender_account} ({'; '.join(failed_conditions)})"
        )
    return f"no statement of the bus policy of {bus_arn} allows account {sender_account} to put events"
