"""The Slack credentials: a bot token or an incoming webhook URL, read from Secrets Manager or an SSM
SecureString through Powertools parameters (cached for `SLACK_SECRET_MAX_AGE` seconds). Errors name the
secret, never its value."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr

from pushpilot.adapters import clients
from pushpilot.core.errors import PushpilotError, RetryableError, SettingsError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider


class SlackSource(Protocol):
    """Where the Slack credentials are read from: the notify function's settings, as far as read here."""

    @property
    def slack_mode(self) -> Literal["bot", "webhook", "none"]: ...
    @property
    def slack_secret_id(self) -> str | None: ...
    @property
    def slack_parameter_name(self) -> str | None: ...
    @property
    def slack_channel(self) -> str | None: ...
    @property
    def slack_api_url(self) -> str: ...
    @property
    def slack_secret_max_age(self) -> int: ...


class SlackCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: Literal["bot", "webhook"]
    token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    channel: str | None = None


def parse_slack_secret(
    raw: str, *, mode: Literal["bot", "webhook"], default_channel: str | None
) -> SlackCredentials:
    """Bot mode: `xoxb-...` or JSON `{"token": ..., "channel": ...}`; webhook mode: the URL or JSON
    `{"url": ...}`. Errors never quote the secret."""
    value = raw.strip()
    fields: dict[str, Any] = {}
    if value.startswith("{"):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError("the Slack secret looks like JSON but does not parse") from exc
        if not isinstance(loaded, dict):
            raise SettingsError("the Slack secret JSON must be an object")
        fields = loaded
    elif mode == "bot":
        fields = {"token": value}
    else:
        fields = {"url": value}
    channel = fields.get("channel") or default_channel
    if mode == "bot":
        token = fields.get("token")
        if not isinstance(token, str) or not token.startswith("xox"):
            raise SettingsError("the Slack secret holds no bot token (expected xoxb-...)")
        if not isinstance(channel, str) or not channel:
            raise SettingsError("bot mode needs a channel: SLACK_CHANNEL or `channel` in the secret")
        return SlackCredentials(mode="bot", token=SecretStr(token), channel=channel)
    url = fields.get("url") or fields.get("webhook_url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise SettingsError("the Slack secret holds no incoming webhook URL")
    return SlackCredentials(mode="webhook", webhook_url=SecretStr(url), channel=channel)


@cache
def _secrets_provider(client: Any) -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client)


@cache
def _ssm_provider(client: Any) -> SSMProvider:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=client)


def load_slack_credentials(settings: SlackSource) -> SlackCredentials:
    """Read the secret through Powertools parameters, whose cache spares a call per notice. The
    providers get the project's clients (retry mode, endpoint settings), one provider per client."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    if settings.slack_mode == "none":
        raise SettingsError("SLACK_MODE=none has no Slack credentials")
    if bool(settings.slack_secret_id) == bool(settings.slack_parameter_name):
        raise SettingsError(
            f"SLACK_MODE={settings.slack_mode} needs exactly one of SLACK_SECRET_ID or SLACK_PARAMETER_NAME"
        )
    max_age = settings.slack_secret_max_age
    try:
        if settings.slack_secret_id:
            source = settings.slack_secret_id
            raw = _secrets_provider(clients.client("secretsmanager")).get(source, max_age=max_age)
        else:
            source = settings.slack_parameter_name or ""
            raw = _ssm_provider(clients.client("ssm")).get(source, max_age=max_age, decrypt=True)
    except GetParameterError as exc:
        # Powertools wraps the botocore error without `from`: the original is the implicit context.
        raise _secret_error(exc.__cause__ or exc.__context__, source) from exc
    if not isinstance(raw, str):
        raise SettingsError(f"the Slack secret {source} is not a string")
    return parse_slack_secret(raw, mode=settings.slack_mode, default_channel=settings.slack_channel)


def _secret_error(cause: BaseException | None, source: str) -> PushpilotError:
    from botocore.exceptions import ClientError

    code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
    if code in {"ResourceNotFoundException", "ParameterNotFound"}:
        return SettingsError(f"the Slack secret {source} does not exist")
    if code in {"AccessDeniedException", "AccessDenied"}:
        return SettingsError(f"the function may not read the Slack secret {source} ({code})")
    return RetryableError(f"cannot read the Slack secret {source} now ({code or type(cause).__name__})")
