"""The release-stage scenarios in scenarios/ tell the stories they claim, through the whole stack in the
sandbox: pushpilot's own events on the bus (each held against the published schema by the sandbox's bus),
the template's ReleaseStages rule bringing Release Live back to the bake, the refresh as the bake clock."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pushpilot_sandbox.release_event_bus import check_release_event, delivered_event
from pushpilot_sandbox.scenario import run_scenario

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _run(name: str) -> dict[str, Any]:
    report = run_scenario(SCENARIOS / name, out=io.StringIO())
    assert report["errors"] == []
    assert report["dead_letters"] == []
    return report


def _step_calls(report: dict[str, Any], number: int) -> list[dict[str, Any]]:
    start, end = next(step["calls"] for step in report["steps"] if step["number"] == number)
    return report["calls"][start:end]


def _updates(calls: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    return [
        call
        for call in calls
        if call["operation"] == "UpdateService"
        and str(call["params"].get("service", "")).endswith(f"/{service}")
    ]


def _events(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pushpilot's events in the calls, as EventBridge delivered them, each checked against the schema."""
    found: list[dict[str, Any]] = []
    for call in calls:
        if call["operation"] != "PutEvents":
            continue
        for entry in call["params"]["Entries"]:
            event = delivered_event(entry, account="123456789012", region="us-east-1")
            check_release_event(event)
            found.append(event)
    return found


def _of(events: list[dict[str, Any]], detail_type: str, service: str | None = None) -> list[dict[str, Any]]:
    return [
        event
        for event in events
        if event["detail-type"] == detail_type
        and (service is None or (event["detail"]["service"] or {}).get("name") == service)
    ]


def _said(report: dict[str, Any]) -> list[str]:
    return [
        str(note["text"]).removeprefix("[pushpilot] ")
        for note in report["notifications"]
        if note["channel"] == "sns"
    ]


def _sns_bodies(report: dict[str, Any]) -> str:
    return json.dumps([note for note in report["notifications"] if note["channel"] == "sns"])


def test_staging_to_prod_nothing_at_the_push_or_ten_minutes_then_one_deployment_of_the_upstream_digest() -> (
    None
):
    report = _run("promotion.yaml")

    # steps: 1 refresh, 2 push, 3 staging live, 4 +10 min, 5 releases, 6 +31 min, 7 prod live
    assert _updates(_step_calls(report, 2), "staging-web")
    assert _updates(_step_calls(report, 2), "prod-web") == []
    assert _updates(_step_calls(report, 4), "prod-web") == []
    assert len(_updates(report["calls"], "prod-web")) == 1
    assert len(_updates(_step_calls(report, 6), "prod-web")) == 1

    events = _events(report["calls"])
    (staging_live,) = _of(events, "Release Live", "staging-web")
    (promoted,) = _of(events, "Release Promoted", "prod-web")
    (prod_live,) = _of(events, "Release Live", "prod-web")
    assert promoted["detail"]["digest"] == staging_live["detail"]["digest"] == prod_live["detail"]["digest"]
    assert promoted["detail"]["promoted_from"]["service"] == "staging-web"
    assert promoted["detail"]["promoted_from"]["baked_minutes"] == 30
    registered = [
        call["params"]["containerDefinitions"][0]["image"]
        for call in _step_calls(report, 6)
        if call["operation"] == "RegisterTaskDefinition"
    ]
    assert registered == [staging_live["detail"]["image"]]

    assert "prod-web takes it after 30 min live on staging-web" in _said(report)
    assert "promoted from staging-web after 30 min live" in _sns_bodies(report)
    (run,) = report["runs"]
    assert "stage    promoted from staging-web after 30 min live" in run["output"]
    assert "from staging-web, 29 min left" in run["output"]


def test_a_release_rolled_back_upstream_never_reaches_prod() -> None:
    report = _run("promotion-rolled-back.yaml")

    assert _updates(report["calls"], "prod-web") == []
    events = _events(report["calls"])
    assert _of(events, "Release Rolled Back", "staging-web")
    assert _of(events, "Release Live") == []
    assert _of(events, "Release Promoted") == []


def test_an_alarm_holds_the_promotion_and_ok_again_lets_it_go_after_a_fresh_bake() -> None:
    report = _run("promotion-alarm.yaml")

    # 7: +20 min in ALARM (held), 8: +35 held, 10: +40 OK (fresh bake), 11: +60 still baking, 12: +71
    for step in (5, 7, 8, 10, 11):
        assert _updates(_step_calls(report, step), "prod-web") == [], step
    assert len(_updates(_step_calls(report, 12), "prod-web")) == 1
    assert len(_updates(report["calls"], "prod-web")) == 1
    said = _said(report)
    assert "promotion to prod-web held: storefront-5xx in ALARM" in said
    assert "storefront-5xx OK again: a fresh 30 min bake for prod-web" in said
    (held,) = _of(_events(report["calls"]), "Release Held", "prod-web")
    assert held["detail"]["held_by"] == ["alarm storefront-5xx"]


