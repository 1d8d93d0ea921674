"""Warm cost per event: each handler's domain path against zero-latency in-memory fakes.

What is timed per event: parsing the raw event dict with the handler's own model, then the one domain
call the handler makes, with every port answered from memory. Not timed: the Powertools decorators
(logger context, metrics flush), reading settings, and any network. Run as a module, it is also the
"handler process without the sandbox" of the memory measurement: it imports every handler module, runs
all paths, and reports its peak RSS.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bench import events
from bench.memory import peak_rss_mb
from pushpilot.core.build_report import BuildEventExtras, BuildFacts, LogTail
from pushpilot.core.notices import Notice
from pushpilot.core.render_slack import render_slack_reply
from pushpilot.core.render_sns import render_sns
from pushpilot.entry.handling import parse_event
from pushpilot.events.codebuild import CodeBuildEvent, CodeBuildStateEvent
from pushpilot.events.ecr import EcrImageActionEvent
from pushpilot.flows.builds import handle_build_event
from pushpilot.flows.outcome import handle_operation_ended, handle_service_changed
from pushpilot.flows.push import handle_push
from pushpilot.flows.refresh import refresh
from pushpilot.flows.results import FlowResult
from pushpilot.targets import registry
from pushpilot.targets.apprunner.events import (
    AppRunnerEvent,
    AppRunnerOperationEvent,
    AppRunnerServiceStatusEvent,
)
from pushpilot.targets.ecs.events import KIND as ECS
from pushpilot.targets.ecs.events import EcsDeploymentStateChange
from tests.fakes import CollectingSink, FakeTarget, FakeWorld, digest_of, service_snapshot

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_ROOT / "functions"
BUILD_EVENT = PROJECT_ROOT / "events" / "codebuild-build-failed.json"
REFRESH_SERVICES = 20

_ECR: TypeAdapter[EcrImageActionEvent] = TypeAdapter(EcrImageActionEvent)
_APPRUNNER: TypeAdapter[AppRunnerEvent] = TypeAdapter(AppRunnerEvent)
_ECS: TypeAdapter[EcsDeploymentStateChange] = TypeAdapter(EcsDeploymentStateChange)
_CODEBUILD: TypeAdapter[CodeBuildEvent] = TypeAdapter(CodeBuildEvent)
_EXTRAS: TypeAdapter[BuildEventExtras] = TypeAdapter(BuildEventExtras)

# (prepare untimed, then the timed work): each sample gets its own fresh input.
Sample = Callable[[int], Callable[[], object]]


class UnexpectedOutcomeError(RuntimeError):
    """A timed call was ignored or rejected: its time would not be the cost of the path it names."""


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return {"p50_us": statistics.median(samples_ns) / 1000, "p99_us": cuts[98] / 1000}


def _time(prepare: Sample, count: int) -> dict[str, float]:
    samples: list[int] = []
    for number in range(count):
        work = prepare(number)
        started = time.perf_counter_ns()
        result = work()
        samples.append(time.perf_counter_ns() - started)
        if isinstance(result, FlowResult) and result.status != "handled":
            raise UnexpectedOutcomeError(f"the timed path did not do its work: {result}")
    return _percentiles(samples)


def _push_path() -> Sample:
    """Every push meets a free service: verdict, release record, one deployment started, two notices."""
    snapshot = service_snapshot("storefront", "web")
    world = FakeWorld([snapshot])

    def prepare(number: int) -> Callable[[], object]:
        world.index.services[snapshot.arn] = world.index.services[snapshot.arn].model_copy(
            update={"in_flight": None, "pending": None}
        )
        raw = events.ecr_push("web", digest_of(f"push-{number}"))
        return lambda: handle_push(parse_event(_ECR, raw), world.ports)

    return prepare


def _operation_path() -> Sample:
    """A deployment we started ends: the outcome is read, recorded and told."""
    snapshot = service_snapshot("storefront", "web")
    world = FakeWorld([snapshot])

    pushes = itertools.count()

    def prepare(number: int) -> Callable[[], object]:
        # A digest of its own per sample, however often the path is measured: a repeated digest is
        # (rightly) deployed once, and its outcome then has nothing to close.
        del number
        digest = digest_of(f"op-{next(pushes)}")
        handle_push(parse_event(_ECR, events.ecr_push("web", digest)), world.ports)
        world.apprunner.end_operation(snapshot.arn)
        raw = events.operation_status(snapshot)

        def work() -> object:
            parsed = parse_event(_APPRUNNER, raw)
            assert isinstance(parsed, AppRunnerOperationEvent)  # noqa: S101
            return handle_operation_ended(parsed.to_domain(), world.ports)

        return work

    return prepare


def _ecs_deployment_path() -> Sample:
    """Our ECS deployment completes: the outcome is read, recorded and told; the index reads the service."""
    snapshot = service_snapshot("storefront", "web", kind=ECS)
    target = FakeTarget([snapshot], kind=ECS, label=registry.entry(ECS).label)
    world = FakeWorld([], extra_targets=[target])
    pushes = itertools.count()

    def prepare(number: int) -> Callable[[], object]:
        del number
        digest = digest_of(f"ecs-{next(pushes)}")
        handle_push(parse_event(_ECR, events.ecr_push("web", digest)), world.ports)
        operation_id = target.operations[snapshot.arn][0].operation_id
        target.end_operation(snapshot.arn)
        raw = events.ecs_deployment_state_change(snapshot, f"ecs-svc/{int(operation_id, 16):019d}")

        def work() -> object:
            parsed = parse_event(_ECS, raw)
            outcome = handle_operation_ended(parsed.to_domain(), world.ports)
            handle_service_changed(parsed.service_changed(), world.ports)
            return outcome

        return work

    return prepare


def _service_status_path() -> Sample:
    snapshot = service_snapshot("storefront", "web")
    world = FakeWorld([snapshot])
    raw = events.service_status(snapshot)

    def work() -> object:
        parsed = parse_event(_APPRUNNER, raw)
        assert isinstance(parsed, AppRunnerServiceStatusEvent)  # noqa: S101
        return handle_service_changed(parsed.to_domain(), world.ports)

    return lambda _number: work


class _Logs:
    def tail(self, group: str, stream: str, lines: int = 20) -> LogTail:
        del group, stream
        return LogTail(lines=tuple(f"[Container] line {n}: npm ERR! code ELIFECYCLE" for n in range(lines)))


class _Builds:
    def build_facts(self, build_id: str) -> BuildFacts | None:
        del build_id
        return None


def _build_path() -> Sample:
    """A failed build: the log tail is read (from memory), the failure explained, the notice queued."""
    raw = json.loads(BUILD_EVENT.read_text(encoding="utf-8"))
    sink = CollectingSink()

    def work() -> object:
        event = parse_event(_CODEBUILD, raw)
        assert isinstance(event, CodeBuildStateEvent)  # noqa: S101
        return handle_build_event(
            event, parse_event(_EXTRAS, raw), logs=_Logs(), builds=_Builds(), notices=sink
        )

    return lambda _number: work


def _notify_path() -> Sample:
    """One queued notice body → Notice → the Slack thread reply and the SNS message (no sending)."""
    snapshot = service_snapshot("storefront", "web")
    world = FakeWorld([snapshot])
    handle_push(parse_event(_ECR, events.ecr_push("web", digest_of("notify"))), world.ports)
    bodies = [notice.model_dump_json() for notice in world.sink.notices]

    def prepare(number: int) -> Callable[[], object]:
        body = bodies[number % len(bodies)]

        def work() -> object:
            notice = Notice.model_validate_json(body)
            return render_slack_reply(notice), render_sns(notice)

        return work

    return prepare


def _refresh_path() -> Sample:
    world = FakeWorld(service_snapshot(f"svc-{n:03d}", f"repo-{n:03d}") for n in range(REFRESH_SERVICES))
    return lambda _number: lambda: refresh(world.ports)


PATHS: dict[str, tuple[str, Callable[[], Sample]]] = {
    "image_push": ("ECR push → handle_push (1 free service)", _push_path),
    "apprunner_events.operation": ("operation ended → handle_operation_ended", _operation_path),
    "apprunner_events.service_status": ("service status → handle_service_changed", _service_status_path),
    "ecs_events.deployment": (
        "ECS deployment completed → handle_operation_ended + handle_service_changed",
        _ecs_deployment_path,
    ),
    "build_events": ("failed build → handle_build_event", _build_path),
    "notify": ("notice body → Slack reply + SNS rendering", _notify_path),
    "reconcile": (f"scheduled refresh, {REFRESH_SERVICES} services", _refresh_path),
}


def import_handlers() -> list[str]:
    """Import every handler module by file path, as Lambda does, so their imports count in memory."""
    names: list[str] = []
    for app in sorted(FUNCTIONS_DIR.glob("*/app.py")):
        name = f"bench_handler_{app.parent.name}"
        spec = importlib.util.spec_from_file_location(name, app)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {app}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names.append(app.parent.name)
    return names


def measure(count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (what, build) in PATHS.items():
        prepare = build()
        prepare(0)()  # first call pays for lazy schema builds and imports: not a warm cost
        results[name] = {"what": what, **_time(prepare, count)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args(argv)
    handlers = import_handlers()
    results = measure(args.events)
    json.dump({"handlers": handlers, "paths": results, "peak_rss_mb": peak_rss_mb()}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
