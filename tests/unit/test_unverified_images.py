"""UnverifiedImages: an image whose platform could not be read is held by default, deployed on request."""

from __future__ import annotations

from typing import Any

import pytest

from pushpilot.core.image_ref import ImageRef
from pushpilot.core.notices import NoticeKind, Severity
from pushpilot.core.verdicts import Verdict, VerdictStatus
from pushpilot.entry.settings import CoreSettings, SettingsError
from pushpilot.entry.wiring import deploy_ports
from pushpilot.flows.push import Arrival, release_image
from tests.fakes import (
    ACCOUNT,
    FIXED_NOW,
    REGISTRY,
    FakeWorld,
    PassingInspector,
    digest_of,
    service_snapshot,
)

pytestmark = pytest.mark.unit


class UnreadableInspector(PassingInspector):
    """ECR answered, but the image's config could not be read: the verdict is unknown."""

    def inspect(self, repository: str, **kwargs: Any) -> Verdict:
        return (
            super()
            .inspect(repository, **kwargs)
            .model_copy(
                update={
                    "status": VerdictStatus.UNKNOWN,
                    "platforms": (),
                    "reason": "The image's config blob could not be read.",
                }
            )
        )


def arrive(world: FakeWorld) -> None:
    image = ImageRef(registry=REGISTRY, repository="web", tag="latest")
    release_image(
        Arrival(
            event_id="e-1",
            image=image,
            digest=digest_of("web-1"),
            registry_id=ACCOUNT,
            occurred_at=FIXED_NOW.isoformat(),
        ),
        world.index.services_following(f"{image.registry}/{image.repository}"),
        world.ports,
    )


@pytest.fixture
def world() -> FakeWorld:
    world = FakeWorld([service_snapshot("storefront", "web")])
    world.ports.inspector = UnreadableInspector()
    return world


def test_an_unreadable_image_is_held_by_default(world: FakeWorld) -> None:
    arrive(world)

    assert world.apprunner.started == 0
    [notice] = world.sink.notices
    assert (notice.kind, notice.severity) == (NoticeKind.UNVERIFIED, Severity.FAILURE)
    assert "Nothing was deployed" in notice.summary


def test_unverified_images_deploy_deploys_it_with_a_warning(world: FakeWorld) -> None:
    world.ports.deploy_unverified = True

    arrive(world)

    assert world.apprunner.started == 1
    assert [notice.kind for notice in world.sink.notices] == [NoticeKind.UNVERIFIED, NoticeKind.DEPLOYING]
    warning = world.sink.notices[0]
    assert warning.severity is Severity.WARNING
    assert "UnverifiedImages=deploy" in warning.summary


def test_the_setting_never_deploys_a_rejected_image(world: FakeWorld) -> None:
    world.ports.deploy_unverified = True

    class RejectingInspector(UnreadableInspector):
        def inspect(self, repository: str, **kwargs: Any) -> Verdict:
            unknown = super().inspect(repository, **kwargs)
            return unknown.model_copy(update={"status": VerdictStatus.REJECT})

    world.ports.inspector = RejectingInspector()
    arrive(world)

    assert world.apprunner.started == 0
    assert [notice.kind for notice in world.sink.notices] == [NoticeKind.REJECTED]


def test_the_setting_comes_from_the_environment_and_rejects_other_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As Lambda sets them: building the clients needs no lookup of region or credentials.
    for name, value in {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    base = {"TABLE_NAME": "t", "NOTICE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"}

    assert deploy_ports(CoreSettings.from_env(base)).deploy_unverified is False
    assert deploy_ports(CoreSettings.from_env({**base, "UNVERIFIED_IMAGES": "deploy"})).deploy_unverified
    with pytest.raises(SettingsError, match=r"unverified_images|UNVERIFIED_IMAGES"):
        CoreSettings.from_env({**base, "UNVERIFIED_IMAGES": "yes"})
