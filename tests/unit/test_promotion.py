"""Promotion: a release live upstream for its whole bake deploys its exact digest downstream, once;
rollbacks, failures, alarms and newer releases stop it, each told. Driven with the fakes of the ports,
the bus relayed by hand (the template's rule does it in the sandbox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter

from pushpilot.core.notices import NoticeKind
from pushpilot.core.promotion import BakeState, parse_duration, read_promotion
from pushpilot.core.tracking import Hold
from pushpilot.events.pushpilot import PushpilotReleaseEvent
from pushpilot.flows.outcome import handle_operation_ended
from pushpilot.flows.promote import advance_bakes, on_release_event, promote_by_hand
from pushpilot.flows.push import handle_push
from pushpilot.flows.release_control import list_releases, render_releases
from tests.fakes import FakeWorld, digest_of, service_snapshot
from tests.unit.test_deploy_path_truth import ended, push_event

pytestmark = pytest.mark.unit

_EVENT = TypeAdapter(PushpilotReleaseEvent)
STAGING = "staging-web"
PROD = "prod-web"


class Bus:
    """What the template's ReleaseStages rule does: every Live, Rolled Back and Failed event of the stack
    goes to the promotion flow, once each."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.seen = 0

    def relay(self) -> None:
        while self.seen < len(self.world.events.delivered):
            event = self.world.events.delivered[self.seen]
            self.seen += 1
            if event["detail-type"] in {"Release Live", "Release Rolled Back", "Release Failed"}:
                on_release_event(_EVENT.validate_python(event), self.world.ports)


def arn(world: FakeWorld, name: str) -> str:
    service = world.index.find_by_name("apprunner", name)
    assert service is not None
    return service.arn


def deployed(world: FakeWorld, name: str) -> list[str]:
    """The digests deployed to a service, oldest first."""
    return [digest for service, digest, _ in world.apprunner.deployed if service == name]


def finish(world: FakeWorld, bus: Bus, name: str, status: str = "SUCCEEDED") -> None:
    world.apprunner.end_operation(arn(world, name), status)
    event = "DeploymentCompletedSuccessfully" if status == "SUCCEEDED" else "DeploymentFailed"
    handle_operation_ended(ended(world, name, event), world.ports)
    bus.relay()


def later(world: FakeWorld, bus: Bus, minutes: float) -> None:
    """The scheduled refresh, `minutes` later."""
    world.advance(minutes * 60)
    advance_bakes(world.ports)
    bus.relay()


def stages(*names_and_tags: tuple[str, dict[str, str]]) -> tuple[FakeWorld, Bus]:
    world = FakeWorld([service_snapshot(name, "web", tags=tags) for name, tags in names_and_tags])
    return world, Bus(world)


def titles(world: FakeWorld) -> list[str]:
    return [notice.title for notice in world.sink.notices]


def test_staging_to_prod_waits_the_bake_then_deploys_the_upstream_digest_once() -> None:
    world, bus = stages((STAGING, {}), (PROD, {"pushpilot:promote-from": STAGING, "pushpilot:bake": "30m"}))
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    assert deployed(world, STAGING) == [digest]
    assert deployed(world, PROD) == []
    finish(world, bus, STAGING)

    later(world, bus, 10)
    assert deployed(world, PROD) == []
    later(world, bus, 21)
    assert deployed(world, PROD) == [digest]
    # The refresh comes again, the Live event is delivered twice: nothing more.
    later(world, bus, 10)
    bus.seen = 0
    bus.relay()
    assert deployed(world, PROD) == [digest]

    deploying = [n for n in world.sink.notices if n.kind is NoticeKind.DEPLOYING and PROD in n.title]
    assert len(deploying) == 1
    assert "promoted from staging-web after 30 min live" in deploying[0].summary + " ".join(
        deploying[0].details
    )
    promoted = world.events.of_type("Release Promoted")
    assert len(promoted) == 1
    assert promoted[0]["detail"]["promoted_from"]["service"] == STAGING
    assert promoted[0]["detail"]["promoted_from"]["baked_minutes"] == 30
    assert promoted[0]["detail"]["digest"] == digest


