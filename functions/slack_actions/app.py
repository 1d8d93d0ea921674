"""Slack's request URL (a Lambda function URL): verify the click's signature, record the vote, hand the
slow part on to the decisions queue, and answer within Slack's three seconds."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from pushpilot.adapters.decision_queue import DecisionQueue
from pushpilot.adapters.slack_groups import SlackGroupMembers
from pushpilot.adapters.slack_requests import load_signing_secret
from pushpilot.entry.settings import NotifySettings, SlackEndpointSettings
from pushpilot.entry.slack_endpoint import answer_slack_request
from pushpilot.entry.wiring import deploy_ports

logger = Logger()
metrics = Metrics()


def _group_members() -> SlackGroupMembers | None:
    """User groups in `pushpilot:approvers` are resolved with the bot token, in bot mode only."""
    notify = NotifySettings.from_env()
    if notify.slack_mode != "bot":
        return None
    return SlackGroupMembers(lambda: _bot_token(notify), base_url=notify.slack_api_url)


def _bot_token(notify: NotifySettings) -> str:
    from pushpilot.adapters.slack_credentials import load_slack_credentials

    token = load_slack_credentials(notify).token
    return token.get_secret_value() if token is not None else ""


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = SlackEndpointSettings.from_env()
    return answer_slack_request(
        event,
        members=_group_members(),
        logger=logger,
        metrics=metrics,
        signing_secret=lambda: load_signing_secret(settings.signing_secret_id),
        ports=lambda: deploy_ports(context=context),
        decisions=lambda: DecisionQueue(settings.decision_queue_url),
    )
