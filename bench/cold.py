"""Cold init: a fresh interpreter imports one handler module by file path, as Lambda's init phase does.

Each sample is one new process; the time is taken inside it, around the import only, so interpreter
start-up (the same for every sample) is left out. The floor is what any Powertools handler pays: `import
boto3` and a Powertools `Logger()`. Samples are interleaved (floor, each function, floor, ...) so a noisy
neighbour slows both sides of the ratio alike.
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
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
from pushpilot.adapters import clients
for service in {services!r}:
    clients.client(service)
print(imported - started, time.perf_counter() - started)
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


def measure(functions_dir: Path, runs: int) -> list[ColdResult]:
    """The floor first, then one result per `functions/*/app.py`; medians of `runs` samples each."""
    apps = sorted(functions_dir.resolve().glob("*/app.py"))
    programs = {FLOOR: (_TIMED_FLOOR, functions_dir)}
    programs |= {
        app.parent.name: (
            _TIMED_IMPORT.format(path=str(app), services=FIRST_EVENT_CLIENTS[app.parent.name]),
            app.parent,
        )
        for app in apps
    }
    for code, cwd in programs.values():
        _run_once(code, cwd)  # warm-up: bytecode caches and the page cache, as a warm Lambda host has
    samples: dict[str, list[list[float]]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, (code, cwd) in programs.items():
            samples[name].append(_run_once(code, cwd))
    results = []
    for name, values in samples.items():
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
