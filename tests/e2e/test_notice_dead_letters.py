"""A Slack outage that outlasts every retry ends with the notice, payload intact, in the notice DLQ."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.sandbox_support import story

SETUP = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest"}],
    "notifications": {"slack": "bot", "sns": True},
}


def test_permanent_slack_500_lands_the_notice_in_the_dead_letter_queue(tmp_path: Path) -> None:
    with story(SETUP, tmp_path) as run:
        run.sandbox.slack.fail_always(500)
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})

        # The deployment is not held up by Slack.
        assert len(run.deployments("storefront")) == 1
        letters = run.sandbox.queue_messages("NoticeDeadLetterQueue")
        kinds = sorted(
            json.loads(letter["body"])["kind"] if "body" in letter else letter["kind"] for letter in letters
        )
        assert kinds == ["deploying", "verified"]
        # SNS was not blocked by Slack: both notices went out there, once each.
        assert sorted(note["payload"]["metadata"]["eventType"] for note in run.notices("sns")) == kinds
