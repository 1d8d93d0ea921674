"""Burst: many pushes across many repositories, App Runner and ECS services mixed, every event delivered
twice, deployments ending midway.

Run as a module it is its own process, so its peak RSS is the burst's alone. That process holds the
whole sandbox (moto server, gateway, App Runner and ECS emulators, event router) as well as the handlers,
which the router runs in process: its peak is an upper bound on a handler's, not a handler's own.

Half the repositories are run by an App Runner service, the other half by an ECS service. Expected
deployments follow one rule for both: a push to a free service starts one; pushes during a deployment
leave one pending deployment of the newest; when the deployment ends the pending one starts. The
sandbox must start exactly that many (App Runner operations; ECS service deployments after the first),
and each service must end on its repository's newest push.

Where the wall time goes: `handlers` is the time inside the functions the router invokes, less the time
the gateway and the App Runner emulator spend answering their calls (so it holds the handlers' own code
and botocore's client side); `sandbox answering` is that answering time (gateway, moto, ECS and App Runner
emulators); `sandbox other` is the rest (pushing images to moto, routing events, ending deployments).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ParamSpec, TypeVar

from bench.memory import peak_rss_mb
from pushpilot_sandbox.ecs_records import ROLLOUT_IN_PROGRESS
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.oci import synthesize_image
from pushpilot_sandbox.scenario import Setup
from pushpilot_sandbox.steps import apply_setup
from pushpilot_sandbox.timeline import Timeline

# Each push is delivered before the next: moto drops an image once a newer push takes its last tag, so an
# event judged after a later push would find its image gone (real ECR keeps it, untagged).
WAVE = 1
COMPLETE_EVERY = 3  # after every third push, the deployments in progress end
# Pushes in a row to one repository: the later ones meet the deployment the first started, so they
# wait as one pending deployment of the newest (coalescing), as a team pushing fixes quickly does.
PUSHES_IN_A_ROW = 3


@dataclass
class _Model:
    """The deployments App Runner plus pushpilot should start for one service."""

    busy: bool = False
    pending: bool = False
    started: int = 0

    def push(self) -> None:
        if self.busy:
            self.pending = True
        else:
            self.busy = True
            self.started += 1

    def complete(self) -> None:
        self.busy = False
        if self.pending:
            self.pending = False
            self.push()


_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Stopwatch:
    """Seconds spent inside the wrapped callables, counting a nested call once (at its outermost)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def wrap(self, call: Callable[_P, _R]) -> Callable[_P, _R]:
        def timed(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            self._depth += 1
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - started

        return timed


@dataclass
class BurstResult:
    pushes: int
    repositories: int
    copies_per_event: int
    deliveries: int
    errors: int
    dead_letters: int
    deployments_started: int
    deployments_expected: int
    services_on_newest: int
    repeated_deployments: int
    apprunner_services: int
    ecs_services: int
    wall_seconds: float
    handler_seconds: float
    sandbox_answering_seconds: float
    sandbox_other_seconds: float
    peak_rss_mb: float
    error_samples: list[str] = field(default_factory=list)


def _service(repository: str) -> str:
    return f"svc-{repository}"


def _on_ecs(repository: str) -> bool:
    return int(repository.rpartition("-")[2]) % 2 == 1


def _busy(sandbox: Sandbox, repository: str) -> bool:
    if _on_ecs(repository):
        primary = sandbox.ecs.service(_service(repository)).primary
        return primary is not None and primary.rollout_state == ROLLOUT_IN_PROGRESS
    return sandbox.apprunner.service(_service(repository)).operation_in_progress is not None


def _complete_all(sandbox: Sandbox, repositories: list[str], models: dict[str, _Model]) -> None:
    for repository in repositories:
        if _busy(sandbox, repository):
            if _on_ecs(repository):
                sandbox.ecs.complete_deployment(_service(repository), "succeeded")
            else:
                sandbox.apprunner.complete_operation(_service(repository), "succeeded")
            models[repository].complete()
    sandbox.settle()


def _deployed_digests(sandbox: Sandbox, repository: str) -> tuple[list[str | None], str | None]:
    """The digests of the deployments the stack started on the repository's service, and what it runs."""
    if _on_ecs(repository):
        record = sandbox.ecs.service(_service(repository))
        # The first service deployment is the service's creation, before the burst.
        digests = [sd.target.container_images[0].digest for sd in record.service_deployments[1:]]
        primary = record.primary
        return digests, primary.revision.container_images[0].digest if primary else None
    app = sandbox.apprunner.service(_service(repository))
    return [
        op.image_digest for op in app.operations if op.type == "START_DEPLOYMENT"
    ], app.running_image_digest


def run(pushes: int, repository_count: int, copies: int = 2) -> BurstResult:
    repositories = [f"repo-{number:02d}" for number in range(repository_count)]
    setup = Setup.model_validate(
        {
            "repositories": repositories,
            "services": [
                {"name": _service(name), "image": f"{name}:latest"}
                for name in repositories
                if not _on_ecs(name)
            ],
            "ecs_services": [
                {"name": _service(name), "image": f"{name}:latest", "cpu_architecture": "X86_64"}
                for name in repositories
                if _on_ecs(name)
            ],
        }
    )
    models = {name: _Model() for name in repositories}
    newest: dict[str, str] = {}
    with Sandbox(SandboxConfig(copies_per_event=copies)) as sandbox:
        apply_setup(sandbox, setup, Timeline(sandbox, lambda _line: None))
        # ECS setup is quiet (no events): the index learns the ECS services from the scheduled refresh.
        refresh = sandbox.router.invoke_schedule("ReconcileFunction", "Refresh")
        if not refresh.succeeded:
            raise RuntimeError(f"the refresh that seeds the index failed: {refresh}")
        sandbox.settle()
        deliveries_before = len(sandbox.router.deliveries)
        handlers, answering = _Stopwatch(), _Stopwatch()
        router: Any = sandbox.router
        router._invoke = handlers.wrap(router._invoke)
        gateway: Any = sandbox.gateway
        gateway.handle = answering.wrap(gateway.handle)
        apprunner: Any = sandbox.apprunner
        apprunner.answer = answering.wrap(apprunner.answer)
        started = time.perf_counter()
        for number in range(pushes):
            repository = repositories[(number // PUSHES_IN_A_ROW) % repository_count]
            image = synthesize_image(["linux/amd64"], seed=f"burst-{number}")
            newest[repository] = sandbox.ecr.push(repository, "latest", image).digest
            models[repository].push()
            if (number + 1) % WAVE == 0:
                sandbox.settle()
                if (number + 1) % (WAVE * COMPLETE_EVERY) == 0:
                    _complete_all(sandbox, repositories, models)
        sandbox.settle()
        for _round in range(len(repositories) * 2 + 2):
            if not any(_busy(sandbox, repository) for repository in repositories):
                break
            _complete_all(sandbox, repositories, models)
        wall = time.perf_counter() - started

        deliveries = sandbox.router.deliveries[deliveries_before:]
        failed = [
            delivery
            for delivery in deliveries
            if not delivery.succeeded or (delivery.outcome or {}).get("status") == "rejected"
        ]
        dead_letters = len(sandbox.router.dead_letters) + sum(
            len(sandbox.queue_messages(queue))
            for queue in ("NoticeDeadLetterQueue", "EventDeliveryDeadLetterQueue")
        )
        started_count = 0
        repeated = 0
        on_newest = 0
        for repository in repositories:
            digests, running = _deployed_digests(sandbox, repository)
            started_count += len(digests)
            repeated += len(digests) - len(set(digests))
            on_newest += int(running == newest.get(repository, running))
        return BurstResult(
            pushes=pushes,
            repositories=repository_count,
            copies_per_event=copies,
            deliveries=len(deliveries),
            errors=len(failed),
            dead_letters=dead_letters,
            deployments_started=started_count,
            deployments_expected=sum(model.started for model in models.values()),
            services_on_newest=on_newest,
            repeated_deployments=repeated,
            apprunner_services=sum(not _on_ecs(name) for name in repositories),
            ecs_services=sum(_on_ecs(name) for name in repositories),
            wall_seconds=wall,
            handler_seconds=handlers.seconds - answering.seconds,
            sandbox_answering_seconds=answering.seconds,
            sandbox_other_seconds=wall - handlers.seconds,
            peak_rss_mb=peak_rss_mb(),
            error_samples=[f"{d.function}: {d.error_type or d.outcome}" for d in failed[:5]],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--repositories", type=int, default=50)
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args(argv)
    result = run(args.pushes, args.repositories, args.copies)
    json.dump(asdict(result), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
