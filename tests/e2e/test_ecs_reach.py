"""Reach on ECS, end to end: with `EcsClusters` set, a deployment event from another cluster and a push of
the image that cluster's service runs touch nothing there (scenarios/ecs-outside-clusters.yaml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pushpilot_sandbox import steps
from pushpilot_sandbox.environment import Sandbox
from pushpilot_sandbox.scenario import Setup, sandbox_config
from tests.e2e.sandbox_support import Story, sns_kinds

pytestmark = pytest.mark.e2e

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "ecs-outside-clusters.yaml"
LEGACY = "arn:aws:ecs:us-east-1:123456789012:service/legacy/legacy-web"
STOREFRONT = "arn:aws:ecs:us-east-1:123456789012:service/prod/storefront"


def _mentions(value: Any, text: str) -> bool:
    return text in json.dumps(value, default=str)


def test_a_service_outside_ecs_clusters_is_never_described_indexed_or_deployed() -> None:
    document = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    setup = Setup.model_validate(document["setup"])
    with Sandbox(sandbox_config(setup, region=document.get("region", "us-east-1"))) as sandbox:
        run = Story(sandbox, SCENARIO.parent)
        steps.apply_setup(sandbox, setup, run.timeline, SCENARIO.parent)
        after_setup = len(sandbox.gateway.calls)
        for step in document["steps"]:
            [(action, args)] = [(key, value) for key, value in step.items() if key != "title"]
            run.step(action, args)
        report = run.report()
        handler_calls = sandbox.gateway.calls[after_setup:]
        event_outcomes = [
            delivery.outcome
            for delivery in sandbox.router.deliveries
            if delivery.function == "EcsEventsFunction" and delivery.event_id.startswith("5c2f8e14")
        ]

    # Nothing read, indexed, registered or updated for legacy-web: no call of any kind names it.
    assert [call.operation for call in handler_calls if _mentions(call.params, "legacy")] == []
    assert not [call for call in report["calls"] if _mentions(call["params"], LEGACY)]
    # Its deployment event was skipped on purpose, and counted as such.
    assert [(outcome or {}).get("status") for outcome in event_outcomes] == ["ignored"]
    assert event_outcomes[0]["detail"]["skip"] == "ServiceOutOfReach"
    # The service of the named cluster still deploys, once, and goes live.
    register, update = [call for call in report["calls"] if call["service"] == "ecs"]
    assert (register["operation"], update["operation"]) == ("RegisterTaskDefinition", "UpdateService")
    assert update["params"]["service"] == STOREFRONT
    assert sns_kinds(report["notifications"]) == ["verified", "deploying", "live"]
