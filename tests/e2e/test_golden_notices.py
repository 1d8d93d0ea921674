"""The golden notification files come from real flows: these scenario runs, not notices written by hand.

Each scenario runs in the sandbox; the first notice of each kind the handlers put on the notice queue is
kept, its run-specific values (ids, digests, times) replaced by stable stand-ins, and compared with
`tests/unit/golden/notify/notices.json`, which the unit tests render into the golden files. Regenerate
both with `PUSHPILOT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/e2e/test_golden_notices.py
tests/unit/test_notify_render.py` and review the diff.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from pushpilot.core.notices import Notice
from pushpilot_sandbox.scenario import run_scenario

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [
    ROOT / "scenarios" / "auto-deploy.yaml",
    ROOT / "scenarios" / "build-failed.yaml",
    ROOT / "scenarios" / "build-joins-release.yaml",
    ROOT / "scenarios" / "cross-account-denied.yaml",
    ROOT / "scenarios" / "demo.yaml",
    ROOT / "scenarios" / "domain.yaml",
    ROOT / "scenarios" / "dry-run.yaml",
    ROOT / "scenarios" / "ecs-burst.yaml",
    ROOT / "scenarios" / "ecs-stuck.yaml",
    ROOT / "scenarios" / "auto-deploy-never-deployed.yaml",
    Path(__file__).parent / "scenarios" / "golden-notices.yaml",
    ROOT / "scenarios" / "policy-semver.yaml",
    # An ECS rollback told as it goes: rolling back, then rollback failed.
    ROOT / "scenarios" / "ecs-rolling-back.yaml",
    # Last, so they add only the kinds the others do not reach: a blocked validation, advice.
    ROOT / "scenarios" / "alb-domain-caa.yaml",
    ROOT / "scenarios" / "alb-domain-http-advice.yaml",
]
STORED = ROOT / "tests" / "unit" / "golden" / "notify" / "notices.json"
UPDATE = os.environ.get("PUSHPILOT_UPDATE_GOLDEN") == "1"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HEX_ID = re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-f])")
# Route 53 hosted zone ids as moto makes them: upper-case letters and digits, random per run.
_ZONE_ID = re.compile(r"\b(?=[0-9A-Z]*[0-9])[0-9A-Z]{13,32}\b")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_APP_RUNNER_ZONE = "Z01915732ZBZKC8D32TPT"  # App Runner's published us-east-1 zone: not run-specific


class Stable:
    """Replaces each run-specific value by a stand-in, the same one wherever the value recurs."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def _stand_in(self, value: str, make: Any) -> str:
        # Numbered per kind of value (the stand-in's shape), so one more digest never renumbers the ids.
        if value not in self.seen:
            category = make(0)
            self.counts[category] = self.counts.get(category, 0) + 1
            self.seen[value] = make(self.counts[category])
        return self.seen[value]

    def text(self, text: str) -> str:
        for digest in _DIGEST.findall(text):
            stand_in = self._stand_in(
                digest, lambda n: "sha256:" + hashlib.sha256(f"golden-image-{n}".encode()).hexdigest()
            )
            text = text.replace(digest, stand_in)
            # Titles and headlines show the digest's first 12 hex characters.
            text = text.replace(digest[:19], stand_in[:19])
        text = _UUID.sub(
            lambda m: self._stand_in(m.group(0), lambda n: f"00000000-0000-4000-8000-{n:012d}"), text
        )
        text = _HEX_ID.sub(
            lambda m: self._stand_in(
                m.group(0), lambda n: hashlib.sha256(f"golden-id-{n}".encode()).hexdigest()[: len(m.group(0))]
            ),
            text,
        )
        text = _ZONE_ID.sub(
            lambda m: (
                m.group(0)
                if m.group(0) == _APP_RUNNER_ZONE
                else self._stand_in(m.group(0), lambda n: f"Z0GOLDENZONE{n:04d}")
            ),
            text,
        )
        return _TIME.sub("2026-05-04T09:12:03+00:00", text)


def captured_notices() -> dict[str, Any]:
    """The first notice of each kind, in scenario order, as the handlers queued it."""
    found: dict[str, Any] = {}
    for path in SCENARIOS:
        # Stand-ins start afresh for each scenario: images pushed without a seed differ with what ran
        # before in the process, and so does whether two scenarios happen to push the same one.
        stable = Stable()
        report = run_scenario(path, out=io.StringIO())
        for call in report["calls"]:
            if (call["service"], call["operation"]) != ("sqs", "SendMessage"):
                continue
            body = str(call["params"].get("MessageBody", ""))
            try:
                notice = Notice.model_validate_json(body)
            except ValueError:
                continue
            if notice.kind.value in found:
                continue
            stable_notice = Notice.model_validate_json(stable.text(notice.model_dump_json()))
            found[notice.kind.value] = {
                "scenario": str(path.relative_to(ROOT)),
                "notice": stable_notice.model_dump(mode="json", exclude_defaults=True),
            }
    return dict(sorted(found.items()))


def test_golden_notices_are_what_the_flows_queue() -> None:
    captured = captured_notices()
    if UPDATE:
        STORED.write_text(json.dumps(captured, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    assert captured == stored
    # Each stored notice parses as the notify function parses the queue's messages.
    for entry in stored.values():
        Notice.model_validate(entry["notice"])
