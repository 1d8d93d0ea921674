"""Publish a rendered notice to the stack's SNS topic: Q Developer JSON by default, text by email."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import SNS_CODES, aws_error
from pushpilot.core.errors import PushpilotError
from pushpilot.core.notices import Notice
from pushpilot.core.render_sns import SnsMessage, render_sns

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient


def sns_error(exc: ClientError | BotoCoreError, topic_arn: str) -> PushpilotError:
    return aws_error(exc, service="sns", action="Publish", target=topic_arn, codes=SNS_CODES)


class SnsChannel:
    """A NoticeChannel that publishes to one topic."""

    name = "sns"

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._client: SNSClient = client or clients.client("sns")

    def publish(self, message: SnsMessage) -> str:
        try:
            response = self._client.publish(
                TopicArn=self._topic_arn,
                Subject=message.subject,
                Message=message.message,
                MessageStructure="json",
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in message.attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise sns_error(exc, self._topic_arn) from exc
        return response["MessageId"]

    def send(self, notice: Notice) -> dict[str, str]:
        return {"message_id": self.publish(render_sns(notice))}
