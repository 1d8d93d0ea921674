"""Does an ECR repository policy let a caller of another account do an action? (pure)

Hand-written because no library in the stack evaluates IAM policies; the sandbox needs only the part
ECR applies to cross-account reads: Allow/Deny statements, their actions (wildcards included) and
AWS principals (the account, its root, one of its roles, or `*`). A statement with a `Condition` or
with `NotAction`/`NotPrincipal` is not evaluated and grants nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Decision = Literal["allowed", "implicit-deny", "explicit-deny"]


class Caller(BaseModel):
    """Who makes a call: an account and, when known, the role its session runs as."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    role_name: str | None = None
    session_name: str | None = None

    @property
    def arn(self) -> str:
        if self.role_name is None:
            return f"arn:aws:iam::{self.account_id}:root"
        session = self.session_name or self.role_name
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{session}"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(patterns: Iterable[Any], action: str) -> bool:
    return any(
        isinstance(pattern, str) and fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns
    )


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _listed(principal.get("AWS", [])):
        if not isinstance(value, str):
            continue
        if value in {"*", caller.account_id, f"arn:aws:iam::{caller.account_id}:root"}:
            return True
        for prefix in (
            f"arn:aws:iam::{caller.account_id}:role/",
            f"arn:aws:sts::{caller.account_id}:assumed-role/",
        ):
            if value.startswith(prefix):
                named = value.removeprefix(prefix).split("/")
                # A role ARN may carry a path: the role's name is its last part.
                role = named[0] if prefix.endswith("assumed-role/") else named[-1]
                if caller.role_name is None or role == caller.role_name:
                    return True
    return False


def decide(policy_text: str | None, *, action: str, caller: Caller) -> Decision:
    """The policy's answer for `caller` doing `action` (for example `ecr:BatchGetImage`)."""
    if not policy_text:
        return "implicit-deny"
    try:
        document = json.loads(policy_text)
    except json.JSONDecodeError:
        return "implicit-deny"
    allowed = False
    for statement in _listed(document.get("Statement", []) if isinstance(document, dict) else []):
        if not isinstance(statement, dict) or {"Condition", "NotAction", "NotPrincipal"} & statement.keys():
            continue
        if not _action_matches(_listed(statement.get("Action", [])), action):
            continue
        if not _principal_matches(statement.get("Principal"), caller):
            continue
        if statement.get("Effect") == "Deny":
            return "explicit-deny"
        if statement.get("Effect") == "Allow":
            allowed = True
    return "allowed" if allowed else "implicit-deny"


def denial_message(decision: Decision, *, action: str, caller: Caller, resource_arn: str) -> str:
    """AWS's wording for an action a resource policy does not grant."""
    reason = (
        "with an explicit deny in a resource-based policy"
        if decision == "explicit-deny"
        else f"because no resource-based policy allows the {action} action"
    )
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource_arn} {reason}"
