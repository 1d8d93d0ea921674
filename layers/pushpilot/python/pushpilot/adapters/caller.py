"""Who runs a command: the IAM principal of the credentials in use (STS GetCallerIdentity), recorded with
what the command decides, since an approval from a terminal is authorised by IAM, not by Slack."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error


def caller_arn(client: Any = None) -> str:
    """The caller's ARN (an assumed role's session, a user); needs no IAM permission. (The STS client is
    untyped here: the stubs the project installs do not cover STS, and one call does not warrant them.)"""
    sts = client or clients.client("sts")
    try:
        return str(sts.get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(
            exc, service="sts", action="GetCallerIdentity", target="the caller's identity"
        ) from exc
