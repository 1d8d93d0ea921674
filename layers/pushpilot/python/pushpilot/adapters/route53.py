"""Route 53 adapter: read hosted zones into snapshots and apply one zone plan as one change batch.

Route 53 allows five requests per second per account: the shared client's adaptive retry mode paces
and retries throttled calls; what is still throttled after that becomes a ThrottledError so the event
is retried later rather than lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from pydantic import BaseModel, ConfigDict

from pushpilot.adapters import clients
from pushpilot.adapters.aws_errors import ROUTE53_CODES, aws_error
from pushpilot.core.dns.models import AliasTarget, RecordSet, ZonePlan, ZoneSnapshot
from pushpilot.core.dns.ownership import is_marker
from pushpilot.core.errors import PermanentError, PushpilotError, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.type_defs import (
        ChangeTypeDef,
        ResourceRecordSetOutputTypeDef,
        ResourceRecordSetTypeDef,
    )

# Route 53's limit per ChangeResourceRecordSets request.
MAX_CHANGES_PER_BATCH = 1000


class DnsChangeRejectedError(PermanentError):
    """Route 53 refused the change batch; the message is Route 53's own."""


class HostedZoneRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    zone_id: str
    name: str
    private: bool = False


def bare_zone_id(zone_id: str) -> str:
    """Route 53 answers `/hostedzone/Z123`; requests and IAM resources use `Z123`."""
    return zone_id.rsplit("/", 1)[-1]


# Route 53's own refusal of a change batch keeps its own type: its message says what to fix.
_CODES = {
    **ROUTE53_CODES,
    "InvalidChangeBatch": DnsChangeRejectedError,
    "InvalidInput": DnsChangeRejectedError,
}


def translate_error(exc: ClientError | BotoCoreError, action: str, target: str) -> PushpilotError:
    return aws_error(exc, service="route53", action=action, target=target, codes=_CODES)


def record_from_api(raw: ResourceRecordSetOutputTypeDef | ResourceRecordSetTypeDef) -> RecordSet:
    alias = raw.get("AliasTarget")
    return RecordSet(
        name=raw["Name"],
        type=raw["Type"],
        ttl=raw.get("TTL"),
        values=tuple(item["Value"] for item in raw.get("ResourceRecords", [])),
        alias_target=(
            AliasTarget(
                hosted_zone_id=alias["HostedZoneId"],
                dns_name=alias["DNSName"],
                evaluate_target_health=alias["EvaluateTargetHealth"],
            )
            if alias is not None
            else None
        ),
        set_identifier=raw.get("SetIdentifier"),
    )


def record_to_api(record: RecordSet) -> ResourceRecordSetTypeDef:
    raw: dict[str, Any] = {"Name": f"{record.name}.", "Type": record.type}
    if record.set_identifier is not None:
        raw["SetIdentifier"] = record.set_identifier
    if record.alias_target is not None:
        raw["AliasTarget"] = {
            "HostedZoneId": record.alias_target.hosted_zone_id,
            "DNSName": record.alias_target.dns_name,
            "EvaluateTargetHealth": record.alias_target.evaluate_target_health,
        }
    else:
        raw["TTL"] = record.ttl
        raw["ResourceRecords"] = [{"Value": value} for value in record.values]
    return raw  # type: ignore[return-value]


class Route53Zones:
    def __init__(self, client: Route53Client | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Route53Client:
        if self._client is None:
            self._client = clients.client("route53")
        return self._client

    def list_zones(self) -> list[HostedZoneRef]:
        """Every hosted zone of the account, private ones marked (never planned, never written)."""
        try:
            return [
                HostedZoneRef(
                    zone_id=bare_zone_id(zone["Id"]),
                    name=zone["Name"].rstrip(".").lower(),
                    private=zone.get("Config", {}).get("PrivateZone", False),
                )
                for page in self.client.get_paginator("list_hosted_zones").paginate()
                for zone in page["HostedZones"]
            ]
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, "ListHostedZones", "the account") from exc

    def list_public_zones(self) -> list[HostedZoneRef]:
        return [zone for zone in self.list_zones() if not zone.private]

    def snapshot(self, zone_id: str) -> ZoneSnapshot:
        zone_id = bare_zone_id(zone_id)
        try:
            zone = self.client.get_hosted_zone(Id=zone_id)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, "GetHostedZone", f"zone {zone_id}") from exc
        try:
            records = [
                record_from_api(raw)
                for page in self.client.get_paginator("list_resource_record_sets").paginate(
                    HostedZoneId=zone_id
                )
                for raw in page["ResourceRecordSets"]
            ]
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, "ListResourceRecordSets", f"zone {zone_id}") from exc
        return ZoneSnapshot(
            zone_id=zone_id,
            name=zone["HostedZone"]["Name"],
            private=zone["HostedZone"].get("Config", {}).get("PrivateZone", False),
            name_servers=tuple(zone.get("DelegationSet", {}).get("NameServers", [])),
            records=tuple(records),
        )

    def apply(self, zone_plan: ZonePlan, *, wait: bool = False) -> str | None:
        """One change batch for the zone (Route 53 applies it all or nothing). Lambda does not wait for
        INSYNC; the CLI may, with Route 53's own waiter. Returns the change id."""
        if not zone_plan.changes:
            return None
        if len(zone_plan.changes) > MAX_CHANGES_PER_BATCH:
            raise DnsChangeRejectedError(
                f"zone {zone_plan.zone_name}: {len(zone_plan.changes)} changes exceed Route 53's "
                f"{MAX_CHANGES_PER_BATCH} per batch"
            )
        changes: list[ChangeTypeDef] = [
            {"Action": change.action.value, "ResourceRecordSet": record_to_api(change.record)}
            for change in zone_plan.changes
        ]
        summary = ", ".join(
            f"{change.action.value.lower()} {change.record.type} {change.record.name}"
            for change in zone_plan.changes
            if not is_marker(change.record)
        )
        try:
            response = self.client.change_resource_record_sets(
                HostedZoneId=bare_zone_id(zone_plan.zone_id),
                ChangeBatch={"Comment": f"pushpilot: {summary}"[:256], "Changes": changes},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, "ChangeResourceRecordSets", f"zone {zone_plan.zone_name}") from exc
        change_id = response["ChangeInfo"]["Id"]
        if wait:
            try:
                self.client.get_waiter("resource_record_sets_changed").wait(Id=change_id)
            except WaiterError as exc:
                raise RetryableError(
                    f"zone {zone_plan.zone_name}: change {change_id} not in sync yet: {exc}"
                ) from exc
            except (ClientError, BotoCoreError) as exc:
                raise translate_error(exc, "GetChange", change_id) from exc
        return change_id
