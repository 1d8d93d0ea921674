"""Zero-latency, in-memory stand-ins for the deploy path's ports, so a benchmark times pushpilot's own code.

Duck-typed to the real adapters (`ServiceIndex`, `ReleaseStore`, `AppRunnerServices`, the inspector, the
notice queue, `run_once`): each keeps the same state rules the table's conditional updates enforce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from pushpilot.adapters.state import (
    IndexedService,
    InFlight,
    Pending,
    ReleaseStore,
    ServiceIndex,
    image_key_of,
)
from pushpilot.core.notices import Notice
from pushpilot.core.releases import Release, ServiceRollout, Stage
from pushpilot.core.verdicts import APP_RUNNER_PLATFORM, Verdict, VerdictStatus
from pushpilot.flows.rollout import Ports
from pushpilot.targets.apprunner.services import AppRunnerServices, OperationSnapshot, ServiceSnapshot

ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
FIXED_NOW = datetime(2026, 5, 4, 9, 14, 9, tzinfo=UTC)


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def service_snapshot(
    name: str, repository: str, *, tag: str = "latest", auto_deploy: bool = False
) -> ServiceSnapshot:
    service_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    return ServiceSnapshot(
        arn=f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/{name}/{service_id}",
        name=name,
        service_id=service_id,
        status="RUNNING",
        image_identifier=f"{REGISTRY}/{repository}:{tag}",
        repository_type="ECR",
        auto_deploy=auto_deploy,
        service_url=f"{service_id[:10]}.{REGION}.awsapprunner.com",
    )


class FakeIndex:
    def __init__(self) -> None:
        self.services: dict[str, IndexedService] = {}

    def _update(self, arn: str, **changes: Any) -> IndexedService:
        updated = self.services[arn].model_copy(update=changes)
        self.services[arn] = updated
        return updated

    def services_for_image(self, image_key: str) -> list[IndexedService]:
        return [service for service in self.services.values() if service.image_key == image_key]

    def get(self, arn: str) -> IndexedService | None:
        return self.services.get(arn)

    def find_by_name(self, name: str) -> IndexedService | None:
        return next((service for service in self.services.values() if service.name == name), None)

    def all(self) -> list[IndexedService]:
        return list(self.services.values())

    def upsert(self, snapshot: ServiceSnapshot, *, now: str) -> None:
        del now
        image_key = image_key_of(snapshot)
        if image_key is None or snapshot.image_identifier is None:
            self.remove(snapshot.arn)
            return
        values = {
            "arn": snapshot.arn,
            "name": snapshot.name,
            "status": snapshot.status,
            "image_identifier": snapshot.image_identifier,
            "image_key": image_key,
            "auto_deploy": snapshot.auto_deploy,
            "service_url": snapshot.service_url or "",
        }
        existing = self.services.get(snapshot.arn)
        self.services[snapshot.arn] = (
            existing.model_copy(update=values) if existing else IndexedService.model_validate(values)
        )

    def remove(self, arn: str) -> None:
        self.services.pop(arn, None)

    def claim(self, arn: str, in_flight: InFlight) -> bool:
        service = self.services.get(arn)
        if service is None or service.in_flight is not None:
            return False
        self._update(arn, in_flight=in_flight)
        return True

    def set_operation(self, arn: str, digest: str, operation_id: str) -> None:
        service = self.services[arn]
        if service.in_flight is not None and service.in_flight.digest == digest:
            self._update(arn, in_flight=service.in_flight.model_copy(update={"operation_id": operation_id}))

    def queue(self, arn: str, pending: Pending) -> bool:
        service = self.services.get(arn)
        if service is None or (service.pending is not None and service.pending.pushed_at > pending.pushed_at):
            return False
        self._update(arn, pending=pending)
        return True

    def unclaim_to_pending(self, arn: str, in_flight: InFlight) -> None:
        pending = Pending(
            digest=in_flight.digest, release_id=in_flight.release_id, pushed_at=in_flight.started_at
        )
        self._update(arn, in_flight=None, pending=pending)

    def finish(self, arn: str) -> InFlight | None:
        service = self.services.get(arn)
        if service is None or service.in_flight is None:
            return None
        self._update(arn, in_flight=None)
        return service.in_flight

    def take_pending(self, arn: str) -> Pending | None:
        service = self.services.get(arn)
        if service is None or service.pending is None or service.in_flight is not None:
            return None
        pending = service.pending
        claim = InFlight(digest=pending.digest, release_id=pending.release_id, started_at=pending.pushed_at)
        self._update(arn, in_flight=claim, pending=None)
        return pending

    def await_auto(self, arn: str, pending: Pending) -> None:
        self._update(arn, awaiting_auto=pending)

    def finish_auto(self, arn: str) -> Pending | None:
        service = self.services.get(arn)
        if service is None or service.awaiting_auto is None:
            return None
        self._update(arn, awaiting_auto=None)
        return service.awaiting_auto


class FakeReleases:
    def __init__(self) -> None:
        self.releases: dict[str, Release] = {}

    def open(self, release: Release, *, tag: str | None, expires_at: int) -> Release:
        del expires_at
        stored = self.releases.get(release.release_id, release)
        if tag:
            stored = stored.model_copy(update={"tags": (*stored.tags, tag), "updated_at": release.updated_at})
        self.releases[release.release_id] = stored
        return stored

    def get(self, release_id: str) -> Release | None:
        return self.releases.get(release_id)

    def record_verdict(self, release_id: str, verdict: dict[str, Any], stage: Stage, *, now: str) -> None:
        self.releases[release_id] = self.releases[release_id].model_copy(
            update={"verdict": verdict, "stage": stage, "updated_at": now}
        )

    def record_rollout(self, rollout: ServiceRollout, release_id: str) -> Release:
        release = self.releases[release_id]
        updated = release.model_copy(
            update={
                "services": {**release.services, rollout.service_arn: rollout},
                "updated_at": rollout.updated_at,
            }
        )
        self.releases[release_id] = updated
        return updated

    def set_stage(self, release_id: str, stage: Stage, *, now: str) -> None:
        self.releases[release_id] = self.releases[release_id].model_copy(
            update={"stage": stage, "updated_at": now}
        )


class FakeAppRunner:
    """Services by ARN; every deployment starts an operation, ended by `end_operation`."""

    def __init__(self, snapshots: Iterable[ServiceSnapshot] = ()) -> None:
        self.snapshots = {snapshot.arn: snapshot for snapshot in snapshots}
        self.operations: dict[str, list[OperationSnapshot]] = {}
        self.started = 0

    def describe(self, service_arn: str) -> ServiceSnapshot:
        return self.snapshots[service_arn]

    def list_all(self) -> list[ServiceSnapshot]:
        return list(self.snapshots.values())

    def start_deployment(self, service_arn: str) -> str:
        self.started += 1
        operation_id = f"{self.started:032x}"
        operation = OperationSnapshot(
            operation_id=operation_id, type="START_DEPLOYMENT", status="IN_PROGRESS", target_arn=service_arn
        )
        self.operations.setdefault(service_arn, []).insert(0, operation)
        return operation_id

    def end_operation(self, service_arn: str, status: str = "SUCCEEDED") -> None:
        operations = self.operations.get(service_arn, [])
        if operations:
            operations[0] = operations[0].model_copy(update={"status": status})

    def recent_operations(self, service_arn: str, *, limit: int = 5) -> list[OperationSnapshot]:
        return self.operations.get(service_arn, [])[:limit]


class PassingInspector:
    """The verdict an amd64 image gets; judging manifests has its own measurement in the unit tests."""

    def inspect(
        self,
        repository: str,
        *,
        digest: str | None = None,
        tag: str | None = None,
        registry_id: str | None = None,
        required: Any,
    ) -> Verdict:
        del repository, tag, registry_id
        platform = APP_RUNNER_PLATFORM if required is None else required
        return Verdict(
            status=VerdictStatus.PASS,
            required=platform,
            platforms=(platform,),
            media_type="application/vnd.oci.image.manifest.v1+json",
            reason=f"The image is built for {platform}, which runs on {platform}.",
            fix=None,
            digest=digest,
        )


class CollectingSink:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def publish(self, notice: Notice) -> None:
        self.notices.append(notice)


class MemoOnce:
    """`run_once` without the table: the first result per (scope, key) is kept and returned again."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}

    def __call__(
        self, *, scope: str, key: dict[str, str], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        identity = (scope, tuple(sorted(key.items())))
        if identity not in self.results:
            self.results[identity] = work()
        return self.results[identity]


class FakeWorld:
    """One set of fakes wired into `Ports`, with handles on each fake for setup and inspection."""

    def __init__(self, snapshots: Iterable[ServiceSnapshot]) -> None:
        self.index = FakeIndex()
        self.apprunner = FakeAppRunner(snapshots)
        for snapshot in self.apprunner.snapshots.values():
            self.index.upsert(snapshot, now=FIXED_NOW.isoformat())
        self.releases = FakeReleases()
        self.sink = CollectingSink()
        self.once = MemoOnce()
        # Ports names the concrete adapters; these fakes share their methods, not their classes.
        self.ports = Ports(
            index=cast("ServiceIndex", self.index),
            releases=cast("ReleaseStore", self.releases),
            apprunner=cast("AppRunnerServices", self.apprunner),
            inspector=PassingInspector(),
            notices=self.sink,
            once=self.once,
            region=REGION,
            clock=lambda: FIXED_NOW,
        )
