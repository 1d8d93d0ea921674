"""The event Lambda hands the notify function: a batch of messages from the notice queue, shaped as the
SQS event source mapping delivers them."""

from __future__ import annotations

import uuid
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID


def notice_queue_batch(*bodies: str, region: str = "us-east-1") -> dict[str, Any]:
    """One record per body, each with a fresh message id and receipt handle."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1741944413000",
                    "SenderId": "AROAEXAMPLE:pushpilot-deploy",
                    "ApproximateFirstReceiveTimestamp": "1741944413050",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{region}:{DEFAULT_ACCOUNT_ID}:pushpilot-NoticeQueue",
                "awsRegion": region,
            }
            for body in bodies
        ]
    }
