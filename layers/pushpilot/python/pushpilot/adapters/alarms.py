"""The CloudWatch alarms a promotion bakes against (`pushpilot:bake-alarms`): which of them hold it now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import aws_error

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

# DescribeAlarms takes at most 100 names a call.
_BATCH = 100


class CloudWatchAlarms:
    def __init__(self, client: CloudWatchClient | None = None) -> None:
        self._injected = client

    @property
    def _client(self) -> CloudWatchClient:
        if self._injected is None:
            self._injected = clients.client("cloudwatch")
        return self._injected

    def in_alarm(self, names: Sequence[str]) -> list[str]:
        """Alarms in ALARM, and alarms that do not exist (a misspelt name must not let a release through
        unwatched); INSUFFICIENT_DATA holds nothing: a quiet alarm is not a failing one."""
        states: dict[str, str] = {}
        wanted = list(dict.fromkeys(names))
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            try:
                paginator = self._client.get_paginator("describe_alarms")
                for page in paginator.paginate(
                    AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                ):
                    for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                        states[alarm["AlarmName"]] = alarm["StateValue"]
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(
                    exc, service="cloudwatch", action="DescribeAlarms", target=", ".join(batch)
                ) from exc
        return [
            name if name in states else f"{name} (no such alarm)"
            for name in wanted
            if states.get(name, "ALARM") == "ALARM"
        ]
