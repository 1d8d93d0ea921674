"""The DNS planner and diagnosis for load-balanced bindings (an ECS service's certificate on its ALB):
ALIAS at every name once issued, AAAA only for dual-stack, records to create by hand, the 72-hour
timeout, CAA for wildcard names, a name that is a CNAME, and advice that is never a write."""

from __future__ import annotations

from datetime import timedelta

from pushpilot.core.dns.diagnosis import advise, diagnose
from pushpilot.core.dns.models import Advisory, AliasTarget, ChangeAction, RecordSet, ValidationRecord
from pushpilot.core.dns.ownership import is_marker
from pushpilot.core.dns.planning import project
from pushpilot.core.dns.rendering import render_plan
from tests.unit.test_domains import (
    ALB_TARGET,
    ALB_ZONE,
    NOW,
    VALIDATION_APEX,
    alb_domain,
    data_changes,
    owned,
    plan,
    zone,
)

WILDCARD_SHARED = ValidationRecord(
    name=VALIDATION_APEX.name, value=VALIDATION_APEX.value, for_names=("shop.example", "*.shop.example")
)


def test_issued_certificate_gets_alias_a_and_aaaa_at_every_name_with_the_api_zone_id() -> None:
    result = plan([alb_domain(validations=(WILDCARD_SHARED,))], [zone("shop.example", "ZSHOP")])

    assert data_changes(result) == [
        (ChangeAction.CREATE, "CNAME", VALIDATION_APEX.name),
        (ChangeAction.CREATE, "A", "shop.example"),
        (ChangeAction.CREATE, "AAAA", "shop.example"),
        (ChangeAction.CREATE, "A", "www.shop.example"),
        (ChangeAction.CREATE, "AAAA", "www.shop.example"),
    ]
    aliases = [c.record.alias_target for c in result.changes if c.record.alias_target is not None]
    assert {(a.hosted_zone_id, a.dns_name) for a in aliases} == {(ALB_ZONE, ALB_TARGET)}
    settled = project([zone("shop.example", "ZSHOP")], result)
    assert plan([alb_domain(validations=(WILDCARD_SHARED,))], list(settled)).changes == ()


def test_ipv4_load_balancer_gets_no_aaaa() -> None:
    result = plan([alb_domain(www=False, dualstack=False, validations=())], [zone("shop.example", "ZSHOP")])

    assert data_changes(result) == [(ChangeAction.CREATE, "A", "shop.example")]


def test_pending_certificate_gets_only_its_validation_record_and_our_alias_stays() -> None:
    ours = RecordSet(
        name="shop.example", type="A", alias_target=AliasTarget(hosted_zone_id=ALB_ZONE, dns_name=ALB_TARGET)
    )
    shop = zone("shop.example", "ZSHOP", ours, owned(ours, "shop.example"))

    result = plan([alb_domain(www=False, status="PENDING_VALIDATION")], [shop])

    assert [change for change in data_changes(result) if change[1] != "CNAME"] == []
    assert (ChangeAction.CREATE, "CNAME", VALIDATION_APEX.name) in data_changes(result)


def test_stale_ip_record_is_a_conflict_replaced_in_one_zone_plan_only_on_take_over() -> None:
    stale = RecordSet(name="shop.example", type="A", ttl=300, values=("203.0.113.10",))
    shop = zone("shop.example", "ZSHOP", stale)

    kept = plan([alb_domain(www=False, validations=())], [shop])
    replaced = plan([alb_domain(www=False, validations=())], [shop], take_over=True)

    assert data_changes(kept) == []
    assert [c.record.describe() for c in kept.conflicts] == ["A shop.example 203.0.113.10"]
    (zone_plan,) = replaced.zones
    data = [(c.action, c.record.type) for c in zone_plan.changes if not is_marker(c.record)]
    assert data == [(ChangeAction.DELETE, "A"), (ChangeAction.CREATE, "A"), (ChangeAction.CREATE, "AAAA")]
    assert zone_plan.changes[0].record == stale, "deleted with its exact old values"


def test_names_in_zones_the_stack_may_not_write_are_told_as_records_to_create() -> None:
    result = plan([alb_domain(www=False)], [zone("shop.example", "ZSHOP")], zone_ids=("ZOTHER",))

    assert result.changes == ()
    wanted = {manual.record.describe() for manual in result.manual}
    assert f"CNAME {VALIDATION_APEX.name} {VALIDATION_APEX.value}" in wanted
    assert f"A shop.example ALIAS {ALB_TARGET} ({ALB_ZONE})" in wanted
    assert "by hand: " in render_plan(result)


