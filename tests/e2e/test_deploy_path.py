"""The heart of pushpilot in the sandbox: image push → platform gate → exactly-once deployment → truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.sandbox_support import story

ONE_MANUAL = {
    "repositories": ["web"],
    "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": False}],
}


def test_amd64_push_deploys_once_and_goes_live(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        assert len(run.handler_calls("apprunner", "StartDeployment")) == 1
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
        kinds = run.notice_kinds()
        assert kinds == ["verified", "deploying", "live"]
        assert run.report()["errors"] == []
        assert run.report()["dead_letters"] == []


def test_arm64_only_push_is_rejected_with_the_fix_and_nothing_deploys(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/arm64"]})
        assert [call for call in run.report()["calls"] if call["service"] == "apprunner"] == []
        assert run.deployments("storefront") == []
        rejected = [note for note in run.notices() if note["payload"]["metadata"]["eventType"] == "rejected"]
        assert len(rejected) == 1
        text = str(rejected[0]["payload"])
        assert "linux/arm64" in text
        assert "docker buildx build --platform linux/amd64 --provenance=false" in text


def test_multi_arch_index_with_attestations_deploys(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step(
            "push",
            {
                "repository": "web",
                "tag": "latest",
                "platforms": ["linux/amd64", "linux/arm64"],
                "attestation": True,
            },
        )
        assert len(run.handler_calls("apprunner", "StartDeployment")) == 1
        assert run.notice_kinds() == ["verified", "deploying"]


def test_auto_deploy_service_is_tracked_not_deployed_by_us(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web"],
        "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": True}],
    }
    with story(setup, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        assert run.handler_calls("apprunner", "StartDeployment") == []
        # App Runner's own deployment is running; pushpilot follows it to its end.
        assert len(run.deployments("storefront")) == 1
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
        assert run.notice_kinds() == ["verified", "auto_deploy_tracked", "live"]


def test_rejected_image_on_an_auto_deploy_service_warns_loudly(tmp_path: Path) -> None:
    setup = {
        "repositories": ["web"],
        "services": [{"name": "storefront", "image": "web:latest", "auto_deploy": True}],
    }
    with story(setup, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/arm64"]})
        assert run.handler_calls("apprunner", "StartDeployment") == []
        rejected = [note for note in run.notices() if note["payload"]["metadata"]["eventType"] == "rejected"]
        assert "automatic deployment is ON for storefront" in str(rejected[0]["payload"])


def test_twenty_pushes_during_one_operation_give_one_follow_up_of_the_newest(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step(
            "push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"], "seed": "first"}
        )
        for number in range(20):
            run.step(
                "push",
                {
                    "repository": "web",
                    "tag": "latest",
                    "platforms": ["linux/amd64"],
                    "seed": f"burst-{number}",
                },
            )
        assert len(run.deployments("storefront")) == 1
        newest = run.sandbox.apprunner.service("storefront")  # the tag now points at the last push
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
        deployments = run.deployments("storefront")
        assert len(deployments) == 2
        last_pushed = run.sandbox._resolve_digest(newest.image_identifier)
        assert deployments[1].image_digest == last_pushed
        assert len(run.handler_calls("apprunner", "StartDeployment")) == 2


@pytest.mark.parametrize("concurrent", [False, True])
def test_every_event_delivered_three_times_deploys_once(tmp_path: Path, concurrent: bool) -> None:
    with story(ONE_MANUAL, tmp_path, copies_per_event=3, concurrent_copies=concurrent) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        run.step("complete_operation", {"service": "storefront", "outcome": "succeeded"})
        assert len(run.deployments("storefront")) == 1
        assert len(run.handler_calls("apprunner", "StartDeployment")) == 1
        # One message per step however often the events came.
        assert run.notice_kinds() == ["verified", "deploying", "live"]
        assert run.report()["dead_letters"] == []


def test_rollback_is_reported_as_a_failure(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        run.step("complete_operation", {"service": "storefront", "outcome": "rolled_back"})
        final = run.notices()[-1]["payload"]
        assert final["metadata"]["eventType"] == "rolled_back"
        assert "live" not in run.notice_kinds()


def test_failed_deployment_is_reported_as_a_failure(tmp_path: Path) -> None:
    with story(ONE_MANUAL, tmp_path) as run:
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        run.step("complete_operation", {"service": "storefront", "outcome": "failed"})
        assert run.notice_kinds()[-1] == "failed"


def _calls_for_one_push(tmp_path: Path, other_services: int) -> int:
    setup = {
        "repositories": ["web"],
        "services": [
            {"name": "storefront", "image": "web:latest"},
            *({"name": f"other-{n:03d}", "image": f"other-{n:03d}:latest"} for n in range(other_services)),
        ],
    }
    with story(setup, tmp_path) as run:
        # A running install: the index was filled once (a push before that discovers every service).
        run.step("refresh", {})
        gateway_before = len(run.sandbox.gateway.calls)
        apprunner_before = len(run.sandbox.apprunner.calls)
        run.step("push", {"repository": "web", "tag": "latest", "platforms": ["linux/amd64"]})
        assert len(run.deployments("storefront")) == 1
        return (len(run.sandbox.gateway.calls) - gateway_before) + (
            len(run.sandbox.apprunner.calls) - apprunner_before
        )


def test_calls_per_push_do_not_grow_with_the_number_of_services(tmp_path: Path) -> None:
    alone = _calls_for_one_push(tmp_path, 0)
    crowded = _calls_for_one_push(tmp_path, 199)
    assert crowded == alone