def test_a_three_stage_chain() -> None:
    report = _run("promotion-chain.yaml")

    # 2 push → dev; 4 (+11) → staging; 6 (+20) nothing for prod; 7 (+31) → prod
    assert _updates(_step_calls(report, 2), "dev-web")
    assert _updates(_step_calls(report, 2), "staging-web") == []
    assert len(_updates(_step_calls(report, 4), "staging-web")) == 1
    assert _updates(_step_calls(report, 6), "prod-web") == []
    assert len(_updates(_step_calls(report, 7), "prod-web")) == 1
    events = _events(report["calls"])
    promotions = {
        e["detail"]["service"]["name"]: e["detail"]["promoted_from"]["service"]
        for e in _of(events, "Release Promoted")
    }
    assert promotions == {"staging-web": "dev-web", "prod-web": "staging-web"}
    assert len({event["detail"]["digest"] for event in _of(events, "Release Live")}) == 1


def test_promotion_across_two_accounts_through_the_forwarder() -> None:
    report = _run("promotion-cross-account.yaml")

    assert report["refused_events"] == []
    assert _updates(_step_calls(report, 2), "prod-web") == []
    assert _updates(_step_calls(report, 4), "prod-web") == []
    assert len(_updates(report["calls"], "prod-web")) == 1
    (promoted,) = _of(_events(report["calls"]), "Release Promoted", "prod-web")
    assert promoted["detail"]["promoted_from"]["account"] == "111111111111"
    assert promoted["detail"]["image"].startswith("111111111111.dkr.ecr.us-east-1.amazonaws.com/web@sha256:")
    assert "prod-web takes it after 30 min live on 111111111111:staging-web" in _said(report)


def test_promote_now_skips_the_bake_and_says_so() -> None:
    report = _run("promote-now.yaml")

    waiting, now = report["runs"]
    assert "bakes 29 min more on staging-web; --now promotes it without the bake" in waiting["output"]
    assert "promoted by hand from staging-web without the bake" in now["output"]
    assert len(_updates(report["calls"], "prod-web")) == 1
    (promoted,) = _of(_events(report["calls"]), "Release Promoted", "prod-web")
    assert promoted["detail"]["promoted_from"]["baked_minutes"] is None
    assert "without the bake" in _sns_bodies(report)


def test_a_deployment_pushpilot_did_not_start_is_told_and_the_image_parameter_is_written() -> None:
    report = _run("outside-change.yaml")

    (parameter,) = [call["params"] for call in report["calls"] if call["operation"] == "PutParameter"]
    (live,) = _of(_events(report["calls"]), "Release Live", "storefront")
    assert parameter["Name"] == "/pushpilot/ecs/storefront/image"
    assert parameter["Value"] == live["detail"]["image"]
    told = [text for text in _said(report) if "changed outside pushpilot" in text]
    assert len(told) == 1
    body = _sns_bodies(report)
    assert "storefront changed outside pushpilot: task definition storefront:" in body
    assert "(image web:v0.9) replaced release web:latest" in body
    assert live["detail"]["digest"][:19] in body


def test_every_event_delivered_three_times_at_once_tells_each_change_once() -> None:
    report = _run("duplicates.yaml")

    told = sorted(event["detail-type"] for event in _events(report["calls"]))
    assert told == ["Release Deploying", "Release Live", "Release Verified"]


def test_a_bake_and_an_approval_stand_between_staging_and_prod() -> None:
    report = _run("promotion-approval.yaml")

    # Nothing reaches prod at the push, after the bake, or at the refresh after it: only the click does.
    for step in (2, 4, 5):
        assert _updates(_step_calls(report, step), "prod-web") == []
    [update] = _updates(_step_calls(report, 6), "prod-web")
    said = _said(report)
    assert said.count("latest waits for approval on prod-web") == 1
    assert "It proved itself on staging-web." in _sns_bodies(report)
    events = _events(report["calls"])
    [promoted] = _of(events, "Release Promoted", "prod-web")
    [staging_live] = _of(events, "Release Live", "staging-web")
    assert promoted["detail"]["digest"] == staging_live["detail"]["digest"]
    assert promoted["detail"]["message"] == "promoted from staging-web once approved"
    assert _of(events, "Release Live", "prod-web")
    assert update["params"]["taskDefinition"]
