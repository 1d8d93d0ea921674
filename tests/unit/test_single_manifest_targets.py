"""A target that takes no image index and emits no completion event (Lambda's shape), through the flows:
the verdict's child manifest is what it deploys, a change someone made in between is told, and its outcome
is looked at on the timer it declares until the deployment ends."""

from __future__ import annotations

from typing import Any

import pytest

from pushpilot.core.errors import ChangedMeanwhileError
from pushpilot.core.notices import NoticeKind
from pushpilot.core.releases import RolloutStatus
from pushpilot.core.targets import OutcomeCheck, OutcomePolling
from pushpilot.core.verdicts import LINUX_AMD64, LINUX_ARM64, OCI_INDEX, Platform, Verdict, judge
from pushpilot.flows.outcome_checks import handle_outcome_check
from pushpilot.flows.push import handle_push
from tests.fakes import FakeTarget, FakeWorld, PassingInspector, digest_of, service_snapshot
from tests.unit.test_deploy_path_truth import push_event

pytestmark = pytest.mark.unit

POLLING = OutcomePolling(first_delay_seconds=10, max_delay_seconds=40, give_up_after_seconds=1800)
FUNCTION_KIND = "functions"


def _child(platform: Platform) -> str:
    return digest_of(f"child-{platform}")


class IndexInspector(PassingInspector):
    """A multi-platform index: it passes, naming the child manifest of the required platform."""

    def __init__(self, *, children: bool = True) -> None:
        super().__init__()
        self.children = children

    def inspect(self, repository: str, *, required: Platform, **kwargs: Any) -> Verdict:
        verdict = super().inspect(repository, required=required, **kwargs)
        return verdict.model_copy(
            update={"media_type": OCI_INDEX, "manifest_digest": _child(required) if self.children else None}
        )


def _world(*, children: bool = True) -> tuple[FakeWorld, FakeTarget]:
    functions = FakeTarget(
        [
            service_snapshot("thumbs-arm", "web", kind=FUNCTION_KIND, platform=LINUX_ARM64),
            service_snapshot("thumbs-x86", "web", kind=FUNCTION_KIND, platform=LINUX_AMD64),
        ],
        kind=FUNCTION_KIND,
        label="Functions",
        accepts_index=False,
        outcome_polling=POLLING,
    )
    world = FakeWorld([service_snapshot("storefront", "web")], extra_targets=[functions])
    world.ports.inspector = IndexInspector(children=children)
    return world, functions


def test_each_function_gets_its_own_platforms_child_and_an_index_target_the_index() -> None:
    world, functions = _world()
    digest = digest_of("multi-arch")

    handle_push(push_event(digest), world.ports)

    assert sorted(functions.deployed) == [
        ("thumbs-arm", _child(LINUX_ARM64), None),
        ("thumbs-x86", _child(LINUX_AMD64), None),
    ]
    assert world.apprunner.deployed == [("storefront", digest, None)]
    # The release, and the deployment tracked on the function, stay the pushed digest's.
    tracked = world.index.find_by_name(FUNCTION_KIND, "thumbs-arm")
    assert tracked is not None
    assert tracked.in_flight is not None
    assert (tracked.in_flight.digest, tracked.in_flight.manifest) == (digest, _child(LINUX_ARM64))


def test_only_polling_targets_get_a_first_look_scheduled() -> None:
    world, _ = _world()

    handle_push(push_event(digest_of("multi-arch")), world.ports)

    assert sorted((check.service_name, delay) for check, delay in world.timer.scheduled) == [
        ("thumbs-arm", 10),
        ("thumbs-x86", 10),
    ]


def test_a_passed_index_without_a_child_for_the_platform_is_not_deployed_to_a_single_manifest_target() -> (
    None
):
    world, functions = _world(children=False)

    outcome = handle_push(push_event(digest_of("odd-index")), world.ports)

    assert functions.deployed == []
    statuses = {item["service"]: item["status"] for item in outcome.detail["services"]}
    assert statuses == {"storefront": "deploying", "thumbs-arm": "skipped", "thumbs-x86": "skipped"}


