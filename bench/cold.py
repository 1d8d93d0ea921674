"""Cold init: a fresh interpreter imports one handler module by file path, as Lambda's init phase does.

Each sample is one new process; the time is taken inside it, around the import only, so interpreter
start-up (the same for every sample) is left out. The floor is what any Powertools handler pays: `import
boto3` and a Powertools `Logger()`. Each function's yardstick is a plain handler that does the same and
then creates the clients that function's first event creates, with no typed models and no code of ours:
what the first event cannot avoid paying. Samples are interleaved (floor, then each function beside its
yardstick, the pair's order alternating from run to run) so a noisy neighbour slows both sides of a ratio
alike. Wall time and the process's CPU time are both taken: on a shared machine the CPU time is the
steadier of the two.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_TIMED_IMPORT = """
import importlib.util, time
started, started_cpu = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
from pushpilot.adapters import clients
for service in {services!r}:
    clients.client(service)
print(imported - started, time.perf_counter() - started, time.process_time() - started_cpu)
"""

# The clients each function's usual first event builds before its first AWS call (the handlers build
# them lazily, so this is setup the first invocation pays, not init). Creating a client does no I/O.
FIRST_EVENT_CLIENTS: dict[str, tuple[str, ...]] = {
    "image_push": ("dynamodb", "ecr", "apprunner", "sqs"),
    "apprunner_events": ("dynamodb", "apprunner", "sqs"),
    "ecs_events": ("dynamodb", "ecs", "sqs"),
    "reconcile": ("dynamodb", "apprunner", "sqs"),
    "build_events": ("dynamodb", "logs", "sqs"),
    "notify": ("dynamodb", "sns"),
    "outcome_checks": ("dynamodb", "lambda", "sqs"),
    # A click: the signing secret, the vote, the hand-off to the decision queue.
    "slack_actions": ("secretsmanager", "dynamodb", "sqs"),
    # An approved release deploys as a push does.
    "slack_decisions": ("dynamodb", "ecr", "apprunner", "sqs"),
}

_TIMED_FLOOR = """
import time
started = time.perf_counter()
import boto3
from aws_lambda_powertools import Logger
Logger()
print(time.perf_counter() - started)
"""

FLOOR = "floor (import boto3 + Logger())"

# The yardstick: a plain handler's init and first-event setup, clients built the way boto3's own
# documentation builds them (the default session, no configuration).
_TIMED_YARDSTICK = """
import time
started, started_cpu = time.perf_counter(), time.process_time()
import boto3
from aws_lambda_powertools import Logger
Logger()
for service in {services!r}:
    boto3.client(service)
print(time.perf_counter() - started, time.process_time() - started_cpu)
"""


@dataclass(frozen=True)
class YardstickResult:
    """One function beside its yardstick, medians of interleaved pairs."""

    name: str
    samples: int
    yardstick_ms: float
    function_ms: float
    # Median over the pairs of (function / yardstick), wall time and CPU time.
    ratio: float
    cpu_ratio: float


@dataclass(frozen=True)
class ColdResult:
    name: str
    median_ms: float
    samples: int
    # Import plus the first event's client setup; None for the floor.
    with_setup_ms: float | None = None


def _environment() -> dict[str, str]:
    # What Lambda sets before init; no endpoints: nothing may be called at import.
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "pushpilot",
        "POWERTOOLS_METRICS_NAMESPACE": "pushpilot",
    }


def _run_once(code: str, cwd: Path) -> list[float]:
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [float(value) * 1000 for value in completed.stdout.strip().splitlines()[-1].split()]


def _yardstick(name: str) -> str:
    return f"yardstick:{name}"


def measure(functions_dir: Path, runs: int) -> tuple[list[ColdResult], list[YardstickResult]]:
    """The floor first, then one result per `functions/*/app.py`; medians of `runs` samples each.
    Beside them, each function against its yardstick."""
    apps = sorted(functions_dir.resolve().glob("*/app.py"))
    programs = {FLOOR: (_TIMED_FLOOR, functions_dir)}
    for app in apps:
        services = FIRST_EVENT_CLIENTS[app.parent.name]
        programs[_yardstick(app.parent.name)] = (_TIMED_YARDSTICK.format(services=services), app.parent)
        programs[app.parent.name] = (_TIMED_IMPORT.format(path=str(app), services=services), app.parent)
    for code, cwd in programs.values():
        _run_once(code, cwd)  # warm-up: bytecode caches and the page cache, as a warm Lambda host has
    samples: dict[str, list[list[float]]] = {name: [] for name in programs}
    for run in range(runs):
        samples[FLOOR].append(_run_once(*programs[FLOOR]))
        for app in apps:
            pair = [_yardstick(app.parent.name), app.parent.name]
            for name in pair if run % 2 == 0 else reversed(pair):
                samples[name].append(_run_once(*programs[name]))
    return _cold_results(samples, apps), _yardstick_results(samples, apps)


def _yardstick_results(samples: dict[str, list[list[float]]], apps: list[Path]) -> list[YardstickResult]:
    results = []
    for app in apps:
        yardstick, function = samples[_yardstick(app.parent.name)], samples[app.parent.name]
        # A function's sample is (import, import + clients, CPU); a yardstick's is (wall, CPU).
        results.append(
            YardstickResult(
                app.parent.name,
                len(function),
                statistics.median(value[0] for value in yardstick),
                statistics.median(value[1] for value in function),
                statistics.median(f[1] / y[0] for f, y in zip(function, yardstick, strict=True)),
                statistics.median(f[2] / y[1] for f, y in zip(function, yardstick, strict=True)),
            )
        )
    return results


def _cold_results(samples: dict[str, list[list[float]]], apps: list[Path]) -> list[ColdResult]:
    names = [FLOOR, *(app.parent.name for app in apps)]
    results = []
    for name in names:
        values = samples[name]
        with_setup = [value[1] for value in values if len(value) > 1]
        results.append(
            ColdResult(
                name,
                statistics.median(value[0] for value in values),
                len(values),
                statistics.median(with_setup) if with_setup else None,
            )
        )
    return results
