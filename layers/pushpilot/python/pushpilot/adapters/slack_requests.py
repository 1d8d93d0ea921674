"""Slack's request signature on the request URL: verified with slack_sdk's SignatureVerifier (HMAC-SHA256
over `v0:{timestamp}:{body}` with the app's signing secret, compared in constant time, the timestamp
within five minutes) against the signing secret read from Secrets Manager. Errors name the secret, never
its value; a refusal says which check failed, never the signature."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from pushpilot.adapters import clients
from pushpilot.core.errors import SettingsError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# Slack's replay window (api.slack.com, "Verifying requests from Slack"); slack_sdk applies the same.
REPLAY_WINDOW_SECONDS: Final = 5 * 60
# Rotating the signing secret in Slack and in Secrets Manager takes effect within this long.
SECRET_MAX_AGE_SECONDS: Final = 300


class Verification(StrEnum):
    VALID = "valid"
    # No timestamp or no signature header: not from Slack at all.
    UNSIGNED = "unsigned"
    # Signed, but outside the replay window (or a timestamp that is not a number).
    STALE = "stale"
    # The signature does not match the body with our secret.
    FORGED = "forged"


def verify(
    signing_secret: str, body: str, headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> Verification:
    """Which check a request passes. The timestamp is looked at first only to say *why* a request is
    refused (stale vs forged); the decision to accept is slack_sdk's."""
    from slack_sdk.signature import Clock, SignatureVerifier

    lowered = {key.lower(): value for key, value in headers.items()}
    timestamp, signature = lowered.get("x-slack-request-timestamp"), lowered.get("x-slack-signature")
    if not timestamp or not signature:
        return Verification.UNSIGNED
    # slack_sdk calls int() on the header: a non-number would raise inside it.
    if not timestamp.isdigit() or abs(now() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return Verification.STALE
    verifier = SignatureVerifier(signing_secret, clock=_clock(Clock, now))
    return Verification.VALID if verifier.is_valid(body, timestamp, signature) else Verification.FORGED


def _clock(base: type[Any], now: Callable[[], float]) -> Any:
    """slack_sdk's Clock over the caller's clock (slack_sdk is imported only when a request arrives)."""

    class CallerClock(base):  # type: ignore[misc]
        def now(self) -> float:
            return now()

    return CallerClock()


@cache
def _secrets_provider(client: Any) -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)


def load_signing_secret(secret_id: str) -> str:
    """The signing secret: the secret's string, or `signing_secret` in its JSON. Cached for five
    minutes by Powertools parameters, so a request costs no Secrets Manager call."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raw = _secrets_provider(clients.client("secretsmanager")).get(
            secret_id, max_age=SECRET_MAX_AGE_SECONDS
        )
    except GetParameterError as exc:
        raise SettingsError(f"cannot read the Slack signing secret {secret_id}") from exc
    if not isinstance(raw, str) or not raw.strip():
        raise SettingsError(f"the Slack signing secret {secret_id} is empty")
    value = raw.strip()
    if value.startswith("{"):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(
                f"the Slack signing secret {secret_id} looks like JSON but does not parse"
            ) from exc
        secret = loaded.get("signing_secret") if isinstance(loaded, dict) else None
        if not isinstance(secret, str) or not secret:
            raise SettingsError(f"the Slack signing secret {secret_id} has no `signing_secret`")
        return secret
    return value