def test_a_change_made_between_read_and_update_is_told_and_not_retried_over() -> None:
    world, functions = _world()
    functions.fail_next_deploy = ChangedMeanwhileError("thumbs changed after pushpilot read it")
    digest = digest_of("multi-arch")

    outcome = handle_push(push_event(digest), world.ports)

    statuses = {item["service"]: item["status"] for item in outcome.detail["services"]}
    assert str(RolloutStatus.SKIPPED) in {statuses["thumbs-arm"], statuses["thumbs-x86"]}
    told = [notice for notice in world.sink.notices if "changed after pushpilot read it" in notice.summary]
    assert len(told) == 1
    release = world.releases.get(f"web@{digest}")
    assert release is not None
    skipped = [rollout for rollout in release.services.values() if rollout.status is RolloutStatus.SKIPPED]
    assert [rollout.message for rollout in skipped] == ["thumbs changed after pushpilot read it"]
    # The claim was given back: the next push may deploy.
    assert all(
        service.in_flight is None or service.in_flight.operation_id is not None
        for service in world.index.all()
    )


def _first_look(world: FakeWorld, name: str) -> OutcomeCheck:
    return next(check for check, _ in world.timer.scheduled if check.service_name == name)


def test_a_look_at_an_update_in_progress_schedules_the_next_backing_off() -> None:
    world, _ = _world()
    handle_push(push_event(digest_of("multi-arch")), world.ports)
    check = _first_look(world, "thumbs-arm")
    world.timer.scheduled.clear()

    delays = []
    for _ in range(4):
        outcome = handle_outcome_check(check, world.ports, event_id="look")
        assert outcome.detail["outcome"] == "in_progress"
        check, delay = world.timer.scheduled[-1]
        delays.append(delay)
    assert delays == [20, 40, 40, 40]
    assert [notice.kind for notice in world.sink.notices].count(NoticeKind.LIVE) == 0


def test_a_look_after_the_update_ended_tells_it_once_and_schedules_nothing() -> None:
    world, functions = _world()
    handle_push(push_event(digest_of("multi-arch")), world.ports)
    check = _first_look(world, "thumbs-arm")
    world.timer.scheduled.clear()
    functions.end_operation(check.service_arn, "SUCCEEDED")

    first = handle_outcome_check(check, world.ports, event_id="look-1")
    again = handle_outcome_check(check, world.ports, event_id="look-1-again")

    assert first.detail["outcome"] == "live"
    assert again.status == "ignored"
    assert world.timer.scheduled == []
    assert [notice.kind for notice in world.sink.notices].count(NoticeKind.LIVE) == 1


def test_past_the_deadline_the_looks_stop_and_the_refresh_carries_on() -> None:
    world, _ = _world()
    handle_push(push_event(digest_of("multi-arch")), world.ports)
    check = _first_look(world, "thumbs-arm")
    world.timer.scheduled.clear()
    world.advance(POLLING.give_up_after_seconds + 1)

    outcome = handle_outcome_check(check, world.ports, event_id="late-look")

    assert outcome.status == "ignored"
    assert world.timer.scheduled == []


def test_the_judge_names_the_child_of_the_required_platform_and_skips_the_attestation() -> None:
    amd64, arm64, attestation = digest_of("amd64"), digest_of("arm64"), digest_of("attestation")
    index = (
        '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ['
        f'{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{attestation}",'
        ' "platform": {"os": "unknown", "architecture": "unknown"},'
        ' "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},'
        f'{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{amd64}",'
        ' "platform": {"os": "linux", "architecture": "amd64"}},'
        f'{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{arm64}",'
        ' "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}'
    ).encode()

    for required, child in ((LINUX_AMD64, amd64), (LINUX_ARM64, arm64)):
        verdict = judge(index, OCI_INDEX, required=required, fetch_config=lambda _: None)
        assert verdict.manifest_digest == child
        assert verdict.deployable_digest(accepts_index=False) == child

    riscv = judge(index, OCI_INDEX, required=Platform.parse("linux/riscv64"), fetch_config=lambda _: None)
    assert riscv.manifest_digest is None
    assert riscv.fix is not None
    assert "--provenance=false" in riscv.fix


def test_the_polling_backs_off_to_its_ceiling() -> None:
    assert [POLLING.delay_after(attempt) for attempt in range(5)] == [10, 20, 40, 40, 40]
