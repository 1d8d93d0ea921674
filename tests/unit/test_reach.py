"""Reach: `EcsClusters` decided in one place (targets/ecs/reach.py) and asked by every path — events, refresh,
push, the DNS readers, the CLI — before anything is described, indexed or deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pushpilot.core.errors import OutOfReachError
from pushpilot.core.targets import OperationEnded, ServiceChanged, TargetService
from pushpilot.entry.settings import EcsSettings, SettingsError
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.outcome import (
    GONE_METRIC,
    OUT_OF_REACH_METRIC,
    handle_operation_ended,
    handle_service_changed,
)
from pushpilot.flows.push import handle_push
from pushpilot.flows.refresh import refresh
from pushpilot.targets.ecs.domains import LoadBalancerDomainReader
from pushpilot.targets.ecs.reach import ClusterScope
from pushpilot.targets.ecs.services import EcsTarget
from pushpilot.targets.ecs_express.services import EcsExpressTarget
from tests.fakes import ACCOUNT, REGION, FakeTarget, FakeWorld, digest_of, service_snapshot

ECS = "ecs"
PROD_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"


def ecs_service(name: str, cluster: str) -> TargetService:
    snapshot = service_snapshot(name, "web", kind=ECS)
    return snapshot.model_copy(update={"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}"})


# --- the decision -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "service_arn", "covered"),
    [
        ("", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/any/web", True),
        ("prod", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web", True),
        ("prod", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/legacy/web", False),
        ("prod", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/production/web", False),
        ("prod,legacy", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/legacy/web", True),
        (PROD_ARN, f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web", True),
        # Named by ARN: the account and Region are part of the name.
        (PROD_ARN, f"arn:aws:ecs:{REGION}:111111111111:service/prod/web", False),
        (PROD_ARN, f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/prod/web", False),
        # The old ARN form names no cluster: a scope cannot place it, so it is outside.
        ("prod", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/web", False),
        ("prod", f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/prod/abc", False),
    ],
)
def test_a_service_is_covered_only_by_a_cluster_of_the_scope(
    configured: str, service_arn: str, covered: bool
) -> None:
    assert ClusterScope.parse(configured).covers_service(service_arn) is covered


def test_clusters_are_matched_by_name_or_arn_either_way() -> None:
    by_name = ClusterScope.parse("prod")
    by_arn = ClusterScope.parse(f" {PROD_ARN} ")

    assert by_name.covers_cluster(PROD_ARN)
    assert by_arn.covers_cluster("prod")
    assert not by_arn.covers_cluster("legacy")
    assert by_arn.configured == (PROD_ARN,)


@pytest.mark.parametrize("value", ["arn:aws:ecs:us-east-1:123456789012:service/prod/web", "arn:aws:s3:::x"])
def test_a_value_that_is_no_cluster_is_refused_with_the_variable_named(value: str) -> None:
    with pytest.raises(ValueError, match="not an ECS cluster"):
        ClusterScope.parse(value)
    with pytest.raises(SettingsError, match="ECS_CLUSTERS"):
        _ = EcsSettings.from_env({"ECS_CLUSTERS": value}).scope


# --- the ECS deployment event -------------------------------------------------------------------------


def scoped_world(*services: TargetService) -> tuple[FakeWorld, FakeTarget]:
    target = FakeTarget(services, kind=ECS, label="Amazon ECS", scope=ClusterScope.parse("prod"))
    world = FakeWorld([], extra_targets=[target])
    for service in services:
        world.index.remove(service.arn)
    return world, target


def test_an_event_for_a_service_outside_ecs_clusters_is_skipped_never_described_or_indexed() -> None:
    legacy = ecs_service("legacy-web", "legacy")
    world, target = scoped_world(legacy)
    changed = ServiceChanged(event_id="e-1", kind=ECS, service_arn=legacy.arn, deleted=False)
    ended = OperationEnded(
        event_id="e-1",
        kind=ECS,
        service_arn=legacy.arn,
        service_name="legacy-web",
        status="SERVICE_DEPLOYMENT_COMPLETED",
    )

    index = handle_service_changed(changed, world.ports)
    outcome = handle_operation_ended(ended, world.ports)

    for result in (index, outcome):
        assert result.status == "ignored"
        assert result.detail["skip"] == OUT_OF_REACH_METRIC
        assert "EcsClusters" in result.detail["reason"]
    assert target.described == []
    assert world.index.get(legacy.arn) is None


def test_an_event_for_a_service_of_ecs_clusters_is_described_and_indexed() -> None:
    storefront = ecs_service("storefront", "prod")
    world, target = scoped_world(storefront)

    result = handle_service_changed(
        ServiceChanged(event_id="e-2", kind=ECS, service_arn=storefront.arn, deleted=False), world.ports
    )

    assert result.detail == {"index": "updated"}
    assert target.described == [storefront.arn]
    assert world.index.get(storefront.arn) is not None


def test_an_event_for_a_service_deleted_since_is_a_skip_with_its_own_metric_and_unindexes_it() -> None:
    storefront = ecs_service("storefront", "prod")
    world, target = scoped_world(storefront)
    world.index.upsert(storefront, now="2026-01-01T00:00:00+00:00")
    target.deleted.add(storefront.arn)

    result = handle_service_changed(
        ServiceChanged(event_id="e-4", kind=ECS, service_arn=storefront.arn, deleted=False), world.ports
    )

    assert result.status == "ignored"
    assert result.detail["skip"] == GONE_METRIC == "EventsForDeletedServices"
    assert result.detail["service_arn"] == storefront.arn
    assert result.detail["index"] == "removed"
    assert world.index.get(storefront.arn) is None


def test_a_service_indexed_before_the_scope_narrowed_is_left_alone_by_its_events() -> None:
    legacy = ecs_service("legacy-web", "legacy")
    world, target = scoped_world(legacy)
    world.index.upsert(legacy, now="2026-01-01T00:00:00+00:00")
    before = world.index.get(legacy.arn)

    result = handle_service_changed(
        ServiceChanged(event_id="e-3", kind=ECS, service_arn=legacy.arn, deleted=False), world.ports
    )

    assert result.detail["skip"] == OUT_OF_REACH_METRIC
    assert world.index.get(legacy.arn) == before
    assert target.described == []


# --- push and refresh ---------------------------------------------------------------------------------


def ecr_push(digest: str) -> EcrImageActionEvent:
    raw: dict[str, Any] = json.loads(
        (Path(__file__).resolve().parents[2] / "events" / "ecr-image-push.json").read_text(encoding="utf-8")
    )
    raw["account"] = ACCOUNT
    raw["region"] = REGION
    raw["detail"] |= {"repository-name": "web", "image-tag": "latest", "image-digest": digest}
    return EcrImageActionEvent.model_validate(raw)


def test_a_push_never_deploys_to_an_indexed_service_outside_ecs_clusters() -> None:
    storefront = ecs_service("storefront", "prod")
    legacy = ecs_service("legacy-web", "legacy")
    target = FakeTarget([storefront, legacy], kind=ECS, label="Amazon ECS", scope=ClusterScope.parse("prod"))
    # The index still holds both, as one written before EcsClusters narrowed would.
    world = FakeWorld([], extra_targets=[target])
    assert world.index.get(legacy.arn) is not None

    handle_push(ecr_push(digest_of("v2")), world.ports)

    assert [name for name, _, _ in target.deployed] == ["storefront"]


def test_refresh_drops_from_the_index_what_is_outside_ecs_clusters() -> None:
    storefront = ecs_service("storefront", "prod")
    legacy = ecs_service("legacy-web", "legacy")
    target = FakeTarget([storefront, legacy], kind=ECS, label="Amazon ECS", scope=ClusterScope.parse("prod"))
    world = FakeWorld([], extra_targets=[target])

    result = refresh(world.ports)

    assert result["removed"] == 1
    assert world.index.get(legacy.arn) is None
    assert world.index.get(storefront.arn) is not None


def test_nothing_acts_on_an_out_of_reach_service_through_its_target() -> None:
    legacy = ecs_service("legacy-web", "legacy")
    target = FakeTarget([legacy], kind=ECS, label="Amazon ECS", scope=ClusterScope.parse("prod"))
    world = FakeWorld([], extra_targets=[target])
    indexed = world.index.get(legacy.arn)
    assert indexed is not None

    with pytest.raises(OutOfReachError, match="legacy-web"):
        world.ports.target_for(indexed)


# --- the adapters: refused before any call ----------------------------------------------------------


def silent_ecs() -> Any:
    """An ECS client with no answers: any call it receives fails the test."""
    client = boto3.client("ecs", region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    Stubber(client).activate()
    return client


@pytest.mark.parametrize("target_class", [EcsTarget, EcsExpressTarget])
def test_ecs_targets_refuse_to_describe_a_service_outside_ecs_clusters(
    target_class: type[EcsTarget] | type[EcsExpressTarget],
) -> None:
    target = target_class(silent_ecs(), region=REGION, clusters=["prod"])
    legacy = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/legacy/web"

    assert not target.serves(legacy)
    assert target.serves(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web")
    with pytest.raises(OutOfReachError, match="EcsClusters"):
        target.describe(legacy)


def test_the_load_balancer_domain_reader_refuses_a_service_outside_ecs_clusters() -> None:
    reader = LoadBalancerDomainReader(silent_ecs(), clusters=ClusterScope.parse(PROD_ARN))

    with pytest.raises(OutOfReachError):
        reader.for_service(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/legacy/web")


def test_the_cli_dns_readers_honour_ecs_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.dns_cmd import _default_sources
    from pushpilot.flows.dns import AllBindings

    monkeypatch.setenv("ECS_CLUSTERS", "prod")
    domains, _ = _default_sources(None, None)

    assert isinstance(domains, AllBindings)
    (reader,) = [source for source in domains.sources if isinstance(source, LoadBalancerDomainReader)]
    with pytest.raises(OutOfReachError):
        reader.for_service(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/legacy/web")