def test_names_at_another_provider_are_told_as_a_cname_to_the_load_balancer() -> None:
    result = plan(
        [alb_domain("shop.example.net", www=False, validations=())], [zone("shop.example", "ZSHOP")]
    )

    assert [manual.record.describe() for manual in result.manual] == [f"CNAME shop.example.net {ALB_TARGET}"]


def test_timed_out_certificate_says_request_a_new_one_and_plans_nothing() -> None:
    result = plan([alb_domain(status="VALIDATION_TIMED_OUT")], [zone("shop.example", "ZSHOP")])
    findings = diagnose(
        alb_domain(status="VALIDATION_TIMED_OUT"), [zone("shop.example", "ZSHOP")], NOW, None, 2
    )

    assert result.changes == ()
    assert "request-new-certificate" in {finding.code for finding in findings}
    assert any("72 hours" in finding.cause for finding in findings)


def test_caa_is_checked_for_the_wildcard_the_certificate_covers() -> None:
    caa = RecordSet(
        name="shop.example",
        type="CAA",
        ttl=300,
        values=('0 issue "amazon.com"', '0 issuewild "letsencrypt.org"'),
    )
    pending = alb_domain(www=False, status="PENDING_VALIDATION", validations=(WILDCARD_SHARED,))

    findings = diagnose(pending, [zone("shop.example", "ZSHOP", caa)], NOW, NOW - timedelta(hours=3), 2)

    assert [(f.code, f.fix) for f in findings if f.code == "caa-forbids-amazon"] == [
        ("caa-forbids-amazon", 'add 0 issuewild "amazon.com" to the CAA record at shop.example')
    ]


def test_a_name_that_is_a_cname_is_found_while_pending() -> None:
    cname = RecordSet(name="www.shop.example", type="CNAME", ttl=300, values=("old-host.example.net",))
    pending = alb_domain(status="PENDING_VALIDATION")

    findings = diagnose(pending, [zone("shop.example", "ZSHOP", cname)], NOW, NOW - timedelta(hours=3), 2)

    assert "name-is-cname" in {finding.code for finding in findings}


def test_advice_is_the_sources_and_an_expiring_certificate_whose_record_is_gone() -> None:
    expiring = alb_domain(www=False, validations=(VALIDATION_APEX,)).model_copy(
        update={
            "certificate_expires_at": NOW + timedelta(days=30),
            "advisories": (Advisory(code="http-not-redirected", cause="HTTP serves plain", fix="redirect"),),
        }
    )
    with_record = zone(
        "shop.example",
        "ZSHOP",
        RecordSet(name=VALIDATION_APEX.name, type="CNAME", ttl=300, values=(VALIDATION_APEX.value,)),
    )

    gone = advise(expiring, [zone("shop.example", "ZSHOP")], NOW)
    kept = advise(expiring, [with_record], NOW)
    far = advise(expiring.model_copy(update={"certificate_expires_at": NOW + timedelta(days=300)}), [], NOW)

    assert [finding.code for finding in gone] == ["http-not-redirected", "renewal-blocked"]
    assert [finding.code for finding in kept] == ["http-not-redirected"]
    assert [finding.code for finding in far] == ["http-not-redirected"]


def test_a_zone_its_registrar_does_not_delegate_to_is_found() -> None:
    elsewhere = ("ns1.old-dns-host.example.net.", "ns2.old-dns-host.example.net.")
    shop = zone("shop.example", "ZSHOP").model_copy(update={"registrar_name_servers": elsewhere})
    pending = alb_domain(www=False, status="PENDING_VALIDATION", validations=(VALIDATION_APEX,))

    findings = diagnose(pending, [shop], NOW, NOW - timedelta(hours=3), 2)
    delegated = diagnose(
        pending,
        [shop.model_copy(update={"registrar_name_servers": shop.name_servers})],
        NOW,
        NOW - timedelta(hours=3),
        2,
    )

    causes = [finding.cause for finding in findings if finding.code == "zone-not-delegated"]
    assert len(causes) == 1
    assert "ns1.old-dns-host.example.net." in causes[0]
    assert [finding.code for finding in delegated if finding.code == "zone-not-delegated"] == []
