"""Custom-domain DNS through the whole sandbox: App Runner association → scheduled reconcile → Route 53
records → certificate validation → what the team is told."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pushpilot_sandbox.scenario import run_scenario
from tests.e2e.sandbox_support import Story, sns_kinds, story

if TYPE_CHECKING:
    from mypy_boto3_route53.type_defs import ResourceRecordSetOutputTypeDef

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# App Runner's Route 53 alias zone for us-east-1 ("AWS App Runner endpoints and quotas").
APP_RUNNER_ZONE_US_EAST_1 = "Z01915732ZBZKC8D32TPT"
STALE_APEX = "203.0.113.10"

STALE_APEX_SETUP: dict[str, Any] = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest"}],
    "hosted_zones": [
        {"name": "example.com", "records": [{"name": "example.com", "type": "A", "values": [STALE_APEX]}]}
    ],
}

RecordKey = tuple[str, str, str | None]


def _dotless(name: str) -> str:
    return name.rstrip(".").lower()


def _zone_id(run: Story, name: str) -> str:
    zones = run.sandbox.route53().list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    matching = [zone["Id"] for zone in zones if _dotless(zone["Name"]) == name]
    assert len(matching) == 1, f"expected one hosted zone {name}, found {matching}"
    return str(matching[0])


def _record_sets(run: Story, zone_id: str) -> list[ResourceRecordSetOutputTypeDef]:
    route53 = run.sandbox.route53()
    found: list[ResourceRecordSetOutputTypeDef] = []
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        found.extend(page["ResourceRecordSets"])
    return found


def _find(run: Story, zone: str, name: str, record_type: str) -> ResourceRecordSetOutputTypeDef | None:
    matches = [
        record
        for record in _record_sets(run, _zone_id(run, zone))
        if _dotless(record["Name"]) == name and record["Type"] == record_type
    ]
    assert len(matches) <= 1
    return matches[0] if matches else None


def _values(record: ResourceRecordSetOutputTypeDef | None) -> set[str]:
    assert record is not None
    return {_dotless(item["Value"]) for item in record.get("ResourceRecords", [])}


def _custom_domain(run: Story, service: str) -> dict[str, Any]:
    arn = run.sandbox.apprunner.service(service).arn
    response = run.sandbox.apprunner_client().describe_custom_domains(ServiceArn=arn)
    domains = response["CustomDomains"]
    assert len(domains) == 1
    return {"dns_target": response["DNSTarget"], **domains[0]}


def _all_records(run: Story) -> dict[RecordKey, str]:
    """Every record set of every zone, comparable across time."""
    snapshot: dict[RecordKey, str] = {}
    for zone in run.sandbox.route53().list_hosted_zones()["HostedZones"]:
        for record in _record_sets(run, zone["Id"]):
            key = (f"{zone['Id']}:{_dotless(record['Name'])}", record["Type"], record.get("SetIdentifier"))
            canonical = {
                **record,
                "ResourceRecords": sorted(item["Value"] for item in record.get("ResourceRecords", [])),
            }
            snapshot[key] = json.dumps(canonical, sort_keys=True, default=str)
    return snapshot


def _changed_names(run: Story) -> list[tuple[str, str, str, str]]:
    """(zone id, name, type, action) of every record change a handler sent to Route 53."""
    changed = []
    for call in run.handler_calls("route53", "ChangeResourceRecordSets"):
        zone_id = call["params"]["HostedZoneId"]
        for change in call["params"]["ChangeBatch"]["Changes"]:
            record = change["ResourceRecordSet"]
            changed.append((zone_id, _dotless(record["Name"]), record["Type"], change["Action"]))
    return changed


def _link_and_reconcile(run: Story) -> None:
    run.step("associate_domain", {"service": "storefront", "domain": "example.com", "www": True})
    run.step("reconcile_dns", {})


def test_stale_apex_is_reported_and_left_alone_while_validation_and_www_are_created(tmp_path: Path) -> None:
    with story(STALE_APEX_SETUP, tmp_path) as run:
        _link_and_reconcile(run)
        domain = _custom_domain(run, "storefront")

        apex = _find(run, "example.com", "example.com", "A")
        assert apex is not None
        assert "AliasTarget" not in apex
        assert _values(apex) == {STALE_APEX}
        assert _find(run, "example.com", "example.com", "AAAA") is None
        for validation in domain["CertificateValidationRecords"]:
            record = _find(run, "example.com", _dotless(validation["Name"]), "CNAME")
            assert _values(record) == {_dotless(validation["Value"])}
        assert _values(_find(run, "example.com", "www.example.com", "CNAME")) == {
            _dotless(domain["dns_target"])
        }

        # Certificate validation needs only the CNAMEs, so the domain validates despite the conflict.
        assert domain["Status"] == "ACTIVE"
        assert run.notice_kinds() == ["domain_conflict", "domain_planned", "domain_validated"]
        conflict = next(
            note for note in run.notices() if note["payload"]["metadata"]["eventType"] == "domain_conflict"
        )
        assert STALE_APEX in str(conflict["payload"])
        assert "DNS_TAKE_OVER=true" in str(conflict["payload"])
        assert run.report()["errors"] == []
        assert run.report()["dead_letters"] == []


def test_take_over_points_the_apex_at_the_service_with_app_runner_alias(tmp_path: Path) -> None:
    setup = {**STALE_APEX_SETUP, "parameters": {"DnsTakeOver": "true"}}
    with story(setup, tmp_path) as run:
        _link_and_reconcile(run)
        domain = _custom_domain(run, "storefront")

        for record_type in ("A", "AAAA"):
            record = _find(run, "example.com", "example.com", record_type)
            assert record is not None
            assert record.get("ResourceRecords", []) == []
            alias = record["AliasTarget"]
            assert _dotless(alias["DNSName"]) == _dotless(domain["dns_target"])
            assert alias["HostedZoneId"] == APP_RUNNER_ZONE_US_EAST_1
        deleted = [change for change in _changed_names(run) if change[3] == "DELETE"]
        assert [(name, record_type) for _, name, record_type, _ in deleted] == [("example.com", "A")]
        assert domain["Status"] == "ACTIVE"
        assert "domain_validated" in run.notice_kinds()
        assert run.report()["errors"] == []


def test_www_in_its_own_zone_is_delegated_from_the_parent(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web"],
        "services": [{"name": "storefront", "image": "web:latest"}],
        "hosted_zones": [{"name": "example.com"}, {"name": "www.example.com"}],
    }
    with story(setup, tmp_path) as run:
        child_id = _zone_id(run, "www.example.com")
        child_servers = {
            _dotless(server)
            for server in run.sandbox.route53().get_hosted_zone(Id=child_id)["DelegationSet"]["NameServers"]
        }
        assert _find(run, "example.com", "www.example.com", "NS") is None

        _link_and_reconcile(run)
        domain = _custom_domain(run, "storefront")

        assert _values(_find(run, "example.com", "www.example.com", "NS")) == child_servers
        www_validation = [
            record
            for record in domain["CertificateValidationRecords"]
            if _dotless(record["Name"]).endswith(".www.example.com")
        ]
        assert len(www_validation) == 1
        record = _find(run, "www.example.com", _dotless(www_validation[0]["Name"]), "CNAME")
        assert _values(record) == {_dotless(www_validation[0]["Value"])}
        # www is the child zone's apex, where a CNAME is not allowed: it is an alias there.
        www_alias = _find(run, "www.example.com", "www.example.com", "A")
        assert www_alias is not None
        assert _dotless(www_alias["AliasTarget"]["DNSName"]) == _dotless(domain["dns_target"])
        assert domain["Status"] == "ACTIVE"
        assert run.notice_kinds() == ["domain_planned", "domain_validated"]


def test_no_write_ever_touches_a_record_pushpilot_does_not_own(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web"],
        "services": [{"name": "storefront", "image": "web:latest"}],
        "hosted_zones": [
            {
                "name": "example.com",
                "records": [
                    {"name": "example.com", "type": "A", "values": [STALE_APEX]},
                    {"name": "example.com", "type": "MX", "values": ["10 mail.example.com"]},
                    {
                        "name": "example.com",
                        "type": "TXT",
                        "values": ['"v=spf1 include:mail.example.com -all"'],
                    },
                    {"name": "www.example.com", "type": "TXT", "values": ['"site-verification=4c1f2a"']},
                    {"name": "api.example.com", "type": "CNAME", "values": ["api.example.net"]},
                ],
            },
            {
                "name": "example.org",
                "records": [{"name": "www.example.org", "type": "A", "values": ["198.51.100.7"]}],
            },
        ],
    }
    with story(setup, tmp_path) as run:
        before = _all_records(run)
        _link_and_reconcile(run)
        run.step("reconcile_dns", {})
        after = _all_records(run)

        assert {key: after.get(key) for key in before} == before
        foreign = {(key[0], key[1]) for key in before}
        changed = _changed_names(run)
        assert changed, "the reconcile wrote nothing: the test would prove nothing"
        touched = [change for change in changed if (f"{change[0]}:{change[1]}", change[2]) in foreign]
        assert touched == []
        assert all(action == "CREATE" for *_, action in changed)
        assert run.report()["errors"] == []


@pytest.mark.parametrize(
    ("scenario", "kinds"),
    [
        ("domain.yaml", ["domain_conflict", "domain_planned", "domain_validated"]),
        ("domain-child-zone.yaml", ["domain_planned", "domain_validated"]),
    ],
)
def test_dns_scenario_files_tell_their_story(scenario: str, kinds: list[str]) -> None:
    out = io.StringIO()
    report = run_scenario(SCENARIOS / scenario, out=out)
    sent = sns_kinds(report["notifications"])
    assert sent == kinds
    assert report["errors"] == []
    assert report["dead_letters"] == []
    assert "route53.ChangeResourceRecordSets" in out.getvalue()


def test_no_zone_listed_plans_tells_the_fix_once_and_writes_nothing() -> None:
    out = io.StringIO()
    report = run_scenario(SCENARIOS / "domain-no-zones.yaml", out=out)
    writes = [
        call
        for call in report["calls"]
        if call["service"] == "route53" and call["operation"] == "ChangeResourceRecordSets"
    ]
    assert writes == []
    planned = [
        note["payload"]
        for note in report["notifications"]
        if note["channel"] == "sns"
        and isinstance(note["payload"], dict)
        and note["payload"].get("metadata", {}).get("eventType") == "domain_planned"
    ]
    # Told once although the schedule ran twice: the second run plans the same changes.
    assert len(planned) == 1
    [content] = [notice["content"] for notice in planned]
    assert "wait for DnsZoneIds" in content["title"]
    [fix] = content["nextSteps"]
    found = re.fullmatch(
        r"would change \d+ record\(s\) in zone example\.com \((\w+)\); "
        r"set DnsZoneIds to (\w+) to let pushpilot apply it",
        fix,
    )
    assert found is not None, fix
    assert found.group(1) == found.group(2)
    assert report["errors"] == []
    assert report["dead_letters"] == []


def test_demo_tells_the_whole_story_in_order() -> None:
    out = io.StringIO()
    report = run_scenario(SCENARIOS / "demo.yaml", out=out)
    sent = sns_kinds(report["notifications"])
    # The release story comes first; the build and the domains follow it: App Runner's validated, and
    # shop-alb's certificate issued as soon as its record resolves, ACM's event routing the name at once;
    # then a cross-account push and an ECR Public tag that moved, each verified, deployed and live; then
    # ECS and Express: one arm64 image verified for arm64 and rejected for the X86_64 service, deployed
    # twice and live twice, and a second image rolled back on ECS while Express takes it live.
    assert sent[:2] == ["verified", "deploying"]
    assert "rolled_back" in sent
    build = sent.index("build_failed")
    domains = ["domain_planned", "domain_planned", "domain_validated", "domain_planned", "domain_validated"]
    assert sent[build : build + 6] == ["build_failed", *domains]
    reach = sent[build + 6 : build + 12]
    assert reach == ["verified", "deploying", "live"] * 2
    ecs, functions, stages = sent[build + 12 : -9], sent[-9:-6], sent[-6:]
    assert ecs[:6] == ["verified", "rejected", "deploying", "deploying", "live", "live"]
    assert sorted(ecs[6:]) == sorted(
        ["verified", "rejected", "deploying", "deploying", "rolled_back", "live"]
    )
    # Then a Lambda function: a provenance index deployed by its arm64 child, its alias moved.
    assert functions == ["verified", "deploying", "live"]
    # Last, release stages: site-staging live, site-prod's bake told, then the promotion deploying and live.
    assert stages == ["verified", "deploying", "live", "policy", "deploying", "live"]
    assert report["errors"] == []
    assert report["dead_letters"] == []
    assert report["refused_events"] == []
    text = out.getvalue()
    assert "CodeBuild web-build: FAILED in BUILD" in text
    assert "example.com is live on storefront" in text
    assert "forwarded from 111111111111" in text
    assert "live on catalog-api" in text
    assert "live on edge-proxy" in text
    assert "live on shop-express" in text
    assert "Amazon ECS rolled back" in text
    assert "shop.example.org is live on shop-graviton (ECS)" in text
    assert "live on thumbs-resizer" in text
    assert "site-prod takes it after 30 min live on site-staging" in text
    assert "promoted from site-staging after 30 min live" in json.dumps(report["notifications"])
