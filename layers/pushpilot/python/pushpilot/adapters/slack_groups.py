"""Whether a Slack user belongs to one of the user groups `pushpilot:approvers` lists: Slack's
`usergroups.users.list` (scope `usergroups:read`) through slack_sdk's WebClient, with the bot token the
notify function uses. Asked only for a clicker not listed by id, with a short timeout: the request URL
has three seconds. Anything Slack does not answer counts as "not a member" (a click then asks again)."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


class SlackGroupMembers:
    def __init__(self, token: Callable[[], str], *, base_url: str, timeout_seconds: int = 2) -> None:
        self._token = token
        self._base_url = base_url
        self._timeout = timeout_seconds

    def __call__(self, groups: frozenset[str], user: str) -> bool:
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError, SlackClientError

        client = WebClient(token=self._token(), base_url=self._base_url, timeout=self._timeout)
        for group in sorted(groups):
            try:
                users = client.usergroups_users_list(usergroup=group).get("users") or []
            except (SlackApiError, SlackClientError, OSError) as exc:
                # The error's type only: its text may quote the request.
                logger.warning("user group not read", extra={"group": group, "error": type(exc).__name__})
                continue
            if user in users:
                return True
        return False