def test_a_release_rolled_back_upstream_never_reaches_prod() -> None:
    world, bus = stages((STAGING, {}), (PROD, {"pushpilot:promote-from": STAGING}))
    handle_push(push_event(digest_of("web-1"), time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING, "ROLLBACK_SUCCEEDED")
    later(world, bus, 31)
    later(world, bus, 60)
    assert deployed(world, PROD) == []
    assert "Release Rolled Back" in [event["detail-type"] for event in world.events.delivered]


def test_a_release_replaced_upstream_during_the_bake_is_dropped_and_the_newer_one_bakes() -> None:
    world, bus = stages((STAGING, {}), (PROD, {"pushpilot:promote-from": STAGING}))
    first, second = digest_of("web-1"), digest_of("web-2")
    handle_push(push_event(first, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 10)
    handle_push(push_event(second, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)

    assert any("a newer release is live on staging-web" in title for title in titles(world))
    later(world, bus, 25)  # 35 minutes after the first went live, 25 after the second
    assert deployed(world, PROD) == []
    later(world, bus, 6)
    assert deployed(world, PROD) == [second]


def test_an_alarm_in_alarm_holds_the_bake_and_ok_again_bakes_afresh() -> None:
    tags = {
        "pushpilot:promote-from": STAGING,
        "pushpilot:bake": "30m",
        "pushpilot:bake-alarms": "storefront-5xx",
    }
    world, bus = stages((STAGING, {}), (PROD, tags))
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 10)
    world.alarms.states["storefront-5xx"] = "ALARM"
    later(world, bus, 25)  # 35 minutes live, but held
    assert deployed(world, PROD) == []
    assert "promotion to prod-web held: storefront-5xx in ALARM" in titles(world)
    held = world.events.of_type("Release Held")
    assert [event["detail"]["held_by"] for event in held] == [["alarm storefront-5xx"]]
    later(world, bus, 10)
    assert len(world.events.of_type("Release Held")) == 1  # still held: told once

    world.alarms.states["storefront-5xx"] = "OK"
    later(world, bus, 1)  # the fresh bake starts now
    later(world, bus, 29)
    assert deployed(world, PROD) == []
    later(world, bus, 2)
    assert deployed(world, PROD) == [digest]


def test_a_three_stage_chain_promotes_stage_by_stage() -> None:
    world, bus = stages(
        ("dev-web", {}),
        (STAGING, {"pushpilot:promote-from": "dev-web", "pushpilot:bake": "10m"}),
        (PROD, {"pushpilot:promote-from": STAGING, "pushpilot:bake": "1h"}),
    )
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    assert (deployed(world, STAGING), deployed(world, PROD)) == ([], [])
    finish(world, bus, "dev-web")
    later(world, bus, 11)
    assert deployed(world, STAGING) == [digest]
    assert deployed(world, PROD) == []
    finish(world, bus, STAGING)
    later(world, bus, 59)
    assert deployed(world, PROD) == []
    later(world, bus, 2)
    assert deployed(world, PROD) == [digest]


def test_a_lost_live_event_is_made_up_by_the_refresh() -> None:
    world, _bus = stages((STAGING, {}), (PROD, {"pushpilot:promote-from": STAGING, "pushpilot:bake": "30m"}))
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    world.apprunner.end_operation(arn(world, STAGING), "SUCCEEDED")
    handle_operation_ended(ended(world, STAGING, "DeploymentCompletedSuccessfully"), world.ports)
    # No relay: the Live event never reached the rule.
    world.advance(31 * 60)
    advance_bakes(world.ports)
    assert deployed(world, PROD) == [digest]


def test_promote_now_skips_the_bake_and_says_so() -> None:
    world, bus = stages((STAGING, {}), (PROD, {"pushpilot:promote-from": STAGING}))
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    world.advance(4 * 60)

    waiting = promote_by_hand(world.ports, PROD)
    assert "bakes 26 min more on staging-web" in waiting
    assert deployed(world, PROD) == []
    answer = promote_by_hand(world.ports, PROD, now_=True)
    assert "without the bake" in answer
    assert deployed(world, PROD) == [digest]
    promoted = world.events.of_type("Release Promoted")[0]["detail"]
    assert promoted["promoted_from"]["baked_minutes"] is None
    later(world, bus, 40)
    assert deployed(world, PROD) == [digest]


def test_releases_shows_the_stage_and_the_time_left() -> None:
    world, bus = stages((STAGING, {}), (PROD, {"pushpilot:promote-from": STAGING, "pushpilot:bake": "30m"}))
    handle_push(push_event(digest_of("web-1"), time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    world.advance(10 * 60)
    text = render_releases(list_releases(world.ports, PROD))
    assert "  stage    promoted from staging-web after 30 min live" in text
    assert "from staging-web, 20 min left" in text


def test_a_held_promoted_to_service_is_told_and_not_deployed() -> None:
    tags = {"pushpilot:promote-from": STAGING, "pushpilot:bake": "5m", "pushpilot:hold": "change freeze"}
    world, bus = stages((STAGING, {}), (PROD, tags))
    handle_push(push_event(digest_of("web-1"), time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 6)
    assert deployed(world, PROD) == []
    assert "not promoted to prod-web: it is held (change freeze)" in titles(world)
    # Promoted as far as the bake goes: `pushpilot release` then `pushpilot promote` deploys it.
    assert world.promotions.items[arn(world, PROD)].state is BakeState.PROMOTED


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("1h", 60), ("1h30m", 90), ("45", 45), ("90s", 1.5), ("0", 0)]
)
def test_bake_durations(text: str, minutes: float) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


def test_a_bake_that_cannot_be_read_keeps_the_default_and_says_why() -> None:
    policy = read_promotion({"pushpilot:promote-from": "111111111111:staging-web", "pushpilot:bake": "soon"})
    assert policy is not None
    assert policy.bake == timedelta(minutes=30)
    assert policy.upstream.account == "111111111111"
    assert policy.problems
    assert read_promotion({"pushpilot:bake": "5m"}) is None


def test_a_held_service_released_later_is_promoted_by_hand() -> None:
    tags = {"pushpilot:promote-from": STAGING, "pushpilot:bake": "5m"}
    world, bus = stages((STAGING, {}), (PROD, tags))
    world.index.set_hold(arn(world, PROD), Hold(reason="rolled back to v1", since=world.time.isoformat()))
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 6)
    assert deployed(world, PROD) == []
    world.index.set_hold(arn(world, PROD), None)
    answer = promote_by_hand(world.ports, PROD)
    assert "promoted from staging-web after 5 min live" in answer
    assert deployed(world, PROD) == [digest]


# --- a bake and people: a promoted-to service that also asks for approval ----------------------------

GATED = {
    "pushpilot:promote-from": STAGING,
    "pushpilot:bake": "30m",
    "pushpilot:approve": "slack",
    "pushpilot:approvers": "U0123ABCD",
}


def _approve(
    world: FakeWorld, voter: str = "U0123ABCD", choice: str = "approve", *, digest: str | None = None
) -> None:
    from pushpilot.flows.approve import cast_vote, deploy_approved, find_approval

    result = cast_vote(
        world.ports,
        find_approval(world.ports, PROD, digest),
        voter=voter,
        choice=choice,  # type: ignore[arg-type]
        via="slack",
    )
    if result.dispatch is not None:
        deploy_approved(world.ports, result.dispatch)


def test_after_its_bake_a_release_waits_for_people_then_is_promoted_once() -> None:
    world, bus = stages((STAGING, {}), (PROD, GATED))
    digest = digest_of("web-1")
    handle_push(push_event(digest, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 31)
    # The bake is over: people are asked, nothing is deployed yet, and the next refreshes ask nothing more.
    assert deployed(world, PROD) == []
    asked = [n for n in world.sink.notices if n.kind is NoticeKind.APPROVAL and n.actions]
    assert [n.title for n in asked] == [f"latest waits for approval on {PROD}"]
    assert "It proved itself on staging-web." in asked[0].summary
    later(world, bus, 10)
    later(world, bus, 10)
    assert promote_by_hand(world.ports, PROD, now_=True) == (
        f"{PROD}: web@{digest} waits for approval: `pushpilot approve {PROD}`"
    )
    assert len([n for n in world.sink.notices if n.kind is NoticeKind.APPROVAL and n.actions]) == 1

    _approve(world)
    assert deployed(world, PROD) == [digest]
    deploying = [n for n in world.sink.notices if n.kind is NoticeKind.DEPLOYING and PROD in n.title]
    assert len(deploying) == 1
    assert "promoted from staging-web once approved" in deploying[0].summary + " ".join(deploying[0].details)
    assert len(world.events.of_type("Release Promoted")) == 1
    # The refresh after the deploy, and a replayed approval, deploy nothing more.
    later(world, bus, 10)
    _approve(world, digest=digest)
    assert deployed(world, PROD) == [digest]


def test_a_rejected_promotion_never_reaches_prod() -> None:
    world, bus = stages((STAGING, {}), (PROD, GATED))
    handle_push(push_event(digest_of("web-1"), time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 31)
    _approve(world, choice="reject")
    later(world, bus, 10)
    assert promote_by_hand(world.ports, PROD, now_=True) == f"{PROD}: not promoted: its approval rejected"
    assert deployed(world, PROD) == []


def test_a_newer_upstream_release_supersedes_a_promotion_waiting_for_people() -> None:
    world, bus = stages((STAGING, {}), (PROD, GATED))
    first, second = digest_of("web-1"), digest_of("web-2")
    handle_push(push_event(first, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 31)
    handle_push(push_event(second, time=world.time.isoformat()), world.ports)
    finish(world, bus, STAGING)
    later(world, bus, 31)
    assert any("supersede" in n.title or "supersede" in n.summary for n in world.sink.notices)
    _approve(world)
    assert deployed(world, PROD) == [second]
