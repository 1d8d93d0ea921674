"""`pushpilot dns plan|apply` against moto's Route 53, with custom domains held in memory."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pushpilot.adapters.route53 import Route53Zones
from pushpilot.core.dns.models import DomainBinding, ValidationRecord
from pushpilot.targets.apprunner.declaration import DNS as APP_RUNNER_DNS
from pushpilot_cli import dns_cmd

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

REGION = "us-east-1"
DOMAIN = DomainBinding(
    **APP_RUNNER_DNS.model_dump(),
    service_arn="arn:aws:apprunner:us-east-1:111122223333:service/ledger/4c3b2a190817f6e5d4c3b2a190817f6e",
    service_name="ledger",
    dns_target="p0o9i8u7y6.us-east-1.awsapprunner.com",
    domain_name="ledger.example",
    enable_www=False,
    status="PENDING_CERTIFICATE_DNS_VALIDATION",
    validation_records=(
        ValidationRecord(
            name="_7f6e5d4c3b2a190817f6e5d4c3b2a190.ledger.example.",
            value="_2a190817f6e5d4c3b2a190817f6e5d4c.qzjdnxwpml.acm-validations.aws.",
        ),
    ),
)


class InMemoryDomains:
    def list_all(self) -> list[DomainBinding]:
        return [DOMAIN]

    def for_service(self, service_arn_or_name: str) -> list[DomainBinding]:
        return [DOMAIN] if service_arn_or_name in {DOMAIN.service_name, DOMAIN.service_arn} else []


@pytest.fixture
def route53() -> Iterator[Route53Client]:
    with mock_aws():
        yield boto3.client("route53", region_name=REGION)


@pytest.fixture
def zone_id(route53: Route53Client) -> str:
    return route53.create_hosted_zone(Name="ledger.example", CallerReference="ledger")["HostedZone"]["Id"]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pushpilot")
    dns_cmd.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["dns", *argv, "--owner-id", "pushpilot-prod", "--region", REGION])


def with_zones(route53: Route53Client, argv: tuple[str, ...]) -> tuple[str, ...]:
    """As an operator who lists every zone of the account, unless the test names the zones itself."""
    if "--zone-ids" in argv:
        return argv
    zone_ids = [zone["Id"].rsplit("/", 1)[-1] for zone in route53.list_hosted_zones()["HostedZones"]]
    return (*argv, "--zone-ids", ",".join(zone_ids))


def plan_cmd(route53: Route53Client, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = dns_cmd.run_plan(
        parse("plan", *with_zones(route53, argv)),
        domains=InMemoryDomains(),
        zones=Route53Zones(route53),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def apply_cmd(route53: Route53Client, *argv: str, answer: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = dns_cmd.run_apply(
        parse("apply", *with_zones(route53, argv)),
        domains=InMemoryDomains(),
        zones=Route53Zones(route53),
        out=out,
        err=err,
        answers=io.StringIO(answer),
    )
    return code, out.getvalue(), err.getvalue()


def upsert(route53: Route53Client, zone_id: str, name: str, value: str) -> None:
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": value}],
                    },
                }
            ]
        },
    )


def test_plan_prints_the_changes_and_saves_them(route53: Route53Client, zone_id: str, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"

    code, out, _ = plan_cmd(route53, "ledger", "--out", str(saved))

    assert code == 0
    assert "+ CNAME _7f6e5d4c3b2a190817f6e5d4c3b2a190.ledger.example →" in out
    assert "+ A ledger.example → ALIAS p0o9i8u7y6.us-east-1.awsapprunner.com" in out
    assert "validation record" in out
    assert saved.exists()


def test_apply_of_a_saved_plan_then_planning_again_is_empty(
    route53: Route53Client, zone_id: str, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    plan_cmd(route53, "--out", str(saved))

    code, out, _ = apply_cmd(route53, "--plan", str(saved), "--yes")
    _, replanned, _ = plan_cmd(route53)

    assert code == 0
    assert "applied" in out
    assert "No changes" in replanned


def test_saved_plan_is_refused_when_the_zone_changed_since(
    route53: Route53Client, zone_id: str, tmp_path: Path
) -> None:
    upsert(route53, zone_id, "ledger.example.", "203.0.113.10")
    saved = tmp_path / "plan.json"
    plan_cmd(route53, "--take-over", "--out", str(saved))
    upsert(route53, zone_id, "ledger.example.", "203.0.113.77")

    code, _, err = apply_cmd(route53, "--plan", str(saved), "--take-over", "--yes")

    assert code == 1
    assert "changed since planning" in err
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    apex_a = [r for r in records if r["Name"] == "ledger.example." and r["Type"] == "A"]
    assert apex_a[0]["ResourceRecords"] == [{"Value": "203.0.113.77"}]


def test_saved_take_over_plan_needs_take_over_again(
    route53: Route53Client, zone_id: str, tmp_path: Path
) -> None:
    upsert(route53, zone_id, "ledger.example.", "203.0.113.10")
    saved = tmp_path / "plan.json"
    plan_cmd(route53, "--take-over", "--out", str(saved))

    code, _, err = apply_cmd(route53, "--plan", str(saved), "--yes")

    assert code == 1
    assert "--take-over" in err


def test_apply_asks_and_does_nothing_without_yes(route53: Route53Client, zone_id: str) -> None:
    code, _, err = apply_cmd(route53, answer="no\n")
    _, replanned, _ = plan_cmd(route53)

    assert code == 1
    assert "not applied" in err
    assert "No changes" not in replanned


def test_apply_over_the_threshold_is_refused(route53: Route53Client, zone_id: str) -> None:
    code, _, err = apply_cmd(route53, "--max-changes", "1", "--yes")

    assert code == 1
    assert "--max-changes" in err


def test_with_no_zone_listed_plan_tells_the_fix_and_apply_writes_nothing(
    route53: Route53Client, zone_id: str, tmp_path: Path
) -> None:
    bare_id = zone_id.rsplit("/", 1)[-1]
    before = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    saved = tmp_path / "plan.json"

    planned, out, _ = plan_cmd(route53, "--zone-ids", "", "--out", str(saved))
    applied, _, err = apply_cmd(route53, "--zone-ids", "", "--yes")
    from_file, _, file_err = apply_cmd(route53, "--plan", str(saved), "--zone-ids", bare_id, "--yes")

    assert planned == 0
    assert f"set DnsZoneIds to {bare_id} to let pushpilot apply it" in out
    assert applied == 1
    assert f"set DnsZoneIds to {bare_id}" in err
    assert from_file == 1
    assert "no zone to write to" in file_err
    assert route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] == before


def test_missing_owner_id_is_an_error(
    route53: Route53Client, zone_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DNS_OWNER_ID", raising=False)
    parser = argparse.ArgumentParser(prog="pushpilot")
    dns_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dns", "plan"])
    err = io.StringIO()

    code = dns_cmd.run_plan(
        args, domains=InMemoryDomains(), zones=Route53Zones(route53), out=io.StringIO(), err=err
    )

    assert code == 2
    assert "DNS_OWNER_ID" in err.getvalue()
