"""What each scenario step caused, printed as it happens and collected into the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.release_event_bus import entries_summary

# Bookkeeping writes a reader does not need in the timeline; the report still lists them.
_QUIET_SERVICES = frozenset({"dynamodb", "sqs", "sns"})


class Timeline:
    def __init__(self, sandbox: Sandbox, say: Callable[[str], None]) -> None:
        self.sandbox = sandbox
        self.say = say
        self.calls: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.refused_events: list[dict[str, Any]] = []
        # `run` steps: each pushpilot command line, its exit code and output.
        self.runs: list[dict[str, Any]] = []
        # Requests the Slack emulator posted to the stack's request URL, and how they were answered.
        self.slack_actions: list[dict[str, Any]] = []
        self._forwarding_seen = 0
        self._gateway_seen = 0
        self._apprunner_seen = 0
        self._slack_seen = 0
        self._deliveries_seen = 0
        self._acm_seen = 0

    def skip_user_calls(self) -> None:
        """Calls made so far were the scenario's own (setup, associate-domain): not the handlers'."""
        self._gateway_seen = len(self.sandbox.gateway.calls)
        self._apprunner_seen = len(self.sandbox.apprunner.calls)

    def record(self) -> None:
        """Print and collect everything that happened since the last call."""
        self._forwarding()
        self._certificates()
        self._deliveries()
        self._calls()
        self._notifications()

    def _forwarding(self) -> None:
        records = self.sandbox.forwarding[self._forwarding_seen :]
        self._forwarding_seen += len(records)
        for record in records:
            if record.status == "forwarded":
                self.say(
                    f"  ↪ forwarded from {record.source_account} to {record.target_account}'s bus"
                    f" ({record.repository or 'event'} {record.event_id[:8]})"
                )
            elif record.status == "refused":
                self.refused_events.append(record.model_dump(mode="json"))
                self.say(
                    f"  ⛔ {record.target_account}'s bus refused the event from {record.source_account}: "
                    f"{record.reason}"
                )
            else:
                self.say(f"  · event stays on {record.source_account}'s bus: {record.reason}")

    def _certificates(self) -> None:
        decisions = self.sandbox.acm.decisions[self._acm_seen :]
        self._acm_seen += len(decisions)
        for decision in decisions:
            self.say(f"  🔏 {decision}")

    def _deliveries(self) -> None:
        deliveries = self.sandbox.router.deliveries[self._deliveries_seen :]
        self._deliveries_seen = len(deliveries) + self._deliveries_seen
        for delivery in deliveries:
            outcome = delivery.outcome or {}
            status = outcome.get("status") or ("failed" if delivery.error_type else "done")
            detail = outcome.get("detail") or {}
            summary = _summarize(detail)
            self.say(f"  ⚙ {delivery.function} ← {delivery.trigger_name} → {status}{summary}")
            if status == "rejected" or delivery.error_type:
                error = {
                    "event_id": delivery.event_id,
                    "type": outcome.get("error_type") or delivery.error_type,
                    "message": outcome.get("error_message") or delivery.error_message,
                    "function": delivery.function,
                }
                self.errors.append(error)
                self.say(f"    ✖ {error['type']}: {error['message']}")

    def _calls(self) -> None:
        gateway_calls = self.sandbox.gateway.calls[self._gateway_seen :]
        self._gateway_seen = len(self.sandbox.gateway.calls)
        apprunner_calls = self.sandbox.apprunner.calls[self._apprunner_seen :]
        self._apprunner_seen = len(self.sandbox.apprunner.calls)
        quiet: dict[str, int] = {}
        for call in apprunner_calls:
            if call.mutating:
                self.calls.append(
                    {"service": "apprunner", "operation": call.operation, "params": call.params}
                    | _unanswered(call.answered)
                )
                self.say(f"  ☁ apprunner.{call.operation} {_short_params(call.params)}{_lost(call.answered)}")
        for gateway_call in gateway_calls:
            if not gateway_call.mutating:
                continue
            self.calls.append(
                {
                    "service": gateway_call.service,
                    "operation": gateway_call.operation,
                    "params": gateway_call.params,
                }
                | _unanswered(gateway_call.answered)
            )
            if gateway_call.service in _QUIET_SERVICES and gateway_call.answered:
                quiet[gateway_call.service] = quiet.get(gateway_call.service, 0) + 1
            else:
                name = f"{gateway_call.service}.{gateway_call.operation}"
                shown = entries_summary(gateway_call.params) or _short_params(gateway_call.params)
                self.say(f"  ☁ {name} {shown}{_lost(gateway_call.answered)}")
        if quiet:
            self.say(
                "  · bookkeeping: "
                + ", ".join(f"{count} {service} writes" for service, count in quiet.items())
            )

    def _notifications(self) -> None:
        posts = self.sandbox.slack.posts[self._slack_seen :]
        self._slack_seen = len(self.sandbox.slack.posts)
        for post in posts:
            payload = post.payload
            text = str(payload.get("text") or "")
            self.notifications.append(
                {"channel": "slack", "text": text, "payload": payload, "method": post.method}
            )
            thread = " ↳ (in thread)" if payload.get("thread_ts") else ""
            verb = "updated headline" if post.method == "chat.update" else "message"
            self.say(f"  💬 slack {verb}{thread}: {text}{_lost(post.answered)}")
            for code in _code_blocks(payload):
                self.say(f"       ⤷ {code}")
        for message in self.sandbox.sns_messages():
            body = message.get("Message", "")
            self.notifications.append(
                {"channel": "sns", "text": message.get("Subject") or "", "payload": _maybe_json(body)}
            )
            self.say(f"  ✉ sns: {message.get('Subject') or body[:100]}")

    def report(self) -> dict[str, Any]:
        dead_letters: list[Any] = [
            letter.model_dump(mode="json") for letter in self.sandbox.router.dead_letters
        ]
        for logical_id in ("NoticeDeadLetterQueue", "EventDeliveryDeadLetterQueue"):
            dead_letters.extend(
                {"queue": logical_id, "message": message}
                for message in self.sandbox.queue_messages(logical_id)
            )
        return {
            "calls": self.calls,
            "notifications": self.notifications,
            "errors": self.errors,
            "dead_letters": dead_letters,
            "refused_events": self.refused_events,
            "runs": self.runs,
            "slack_actions": self.slack_actions,
        }


def _unanswered(answered: bool) -> dict[str, Any]:
    """A call whose answer a timeout fault dropped says so in the report (others keep their shape)."""
    return {} if answered else {"answered": False}


def _lost(answered: bool) -> str:
    return "" if answered else " ⌛ answer never arrived (timeout)"


def _code_blocks(payload: dict[str, Any]) -> list[str]:
    """The commands a message tells people to run (Slack ``` blocks), for the timeline."""
    found: list[str] = []
    blocks: list[Any] = list(payload.get("blocks") or [])
    for attachment in payload.get("attachments") or []:
        if isinstance(attachment, dict):
            blocks.extend(attachment.get("blocks") or [])
    for block in blocks:
        text = block.get("text", {}).get("text", "") if isinstance(block, dict) else ""
        if isinstance(text, str) and "```" in text:
            found.extend(part.strip() for part in text.split("```")[1::2] if part.strip())
    return found


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def _summarize(detail: dict[str, Any]) -> str:
    keys = ("reason", "verdict", "outcome", "rollout", "follow_up", "index")
    parts = [f"{key}={_words(detail[key])}" for key in keys if detail.get(key)]
    # The public image check counts what it saw: tags checked, first seen, unchanged, moved, failed.
    for key in ("checked", "first_sightings", "unchanged", "changed", "errors"):
        value = detail.get(key)
        count = len(value) if isinstance(value, list) else value
        if isinstance(count, int) and not isinstance(count, bool) and (count or key == "checked"):
            parts.append(f"{key.replace('_', ' ')}={count}")
    services = detail.get("services")
    if isinstance(services, list) and services:
        parts.append(
            "; ".join(
                f"{item.get('service')}: {item.get('status')}" for item in services if isinstance(item, dict)
            )
        )
    return f" ({', '.join(parts)})" if parts else ""


def _words(value: Any) -> str:
    """A value as a reader says it: a verdict per platform reads `linux/arm64 pass, linux/amd64 reject`."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {_words(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value)
    return str(value)


def _short_params(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "…"
