"""The image each service runs, as an SSM parameter `/pushpilot/<target>/<service>/image` (PutParameter with
Overwrite: writing the same value again is harmless, so a retry needs no guard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

PREFIX = "/pushpilot"


def parameter_name(kind: str, service: str) -> str:
    return f"{PREFIX}/{kind}/{service}/image"


class SsmImageParameters:
    def __init__(self, client: SSMClient | None = None) -> None:
        self._injected = client

    @property
    def _client(self) -> SSMClient:
        if self._injected is None:
            self._injected = clients.client("ssm")
        return self._injected

    def publish(self, kind: str, service: str, image: str) -> None:
        name = parameter_name(kind, service)
        try:
            self._client.put_parameter(
                Name=name,
                Value=image,
                Type="String",
                Overwrite=True,
                Description=f"The image pushpilot last deployed to {service} ({kind}); written by pushpilot",
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, service="ssm", action="PutParameter", target=name) from exc
