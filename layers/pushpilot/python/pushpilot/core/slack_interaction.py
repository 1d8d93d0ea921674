"""A click on one of pushpilot's buttons, as Slack posts it to the request URL: read only after the
request's signature was verified, and refused (typed, with a reason that names no value) when it is not a
click pushpilot asked for. Pure.

Slack posts `application/x-www-form-urlencoded` with one field, `payload`, holding the interaction's JSON
(`type: block_actions`, `user`, `actions[]`, `response_url`, ...).
"""

from __future__ import annotations

import json
from typing import Final, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, ValidationError

from pushpilot.core.errors import PermanentError

# A click on our messages carries the message itself (≤ ~13 kB of blocks, escaped twice): 64 KiB leaves
# room and refuses anything larger before it is parsed or its signature computed.
MAX_BODY_BYTES: Final = 64 * 1024
ACTIONS: Final = frozenset({"approve", "reject", "continue", "rollback"})


class MalformedRequestError(PermanentError):
    """The request is not a click pushpilot can read: said with a reason, never with its content."""


class ApprovalTarget(BaseModel):
    """What an Approve / Reject button points at (core.approval_notices.button_value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    digest: str


class Click(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Literal["approve", "reject", "continue", "rollback"]
    user_id: str
    user_name: str = ""
    team_id: str = ""
    value: str
    response_url: str | None = None

    def approval_target(self) -> ApprovalTarget:
        try:
            return ApprovalTarget.model_validate_json(self.value)
        except ValidationError as exc:
            raise MalformedRequestError("the button's value is not one pushpilot wrote") from exc


def parse_click(body: str) -> Click:
    """The first of our actions in a `block_actions` payload."""
    try:
        fields = parse_qs(body, keep_blank_values=True, strict_parsing=True, max_num_fields=20)
    except ValueError as exc:
        raise MalformedRequestError("the body is not form-encoded") from exc
    raw = fields.get("payload")
    if not raw or len(raw) != 1:
        raise MalformedRequestError("the body has no single `payload` field")
    try:
        payload = json.loads(raw[0])
    except json.JSONDecodeError as exc:
        raise MalformedRequestError("`payload` is not JSON") from exc
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise MalformedRequestError("`payload` is not a block_actions interaction")
    user = payload.get("user")
    actions = payload.get("actions")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise MalformedRequestError("`payload.user.id` is missing")
    if not isinstance(actions, list):
        raise MalformedRequestError("`payload.actions` is missing")
    ours = [
        action
        for action in actions
        if isinstance(action, dict)
        and action.get("action_id") in ACTIONS
        and isinstance(action.get("value"), str)
    ]
    if not ours:
        raise MalformedRequestError("no pushpilot action in `payload.actions`")
    team = payload.get("team")
    response_url = payload.get("response_url")
    return Click(
        action=ours[0]["action_id"],
        user_id=user["id"],
        user_name=str(user.get("username") or user.get("name") or ""),
        team_id=str(team.get("id") or "") if isinstance(team, dict) else "",
        value=ours[0]["value"],
        response_url=response_url if isinstance(response_url, str) else None,
    )


class Decision(BaseModel):
    """What the request URL hands on to the decisions function once it answered Slack: deploy an approved
    release (`service_arn`, `digest`), resume a paused ECS deployment (`hook`: the approval keyed by
    `digest` = hook:<id>), and/or tell the person who clicked (`reply` at `response_url`)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["deploy", "reply", "hook"]
    service_arn: str | None = None
    digest: str | None = None
    response_url: str | None = None
    reply: str | None = None
