"""Burst: many pushes across many repositories, every event delivered twice, operations ending midway.

Run as a module it is its own process, so its peak RSS is the burst's alone. That process holds the
whole sandbox (moto server, gateway, App Runner emulator, event router) as well as the handlers, which
the router runs in process: its peak is an upper bound on a handler's, not a handler's own.

Expected deployments follow App Runner's rules for each service: a push to a free service starts one; pushes
during an operation leave one pending deployment of the newest; when the operation ends the pending one
starts. The sandbox must start exactly that many, and each service must end on its repository's newest push.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field

from bench.memory import peak_rss_mb
from pushpilot_sandbox.environment import Sandbox, SandboxConfig
from pushpilot_sandbox.oci import synthesize_image
from pushpilot_sandbox.scenario import Setup
from pushpilot_sandbox.steps import apply_setup
from pushpilot_sandbox.timeline import Timeline

# Each push is delivered before the next: moto drops an image once a newer push takes its last tag, so an
# event judged after a later push would find its image gone (real ECR keeps it, untagged).
WAVE = 1
COMPLETE_EVERY = 3  # after every third push, App Runner ends the operations in progress
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
    wall_seconds: float
    peak_rss_mb: float
    error_samples: list[str] = field(default_factory=list)


def _service(repository: str) -> str:
    return f"svc-{repository}"


def _complete_all(sandbox: Sandbox, repositories: list[str], models: dict[str, _Model]) -> None:
    for repository in repositories:
        if sandbox.apprunner.service(_service(repository)).operation_in_progress is not None:
            sandbox.apprunner.complete_operation(_service(repository), "succeeded")
            models[repository].complete()
    sandbox.settle()


def run(pushes: int, repository_count: int, copies: int = 2) -> BurstResult:
    repositories = [f"repo-{number:02d}" for number in range(repository_count)]
    setup = Setup.model_validate(
        {
            "repositories": repositories,
            "services": [{"name": _service(name), "image": f"{name}:latest"} for name in repositories],
        }
    )
    models = {name: _Model() for name in repositories}
    newest: dict[str, str] = {}
    with Sandbox(SandboxConfig(copies_per_event=copies)) as sandbox:
        apply_setup(sandbox, setup, Timeline(sandbox, lambda _line: None))
        deliveries_before = len(sandbox.router.deliveries)
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
        while any(model.busy for model in models.values()):
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
            record = sandbox.apprunner.service(_service(repository))
            digests = [op.image_digest for op in record.operations if op.type == "START_DEPLOYMENT"]
            started_count += len(digests)
            repeated += len(digests) - len(set(digests))
            on_newest += int(
                record.running_image_digest == newest.get(repository, record.running_image_digest)
            )
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
            wall_seconds=wall,
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
