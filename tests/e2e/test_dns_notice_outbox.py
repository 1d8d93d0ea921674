"""The DNS reconcile tells what it changed even when telling fails the first time: the notices of an
apply are held before the records change and sent after, so the next run (whose plan is empty, the
records being in place) still sends them; and nothing says "updated" for records that never changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.sandbox_support import story

pytestmark = pytest.mark.e2e

SETUP: dict[str, Any] = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest"}],
    "hosted_zones": [{"name": "example.com"}],
}


def _titles(notices: list[dict[str, Any]]) -> list[str]:
    return [str(note["text"]) for note in notices]


def test_dns_updated_notice_survives_a_failed_queue_until_the_next_run(tmp_path: Path) -> None:
    with story(SETUP, tmp_path) as run:
        run.step("associate_domain", {"service": "storefront", "domain": "example.com", "www": True})
        # Every attempt of the run's client (six) finds the notice queue unavailable, after Route 53
        # took the change batch: the run fails (its on-failure destination records it).
        run.step(
            "fault",
            {
                "service": "sqs",
                "operation": "SendMessage",
                "code": "ServiceUnavailable",
                "status": 503,
                "times": 6,
            },
        )
        run.step("reconcile_dns", {})
        failed = [letter["record"]["requestPayload"] for letter in run.report()["dead_letters"]]
        assert failed == [{"task": "dns"}], "the run that could not queue its notices failed"

        # The next run (here the one App Runner's validation event sets off, as the certificate
        # validated) finds the records in place, plans nothing, and tells what the failed run applied.
        changed = run.handler_calls("route53", "ChangeResourceRecordSets")
        assert len(changed) == 1, "the records were written once, by the first run"
        kinds = run.notice_kinds()
        assert "domain_planned" in kinds, f"the 'DNS updated' notice was lost: {kinds}"
        assert [title for title in _titles(run.notices()) if "DNS updated" in title] == [
            "[pushpilot] DNS updated for example.com"
        ]
        run.step("reconcile_dns", {})
        assert len([title for title in _titles(run.notices()) if "DNS updated" in title]) == 1, "told once"
