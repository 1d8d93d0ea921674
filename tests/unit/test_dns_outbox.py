"""Whether the changes held notices announce are in a zone: only then may the notices be told."""

from __future__ import annotations

from pushpilot.core.dns.models import AliasTarget, Change, ChangeAction, RecordSet, ZonePlan
from pushpilot.core.dns.outbox import held_key, in_effect
from tests.unit.test_domains import zone

STALE = RecordSet(name="shop.example", type="A", ttl=300, values=("203.0.113.10",))
ALIAS = RecordSet(
    name="shop.example",
    type="A",
    alias_target=AliasTarget(
        hosted_zone_id="Z35SXDOTRQ7X7K", dns_name="web-alb-1.us-east-1.elb.amazonaws.com"
    ),
)
VALIDATION = RecordSet(
    name="_5b0c1d2e3f405162738495a6b7c8d9e0.shop.example",
    type="CNAME",
    ttl=300,
    values=("_a1b2c3d4e5f60718293a4b5c6d7e8f90.zfyfvmchrl.acm-validations.aws.",),
)
TAKE_OVER = ZonePlan(
    zone_id="ZSHOP",
    zone_name="shop.example",
    changes=(
        Change(action=ChangeAction.DELETE, record=STALE),
        Change(action=ChangeAction.CREATE, record=ALIAS),
        Change(action=ChangeAction.CREATE, record=VALIDATION),
    ),
)


def test_a_take_over_is_in_effect_once_the_alias_replaced_the_old_record() -> None:
    assert in_effect(TAKE_OVER, zone("shop.example", "ZSHOP", ALIAS, VALIDATION))


def test_a_take_over_is_not_in_effect_while_the_old_record_answers() -> None:
    assert not in_effect(TAKE_OVER, zone("shop.example", "ZSHOP", STALE))
    assert not in_effect(TAKE_OVER, zone("shop.example", "ZSHOP", ALIAS))


def test_a_delete_alone_is_in_effect_once_the_record_is_gone() -> None:
    delete = ZonePlan(
        zone_id="ZSHOP",
        zone_name="shop.example",
        changes=(Change(action=ChangeAction.DELETE, record=VALIDATION),),
    )

    assert in_effect(delete, zone("shop.example", "ZSHOP"))
    assert not in_effect(delete, zone("shop.example", "ZSHOP", VALIDATION))


def test_the_same_changes_are_held_under_one_key() -> None:
    assert held_key([], [TAKE_OVER]) == held_key([], [TAKE_OVER])
    assert held_key([], [TAKE_OVER]) != held_key([], [])
