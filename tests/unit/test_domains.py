"""The DNS planner and diagnosis, on hand-built zones shaped like Route 53's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pushpilot.core.dns.diagnosis import Finding, diagnose
from pushpilot.core.dns.models import (
    AliasTarget,
    ChangeAction,
    DnsPlan,
    DnsPolicy,
    DomainBinding,
    RecordSet,
    ValidationRecord,
    ZoneSnapshot,
)
from pushpilot.core.dns.ownership import is_marker, marker_name, marker_value, owned_by, parse_marker
from pushpilot.core.dns.planning import plan_dns, project, stale_changes
from pushpilot.core.dns.rendering import render_plan
from pushpilot.targets.apprunner.declaration import DNS as APP_RUNNER_DNS

OWNER = "pushpilot-prod"
OTHER_OWNER = "pushpilot-staging"
REGION = "us-east-1"
TARGET = "k7x2mpq9rt.us-east-1.awsapprunner.com"
SERVICE_ARN = "arn:aws:apprunner:us-east-1:111122223333:service/storefront/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
APEX_NS = (
    "ns-101.awsdns-12.com.",
    "ns-1201.awsdns-22.org.",
    "ns-702.awsdns-23.net.",
    "ns-1800.awsdns-33.co.uk.",
)
WWW_NS = (
    "ns-44.awsdns-05.com.",
    "ns-1100.awsdns-11.org.",
    "ns-600.awsdns-13.net.",
    "ns-1900.awsdns-40.co.uk.",
)
VALIDATION_APEX = ValidationRecord(
    name="_5b0c1d2e3f405162738495a6b7c8d9e0.shop.example",
    value="_a1b2c3d4e5f60718293a4b5c6d7e8f90.zfyfvmchrl.acm-validations.aws.",
)
VALIDATION_WWW = ValidationRecord(
    name="_9e8d7c6b5a4f30211f2e3d4c5b6a7980.www.shop.example",
    value="_0f9e8d7c6b5a49382716a5b4c3d2e1f0.zfyfvmchrl.acm-validations.aws.",
)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def domain(
    name: str = "shop.example",
    *,
    www: bool = True,
    status: str = "PENDING_CERTIFICATE_DNS_VALIDATION",
    validations: tuple[ValidationRecord, ...] = (VALIDATION_APEX, VALIDATION_WWW),
) -> DomainBinding:
    return DomainBinding(
        **APP_RUNNER_DNS.model_dump(),
        service_arn=SERVICE_ARN,
        service_name="storefront",
        dns_target=TARGET,
        domain_name=name,
        enable_www=www,
        status=status,
        validation_records=validations,
    )


def zone(
    name: str, zone_id: str, *records: RecordSet, name_servers: tuple[str, ...] = APEX_NS
) -> ZoneSnapshot:
    """A zone as Route 53 creates it: SOA and NS at the apex, plus the given records."""
    base = (
        RecordSet(name=f"{name}.", type="NS", ttl=172800, values=name_servers),
        RecordSet(
            name=f"{name}.",
            type="SOA",
            ttl=900,
            values=(f"{name_servers[0]} awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400",),
        ),
    )
    return ZoneSnapshot(
        zone_id=zone_id, name=f"{name}.", name_servers=name_servers, records=(*base, *records)
    )


def owned(
    record: RecordSet, zone_name: str, owner: str = OWNER, for_domain: str = "shop.example"
) -> RecordSet:
    return RecordSet(
        name=marker_name(record.name, record.type, zone_name),
        type="TXT",
        ttl=300,
        values=(marker_value(owner, for_domain),),
    )


def plan(
    domains: list[DomainBinding],
    zones: list[ZoneSnapshot],
    *,
    take_over: bool = False,
    max_changes: int = 100,
    region: str = REGION,
    zone_ids: tuple[str, ...] | None = None,
) -> DnsPlan:
    """Planned as an operator who listed the given zones in DnsZoneIds, unless `zone_ids` says otherwise."""
    listed = tuple(z.zone_id for z in zones) if zone_ids is None else zone_ids
    policy = DnsPolicy(take_over=take_over, max_changes=max_changes, zone_ids=listed)
    return plan_dns(domains, zones, owner_id=OWNER, region=region, policy=policy)


def data_changes(result: DnsPlan) -> list[tuple[ChangeAction, str, str]]:
    return [(c.action, c.record.type, c.record.name) for c in result.changes if not is_marker(c.record)]


def alias(target: str = TARGET) -> AliasTarget:
    return AliasTarget(hosted_zone_id=APP_RUNNER_DNS.alias_zone_ids[REGION], dns_name=target)


# --- what a domain needs ---------------------------------------------------------------------------


def test_apex_gets_dual_stack_alias_and_www_a_cname() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP")])

    assert sorted(data_changes(result)) == sorted(
        [
            (ChangeAction.CREATE, "A", "shop.example"),
            (ChangeAction.CREATE, "AAAA", "shop.example"),
            (ChangeAction.CREATE, "CNAME", "www.shop.example"),
            (ChangeAction.CREATE, "CNAME", VALIDATION_APEX.name),
            (ChangeAction.CREATE, "CNAME", VALIDATION_WWW.name),
        ]
    )
    apex_a = next(c.record for c in result.changes if c.record.type == "A")
    assert apex_a.alias_target == alias()
    assert apex_a.ttl is None
    www = next(c.record for c in result.changes if c.record.name == "www.shop.example")
    assert www.values == (TARGET,)
    assert result.refused is None
    assert not result.conflicts


def test_subdomain_gets_a_cname_not_an_alias() -> None:
    result = plan([domain("api.shop.example", www=False, validations=())], [zone("shop.example", "ZSHOP")])

    assert data_changes(result) == [(ChangeAction.CREATE, "CNAME", "api.shop.example")]


def test_without_www_no_www_record_is_planned() -> None:
    result = plan([domain(www=False, validations=(VALIDATION_APEX,))], [zone("shop.example", "ZSHOP")])

    assert all(not name.startswith("www.") for _, _, name in data_changes(result))


def test_validation_cnames_carry_app_runners_values() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP")])

    created = {c.record.name: c.record.values for c in result.changes if c.record.type == "CNAME"}
    assert created[VALIDATION_APEX.name] == (VALIDATION_APEX.value,)
    assert created[VALIDATION_WWW.name] == (VALIDATION_WWW.value,)


def test_every_created_record_gets_an_ownership_marker_that_never_shares_a_cnames_name() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP")])

    records = [c.record for c in result.changes if not is_marker(c.record)]
    markers = {c.record.name: c.record for c in result.changes if is_marker(c.record)}
    for record in records:
        marker = markers[marker_name(record.name, record.type, "shop.example")]
        parsed = parse_marker(marker.values[0])
        assert parsed is not None
        assert parsed.owner_id == OWNER
        assert parsed.domain_name == "shop.example"
    cname_names = {r.name for r in records if r.type == "CNAME"}
    assert not cname_names & set(markers)


def test_private_zones_are_never_used() -> None:
    private = zone("shop.example", "ZPRIVATE").model_copy(update={"private": True})

    result = plan([domain()], [private])

    assert result.changes == ()
    assert any("no public hosted zone" in note for note in result.notes)


def test_names_in_zones_outside_the_allow_list_are_skipped_with_a_note() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP")], zone_ids=("ZOTHER",))

    assert result.changes == ()
    assert any("not in DNS_ZONE_IDS" in note for note in result.notes)


def test_no_zone_listed_plans_everything_and_refuses_to_write_with_the_fix() -> None:
    listed = plan([domain()], [zone("shop.example", "ZSHOP")])

    result = plan([domain()], [zone("shop.example", "ZSHOP")], zone_ids=())

    assert result.changes == listed.changes
    assert result.unlisted_zones == ("ZSHOP",)
    assert not result.applicable
    assert result.refused == (
        f"would change {listed.total_changes} record(s) in zone shop.example (ZSHOP); "
        "set DnsZoneIds to ZSHOP to let pushpilot apply it"
    )


def test_no_zone_listed_and_nothing_to_change_refuses_nothing() -> None:
    needed = plan([domain()], [zone("shop.example", "ZSHOP")]).changes
    done = zone("shop.example", "ZSHOP", *(change.record for change in needed))

    result = plan([domain()], [done], zone_ids=())

    assert result.changes == ()
    assert result.refused is None
    assert result.unlisted_zones == ()


def test_listed_zones_plan_to_be_written() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP")], zone_ids=("ZSHOP",))

    assert result.applicable
    assert result.unlisted_zones == ()


def test_a_listed_private_zone_is_refused_and_told_why() -> None:
    private = zone("shop.example", "ZPRIVATE").model_copy(update={"private": True, "loaded": False})

    result = plan([domain()], [private], zone_ids=("ZPRIVATE",))

    assert result.changes == ()
    assert any(
        "zone shop.example (ZPRIVATE) is private" in note and "remove it from DnsZoneIds" in note
        for note in result.notes
    )


def test_policy_reads_every_zone_but_writes_none_when_no_zone_is_listed() -> None:
    unlisted = DnsPolicy()
    listed = DnsPolicy(zone_ids=("ZSHOP",))

    assert unlisted.allows("ZSHOP")
    assert not unlisted.writes
    assert listed.allows("ZSHOP")
    assert not listed.allows("ZOTHER")
    assert listed.writes


def test_unknown_region_plans_no_alias_and_says_so() -> None:
    result = plan([domain(www=False, validations=())], [zone("shop.example", "ZSHOP")], region="xx-nowhere-1")

    assert result.changes == ()
    assert any("xx-nowhere-1" in note for note in result.notes)


def test_unknown_region_leaves_our_existing_alias_alone() -> None:
    existing = RecordSet(name="shop.example", type="A", alias_target=alias())
    shop = zone("shop.example", "ZSHOP", existing, owned(existing, "shop.example"))

    result = plan([domain(www=False, validations=())], [shop], region="xx-nowhere-1")

    assert result.changes == ()


# --- child zones and delegation --------------------------------------------------------------------


def test_www_in_its_own_zone_gets_an_alias_there_and_a_delegation_in_the_parent() -> None:
    parent = zone("shop.example", "ZSHOP")
    child = zone("www.shop.example", "ZWWW", name_servers=WWW_NS)

    result = plan([domain()], [parent, child])

    by_zone = {z.zone_id: [(c.action, c.record.type, c.record.name) for c in z.changes] for z in result.zones}
    assert (ChangeAction.CREATE, "A", "www.shop.example") in by_zone["ZWWW"]
    assert (ChangeAction.CREATE, "AAAA", "www.shop.example") in by_zone["ZWWW"]
    assert (ChangeAction.CREATE, "CNAME", VALIDATION_WWW.name) in by_zone["ZWWW"]
    assert (ChangeAction.CREATE, "NS", "www.shop.example") in by_zone["ZSHOP"]
    delegation = next(c.record for c in result.changes if c.record.type == "NS")
    assert delegation.values == WWW_NS


def test_correct_delegation_made_by_hand_is_left_alone() -> None:
    delegation = RecordSet(name="www.shop.example", type="NS", ttl=3600, values=WWW_NS)
    parent = zone("shop.example", "ZSHOP", delegation)
    child = zone("www.shop.example", "ZWWW", name_servers=WWW_NS)

    result = plan([domain()], [parent, child])

    assert all(c.record.type != "NS" for c in result.changes)
    assert not result.conflicts


def test_wrong_delegation_not_ours_is_a_conflict() -> None:
    stale = RecordSet(name="www.shop.example", type="NS", ttl=3600, values=APEX_NS)
    parent = zone("shop.example", "ZSHOP", stale)
    child = zone("www.shop.example", "ZWWW", name_servers=WWW_NS)

    result = plan([domain()], [parent, child])

    assert [c.record for c in result.conflicts] == [stale]
    assert all(c.record.type != "NS" for c in result.changes)


def test_wrong_delegation_that_is_ours_is_upserted() -> None:
    stale = RecordSet(name="www.shop.example", type="NS", ttl=172800, values=APEX_NS)
    parent = zone("shop.example", "ZSHOP", stale, owned(stale, "shop.example"))
    child = zone("www.shop.example", "ZWWW", name_servers=WWW_NS)

    result = plan([domain()], [parent, child])

    upsert = next(c for c in result.changes if c.record.type == "NS")
    assert upsert.action is ChangeAction.UPSERT
    assert upsert.record.values == WWW_NS
    assert upsert.previous == stale


# --- conflicts and take-over -----------------------------------------------------------------------

STALE_A = RecordSet(name="shop.example", type="A", ttl=300, values=("203.0.113.10",))


def test_stale_apex_a_is_a_conflict_and_untouched_without_take_over() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP", STALE_A)])

    assert [c.record for c in result.conflicts] == [STALE_A]
    assert not result.conflicts[0].replaced
    touched = {(c.record.name, c.record.type) for c in result.changes}
    # Neither half of the dual-stack switch happens while the A is in the way.
    assert ("shop.example", "A") not in touched
    assert ("shop.example", "AAAA") not in touched
    assert "! conflict: A shop.example 203.0.113.10 (not ours; --take-over to replace)" in render_plan(result)


def test_take_over_deletes_exactly_the_stale_a_and_creates_the_dual_stack_alias() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP", STALE_A)], take_over=True)

    deletes = [c.record for c in result.changes if c.action is ChangeAction.DELETE]
    assert deletes == [STALE_A]
    created = {
        (c.record.type, c.record.name): c.record for c in result.changes if c.action is ChangeAction.CREATE
    }
    assert created[("A", "shop.example")].alias_target == alias()
    assert created[("AAAA", "shop.example")].alias_target == alias()
    assert result.conflicts[0].replaced


def test_cname_with_another_value_is_a_conflict() -> None:
    theirs = RecordSet(name="www.shop.example", type="CNAME", ttl=60, values=("legacy-lb.shop.example.",))

    result = plan([domain()], [zone("shop.example", "ZSHOP", theirs)])

    assert [c.record for c in result.conflicts] == [theirs]
    assert all(c.record.name != "www.shop.example" for c in result.changes)


def test_a_records_where_a_cname_is_needed_are_conflicts() -> None:
    a_record = RecordSet(name="www.shop.example", type="A", ttl=60, values=("198.51.100.7",))
    txt = RecordSet(name="www.shop.example", type="TXT", ttl=60, values=('"v=spf1 -all"',))

    result = plan([domain()], [zone("shop.example", "ZSHOP", a_record, txt)], take_over=True)

    assert {c.record for c in result.conflicts} == {a_record, txt}
    deleted = {c.record for c in result.changes if c.action is ChangeAction.DELETE}
    assert deleted == {a_record, txt}
    assert (ChangeAction.CREATE, "CNAME", "www.shop.example") in data_changes(result)


def test_record_owned_by_another_stack_is_a_conflict_naming_it() -> None:
    theirs = RecordSet(
        name="www.shop.example", type="CNAME", ttl=300, values=("other.us-east-1.awsapprunner.com",)
    )
    their_marker = owned(theirs, "shop.example", owner=OTHER_OWNER)
    shop = zone("shop.example", "ZSHOP", theirs, their_marker)

    kept = plan([domain()], [shop])
    taken = plan([domain()], [shop], take_over=True)

    assert kept.conflicts[0].reason == f"owned by pushpilot stack {OTHER_OWNER}"
    assert all(c.record not in {theirs, their_marker} for c in kept.changes)
    deleted = {c.record for c in taken.changes if c.action is ChangeAction.DELETE}
    assert deleted == {theirs, their_marker}
    new_marker = next(
        c.record
        for c in taken.changes
        if c.record.name == their_marker.name and c.action is ChangeAction.CREATE
    )
    assert parse_marker(new_marker.values[0]) == parse_marker(marker_value(OWNER, "shop.example"))


def test_routed_records_are_never_taken_over() -> None:
    weighted = RecordSet(
        name="www.shop.example", type="A", ttl=60, values=("198.51.100.7",), set_identifier="blue"
    )

    result = plan([domain()], [zone("shop.example", "ZSHOP", weighted)], take_over=True)

    assert result.conflicts[0].record == weighted
    assert not result.conflicts[0].replaced
    assert all(c.record.name != "www.shop.example" for c in result.changes)


def test_correct_record_made_by_hand_is_neither_changed_nor_claimed() -> None:
    by_hand = RecordSet(name=VALIDATION_APEX.name, type="CNAME", ttl=3600, values=(VALIDATION_APEX.value,))

    result = plan([domain()], [zone("shop.example", "ZSHOP", by_hand)])

    assert all(c.record.name != by_hand.name for c in result.changes)
    assert all(c.record.name != marker_name(by_hand.name, "CNAME", "shop.example") for c in result.changes)
    assert not result.conflicts


def test_our_record_with_an_old_target_is_upserted() -> None:
    old = RecordSet(
        name="www.shop.example", type="CNAME", ttl=300, values=("old1234567.us-east-1.awsapprunner.com",)
    )
    shop = zone("shop.example", "ZSHOP", old, owned(old, "shop.example"))

    result = plan([domain()], [shop])

    change = next(c for c in result.changes if c.record.name == "www.shop.example")
    assert change.action is ChangeAction.UPSERT
    assert change.record.values == (TARGET,)
    assert change.previous == old


def test_records_we_own_that_a_domain_no_longer_needs_are_removed() -> None:
    www = RecordSet(name="www.shop.example", type="CNAME", ttl=300, values=(TARGET,))
    marker = owned(www, "shop.example")
    shop = zone("shop.example", "ZSHOP", www, marker)

    result = plan([domain(www=False, validations=())], [shop])

    deleted = {c.record for c in result.changes if c.action is ChangeAction.DELETE}
    assert deleted == {www, marker}


def test_records_of_another_owner_are_not_cleaned_up() -> None:
    www = RecordSet(name="www.shop.example", type="CNAME", ttl=300, values=(TARGET,))
    shop = zone("shop.example", "ZSHOP", www, owned(www, "shop.example", owner=OTHER_OWNER))

    result = plan([domain(www=False, validations=())], [shop])

    assert all(c.action is not ChangeAction.DELETE for c in result.changes)


# --- idempotence, thresholds, rendering ------------------------------------------------------------


@pytest.mark.parametrize("take_over", [False, True])
def test_planning_again_after_apply_is_empty(take_over: bool) -> None:
    zones = [
        zone("shop.example", "ZSHOP", STALE_A),
        zone("www.shop.example", "ZWWW", name_servers=WWW_NS),
    ]
    first = plan([domain()], zones, take_over=take_over)
    assert first.total_changes > 0

    second = plan([domain()], list(project(zones, first)), take_over=take_over)

    assert second.changes == ()
    assert second.total_changes == 0


def test_oversized_plan_is_refused_but_still_shown() -> None:
    result = plan([domain()], [zone("shop.example", "ZSHOP")], max_changes=3)

    assert result.total_changes == len(result.changes) > 3
    assert result.refused is not None
    assert f"--max-changes {result.total_changes}" in result.refused
    assert not result.applicable
    assert "REFUSED" in render_plan(result)


def test_render_plan_reads_like_a_plan() -> None:
    text = render_plan(plan([domain(www=False)], [zone("shop.example", "ZSHOP")]))

    assert f"+ CNAME {VALIDATION_APEX.name} → {VALIDATION_APEX.value}" in text
    assert f"+ A shop.example → ALIAS {TARGET}" in text
    assert "Plan: " in text


def test_render_of_an_empty_plan_says_so() -> None:
    assert "No changes" in render_plan(plan([], [zone("shop.example", "ZSHOP")]))


def test_stale_changes_catches_a_zone_edited_since_planning() -> None:
    shop = zone("shop.example", "ZSHOP", STALE_A)
    saved = plan([domain()], [shop], take_over=True)
    edited = zone("shop.example", "ZSHOP", STALE_A.model_copy(update={"values": ("203.0.113.99",)}))

    assert stale_changes(saved.zones[0], shop) == []
    problems = stale_changes(saved.zones[0], edited)
    assert any("shop.example" in problem for problem in problems)


def test_stale_changes_catches_a_record_created_since_planning() -> None:
    shop = zone("shop.example", "ZSHOP")
    saved = plan([domain()], [shop])
    someone = RecordSet(name=VALIDATION_APEX.name, type="CNAME", ttl=60, values=("elsewhere.example.",))

    problems = stale_changes(saved.zones[0], shop.model_copy(update={"records": (*shop.records, someone)}))

    assert any("now exists" in problem for problem in problems)


def test_owner_ids_that_would_break_the_marker_are_rejected() -> None:
    with pytest.raises(ValueError, match="owner id"):
        plan_dns([domain()], [], owner_id='a,"b', region=REGION, policy=DnsPolicy())


# --- diagnosis -------------------------------------------------------------------------------------


def codes(findings: list[Finding]) -> set[str]:
    return {finding.code for finding in findings}


def test_no_diagnosis_before_the_validation_has_waited_long_enough() -> None:
    assert diagnose(domain(), [zone("shop.example", "ZSHOP")], NOW, NOW - timedelta(minutes=30), 2) == []


def test_missing_validation_records_are_found_with_their_fix() -> None:
    findings = diagnose(
        domain(www=False, validations=(VALIDATION_APEX,)),
        [zone("shop.example", "ZSHOP")],
        NOW,
        NOW - timedelta(hours=3),
        2,
    )

    assert codes(findings) == {"validation-record-missing"}
    assert VALIDATION_APEX.value in findings[0].fix


def test_failed_validation_is_diagnosed_at_once() -> None:
    findings = diagnose(
        domain(www=False, status="CREATE_FAILED"), [zone("shop.example", "ZSHOP")], NOW, None, 2
    )

    assert "validation-record-missing" in codes(findings)


def test_validation_record_with_another_value_is_found() -> None:
    wrong = RecordSet(name=VALIDATION_APEX.name, type="CNAME", ttl=300, values=("_old.acm-validations.aws.",))

    findings = diagnose(
        domain(www=False, validations=(VALIDATION_APEX,)),
        [zone("shop.example", "ZSHOP", wrong)],
        NOW,
        NOW - timedelta(hours=3),
        2,
    )

    assert codes(findings) == {"validation-record-wrong"}
    assert findings[0].record == wrong


def test_validation_record_in_an_undelegated_child_zone_is_found() -> None:
    validation = RecordSet(name=VALIDATION_WWW.name, type="CNAME", ttl=300, values=(VALIDATION_WWW.value,))
    apex_validation = RecordSet(
        name=VALIDATION_APEX.name, type="CNAME", ttl=300, values=(VALIDATION_APEX.value,)
    )
    parent = zone("shop.example", "ZSHOP", apex_validation)
    child = zone("www.shop.example", "ZWWW", validation, name_servers=WWW_NS)

    findings = diagnose(domain(), [parent, child], NOW, NOW - timedelta(hours=3), 2)

    delegation = [f for f in findings if f.code == "zone-not-delegated"]
    assert len(delegation) == 1
    assert "ZSHOP" in delegation[0].fix
    assert WWW_NS[0] in delegation[0].fix


def test_cname_at_the_apex_is_found() -> None:
    # Route 53 refuses this, but zones imported from elsewhere can hold it.
    apex_cname = RecordSet(name="shop.example", type="CNAME", ttl=300, values=(TARGET,))

    findings = diagnose(
        domain(www=False, validations=(), status="CREATE_FAILED"),
        [zone("shop.example", "ZSHOP", apex_cname)],
        NOW,
        None,
        2,
    )

    assert "cname-at-apex" in codes(findings)


def test_domain_pointing_elsewhere_is_found() -> None:
    findings = diagnose(
        domain(www=False, validations=()),
        [zone("shop.example", "ZSHOP", STALE_A)],
        NOW,
        NOW - timedelta(hours=5),
        2,
    )

    assert codes(findings) == {"points-elsewhere"}
    assert findings[0].record == STALE_A


@pytest.mark.parametrize(
    ("caa_values", "blocked"),
    [
        (('0 issue "letsencrypt.org"',), True),
        (('0 issue "amazon.com"',), False),
        (('0 issue "letsencrypt.org"', '0 issue "amazontrust.com"'), False),
        (('0 iodef "mailto:security@shop.example"',), False),
    ],
)
def test_caa_at_a_parent_name_is_checked(caa_values: tuple[str, ...], blocked: bool) -> None:
    caa = RecordSet(name="shop.example", type="CAA", ttl=300, values=caa_values)
    findings = diagnose(
        domain("api.shop.example", www=False, validations=()),
        [zone("shop.example", "ZSHOP", caa)],
        NOW,
        NOW - timedelta(hours=3),
        2,
    )

    assert ("caa-forbids-amazon" in codes(findings)) is blocked


# --- the safety property ---------------------------------------------------------------------------

NAMES = ["shop.example", "www.shop.example", "api.shop.example", VALIDATION_APEX.name, VALIDATION_WWW.name]
TYPES = ["A", "AAAA", "CNAME", "TXT", "MX", "NS"]


@st.composite
def existing_records(draw: st.DrawFn) -> list[RecordSet]:
    records: dict[tuple[str, str], RecordSet] = {}
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        name = draw(st.sampled_from(NAMES))
        record_type = draw(st.sampled_from(TYPES))
        if record_type == "NS" and name == "shop.example":
            continue
        if record_type == "CNAME" and name == "shop.example":
            continue
        use_alias = record_type in {"A", "AAAA"} and draw(st.booleans())
        target = draw(
            st.sampled_from([TARGET, "old9876543.us-east-1.awsapprunner.com", "lb.shop.example", ALB_TARGET])
        )
        if use_alias:
            zone_id = ALB_ZONE if target == ALB_TARGET else APP_RUNNER_DNS.alias_zone_ids[REGION]
            record = RecordSet(
                name=name, type=record_type, alias_target=AliasTarget(hosted_zone_id=zone_id, dns_name=target)
            )
        else:
            value = {
                "A": "203.0.113.10",
                "AAAA": "2001:db8::10",
                "CNAME": target,
                "TXT": '"v=spf1 -all"',
                "MX": "10 mail.shop.example.",
                "NS": WWW_NS[0],
            }[record_type]
            routed = draw(st.sampled_from([None, None, "blue"])) if record_type in {"A", "CNAME"} else None
            record = RecordSet(name=name, type=record_type, ttl=300, values=(value,), set_identifier=routed)
        records[(name, record_type)] = record
    # Route 53 refuses other data beside a CNAME: keep snapshots possible.
    cname_names = {name for name, record_type in records if record_type == "CNAME"}
    kept = [
        r for (name, record_type), r in records.items() if record_type == "CNAME" or name not in cname_names
    ]
    markers: list[RecordSet] = []
    for record in kept:
        marker_kind = draw(st.sampled_from(["none", "ours", "theirs", "junk"]))
        if marker_kind == "none" or record.set_identifier is not None:
            continue
        if marker_kind == "junk":
            markers.append(
                RecordSet(
                    name=marker_name(record.name, record.type, "shop.example"),
                    type="TXT",
                    ttl=300,
                    values=('"hand-written note"',),
                )
            )
        else:
            owner = OWNER if marker_kind == "ours" else OTHER_OWNER
            markers.append(owned(record, "shop.example", owner=owner))
    return kept + markers


def is_ours(snapshot: ZoneSnapshot, record: RecordSet) -> bool:
    if is_marker(record):
        return any((m := parse_marker(v)) is not None and m.owner_id == OWNER for v in record.values)
    return owned_by(snapshot, record, OWNER)


ALB_TARGET = "web-alb-1234567890.us-east-1.elb.amazonaws.com"
ALB_ZONE = "Z35SXDOTRQ7X7K"
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def alb_domain(
    name: str = "shop.example",
    *,
    www: bool = True,
    status: str = "ISSUED",
    dualstack: bool = True,
    validations: tuple[ValidationRecord, ...] = (VALIDATION_APEX, VALIDATION_WWW),
) -> DomainBinding:
    """An ECS service's certificate on its load balancer: ALIAS at every name, once issued."""
    return DomainBinding(
        service_arn="arn:aws:ecs:us-east-1:111122223333:service/web/storefront",
        service_name="storefront",
        service_kind="ECS",
        dns_target=ALB_TARGET,
        domain_name=name,
        status=status,
        validation_records=validations,
        names=(name, f"www.{name}") if www else (name,),
        alias_zone_id=ALB_ZONE,
        alias_every_name=True,
        ipv6=dualstack,
        route_ready=status == "ISSUED",
        certificate_arn=CERTIFICATE_ARN,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=existing_records(),
    take_over=st.booleans(),
    www=st.booleans(),
    child_zone=st.booleans(),
    name=st.sampled_from(["shop.example", "api.shop.example"]),
    kind=st.sampled_from(["apprunner", "alb-dualstack", "alb-ipv4", "alb-pending"]),
)
def test_only_our_records_or_listed_conflicts_are_ever_changed(
    *, records: list[RecordSet], take_over: bool, www: bool, child_zone: bool, name: str, kind: str
) -> None:
    zones = [zone("shop.example", "ZSHOP", *records)]
    if child_zone:
        zones.append(zone("www.shop.example", "ZWWW", name_servers=WWW_NS))
    if kind == "apprunner":
        wanted = domain(name, www=www)
    else:
        wanted = alb_domain(
            name,
            www=www,
            dualstack=kind != "alb-ipv4",
            status="PENDING_VALIDATION" if kind == "alb-pending" else "ISSUED",
        )

    result = plan([wanted], zones, take_over=take_over)

    snapshots = {z.zone_id: z for z in zones}
    for zone_plan in result.zones:
        snapshot = snapshots[zone_plan.zone_id]
        replaced = {
            c.record.key for c in result.conflicts if c.replaced and c.zone_id == zone_plan.zone_id
        } | {c.marker.key for c in result.conflicts if c.replaced and c.marker is not None}
        for change in zone_plan.changes:
            if change.action is ChangeAction.CREATE:
                continue
            target = next((r for r in snapshot.records if r.key == change.record.key), None)
            assert target is not None, change
            if not is_ours(snapshot, target):
                assert take_over, change
                assert target.key in replaced, change
    # The plan fits the zones as Route 53 would apply it, and converges.
    settled = project(zones, result)
    assert plan([wanted], list(settled), take_over=take_over).changes == ()


def test_wildcard_domain_gets_a_cname_and_a_marker_route53_can_store() -> None:
    result = plan([domain("*.shop.example", www=False, validations=())], [zone("shop.example", "ZSHOP")])

    assert data_changes(result) == [(ChangeAction.CREATE, "CNAME", "*.shop.example")]
    marker = next(c.record for c in result.changes if is_marker(c.record))
    # Route 53 lists a literal asterisk as \052: both spellings are the same name.
    assert marker.name == RecordSet(name="_pushpilot-cname-\\052.shop.example.", type="TXT").name
    settled = project([zone("shop.example", "ZSHOP")], result)
    assert plan([domain("*.shop.example", www=False, validations=())], list(settled)).changes == ()


def test_long_labels_get_markers_within_dns_limits() -> None:
    label = "a" * 60
    name = marker_name(f"{label}.shop.example", "CNAME", "shop.example")

    assert all(len(part) <= 63 for part in name.split("."))
    assert name != marker_name(f"{'b' * 60}.shop.example", "CNAME", "shop.example")
