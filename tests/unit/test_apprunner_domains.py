"""Which hosted zone answers for a name, and so whether a validation CNAME is visible to the world."""

from __future__ import annotations

from pushpilot_sandbox.apprunner_domains import HostedZone, RecordSet, authoritative_zones, cname_resolves

PARENT_SERVERS = frozenset({"ns-101.awsdns-12.com", "ns-702.awsdns-23.net"})
CHILD_SERVERS = frozenset({"ns-1300.awsdns-34.org", "ns-1900.awsdns-45.co.uk"})
RECORD = "_5e1d0c9b8a7f6e5d4c3b2a1908f7e6d5.www.shop.example.org"
VALUE = "_0a1b2c3d4e5f60718293a4b5c6d7e8f9.qwertyuiop.acm-validations.aws."


def _zone(name: str, servers: frozenset[str], *record_sets: RecordSet) -> HostedZone:
    apex = RecordSet(name=name, type="NS", values=servers)
    return HostedZone(
        zone_id=f"/hostedzone/{name}", name=name, name_servers=servers, record_sets=(apex, *record_sets)
    )


def _cname(name: str, value: str = VALUE) -> RecordSet:
    return RecordSet(name=name, type="CNAME", values=frozenset({value.rstrip(".").lower()}))


def _delegation(child: str, servers: frozenset[str]) -> RecordSet:
    return RecordSet(name=child, type="NS", values=servers)


def test_a_lone_zone_answers_for_names_under_it() -> None:
    parent = _zone("shop.example.org", PARENT_SERVERS, _cname(RECORD))
    assert authoritative_zones(RECORD, [parent]) == [parent]
    assert cname_resolves(RECORD, VALUE, [parent])


def test_names_outside_every_zone_resolve_nowhere() -> None:
    parent = _zone("shop.example.org", PARENT_SERVERS, _cname(RECORD))
    assert authoritative_zones("_abc.example.net", [parent]) == []
    assert not cname_resolves("_abc.example.net", VALUE, [parent])


def test_an_undelegated_child_zone_is_invisible() -> None:
    parent = _zone("shop.example.org", PARENT_SERVERS)
    child = _zone("www.shop.example.org", CHILD_SERVERS, _cname(RECORD))
    assert authoritative_zones(RECORD, [parent, child]) == [parent]
    assert not cname_resolves(RECORD, VALUE, [parent, child])


def test_a_delegated_child_zone_answers() -> None:
    parent = _zone("shop.example.org", PARENT_SERVERS, _delegation("www.shop.example.org", CHILD_SERVERS))
    child = _zone("www.shop.example.org", CHILD_SERVERS, _cname(RECORD))
    assert authoritative_zones(RECORD, [child, parent]) == [child]
    assert cname_resolves(RECORD, VALUE, [parent, child])


def test_a_record_left_in_the_parent_after_delegation_is_shadowed() -> None:
    parent = _zone(
        "shop.example.org", PARENT_SERVERS, _delegation("www.shop.example.org", CHILD_SERVERS), _cname(RECORD)
    )
    child = _zone("www.shop.example.org", CHILD_SERVERS)
    assert not cname_resolves(RECORD, VALUE, [parent, child])


def test_a_delegation_naming_other_servers_is_lame() -> None:
    parent = _zone("shop.example.org", PARENT_SERVERS, _delegation("www.shop.example.org", PARENT_SERVERS))
    child = _zone("www.shop.example.org", CHILD_SERVERS, _cname(RECORD))
    assert authoritative_zones(RECORD, [parent, child]) == []
    assert not cname_resolves(RECORD, VALUE, [parent, child])


def test_names_and_values_compare_without_case_or_trailing_dot() -> None:
    parent = _zone("shop.example.org", PARENT_SERVERS, _cname(RECORD))
    assert cname_resolves(RECORD.upper() + ".", VALUE.upper().rstrip("."), [parent])
    assert not cname_resolves(RECORD, VALUE.replace("qwertyuiop", "asdfghjklz"), [parent])
