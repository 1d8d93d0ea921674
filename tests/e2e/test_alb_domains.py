"""Custom domains of ECS services behind an Application Load Balancer, through the whole sandbox: the
certificate on the HTTPS listener → scheduled reconcile → validation record → ACM issues (only once the
record resolves) → ALIAS A (+AAAA) to the load balancer → what the team is told."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.scenario import run_scenario
from tests.e2e.sandbox_support import Story, sns_kinds, story
from tests.e2e.test_dns_scenarios import _all_records, _changed_names, _dotless, _find, _values, _zone_id

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# Application Load Balancers' Route 53 zone in us-east-1 ("Elastic Load Balancing endpoints and quotas").
ALB_ZONE_US_EAST_1 = "Z35SXDOTRQ7X7K"
STALE_APEX = "203.0.113.10"


def alb_setup(
    *records: dict[str, Any],
    http_redirect: bool = True,
    alternative_names: tuple[str, ...] = ("*.example.com",),
) -> dict[str, Any]:
    return {
        "repositories": ["web"],
        "load_balancers": [
            {
                "name": "web-alb",
                "ip_address_type": "dualstack",
                "http_redirect": http_redirect,
                "certificates": [{"domain": "example.com", "alternative_names": list(alternative_names)}],
            }
        ],
        "ecs_services": [{"name": "storefront", "image": "web:latest", "load_balancer": "web-alb"}],
        "hosted_zones": [{"name": "example.com", "records": list(records)}],
    }


def certificate(run: Story) -> dict[str, Any]:
    acm = run.sandbox.direct_client("acm")
    arns = [summary["CertificateArn"] for summary in acm.list_certificates()["CertificateSummaryList"]]
    assert len(arns) == 1
    found: dict[str, Any] = acm.describe_certificate(CertificateArn=arns[0])["Certificate"]
    return found


def load_balancer(run: Story) -> dict[str, Any]:
    found: dict[str, Any] = run.sandbox.direct_client("elbv2").describe_load_balancers(Names=["web-alb"])[
        "LoadBalancers"
    ][0]
    return found


def texts(run: Story) -> str:
    return "\n".join(str(note["payload"]) for note in run.notices())


def test_tutorial_story_validation_once_then_issued_then_alias_and_live(tmp_path: Path) -> None:
    with story(alb_setup(), tmp_path) as run:
        assert certificate(run)["Status"] == "PENDING_VALIDATION"
        run.step("reconcile_dns", {})

        options = certificate(run)["DomainValidationOptions"]
        assert {option["DomainName"] for option in options} == {"example.com", "*.example.com"}
        created = [change for change in _changed_names(run) if change[2] == "CNAME"]
        # example.com and *.example.com share one validation record: written once.
        assert [(name, action) for _, name, _, action in created] == [
            (_dotless(options[0]["ResourceRecord"]["Name"]), "CREATE")
        ]
        assert certificate(run)["Status"] == "ISSUED", "the record resolves, so ACM issued"
        # ACM's Certificate Available event ran the reconcile, which routed the names at once; the next
        # scheduled run changes nothing and says nothing.
        run.step("reconcile_dns", {})

        lb = load_balancer(run)
        assert lb["CanonicalHostedZoneId"] == ALB_ZONE_US_EAST_1
        for record_type in ("A", "AAAA"):
            record = _find(run, "example.com", "example.com", record_type)
            assert record is not None
            assert record["AliasTarget"]["HostedZoneId"] == ALB_ZONE_US_EAST_1
            assert _dotless(record["AliasTarget"]["DNSName"]) == _dotless(lb["DNSName"])
        assert _find(run, "example.com", "*.example.com", "A") is None, "wildcards get no ALIAS"
        assert run.notice_kinds() == ["domain_planned", "domain_planned", "domain_validated"]
        live = run.notices()[-1]
        assert "example.com is live on storefront (ECS)" in live["text"]
        assert "https://example.com" in str(live["payload"])
        assert run.report()["errors"] == []
        assert run.report()["dead_letters"] == []

        run.step("reconcile_dns", {})
        assert run.notice_kinds().count("domain_validated") == 1, "live is told once"


def test_stale_ec2_a_record_is_shown_and_left_alone_without_take_over(tmp_path: Path) -> None:
    stale = {"name": "example.com", "type": "A", "values": [STALE_APEX]}
    with story(alb_setup(stale), tmp_path) as run:
        run.step("reconcile_dns", {})
        run.step("reconcile_dns", {})

        apex = _find(run, "example.com", "example.com", "A")
        assert apex is not None
        assert "AliasTarget" not in apex
        assert _values(apex) == {STALE_APEX}
        assert _find(run, "example.com", "example.com", "AAAA") is None, "A and AAAA move together"
        assert "domain_conflict" in run.notice_kinds()
        assert "domain_validated" not in run.notice_kinds(), "not live while the old host answers"
        assert STALE_APEX in texts(run)
        assert "DNS_TAKE_OVER=true" in texts(run)


def test_take_over_replaces_the_stale_a_record_in_one_change_batch(tmp_path: Path) -> None:
    stale = {"name": "example.com", "type": "A", "values": [STALE_APEX]}
    setup = {**alb_setup(stale), "parameters": {"DnsTakeOver": "true"}}
    with story(setup, tmp_path) as run:
        run.step("reconcile_dns", {})
        run.step("reconcile_dns", {})

        batches = run.handler_calls("route53", "ChangeResourceRecordSets")
        replacing = [
            call
            for call in batches
            if any(change["Action"] == "DELETE" for change in call["params"]["ChangeBatch"]["Changes"])
        ]
        assert len(replacing) == 1
        changes = replacing[0]["params"]["ChangeBatch"]["Changes"]
        deleted = [change["ResourceRecordSet"] for change in changes if change["Action"] == "DELETE"]
        assert deleted == [
            {"Name": "example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": STALE_APEX}]}
        ]
        created = {
            change["ResourceRecordSet"]["Type"]
            for change in changes
            if change["Action"] == "CREATE" and "AliasTarget" in change["ResourceRecordSet"]
        }
        assert created == {"A", "AAAA"}, "the old record goes in the same batch the ALIAS comes in"
        apex = _find(run, "example.com", "example.com", "A")
        assert apex is not None
        assert apex["AliasTarget"]["HostedZoneId"] == ALB_ZONE_US_EAST_1
        assert run.notice_kinds()[-1] == "domain_validated"


def test_a_name_at_another_dns_provider_is_told_as_the_record_to_create(tmp_path: Path) -> None:
    with story(alb_setup(alternative_names=("shop.example.net",)), tmp_path) as run:
        run.step("reconcile_dns", {})

        option = next(
            option
            for option in certificate(run)["DomainValidationOptions"]
            if option["DomainName"] == "shop.example.net"
        )
        record = option["ResourceRecord"]
        advice = [
            note for note in run.notices() if note["payload"]["metadata"]["eventType"] == "domain_advice"
        ]
        assert len(advice) == 1
        wanted = f"create CNAME {_dotless(record['Name'])} → {record['Value']} by hand"
        assert wanted in str(advice[0]["payload"])
        assert all(name.endswith("example.com") for _, name, _, _ in _changed_names(run))
        assert certificate(run)["Status"] == "PENDING_VALIDATION", "one name still unvalidated"


def test_caa_record_forbidding_amazon_is_diagnosed(tmp_path: Path) -> None:
    caa = {"name": "example.com", "type": "CAA", "values": ['0 issue "letsencrypt.org"']}
    with story(alb_setup(caa), tmp_path) as run:
        run.step("reconcile_dns", {})
        assert certificate(run)["Status"] == "FAILED"
        run.step("reconcile_dns", {})

        blocked = [
            note for note in run.notices() if note["payload"]["metadata"]["eventType"] == "domain_blocked"
        ]
        assert len(blocked) == 1
        text = str(blocked[0]["payload"])
        assert "CAA at example.com lets no Amazon CA issue for example.com" in text
        assert 'add 0 issuewild \\"amazon.com\\"' in text or 'add 0 issuewild "amazon.com"' in text
        assert "request a new certificate" in text
        assert _find(run, "example.com", "example.com", "A") is None


def test_http_listener_without_redirect_is_advised_never_changed(tmp_path: Path) -> None:
    with story(alb_setup(http_redirect=False), tmp_path) as run:
        run.step("reconcile_dns", {})

        advice = [
            note for note in run.notices() if note["payload"]["metadata"]["eventType"] == "domain_advice"
        ]
        assert len(advice) == 1
        assert "serves plain HTTP instead of redirecting to HTTPS" in str(advice[0]["payload"])
        # The report lists every write a handler made: none to the load balancer.
        assert [call for call in run.report()["calls"] if call["service"] == "elasticloadbalancing"] == []


def test_no_write_ever_touches_a_record_pushpilot_does_not_own(tmp_path: Path) -> None:
    foreign = [
        {"name": "example.com", "type": "A", "values": [STALE_APEX]},
        {"name": "example.com", "type": "MX", "values": ["10 mail.example.com"]},
        {"name": "example.com", "type": "TXT", "values": ['"v=spf1 include:mail.example.com -all"']},
        {"name": "www.example.com", "type": "TXT", "values": ['"site-verification=4c1f2a"']},
        {"name": "api.example.com", "type": "CNAME", "values": ["api.example.net"]},
    ]
    setup = alb_setup(*foreign, alternative_names=("*.example.com", "www.example.com"))
    with story(setup, tmp_path) as run:
        before = _all_records(run)
        for _ in range(3):
            run.step("reconcile_dns", {})
        after = _all_records(run)

        assert {key: after.get(key) for key in before} == before
        zone_id = _zone_id(run, "example.com")
        foreign_keys = {(f"{zone_id}:{_dotless(r['name'])}", r["type"]) for r in foreign}
        changed = _changed_names(run)
        assert any(record_type == "A" for _, _, record_type, _ in changed), "www got its ALIAS"
        touched = [c for c in changed if (f"{c[0]}:{c[1]}", c[2]) in foreign_keys]
        assert touched == []
        assert all(action == "CREATE" for *_, action in changed)


@pytest.mark.parametrize(
    ("scenario", "kinds"),
    [
        ("alb-domain.yaml", ["domain_planned", "domain_planned", "domain_validated"]),
        ("alb-domain-stale-a.yaml", ["domain_planned", "domain_conflict"]),
        ("alb-domain-elsewhere.yaml", ["domain_planned", "domain_advice"]),
        ("alb-domain-caa.yaml", ["domain_planned", "domain_blocked"]),
        # ACM issues once the record resolves; its event routes the name in the same run.
        (
            "alb-domain-http-advice.yaml",
            ["domain_planned", "domain_advice", "domain_planned", "domain_validated"],
        ),
    ],
)
def test_alb_scenario_files_tell_their_story(scenario: str, kinds: list[str]) -> None:
    report = run_scenario(SCENARIOS / scenario, out=io.StringIO())
    assert sns_kinds(report["notifications"]) == kinds
    assert report["errors"] == []
    assert report["dead_letters"] == []


def test_acm_certificate_available_event_routes_the_names_at_once(tmp_path: Path) -> None:
    with story(alb_setup(), tmp_path) as run:
        run.step("reconcile_dns", {})

        # ACM issued once the record resolved, and its event ran the reconcile: no second schedule.
        triggered = [
            delivery
            for delivery in run.sandbox.router.deliveries
            if delivery.function == "ReconcileFunction" and delivery.trigger == "rule"
        ]
        assert len(triggered) == 1
        assert triggered[0].error_type is None
        alias = _find(run, "example.com", "example.com", "A")
        assert alias is not None
        assert alias["AliasTarget"]["HostedZoneId"] == ALB_ZONE_US_EAST_1
        assert run.notice_kinds() == ["domain_planned", "domain_planned", "domain_validated"]
